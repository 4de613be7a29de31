"""Generative models and how to judge them: the pieces of notebooks 06 and 07, one module per job.

- :mod:`course_lib.generative.images` — checking and converting image batches to ``(N, 1, 28, 28)`` in [0, 1].
"""
