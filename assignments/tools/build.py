"""Generate the student and autograder versions of every assignment with ``otter assign``.

    python assignments/tools/build.py [NAME ...] [--out build/assignments] [--check]

``make assignments`` calls this. For each master notebook ``assignments/<name>/<name>.ipynb`` it
writes (after deleting the old output, so nothing stale survives)::

    build/assignments/<name>/
        student/<name>.ipynb, student/tests/   # for learners: public tests only (local, Binder)
        colab/<name>.ipynb, colab/tests/       # the same as otter's `runs_on: colab` writes it
        <name>-student.zip, <name>-colab.zip   # those folders zipped, for an LMS or Colab upload
        autograder/<name>.ipynb                # the solution notebook, all tests (instructors only)
        autograder/<name>-autograder_<time>.zip  # what assignments/tools/grade.py grades with

``--check`` also makes otter run every test against the solution notebook while generating (slower;
the end-to-end tests in tests/test_assignments.py grade the solution anyway).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat

from course_lib.environment import repository_root

ROOT = repository_root()
ASSIGNMENTS = ROOT / "assignments"
DEFAULT_OUT = ROOT / "build" / "assignments"
OTTER = [sys.executable, "-m", "otter"]


def masters(names: list[str] | None = None) -> dict[str, Path]:
    """``{name: master notebook}`` for ``assignments/<name>/<name>.ipynb`` (all, or ``names``)."""
    found = {p.parent.name: p for p in sorted(ASSIGNMENTS.glob("[0-9]*/*.ipynb"))
             if p.stem == p.parent.name}
    if names:
        unknown = sorted(set(names) - set(found))
        if unknown:
            raise ValueError(f"no master notebook for {unknown}; have {sorted(found)}")
        found = {n: found[n] for n in names}
    return found


def _otter_assign(master: Path, result: Path, run_tests: bool) -> None:
    cmd = [*OTTER, "assign", "--no-pdfs", *([] if run_tests else ["--no-run-tests"]),
           str(master), str(result)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=master.parent)
    if done.returncode != 0:
        raise RuntimeError(f"otter assign failed for {master.name}:\n{done.stdout}\n{done.stderr}")


def _colab_variant(student: Path, target: Path, name: str) -> None:
    """Copy ``student`` to ``target`` as otter assign's ``runs_on: colab`` would have written it:
    a locked ``%pip install -q otter-grader`` cell before the init cell, and ``otter.Notebook()``
    without a notebook path (Colab cannot tell it). Done here rather than by a second
    ``otter assign`` run, which would double the generation time."""
    shutil.copytree(student, target)
    path = target / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    init = next((i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and c.source.startswith("# Initialize Otter")), None)
    if init is None:
        raise ValueError(f"{name}: the student notebook has no otter init cell (init_cell: true?)")
    nb.cells[init].source = re.sub(r"otter\.Notebook\([^)]*\)", "otter.Notebook()", nb.cells[init].source)
    pip = nbformat.v4.new_code_cell("%pip install -q otter-grader",
                                    metadata=dict(nb.cells[init].metadata))
    nb.cells.insert(init, pip)
    nbformat.write(nb, path)


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder.parent))


def build(name: str, master: Path, out: Path, run_tests: bool = False) -> Path:
    """Generate one assignment into ``out/<name>`` (replacing what was there); returns that folder."""
    target = out / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _otter_assign(master, target, run_tests)
    _colab_variant(target / "student", target / "colab", name)
    for variant in ("student", "colab"):
        _zip_folder(target / variant, target / f"{name}-{variant}.zip")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments to build (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true",
                        help="let otter run the tests against the solution while generating")
    args = parser.parse_args(argv)
    try:
        found = masters(args.names)
    except ValueError as error:
        print(f"assignments: {error}", file=sys.stderr)
        return 2
    for name, master in found.items():
        start = time.perf_counter()
        try:
            target = build(name, master, args.out, run_tests=args.check)
        except (RuntimeError, ValueError) as error:
            print(f"assignments: {error}", file=sys.stderr)
            return 1
        print(f"{name}: {target.relative_to(args.out.parent) if target.is_relative_to(args.out.parent) else target}"
              f" ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
