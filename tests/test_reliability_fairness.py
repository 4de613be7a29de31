"""Unit tests of course_lib.reliability.fairness (notebook 10, bias section).

Expected values come from hand-checked toy cases (rates counted on paper) or from an independent
computation: fairlearn's MetricFrame and difference functions, a plain row-resampling bootstrap, and
course_lib.imaging.calibration.choose_threshold. Real data: scikit-lego's bundled arrests frame (no
download). Rates are ratios of integer counts in float64: tolerances 1e-12.
"""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from fairlearn.metrics import (  # noqa: E402
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklego.datasets import load_arrests  # noqa: E402

from course_lib.imaging.calibration import choose_threshold  # noqa: E402
from course_lib.reliability.fairness import (  # noqa: E402
    ARRESTS_FEATURES,
    SENSITIVE_FEATURE,
    TabularTask,
    _resampled_cells,
    arrests_models,
    arrests_task,
    bootstrap_gaps,
    bootstrap_group_rates,
    choose_threshold_on_validation,
    fairness_gaps,
    group_metrics,
    mitigate_threshold_optimizer,
    plot_group_metrics,
    threshold_for_rate,
)

torch.set_num_threads(1)
TOL = 1e-12

# Toy decision, counted by hand. Group A (6 people): y = 1 1 1 0 0 0, pred = 1 1 0 1 0 0
#   -> selection 3/6, TPR 2/3, FPR 1/3, base rate 1/2, precision 2/3.
# Group B (4 people): y = 1 0 0 0, pred = 0 1 0 0 -> selection 1/4, TPR 0, FPR 1/3, base 1/4,
#   precision 0/1. DP difference 1/4, TPR difference 2/3, FPR difference 0, EO difference 2/3.
#   Signed gaps B - A (A is the larger group, the default reference): -1/4, -2/3, 0.
TOY_Y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 0])
TOY_PRED = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 0])
TOY_GROUP = np.array(["A"] * 6 + ["B"] * 4)
TOY_PROB = np.array([0.9, 0.8, 0.4, 0.6, 0.2, 0.1, 0.3, 0.7, 0.2, 0.0])


@pytest.fixture(scope="module")
def arrests() -> pd.DataFrame:
    return load_arrests(as_frame=True)


@pytest.fixture(scope="module")
def task(arrests) -> TabularTask:
    return arrests_task(arrests, seed=0)


@pytest.fixture(scope="module")
def fitted(task):
    """Logistic regression (course pipeline) with colour, its validation and test probabilities and
    test decisions at the base-rate threshold."""
    model = arrests_models(seed=0)["logistic regression"].fit(task.features("train"), task.y_train)
    p_val = model.predict_proba(task.features("val"))[:, 1]
    p_test = model.predict_proba(task.features("test"))[:, 1]
    threshold = choose_threshold_on_validation(task.y_val, p_val)
    return model, p_val, p_test, (p_test >= threshold).astype(int)


# ------------------------------------------------------------------------------------------- the task


def test_arrests_task_splits_are_disjoint_complete_and_labelled(arrests, task):
    sizes = [len(task.X_train), len(task.X_val), len(task.X_test)]
    assert sum(sizes) == len(arrests) == 5226
    assert sizes[2] == pytest.approx(0.25 * 5226, abs=1) and sizes[1] == pytest.approx(0.2 * 5226, abs=1)
    indices = [set(task.features(s).index) for s in ("train", "val", "test")]
    assert not (indices[0] & indices[1]) and not (indices[0] & indices[2]) and not (indices[1] & indices[2])
    for split in ("train", "val", "test"):
        rows = arrests.loc[task.features(split).index]
        np.testing.assert_array_equal(task.labels(split), (rows["released"] == "No").to_numpy().astype(int))
        np.testing.assert_array_equal(task.groups(split), rows["colour"].astype(str).to_numpy())
        np.testing.assert_array_equal(task.features(split)["colour_black"], (rows["colour"] == "Black").astype(int))
        np.testing.assert_array_equal(task.features(split)["age"], rows["age"])
        assert tuple(task.features(split).columns) == ARRESTS_FEATURES


