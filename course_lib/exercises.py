"""The exercises' self-check protocol, the same in every notebook.

A notebook defines, for each exercise, a stub the learner edits and a *check*: a function that runs
the learner's code against a reference computed on the spot. A check either takes no arguments (it
finds the learner's function in the notebook), or — the course's checks in :mod:`course_lib.checks` —
takes the learner's answer and the notebook's data as arguments, which :func:`check_exercise` and
:meth:`Exercises.check` pass on. The check says what happened by how it ends:

- it raises :class:`NotImplementedError` — the exercise is **not attempted** (the stub still says
  ``raise NotImplementedError``, or the check found the stub's placeholder, e.g. ``None``);
- it raises :class:`AssertionError` — the answer is **incorrect**; the assertion's message says what
  is wrong and is shown to the learner;
- it returns normally — the answer is **correct**; a returned string is shown as a note;
- it raises any other exception — an **error** (usually in the learner's code), reported with the
  exception's type.

:func:`check_exercise` runs a check, shows the outcome in one line and returns it as data, a
:class:`CheckResult`. It never raises because of the learner's answer, so a notebook with unsolved
exercises still runs to the end. :class:`Exercises` binds the notebook's name once and keeps the
latest result of each exercise::

    exercises = Exercises("01_foundations")
    exercises.check("Exercise 1", check_sigmoid_derivative, sigmoid_derivative)   # prints one line
    exercises.results["Exercise 1"].status                    # 'not attempted'

**Every check is recorded** in the learner's progress file, ``results/progress.jsonl`` (see
:func:`progress_path`; ``$COURSE_RESULTS_DIR`` moves it): a JSON-lines file, one
:meth:`CheckResult.as_dict` per line, appended by :func:`record_progress` and read back by
:func:`read_progress`; :mod:`course_lib.progress` (``make progress``) summarises it per notebook.
The file stays on the learner's machine: nothing is sent anywhere. ``record_to=`` chooses the file
(``True``, the default: :func:`progress_path`; a path: that file; ``False`` or ``None``: record
nothing). A file that cannot be written (a read-only folder, as in a grader's sandbox, or a damaged
file) never breaks a check: a :class:`ProgressNotRecorded` warning says so in one line, and the
result is returned as usual.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from course_lib import environment
from course_lib.catalogue import notebook_meta

CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR = "correct", "incorrect", "not attempted", "error"
#: Every status a check can end in.
STATUSES = (CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR)
#: The progress file's name inside the results folder.
PROGRESS_FILE = "progress.jsonl"

_SHOWN = {
    CORRECT: "correct!",
    INCORRECT: "not quite",
    NOT_ATTEMPTED: "not yet solved",
    ERROR: "your code raised an error",
}
#: Shown after a not-attempted check's own message, or instead of it when it has none.
_STUB_HINT = "replace `raise NotImplementedError` with your code and re-run"
_ERROR_HINT = "call the check function directly to see the full traceback"


class ProgressNotRecorded(UserWarning):
    """A check's result could not be appended to the progress file (the check itself still ran)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one exercise check.

    Attributes:
        notebook: the notebook's stem, e.g. ``"01_foundations"`` (a row of the course catalogue).
        exercise: the exercise's name in that notebook, e.g. ``"Exercise 1"``.
        status: one of :data:`STATUSES`.
        message: the assertion's message (incorrect), the exception's type and text (error), the
            check's note (correct; may be empty), or the stub's message (not attempted; may be empty).
        timestamp: when the check ran, ISO 8601 in UTC (``"2026-12-03T21:30:00+00:00"``).
    """

    notebook: str
    exercise: str
    status: str
    message: str = ""
    timestamp: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        for name in ("notebook", "exercise"):
            _require_name(name, getattr(self, name))
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not isinstance(self.message, str):
            raise TypeError(f"message must be a str, got {type(self.message).__name__}")
        try:
            datetime.fromisoformat(self.timestamp)
        except (TypeError, ValueError):
            raise ValueError(f"timestamp must be an ISO 8601 string, got {self.timestamp!r}") from None

    @property
    def solved(self) -> bool:
        """True when the answer was correct."""
        return self.status == CORRECT

    def as_dict(self) -> dict[str, str]:
        """The result as a JSON-ready dict (the keys are the attribute names)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "CheckResult":
        """The inverse of :meth:`as_dict`; ValueError naming the keys that are missing or unknown."""
        expected = {"notebook", "exercise", "status", "message", "timestamp"}
        if not isinstance(values, dict) or set(values) != expected:
            got = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise ValueError(f"a check result needs exactly the keys {sorted(expected)}, got {got}")
        return cls(**values)

    def __str__(self) -> str:
        detail = self.message
        if self.status == NOT_ATTEMPTED and not detail:
            detail = _STUB_HINT
        elif self.status == ERROR:
            detail = f"{detail} ({_ERROR_HINT})"
        line = f"{self.exercise}: {_SHOWN[self.status]}"
        return f"{line} - {detail}" if detail else line


def _require_name(what: str, value) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


def _require_destination(record_to) -> None:
    if record_to is not None and not isinstance(record_to, (bool, str, os.PathLike)):
        raise TypeError(f"record_to must be True, False, None or a file path, got {type(record_to).__name__}")


