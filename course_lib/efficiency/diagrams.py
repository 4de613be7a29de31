"""Figures of notebook 08: four schematic drawings and two plots of measured results (matplotlib only).

Schematics (each draws on a given Axes, turns its frame off and returns it):

- :func:`draw_quantization`: a float range mapped onto the 256 steps of int8 by a scale and a zero point;
- :func:`draw_pruning`: a dense weight matrix, the same matrix with scattered zeros (unstructured
  pruning: same shape) and a smaller matrix with whole channels removed (structured pruning);
- :func:`draw_distillation`: teacher -> soft labels at temperature T -> student, next to the hard label;
- :func:`draw_ddp`: two processes, each with a full replica and half of the global batch, whose gradients
  are averaged by an all-reduce before the identical updates.

Plots of results (each returns the Axes; a new figure when ``ax`` is None):

- :func:`plot_pareto`: quality against cost (log scale) for the models of a cost table, each point
  labelled, the non-dominated points (the Pareto front) marked and joined;
- :func:`plot_sparsity_curve`: a score (mean ± std over seeds) against the fraction of pruned weights.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from course_lib.arrays import as_vector
from course_lib.efficiency.measure import pareto_front
from course_lib.plotting import DIAGRAM_ACCENT, DIAGRAM_BOX, _axes
from course_lib.plotting import checked_axes as _checked_axes
from course_lib.plotting import finish_diagram as _finish

#: Colour of what the technique changes (int8 grid, zeros, soft labels, all-reduce) and of the Pareto front.
ACCENT = DIAGRAM_ACCENT
#: Colour of ordinary boxes.
BOX = DIAGRAM_BOX

#: Label of the scatter collection that holds the Pareto front in :func:`plot_pareto`.
FRONT_LABEL = "Pareto front (no model is better and cheaper)"


def _box(ax: plt.Axes, x: float, y: float, width: float, height: float, text: str, *, colour: str = BOX,
         fontsize: float = 8.5, text_colour: str = "black") -> tuple[float, float, float, float]:
    """A rounded box with centred text; returns (x, y, width, height)."""
    ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="0.3", linewidth=1.0))
    ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=fontsize, color=text_colour)
    return x, y, width, height


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], *, colour: str = "0.35",
           text: str | None = None, style: str = "-|>", text_offset: tuple[float, float] = (0.0, 0.12)) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, color=colour, linewidth=1.2))
    if text:
        ax.text((start[0] + end[0]) / 2 + text_offset[0], (start[1] + end[1]) / 2 + text_offset[1], text,
                ha="center", va="bottom", fontsize=7.5, color=colour)


def draw_quantization(ax: plt.Axes, *, x_min: float = -1.5, x_max: float = 2.5,
                      title: str | None = "Affine int8 quantization: q = round(x / scale) + zero point") -> plt.Axes:
    """A float range ``[x_min, x_max]`` (top line) mapped onto the int8 grid -128..127 (bottom line).

    Shows the step ``scale = (x_max - x_min) / 255``, the ``zero point`` (the integer that stands for
    0.0, so that zero is exact), and a few float values rounded to their nearest grid step.
    """
    ax = _checked_axes(ax)
    if not (np.isfinite(x_min) and np.isfinite(x_max)) or not x_min < 0 < x_max:
        raise ValueError(f"need x_min < 0 < x_max (finite), got x_min={x_min}, x_max={x_max}")
    scale = (x_max - x_min) / 255
    zero_point = int(round(-128 - x_min / scale))

    def position(value: float) -> float:  # float value -> x position in the drawing, 0..10
        return 10 * (value - x_min) / (x_max - x_min)

    top, bottom = 2.2, 0.6
    ax.plot([0, 10], [top, top], color="0.2", lw=1.5)
    ax.plot([0, 10], [bottom, bottom], color=ACCENT, lw=1.5)
    for q in range(-128, 128, 8):                     # every 8th int8 step, to keep the grid readable
        x = position((q - zero_point) * scale)
        ax.plot([x, x], [bottom - 0.08, bottom + 0.08], color=ACCENT, lw=0.8)
    for value, text in ((x_min, f"x_min = {x_min:g}"), (0.0, "0.0"), (x_max, f"x_max = {x_max:g}")):
        ax.plot([position(value)] * 2, [top - 0.1, top + 0.1], color="0.2", lw=1.2)
        ax.text(position(value), top + 0.18, text, ha="center", va="bottom", fontsize=8)
    for q, text in ((-128, "-128"), (zero_point, f"zero point = {zero_point}"), (127, "127")):
        x = position((q - zero_point) * scale)
        ax.plot([x, x], [bottom - 0.15, bottom + 0.15], color=ACCENT, lw=1.6)
        ax.text(x, bottom - 0.25, text, ha="center", va="top", fontsize=8, color=ACCENT)
    for value in (-0.93, 0.41, 1.77):                 # example values and where they land
        q = int(np.clip(round(value / scale) + zero_point, -128, 127))
        _arrow(ax, (position(value), top - 0.05), (position((q - zero_point) * scale), bottom + 0.1),
               colour="0.45")
        ax.text(position(value) + 0.08, top - 0.45, f"{value:g} → {q}", fontsize=7.5, color="0.3")
    ax.text(-0.2, top, "float32", ha="right", va="center", fontsize=9, fontweight="bold")
    ax.text(-0.2, bottom, "int8", ha="right", va="center", fontsize=9, fontweight="bold", color=ACCENT)
    ax.text(5, -0.45, f"scale = (x_max − x_min) / 255 = {scale:.4f}: one int8 step; "
            "dequantized x̂ = scale · (q − zero point), error ≤ scale / 2", ha="center", va="top", fontsize=8)
    return _finish(ax, (-1.6, 10.6), (-0.9, 2.9), title)


def draw_pruning(ax: plt.Axes, *, seed: int = 0,
                 title: str | None = "Pruning: zeros in place (unstructured) vs channels removed (structured)"
                 ) -> plt.Axes:
    """Three weight matrices (rows = output channels): dense; 75 % of the smallest weights set to zero
    (same shape, so a dense kernel does the same work); and half of the channels removed (a smaller
    dense matrix: really fewer multiplications)."""
    ax = _checked_axes(ax)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(6, 6))
    keep = np.abs(weights) >= np.quantile(np.abs(weights), 0.75)
    channel_norms = np.abs(weights).sum(axis=1)
    kept_rows = np.sort(np.argsort(channel_norms)[-3:])
    cmap = plt.get_cmap("Blues")
    strength = 0.25 + 0.65 * np.abs(weights) / np.abs(weights).max()

    def grid(x0: float, matrix_mask: np.ndarray, rows: np.ndarray, label: str, note: str) -> None:
        for r_out, r in enumerate(rows):
            for c in range(weights.shape[1]):
                zero = not matrix_mask[r, c]
                ax.add_patch(Rectangle((x0 + c * 0.5, 3.0 - r_out * 0.5), 0.5, 0.5, edgecolor="white", lw=1,
                                       facecolor="white" if zero else cmap(strength[r, c])))
                if zero:  # the hatch takes the edge colour
                    ax.add_patch(Rectangle((x0 + c * 0.5, 3.0 - r_out * 0.5), 0.5, 0.5, fill=False,
                                           edgecolor=ACCENT, lw=0.6, hatch="///"))
        ax.text(x0 + 1.5, 3.75, label, ha="center", va="bottom", fontsize=9, fontweight="bold")
        ax.text(x0 + 1.5, 3.0 - len(rows) * 0.5 + 0.35, note, ha="center", va="top", fontsize=7.5, color="0.3")

    all_rows = np.arange(weights.shape[0])
    grid(0.0, np.ones_like(keep), all_rows, "dense", "6 × 6 weights\n36 multiplications")
    grid(4.2, keep, all_rows, "unstructured", f"{int((~keep).sum())} of 36 set to 0 (hatched)\nsame shape: "
         "as slow as dense\nunless a sparse kernel is used")
    grid(8.4, np.ones_like(keep), kept_rows, "structured", "3 weakest output channels\nremoved: 3 × 6 matrix, "
         "18 multiplications\n(next layer loses 3 inputs)")
    _arrow(ax, (3.15, 1.9), (4.05, 1.9), text="zero the\nsmallest |w|")
    _arrow(ax, (7.35, 1.9), (8.25, 1.9), text="drop whole\nchannels", colour=ACCENT)
    return _finish(ax, (-0.3, 11.7), (-0.6, 4.3), title)


def draw_distillation(ax: plt.Axes, *, temperature: float = 4.0,
                      title: str | None = "Knowledge distillation: the student learns from the teacher's soft labels"
                      ) -> plt.Axes:
    """Teacher -> logits -> softmax at temperature ``T`` (soft labels) -> loss of the student, next to
    the usual loss against the hard label; ``alpha`` weighs the two terms."""
    ax = _checked_axes(ax)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    _box(ax, 0.0, 2.6, 1.4, 0.8, "image x")
    _box(ax, 2.2, 3.3, 2.0, 0.9, "teacher\n(large, trained, frozen)")
    _box(ax, 2.2, 1.0, 2.0, 0.9, "student\n(small, being trained)", colour="#f6dcd8")
    _arrow(ax, (1.4, 3.1), (2.2, 3.7))
    _arrow(ax, (1.4, 2.9), (2.2, 1.5))

    logits = np.array([2.5, 0.8, -0.6])
    soft = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
    hard = np.exp(logits) / np.exp(logits).sum()
    x0, width = 5.0, 0.35
    for i, (p_soft, p_hard) in enumerate(zip(soft, hard)):
        ax.add_patch(Rectangle((x0 + i * 0.5, 3.3), width, 1.2 * p_hard, facecolor="0.6"))
        ax.add_patch(Rectangle((x0 + 1.9 + i * 0.5, 3.3), width, 1.2 * p_soft, facecolor=ACCENT))
    ax.text(x0 + 0.6, 3.2, "softmax(t)", ha="center", va="top", fontsize=7.5)
    ax.text(x0 + 2.5, 3.2, f"soft labels\nsoftmax(t / T), T = {temperature:g}", ha="center", va="top",
            fontsize=7.5, color=ACCENT)
    _arrow(ax, (4.2, 3.75), (4.9, 3.75), text="logits t")
    _arrow(ax, (6.45, 3.75), (6.8, 3.75), colour=ACCENT)

    _box(ax, 9.0, 2.2, 2.4, 0.9, "soft loss: T² · KL(teacher ‖ student)\nat temperature T", colour="#f6dcd8",
         fontsize=7.5)
    _box(ax, 9.0, 0.4, 2.4, 0.9, "hard loss: cross-entropy\nwith the true label y", fontsize=7.5)
    _arrow(ax, (7.9, 3.3), (9.0, 2.8), colour=ACCENT)
    _arrow(ax, (4.2, 1.55), (9.0, 2.45), text="student logits s", text_offset=(0.0, 0.1))
    _arrow(ax, (4.2, 1.3), (9.0, 0.85))
    ax.text(6.4, 0.2, "hard label y (0 or 1)", ha="center", va="top", fontsize=7.5)
    _arrow(ax, (6.4, 0.25), (9.0, 0.7), style="-|>")
    ax.text(10.2, -0.15, "loss = α · soft + (1 − α) · hard", ha="center", va="top", fontsize=8.5,
            fontweight="bold")
    return _finish(ax, (-0.2, 11.6), (-0.7, 4.9), title)


def draw_ddp(ax: plt.Axes, *, processes: int = 2,
             title: str | None = "Data-parallel training (DDP): one replica per process, gradients averaged"
             ) -> plt.Axes:
    """``processes`` processes (2 to 4), each holding a full replica of the model and its share of
    the global batch; their gradients ``g_r`` are averaged by an all-reduce, so every replica takes
    the same step ``w ← w − lr · mean(g_r)``."""
    ax = _checked_axes(ax)
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or not 2 <= processes <= 4:
        raise ValueError(f"processes must be an int from 2 to 4, got {processes!r}")
    height = 1.25
    _box(ax, 0.0, 0.5 + (processes - 1) * height / 2, 1.8, 1.0,
         f"global batch\n(B samples)\nsame order\neverywhere", fontsize=7.5)
    centres = []
    for r in range(processes):
        y = (processes - 1 - r) * height + 0.5
        _box(ax, 2.7, y, 1.5, 0.8, f"rows {r}·B/{processes}\nto {r + 1}·B/{processes}", fontsize=7.5)
        _box(ax, 4.8, y - 0.05, 2.2, 0.9, f"process {r}\nreplica of the model\nforward + backward",
             fontsize=7.5)
        _arrow(ax, (1.8, 1.0 + (processes - 1) * height / 2), (2.7, y + 0.4))
        _arrow(ax, (4.2, y + 0.4), (4.8, y + 0.4))
        centres.append(y + 0.4)
    top, bottom = max(centres) + 0.55, min(centres) - 0.55
    ax.add_patch(FancyBboxPatch((7.7, bottom), 1.6, top - bottom, boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor="#f6dcd8", edgecolor=ACCENT, linewidth=1.4))
    ax.text(8.5, (top + bottom) / 2, "all-reduce\naverage of\nthe gradients\nḡ = mean(g_r)", ha="center",
            va="center", fontsize=8, color=ACCENT)
    for r, y in enumerate(centres):
        _arrow(ax, (7.0, y), (7.7, y), colour=ACCENT, text=f"g_{r}", text_offset=(0.0, 0.03))
        _box(ax, 10.0, y - 0.35, 1.8, 0.7, "w ← w − lr · ḡ\n(same step)", fontsize=7.5)
        _arrow(ax, (9.3, y), (10.0, y), colour=ACCENT)
    ax.text(5.9, -0.35, "gloo (CPU) or nccl (GPU) sends the gradients; equal to one process on the whole "
            "batch when each sample's loss depends on that sample only", ha="center", va="top", fontsize=7.5,
            color="0.3")
    return _finish(ax, (-0.2, 12.0), (-0.9, processes * height + 0.6), title)


def _column(table: pd.DataFrame, column: str, name: str) -> pd.Series:
    if not isinstance(column, str):
        raise TypeError(f"{name} must be a column name (str), got {type(column).__name__}")
    if column not in table.columns:
        raise ValueError(f"{name} {column!r} is not a column of the table; columns: {list(table.columns)}")
    return table[column]


def _crowding(cost: np.ndarray, quality: np.ndarray, log_cost: bool) -> list[int]:
    """For each point, how many points before it sit close enough that their labels would overlap
    (within 4 % of the quality range and 35 % of the cost range: labels run to the right): its label moves down one line each."""
    x = np.log10(cost) if log_cost else cost
    x_span = max(float(np.ptp(x)), 1e-12)
    y_span = max(float(np.ptp(quality)), 1e-12)
    return [int(np.sum((np.abs(quality[:i] - quality[i]) < 0.04 * y_span)
                       & (np.abs(x[:i] - x[i]) < 0.35 * x_span))) for i in range(len(x))]


def plot_pareto(table, quality_col: str = "quality", cost_col: str = "b1_t1_ms", *, label_col: str | None = "name",
                std_col: str | None = "quality_std", higher_quality_is_better: bool = True, log_cost: bool = True,
                ax: plt.Axes | None = None, title: str | None = None, quality_label: str | None = None,
                cost_label: str | None = None) -> plt.Axes:
    """Quality (y) against cost (x, log scale by default), one labelled point per row of ``table``.

    The non-dominated rows (:func:`~course_lib.efficiency.measure.pareto_front`: no other row has at
    least the quality at no more cost, one of them strictly better) are drawn in red, joined by a
    step line, in a scatter collection labelled :data:`FRONT_LABEL`; the others are grey.

    Args:
        table: a DataFrame (e.g. :func:`~course_lib.efficiency.measure.cost_table` of one family) or a
            mapping column name -> sequence.
        quality_col, cost_col: the columns to plot; costs must be positive with ``log_cost``.
        label_col: the column with the point labels (``None`` or missing: the table's index).
        std_col: a column of quality standard deviations drawn as error bars (skipped if missing; NaN
            entries get no bar).
        higher_quality_is_better: False for a loss or an error (lower is better).
    """
    if isinstance(table, Mapping):
        table = pd.DataFrame(dict(table))
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame or a mapping of columns, got {type(table).__name__}")
    if len(table) == 0:
        raise ValueError("table is empty")
    quality = as_vector(_column(table, quality_col, "quality_col").to_numpy(dtype=float), quality_col)
    cost = as_vector(_column(table, cost_col, "cost_col").to_numpy(dtype=float), cost_col)
    for name, values in ((quality_col, quality), (cost_col, cost)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"column {name!r} holds NaN or infinity")
    if log_cost and np.any(cost <= 0):
        raise ValueError(f"column {cost_col!r} must be positive for a log scale (or pass log_cost=False)")
    if label_col is not None and label_col in table.columns:
        labels = [str(v) for v in table[label_col]]
    else:
        labels = [str(v) for v in table.index]
    std = None
    if std_col is not None and std_col in table.columns:
        std = table[std_col].to_numpy(dtype=float)
        if np.any(std[np.isfinite(std)] < 0):
            raise ValueError(f"column {std_col!r} holds negative standard deviations")
    front = pareto_front(quality, cost, higher_quality_is_better=higher_quality_is_better)

    ax = _axes(ax, figsize=(7, 4.5))
    if std is not None and np.any(np.isfinite(std)):
        ok = np.isfinite(std)
        ax.errorbar(cost[ok], quality[ok], yerr=std[ok], fmt="none", ecolor="0.6", elinewidth=1, capsize=2)
    ax.scatter(cost[~front], quality[~front], color="0.55", s=30, zorder=3, label="dominated")
    ax.scatter(cost[front], quality[front], color=ACCENT, s=45, zorder=4, label=FRONT_LABEL)
    order = np.argsort(cost[front], kind="stable")
    ax.step(cost[front][order], quality[front][order], where="post", color=ACCENT, lw=1, alpha=0.7, zorder=2)
    for (x, y, text), below in zip(zip(cost, quality, labels), _crowding(cost, quality, log_cost)):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4 - 9 * below), fontsize=7.5)
    if log_cost:
        ax.set_xscale("log")
        # ticks at 1, 2 and 5 per decade, written as plain numbers: over less than a decade
        # matplotlib's default labels the minor ticks in scientific notation, and they collide
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    better = "higher is better" if higher_quality_is_better else "lower is better"
    ax.set_xlabel(cost_label or (f"{cost_col} (log scale)" if log_cost else cost_col))
    ax.set_ylabel(quality_label or f"{quality_col} ({better})")
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title)
    return ax


def plot_sparsity_curve(sparsities, scores_mean, scores_std=None, ax: plt.Axes | None = None, *,
                        metric: str = "validation AUC", reference: float | None = None,
                        title: str | None = "Magnitude pruning: quality against sparsity") -> plt.Axes:
    """A score against the fraction of weights set to zero, mean ± std over seeds as a band.

    Args:
        sparsities: fractions of pruned weights in [0, 1), e.g. ``[0, 0.5, 0.75, 0.9, 0.95]`` (shown in %).
        scores_mean: the mean score at each sparsity.
        scores_std: its standard deviation over seeds (same length, >= 0), or None for no band.
        metric: the y-axis label.
        reference: a score to draw as a dashed line (e.g. the dense model's).
    """
    x = as_vector(sparsities, "sparsities").astype(float)
    mean = as_vector(scores_mean, "scores_mean").astype(float)
    if mean.shape != x.shape:
        raise ValueError(f"scores_mean has {mean.size} values for {x.size} sparsities")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x >= 1):
        raise ValueError(f"sparsities must be fractions in [0, 1), got {x.tolist()}")
    if not np.all(np.isfinite(mean)):
        raise ValueError("scores_mean holds NaN or infinity")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str, got {type(metric).__name__}")
    order = np.argsort(x, kind="stable")
    ax = _axes(ax, figsize=(6, 4))
    ax.plot(100 * x[order], mean[order], marker="o", color=ACCENT, label=f"{metric} (mean)")
    if scores_std is not None:
        std = as_vector(scores_std, "scores_std").astype(float)
        if std.shape != x.shape:
            raise ValueError(f"scores_std has {std.size} values for {x.size} sparsities")
        if not np.all(np.isfinite(std)) or np.any(std < 0):
            raise ValueError("scores_std must be finite and non-negative")
        ax.fill_between(100 * x[order], (mean - std)[order], (mean + std)[order], color=ACCENT, alpha=0.2,
                        label="± 1 std over seeds")
    if reference is not None:
        if isinstance(reference, bool) or not isinstance(reference, (int, float, np.floating)) or \
                not np.isfinite(reference):
            raise ValueError(f"reference must be a finite number, got {reference!r}")
        ax.axhline(float(reference), color="0.4", ls="--", lw=1, label=f"reference {float(reference):.3g}")
    ax.set_xlabel("weights set to zero (%)")
    ax.set_ylabel(metric)
    ax.set_xlim(-2, 100)
    ax.legend(fontsize=8, loc="lower left")
    if title:
        ax.set_title(title)
    return ax
