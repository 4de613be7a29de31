"""Verdicts from the numbers: the interval decides, "no clear winner" when it contains zero."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from course_lib.evaluation import compare_over_seeds
from course_lib.verdicts import (NO_CLEAR_WINNER, Verdict, bootstrap_verdict, comparison_verdict, decide,
                                 seed_verdict, verdict_table)


# --- seeds -------------------------------------------------------------------------------------------

def test_overlapping_seeds_give_no_clear_winner():
    # the case: hybrid GNN 0.593 ± 0.052 vs random forest 0.624 ± 0.059 RMSE over 3 seeds
    hybrid, forest = [0.55, 0.58, 0.65], [0.66, 0.57, 0.64]  # per-seed differences -0.11, +0.01, +0.01
    verdict = seed_verdict("hybrid GNN", hybrid, "random forest", forest, metric="test RMSE",
                           higher_is_better=False, baseline="random forest")
    assert verdict.winner is None and not verdict.clear and verdict.loser is None
    assert verdict.low <= 0 <= verdict.high
    assert NO_CLEAR_WINNER in verdict.sentence
    assert "random forest (the classical baseline)" in verdict.sentence


def test_classical_model_is_named_when_it_wins():
    verdict = seed_verdict("MLP", [0.975, 0.978, 0.981], "logistic regression", [0.998, 0.998, 0.998],
                           metric="test AUC", baseline="logistic regression")
    assert verdict.winner == "logistic regression" and verdict.loser == "MLP"
    assert verdict.sentence.startswith("test AUC: logistic regression (the classical baseline) is better than MLP")
    assert verdict.high < 0


def test_lower_is_better_picks_the_lower_loss():
    verdict = seed_verdict("GRU", [0.390, 0.392, 0.388], "HAR", [0.419, 0.419, 0.419], metric="QLIKE",
                           higher_is_better=False)
    assert verdict.winner == "GRU" and "lower is better" in verdict.sentence
    flipped = seed_verdict("HAR", [0.419, 0.419, 0.419], "GRU", [0.390, 0.392, 0.388], metric="QLIKE",
                           higher_is_better=False)
    assert flipped.winner == "GRU" and flipped.difference > 0


def test_paired_interval_is_the_student_t_interval_of_the_differences():
    a, b = np.array([0.80, 0.83, 0.81, 0.86]), np.array([0.79, 0.80, 0.80, 0.82])
    verdict = seed_verdict("A", a, "B", b, metric="m")
    d = a - b
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    # float64 sums of 4 numbers: equal to a few ulp, so 1e-12 is far below any real error
    assert verdict.low == pytest.approx(d.mean() - half, abs=1e-12)
    assert verdict.high == pytest.approx(d.mean() + half, abs=1e-12)
    assert verdict.method == "paired t over 4 seeds"


def test_pairing_matters():
    # B is A minus a constant 0.01: paired, the difference is certain; unpaired, the seed spread hides it
    a = np.array([0.70, 0.80, 0.90])
    paired = seed_verdict("A", a, "B", a - 0.01, metric="m")
    unpaired = seed_verdict("A", a, "B", a - 0.01, metric="m", paired=False)
    assert paired.winner == "A"
    assert unpaired.winner is None and unpaired.method.startswith("Welch t over 3 and 3 seeds")


def test_comparison_verdict_pairs_runs_by_seed():
    comparison = compare_over_seeds({
        "MLP": lambda s: {"auc": [0.90, 0.95, 0.92][s]},
        "logreg": lambda s: {"auc": [0.89, 0.94, 0.91][s]},
    }, seeds=[0, 1, 2])
    verdict = comparison_verdict(comparison, "MLP", "logreg", "auc", label="test AUC", baseline="logreg")
    assert verdict.winner == "MLP" and verdict.metric == "test AUC"
    assert verdict.difference == pytest.approx(0.01, abs=1e-12)  # float64 means of 3 numbers
    with pytest.raises(ValueError, match="unknown metric 'rmse'"):
        comparison_verdict(comparison, "MLP", "logreg", "rmse")
    with pytest.raises(ValueError, match="model 'GRU' is not in the comparison"):
        comparison_verdict(comparison, "MLP", "GRU", "auc")
    with pytest.raises(TypeError, match="comparison must be a SeedComparison"):
        comparison_verdict({"runs": None}, "MLP", "logreg", "auc")


def test_comparison_verdict_refuses_unpaired_seeds():
    first = compare_over_seeds({"A": lambda s: {"auc": 0.9}}, seeds=[0, 1, 2])
    second = compare_over_seeds({"B": lambda s: {"auc": 0.8}}, seeds=[3, 4, 5])
    first.runs = pd.concat([first.runs, second.runs], ignore_index=True)
    with pytest.raises(ValueError, match="ran different seeds"):
        comparison_verdict(first, "A", "B", "auc")


# --- bootstrap ---------------------------------------------------------------------------------------

def _scores(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    good = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    also_good = np.clip(good + rng.normal(0, 0.01, n), 0, 1)
    return y, good, also_good, rng.random(n)


def test_bootstrap_separates_a_good_model_from_noise_and_not_from_its_twin():
    y, good, twin, noise = _scores()
    clear = bootstrap_verdict(y, good, noise, roc_auc_score, model_a="A", model_b="coin", metric="test AUC",
                              n_resamples=500)
    assert clear.winner == "A" and clear.low > 0
    assert clear.mean_a == pytest.approx(roc_auc_score(y, good), abs=1e-12)  # the full-set score, float64
    tie = bootstrap_verdict(y, good, twin, roc_auc_score, model_a="A", model_b="A'", metric="test AUC",
                            n_resamples=500)
    assert tie.winner is None and tie.low <= 0 <= tie.high
    assert tie.method == "paired bootstrap over 400 test items (500 resamples)"


def test_bootstrap_is_reproducible_and_seeded():
    y, good, twin, _ = _scores()
    args = (y, good, twin, roc_auc_score)
    kwargs = dict(model_a="A", model_b="B", metric="AUC", n_resamples=300)
    first, again = bootstrap_verdict(*args, **kwargs), bootstrap_verdict(*args, **kwargs)
    assert (first.low, first.high) == (again.low, again.high)  # same seed, same code path: bit-identical
    other = bootstrap_verdict(*args, **kwargs, seed=1)
    assert (other.low, other.high) != (first.low, first.high)


def test_block_bootstrap_keeps_blocks_and_widens_for_autocorrelated_errors():
    rng = np.random.default_rng(3)
    n = 600
    # slowly drifting loss difference (AR(1), phi 0.95): i.i.d. resampling understates its noise
    drift = np.zeros(n)
    for t in range(1, n):
        drift[t] = 0.95 * drift[t - 1] + rng.normal(0, 0.1)
    y = np.zeros(n)
    mse = lambda t, p: float(np.mean((t - p) ** 2))  # noqa: E731
    a, b = np.sqrt(1 + drift.clip(-0.9)), np.ones(n)
    iid = bootstrap_verdict(y, a, b, mse, model_a="A", model_b="B", metric="MSE", higher_is_better=False)
    blocks = bootstrap_verdict(y, a, b, mse, model_a="A", model_b="B", metric="MSE", higher_is_better=False,
                               block_length=50)
    assert (blocks.high - blocks.low) > 1.5 * (iid.high - iid.low)
    assert "blocks of 50" in blocks.method


def test_bootstrap_fails_loudly_when_the_score_is_undefined_on_resamples():
    y = np.array([1] * 198 + [0, 0])  # two negatives: many resamples have one class only
    scores = np.linspace(0, 1, 200)
    with pytest.raises(ValueError, match="score failed on .* resamples"):
        bootstrap_verdict(y, scores, scores[::-1], roc_auc_score, model_a="A", model_b="B", metric="AUC",
                          n_resamples=200)


@pytest.mark.parametrize("changes, error, message", [
    (dict(predictions_a=np.zeros(5)), ValueError, "one row per item"),
    (dict(n_resamples=10), ValueError, "n_resamples must be an integer ≥ 100"),
    (dict(block_length=0), ValueError, "block_length must be an integer ≥ 1"),
    (dict(block_length=1000), ValueError, "block_length 1000 is longer than the 400 items"),
    (dict(score="auc"), TypeError, "score must be callable"),
    (dict(y_true=np.array([1])), ValueError, "y_true must hold at least 2 items"),
    (dict(confidence=1.0), ValueError, r"confidence must be in \(0, 1\)"),
])
def test_bootstrap_rejects_bad_input(changes, error, message):
    y, good, twin, _ = _scores()
    kwargs = dict(y_true=y, predictions_a=good, predictions_b=twin, score=roc_auc_score, model_a="A", model_b="B",
                  metric="AUC")
    with pytest.raises(error, match=message):
        bootstrap_verdict(**{**kwargs, **changes})


# --- decide and bad input ----------------------------------------------------------------------------

def test_decide_uses_the_interval_and_the_direction():
    common = dict(metric="m", mean_a=1.0, mean_b=0.5, method="DM test")
    assert decide("A", "B", low=0.1, high=0.9, **common).winner == "A"
    assert decide("A", "B", low=0.1, high=0.9, higher_is_better=False, **common).winner == "B"
    assert decide("A", "B", low=0.0, high=0.9, **common).winner is None  # zero on the edge: not clear
    assert decide("A", "B", low=-0.2, high=-0.1, **common).winner == "B"


@pytest.mark.parametrize("changes, error, message", [
    (dict(model_b="A"), ValueError, "compare two different models, got 'A' twice"),
    (dict(model_a=""), ValueError, "model_a must be a non-empty model name"),
    (dict(low=1.0, high=0.0), ValueError, "interval is reversed"),
    (dict(low=float("nan")), ValueError, "low must be finite"),
    (dict(mean_a="0.9"), TypeError, "mean_a must be a number, got str"),
    (dict(metric=""), ValueError, "metric must be a non-empty name"),
    (dict(method=" "), ValueError, "method must say how the interval was computed"),
    (dict(higher_is_better="yes"), TypeError, "higher_is_better must be True or False"),
    (dict(baseline="C"), ValueError, "baseline 'C' is neither 'A' nor 'B'"),
    (dict(confidence=95), ValueError, r"confidence must be in \(0, 1\)"),
])
def test_decide_rejects_bad_input(changes, error, message):
    kwargs = dict(model_a="A", model_b="B", metric="m", mean_a=1.0, mean_b=0.5, low=0.1, high=0.9, method="x")
    with pytest.raises(error, match=message):
        decide(**{**kwargs, **changes})


@pytest.mark.parametrize("a, b, kwargs, error, message", [
    ([0.9], [0.8], {}, ValueError, "need at least 2 seeds per model"),
    ([0.9, 0.8, 0.7], [0.8, 0.7], {}, ValueError, "paired comparison needs the same seeds"),
    ([0.9, float("nan")], [0.8, 0.7], {}, ValueError, r"scores_a\[1\] must be finite"),
    ("0.9", [0.8, 0.7], {}, TypeError, "scores_a must be a sequence of numbers"),
    ([[0.9, 0.8]], [0.8, 0.7], {}, ValueError, "scores_a must be 1-D"),
    ([0.9, "x"], [0.8, 0.7], {}, TypeError, r"scores_a\[1\] must be a number, got str"),
    ([0.9, 0.8], [0.8, 0.7], {"confidence": 0}, ValueError, r"confidence must be in \(0, 1\)"),
])
def test_seed_verdict_rejects_malformed_input(a, b, kwargs, error, message):
    with pytest.raises(error, match=message):
        seed_verdict("A", a, "B", b, metric="m", **kwargs)


def test_verdict_is_frozen_and_serialisable():
    verdict = seed_verdict("A", [1.0, 1.1, 1.2], "B", [0.0, 0.1, 0.1], metric="m")
    with pytest.raises(AttributeError):
        verdict.winner = "B"
    stored = verdict.as_dict()
    assert stored["winner"] == "A" and stored["sentence"] == str(verdict)
    assert all(not isinstance(v, np.generic) for v in stored.values())
    assert isinstance(Verdict(**{k: v for k, v in stored.items() if k != "sentence"}), Verdict)
    assert math.isfinite(stored["low"]) and stored["low"] <= stored["high"]


def test_verdict_table():
    verdicts = [seed_verdict("A", [1.0, 1.1, 1.2], "B", [0.0, 0.1, 0.1], metric="m"),
                seed_verdict("A", [1.0, 1.1, 1.2], "C", [1.0, 1.2, 1.1], metric="m")]
    table = verdict_table(verdicts)
    assert table["winner"].tolist() == ["A", NO_CLEAR_WINNER]
    assert list(table.columns) == ["metric", "a", "b", "a − b", "95% interval", "winner", "method"]
    assert verdict_table([]).empty
    with pytest.raises(TypeError, match="expected Verdict objects"):
        verdict_table(["A wins"])