def run_check(check: Callable[..., object], *args, **kwargs) -> tuple[str, str]:
    """Run ``check(*args, **kwargs)`` and classify how it ended: ``(status, message)`` (see the
    module docstring).

    Raises TypeError when ``check`` is not callable or returns something other than None or a str
    (a mistake in the notebook's check, not in the learner's answer).
    """
    if not callable(check):
        raise TypeError(f"check must be a function, got {type(check).__name__}")
    try:
        note = check(*args, **kwargs)
    except NotImplementedError as stub:
        return NOT_ATTEMPTED, str(stub)
    except AssertionError as problem:
        return INCORRECT, str(problem) or "the answer differs from the reference"
    except Exception as failure:  # the learner's code failed: report it, keep the notebook running
        return ERROR, f"{type(failure).__name__}: {failure}"
    if note is not None and not isinstance(note, str):
        name = getattr(check, "__name__", repr(check))
        raise TypeError(f"check {name} must return None or a str note, got {type(note).__name__}")
    return CORRECT, note or ""


def check_exercise(notebook: str, exercise: str, check: Callable[..., object], *args,
                   show: bool = True, record_to: str | os.PathLike | bool | None = True,
                   **kwargs) -> CheckResult:
    """Run one exercise's check, show the outcome (one line) and return it as a :class:`CheckResult`.

    Args:
        notebook: the notebook's stem; must be a row of :data:`course_lib.catalogue.NOTEBOOKS`.
        exercise: the exercise's name, e.g. ``"Exercise 1"``.
        check: the check (see the module docstring for how it reports), called as
            ``check(*args, **kwargs)``.
        args, kwargs: passed on to ``check``, e.g. the learner's function and the notebook's data
            (``show`` and ``record_to`` are this function's own and are not passed on).
        show: print the outcome for the learner.
        record_to: also append the result to this progress file: ``True`` (default) for
            :func:`progress_path`, a path for that file, ``False`` or ``None`` to record nothing.
            A failed write warns (:class:`ProgressNotRecorded`) and never raises.
    """
    _require_name("notebook", notebook)
    _require_name("exercise", exercise)
    notebook_meta(notebook)  # ValueError naming a stem the catalogue does not list
    _require_destination(record_to)
    status, message = run_check(check, *args, **kwargs)
    result = CheckResult(notebook, exercise, status, message)
    if show:
        print(result)
    if record_to is not None and record_to is not False:
        _record_or_warn(result, None if record_to is True else record_to)
    return result


def _record_or_warn(result: CheckResult, path: str | os.PathLike | None) -> None:
    """:func:`record_progress`, turning a failed write into one :class:`ProgressNotRecorded` warning."""
    try:
        record_progress(result, path)
    except (OSError, ValueError) as problem:  # read-only folder, full disk, damaged file
        where = Path(path) if path is not None else progress_path()
        warnings.warn(f"progress not recorded in {where} ({type(problem).__name__}: {problem}); "
                      "the check itself is unaffected", ProgressNotRecorded, stacklevel=_outside_this_module())


def _outside_this_module() -> int:
    """The ``stacklevel`` that makes a warning point at the notebook cell (or other code) that called
    into this module, through :meth:`Exercises.check` or :func:`check_exercise` alike."""
    frame, level = sys._getframe(1), 1  # the caller of this function is warnings.warn's level 1
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


class Exercises:
    """One notebook's exercises: :meth:`check` runs :func:`check_exercise` with the notebook's name
    and keeps the latest result of each exercise in :attr:`results` (exercise -> CheckResult).

    ``record_to`` is passed on to every check (see :func:`check_exercise`): by default each result is
    appended to :func:`progress_path`.
    """

    def __init__(self, notebook: str, *, record_to: str | os.PathLike | bool | None = True) -> None:
        _require_name("notebook", notebook)
        notebook_meta(notebook)
        _require_destination(record_to)
        self.notebook = notebook
        self.record_to = record_to
        self.results: dict[str, CheckResult] = {}

    def check(self, exercise: str, check: Callable[..., object], *args, show: bool = True, **kwargs) -> None:
        """Run ``check(*args, **kwargs)`` for ``exercise`` (see :func:`check_exercise`) and keep its
        result in ``self.results[exercise]``, e.g.
        ``exercises.check("Exercise 1", check_max_pool, max_pool_2x2)``. Returns None, so a check cell
        ending with this call shows the one line and no second rendering of the result."""
        self.results[exercise] = check_exercise(self.notebook, exercise, check, *args, show=show,
                                                record_to=self.record_to, **kwargs)


def progress_path() -> Path:
    """The default progress file: ``progress.jsonl`` in :func:`course_lib.environment.results_dir`."""
    return environment.results_dir() / PROGRESS_FILE


def record_progress(result: CheckResult, path: str | os.PathLike | None = None) -> Path:
    """Append ``result`` as one JSON line to the progress file ``path`` (default :func:`progress_path`).

    The file is rewritten through a temporary file and :func:`os.replace`, so a reader never sees a
    half-written line. Returns the file's path.
    """
    if not isinstance(result, CheckResult):
        raise TypeError(f"result must be a CheckResult, got {type(result).__name__}")
    target = Path(path) if path is not None else progress_path()
    before = target.read_text(encoding="utf-8") if target.is_file() else ""
    if before and not before.endswith("\n"):
        raise ValueError(f"{target}: the last line is incomplete; not appending to a damaged progress file")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(before + json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def read_progress(path: str | os.PathLike | None = None) -> list[CheckResult]:
    """Every result in the progress file ``path`` (default :func:`progress_path`), oldest first.

    A missing file is an empty record; a line that is not a check result raises ValueError naming the
    file and line number.
    """
    source = Path(path) if path is not None else progress_path()
    if not source.is_file():
        return []
    results = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            results.append(CheckResult.from_dict(json.loads(line)))
        except (ValueError, TypeError) as problem:
            raise ValueError(f"{source}, line {number}: not a check result ({problem})") from None
    return results
