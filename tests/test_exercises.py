"""course_lib.exercises: the one self-check protocol, its result as data, and the progress file."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from course_lib import catalogue, environment, exercises
from course_lib.exercises import (
    STATUSES,
    CheckResult,
    Exercises,
    check_exercise,
    progress_path,
    read_progress,
    record_progress,
    run_check,
)

NOTEBOOK = "01_foundations"  # any catalogue row will do


# ------------------------------------------------------------------ checks written like the notebooks'
# Compiled from text, as a notebook cell is: pytest does not rewrite these asserts, so their messages
# are exactly what a learner would see.
CELL = """
import numpy as np


def make_check(standardize):
    # notebook 00's demo check around a learner's standardize
    def check():
        values = np.random.default_rng(0).normal(5.0, 3.0, size=50)
        answer = np.asarray(standardize(values), dtype=float)
        assert answer.shape == values.shape, f"expected shape {values.shape}, got {answer.shape}"
        assert np.allclose(answer, (values - values.mean()) / values.std()), "values differ from the reference"
    return check


def unsolved(values):
    raise NotImplementedError


def right(values):
    return (values - values.mean()) / values.std()


def sample_std(values):  # the common mistake: ddof=1
    return (values - values.mean()) / values.std(ddof=1)


def wrong_shape(values):
    return right(values)[:-1]


def crashes(values):
    return values.standard_deviation()  # not a NumPy method: AttributeError


def bare_assert():
    assert 1 == 2
