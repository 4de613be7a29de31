"""When deep models fail: the pieces of notebooks 09 and 10, one module per job.

Import from the modules (e.g. ``from course_lib.reliability.corruptions import corrupt``); the
package-level names are collected here once every module exists.
"""
