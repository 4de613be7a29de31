"""One plotting style for every figure in the course, and the figures notebooks share.

Every function draws on a given ``ax`` (or makes a new figure) and returns the ``Axes``, so figures
can be combined and tested without a display.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from sklearn import metrics as skm

PALETTE = ["#1f5fa8", "#e07b00", "#2a9d4b", "#c0392b", "#7b4fa0", "#8c6d31", "#d35fb7", "#5f6b73"]
"""Colour-blind-friendly colours, used in this order by every figure."""

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "image.cmap": "viridis",
}


def use_course_style() -> None:
    """Apply the course style to every later matplotlib figure."""
    mpl.rcParams.update(STYLE)


#: Schematic diagrams (the ``diagrams`` modules): colour of what a method changes or what goes wrong.
DIAGRAM_ACCENT = "#c0392b"
#: Schematic diagrams: colour of ordinary boxes.
DIAGRAM_BOX = "#d6e4f0"


def checked_axes(ax: object) -> plt.Axes:
    """``ax`` itself when it is a matplotlib Axes (the diagrams draw on an Axes the caller owns);
    anything else raises ``TypeError`` naming its type."""
    if not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def finish_diagram(ax: plt.Axes, xlim: tuple[float, float], ylim: tuple[float, float],
                   title: str | None) -> plt.Axes:
    """Frame a schematic: fixed limits in drawing units, no axes, an optional title; returns ``ax``."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("auto")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] | None = None) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def plot_learning_curves(history, ax: plt.Axes | None = None, title: str = "Learning curves") -> plt.Axes:
    """Training and validation loss per epoch, with the validation metric on a twin axis.

    ``history`` is a :class:`course_lib.training.History` or a mapping of curve name -> values.
    The restored best epoch of a ``History`` is marked.
    """
    ax = _axes(ax)
    curves = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    if not curves or not all(len(v) for v in curves.values()):
        raise ValueError("history has no epochs to plot")
    loss_curves = {k: v for k, v in curves.items() if "loss" in k}
    other = {k: v for k, v in curves.items() if "loss" not in k}
    for i, (name, values) in enumerate(loss_curves.items()):
        ax.plot(np.arange(1, len(values) + 1), values, label=name, color=PALETTE[i % len(PALETTE)])
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    if other:
        twin = ax.twinx()
        for j, (name, values) in enumerate(other.items()):
            twin.plot(np.arange(1, len(values) + 1), values, label=name, linestyle="--",
                      color=PALETTE[(len(loss_curves) + j) % len(PALETTE)])
        twin.set_ylabel(", ".join(other))
        twin.grid(False)
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    best = getattr(history, "best_epoch", -1)
    if best is not None and best >= 0:
        ax.axvline(best + 1, color="grey", linestyle=":", linewidth=1)
        handles.append(ax.lines[-1])
        labels.append(f"best epoch ({best + 1})")
    ax.legend(handles, labels, loc="best")
    ax.set_title(title)
    return ax