"""
_cell: dict = {}
exec(compile(CELL, "<notebook cell>", "exec"), _cell)
make_check, unsolved, right, sample_std, wrong_shape, crashes, bare_assert = (
    _cell[name] for name in ("make_check", "unsolved", "right", "sample_std", "wrong_shape", "crashes",
                             "bare_assert"))


@pytest.mark.parametrize("answer, status", [(unsolved, "not attempted"), (right, "correct"),
                                            (sample_std, "incorrect"), (wrong_shape, "incorrect"),
                                            (crashes, "error")])
def test_each_way_a_check_ends_has_its_status(answer, status, capsys):
    result = check_exercise(NOTEBOOK, "Exercise 1", make_check(answer))
    assert result.status == status
    assert result.solved is (status == "correct")
    shown = capsys.readouterr().out
    assert shown == f"{result}\n" and shown.startswith("Exercise 1: ")


def test_a_wrong_answer_is_reported_with_the_assertions_message(capsys):
    result = check_exercise(NOTEBOOK, "Exercise 1", make_check(wrong_shape))
    assert result.status == "incorrect"
    assert result.message == "expected shape (50,), got (49,)"
    assert "not quite - expected shape (50,), got (49,)" in capsys.readouterr().out


def test_an_assertion_without_message_still_says_what_happened():
    status, message = run_check(bare_assert)
    assert status == "incorrect" and message


def test_not_attempted_says_how_to_start_or_passes_the_stubs_message(capsys):
    result = check_exercise(NOTEBOOK, "Exercise 1", make_check(unsolved))
    assert result.message == "" and "replace `raise NotImplementedError`" in capsys.readouterr().out

    def placeholder_check():
        raise NotImplementedError("set MY_LAMBDA to your choice and re-run")
    result = check_exercise(NOTEBOOK, "Exercise 2", placeholder_check)
    assert result.status == "not attempted" and result.message == "set MY_LAMBDA to your choice and re-run"
    assert "Exercise 2: not yet solved - set MY_LAMBDA" in capsys.readouterr().out


def test_an_unexpected_exception_is_an_error_naming_its_type(capsys):
    result = check_exercise(NOTEBOOK, "Exercise 1", make_check(crashes))
    assert result.status == "error"
    assert result.message.startswith("AttributeError: ") and "standard_deviation" in result.message
    assert "traceback" in capsys.readouterr().out

    def divide():
        return 1 / 0
    assert run_check(lambda: divide() and None) == ("error", "ZeroDivisionError: division by zero")


def test_a_correct_check_may_return_a_note():
    result = check_exercise(NOTEBOOK, "Exercise 2", lambda: "λ = 0.97 has the lowest validation QLIKE", show=False)
    assert result.status == "correct" and result.message == "λ = 0.97 has the lowest validation QLIKE"
    assert str(result) == "Exercise 2: correct! - λ = 0.97 has the lowest validation QLIKE"


def test_interrupting_a_check_is_not_swallowed():
    def interrupted():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        check_exercise(NOTEBOOK, "Exercise 1", interrupted, show=False)


def test_show_false_prints_nothing(capsys):
    check_exercise(NOTEBOOK, "Exercise 1", make_check(right), show=False)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------ bad input from the notebook author
@pytest.mark.parametrize("kwargs, error, words", [
    ({"notebook": "99_nowhere"}, ValueError, "99_nowhere"),
    ({"notebook": ""}, ValueError, "notebook"),
    ({"exercise": "  "}, ValueError, "exercise"),
    ({"exercise": 3}, ValueError, "exercise"),
    ({"check": "check_sigmoid"}, TypeError, "function"),
    ({"check": lambda: 42}, TypeError, "None or a str"),
    ({"record_to": 5}, TypeError, "record_to"),
])
def test_bad_input_raises_a_clear_error(kwargs, error, words, tmp_path):
    arguments = {"notebook": NOTEBOOK, "exercise": "Exercise 1", "check": lambda: None, **kwargs}
    with pytest.raises(error, match=words):
        check_exercise(arguments.pop("notebook"), arguments.pop("exercise"), arguments.pop("check"),
                       show=False, **arguments)


def test_the_notebook_must_be_a_catalogue_row_read_at_call_time(monkeypatch):
    extra = catalogue.NotebookMeta("42_new_chapter", "A new chapter", "x", "y", "z")
    with pytest.raises(ValueError, match="42_new_chapter"):
        Exercises("42_new_chapter")
    monkeypatch.setattr(catalogue, "NOTEBOOKS", catalogue.NOTEBOOKS + (extra,))
    assert check_exercise("42_new_chapter", "Exercise 1", lambda: None, show=False).solved


# ------------------------------------------------------------------ the result is data
def test_result_is_frozen_data_that_round_trips_through_json():
    result = check_exercise(NOTEBOOK, "Exercise 1", make_check(sample_std), show=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "correct"
    values = json.loads(json.dumps(result.as_dict()))
    assert values == {"notebook": NOTEBOOK, "exercise": "Exercise 1", "status": "incorrect",
                      "message": "values differ from the reference", "timestamp": result.timestamp}
    assert CheckResult.from_dict(values) == result


def test_timestamp_is_now_in_utc():
    result = check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False)
    when = datetime.fromisoformat(result.timestamp)
    assert when.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - when) < timedelta(minutes=1)


@pytest.mark.parametrize("field, value, error", [("status", "solved", ValueError), ("message", None, TypeError),
                                                 ("timestamp", "yesterday", ValueError),
                                                 ("notebook", "", ValueError)])
def test_result_refuses_values_outside_the_protocol(field, value, error):
    values = {"notebook": NOTEBOOK, "exercise": "Exercise 1", "status": "correct", "message": "",
              "timestamp": "2026-12-03T21:30:00+00:00", field: value}
    with pytest.raises(error, match=field):
        CheckResult(**values)


def test_from_dict_names_missing_and_unknown_keys():
    with pytest.raises(ValueError, match="keys"):
        CheckResult.from_dict({"notebook": NOTEBOOK, "exercise": "E", "status": "correct", "score": 1})


def test_statuses_are_the_four_outcomes():
    assert set(STATUSES) == {"correct", "incorrect", "not attempted", "error"}


# ------------------------------------------------------------------ the progress file
def test_results_are_appended_in_order_and_read_back(tmp_path):
    path = tmp_path / "progress" / "me.jsonl"
    book = Exercises(NOTEBOOK, record_to=path)
    book.check("Exercise 1", make_check(unsolved), show=False)
    first = book.results["Exercise 1"]
    assert book.check("Exercise 1", make_check(right), show=False) is None  # a cell ending with it shows one line
    second = book.results["Exercise 1"]
    book.check("Exercise 2", make_check(sample_std), show=False)
    third = book.results["Exercise 2"]
    assert [first.status, second.status, third.status] == ["not attempted", "correct", "incorrect"]
    assert read_progress(path) == [first, second, third]
    assert book.results == {"Exercise 1": second, "Exercise 2": third}  # the latest of each exercise
    assert len(path.read_text().splitlines()) == 3
    assert sorted(p.name for p in path.parent.iterdir()) == ["me.jsonl"]  # no temporary file left behind


def test_record_to_true_writes_to_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    assert progress_path() == tmp_path / "progress.jsonl"
    result = check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False, record_to=True)
    assert read_progress() == [result]


def test_every_check_is_recorded_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    first = check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False)
    book = Exercises(NOTEBOOK)
    book.check("Exercise 2", make_check(unsolved), show=False)
    assert read_progress() == [first, book.results["Exercise 2"]]
    assert [p.name for p in tmp_path.iterdir()] == ["progress.jsonl"]


@pytest.mark.parametrize("off", [False, None])
def test_record_to_false_or_none_records_nothing(off, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False, record_to=off)
    Exercises(NOTEBOOK, record_to=off).check("Exercise 2", lambda: None, show=False)
    assert list(tmp_path.iterdir()) == [] and read_progress() == []


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    kept = record_progress(check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False), path)
    before = kept.read_text()

    def broken_replace(source, target):
        raise OSError("disk full")
    monkeypatch.setattr(exercises.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        record_progress(check_exercise(NOTEBOOK, "Exercise 2", lambda: None, show=False, record_to=False), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["progress.jsonl"]


def test_damaged_progress_files_are_named_not_extended(tmp_path):
    path = tmp_path / "progress.jsonl"
    result = check_exercise(NOTEBOOK, "Exercise 1", lambda: None, show=False)
    path.write_text(json.dumps(result.as_dict()) + "\n" + '{"notebook": "01_foundations"}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_progress(path)
    path.write_text('{"notebook": "01_found')  # a half-written line
    with pytest.raises(ValueError, match="incomplete"):
        record_progress(result, path)
    with pytest.raises(TypeError, match="CheckResult"):
        record_progress(result.as_dict(), path)


def test_a_missing_progress_file_is_an_empty_record(tmp_path):
    assert read_progress(tmp_path / "none.jsonl") == []


# ------------------------------------------------------------------ the notebooks use this protocol
def _code_cells(meta):
    cells = json.loads((environment.repository_root() / meta.path).read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


@pytest.mark.parametrize("meta", catalogue.available(), ids=lambda meta: meta.stem)
def test_notebook_checks_its_exercises_with_course_lib(meta):
    source = "\n".join(_code_cells(meta))
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert "self_check" not in defined, "use course_lib.exercises, not a pasted self_check"
    printed = [ast.unparse(node) for node in ast.walk(tree)
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"]
    own_verdicts = [text for text in printed if "not yet solved" in text or "correct" in text.lower()]
    assert not own_verdicts, f"hand-written exercise outcomes: {own_verdicts}"
    if "YOUR CODE HERE" in source:
        assert "course_lib.exercises" in source, "the exercises are checked by course_lib.exercises"
        checks = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("check", "check_exercise")]
        assert len(checks) >= source.count("YOUR CODE HERE"), "every exercise stub has a check call"


# ------------------------------------------------------------------ extra arguments reach the check
def check_with_arguments(answer, values, *, scale=1.0):
    # the shape of course_lib.checks' checks: the learner's answer and the notebook's data as arguments
    assert np.allclose(answer(values), scale * (values - values.mean()) / values.std()), "values differ"


@pytest.mark.parametrize("answer, status", [(unsolved, "not attempted"), (right, "correct"), (sample_std, "incorrect")])
def test_positional_arguments_are_passed_to_the_check(answer, status):
    values = np.arange(10.0)
    assert check_exercise(NOTEBOOK, "Exercise 1", check_with_arguments, answer, values, show=False).status == status


def test_keyword_arguments_are_passed_to_the_check_and_show_record_to_are_not(tmp_path, capsys):
    values, path = np.arange(10.0), tmp_path / "p.jsonl"
    result = check_exercise(NOTEBOOK, "Exercise 1", check_with_arguments, lambda v: 2 * right(v), values,
                            scale=2.0, show=False, record_to=path)
    assert result.status == "correct" and read_progress(path) == [result] and capsys.readouterr().out == ""
    book = Exercises(NOTEBOOK)
    assert book.check("Exercise 2", check_with_arguments, right, values, scale=3.0, show=False) is None
    assert book.results["Exercise 2"].status == "incorrect"
    book.check("Exercise 2", check_with_arguments, right, values=values)
    assert book.results["Exercise 2"].solved and capsys.readouterr().out == "Exercise 2: correct!\n"


def test_a_check_called_with_the_wrong_arguments_is_an_error_not_a_crash():
    # a TypeError from calling the check is reported like any other exception: the notebook keeps running
    result = check_exercise(NOTEBOOK, "Exercise 1", check_with_arguments, show=False)
    assert result.status == "error" and result.message.startswith("TypeError")
