"""Tests of the tools behind make course / make bench (tools/measure.py: process-tree memory;
tools/execute.py: one measured run; tools/bench_report.py: the bench page; tools/readme_tables.py:
README blocks; tools/run_notebooks.py: the command line, end to end on throwaway notebooks) and of
the environment files that install the course."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest

from course_lib import catalogue
from course_lib.catalogue import NotebookMeta
from course_lib.environment import pinned_version, repository_root
from course_lib.results import STAND_IN_MARK

ROOT = repository_root()
sys.path.insert(0, str(ROOT / "tools"))

import bench_report  # noqa: E402
import execute  # noqa: E402
import measure  # noqa: E402
import readme_tables  # noqa: E402
import run_notebooks  # noqa: E402

MIB = 1024 * 1024


# ---------------------------------------------------------------------------------- process trees


def test_tree_rss_sums_whole_tree_and_kernel_subtree():
    processes = [
        measure.ProcInfo(10, 1, 100 * MIB, ("python", "-m", "jupyter", "nbconvert")),
        measure.ProcInfo(11, 10, 300 * MIB, ("python", "-m", "ipykernel_launcher", "-f", "k.json")),
        measure.ProcInfo(12, 11, 50 * MIB, ("python", "-c", "dataloader worker")),
        measure.ProcInfo(13, 12, 7 * MIB, ("sh",)),
        measure.ProcInfo(14, 10, 5 * MIB, ("git", "status")),
    ]
    sample = measure.tree_rss(processes)
    assert sample.total == 462 * MIB
    assert sample.kernel == 357 * MIB  # kernel + its children and grandchildren, not the runner
    assert (sample.processes, sample.kernels) == (5, 1)


def test_tree_rss_without_a_kernel_and_with_a_custom_matcher():
    processes = [measure.ProcInfo(1, 0, 10 * MIB, ("a",)), measure.ProcInfo(2, 1, 20 * MIB, ("b",))]
    assert measure.tree_rss(processes).kernel == 0
    assert measure.tree_rss(processes, kernel_match=lambda cmd: cmd == ("b",)).kernel == 20 * MIB
    assert measure.tree_rss([]).total == 0


def test_peaks_keep_the_maximum_of_each_number_separately():
    peaks = measure.Peaks()
    peaks.update(measure.TreeRSS(total=500, kernel=100, processes=2, kernels=1))
    peaks.update(measure.TreeRSS(total=300, kernel=250, processes=2, kernels=1))
    peaks.update(measure.TreeRSS(total=50, kernel=0, processes=1, kernels=0))
    assert (peaks.total, peaks.kernel, peaks.samples, peaks.kernel_seen) == (500, 250, 3, True)


def test_run_measured_sees_a_grandchilds_memory(tmp_path):
    # The child starts a grandchild that holds ~200 MiB (written, so resident) for a second.
    grandchild = "import time; block = b'x' * (200 * 2**20); time.sleep(1.5)"
    child = ("import subprocess, sys; "
             f"sys.exit(subprocess.run([sys.executable, '-c', {grandchild!r}, 'fake-kernel']).returncode + 3)")
    measured = measure.run_measured([sys.executable, "-c", child], log_path=tmp_path / "log.txt",
                               kernel_match=lambda cmd: "fake-kernel" in cmd)
    assert measured.returncode == 3
    assert measured.wall_s >= 1.5
    assert measured.peaks.kernel_seen
    assert measured.peaks.kernel >= 190 * MIB
    assert measured.peaks.total >= measured.peaks.kernel + 5 * MIB  # the child python counts too
    assert measured.rusage_maxrss is not None and measured.rusage_maxrss >= 190 * MIB


# ---------------------------------------------------------------------------------- pure helpers


def test_replace_block_replaces_only_between_markers():
    text = "intro\n<!-- t:start -->\nold\nrows\n<!-- t:end -->\noutro\n"
    new = readme_tables.replace_block(text, "t", "new table")
    assert new == "intro\n<!-- t:start -->\nnew table\n<!-- t:end -->\noutro\n"
    assert readme_tables.replace_block(new, "t", "new table") == new
    assert readme_tables.read_block(new, "t") == "new table"


@pytest.mark.parametrize("text", [
    "no markers at all",
    "<!-- t:start -->\n<!-- t:end -->\n<!-- t:start -->\n<!-- t:end -->",
    "<!-- t:end -->\nbody\n<!-- t:start -->",
    "<!-- t:start -->\nbody",
])
def test_replace_block_rejects_missing_repeated_or_reversed_markers(text):
    with pytest.raises(ValueError, match="t:"):
        readme_tables.replace_block(text, "t", "body")


def test_failure_excerpt_keeps_the_failing_cell_and_drops_colours():
    log = "\n".join([
        "[NbConvertApp] Converting notebook x.ipynb to notebook",
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.11/asyncio/base_events.py", line 653, in run_until_complete',
        "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:",
        "------------------",
        "raise ValueError('boom')",
        "------------------",
        "",
        "",
        "\x1b[0;31mValueError\x1b[0m: boom",
    ])
    excerpt = execute.failure_excerpt(log)
    assert excerpt.startswith("nbclient.exceptions.CellExecutionError")
    assert excerpt.endswith("ValueError: boom")
    assert "asyncio" not in excerpt and "\x1b" not in excerpt
    assert execute.failure_excerpt("a\nb\nc", lines=2) == "b\nc"


def _record(name="01_x", ok=True, wall=42.0, tree=600.0, ledger=None):
    return {"notebook": name, "path": f"notebooks/{name}.ipynb", "ok": ok, "returncode": 0 if ok else 1,
            "wall_s": wall, "cells_s": wall - 5 if ok else None, "peak_kernel_mib": tree - 90,
            "peak_tree_mib": tree, "rusage_max_mib": tree - 95, "samples": 10,
            "log": f"build/executed/{name}.log", "executed": None,
            "error": None if ok else "ValueError: boom", "ledger": ledger}


def test_budget_verdict():
    assert bench_report.budget_verdict(_record()) == "within budget"
    assert bench_report.budget_verdict(_record(wall=301.0)) == "OVER BUDGET: 301 s > 300 s"
    assert bench_report.budget_verdict(_record(tree=2049.0)) == "OVER BUDGET: 2049 MiB > 2048 MiB"
    assert bench_report.budget_verdict(_record(ok=False)).startswith("failed")


def _entry(dataset="breast_cancer", provenance="bundled", stand_in=False, **metrics):
    return {"dataset": dataset, "provenance": provenance, "stand_in": stand_in,
            "real": provenance != "synthetic", "source": "test", "split": "test", "test_evaluations": 1,
            "metrics": {name: {"mean": mean, "std": std, "n": 3} for name, (mean, std) in metrics.items()},
            "seconds": None, "params": None, "notes": ""}


LEDGER = {"notebook": "01_x", "models": {
    "MLP": {**_entry(accuracy=(0.95, 0.01), roc_auc=(0.9912, 0.0004)), "seconds": 2.25, "params": 4321},
    "random forest": _entry(accuracy=(0.96, 0.0))},
    "verdicts": [{"metric": "test accuracy", "model_a": "MLP", "model_b": "random forest", "winner": None,
                  "sentence": "test accuracy: no clear winner between MLP and random forest (...)."}]}


def _report(records):
    return {"produced": {"date_utc": "2030-01-02 03:04", "commit": "abc1234", "dirty": True,
                         "command": "python tools/run_notebooks.py --bench docs/benchmarks.md nb"},
            "machine": {"cpu": "Test CPU 9000", "cores": "2", "ram": "4.0 GiB", "budget": "1"},
            "budget": {"seconds": 300.0, "mib": 2048.0}, "notebooks": records}


def _rows(page: str, first_cell: str) -> list[str]:
    return [line for line in page.splitlines() if line.startswith(f"| {first_cell} |")]


def test_render_bench_markdown_reports_measurements_verdicts_and_ledgers():
    report = _report([_record(ledger=LEDGER), _record("02_y", wall=400.0),
                      _record("03_z", ok=False)])
    page = bench_report.render_bench_markdown(report)
    assert "2030-01-02 03:04 UTC at commit `abc1234` with uncommitted changes" in page
    assert "| cpu | Test CPU 9000 |" in page
    assert "| 01_x | pass | 42.0 | 37.0 | 510.0 | 600.0 | 505.0 | bundled | within budget |" in page
    assert "| 02_y | pass | 400.0 |" in page and "OVER BUDGET: 400 s > 300 s" in page
    assert "| 03_z | **FAIL** |" in page and "ValueError: boom" in page
    (mlp,) = _rows(page, "MLP")  # the ledger is rendered by course_lib.results.ledger_markdown
    assert "0.95 ± 0.01 (n=3)" in mlp and "0.9912 ± 0.0004 (n=3)" in mlp and "| 2.2 | 4,321 |" in mlp
    assert "breast_cancer (bundled)" in mlp
    assert "- test accuracy: no clear winner between MLP and random forest (...)." in page
    assert "_No results ledger written by this notebook._" in page  # 02_y
    assert STAND_IN_MARK not in page.split("## Results per notebook")[1]  # real data: nothing marked


def test_bench_page_marks_stand_in_rows_only():
    stand_in = {"notebook": "02_y", "models": {
        "CNN": _entry("pneumoniamnist", "synthetic", True, accuracy=(0.8, 0.02)),
        "majority": _entry("pneumoniamnist", "synthetic", True, accuracy=(0.6, 0.0))}, "verdicts": []}
    mixed = {"notebook": "05_w", "models": {
        "GINE": _entry("esol", "bundled", True, rmse=(0.9, 0.05)),
        "random forest": _entry("esol", "mirror", False, rmse=(1.1, 0.01))}, "verdicts": []}
    page = bench_report.render_bench_markdown(_report(
        [_record(ledger=LEDGER), _record("02_y", ledger=stand_in), _record("05_w", ledger=mixed)]))
    marked = {row.split(" | ")[0][2:] for row in page.splitlines()
              if row.startswith("| ") and STAND_IN_MARK in row}
    # ledger rows: the stand-in models; summary rows: the notebooks that have one
    assert marked == {"CNN", "majority", "GINE", "02_y", "05_w"}, marked
    (gine,) = _rows(page, "GINE")
    assert "esol (bundled)" in gine  # real data, but not the ESOL the notebook names
    assert STAND_IN_MARK not in _rows(page, "random forest")[1] and "esol (mirror)" in _rows(page, "random forest")[1]
    assert STAND_IN_MARK not in _rows(page, "01_x")[0]


def test_bench_machine_extends_the_environment_report(tmp_path, monkeypatch):
    from course_lib import environment

    records = [_record(ledger={"models": {"m": _entry(provenance="mirror")}}), _record("02_y", ledger=LEDGER),
               _record("03_z", ledger=None)]
    machine = bench_report.bench_machine(tmp_path / "results", records)
    report = environment.environment_report()
    assert list(machine)[:len(report)] == list(report)  # the one report, then the bench's own facts
    assert machine["mirror read by"] == "01_x"
    assert machine["results ledgers"] == str((tmp_path / "results").resolve())


def test_render_notebook_table_measured_placeholder_and_coming(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_x", "02_y"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    monkeypatch.setattr(catalogue, "NOTEBOOKS", (
        NotebookMeta("01_x", "X", "tabular", "MLP", "LR", ("breast_cancer",)),
        NotebookMeta("02_y", "Y", "images", "CNN", "RF"),
        NotebookMeta("03_z", "Z", "text", "Transformer", "TF-IDF")))
    unmeasured = readme_tables.render_notebook_table(None, tmp_path)
    assert unmeasured.count(readme_tables.PLACEHOLDER) == 4
    assert "| 03 | Z _(coming)_ | text | Transformer | — | TF-IDF | coming | coming | — |" in unmeasured
    assert "| 01 | [X](notebooks/01_x.ipynb) | tabular | MLP | Breast Cancer Wisconsin" in unmeasured
    assert "colab.research.google.com/github/" in unmeasured and "blob/main/notebooks/01_x.ipynb" in unmeasured
    assert "mybinder.org/v2/gh/" in unmeasured and "labpath=notebooks/02_y.ipynb" in unmeasured

    measured = readme_tables.render_notebook_table(_report([_record(wall=41.6, tree=1234.4)]), tmp_path)
    row = next(line for line in measured.splitlines() if line.startswith("| 01 |"))
    assert "| 42 s | 1234 MiB |" in row
    assert "| 02 |" in measured and readme_tables.PLACEHOLDER in measured  # not run by that bench
    assert "commit `abc1234` on Test CPU 9000, 2 cores" in measured
    failed = readme_tables.render_notebook_table(_report([_record(ok=False)]), tmp_path)
    assert "failed in last bench" in failed


def test_cells_seconds_from_nbclient_timing(tmp_path):
    timing = [{"iopub.execute_input": "2030-01-01T00:00:01.000Z", "shell.execute_reply": "2030-01-01T00:00:03.500Z"},
              {"iopub.execute_input": "2030-01-01T00:00:04.000Z", "shell.execute_reply": "2030-01-01T00:00:11.250Z"}]
    executed = tmp_path / "nb.ipynb"
    executed.write_text(json.dumps({"cells": [{"metadata": {"execution": t}} for t in timing]}))
    assert execute.cells_seconds(executed) == pytest.approx(10.25)  # 2.5 + 7.25 s: exact in float64; default approx
    executed.write_text(json.dumps({"cells": [{"metadata": {}}]}))
    assert execute.cells_seconds(executed) is None
    assert execute.cells_seconds(tmp_path / "missing.ipynb") is None


# ---------------------------------------------------------------------------------- the repository


def test_readme_generated_blocks_are_current():
    readme = (ROOT / "README.md").read_text()
    hint = "run: .venv/bin/python tools/run_notebooks.py --update-readme"
    assert readme_tables.read_block(readme, "data-licences") == readme_tables.render_data_licences().strip(), hint
    # Runtime and RAM depend on the last bench; every other column must match the catalogue.
    def static(block):
        rows = [line for line in block.splitlines() if line.startswith("| ")]
        return [line.split(" | ")[:6] for line in rows]
    assert static(readme_tables.read_block(readme, "notebooks-table")) == static(
        readme_tables.render_notebook_table(None, ROOT)), hint


def test_readme_layout_names_every_library_module_and_tool():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Repository layout", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    words = set(re.findall(r"[\w.]+/?", layout))
    library = ROOT / "course_lib"
    expected = {p.name for p in library.glob("*.py") if p.name != "__init__.py"}
    expected |= {p.name for p in (ROOT / "tools").glob("*.py")}
    for package in sorted(p.parent for p in library.glob("*/__init__.py")):
        expected.add(f"{package.name}/")
        expected |= {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
    missing = sorted(name for name in expected if name not in words and f"{name}.py" not in words)
    assert not missing, f"README's layout block does not describe {missing}"


def test_readme_states_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "```bash\nmake test\n```" in readme or "`make test`" in readme


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _name(requirement: str) -> str:
    for separator in ("[", "=", ">", "<", "~", "!", " "):
        requirement = requirement.split(separator)[0]
    return requirement.strip().lower().replace("_", "-")


def test_binder_environment_lists_every_dependency_at_the_pinned_version():
    import yaml

    with open(ROOT / "pyproject.toml", "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    spec = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict))
    requirements = {_name(r): r for r in pip_section if not r.startswith("-")}
    pins = _pins()
    for dependency in dependencies:
        name = _name(dependency)
        if name == "ipykernel":  # repo2docker's base environment provides the kernel
            continue
        assert name in requirements, f"binder/environment.yml lacks {dependency}"
        assert requirements[name] == f"{requirements[name].split('==')[0]}=={pins[name]}", (
            f"binder/environment.yml pins {requirements[name]}, constraints.txt has {pins[name]}")
    assert any("download.pytorch.org/whl/cpu" in r for r in pip_section), "Binder must get CPU torch"
    assert "python=3.11" in spec["dependencies"]


def test_conda_environment_installs_cpu_torch_and_the_course():
    import yaml

    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert spec["name"] == "dlap" and spec["channels"] == ["conda-forge"]
    pip_section = next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict))
    assert f"torch=={pinned_version('torch')}" in pip_section, "environment.yml and constraints.txt disagree"
    assert "-e .[dev]" in pip_section
    assert any("download.pytorch.org/whl/cpu" in r for r in pip_section)


def test_binder_postbuild_installs_the_course_package():
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "binder/postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash") or text.startswith("#!/usr/bin/env bash")
    install = [line for line in text.splitlines() if "pip install" in line and not line.startswith("#")]
    assert install and "--no-deps" in install[0] and install[0].rstrip().endswith("-e .")


# ---------------------------------------------------------------------------------- end to end


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_command_line_rejects_bad_input(tmp_path, capsys):
    assert run_notebooks.main(["--out", str(tmp_path / "out")], root=tmp_path) == 2  # no catalogue notebook here
    assert "no notebook of the catalogue" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    assert run_notebooks.main(["--out", str(tmp_path / "out"), str(tmp_path / "notes.txt")]) == 2
    _notebook(tmp_path / "99_unlisted.ipynb", "1")
    assert run_notebooks.main(["--bench", str(tmp_path / "b.md"), str(tmp_path / "99_unlisted.ipynb")]) == 2
    assert "not in NOTEBOOKS" in capsys.readouterr().err


def test_end_to_end_on_throwaway_notebooks(tmp_path, monkeypatch, capsys):
    from course_lib.data import load_dataset
    from course_lib.holdout import SealedSplit
    from course_lib.results import Ledger

    results = tmp_path / "results"
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(results))
    notebooks = tmp_path / "notebooks"
    # The first writes a file next to itself (cwd is the notebook's folder) and a ledger.
    _notebook(notebooks / "90_tiny.ipynb",
              "from pathlib import Path\nPath('cwd_marker.txt').write_text('here')",
              "from course_lib.data import load_dataset\nfrom course_lib.holdout import SealedSplit\n"
              "from course_lib.results import Ledger\n"
              "test = SealedSplit([0, 1])\ntest.open('MLP')\n"
              "Ledger('90_tiny', reset=True).record('MLP', {'accuracy': {'mean': 0.95, 'std': 0.01, 'n': 3}}, "
              "data=load_dataset('breast_cancer'), seconds=1.5, params=1234, test=test)")
    _notebook(notebooks / "91_broken.ipynb", "x = 1", "raise ValueError('boom from the tiny notebook')")
    _notebook(notebooks / "92_coming_later.ipynb", "raise SystemExit('not in the catalogue: never run')")
    old_test = SealedSplit([0, 1])
    old_test.open("old")
    Ledger("91_broken", results).record("old", {"accuracy": 0.1}, data=load_dataset("breast_cancer"), test=old_test)
    an_hour_ago = time.time() - 3600
    os.utime(results / "91_broken.json", (an_hour_ago, an_hour_ago))
    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- notebooks-table:start -->\n<!-- notebooks-table:end -->\n"
                      "<!-- data-licences:start -->\n<!-- data-licences:end -->\nend\n")
    monkeypatch.setattr(catalogue, "NOTEBOOKS", (
        NotebookMeta("90_tiny", "Tiny", "test", "none", "none", ("breast_cancer",)),
        NotebookMeta("91_broken", "Broken", "test", "none", "none"),
        NotebookMeta("93_coming", "Coming", "test", "none", "none")))

    # no notebook arguments: the catalogue's notebooks that exist under the root, in order
    code = run_notebooks.main(["--bench", str(tmp_path / "benchmarks.md")], root=tmp_path)
    out, err = capsys.readouterr()

    assert code == 1  # one notebook failed, and the other still ran
    assert (notebooks / "cwd_marker.txt").read_text() == "here"
    assert (tmp_path / "build" / "executed" / "90_tiny.ipynb").is_file()
    assert not (tmp_path / "build" / "executed" / "91_broken.ipynb").exists()
    assert "1 of 2 notebook(s) FAILED" in err and "ValueError: boom from the tiny notebook" in err
    assert "| 90_tiny | MLP | breast_cancer (bundled) |" in out  # the scoreboard is printed
    assert "90_tiny" in (tmp_path / "build" / "scoreboard.md").read_text()

    bench = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    assert [r["notebook"] for r in bench["notebooks"]] == ["90_tiny", "91_broken"]
    tiny, broken = bench["notebooks"]
    assert tiny["ok"] and not broken["ok"]
    assert tiny["peak_kernel_mib"] > 20 and tiny["peak_tree_mib"] > tiny["peak_kernel_mib"]
    assert 0 < tiny["cells_s"] < tiny["wall_s"]
    assert tiny["ledger"]["models"]["MLP"]["params"] == 1234
    assert broken["ledger"] is None  # the hour-old ledger is not this run's
    page = (tmp_path / "benchmarks.md").read_text()
    assert "| 90_tiny | pass |" in page and "| 91_broken | **FAIL** |" in page
    assert "0.95 ± 0.01 (n=3)" in page
    new_readme = readme.read_text()
    assert f"| {tiny['wall_s']:.0f} s | {tiny['peak_tree_mib']:.0f} MiB |" in new_readme
    assert "failed in last bench" in new_readme
    assert "| 93 | Coming _(coming)_ |" in new_readme
    assert "(`breast_cancer`) | 90 |" in new_readme
    assert new_readme.startswith("# T\n") and new_readme.endswith("end\n")
