"""Grade a folder of submissions: each notebook runs in a sandbox; every score is computed here.

    python assignments/tools/grade.py SUBMISSIONS [--build build/assignments] [--out build/grades]
                                                  [--timeout 120] [--memory-gib 3]

``make grade SUBMISSIONS=<folder>`` calls this. Layout of the submissions folder (the folder says
which assignment a notebook belongs to; a notebook whose ``metadata.otter.assignment_name`` names
another assignment scores 0)::

    SUBMISSIONS/
        01_mlp_backprop/
            alice.ipynb          # student = file stem, any characters
            bob.ipynb

How one submission is graded (the threat model is in ``assignments/README.md``):

1. The notebook's bytes are checked (a regular file, at most 20 MB, a valid notebook) and copied with
   the assignment's *public* tests into a fresh staging folder.
2. A scoring process (this file, ``_score``) starts the sandbox (``sandbox.py``): bubblewrap runs
   ``worker.py``, which executes the notebook with no network, read-only views of what it needs and
   resource limits, then answers requests over a data-only channel (``channel.py``).
3. The scoring process runs the autograder zip's tests (public and hidden) itself, with otter's test
   runner, giving each test proxies for the student's variables; references are computed here, so
   nothing the student's code patches or forges can reach a score. It writes ``result.json``.
4. This process kills whatever is left after ``--timeout`` seconds, writes the gradebook (spreadsheet
   formulas neutralised) and one feedback file per submission (public-test messages, the *number* of
   hidden tests failed, never their text).

Writes into ``--out``: ``gradebook.csv``; ``feedback/<assignment>/<student key>.md``;
``work/<assignment>/<student key>/`` (``result.json``, ``output.log`` capped at 1 MB,
``scorer.log``). The student key is the file stem when it is a plain file name, else a cleaned
name plus a hash of the original.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from course_lib.environment import repository_root  # noqa: E402

ROOT = repository_root()
DEFAULT_BUILD = ROOT / "build" / "assignments"
DEFAULT_OUT = ROOT / "build" / "grades"
DEFAULT_TIMEOUT = 120.0
GRADEBOOK_COLUMNS = ["assignment", "student", "question", "score", "total", "status", "note"]
MAX_NOTEBOOK_BYTES = 20 * 2**20
#: seconds the scoring process gets beyond the submission's time limit: its start-up and the tests'
#: own work (references, data), which is not charged to the student
SCORER_GRACE = 300.0
_ASSIGNMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class SubmissionRejected(ValueError):
    """A submission that cannot be graded, with the reason the gradebook shows."""


# --- the assignment's files ---------------------------------------------------------------------

def autograder_zip(build: Path, assignment: str) -> Path:
    """The autograder zip ``make assignments`` wrote for ``assignment`` (the newest if several)."""
    if not _ASSIGNMENT_NAME.fullmatch(assignment):
        raise FileNotFoundError(f"{assignment!r} is not an assignment name")
    zips = sorted((build / assignment / "autograder").glob("*-autograder_*.zip"),
                  key=lambda p: p.stat().st_mtime)
    if not zips:
        raise FileNotFoundError(f"no autograder zip for {assignment!r} under {build}; "
                                "run `make assignments` first")
    return zips[-1]


def read_test_files(zip_path: Path) -> list:
    """The test files of an autograder zip (``tests/*.py``, sorted by name), read by otter itself
    (``otter.test_files.create_test_file``): each with ``.name`` (the question), ``.possible`` (its
    points), ``.test_cases`` (each with ``.hidden``) and ``.run(env)``, otter's own test runner.

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


def master_name(zip_path: Path) -> str:
    """The notebook file name the assignment's otter cells expect (``<name>.ipynb``)."""
    return f"{zip_path.name.split('-autograder_')[0]}.ipynb"


# --- names and text are data --------------------------------------------------------------------

def student_keys(students: list[str]) -> dict[str, str]:
    """A distinct file-safe key per student name: the name itself when it is a plain file name
    (letters, digits, ``_ . -``, not starting with ``.`` or ``-``), else a cleaned name plus 10 hex
    digits of its SHA-256 (so no name can take another's key)."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for student in students:
        key = student if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}", student) else ""
        if not key or key in used:
            cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", student).strip("_-")[:40] or "student"
            key = f"{cleaned}-{hashlib.sha256(student.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"
        used.add(key)
        keys[student] = key
    return keys


def spreadsheet_safe(value):
    """A CSV cell no spreadsheet reads as a formula (OWASP: prefix ``'`` to ``= + - @``, tab, CR)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def one_line(text: str, limit: int = 200) -> str:
    """``text`` for a log line, a title or a gradebook cell: :func:`plain_text` on one line (line
    breaks shown as ``⏎``), so no name or message can fake a line of its own."""
    return plain_text(str(text).replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")
                      .replace("\t", " "), limit)


def plain_text(text: str, limit: int = 500) -> str:
    """``text`` for a feedback file: control characters removed, code fences broken, at most
    ``limit`` characters."""
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else "?" for ch in str(text))
    text = text.replace("```", "'''")
    return text if len(text) <= limit else text[:limit] + " [...]"


# --- one submission: the scoring process ----------------------------------------------------------

def run_tests(test_files: list, environment) -> None:
    """Run every test case with otter's per-case runner, **all public cases of all questions first**:
    a student's function sees a hidden test's inputs and could repeat them in a later public test's
    failure message, which the feedback shows. Leaves otter's ``test_case_results`` on each file, in
    the file's order, so ``test_file.score`` is otter's own."""
    from otter.test_files.abstract_test import TestCaseResult

    results: dict[tuple[int, int], TestCaseResult] = {}
    for hidden in (False, True):
        for f, test_file in enumerate(test_files):
            for c, case in enumerate(test_file.test_cases):
                if case.hidden != hidden:
                    continue
                try:
                    case.body.call_func(environment)
                    passed, message = True, "✅ Test case passed"
                except Exception as error:  # noqa: BLE001 - a failing case, as otter's runner counts it
                    passed, message = False, "❌ Test case failed\n" + test_file._generate_error_message(error)
                results[f, c] = TestCaseResult(test_case=case, message=message, passed=passed)
    for f, test_file in enumerate(test_files):
        test_file.test_case_results = [results[f, c] for c in range(len(test_file.test_cases))]


def score(zip_path: Path, staging: Path, work: Path, timeout: float, limits) -> dict:
    """Run the submission staged in ``staging`` in a sandbox and every test of ``zip_path`` here.

    Returns ``{"status": "graded"|"timeout"|"error", "note": str, "questions": {name: {"score",
    "total", "failed_public", "failed_hidden", "n_tests", "public_output"}}, "cell_errors": [...]}``.
    """
    from channel import ChannelError, ChannelTimeout, GraderEnd, StudentNamespace
    from sandbox import Sandbox

    from otter.test_files import ExceptionTestFile

    test_files = read_test_files(zip_path)
    for test_file in test_files:
        if not isinstance(test_file, ExceptionTestFile):
            raise ValueError(f"{zip_path.name}: {test_file.name} is not an exception-based test file; "
                             "the grader runs tests outside the student's process and needs `ok_format: false`")
    questions, cell_errors, status, note = {}, [], "graded", ""
    with Sandbox(staging, master_name(zip_path), work / "output.log", limits) as box:
        box.transport.time_left = timeout  # the student's time: waiting for its process, not our tests
        try:
            ready = box.transport.receive()
            if not isinstance(ready, dict) or not isinstance(ready.get("ready"), dict):
                raise ChannelError("the notebook's process sent something else than its start message")
            cell_errors = [plain_text(e, 300) for e in ready["ready"].get("cell_errors", [])
                           if isinstance(e, str)][:20]
            environment = StudentNamespace(GraderEnd(box.transport))
        except ChannelTimeout:
            status, note, environment = "timeout", "", None
        except ChannelError as error:
            status, environment = "error", None
            note = f"the notebook's process ended before it could be graded ({error})"
        if environment is not None:
            run_tests(test_files, environment)
        for test_file in test_files:
            if environment is not None:
                passed = [r.passed for r in test_file.test_case_results]
                earned = float(test_file.score)
            else:
                passed, earned = [False] * len(test_file.test_cases), 0.0
            results = list(zip(test_file.test_cases, passed))
            public_output = []
            if environment is not None:
                public_output = [plain_text(r.message.strip(), 1500) for r in test_file.test_case_results
                                 if not r.passed and not r.test_case.hidden]
            questions[test_file.name] = {
                "score": earned, "total": float(test_file.possible),
                "failed_public": sum(1 for case, ok in results if not ok and not case.hidden),
                "failed_hidden": sum(1 for case, ok in results if not ok and case.hidden),
                "n_tests": len(results), "public_output": public_output[:10]}
        if status == "graded" and box.transport.time_left <= 0:
            status = "timeout"
        if status == "graded" and box.returncode() not in (None, 0):
            note = "the notebook's process ended while it was being graded"
    if status == "timeout":
        note = (f"stopped after the {timeout:g} s time limit (an endless loop or far too slow code); "
                "what it had earned by then counts")
    return {"status": status, "note": note, "questions": questions, "cell_errors": cell_errors}


def _score_main(argv: list[str]) -> int:
    """``grade.py _score ZIP STAGING WORK TIMEOUT MEMORY_BYTES``: the scoring process's entry."""
    from sandbox import Limits

    zip_path, staging, work = Path(argv[0]), Path(argv[1]), Path(argv[2])
    timeout, memory = float(argv[3]), int(argv[4])
    limits = Limits(memory_bytes=memory, cpu_seconds=int(2 * timeout) + 30)
    summary = score(zip_path, staging, work, timeout, limits)
    (work / "result.json").write_text(json.dumps(summary, indent=2))
    return 0


# --- one submission: the batch's side ----------------------------------------------------------

def read_submission(path: Path, assignment: str) -> bytes:
    """The notebook's bytes, or :class:`SubmissionRejected` saying why it cannot be graded."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionRejected("not a regular file (a link or a folder); not graded")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionRejected(f"the notebook is {info.st_size / 2**20:.0f} MB, more than the "
                                 f"{MAX_NOTEBOOK_BYTES // 2**20} MB allowed; clear its outputs and hand it in again")
    data = path.read_bytes()
    try:
        import nbformat

        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any parse failure is the same verdict for the student
        raise SubmissionRejected(f"not a readable Jupyter notebook ({type(error).__name__})") from error
    declared = notebook.metadata.get("otter", {}).get("assignment_name")
    if declared is not None and declared != assignment:
        raise SubmissionRejected(f"this notebook was made for assignment {plain_text(declared, 80)!r}, "
                                 f"not {assignment!r}")
    return data


def _public_tests(zip_path: Path) -> Path:
    """The public tests learners have (``student/tests`` beside ``autograder/``)."""
    return zip_path.parent.parent / "student" / "tests"


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def grade_submission(zip_path: Path, submission: Path, work: Path, timeout: float,
                     env: dict | None = None, memory_bytes: int = 3 * 2**30, assignment: str | None = None) -> dict:
    """Grade one submission; never raises for a bad submission.

    ``env``: the scoring process's environment (default: this process's); it decides where the
    trusted tests and the sandbox find data (``COURSE_DATA_MIRROR``, ...). None of it enters the
    sandbox. Returns ``{"status": "graded"|"timeout"|"error"|
    "rejected", "note", "questions", "cell_errors", "seconds"}``.
    """
    start = time.perf_counter()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    assignment = assignment or master_name(zip_path)[:-len(".ipynb")]
    try:
        data = read_submission(submission, assignment)
    except (SubmissionRejected, OSError) as error:
        return {"status": "rejected", "note": str(error), "questions": {}, "cell_errors": [],
                "seconds": time.perf_counter() - start}
    staging = work / "staging"
    staging.mkdir()
    (staging / master_name(zip_path)).write_bytes(data)
    public = _public_tests(zip_path)
    if public.is_dir():
        shutil.copytree(public, staging / "tests")
    env = dict(os.environ if env is None else env)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_score", str(zip_path.resolve()),
           str(staging.resolve()), str(work.resolve()), repr(float(timeout)), str(int(memory_bytes))]
    with open(work / "scorer.log", "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work, env=env,
                                   start_new_session=True)
        try:
            rc = process.wait(timeout=timeout + SCORER_GRACE)
        except subprocess.TimeoutExpired:
            rc = None
        _kill_group(process)
    seconds = time.perf_counter() - start
    result = work / "result.json"
    if rc is None:
        return {"status": "timeout", "questions": {}, "cell_errors": [], "seconds": seconds,
                "note": f"stopped after the {timeout:g} s time limit; scored 0"}
    if rc != 0 or not result.exists():
        return {"status": "error", "questions": {}, "cell_errors": [], "seconds": seconds,
                "note": "the grader failed on this notebook (see scorer.log in its work folder); scored 0"}
    summary = json.loads(result.read_text())
    if summary["cell_errors"] and not summary["note"]:
        summary["note"] = "the notebook raised while running: " + "; ".join(summary["cell_errors"][:3])
    return {**summary, "seconds": seconds}


def find_submissions(folder: Path) -> list[tuple[str, str, Path]]:
    """``(assignment, student, path)`` for every ``folder/<assignment>/<student>.ipynb``, sorted, hidden
    names (``.alice.ipynb``) included; folders starting with ``.`` (``.ipynb_checkpoints``, ``.git``)
    and files not ending in ``.ipynb`` are not submissions."""
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found = []
    for assignment in sorted(os.scandir(folder), key=lambda e: e.name):
        if assignment.name.startswith(".") or not assignment.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(assignment.path), key=lambda e: e.name):
            if entry.name.endswith(".ipynb") and entry.name != ".ipynb" and not entry.is_dir(follow_symlinks=False):
                found.append((assignment.name, entry.name[:-len(".ipynb")], Path(entry.path)))
    return found


def _feedback(assignment: str, student: str, outcome: dict, rows: list[dict]) -> str:
    score_sum = sum(r["score"] for r in rows)
    total = sum(r["total"] for r in rows)
    lines = [f"# {assignment} — feedback for {one_line(student, 120)}", "",
             f"**Total: {score_sum:g} / {total:g}**", ""]
    if outcome["note"]:
        lines += [f"Note: {one_line(outcome['note'], 1000)}", ""]
    lines += ["| question | score | total | public tests failed | hidden tests failed |",
              "|---|---|---|---|---|"]
    for r in rows:
        q = outcome["questions"].get(r["question"], {})
        lines.append(f"| {r['question']} | {r['score']:g} | {r['total']:g} | "
                     f"{q.get('failed_public', '-')} | {q.get('failed_hidden', '-')} |")
    for name, q in outcome["questions"].items():
        if q["public_output"]:
            lines += ["", f"## {name}: public test output", "", "```",
                      *[plain_text(o, 1500) for o in q["public_output"]], "```"]
    return "\n".join(lines) + "\n"


def grade_folder(submissions: Path, build: Path = DEFAULT_BUILD, out: Path = DEFAULT_OUT,
                 timeout: float = DEFAULT_TIMEOUT, env: dict | None = None, log=print,
                 memory_bytes: int = 3 * 2**30, jobs: int = 1) -> list[dict]:
    """Grade every submission under ``submissions``; write the gradebook and feedback files.

    ``env``: the environment of the scoring processes (default: this process's). ``jobs``: how many
    submissions are scored at the same time (each in its own sandbox and work folder; the gradebook's
    rows keep the submissions' order whatever the number). Each submission's ``timeout`` is its own
    wall-clock time, so with more jobs than CPU cores slow solutions may hit it: give them more time.
    Returns the gradebook rows (dicts with :data:`GRADEBOOK_COLUMNS`).
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs!r}")
    from sandbox import bubblewrap

    submissions, build, out = Path(submissions), Path(build), Path(out)
    items = find_submissions(submissions)
    out.mkdir(parents=True, exist_ok=True)
    keys = {assignment: student_keys([s for a, s, _ in items if a == assignment])
            for assignment in {a for a, _, _ in items}}
    rows: list[dict] = []
    # Every submission's sandboxed run first (``jobs`` at a time), then the rows in submission order.
    planned: list[tuple] = []
    for assignment, student, path in items:
        try:
            zip_path = autograder_zip(build, assignment)
            planned.append((assignment, student, path, zip_path, questions_in(zip_path)))
        except (FileNotFoundError, ValueError) as error:
            planned.append((assignment, student, path, None, error))
    if any(zip_path is not None for _, _, _, zip_path, _ in planned):
        bubblewrap()  # a clear error, not one "error" row per student, when the sandbox cannot run

    def run(entry) -> dict | None:
        assignment, student, path, zip_path, _ = entry
        if zip_path is None:
            return None
        return grade_submission(zip_path, path, out / "work" / assignment / keys[assignment][student],
                                timeout, env, memory_bytes, assignment)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(run, planned))
    for (assignment, student, path, zip_path, questions), outcome in zip(planned, outcomes):
        if outcome is None:
            error = questions
            log(f"{one_line(assignment, 80)}/{one_line(student, 80)}: not graded: {one_line(error, 300)}")
            rows.append({"assignment": assignment, "student": student, "question": "(none)",
                         "score": 0.0, "total": 0.0, "status": "unknown assignment", "note": str(error)})
            continue
        key = keys[assignment][student]
        these = []
        for question, points in questions.items():
            q = outcome["questions"].get(question)
            these.append({"assignment": assignment, "student": student, "question": question,
                          "score": q["score"] if q else 0.0, "total": q["total"] if q else points,
                          "status": outcome["status"], "note": one_line(outcome["note"], 1000)})
        rows += these
        feedback = out / "feedback" / assignment / f"{key}.md"
        feedback.parent.mkdir(parents=True, exist_ok=True)
        feedback.write_text(_feedback(assignment, student, outcome, these))
        log(f"{assignment}/{one_line(student, 80)}: {sum(r['score'] for r in these):g}/"
            f"{sum(r['total'] for r in these):g} ({outcome['status']}, {outcome['seconds']:.0f} s)"
            + (f" — {one_line(outcome['note'], 200)}" if outcome["note"] else ""))
    with open(out / "gradebook.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=GRADEBOOK_COLUMNS)
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    log(f"gradebook: {out / 'gradebook.csv'} ({len(items)} submissions)")
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_score":
        return _score_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="folder of <assignment>/<student>.ipynb")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD,
                        help="where `make assignments` wrote the autograder zips")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="gradebook and feedback folder")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one submission may run (default %(default)s)")
    parser.add_argument("--memory-gib", type=float, default=3.0,
                        help="address space each sandboxed process may use, GiB (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="submissions scored at the same time (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        grade_folder(args.submissions, args.build, args.out, args.timeout,
                     memory_bytes=int(args.memory_gib * 2**30), jobs=args.jobs)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
