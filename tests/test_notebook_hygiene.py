"""Notebooks are committed in sync with tools/sync_notebooks.py and without outputs; and the test
run itself is ordered and isolated as tests/conftest.py promises."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.catalogue import available_paths
from course_lib.environment import repository_root

ROOT = repository_root()
NOTEBOOKS = available_paths(ROOT)  # the catalogue's notebooks (tests/test_catalogue.py: no file is left out)
SYNC = ROOT / "tools" / "sync_notebooks.py"
no_notebooks_yet = pytest.mark.skipif(not NOTEBOOKS, reason="notebooks/ has no .ipynb yet")


def run(args, cwd, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@no_notebooks_yet
def test_notebooks_are_in_sync_with_the_setup_cell_generator():
    result = run([sys.executable, str(SYNC), "--check"], cwd=ROOT)
    assert result.returncode == 0, f"tools/sync_notebooks.py --check failed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS or [pytest.param(None, marks=pytest.mark.skip("no notebooks yet"))],
                         ids=[p.name for p in NOTEBOOKS] or ["none"])
def test_notebook_is_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {index} has outputs: run make sync"
            assert cell.get("execution_count") is None, f"{path.name} cell {index} has an execution count"


#: The longest code cell a notebook may have: a reader should see a cell's whole idea at once.
MAX_CODE_LINES = 40

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_cell_is_longer_than_40_lines(path):
    notebook = json.loads(path.read_text())
    long_cells = [f"cell {index}: {len(''.join(cell['source']).splitlines())} lines"
                  for index, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
                  and len("".join(cell["source"]).splitlines()) > MAX_CODE_LINES]
    assert not long_cells, (f"{path.name}: code cells longer than {MAX_CODE_LINES} lines (split them where the "
                            f"idea changes): {', '.join(long_cells)}")


@pytest.fixture
def sync_tool(monkeypatch):
    """tools/sync_notebooks.py imported in this process (a subprocess would import nbformat again)."""
    import importlib.util

    monkeypatch.setattr(sys, "path", list(sys.path))  # the tool adds tools/ to sys.path
    spec = importlib.util.spec_from_file_location("sync_notebooks_under_test", SYNC)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sync_check_catches_a_dirty_notebook(tmp_path, sync_tool, monkeypatch, capsys):
    import nbformat

    path = tmp_path / "dirty.ipynb"
    path.write_text(json.dumps(notebook_json(["print(1)"], outputs=True)))

    monkeypatch.setattr(sys, "argv", ["sync_notebooks.py", "--check", str(path)])
    assert sync_tool.main() == 1
    report = capsys.readouterr().out
    assert "dirty.ipynb: first code cell is not tagged 'colab-setup'" in report
    assert "dirty.ipynb: has stored outputs or execution counts" in report

    monkeypatch.setattr(sys, "argv", ["sync_notebooks.py", str(path)])
    assert sync_tool.main() == 0
    monkeypatch.setattr(sys, "argv", ["sync_notebooks.py", "--check", str(path)])
    assert sync_tool.main() == 0
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert "colab-setup" in code[0].metadata["tags"] and code[0].source == sync_tool.setup_cell_source()
    assert [c.source for c in code[1:]] == ["print(1)"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


# ============================================================================ tests/conftest.py


PROJECT_TESTS = {
    "test_a_ledger.py": '''
        import os
        import pytest

        pytestmark = pytest.mark.ledger

        def test_ledger_sees_the_real_environment():
            assert os.environ["COURSE_DATA_DIR"] == "/outer/data"
            assert os.environ["COURSE_RESULTS_DIR"] == "/outer/results"
            assert os.environ["COURSE_BUDGET"] == "3"
    ''',
    "test_b_unit.py": '''
        import os
        import pytest

        def test_unit_is_isolated(tmp_path_factory):
            assert os.environ["COURSE_DATA_DIR"].startswith(str(tmp_path_factory.getbasetemp()))
            assert os.environ["COURSE_RESULTS_DIR"].startswith(str(tmp_path_factory.getbasetemp()))
            for name in ("COURSE_BUDGET", "COURSE_DATA_MIRROR", "COURSE_OFFLINE"):
                assert name not in os.environ, name
            assert os.environ["MPLBACKEND"] == "Agg"

        def test_sets_a_variable():
            os.environ["COURSE_BUDGET"] = "99"
            os.environ["LEAKED"] = "1"

        def test_nothing_leaked_from_the_previous_test():
            assert "COURSE_BUDGET" not in os.environ and "LEAKED" not in os.environ

        @pytest.mark.ledger
        def test_marked_ledger():
            assert os.environ["COURSE_BUDGET"] == "3"

        def test_last_unit():
            pass
    ''',
}


def notebook_json(sources: list[str], outputs: bool = False) -> dict:
    """A minimal nbformat-4 notebook (written by hand: importing nbformat costs seconds)."""
    cells = [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# T"}]
    for i, source in enumerate(sources):
        cells.append({"cell_type": "code", "id": f"code-{i}", "metadata": {}, "source": source,
                      "execution_count": i + 1 if outputs else None,
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}] if outputs else []})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def mini_project(tmp_path_factory) -> Path:
    """A throwaway project using this repository's tests/conftest.py, with one notebook."""
    project = tmp_path_factory.mktemp("mini_project")
    (project / "pytest.ini").write_text(textwrap.dedent("""\
        [pytest]
        testpaths = tests notebooks
        addopts = -p no:cacheprovider
        markers =
            ledger: reads the results ledger
    """))
    (project / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", project / "tests" / "conftest.py")
    for name, source in PROJECT_TESTS.items():
        (project / "tests" / name).write_text(textwrap.dedent(source))
    (project / "notebooks").mkdir()
    (project / "notebooks" / "n.ipynb").write_text(json.dumps(notebook_json(["x = 1", "assert x == 1"])))
    return project


def _outer_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(COURSE_DATA_DIR="/outer/data", COURSE_RESULTS_DIR="/outer/results", COURSE_BUDGET="3")
    return env


def test_ledger_items_run_after_the_notebooks(mini_project):
    result = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval-lax"], cwd=mini_project,
                 env=_outer_env())
    assert result.returncode == 0, result.stdout + result.stderr
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert ids == [
        "tests/test_b_unit.py::test_unit_is_isolated",
        "tests/test_b_unit.py::test_sets_a_variable",
        "tests/test_b_unit.py::test_nothing_leaked_from_the_previous_test",
        "tests/test_b_unit.py::test_last_unit",
        "notebooks/n.ipynb::Cell 0",
        "notebooks/n.ipynb::Cell 1",
        "tests/test_a_ledger.py::test_ledger_sees_the_real_environment",
        "tests/test_b_unit.py::test_marked_ledger",
    ]


def test_isolation_applies_to_unit_tests_only(mini_project):
    result = run([sys.executable, "-m", "pytest", "-p", "no:nbval", "-q", "tests"], cwd=mini_project,
                 env=_outer_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout
