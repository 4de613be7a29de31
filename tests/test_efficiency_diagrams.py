"""Tests of course_lib.efficiency.diagrams: the schematics draw with their labels, the plots refuse
bad input, and plot_pareto marks exactly the non-dominated points (computed here by brute force)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from course_lib.efficiency.diagrams import (FRONT_LABEL, draw_ddp, draw_distillation, draw_pruning,  # noqa: E402
                                            draw_quantization, plot_pareto, plot_sparsity_curve)


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


@pytest.mark.parametrize("draw, expected", [
    (draw_quantization, ["float32", "int8", "zero point", "scale", "-128", "127"]),
    (draw_pruning, ["dense", "unstructured", "structured", "27 of 36 set to 0"]),
    (draw_distillation, ["teacher", "student", "soft labels", "hard label", "α"]),
    (draw_ddp, ["process 0", "process 1", "all-reduce", "replica"]),
])
def test_schematics_draw_their_labels(ax, draw, expected):
    assert draw(ax) is ax
    text = _texts(ax)
    for word in expected:
        assert word in text
    assert len(ax.patches) > 0
    ax.figure.canvas.draw()  # renders without error


def test_quantization_numbers_follow_the_formula(ax):
    """x_min=-1, x_max=1.55: scale = 2.55/255 = 0.01, zero point = round(-128 + 100) = -28; 0.41 -> 41 - 28 = 13."""
    draw_quantization(ax, x_min=-1.0, x_max=1.55)
    text = _texts(ax)
    assert "zero point = -28" in text and "0.0100" in text and "0.41 → 13" in text


def test_ddp_draws_one_lane_per_process(ax):
    draw_ddp(ax, processes=3)
    assert "process 2" in _texts(ax) and "process 3" not in _texts(ax)


@pytest.mark.parametrize("call, error", [
    (lambda ax: draw_quantization(ax, x_min=1.0, x_max=2.0), ValueError),
    (lambda ax: draw_quantization("axes"), TypeError),
    (lambda ax: draw_pruning(None), TypeError),
    (lambda ax: draw_distillation(ax, temperature=0), ValueError),
    (lambda ax: draw_ddp(ax, processes=1), ValueError),
    (lambda ax: draw_ddp(ax, processes=2.0), ValueError),
])
def test_schematics_reject_bad_input(ax, call, error):
    with pytest.raises(error):
        call(ax)


def _brute_force_front(quality, cost, higher=True):
    q = np.asarray(quality, float) * (1 if higher else -1)
    c = np.asarray(cost, float)
    keep = []
    for i in range(len(q)):
        dominated = any(q[j] >= q[i] and c[j] <= c[i] and (q[j] > q[i] or c[j] < c[i]) for j in range(len(q)))
        keep.append(not dominated)
    return np.array(keep)


def _front_points(ax) -> set[tuple[float, float]]:
    collections = [c for c in ax.collections if c.get_label() == FRONT_LABEL]
    assert len(collections) == 1
    return {tuple(p) for p in np.asarray(collections[0].get_offsets(), float).tolist()}


@pytest.mark.parametrize("higher", [True, False])
def test_plot_pareto_marks_exactly_the_non_dominated_points(ax, higher):
    rng = np.random.default_rng(4)
    table = pd.DataFrame({"name": [f"m{i}" for i in range(12)], "quality": rng.uniform(0.6, 0.95, 12).round(3),
                          "b1_t1_ms": rng.uniform(0.05, 20, 12).round(3)})
    table.loc[3, ["quality", "b1_t1_ms"]] = table.loc[5, ["quality", "b1_t1_ms"]].to_numpy()  # a tie
    assert plot_pareto(table, higher_quality_is_better=higher, ax=ax) is ax
    expected = _brute_force_front(table["quality"], table["b1_t1_ms"], higher)
    assert 1 <= expected.sum() < len(table)
    wanted = {(c, q) for c, q, keep in zip(table["b1_t1_ms"], table["quality"], expected) if keep}
    assert _front_points(ax) == wanted
    assert ax.get_xscale() == "log"
    assert {t.get_text() for t in ax.texts} == set(table["name"])


def test_plot_pareto_hand_checked_case_and_mapping_input():
    # (cost, quality): A (1, .9) and B (2, .95) are on the front; C (3, .9) is beaten by A and B
    fig, ax = plt.subplots()
    plot_pareto({"quality": [0.9, 0.95, 0.9], "latency": [1.0, 2.0, 3.0], "model": ["A", "B", "C"],
                 "quality_std": [0.01, np.nan, 0.02]}, "quality", "latency", label_col="model", ax=ax)
    assert _front_points(ax) == {(1.0, 0.9), (2.0, 0.95)}
    assert {t.get_text() for t in ax.texts} == {"A", "B", "C"}
    plt.close(fig)


def test_plot_pareto_makes_its_own_axes():
    ax = plot_pareto(pd.DataFrame({"quality": [0.5, 0.6], "cost": [1.0, 2.0]}), cost_col="cost", log_cost=False)
    assert isinstance(ax, plt.Axes) and ax.get_xscale() == "linear"
    assert {t.get_text() for t in ax.texts} == {"0", "1"}  # no name column: the index labels the points
    plt.close(ax.figure)


@pytest.mark.parametrize("table, kwargs, error, match", [
    ([1, 2], {}, TypeError, "table"),
    (pd.DataFrame({"quality": [], "b1_t1_ms": []}), {}, ValueError, "empty"),
    (pd.DataFrame({"quality": [0.5], "b1_t1_ms": [1.0]}), dict(cost_col="size_mb"), ValueError, "size_mb"),
    (pd.DataFrame({"quality": [0.5], "b1_t1_ms": [1.0]}), dict(quality_col=3), TypeError, "quality_col"),
    (pd.DataFrame({"quality": [0.5, np.nan], "b1_t1_ms": [1.0, 2.0]}), {}, ValueError, "NaN"),
    (pd.DataFrame({"quality": [0.5, 0.6], "b1_t1_ms": [0.0, 2.0]}), {}, ValueError, "positive"),
    (pd.DataFrame({"quality": [0.5], "b1_t1_ms": [1.0], "quality_std": [-0.1]}), {}, ValueError, "negative"),
    (pd.DataFrame({"quality": [0.5], "b1_t1_ms": [1.0]}), dict(ax="no"), TypeError, "ax"),
])
def test_plot_pareto_rejects_bad_input(table, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_pareto(table, **kwargs)


def test_plot_sparsity_curve_draws_mean_band_and_reference(ax):
    sparsity = [0.9, 0.0, 0.5, 0.75]
    mean = [0.80, 0.95, 0.94, 0.90]
    assert plot_sparsity_curve(sparsity, mean, [0.02, 0.01, 0.01, 0.01], ax=ax, reference=0.95) is ax
    line = ax.lines[0]
    assert line.get_xdata().tolist() == [0.0, 50.0, 75.0, 90.0]  # in percent, sorted
    assert line.get_ydata().tolist() == [0.95, 0.94, 0.90, 0.80]
    assert len(ax.collections) == 1                               # the ± std band
    assert any(tuple(l.get_ydata()) == (0.95, 0.95) for l in ax.lines[1:])  # the reference line
    assert ax.get_ylabel() == "validation AUC"


@pytest.mark.parametrize("args, kwargs, error, match", [
    (([0.0, 0.5], [0.9]), {}, ValueError, "scores_mean"),
    (([0.0, 1.0], [0.9, 0.8]), {}, ValueError, "sparsities"),
    (([-0.1, 0.5], [0.9, 0.8]), {}, ValueError, "sparsities"),
    (([0.0, 0.5], [0.9, np.nan]), {}, ValueError, "scores_mean"),
    (([0.0, 0.5], [0.9, 0.8], [0.1]), {}, ValueError, "scores_std"),
    (([0.0, 0.5], [0.9, 0.8], [0.1, -0.1]), {}, ValueError, "scores_std"),
    (("0.5", [0.9]), {}, TypeError, "sparsities"),
    (([0.0, 0.5], [0.9, 0.8]), dict(reference="high"), ValueError, "reference"),
    (([0.0, 0.5], [0.9, 0.8]), dict(metric=None), TypeError, "metric"),
])
def test_plot_sparsity_curve_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_sparsity_curve(*args, **kwargs)


def test_pareto_labels_of_crowded_points_move_apart_and_lone_ones_stay():
    table = pd.DataFrame({"name": ["a", "b", "c", "far"], "quality": [0.96, 0.9601, 0.9602, 0.90],
                          "b1_t1_ms": [3.0, 3.2, 3.4, 0.3]})
    ax = plot_pareto(table)
    offsets = {text.get_text(): text.xyann[1] for text in ax.texts}
    assert len({offsets["a"], offsets["b"], offsets["c"]}) == 3, offsets
    assert offsets["far"] == offsets["a"], "a point with no neighbour keeps the usual offset"
    plt.close(ax.figure)
