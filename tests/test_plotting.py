"""The course's figures: each returns an Axes with the expected artists, and rejects bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib.evaluation import compare_over_seeds  # noqa: E402
from course_lib.plotting import (  # noqa: E402
    PALETTE,
    plot_comparison,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_roc_curves,
    use_course_style,
)
from course_lib.training import History  # noqa: E402


@pytest.fixture(autouse=True)
def clean_figures():
    with matplotlib.rc_context():  # use_course_style() changes global settings: undo them
        yield
    plt.close("all")


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def history() -> History:
    return History(train_loss=[1.0, 0.6, 0.5, 0.45], val_loss=[1.1, 0.7, 0.65, 0.7],
                   val_metric=[0.6, 0.8, 0.85, 0.83], metric_name="auc", best_epoch=2, best_metric=0.85)


def test_palette_and_style():
    assert len(PALETTE) == 8 and len(set(PALETTE)) == 8
    assert all(mcolors.is_color_like(c) for c in PALETTE)
    use_course_style()
    assert [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]] == PALETTE
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["axes.grid"] is True


def test_learning_curves_of_a_history():
    ax = plot_learning_curves(history())
    assert isinstance(ax, plt.Axes)
    loss_lines = [line for line in ax.get_lines() if line.get_label() in ("train_loss", "val_loss")]
    assert len(loss_lines) == 2
    np.testing.assert_array_equal(loss_lines[0].get_xdata(), [1, 2, 3, 4])  # epochs count from 1
    np.testing.assert_array_equal(loss_lines[1].get_ydata(), [1.1, 0.7, 0.65, 0.7])  # exact: plotted as given
    best = [line for line in ax.get_lines() if line not in loss_lines]
    assert len(best) == 1 and list(best[0].get_xdata()) == [3, 3]  # the best epoch, 1-based
    twins = [other for other in ax.figure.axes if other is not ax]
    assert len(twins) == 1 and len(twins[0].get_lines()) == 1
    np.testing.assert_array_equal(twins[0].get_lines()[0].get_ydata(), [0.6, 0.8, 0.85, 0.83])
    assert legend_texts(ax) == ["train_loss", "val_loss", "val_auc", "best epoch (3)"]
    assert ax.get_xlabel() == "epoch" and ax.get_title() == "Learning curves"


def test_learning_curves_of_a_plain_mapping_on_given_axes():
    fig, ax = plt.subplots()
    returned = plot_learning_curves({"train_loss": [3, 2, 1]}, ax=ax, title="t")
    assert returned is ax
    assert len(ax.get_lines()) == 1 and len(fig.axes) == 1  # no metric: no twin axis, no best marker
    assert legend_texts(ax) == ["train_loss"]


@pytest.mark.parametrize("bad, error, message", [
    ({}, ValueError, "history has no epochs to plot"),
    ({"train_loss": []}, ValueError, "history has no epochs to plot"),
    (History(), ValueError, "history has no epochs to plot"),
])
def test_learning_curves_reject_empty_histories(bad, error, message):
    with pytest.raises(error, match=message):
        plot_learning_curves(bad)


def test_axes_argument_must_be_axes():
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        plot_learning_curves(history(), ax=plt.figure())
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got str"):
        plot_confusion_matrix([0, 1], [0, 1], ax="left")


def test_confusion_matrix_counts():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 1, 0]
    ax = plot_confusion_matrix(y_true, y_pred, labels=["a", "b", "c"])
    matrix = ax.get_images()[0].get_array()
    np.testing.assert_array_equal(matrix, [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "0", "2", "0", "1", "0", "0"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")


def test_confusion_matrix_normalised_rows():
    ax = plot_confusion_matrix([0, 0, 0, 1], [0, 1, 1, 1], normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.33", "0.67", "0.00", "1.00"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]


@pytest.mark.parametrize("args, kwargs, message", [
    (([0, 1, 1], [0, 1]), {}, "y_true has 3 values but y_pred has 2"),
    (([0, 1, 2], [0, 1, 1]), {"labels": ["no", "yes"]}, "got 2 labels for 3 classes"),
])
def test_confusion_matrix_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(*args, **kwargs)


def test_roc_curves_with_auc_in_legend():
    y_true = [0, 0, 1, 1, 1, 0]
    ax = plot_roc_curves({"good": (y_true, [0.1, 0.6, 0.7, 0.4, 0.9, 0.2]),
                          "perfect": (y_true, [0.1, 0.2, 0.8, 0.9, 0.7, 0.3])})
    assert len(ax.get_lines()) == 3  # two models and the chance diagonal
    assert legend_texts(ax) == ["good (AUC 0.889)", "perfect (AUC 1.000)", "chance"]
    perfect = ax.get_lines()[1]
    # reaches the top-left corner; exact: sklearn's rates there are 0/3 and 3/3
    assert (0.0, 1.0) in set(zip(perfect.get_xdata(), perfect.get_ydata()))


@pytest.mark.parametrize("scores, message", [
    ({}, "scores must name at least one model"),
    ({"m": ([0, 1, 1], [0.2, 0.5])}, "y_true has 3 values but y_score has 2"),
    ({"m": ([1, 1, 1], [0.2, 0.5, 0.9])}, "must contain both classes"),
])
def test_roc_curves_reject_bad_input(scores, message):
    with pytest.raises(ValueError, match=message):
        plot_roc_curves(scores)


@pytest.fixture
def comparison():
    return compare_over_seeds({"MLP": lambda s: {"auc": 0.80 + 0.02 * s, "seconds": 1.0},
                               "forest": lambda s: {"auc": 0.90 - 0.01 * s, "seconds": 1.0},
                               "logreg": lambda s: {"auc": 0.85, "seconds": 1.0}}, seeds=[0, 1, 2])


def test_comparison_means_spread_and_seeds(comparison):
    ax = plot_comparison(comparison, "auc", higher_is_better=True)
    # one error bar per model, top to bottom in the caller's order: the mean and ± sample std
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3
    means = [float(bar.lines[0].get_xdata()[0]) for bar in bars]
    # float64 means and stds of 3 values: off the decimal literals by ~1e-16, far inside approx's
    # default rel 1e-6; a wrong bar is off by >= 0.01
    assert means == pytest.approx([0.82, 0.89, 0.85])
    spans = [bar.lines[2][0].get_segments()[0][:, 0] for bar in bars]
    assert [tuple(span) for span in spans] == [pytest.approx((0.80, 0.84)), pytest.approx((0.88, 0.90)),
                                               pytest.approx((0.85, 0.85))]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 3
    # one dot per seed; rounding to 6 decimals removes the ~1e-16 error of 0.80 + 0.02 * s (IEEE, any CPU)
    assert sorted(np.round(dots[0].get_offsets()[:, 0], 6)) == [0.80, 0.82, 0.84]
    rows = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks()))
    assert rows == {"MLP": 2, "forest": 1, "logreg": 0}  # first model on top
    assert [float(bar.lines[0].get_ydata()[0]) for bar in bars] == [2, 1, 0]
    assert ax.get_xlabel() == "auc (mean ± std over seeds; higher is better)"
    assert ax.get_title() == "auc by model"
    low, high = ax.get_xlim()
    assert low < 0.80 and high > 0.90  # every seed is visible


def test_comparison_lower_is_better_label(comparison):
    ax = plot_comparison(comparison, "auc", higher_is_better=False, title="RMSE")
    assert "lower is better" in ax.get_xlabel() and ax.get_title() == "RMSE"


def test_comparison_rejects_bad_input(comparison):
    with pytest.raises(ValueError, match=r"unknown metric 'rmse'; have \['auc'\]"):
        plot_comparison(comparison, "rmse")
    with pytest.raises(TypeError, match="comparison must be a SeedComparison"):
        plot_comparison(comparison.summary, "auc")


# ------------------------------------------------------------------ the MLP architecture figure (notebook 01)
def test_plot_mlp_labels_every_layer_and_weight_matrix():
    from course_lib.plotting import plot_mlp

    ax = plot_mlp([30, 16, 1])
    texts = [text.get_text() for text in ax.texts]
    for label in ("input:\n30 features", "hidden 1:\n16 ReLU", "output:\n1 logit → sigmoid",
                  "W1, b1\n(30 × 16)", "W2, b2\n(16 × 1)"):
        assert label in texts, f"missing label {label!r} in {texts}"
    # 30 and 16 neurons are more than the 7 slots: 6 drawn and a "⋮" each; the single output is drawn
    assert texts.count("⋮") == 2
    drawn = sum(len(collection.get_offsets()) for collection in ax.collections)
    assert drawn == 6 + 6 + 1 and len(ax.lines) == 6 * 6 + 6 * 1  # every weight between drawn neurons is a line
    assert isinstance(ax.figure, plt.Figure)


def test_plot_mlp_deeper_networks_and_bad_input():
    from course_lib.plotting import plot_mlp

    ax = plot_mlp([4, 3, 3, 2], hidden_activation="tanh", output_activation="softmax")
    texts = [text.get_text() for text in ax.texts]
    assert "hidden 2:\n3 tanh" in texts and "output:\n2 units → softmax" in texts and "⋮" not in texts
    for bad in ([30], [30, 0], [30, 2.5], "30,1", [True, 1]):
        with pytest.raises(ValueError, match="layer_sizes"):
            plot_mlp(bad)
    with pytest.raises(ValueError, match="max_drawn"):
        plot_mlp([3, 1], max_drawn=2)


def test_checked_axes_returns_an_axes_and_names_anything_else():
    from course_lib.plotting import checked_axes

    fig, ax = plt.subplots()
    assert checked_axes(ax) is ax
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got Figure"):
        checked_axes(fig)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got NoneType"):
        checked_axes(None)
    plt.close(fig)
