"""Grade a folder of submissions with otter-grader, locally, without Docker or a server.

    python assignments/tools/grade.py SUBMISSIONS [--build build/assignments] [--out build/grades]
                                                  [--timeout 120]

``make grade SUBMISSIONS=<folder>`` calls this. Layout of the submissions folder (the folder name
says which assignment a notebook belongs to; otter also checks the notebook's own
``metadata.otter.assignment_name`` and scores a notebook made for another assignment 0)::

    SUBMISSIONS/
        01_mlp_backprop/
            alice.ipynb          # student name = file stem
            bob.ipynb
        03_walk_forward/
            alice.ipynb

Each submission is graded by ``otter run`` (its Python API, ``otter.run.main``: the same code as
the ``otter run -a <autograder zip> <submission>`` command) in a child process with its own
session, killed with all its children (the Jupyter kernel included) when it runs past
``--timeout`` seconds. Whatever happens to one submission (time-out, a crash, a notebook that
raises), it is scored 0 with a reason and the batch goes on.

Writes into ``--out``:

- ``gradebook.csv`` — one row per (assignment, student, question): score, total, status, note.
- ``feedback/<assignment>/<student>.md`` — scores, the public-test output, how many hidden tests
  failed (never their text), and the errors the notebook raised while running.
- ``work/<assignment>/<student>/`` — the raw per-submission result (``result.json``, logs).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from course_lib.environment import repository_root

ROOT = repository_root()
DEFAULT_BUILD = ROOT / "build" / "assignments"
DEFAULT_OUT = ROOT / "build" / "grades"
DEFAULT_TIMEOUT = 120.0
GRADEBOOK_COLUMNS = ["assignment", "student", "question", "score", "total", "status", "note"]


# --- the autograder zip -------------------------------------------------------------------------

def autograder_zip(build: Path, assignment: str) -> Path:
    """The autograder zip ``make assignments`` wrote for ``assignment`` (the newest if several)."""
    zips = sorted((build / assignment / "autograder").glob("*-autograder_*.zip"),
                  key=lambda p: p.stat().st_mtime)
    if not zips:
        raise FileNotFoundError(f"no autograder zip for {assignment!r} under {build}; "
                                "run `make assignments` first")
    return zips[-1]


def read_test_files(zip_path: Path) -> list:
    """The test files of an autograder zip (``tests/*.py``, sorted by name), read by otter itself
    (``otter.test_files.create_test_file``): the objects ``otter run`` grades with, each with ``.name``
    (the question), ``.possible`` (its points) and ``.test_cases`` (each with ``.hidden``).

    Raises ``ValueError`` naming the file when otter cannot read one."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    test_files = []
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory() as folder:
        for name in sorted(n for n in archive.namelist() if re.fullmatch(r"tests/[^/]+\.py", n)):
            try:
                test_files.append(create_test_file(archive.extract(name, folder), NBMetadataConfig()))
            except Exception as error:  # noqa: BLE001 - otter raises several kinds; name the file
                raise ValueError(f"{zip_path.name}:{name} is not a test file otter can read: "
                                 f"{type(error).__name__}: {error}") from error
    return test_files


def questions_in(zip_path: Path) -> dict[str, float]:
    """``{question: points}`` from the test files in an autograder zip, with otter's own rules for
    points (the question list a submission is scored on, even when grading it failed)."""
    return {test_file.name: float(test_file.possible) for test_file in read_test_files(zip_path)}


# --- one submission, in the child process -----------------------------------------------------

def _cell_errors(notebook) -> list[str]:
    errors = []
    if notebook is None:
        return errors
    code_index = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code_index += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"code cell {code_index}: {output.get('ename')}: "
                              f"{str(output.get('evalue'))[:300]}")
    return errors


def grade_one(zip_path: Path, submission: Path, result_path: Path) -> None:
    """Run otter on one notebook and write a summary JSON (runs inside the child process)."""
    from otter.run import main as otter_run

    results = otter_run(str(submission), autograder=str(zip_path), output_dir=None, no_logo=True)
    questions = {}
    for name, test_file in results.results.items():
        failed_public, failed_hidden, public_output = 0, 0, []
        for tcr in test_file.test_case_results:
            if tcr.passed:
                continue
            if tcr.test_case.hidden:
                failed_hidden += 1
            else:
                failed_public += 1
                public_output.append((tcr.message or "").strip())
        questions[name] = {
            "score": float(test_file.score), "total": float(test_file.possible),
            "failed_public": failed_public, "failed_hidden": failed_hidden,
            "n_tests": len(test_file.test_case_results), "public_output": public_output,
        }
    summary = {"questions": questions, "cell_errors": _cell_errors(getattr(results, "notebook", None))}
    result_path.write_text(json.dumps(summary, indent=2))


# --- the batch, in the parent process ---------------------------------------------------------

def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _last_error(path: Path) -> str:
    """The last line of a traceback in a log (``ExceptionName: message``), else its last line."""
    lines = [line.strip() for line in (path.read_text(errors="replace") if path.exists() else "").splitlines()
             if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
            return line[:500]
    return lines[-1][:500] if lines else "no output"


def grade_submission(zip_path: Path, submission: Path, work: Path, timeout: float,
                     env: dict | None = None) -> dict:
    """Grade one submission in a child process; never raises for a bad submission.

    ``env`` is the child's environment (default: this process's), e.g. with ``COURSE_DATA_MIRROR``.
    Returns ``{"status": "graded"|"timeout"|"error", "note": str, "questions": {...},
    "cell_errors": [...], "seconds": float}``.
    """
    if work.exists():
        shutil.rmtree(work)
    (work / "tmp").mkdir(parents=True)
    result_path = work / "result.json"
    # the notebook's otter init cell names the master's file name: grade under that name
    named = work / "submission" / f"{zip_path.name.split('-autograder_')[0]}.ipynb"
    named.parent.mkdir()
    shutil.copyfile(submission, named)
    env = dict(os.environ if env is None else env, TMPDIR=str(work / "tmp"))  # otter's scratch folders stay in work/
    cmd = [sys.executable, str(Path(__file__).resolve()), "_one", str(zip_path.resolve()),
           str(named), str(result_path)]
    start = time.perf_counter()
    with open(work / "stdout.log", "wb") as out, open(work / "stderr.log", "wb") as err:
        process = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=work, env=env,
                                   start_new_session=True)  # own group: the kernel dies with it
        try:
            rc = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            rc = None
        else:
            _kill_group(process)  # a kernel the child left behind
    seconds = time.perf_counter() - start
    shutil.rmtree(work / "tmp", ignore_errors=True)
    if rc is None:
        return {"status": "timeout", "questions": {}, "cell_errors": [], "seconds": seconds,
                "note": f"stopped after the {timeout:g} s time limit (an endless loop or far too "
                        "slow code); scored 0"}
    if rc != 0 or not result_path.exists():
        return {"status": "error", "questions": {}, "cell_errors": [], "seconds": seconds,
                "note": f"the autograder could not grade this notebook: {_last_error(work / 'stderr.log')}"}
    summary = json.loads(result_path.read_text())
    note = ""
    if summary["cell_errors"]:
        note = "the notebook raised while running: " + "; ".join(summary["cell_errors"][:3])
    return {"status": "graded", "note": note, "seconds": seconds, **summary}


def find_submissions(folder: Path) -> list[tuple[str, str, Path]]:
    """``(assignment, student, path)`` for every ``folder/<assignment>/<student>.ipynb``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found = []
    for path in sorted(folder.glob("*/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        found.append((path.parent.name, path.stem, path))
    return found


def _feedback(assignment: str, student: str, outcome: dict, rows: list[dict]) -> str:
    score = sum(r["score"] for r in rows)
    total = sum(r["total"] for r in rows)
    lines = [f"# {assignment} — feedback for {student}", "",
             f"**Total: {score:g} / {total:g}**", ""]
    if outcome["note"]:
        lines += [f"Note: {outcome['note']}", ""]
    lines += ["| question | score | total | public tests failed | hidden tests failed |",
              "|---|---|---|---|---|"]
    for r in rows:
        q = outcome["questions"].get(r["question"], {})
        lines.append(f"| {r['question']} | {r['score']:g} | {r['total']:g} | "
                     f"{q.get('failed_public', '-')} | {q.get('failed_hidden', '-')} |")
    for name, q in outcome["questions"].items():
        if q["public_output"]:
            lines += ["", f"## {name}: public test output", "", "```",
                      *[o for o in q["public_output"]], "```"]
    return "\n".join(lines) + "\n"


def grade_folder(submissions: Path, build: Path = DEFAULT_BUILD, out: Path = DEFAULT_OUT,
                 timeout: float = DEFAULT_TIMEOUT, env: dict | None = None, log=print) -> list[dict]:
    """Grade every submission under ``submissions``; write the gradebook and feedback files.

    ``env``: the environment each grading process gets (default: this process's).
    Returns the gradebook rows (dicts with :data:`GRADEBOOK_COLUMNS`).
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    submissions, build, out = Path(submissions), Path(build), Path(out)
    items = find_submissions(submissions)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for assignment, student, path in items:
        try:
            zip_path = autograder_zip(build, assignment)
            questions = questions_in(zip_path)
        except (FileNotFoundError, ValueError) as error:
            log(f"{assignment}/{student}: not graded: {error}")
            rows.append({"assignment": assignment, "student": student, "question": "(none)",
                         "score": 0.0, "total": 0.0, "status": "unknown assignment",
                         "note": str(error)})
            continue
        outcome = grade_submission(zip_path, path, out / "work" / assignment / student, timeout,
                                   env)
        these = []
        for question, points in questions.items():
            q = outcome["questions"].get(question)
            these.append({"assignment": assignment, "student": student, "question": question,
                          "score": q["score"] if q else 0.0, "total": q["total"] if q else points,
                          "status": outcome["status"], "note": outcome["note"]})
        rows += these
        feedback = out / "feedback" / assignment / f"{student}.md"
        feedback.parent.mkdir(parents=True, exist_ok=True)
        feedback.write_text(_feedback(assignment, student, outcome, these))
        log(f"{assignment}/{student}: {sum(r['score'] for r in these):g}/"
            f"{sum(r['total'] for r in these):g} ({outcome['status']}, {outcome['seconds']:.0f} s)"
            + (f" — {outcome['note']}" if outcome["note"] else ""))
    with open(out / "gradebook.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=GRADEBOOK_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    log(f"gradebook: {out / 'gradebook.csv'} ({len(items)} submissions)")
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_one":
        grade_one(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="folder of <assignment>/<student>.ipynb")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD,
                        help="where `make assignments` wrote the autograder zips")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="gradebook and feedback folder")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one submission may run (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        grade_folder(args.submissions, args.build, args.out, args.timeout)
    except (FileNotFoundError, ValueError) as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