def test_arrests_task_is_stratified_by_label_and_colour(arrests, task):
    held = arrests["released"] == "No"
    for colour in ("Black", "White"):
        overall = held[arrests["colour"] == colour].mean()              # 0.259 Black, 0.142 White
        for split in ("train", "val", "test"):
            in_group = task.groups(split) == colour
            assert task.labels(split)[in_group].mean() == pytest.approx(overall, abs=0.005)


def test_arrests_task_without_sensitive_drops_only_colour(task):
    without = task.features("val", with_sensitive=False)
    assert SENSITIVE_FEATURE not in without.columns
    assert list(without.columns) == [c for c in ARRESTS_FEATURES if c != SENSITIVE_FEATURE]
    pd.testing.assert_frame_equal(without, task.features("val").drop(columns=[SENSITIVE_FEATURE]))


def test_arrests_task_same_seed_same_split_other_seed_other_split(arrests, task):
    again, other = arrests_task(arrests, seed=0), arrests_task(arrests, seed=1)
    pd.testing.assert_frame_equal(again.X_test, task.X_test)
    assert not task.X_test.index.equals(other.X_test.index)


def test_arrests_task_rejects_bad_input(arrests):
    with pytest.raises(TypeError, match="frame"):
        arrests_task(arrests.to_numpy())
    with pytest.raises(ValueError, match="checks"):
        arrests_task(arrests.drop(columns=["checks"]))
    with pytest.raises(ValueError, match="test_size"):
        arrests_task(arrests, test_size=1.2)
    with pytest.raises(ValueError, match="below 1"):
        arrests_task(arrests, test_size=0.6, val_size=0.5)
    with pytest.raises(TypeError, match="seed"):
        arrests_task(arrests, seed=1.5)
    with pytest.raises(ValueError, match="released"):
        arrests_task(arrests.assign(released="maybe"))
    with pytest.raises(ValueError, match="two groups"):
        arrests_task(arrests.assign(colour="White"))
    task = arrests_task(arrests)
    with pytest.raises(ValueError, match="split"):
        task.features("dev")
    with pytest.raises(TypeError, match="with_sensitive"):
        task.features("val", with_sensitive="no")


def test_arrests_models_fit_both_feature_sets_without_warnings(task):
    models = arrests_models(seed=0)
    assert set(models) == {"logistic regression", "gradient boosting", "MLP"}
    rows = slice(0, 600)                                     # a subset: enough to run every step
    for name, model in models.items():
        for with_sensitive in (True, False):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                fitted = clone(model).fit(task.features("train", with_sensitive).iloc[rows], task.y_train[rows])
            prob = fitted.predict_proba(task.features("val", with_sensitive))[:, 1]
            assert prob.shape == (len(task.y_val),) and np.all((prob >= 0) & (prob <= 1)), name
    with pytest.raises(TypeError, match="seed"):
        arrests_models(seed="0")


# ----------------------------------------------------------------------------------- rates and gaps


def test_group_metrics_match_hand_counts_on_toy_data():
    frame = group_metrics(TOY_Y, TOY_PRED, TOY_PROB, TOY_GROUP)
    assert isinstance(frame, MetricFrame)
    table = frame.by_group
    expected = {"A": dict(count=6, base_rate=1 / 2, selection_rate=1 / 2, tpr=2 / 3, fpr=1 / 3, precision=2 / 3,
                          mean_prob=3.0 / 6, brier=(0.01 + 0.04 + 0.36 + 0.36 + 0.04 + 0.01) / 6),
                "B": dict(count=4, base_rate=1 / 4, selection_rate=1 / 4, tpr=0.0, fpr=1 / 3, precision=0.0,
                          mean_prob=1.2 / 4, brier=(0.49 + 0.49 + 0.04 + 0.0) / 4)}
    for group, values in expected.items():
        for metric, value in values.items():
            assert table.loc[group, metric] == pytest.approx(value, abs=TOL), (group, metric)
    assert frame.difference()["selection_rate"] == pytest.approx(0.25, abs=TOL)
    assert "mean_prob" not in group_metrics(TOY_Y, TOY_PRED, None, TOY_GROUP).by_group.columns


