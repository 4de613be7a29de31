"""The learner's progress: which exercises of which notebook are solved, from the progress file.

Every self-check (:mod:`course_lib.exercises`) appends one line to ``results/progress.jsonl`` on the
learner's machine (nothing is sent anywhere). This module reads that file back and summarises it
per notebook:

- :func:`exercise_names` — the exercises a notebook checks, read from its code cells (the names
  passed to ``exercises.check("...")`` or ``check_exercise(notebook, "...")``), in order;
- :func:`progress_table` — one row per catalogue notebook that has exercises: how many it has, how
  many were checked at least once, how many are solved, and each exercise's latest status;
- :func:`show_progress` — the table, the progress file's path, and "no exercise checked yet" when
  nothing was checked (notebook 00 calls it; ``make progress`` runs :func:`main`).

**The latest result wins**: an exercise is *solved* when its most recent check (the last line for
it in the file, which is appended in the order the checks ran) was correct; an answer that was
right once and then broken again is not solved. An exercise recorded in the file but no longer in
the notebook (renamed, or the notebook file is missing) is listed after the notebook's own.

    python -m course_lib.progress            # the table as plain text (= make progress)
    python -m course_lib.progress --file P   # another progress file
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from course_lib import catalogue
from course_lib.environment import repository_root
from course_lib.exercises import CORRECT, CheckResult, progress_path, read_progress

#: The columns of :func:`progress_table`.
COLUMNS = ("notebook", "exercises", "checked", "solved", "latest", "last checked")
#: The status shown for an exercise with no recorded check.
NOT_CHECKED = "not checked"
#: Printed by :func:`show_progress` when the progress file has no result yet.
NOTHING_YET = "no exercise checked yet: run an exercise's check cell in any notebook"

_CHECK_METHODS = ("check", "check_exercise")
# for a cell the learner left with a syntax error: the same calls, found by their text
_CHECK_TEXT = re.compile(r"""(?:\.check\(\s*|\bcheck_exercise\(\s*[^,()]+,\s*)(["'])(.+?)\1""")


def _root(root) -> Path:
    if root is None:
        return repository_root()
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path or None, got {type(root).__name__}")
    folder = Path(root)
    if not folder.is_dir():
        raise ValueError(f"root must be the course repository's folder, {folder} is not a folder")
    return folder


def _names_in_cell(source: str) -> list[str]:
    """The exercise names a code cell passes to the check calls, in order of appearance."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return [match.group(2) for match in _CHECK_TEXT.finditer(source)]
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", getattr(node.func, "id", None)) in _CHECK_METHODS]
    names = []
    for call in sorted(calls, key=lambda node: (node.lineno, node.col_offset)):
        # exercises.check("Exercise 1", ...) names it first; check_exercise(notebook, "Exercise 1", ...) second
        position = 1 if getattr(call.func, "id", None) == "check_exercise" else 0
        if len(call.args) > position:
            argument = call.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.strip():
                names.append(argument.value)
    return names


def exercise_names(stem: str, root: str | os.PathLike | None = None) -> list[str]:
    """The exercises notebook ``stem`` checks, in the order its code cells check them (each once).

    ``root`` is the repository folder (default :func:`course_lib.environment.repository_root`).
    ValueError for a stem the catalogue does not list; FileNotFoundError naming the path when the
    notebook's file is missing; ValueError naming the file when it is not a notebook (JSON).
    """
    if not isinstance(stem, str):
        raise TypeError(f"stem must be a notebook stem such as '01_foundations', got {type(stem).__name__}")
    meta = catalogue.notebook_meta(stem)  # ValueError naming an unknown stem
    path = _root(root) / meta.path
    if not path.is_file():
        raise FileNotFoundError(f"{stem}: notebook file {path} not found")
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, KeyError, TypeError) as problem:
        raise ValueError(f"{path} is not a readable notebook ({problem})") from None
    names: list[str] = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            for name in _names_in_cell("".join(source) if isinstance(source, list) else source):
                if name not in names:
                    names.append(name)
    return names


def _results(results) -> list[CheckResult]:
    if results is None:
        return read_progress()
    if isinstance(results, (str, os.PathLike)):
        return read_progress(results)
    if isinstance(results, Iterable) and not isinstance(results, (bytes, dict)):
        results = list(results)
        bad = [type(item).__name__ for item in results if not isinstance(item, CheckResult)]
        if not bad:
            return results
        raise TypeError(f"results must hold CheckResult objects, found {', '.join(sorted(set(bad)))}")
    raise TypeError(f"results must be None, a progress file path or a list of CheckResult, "
                    f"got {type(results).__name__}")


def progress_table(results=None, *, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per catalogue notebook that has exercises, in course order.

    Args:
        results: the recorded checks — ``None`` for the progress file (:func:`read_progress`), a path
            of another progress file, or a list of :class:`~course_lib.exercises.CheckResult`
            (oldest first, as the file holds them).
        root: the repository folder whose notebooks are read (default: this checkout).

    Columns: ``notebook`` (stem), ``exercises`` (how many), ``checked`` (how many were checked at
    least once), ``solved`` (how many have a correct *latest* check), ``latest`` (each exercise's
    latest status, ``"1: correct; 2: incorrect; 3: not checked"``: a leading ``"Exercise "`` is
    dropped from the names) and ``last checked`` (UTC time of the notebook's last recorded check,
    ``"2026-12-03 21:30 UTC"``; empty when none). A notebook without exercises is left out unless
    the file records checks for it.
    """
    recorded = _results(results)
    folder = _root(root)
    latest: dict[str, dict[str, CheckResult]] = {}
    last_time: dict[str, str] = {}
    for result in recorded:  # oldest first: a later line replaces an earlier one
        latest.setdefault(result.notebook, {})[result.exercise] = result
        last_time[result.notebook] = result.timestamp
    rows = []
    for meta in catalogue.NOTEBOOKS:
        names = exercise_names(meta.stem, folder) if meta.exists(folder) else []
        checked = latest.get(meta.stem, {})
        names += [name for name in checked if name not in names]
        if not names:
            continue
        statuses = {name: checked[name].status if name in checked else NOT_CHECKED for name in names}
        rows.append({
            "notebook": meta.stem,
            "exercises": len(names),
            "checked": sum(name in checked for name in names),
            "solved": sum(status == CORRECT for status in statuses.values()),
            "latest": "; ".join(f"{_short(name)}: {status}" for name, status in statuses.items()),
            "last checked": _when(last_time.get(meta.stem, "")),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _short(name: str) -> str:
    """``"Exercise 3b"`` -> ``"3b"``; any other name unchanged."""
    match = re.fullmatch(r"Exercise\s+(\S+)", name.strip())
    return match.group(1) if match else name


def _when(timestamp: str) -> str:
    """An ISO 8601 UTC timestamp as ``"2026-12-03 21:30 UTC"`` ("" stays "")."""
    if not timestamp:
        return ""
    moment = datetime.fromisoformat(timestamp)
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def plain_text(table: pd.DataFrame) -> str:
    """``table`` as aligned plain text for a terminal: text left-aligned, numbers right-aligned."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    columns = [str(column) for column in table.columns]
    cells = [[str(value) for value in row] for row in table.itertuples(index=False)]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]
    numeric = [pd.api.types.is_numeric_dtype(table[column]) for column in table.columns]

    def line(values):
        return "  ".join(value.rjust(width) if number else value.ljust(width)
                         for value, width, number in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns)] + [line(row) for row in cells])


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def show_progress(path: str | os.PathLike | None = None) -> None:
    """Show the progress recorded in ``path`` (default :func:`course_lib.exercises.progress_path`):
    the file's path, :data:`NOTHING_YET` when it holds no check, then :func:`progress_table`
    (rendered in a notebook, plain text elsewhere). Returns None, so a cell ending with it shows the
    table once."""
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a progress file path or None, got {type(path).__name__}")
    source = Path(path) if path is not None else progress_path()
    recorded = read_progress(source)
    print(f"Progress file: {source} (on this machine only; each self-check appends one line)")
    if not recorded:
        print(NOTHING_YET)
    else:
        solved = [r for r in recorded if r.status == CORRECT]
        checks = "1 check" if len(recorded) == 1 else f"{len(recorded)} checks"
        print(f"{checks} recorded, {len(solved)} of them correct; the latest check of each exercise counts")
    table = progress_table(recorded)
    with pd.option_context("display.max_colwidth", None, "display.width", 250):
        if _in_notebook():
            from IPython.display import display

            display(table.set_index("notebook"))
        else:
            print(plain_text(table))


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.progress [--file PATH]``: print the progress table (exit 0), or the
    problem with the progress file (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.progress",
                                     description="Which exercises you have solved, per notebook.")
    parser.add_argument("--file", type=Path, default=None,
                        help="the progress file (default: progress.jsonl in the results folder)")
    args = parser.parse_args(argv)
    try:
        show_progress(args.file)
    except (ValueError, OSError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
