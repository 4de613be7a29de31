"""Every exercise check rejects the wrong answers learners are likely to write and accepts the
worked solution (the format of the cases: tests/exercise_cases/__init__.py).

- the worked solution, read by path from ``solutions/<notebook>.py``, is ``correct`` on every one of
  ``repeats`` runs (fresh random inputs each time);
- every listed wrong answer ends ``incorrect``, ``not attempted`` or ``error`` — never ``correct`` —
  on each of ``repeats`` runs;
- the stub (``raise NotImplementedError``) ends ``not attempted``;
- an ``incorrect`` message names the seed of the random inputs (or says the library function was
  refused), so a learner can reproduce it;
- every notebook stub has a worked solution of the same name, every notebook with exercises has
  cases, and the notebook says where its solutions are.

While writing a check, stress it: ``EXERCISE_CHECK_REPEATS=500 pytest tests/test_exercise_checks.py``
runs every answer 500 times on fresh inputs (a wrong answer a lucky draw lets through shows up).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import pytest

from course_lib.catalogue import available
from course_lib.environment import repository_root
from course_lib.exercises import CORRECT, NOT_ATTEMPTED, check_exercise

ROOT = repository_root()
CASES_DIR = Path(__file__).parent / "exercise_cases"
SOLUTIONS_DIR = ROOT / "solutions"
if str(CASES_DIR.parent) not in sys.path:  # `from exercise_cases import ExerciseCase` in the case files
    sys.path.insert(0, str(CASES_DIR.parent))

from exercise_cases import ExerciseCase  # noqa: E402

def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_cases() -> list[ExerciseCase]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = _load(path, f"exercise_cases.{path.stem}")
        found = getattr(module, "CASES", None)
        if not isinstance(found, list) or not all(isinstance(case, ExerciseCase) for case in found):
            raise TypeError(f"{path}: must define CASES, a list of exercise_cases.ExerciseCase")
        cases.extend(found)
    ids = [case.id for case in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"exercises with more than one case: {duplicated}")
    return cases


@lru_cache(maxsize=None)
def load_solutions(notebook: str) -> ModuleType:
    path = SOLUTIONS_DIR / f"{notebook}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no worked solutions for {notebook}: expected {path.relative_to(ROOT)}")
    return _load(path, f"solutions_{notebook}")


def solution(case: ExerciseCase):
    module = load_solutions(case.notebook)
    if not hasattr(module, case.solution_name):
        raise AttributeError(f"solutions/{case.notebook}.py defines no {case.solution_name!r} ({case.id})")
    return getattr(module, case.solution_name)


def repeats(case: ExerciseCase) -> int:
    """``case.repeats``, or more with ``EXERCISE_CHECK_REPEATS=<n>`` (a stress run while writing a check)."""
    return max(case.repeats, int(os.environ.get("EXERCISE_CHECK_REPEATS", "0") or 0))


def run(case: ExerciseCase, answer):
    args, kwargs = case.arguments()
    # record_to=False: these runs test the checks; they are nobody's progress (a stress run with
    # EXERCISE_CHECK_REPEATS=500 would otherwise rewrite a growing progress file thousands of times)
    return check_exercise(case.notebook, case.exercise, case.check, answer, *args, show=False,
                          record_to=False, **kwargs)


CASES = load_cases()
WRONG = [(case, name) for case in CASES for name in case.wrong]


def test_case_files_define_cases():
    assert CASES, f"no exercise cases found in {CASES_DIR}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_worked_solution_passes_every_time(case):
    answer = solution(case)
    for attempt in range(repeats(case)):
        result = run(case, answer)
        assert result.status == CORRECT, (f"{case.id}: the worked solution was judged {result.status!r} on run "
                                          f"{attempt + 1}/{repeats(case)}: {result.message}")


@pytest.mark.parametrize("case, name", WRONG, ids=[f"{case.id}:{name}" for case, name in WRONG])
def test_a_wrong_answer_is_never_accepted(case, name):
    for attempt in range(repeats(case)):  # fresh random inputs each time: no lucky draw may let it pass
        result = run(case, case.wrong[name])
        assert result.status != CORRECT, (f"{case.id}: the check accepted the wrong answer {name!r} on run "
                                          f"{attempt + 1}/{repeats(case)}")
        if result.status == "incorrect":
            assert result.message, f"{case.id}: {name!r} was rejected without saying why"
            assert "seed" in result.message or "not to call" in result.message, (
                f"{case.id}: the message for {name!r} does not name the seed of the random inputs "
                f"(use course_lib.checks._common.expect/assert_close/seed_note): {result.message!r}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_unsolved_stub_is_not_attempted(case):
    if not callable(solution(case)):
        pytest.skip("the answer is a value, not a function: the case lists its placeholder as a wrong answer")

    def stub(*args, **kwargs):
        raise NotImplementedError
    stub.__name__ = case.solution_name
    assert run(case, stub).status == NOT_ATTEMPTED


# ------------------------------------------------------------------ notebooks, solutions and cases agree
def _notebook(meta) -> list[dict]:
    return json.loads((ROOT / meta.path).read_text(encoding="utf-8"))["cells"]


def stub_names(cells) -> list[str]:
    """Names a notebook's exercise cells (code cells with "YOUR CODE HERE") define at top level."""
    names = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "YOUR CODE HERE" not in source:
            continue
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, ast.Assign):
                names.extend(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


WITH_EXERCISES = [meta for meta in available() if stub_names(_notebook(meta))]


def _param(meta):
    return pytest.param(meta, id=meta.stem)


@pytest.mark.parametrize("meta", [_param(meta) for meta in WITH_EXERCISES])
def test_every_exercise_stub_has_a_worked_solution_and_cases(meta):
    names = stub_names(_notebook(meta))
    solutions = load_solutions(meta.stem)
    missing = [name for name in names if not hasattr(solutions, name)]
    assert not missing, f"solutions/{meta.stem}.py does not define the notebook's stubs {missing}"
    cased = {case.solution_name for case in CASES if case.notebook == meta.stem}
    assert cased, f"{meta.stem} has exercises but no cases in tests/exercise_cases/"
    text = (SOLUTIONS_DIR / f"{meta.stem}.py").read_text(encoding="utf-8")
    assert "# %% [markdown]" in text and "\n# %%\n" in text, (
        f"solutions/{meta.stem}.py: write it in jupytext py:percent style (# %% [markdown] and # %% cells)")


@pytest.mark.parametrize("meta", [_param(meta) for meta in WITH_EXERCISES])
def test_the_notebook_says_where_its_worked_solutions_are(meta):
    markdown = "\n".join("".join(cell["source"]) for cell in _notebook(meta) if cell["cell_type"] == "markdown")
    assert f"solutions/{meta.stem}.py" in markdown, (
        f"{meta.stem}: the exercise section must say 'Worked solutions: `solutions/{meta.stem}.py` (try first!)'")


def test_every_case_names_a_notebook_of_the_catalogue():
    stems = {meta.stem for meta in available()}
    unknown = sorted({case.notebook for case in CASES} - stems)
    assert not unknown, f"cases for notebooks the catalogue does not list: {unknown}"


def test_the_alkane_check_rejects_a_short_chain_even_where_a_random_model_is_flat():
    # seed 766 draws a network with dead ReLUs that predicts the same value for 5 to 11 carbons; the
    # stress run found "chains one carbon short" accepted there. The check must redraw such a model.
    from course_lib.checks.molecules import check_alkane_predictions

    wrong = next(case for case in CASES if case.solution_name == "alkane_predictions").wrong
    with pytest.raises(AssertionError, match="seed 766"):
        check_alkane_predictions(wrong["chains one carbon short"], seed=766)