def test_fairness_gaps_match_hand_counts_and_fairlearn_on_toy_data():
    gaps = fairness_gaps(TOY_Y, TOY_PRED, TOY_GROUP)
    hand = {"demographic_parity_difference": 0.25, "equalized_odds_difference": 2 / 3,
            "tpr_difference": 2 / 3, "fpr_difference": 0.0,
            "selection_rate_gap": -0.25, "tpr_gap": -2 / 3, "fpr_gap": 0.0}
    assert set(gaps) == set(hand)
    for name, value in hand.items():
        assert gaps[name] == pytest.approx(value, abs=TOL), name
    flipped = fairness_gaps(TOY_Y, TOY_PRED, TOY_GROUP, reference="B")
    assert flipped["tpr_gap"] == pytest.approx(2 / 3, abs=TOL)
    assert gaps["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(TOY_Y, TOY_PRED, sensitive_features=TOY_GROUP), abs=TOL)


def test_gaps_and_group_rates_equal_fairlearn_on_real_predictions(task, fitted):
    *_, y_pred = fitted
    y, s = task.y_test, task.s_test
    gaps = fairness_gaps(y, y_pred, s)
    frame = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate,
                                 "fpr": false_positive_rate}, y_true=y, y_pred=y_pred, sensitive_features=s)
    assert gaps["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, y_pred, sensitive_features=s), abs=TOL)
    assert gaps["tpr_difference"] == pytest.approx(frame.difference()["tpr"], abs=TOL)
    assert gaps["fpr_difference"] == pytest.approx(frame.difference()["fpr"], abs=TOL)
    # the bootstrap's full-sample estimates come from numpy bincount: they must equal fairlearn's
    boot = bootstrap_gaps(y, y_pred, s, n_resamples=50).set_index("gap")["estimate"]
    assert boot["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, y_pred, sensitive_features=s), abs=TOL)
    assert boot["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, y_pred, sensitive_features=s), abs=TOL)
    black, white = frame.by_group.loc["Black"], frame.by_group.loc["White"]
    assert boot["selection_rate_gap"] == pytest.approx(black["selection_rate"] - white["selection_rate"], abs=TOL)
    rates = bootstrap_group_rates(y, y_pred, s, n_resamples=50).set_index(["group", "metric"])["estimate"]
    for group in ("Black", "White"):
        for metric in ("selection_rate", "tpr", "fpr"):
            assert rates[(group, metric)] == pytest.approx(frame.by_group.loc[group, metric], abs=TOL)


# ---------------------------------------------------------------------------------------- bootstrap


def test_resampling_keeps_every_group_at_its_size():
    cells = np.array([[5, 1, 2, 2], [1, 1, 1, 0]])
    draws = _resampled_cells(cells, 500, seed=3)
    assert draws.shape == (500, 2, 4)
    np.testing.assert_array_equal(draws.sum(-1), np.broadcast_to(cells.sum(-1), (500, 2)))
    assert np.all(draws[:, 1, 3] == 0)                           # a cell that is empty stays empty


def test_bootstrap_matches_a_plain_row_resampling_bootstrap(task, fitted):
    """The multinomial shortcut must give the distribution of resampling rows within groups."""
    *_, y_pred = fitted
    y, s = task.y_test, task.s_test
    n = 3000
    ours = bootstrap_gaps(y, y_pred, s, n_resamples=n, seed=0).set_index("gap")
    rng = np.random.default_rng(123)
    members = [np.flatnonzero(s == g) for g in ("Black", "White")]
    plain = []
    for _ in range(n):
        rows = np.concatenate([rng.choice(m, size=len(m), replace=True) for m in members])
        yb, pb, sb = y[rows], y_pred[rows], s[rows]
        plain.append(pb[sb == "Black"].mean() - pb[sb == "White"].mean())
    plain = np.array(plain)
    # standard error of a bootstrap SD from 3000 draws is ~1.3 %; allow 6 %
    assert ours.loc["selection_rate_gap", "std"] == pytest.approx(plain.std(ddof=1), rel=0.06)
    for q, column in ((0.025, "lower"), (0.975, "upper")):
        assert ours.loc["selection_rate_gap", column] == pytest.approx(np.quantile(plain, q), abs=0.01)


def test_bootstrap_interval_covers_estimate_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    n = 400
    s = np.where(rng.random(n) < 0.4, "A", "B")
    y = (rng.random(n) < 0.3).astype(int)
    pred = ((rng.random(n) < 0.5 + 0.2 * (s == "A")) & (rng.random(n) < 0.6 + 0.3 * y)).astype(int)
    small = bootstrap_gaps(y, pred, s, n_resamples=800, seed=1).set_index("gap")
    large = bootstrap_gaps(np.tile(y, 16), np.tile(pred, 16), np.tile(s, 16), n_resamples=800, seed=1).set_index("gap")
    for table in (small, large):
        assert np.all(table["lower"] <= table["estimate"]) and np.all(table["estimate"] <= table["upper"])
    np.testing.assert_allclose(large["estimate"], small["estimate"], atol=TOL)
    width = lambda t: t["upper"] - t["lower"]  # noqa: E731
    ratio = (width(large) / width(small))["selection_rate_gap"]
    assert 0.15 < ratio < 0.4                                     # 1/sqrt(16) = 0.25
    assert np.all(width(large) < width(small))


def test_bootstrap_is_deterministic_per_seed():
    first = bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=200, seed=5)
    pd.testing.assert_frame_equal(first, bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=200, seed=5))
    other = bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=200, seed=6)
    assert not np.allclose(first["std"], other["std"])


