"""Self-checks for the notebooks' exercises, one module per notebook.

A notebook's exercise cell defines a stub (``def max_pool_2x2(x): raise NotImplementedError``); the
check cell runs the learner's answer through a check that lives here, in course_lib, not in the
notebook::

    from course_lib.checks.cnn import check_max_pool
    exercises.check("Exercise 1", check_max_pool, max_pool_2x2)

Design (the same for every notebook):

- **One module per notebook**: ``welcome`` (00), ``foundations`` (01), ``cnn`` (02), ``volatility`` (03),
  ``sentiment`` (04), ``molecules`` (05), ``generative`` (06), ``small_data`` (07), ``efficiency`` (08),
  ``reliability`` (09 and 10), ``own_data`` (11); shared helpers in :mod:`course_lib.checks._common`.
  This package re-exports nothing: a notebook imports the checks of its own module, so importing
  one notebook's checks never imports another domain's heavy libraries.
- **A check is a function** ``check_<what>(answer, *notebook_data, seed=None)`` that follows the
  protocol of :mod:`course_lib.exercises`: raise NotImplementedError = not attempted,
  AssertionError with a clear message = incorrect, return None (or a str note) = correct.
  :meth:`course_lib.exercises.Exercises.check` passes the extra arguments on to it.
- **Inputs the learner cannot see beforehand**: the check draws random inputs from
  :func:`~course_lib.checks._common.fresh_rng` (seeded from :mod:`secrets`) and puts the seed in
  every failure message (:func:`~course_lib.checks._common.seed_note`), so ``check_x(answer,
  seed=<that seed>)`` reproduces the failure; it adds fixed edge cases that separate the wrong
  answers learners are known to write (e.g. sizes that do not divide exactly).
- **Never accept the library function itself** where the exercise is to write it:
  :func:`~course_lib.checks._common.require_own_code` rejects the forbidden callables, aliases of
  them, and code that calls them by name (including nested functions).
- **Proved by tests**: ``tests/test_exercise_checks.py`` runs every check on the worked solution
  (``solutions/<notebook>.py``, must be correct, five times with fresh inputs) and on the wrong
  answers listed in ``tests/exercise_cases/<module>.py`` (06-10: ``<notebook>.py``; must never be correct).
"""
