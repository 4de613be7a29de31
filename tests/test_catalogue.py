"""course_lib/catalogue.py is the only list of notebooks: every notebook file has a row, every ledger
stem a notebook and a test names is in it, and one row plus the file is all a new notebook needs to
appear in the README table, make course, make bench, the hygiene tests and notebook 00."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from course_lib import catalogue
from course_lib.catalogue import NotebookMeta, available, available_paths, course_table, notebook_meta, unlisted
from course_lib.environment import repository_root

ROOT = repository_root()
sys.path.insert(0, str(ROOT / "tools"))

import readme_tables  # noqa: E402
import run_notebooks  # noqa: E402
import sync_notebooks  # noqa: E402

# ============================================================================ the rows


def test_rows_are_in_course_order_with_known_datasets():
    from course_lib.data import REGISTRY

    stems = [meta.stem for meta in catalogue.NOTEBOOKS]
    numbers = [meta.number for meta in catalogue.NOTEBOOKS]
    assert len(set(numbers)) == len(numbers) and stems == sorted(stems), "one row per number, in order"
    unknown = [name for meta in catalogue.NOTEBOOKS for name in meta.datasets if name not in REGISTRY]
    assert not unknown, f"NOTEBOOKS names datasets the registry does not know: {unknown}"


@pytest.mark.parametrize("stem, error", [("1_x", ValueError), ("01-x", ValueError), ("01_X", ValueError),
                                         ("01_x.ipynb", ValueError), (1, ValueError)])
def test_a_row_rejects_a_stem_that_is_not_a_notebook_name(stem, error):
    with pytest.raises(error, match="notebook stem must look like '01_foundations'"):
        NotebookMeta(stem, "T", "d", "a", "b")


def test_a_row_rejects_datasets_given_as_one_string():
    with pytest.raises(TypeError, match="01_x: datasets must be a tuple of registry names"):
        NotebookMeta("01_x", "T", "d", "a", "b", "breast_cancer")


def test_meta_path_number_and_lookup(tmp_path):
    meta = notebook_meta("01_foundations")
    assert (meta.path, meta.number) == ("notebooks/01_foundations.ipynb", "01")
    assert meta.exists() and not meta.exists(tmp_path)
    with pytest.raises(ValueError, match="'07_nowhere' is not in the course catalogue"):
        notebook_meta("07_nowhere")


def test_command_line_prints_the_available_paths(capsys):
    assert catalogue.main() == 0
    assert capsys.readouterr().out.splitlines() == [meta.path for meta in available()]


# ============================================================================ the repository agrees


def test_every_notebook_file_has_a_catalogue_row():
    missing = [path.name for path in unlisted()]
    assert not missing, f"add a row to NOTEBOOKS in course_lib/catalogue.py for: {missing}"


def _code_cells(path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


LEDGER_CALL = re.compile(r"\bLedger\(\s*(['\"])(.*?)\1")


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_a_notebook_writes_only_its_own_ledger(path):
    stems = {meta.stem for meta in catalogue.NOTEBOOKS}
    named = [m.group(2) for source in _code_cells(path) for m in LEDGER_CALL.finditer(source)]
    wrong = [stem for stem in named if stem != path.stem or stem not in stems]
    assert not wrong, f"{path.name} writes Ledger({wrong}): a notebook's ledger is named by its own stem"


def _stems_named(path) -> set[str]:
    """Every string constant in a Python file that looks like a notebook stem."""
    tree = ast.parse(path.read_text())
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"\d{2}_[a-z0-9_]+", node.value)}


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("test_ledger_*.py")), ids=lambda p: p.name)
def test_a_ledger_test_names_only_catalogue_notebooks(path):
    unknown = _stems_named(path) - {meta.stem for meta in catalogue.NOTEBOOKS}
    assert not unknown, f"{path.name} names {sorted(unknown)}, which course_lib/catalogue.py does not list"


def test_the_stem_checks_can_fail(tmp_path):
    stray = tmp_path / "test_ledger_x.py"
    stray.write_text('NOTEBOOK = "07_nowhere"\nOTHER = "not a stem"\n')
    assert _stems_named(stray) == {"07_nowhere"}
    source = 'ledger = Ledger("02_other", reset=True)\nLedger(\'00_demo\', directory=d)'
    assert [m.group(2) for m in LEDGER_CALL.finditer(source)] == ["02_other", "00_demo"]


# ============================================================================ done when: one row + the file


THROWAWAY = NotebookMeta("97_throwaway", "Throwaway", "testing", "none", "a constant", ("breast_cancer",))


@pytest.fixture
def project(tmp_path):
    """A repository root with a README (empty generated blocks) and one notebook file, no row yet."""
    (tmp_path / "notebooks").mkdir()
    notebook = {"cells": [{"cell_type": "code", "id": "c", "metadata": {}, "source": "1", "outputs": [],
                           "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / THROWAWAY.path).write_text(json.dumps(notebook))
    (tmp_path / "README.md").write_text("# T\n<!-- notebooks-table:start -->\n<!-- notebooks-table:end -->\n"
                                        "<!-- data-licences:start -->\n<!-- data-licences:end -->\n")
    return tmp_path


def _consumers(root, monkeypatch) -> dict[str, object]:
    """What each consumer of the catalogue lists for the repository at ``root``."""
    ran = []

    def fake_run(notebook, out_dir, *, results, timeout):  # the measured nbconvert run, stubbed
        ran.append(notebook.stem)
        return {"notebook": notebook.stem, "path": str(notebook), "ok": True, "returncode": 0,
                "wall_s": 1.0, "cells_s": 0.5, "peak_kernel_mib": 50.0, "peak_tree_mib": 100.0,
                "rusage_max_mib": 60.0, "samples": 10, "log": "x.log", "executed": None, "error": None,
                "ledger": None}

    monkeypatch.setattr(run_notebooks, "run_notebook", fake_run)
    monkeypatch.setattr(run_notebooks, "git_state", lambda: {"commit": "abc1234", "dirty": False})
    course = run_notebooks.main(["--out", str(root / "out")], root=root)  # make course
    course_ran, ran[:] = list(ran), []
    bench = run_notebooks.main(["--out", str(root / "out"), "--bench", str(root / "bench.md")], root=root)
    return {"course": (course, course_ran), "bench": (bench, list(ran)),
            "bench page": (root / "bench.md").read_text() if (root / "bench.md").is_file() else "",
            "readme": (root / "README.md").read_text(),
            "hygiene": [p.name for p in available_paths(root)],
            "sync": [p.name for p in sync_notebooks.notebook_paths(root)],
            "notebook 00": course_table(root)}


def test_a_new_notebook_needs_one_row_and_its_file(project, monkeypatch):
    table = "[Throwaway](notebooks/97_throwaway.ipynb)"
    # without the row: invisible everywhere, and reported as unlisted
    assert unlisted(project) == [project / THROWAWAY.path]
    readme_tables.update_readme(project / "README.md", None)
    assert table not in (project / "README.md").read_text()
    assert run_notebooks.main(["--out", str(project / "out")], root=project) == 2  # nothing to run
    assert "97" not in course_table(project).index

    monkeypatch.setattr(catalogue, "NOTEBOOKS", (*catalogue.NOTEBOOKS, THROWAWAY))
    assert unlisted(project) == []
    seen = _consumers(project, monkeypatch)
    assert seen["course"] == (0, ["97_throwaway"])
    assert seen["bench"] == (0, ["97_throwaway"])
    assert "| 97_throwaway | pass |" in seen["bench page"]
    assert table in seen["readme"] and "| 1 s | 100 MiB |" in seen["readme"]  # the bench filled it in
    assert "(`breast_cancer`) | 01, 97 |" in seen["readme"]  # the licences table knows where it is used
    assert seen["hygiene"] == seen["sync"] == ["97_throwaway.ipynb"]
    row = seen["notebook 00"].loc["97"]
    assert (row["notebook"], row["file"]) == ("Throwaway", THROWAWAY.path)
    assert row["dataset"].startswith("Breast Cancer Wisconsin")


def test_a_row_without_its_file_is_coming_and_never_run(project, monkeypatch):
    coming = NotebookMeta("98_later", "Later", "testing", "none", "none")
    monkeypatch.setattr(catalogue, "NOTEBOOKS", (THROWAWAY, coming))
    assert [meta.stem for meta in available(project)] == ["97_throwaway"]
    assert course_table(project).loc["98", "file"] == catalogue.COMING
    assert "| 98 | Later _(coming)_ |" in readme_tables.render_notebook_table(None, project)
    assert sync_notebooks.notebook_paths(project) == [project / THROWAWAY.path]


def test_make_course_and_bench_run_the_catalogue_unless_given_a_subset():
    def recipe(target: str, *extra: str) -> list[str]:
        done = subprocess.run(["make", "-n", "-C", str(ROOT), target, *extra], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if "tools/run_notebooks.py" in line]

    (course,) = recipe("course")
    assert course.split("tools/run_notebooks.py", 1)[1].split() == ["--out", "build/executed"]
    (bench,) = recipe("bench")
    assert bench.split("tools/run_notebooks.py", 1)[1].split()[-1] == "docs/benchmarks.md"
    (subset,) = recipe("course", "NOTEBOOKS=notebooks/01_foundations.ipynb")
    assert subset.endswith("notebooks/01_foundations.ipynb")