def test_bootstrap_counts_resamples_with_undefined_rates():
    # group B has a single positive: resamples that miss it have no TPR
    table = bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=2000, seed=0).set_index("gap")
    expected = 2000 * (3 / 4) ** 4                                 # P(no positive among 4 draws)
    assert table.loc["tpr_gap", "n_undefined"] == pytest.approx(expected, rel=0.15)
    assert table.loc["selection_rate_gap", "n_undefined"] == 0


# --------------------------------------------------------------------------------------- thresholds


def test_threshold_for_rate_by_hand():
    assert threshold_for_rate([0.9, 0.8, 0.7, 0.6, 0.5], 0.4) == pytest.approx(0.75)
    ties = np.array([0.9, 0.8, 0.8, 0.1])
    threshold = threshold_for_rate(ties, 0.5)                     # the tie at 0.8 is flagged together
    assert threshold == pytest.approx(0.45) and (ties >= threshold).sum() == 3


def test_choose_threshold_on_validation_rules(task, fitted):
    _, p_val, *_ = fitted
    threshold = choose_threshold_on_validation(task.y_val, p_val, "base_rate")
    assert (p_val >= threshold).mean() == pytest.approx(task.y_val.mean(), abs=1.5 / len(p_val))
    assert choose_threshold_on_validation(task.y_val, p_val, "youden") == choose_threshold(task.y_val, p_val, "youden")