def plot_confusion_matrix(y_true, y_pred, labels: Sequence[str] | None = None, ax: plt.Axes | None = None,
                          normalize: bool = False, title: str = "Confusion matrix") -> plt.Axes:
    """Counts (or row-normalised rates) of true vs predicted class, annotated in each cell."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} values but y_pred has {len(y_pred)}")
    classes = np.unique(np.concatenate([y_true, y_pred]))
    matrix = skm.confusion_matrix(y_true, y_pred, labels=classes).astype(float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    names = list(labels) if labels is not None else [str(c) for c in classes]
    if len(names) != len(classes):
        raise ValueError(f"got {len(names)} labels for {len(classes)} classes")
    ax = _axes(ax, figsize=(3.6, 3.2))
    ax.imshow(matrix, cmap="Blues")
    ax.grid(False)
    for (i, j), value in np.ndenumerate(matrix):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        ax.text(j, i, text, ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax


def plot_roc_curves(scores: Mapping[str, tuple], ax: plt.Axes | None = None,
                    title: str = "ROC curves") -> plt.Axes:
    """ROC curves of several models on one plot: ``{name: (y_true, y_score)}``; AUC in the legend."""
    if not scores:
        raise ValueError("scores must name at least one model")
    ax = _axes(ax, figsize=(4.6, 4.2))
    for i, (name, (y_true, y_score)) in enumerate(scores.items()):
        if len(np.unique(np.asarray(y_true))) != 2:
            raise ValueError(f"{name}: y_true must contain both classes to draw a ROC curve")
        if len(y_true) != len(y_score):
            raise ValueError(f"{name}: y_true has {len(y_true)} values but y_score has {len(y_score)}")
        fpr, tpr, _ = skm.roc_curve(y_true, y_score)
        auc = skm.roc_auc_score(y_true, y_score)
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})", color=PALETTE[i % len(PALETTE)])
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    return finish_unit_square(ax, xlabel="false positive rate", ylabel="true positive rate", title=title,
                              legend_loc="lower right")


def finish_unit_square(ax: plt.Axes, *, xlabel: str, ylabel: str, title: str, legend_loc: str) -> plt.Axes:
    """Axes of two rates (ROC curve, reliability diagram): both from 0 to 1 at the same scale,
    labelled, with a legend and a title; returns ``ax``."""
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc=legend_loc, fontsize=8)
    ax.set_title(title)
    return ax


def plot_comparison(comparison, metric: str, ax: plt.Axes | None = None, title: str | None = None,
                    higher_is_better: bool = True) -> plt.Axes:
    """A metric's mean per model (diamond) with ± std error bars and each seed as a small dot.

    No bars: the x-axis is zoomed to the data, and bars starting at a cut-off axis would make small
    gaps look large.

    ``comparison`` is a :class:`course_lib.evaluation.SeedComparison`.
    """
    if not all(hasattr(comparison, a) for a in ("metrics", "summary", "runs")):
        raise TypeError("comparison must be a SeedComparison (from compare_over_seeds), "
                        f"got {type(comparison).__name__}")
    if metric not in comparison.metrics:
        raise ValueError(f"unknown metric {metric!r}; have {comparison.metrics}")
    summary = comparison.summary
    ax = _axes(ax, figsize=(6.0, 0.5 + 0.5 * len(summary)))
    positions = np.arange(len(summary))[::-1]
    for i, (pos, (_, row)) in enumerate(zip(positions, summary.iterrows())):
        colour = PALETTE[i % len(PALETTE)]
        ax.errorbar(row[f"{metric}_mean"], pos, xerr=row[f"{metric}_std"], fmt="D", color=colour,
                    capsize=4, markersize=7, zorder=3)
        values = comparison.runs.loc[comparison.runs["model"] == row["model"], metric]
        ax.scatter(values, np.full(len(values), pos - 0.18), color=colour, s=10, alpha=0.6, zorder=2)
    ax.set_yticks(positions, summary["model"])
    low = (summary[f"{metric}_mean"] - 2 * summary[f"{metric}_std"]).min()
    high = (summary[f"{metric}_mean"] + 2 * summary[f"{metric}_std"]).max()
    margin = max((high - low) * 0.15, 1e-3)
    ax.set_xlim(low - margin, high + margin)
    direction = "higher" if higher_is_better else "lower"
    ax.set_xlabel(f"{metric} (mean ± std over seeds; {direction} is better)")
    ax.set_title(title or f"{metric} by model")
    return ax


def plot_mlp(layer_sizes: Sequence[int], ax: plt.Axes | None = None, *, hidden_activation: str = "ReLU",
             output_activation: str = "sigmoid", max_drawn: int = 7,
             title: str = "A multilayer perceptron") -> plt.Axes:
    """Draw the architecture of a fully connected network (notebook 01's figure).

    One column of neurons per layer (at most ``max_drawn`` drawn per layer, the rest stand behind a
    "⋮"), every drawn weight as a line, and labels: each layer's role and size (``"input: 30
    features"``, ``"hidden 1: 16 ReLU"``, ``"output: 1 logit → sigmoid"``) and each weight matrix with
    its shape between the columns (``"W1, b1 (30 × 16)"``).

    Args:
        layer_sizes: neurons per layer, input first, e.g. ``[30, 16, 1]``; at least two positive ints.
        ax: draw here (default: a new figure).
        hidden_activation, output_activation: names written on the hidden and output layers.
        max_drawn: neurons drawn per column, at least 3.
        title: the axes title.

    Returns:
        The Axes (its texts are the labels above; tests read them).
    """
    sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else []
    if len(sizes) < 2 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
                                 for n in sizes):
        raise ValueError(f"layer_sizes must list at least two positive ints (input first), got {layer_sizes!r}")
    if not isinstance(max_drawn, int) or max_drawn < 3:
        raise ValueError(f"max_drawn must be an int of at least 3, got {max_drawn!r}")
    ax = _axes(ax, figsize=(2.6 * len(sizes) + 1.0, 4.2))
    columns = []  # per layer: the y positions of the drawn neurons, and where the "⋮" stands (or None)
    for n in sizes:
        slots = min(int(n), max_drawn)
        ys = list(np.linspace(1.0, -1.0, slots)) if slots > 1 else [0.0]
        # more neurons than slots: the second-to-last slot holds a "⋮" for the ones not drawn
        columns.append((ys[:-2] + ys[-1:], ys[-2]) if slots < n else (ys, None))
    for x, ((ys, _), (next_ys, _)) in enumerate(zip(columns, columns[1:])):
        for y0 in ys:
            for y1 in next_ys:
                ax.plot([x, x + 1], [y0, y1], color="0.75", linewidth=0.6, zorder=1)
        rows, cols = sizes[x], sizes[x + 1]
        ax.text(x + 0.5, 1.32, f"W{x + 1}, b{x + 1}\n({rows} × {cols})", ha="center", va="bottom", fontsize=9)
    for x, ((ys, gap), n) in enumerate(zip(columns, sizes)):
        colour = PALETTE[0] if x == 0 else PALETTE[2] if x == len(sizes) - 1 else PALETTE[1]
        ax.scatter([x] * len(ys), ys, s=260, color=colour, edgecolor="black", linewidth=0.8, zorder=3)
        if gap is not None:
            ax.text(x, gap, "⋮", ha="center", va="center", fontsize=16, zorder=4)
        if x == 0:
            label = f"input:\n{n} features"
        elif x == len(sizes) - 1:
            label = f"output:\n{n} logit → {output_activation}" if n == 1 else f"output:\n{n} units → {output_activation}"
        else:
            label = f"hidden {x}:\n{n} {hidden_activation}"
        ax.text(x, -1.35, label, ha="center", va="top", fontsize=10)
    ax.set_xlim(-0.6, len(sizes) - 0.4)
    ax.set_ylim(-1.9, 1.8)
    ax.axis("off")
    ax.set_title(title)
    return ax
