"""course_lib.progress: every self-check is recorded, and ``make progress`` summarises the record.

The expected tables are counted by hand from the few checks each test records; the notebooks they
are read against are tiny fake ones written here (except one end-to-end test on notebook 00 and one
structural test on the real notebooks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from course_lib import catalogue, environment
from course_lib.checks.welcome import check_standardize
from course_lib.exercises import (
    CheckResult,
    Exercises,
    ProgressNotRecorded,
    check_exercise,
    progress_path,
    read_progress,
)
from course_lib.progress import (
    COLUMNS,
    NOTHING_YET,
    exercise_names,
    main,
    plain_text,
    progress_table,
    show_progress,
)

ROOT = environment.repository_root()


def standardize(values):  # the right answer to notebook 00's demo exercise, written independently
    values = np.asarray(values, dtype=float)
    return (values - values.mean()) / np.sqrt(np.mean((values - values.mean()) ** 2))


def result(notebook, exercise, status, minute=0):
    return CheckResult(notebook, exercise, status, "", f"2026-12-03T21:{minute:02d}:00+00:00")


def fake_repository(tmp_path, cells_by_stem):
    """A folder with ``notebooks/<stem>.ipynb`` holding the given code cells (strings)."""
    folder = tmp_path / "repo"
    (folder / "notebooks").mkdir(parents=True)
    for stem, cells in cells_by_stem.items():
        notebook = {"cells": [{"cell_type": "code", "source": source.splitlines(keepends=True),
                               "metadata": {}, "outputs": [], "execution_count": None} for source in cells]
                    + [{"cell_type": "markdown", "source": 'exercises.check("Not code")', "metadata": {}}],
                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (folder / "notebooks" / f"{stem}.ipynb").write_text(json.dumps(notebook))
    return folder


FOUNDATIONS_CELLS = [
    'exercises = Exercises("01_foundations")\n%matplotlib inline\n!echo hi',
    'exercises.check("Exercise 1", check_a, answer_a)\nexercises.check("Exercise 2", check_b, b)',
    'check_exercise("01_foundations", "Exercise 3", check_c, c, show=False)\n'
    'exercises.check("Exercise 1", check_a, answer_a)  # checked again: listed once',
    'exercises.check(name, check_d, d)  # not a literal name: not an exercise of its own',
    'def broken(:\n    pass\nexercises.check("Exercise 4", check_e, e)',  # a learner's syntax error
]


# ------------------------------------------------------------------ the end-to-end promise
def test_a_self_check_then_make_progress_shows_the_notebook_solved(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    exercises = Exercises("00_welcome")  # as notebook 00's check cell does: recording is the default
    exercises.check("Demo exercise", check_standardize, standardize)
    assert "Demo exercise: correct!" in capsys.readouterr().out
    assert (tmp_path / "progress.jsonl").is_file()

    run = subprocess.run([sys.executable, "-m", "course_lib.progress"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COURSE_RESULTS_DIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert str(tmp_path / "progress.jsonl") in run.stdout and NOTHING_YET not in run.stdout
    row = next(line.split() for line in run.stdout.splitlines() if line.startswith("00_welcome "))
    assert row[:4] == ["00_welcome", "1", "1", "1"]  # 1 exercise, checked, solved
    assert "Demo exercise: correct" in " ".join(row)


def test_an_empty_record_says_nothing_was_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    assert main([]) == 0
    shown = capsys.readouterr().out
    assert NOTHING_YET in shown and str(progress_path()) in shown
    assert "00_welcome" in shown and not (tmp_path / "progress.jsonl").exists()  # reading writes nothing


# ------------------------------------------------------------------ recording never breaks a check
def test_an_unwritable_progress_file_warns_once_and_the_check_still_returns(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = blocker / "progress.jsonl"  # its folder cannot be created: as in a read-only sandbox
    with pytest.warns(ProgressNotRecorded) as caught:
        answer = check_exercise("00_welcome", "Demo exercise", check_standardize, standardize, record_to=target)
    assert answer.solved and capsys.readouterr().out == "Demo exercise: correct!\n"
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert str(target) in str(caught[0].message)
    assert caught[0].filename == __file__  # it points at the calling cell, not into course_lib


def test_a_results_folder_that_cannot_be_written_does_not_break_a_notebooks_checks(tmp_path, monkeypatch):
    blocker = tmp_path / "results"
    blocker.write_text("")  # COURSE_RESULTS_DIR names a file: nothing can be written under it
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(blocker))
    book = Exercises("00_welcome")
    with pytest.warns(ProgressNotRecorded, match="progress not recorded") as caught:
        book.check("Demo exercise", check_standardize, standardize, show=False)
    assert book.results["Demo exercise"].solved and caught[0].filename == __file__


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_warns(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.warns(ProgressNotRecorded):
            check_exercise("00_welcome", "Demo exercise", lambda: None, show=False, record_to=folder / "p.jsonl")
    finally:
        folder.chmod(0o755)


def test_a_damaged_progress_file_warns_and_is_left_alone(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"notebook": "00_wel')  # a half-written last line
    with pytest.warns(ProgressNotRecorded, match="incomplete"):
        assert check_exercise("00_welcome", "Demo exercise", lambda: None, show=False, record_to=path).solved
    assert path.read_text() == '{"notebook": "00_wel'


def test_a_recorded_check_warns_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_exercise("00_welcome", "Demo exercise", lambda: None, show=False, record_to=tmp_path / "p.jsonl")
    assert len(read_progress(tmp_path / "p.jsonl")) == 1


# ------------------------------------------------------------------ which exercises a notebook has
def test_exercise_names_come_from_the_check_calls_in_code_cells(tmp_path):
    folder = fake_repository(tmp_path, {"01_foundations": FOUNDATIONS_CELLS})
    assert exercise_names("01_foundations", folder) == ["Exercise 1", "Exercise 2", "Exercise 3", "Exercise 4"]


@pytest.mark.parametrize("meta", catalogue.available(), ids=lambda meta: meta.stem)
def test_every_real_exercise_stub_has_a_named_check(meta):
    source = (ROOT / meta.path).read_text()
    names = exercise_names(meta.stem)
    assert len(names) == len(set(names))
    assert all(json.dumps(name)[1:-1] in source for name in names)
    assert len(names) >= source.count("YOUR CODE HERE"), "every exercise stub is checked under a name"


# ------------------------------------------------------------------ the table
def test_the_latest_result_of_each_exercise_wins(tmp_path):
    folder = fake_repository(tmp_path, {"01_foundations": FOUNDATIONS_CELLS})
    recorded = [result("01_foundations", "Exercise 1", "correct", 1),
                result("01_foundations", "Exercise 2", "incorrect", 2),
                result("01_foundations", "Exercise 1", "incorrect", 3),    # broken again: not solved
                result("01_foundations", "Exercise 2", "correct", 4),      # fixed: solved
                result("01_foundations", "Exercise 3", "not attempted", 5)]
    table = progress_table(recorded, root=folder)
    assert list(table.columns) == list(COLUMNS)
    row = table.set_index("notebook").loc["01_foundations"]
    assert (row["exercises"], row["checked"], row["solved"]) == (4, 3, 1)
    assert row["latest"] == "1: incorrect; 2: correct; 3: not attempted; 4: not checked"
    assert row["last checked"] == "2026-12-03 21:05 UTC"
    assert list(table["notebook"]) == ["01_foundations"]  # no other notebook file in this repository


def test_a_recorded_exercise_missing_from_the_notebook_is_listed_after_its_own(tmp_path):
    folder = fake_repository(tmp_path, {"01_foundations": ['exercises.check("Exercise 1", c, a)'],
                                        "02_cnn_medical_imaging": ["print('no exercises here')"]})
    recorded = [result("01_foundations", "Old exercise", "correct"),
                result("03_lstm_finance", "Exercise 1", "error")]  # its notebook file is not there
    table = progress_table(recorded, root=folder).set_index("notebook")
    assert list(table.index) == ["01_foundations", "03_lstm_finance"]  # 02 has no exercises: left out
    assert table.loc["01_foundations", "latest"] == "1: not checked; Old exercise: correct"
    assert table.loc["01_foundations", ["exercises", "checked", "solved"]].tolist() == [2, 1, 1]
    assert table.loc["03_lstm_finance", ["exercises", "checked", "solved"]].tolist() == [1, 1, 0]


def test_the_table_reads_the_progress_file_by_default_or_by_path(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    check_exercise("00_welcome", "Demo exercise", lambda: None, show=False)
    by_default = progress_table().set_index("notebook").loc["00_welcome"]
    by_path = progress_table(tmp_path / "progress.jsonl").set_index("notebook").loc["00_welcome"]
    assert by_default["solved"] == by_path["solved"] == 1


def test_show_progress_prints_the_path_the_counts_and_the_table(tmp_path, capsys):
    path = tmp_path / "mine.jsonl"
    for status in ("incorrect", "correct"):
        check_exercise("00_welcome", "Demo exercise", lambda: None if status == "correct" else 1 / 0,
                       show=False, record_to=path)
    assert show_progress(path) is None
    shown = capsys.readouterr().out
    assert str(path) in shown and "2 checks recorded, 1 of them correct" in shown
    assert "Demo exercise: correct" in shown and NOTHING_YET not in shown


def test_plain_text_aligns_columns():
    import pandas as pd

    text = plain_text(pd.DataFrame({"name": ["a", "long name"], "n": [1, 100]}))
    assert text.splitlines() == ["name         n", "a            1", "long name  100"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, error, words", [
    (lambda root: exercise_names(1), TypeError, "stem"),
    (lambda root: exercise_names("99_nowhere"), ValueError, "99_nowhere"),
    (lambda root: exercise_names("02_cnn_medical_imaging", root), FileNotFoundError, "02_cnn_medical_imaging"),
    (lambda root: exercise_names("01_foundations", 5), TypeError, "root"),
    (lambda root: exercise_names("01_foundations", root / "nowhere"), ValueError, "root"),
    (lambda root: progress_table(5, root=root), TypeError, "results"),
    (lambda root: progress_table([{"notebook": "01_foundations"}], root=root), TypeError, "CheckResult"),
    (lambda root: show_progress(3), TypeError, "path"),
    (lambda root: plain_text("table"), TypeError, "table"),
])
def test_bad_input_raises_a_clear_error(call, error, words, tmp_path):
    folder = fake_repository(tmp_path, {"01_foundations": FOUNDATIONS_CELLS})
    with pytest.raises(error, match=words):
        call(folder)


def test_a_notebook_that_is_not_json_is_named(tmp_path):
    folder = fake_repository(tmp_path, {})
    (folder / "notebooks" / "01_foundations.ipynb").write_text("{ not json")
    with pytest.raises(ValueError, match="01_foundations.ipynb"):
        exercise_names("01_foundations", folder)


def test_make_progress_names_a_damaged_progress_file_and_fails(tmp_path, capsys):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"notebook": "00_welcome"}\n')
    assert main(["--file", str(path)]) == 1
    assert "line 1" in capsys.readouterr().err
