"""The format of the wrong-answer cases that ``tests/test_exercise_checks.py`` runs.

Each notebook has one case file ``tests/exercise_cases/<checks module>.py`` (``foundations.py`` for
01, ``cnn.py`` for 02, ...) that defines ``CASES``, a list of :class:`ExerciseCase`, one per checked
exercise::

    from exercise_cases import ExerciseCase
    from course_lib.checks.cnn import check_max_pool
    import torch.nn.functional as F

    def pool_stride_1(x): ...                     # a wrong answer a learner is likely to write

    CASES = [ExerciseCase(
        notebook="02_cnn_medical_imaging", exercise="Exercise 1", check=check_max_pool,
        solution_name="max_pool_2x2",             # defined in solutions/02_cnn_medical_imaging.py
        wrong={"stride 1": pool_stride_1, "the library function": lambda x: F.max_pool2d(x, 2)},
    )]

The harness calls ``check(answer, *args, **kwargs)`` with ``args, kwargs = args_builder()`` (the
notebook's data the check needs; default none) through :func:`course_lib.exercises.check_exercise`,
exactly as the notebook's ``exercises.check(exercise, check, answer, *args, **kwargs)`` does.
The solution must be ``correct`` on ``repeats`` runs (fresh random inputs each time); every wrong
answer must end ``incorrect``, ``not attempted`` or ``error`` — never ``correct`` — on each of
``repeats`` runs (a wrong answer that a lucky draw lets through is a weak check); when the solution is
a function, a stub that raises NotImplementedError is added to the wrong answers and must end
``not attempted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def no_arguments() -> tuple[tuple, dict]:
    """The default ``args_builder``: the check needs nothing but the answer."""
    return (), {}


@dataclass(frozen=True)
class ExerciseCase:
    """One checked exercise of one notebook, with its worked solution and its known wrong answers.

    Attributes:
        notebook: the notebook's stem, e.g. ``"01_foundations"``; the solution is read from
            ``solutions/<notebook>.py``.
        exercise: the exercise's name in the notebook, e.g. ``"Exercise 1"``.
        check: the check from ``course_lib.checks.<module>``.
        solution_name: the name the solutions file defines (the notebook stub's name).
        wrong: name -> a wrong answer a learner is likely to write (include "the library function",
            off-by-one, wrong axis...). At least one.
        args_builder: returns ``(args, kwargs)`` passed to the check after the answer (keep it cheap:
            toy data, it is called for every answer).
        repeats: how many times the solution is checked (each with fresh random inputs).
    """

    notebook: str
    exercise: str
    check: Callable[..., Any]
    solution_name: str
    wrong: dict[str, Any]
    args_builder: Callable[[], tuple[tuple, dict]] = no_arguments
    repeats: int = 5
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("notebook", "exercise", "solution_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"ExerciseCase.{name} must be a non-empty string, got {value!r}")
        if not callable(self.check) or not callable(self.args_builder):
            raise TypeError("ExerciseCase.check and .args_builder must be callables")
        if not isinstance(self.wrong, dict) or not self.wrong:
            raise ValueError(f"{self.notebook} {self.exercise}: list at least one wrong answer in `wrong`")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise ValueError(f"ExerciseCase.repeats must be a positive int, got {self.repeats!r}")

    @property
    def id(self) -> str:
        return f"{self.notebook}:{self.exercise}"

    def arguments(self) -> tuple[tuple, dict]:
        """``args_builder()``, validated: a (tuple, dict) pair."""
        built = self.args_builder()
        if not (isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], tuple)
                and isinstance(built[1], dict)):
            raise TypeError(f"{self.id}: args_builder must return (args tuple, kwargs dict), got {built!r}")
        return built
