"""Figures of the text case study: attention heat maps and learning curves in training-set size."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from course_lib.plotting import PALETTE


def plot_attention(weights, tokens: Sequence[str], ax: plt.Axes | None = None, title: str = "Attention",
                   colorbar: bool = False) -> plt.Axes:
    """A heat map of one (L, L) attention matrix: row = query token, column = key token it attends to.

    ``weights`` is an array or tensor of shape (L, L) with rows summing to 1; ``tokens`` has L names.
    """
    matrix = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"weights must be a square (L, L) matrix, got shape {matrix.shape}")
    if len(tokens) != matrix.shape[0]:
        raise ValueError(f"got {len(tokens)} tokens for a {matrix.shape[0]}x{matrix.shape[0]} matrix")
    if ax is None:
        size = 1.2 + 0.32 * len(tokens)
        _, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1e-9))
    ax.grid(False)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("token (query)")
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_size_curves(curves: Mapping[str, Mapping[int, float]], ax: plt.Axes | None = None,
                     metric: str = "dev accuracy", title: str = "Learning curve in training-set size") -> plt.Axes:
    """``{model: {n_train: score}}`` as lines over a log-scaled training-set size."""
    if not curves:
        raise ValueError("curves must name at least one model")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, (name, points) in enumerate(curves.items()):
        if not points:
            raise ValueError(f"{name}: no points to plot")
        sizes = sorted(points)
        ax.plot(sizes, [points[n] for n in sizes], marker="o", color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xscale("log")
    sizes = sorted({n for points in curves.values() for n in points})
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.set_xlabel("training sentences (log scale)")
    ax.set_ylabel(metric)
    ax.legend(loc="lower right")
    ax.set_title(title)
    return ax
