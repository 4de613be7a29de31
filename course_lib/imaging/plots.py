"""Figures of notebook 02: image grids, Grad-CAM overlays and reliability diagrams, in the course
style (:mod:`course_lib.plotting`)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_lib.imaging.calibration import reliability_table
from course_lib.plotting import PALETTE


def _as_images(images) -> np.ndarray:
    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or len(array) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {array.shape}")
    return array


def image_grid(images, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.3,
               title: str | None = None, title_colors: Sequence[str] | None = None) -> plt.Figure:
    """Grey images in a grid, one optional title per image; returns the figure."""
    images = _as_images(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index], cmap="gray")
            if titles is not None:
                color = title_colors[index] if title_colors is not None else "black"
                ax.set_title(titles[index], fontsize=8, fontweight="normal", color=color)
    if title:
        fig.suptitle(title)
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
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            heat = heatmaps[index]
            peak = heat.max()
            ax.imshow(images[index], cmap="gray")
            ax.imshow(heat / peak if peak > 0 else heat, cmap="jet", alpha=alpha, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[index], fontsize=8, fontweight="normal")
    if title:
        fig.suptitle(title)
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
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("mean predicted probability of pneumonia")
    ax.set_ylabel("observed share of pneumonia")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    return ax
