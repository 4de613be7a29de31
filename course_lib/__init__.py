"""course_lib: the small shared toolbox of *Deep Learning Architectures in Practice*.

One module per job, each introduced in a notebook before it is imported here:

- :mod:`course_lib.environment` — paths, the budget knob, an environment report.
- :mod:`course_lib.data` — the dataset registry, cached/mirrored/checksummed downloads, provenance.
- :mod:`course_lib.training` — seeds, device choice, the ``fit`` loop with early stopping.
- :mod:`course_lib.evaluation` — metrics and the multi-seed comparison table.
- :mod:`course_lib.verdicts` — which of two models is better, computed from the run ("no clear winner").
- :mod:`course_lib.holdout` — the sealed test split, opened once per model for the final evaluation.
- :mod:`course_lib.arrays` — checking array arguments (the one place a list of numbers becomes a vector).
- :mod:`course_lib.plotting` — the one plotting style and the course's standard figures.
- :mod:`course_lib.results` — the results ledger: writing, reading, rendering, the cross-notebook scoreboard.
- :mod:`course_lib.report` — the generated results cell that ends every notebook.
- :mod:`course_lib.exercises` — the exercises' self-check protocol; each outcome is data (``CheckResult``)
  and is recorded on the learner's machine (nothing is sent anywhere).
- :mod:`course_lib.progress` — the learner's progress: exercises solved per notebook (``make progress``).
- :mod:`course_lib.misconceptions` — notebook 12: five misconceptions judged from every notebook's ledger.

Domain code lives in subpackages (``course_lib.imaging``, ``course_lib.finance``, ...).
"""

__version__ = "0.1.0"
