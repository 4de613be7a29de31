"""Figures of notebook 02: image grids, Grad-CAM overlays and reliability diagrams, in the course
style (:mod:`course_lib.plotting`)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_lib.imaging.calibration import reliability_table
from course_lib.plotting import PALETTE, finish_unit_square


def _as_images(images) -> np.ndarray:
    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or len(array) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {array.shape}")
    return array


def _grid(n: int, titles, ncols: int, size: float, title: str | None):
    """A figure of ``n`` image panels (axes off) in rows of ``ncols``; returns (figure, panels)."""
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig, list(axes.flat)[:n]


def image_grid(images, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.3,
               title: str | None = None, title_colors: Sequence[str] | None = None) -> plt.Figure:
    """Grey images in a grid, one optional title per image; returns the figure."""
    images = _as_images(images)
    fig, panels = _grid(len(images), titles, ncols, size, title)
    for index, ax in enumerate(panels):
        ax.imshow(images[index], cmap="gray")
        if titles is not None:
            color = title_colors[index] if title_colors is not None else "black"
            ax.set_title(titles[index], fontsize=8, fontweight="normal", color=color)
    return fig


def overlay_heatmaps(images, heatmaps, titles: Sequence[str] | None = None, ncols: int = 6,
                     size: float = 1.6, alpha: float = 0.45, title: str | None = None) -> plt.Figure:
    """Each image in grey with its heat map (same H x W, e.g. upsampled Grad-CAM) on top; each map
    is scaled to its own maximum, so colours compare places within one image, not across images."""
    images, heatmaps = _as_images(images), _as_images(heatmaps)
    if images.shape != heatmaps.shape:
        raise ValueError(f"images {images.shape} and heatmaps {heatmaps.shape} must have the same shape")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    fig, panels = _grid(len(images), titles, ncols, size, title)
    for index, ax in enumerate(panels):
        heat = heatmaps[index]
        peak = heat.max()
        ax.imshow(images[index], cmap="gray")
        ax.imshow(heat / peak if peak > 0 else heat, cmap="jet", alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[index], fontsize=8, fontweight="normal")
    return fig


def plot_reliability(probabilities: dict, n_bins: int = 10, ax: plt.Axes | None = None,
                     title: str = "Reliability diagram") -> plt.Axes:
    """Observed frequency of class 1 against mean predicted probability per bin, for several
    models ``{name: (y_true, y_prob)}``; the diagonal is perfect calibration. Marker area grows with
    the number of samples in the bin."""
    if not probabilities:
        raise ValueError("probabilities must name at least one model")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfectly calibrated")
    for i, (name, (y_true, y_prob)) in enumerate(probabilities.items()):
        table = reliability_table(y_true, y_prob, n_bins)
        color = PALETTE[i % len(PALETTE)]
        ax.plot(table["mean_predicted"], table["observed"], color=color, marker="o", markersize=3,
                label=name)
        ax.scatter(table["mean_predicted"], table["observed"], s=8 + 120 * table["count"] / table["count"].max(),
                   color=color, alpha=0.35)
    return finish_unit_square(ax, xlabel="mean predicted probability of pneumonia",
                              ylabel="observed share of pneumonia", title=title, legend_loc="upper left")
