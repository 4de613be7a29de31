"""Metrics against hand-computed values, and the multi-seed comparison."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from course_lib.evaluation import (
    SeedComparison,
    binary_classification_metrics,
    compare_over_seeds,
    regression_metrics,
)

# 6 cases; at threshold 0.5 the predictions are [0, 1, 1, 0, 1, 0]: TP=2, FP=1, FN=1, TN=2.
Y_TRUE = [0, 0, 1, 1, 1, 0]
Y_SCORE = [0.1, 0.6, 0.7, 0.4, 0.9, 0.2]


def test_binary_metrics_by_hand():
    metrics = binary_classification_metrics(Y_TRUE, Y_SCORE)
    # float64 ratios of small counts: exact to ~1e-16, so approx's default rel 1e-6 has a huge margin on
    # any CPU, while one decision more or less moves a metric by >= 1/18
    assert metrics == pytest.approx({
        "accuracy": 4 / 6,
        # positive scores 0.7, 0.4, 0.9 beat negative scores 0.1, 0.6, 0.2 in 3 + 2 + 3 of 9 pairs
        "auc": 8 / 9,
        "f1": 2 / 3,
        "precision": 2 / 3,
        "recall": 2 / 3,
    })
    assert all(type(v) is float for v in metrics.values())


def test_binary_metrics_threshold_moves_the_decisions():
    metrics = binary_classification_metrics(np.array(Y_TRUE), np.array(Y_SCORE), threshold=0.65)
    # predictions [0, 0, 1, 0, 1, 0]: TP=2, FP=0, FN=1, TN=3
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    assert metrics["precision"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(0.8)
    assert metrics["auc"] == pytest.approx(8 / 9)  # threshold-free


def test_binary_metrics_accept_column_vectors_and_bool_labels():
    column = binary_classification_metrics(np.array(Y_TRUE).reshape(-1, 1), np.array(Y_SCORE).reshape(-1, 1))
    boolean = binary_classification_metrics(np.array(Y_TRUE, dtype=bool), Y_SCORE)
    assert column == boolean == binary_classification_metrics(Y_TRUE, Y_SCORE)  # exact: same values, same code


def test_binary_metrics_with_one_class_have_no_auc():
    metrics = binary_classification_metrics([1, 1, 1], [0.2, 0.8, 0.9])
    assert math.isnan(metrics["auc"])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert binary_classification_metrics([0, 0], [0.1, 0.2])["precision"] == 0.0  # exact zero_division=0; no warning


@pytest.mark.parametrize("y_true, y_score, kwargs, error, message", [
    ([0, 1, 1], [0.2, 0.8], {}, ValueError, "y_true has 3 values but y_score has 2"),
    ([0, 2, 1], [0.2, 0.8, 0.5], {}, ValueError, r"y_true must hold only 0 and 1, got \[0, 1, 2\]"),
    ([0, 1], [-0.1, 0.8], {}, ValueError, r"y_score must be probabilities in \[0, 1\]"),
    ([0, 1], [0.2, 1.5], {}, ValueError, r"y_score must be probabilities in \[0, 1\]"),
    ([0, 1], [0.2, 0.8], {"threshold": 1.5}, ValueError, r"threshold must be in \[0, 1\], got 1.5"),
    ([0, 1], [0.2, float("nan")], {}, ValueError, "y_score contains NaN or infinite values"),
    ([], [], {}, ValueError, "y_true is empty"),
    ([[0, 1], [1, 0]], [0.2, 0.8], {}, ValueError, r"y_true must be 1-D \(or \(N, 1\)\), got shape \(2, 2\)"),
    ("0101", [0.1, 0.2, 0.3, 0.4], {}, TypeError, "y_true must be an array-like of numbers, got str"),
    (1, [0.5], {}, TypeError, "y_true must be an array-like of numbers, got int"),
    (["a", "b"], [0.1, 0.9], {}, TypeError, "y_true must hold numbers"),
])
def test_binary_metrics_reject_bad_input(y_true, y_score, kwargs, error, message):
    with pytest.raises(error, match=message):
        binary_classification_metrics(y_true, y_score, **kwargs)


def test_regression_metrics_by_hand():
    metrics = regression_metrics([1, 2, 3, 4], [1.5, 2.0, 2.5, 5.0])
    # errors 0.5, 0, -0.5, 1: MSE 1.5/4, MAE 2/4; total sum of squares around 2.5 is 5
    assert metrics == pytest.approx({"rmse": math.sqrt(0.375), "mae": 0.5, "r2": 1 - 1.5 / 5})
    assert math.isnan(regression_metrics([1.0], [2.0])["r2"])


@pytest.mark.parametrize("y_true, y_pred, error, message", [
    ([1, 2], [1, 2, 3], ValueError, "y_true has 2 values but y_pred has 3"),
    ([1, 2], [1, np.inf], ValueError, "y_pred contains NaN or infinite values"),
    (np.zeros((2, 2)), [1, 2], ValueError, "y_true must be 1-D"),
    ([1, 2], None, TypeError, "y_pred must be an array-like of numbers, got NoneType"),
])
def test_regression_metrics_reject_bad_input(y_true, y_pred, error, message):
    with pytest.raises(error, match=message):
        regression_metrics(y_true, y_pred)


# ============================================================================ compare_over_seeds


def fake_run(base: float, spread: float, params: int | None = None, seconds: float | None = None):
    """A deterministic 'training run' whose scores depend on the seed."""
    calls = []

    def run(seed: int) -> dict:
        calls.append(seed)
        result = {"auc": base + spread * seed, "accuracy": base - spread * seed ** 2}
        if params is not None:
            result["params"] = params
        if seconds is not None:
            result["seconds"] = seconds * (seed + 1)
        return result

    run.calls = calls
    return run


def test_compare_over_seeds_mean_and_sample_std_by_hand():
    mlp = fake_run(0.80, 0.02, params=1234, seconds=1.0)
    logreg = fake_run(0.85, 0.01, seconds=0.5)
    seeds = [0, 1, 3]
    comparison = compare_over_seeds({"MLP": mlp, "logistic regression": logreg}, seeds=seeds)

    assert mlp.calls == seeds and logreg.calls == seeds
    assert comparison.metrics == ["auc", "accuracy"]
    assert comparison.runs[["model", "seed"]].values.tolist() == [["MLP", 0], ["MLP", 1], ["MLP", 3],
                                                                  ["logistic regression", 0],
                                                                  ["logistic regression", 1],
                                                                  ["logistic regression", 3]]
    summary = comparison.summary.set_index("model")
    assert list(summary.index) == ["MLP", "logistic regression"]  # the caller's order
    # pandas and statistics sum the 3 float64 values in their own ways: they agree to ~1e-16 relative
    # (the std, ~0.01-0.04 of values ~0.8, to ~1e-14), far inside approx's default rel 1e-6; ddof 0
    # instead of 1 is off by 18%
    for name, base, spread in (("MLP", 0.80, 0.02), ("logistic regression", 0.85, 0.01)):
        auc = [base + spread * s for s in seeds]
        accuracy = [base - spread * s ** 2 for s in seeds]
        assert summary.loc[name, "auc_mean"] == pytest.approx(statistics.mean(auc))
        assert summary.loc[name, "auc_std"] == pytest.approx(statistics.stdev(auc))  # ddof = 1
        assert summary.loc[name, "accuracy_mean"] == pytest.approx(statistics.mean(accuracy))
        assert summary.loc[name, "accuracy_std"] == pytest.approx(statistics.stdev(accuracy))
        assert summary.loc[name, "n_seeds"] == 3
    assert summary.loc["MLP", "seconds"] == pytest.approx((1 + 2 + 4) / 3)
    assert summary.loc["MLP", "params"] == 1234
    assert pd.isna(summary.loc["logistic regression", "params"])


def test_compare_over_seeds_times_runs_that_do_not_report_seconds():
    comparison = compare_over_seeds({"m": fake_run(0.5, 0.1)}, seeds=[0, 1])
    seconds = comparison.runs["seconds"]
    assert ((seconds >= 0) & (seconds < 5)).all()


def test_compare_over_seeds_single_seed_has_zero_spread():
    comparison = compare_over_seeds({"m": fake_run(0.5, 0.1)}, seeds=[4])
    assert comparison.summary.loc[0, "auc_std"] == 0.0  # exact: one seed stores a literal 0.0
    assert comparison.summary.loc[0, "auc_mean"] == pytest.approx(0.9)


def test_compare_over_seeds_rejects_mismatched_metrics():
    def other(seed):
        return {"auc": 0.5, "f1": 0.4}

    with pytest.raises(ValueError, match=r"model 'other' returned metrics \['auc', 'f1'\], "
                                         r"expected \['accuracy', 'auc'\]"):
        compare_over_seeds({"first": fake_run(0.5, 0.1), "other": other})


@pytest.mark.parametrize("models, seeds, error, message", [
    ({}, (0, 1), ValueError, "models must be a non-empty mapping"),
    ([("m", fake_run(0.5, 0.1))], (0, 1), ValueError, "models must be a non-empty mapping"),
    ({"m": fake_run(0.5, 0.1)}, (), ValueError, "seeds must not be empty"),
    ({"m": fake_run(0.5, 0.1)}, (0, 1, 0), ValueError, r"seeds must be distinct, got \[0, 1, 0\]"),
    ({"m": 0.9}, (0,), TypeError, r"models\['m'\] must be callable as run\(seed\)"),
])
def test_compare_over_seeds_rejects_bad_input(models, seeds, error, message):
    with pytest.raises(error, match=message):
        compare_over_seeds(models, seeds)


@pytest.fixture
def comparison() -> SeedComparison:
    return compare_over_seeds({"MLP": fake_run(0.80, 0.02, params=1234567, seconds=2.0),
                               "forest": fake_run(0.90, 0.01, seconds=0.25)}, seeds=[0, 1, 2])


def test_table_formats_mean_and_std(comparison):
    table = comparison.table()
    assert list(table.index) == ["MLP", "forest"]
    assert list(table.columns) == ["auc", "accuracy", "train s", "params", "seeds"]
    # MLP auc: 0.80, 0.82, 0.84 -> mean 0.82, sample std 0.02
    assert table.loc["MLP", "auc"] == "0.820 ± 0.020"
    assert table.loc["MLP", "train s"] == "4.0"
    assert table.loc["MLP", "params"] == "1,234,567"
    assert table.loc["forest", "params"] == "-"
    assert table.loc["forest", "seeds"] == 3
    assert comparison.table(digits=1).loc["forest", "auc"] == "0.9 ± 0.0"


def test_best_model(comparison):
    assert comparison.best("auc") == "forest"
    assert comparison.best("auc", mode="min") == "MLP"
    with pytest.raises(ValueError, match=r"unknown metric 'rmse'; have \['auc', 'accuracy'\]"):
        comparison.best("rmse")
    with pytest.raises(ValueError, match="mode must be 'max' or 'min', got 'highest'"):
        comparison.best("auc", mode="highest")
