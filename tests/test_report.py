"""The generated results cell: models, verdicts, runtime and RAM, all read from files."""

from __future__ import annotations

import json

import pytest

from course_lib.holdout import SealedSplit
from course_lib.report import benchmark_record, results_markdown, show_results
from course_lib.results import Ledger
from course_lib.verdicts import seed_verdict
from recorded_data import dataset_as


def _bench(path, notebook="13_demo", wall=42.4, mib=812.6):
    path.write_text(json.dumps({
        "produced": {"date_utc": "2026-12-01 10:00", "commit": "abc1234"},
        "machine": {"cpu": "Some CPU", "cores": "2"},
        "budget": {"seconds": 300.0, "mib": 2048.0},
        "notebooks": [{"notebook": notebook, "ok": True, "wall_s": wall, "peak_tree_mib": mib}],
    }))
    return path


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger("13_demo", tmp_path / "results")
    test = SealedSplit([0, 1])
    for seed in (0, 1, 2):
        test.open("MLP", seed=seed)
    test.open("logistic regression")
    ledger.record("MLP", {"auc": {"mean": 0.97, "std": 0.01, "n": 3}}, data=dataset_as("breast_cancer", "bundled"), test=test, seconds=2.5, params=513)
    ledger.record("logistic regression", {"auc": 0.98}, data=dataset_as("breast_cancer", "bundled"), test=test)
    ledger.record_verdict(seed_verdict("MLP", [0.96, 0.97, 0.98], "logistic regression", [0.98] * 3,
                                       metric="test AUC", baseline="logistic regression"))
    return ledger


def test_results_markdown_has_table_verdicts_and_bench(ledger, tmp_path):
    text = results_markdown(ledger, bench_path=_bench(tmp_path / "bench.json"))
    assert "| MLP | 0.97 ± 0.01 (n=3) | test (1×) | breast_cancer (bundled) | 2.5 | 513 |" in text
    assert "| logistic regression | 0.98 (n=1) | test (1×) |" in text
    assert "- test AUC: no clear winner between MLP and logistic regression (the classical baseline)" in text
    assert "42 s wall time, 813 MiB peak RAM (budget 300 s, 2048 MiB)" in text
    assert "commit `abc1234`" in text and "stand-in" not in text


def test_results_markdown_without_bench_and_on_a_stand_in(tmp_path):
    ledger = Ledger("14_fake", tmp_path)
    test = SealedSplit([0])
    test.open("CNN")
    ledger.record("CNN", {"auc": 0.7}, data=dataset_as("pneumoniamnist", "synthetic"), test=test)
    text = results_markdown(ledger, bench_path=tmp_path / "missing.json")
    assert "not measured yet for this notebook: run `make bench`" in text
    assert "synthetic stand-in" in text and "- _none recorded_" in text


def test_benchmark_record(tmp_path):
    path = _bench(tmp_path / "bench.json")
    record = benchmark_record("13_demo", path)
    assert record["wall_s"] == 42.4 and record["peak_tree_mib"] == 812.6 and record["cpu"] == "Some CPU"
    assert benchmark_record("99_other", path) is None
    assert benchmark_record("13_demo", tmp_path / "absent.json") is None
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        benchmark_record("13_demo", tmp_path / "broken.json")


def test_show_results_prints_outside_jupyter(ledger, tmp_path, capsys):
    assert show_results(ledger, bench_path=tmp_path / "none.json") is None
    assert "### Results of this run (13_demo)" in capsys.readouterr().out


def test_bad_ledger_argument():
    with pytest.raises(TypeError, match="ledger must be a Ledger or a notebook name"):
        results_markdown(13)


def test_many_verdicts_list_the_clear_ones_and_group_the_ties(ledger, tmp_path):
    for i in range(14):
        scores_b = [0.5] * 3 if i % 2 else [0.95, 0.99, 0.97]
        ledger.record_verdict(seed_verdict("MLP", [0.96, 0.97, 0.98], f"model {i}", scores_b, metric="test AUC"))
    text = results_markdown(ledger, bench_path=tmp_path / "none.json")
    assert text.count("is better than") == 7  # the seven clear verdicts, one sentence each
    assert "no clear winner in the other 8 comparisons: MLP vs logistic regression (test AUC); MLP vs model 0" in text