def test_threshold_functions_reject_bad_input():
    with pytest.raises(ValueError, match="rule"):
        choose_threshold_on_validation([0, 1], [0.2, 0.8], rule="median")
    with pytest.raises(ValueError, match="p_val"):
        choose_threshold_on_validation([0, 1], [0.2, 1.8])
    with pytest.raises(ValueError, match="p_val has 3"):
        choose_threshold_on_validation([0, 1], [0.2, 0.3, 0.8])
    with pytest.raises(ValueError, match="both labels"):
        choose_threshold_on_validation([1, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="rate"):
        threshold_for_rate([0.2, 0.8], 1.0)
    with pytest.raises(ValueError, match="y_prob"):
        threshold_for_rate([0.2, np.nan], 0.5)


# --------------------------------------------------------------------------------------- mitigation


def test_threshold_optimizer_is_fitted_on_validation_and_equalises_odds_there(task, fitted):
    model, *_ = fitted
    X_val = task.features("val")
    mitigation = mitigate_threshold_optimizer(model, X_val, task.y_val, task.s_val, seed=0)
    optimizer, predict = mitigation
    assert optimizer.prefit and optimizer.predict_method == "predict_proba"
    # expected decisions (the randomisation averaged out): equal TPR and FPR across groups on the
    # data it was fitted on, up to fairlearn's 1000-point threshold grid
    expected = optimizer._pmf_predict(X_val, sensitive_features=task.s_val)[:, 1]
    rates = {}
    for group in ("Black", "White"):
        member = task.s_val == group
        rates[group] = [expected[member & (task.y_val == label)].mean() for label in (1, 0)]
    np.testing.assert_allclose(rates["Black"], rates["White"], atol=0.01)
    # labels, reproducible, using the groups
    X_test = task.features("test")
    first = predict(X_test, task.s_test)
    assert set(np.unique(first)) <= {0, 1} and first.shape == task.y_test.shape
    np.testing.assert_array_equal(first, predict(X_test, task.s_test))


def test_mitigation_rejects_bad_input(task, fitted):
    model, *_ = fitted
    X_val = task.features("val")
    with pytest.raises(ValueError, match="constraint"):
        mitigate_threshold_optimizer(model, X_val, task.y_val, task.s_val, constraint="parity")
    with pytest.raises(TypeError, match="estimator"):
        mitigate_threshold_optimizer(object(), X_val, task.y_val, task.s_val)
    with pytest.raises(ValueError, match="X_val has"):
        mitigate_threshold_optimizer(model, X_val.iloc[:10], task.y_val, task.s_val)
    with pytest.raises(ValueError, match="two groups"):
        mitigate_threshold_optimizer(model, X_val, task.y_val, np.full(len(task.y_val), "White"))
    _, predict = mitigate_threshold_optimizer(model, X_val, task.y_val, task.s_val)
    with pytest.raises(ValueError, match="not seen"):
        predict(X_val.iloc[:3], ["Black", "White", "Green"])
    with pytest.raises(ValueError, match="sensitive has 2"):
        predict(X_val.iloc[:3], ["Black", "White"])


# ----------------------------------------------------------------------------------- bad input, plot


@pytest.mark.parametrize("call", [group_metrics, fairness_gaps, bootstrap_gaps, bootstrap_group_rates])
def test_rates_and_gaps_reject_bad_input(call):
    extra = (None,) if call is group_metrics else ()

    def run(y, pred, s):
        return call(y, pred, *extra, s)

    with pytest.raises(ValueError, match="two groups"):
        run(TOY_Y, TOY_PRED, np.full(10, "A"))
    with pytest.raises(ValueError, match="y_pred"):
        run(TOY_Y, TOY_PRED[:9], TOY_GROUP)
    with pytest.raises(ValueError, match="sensitive has 9"):
        run(TOY_Y, TOY_PRED, TOY_GROUP[:9])
    with pytest.raises(ValueError, match="y_true"):
        run(TOY_Y * 2, TOY_PRED, TOY_GROUP)
    with pytest.raises(ValueError, match="y_pred"):
        run(TOY_Y, TOY_PROB, TOY_GROUP)
    with pytest.raises(TypeError, match="y_true"):
        run("1010", TOY_PRED, TOY_GROUP)
    with pytest.raises(ValueError, match="missing"):
        run(TOY_Y, TOY_PRED, np.array(["A"] * 5 + [None] + ["B"] * 4, dtype=object))


def test_bad_probabilities_bootstrap_settings_and_single_label_groups():
    with pytest.raises(ValueError, match="y_prob"):
        group_metrics(TOY_Y, TOY_PRED, TOY_PROB + 1, TOY_GROUP)
    with pytest.raises(TypeError, match="n_resamples"):
        bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=True)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_gaps(TOY_Y, TOY_PRED, TOY_GROUP, confidence=95)
    with pytest.raises(ValueError, match="reference"):
        fairness_gaps(TOY_Y, TOY_PRED, TOY_GROUP, reference="C")
    with pytest.raises(ValueError, match="group 'B'"):
        fairness_gaps(np.r_[TOY_Y[:6], 0, 0, 0, 0], TOY_PRED, TOY_GROUP)


def test_plot_group_metrics_draws_a_bar_per_model_and_group_with_intervals():
    frames = {"toy": group_metrics(TOY_Y, TOY_PRED, None, TOY_GROUP),
              "flipped": group_metrics(TOY_Y, 1 - TOY_PRED, None, TOY_GROUP).by_group}
    intervals = {"toy": bootstrap_group_rates(TOY_Y, TOY_PRED, TOY_GROUP, n_resamples=100)}
    fig, ax = plt.subplots()
    assert plot_group_metrics(frames, "selection_rate", ax=ax, intervals=intervals) is ax
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([0.5, 0.25, 0.5, 0.75])              # toy A, B; flipped A, B
    assert ax.containers and any(c.has_yerr for c in ax.containers)
    with pytest.raises(ValueError, match="metric"):
        plot_group_metrics(frames, "auc", ax=ax)
    with pytest.raises(TypeError, match="frames"):
        plot_group_metrics({}, "tpr")
    plt.close(fig)
