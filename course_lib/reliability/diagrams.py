"""Schematic figures of notebooks 09 and 10 (matplotlib only). Each function draws on a given Axes,
turns its frame off and returns it; the toy numbers in them are computed, not typed in.

- :func:`draw_shift_vs_ood`: the training distribution, a shifted version of it (same classes, the
  inputs look different) and unrelated inputs (no class at all) that the classifier still labels;
- :func:`draw_detectors`: where each OOD score comes from — logits (MSP, energy), penultimate features
  (Mahalanobis), raw pixels (PCA residual, isolation forest);
- :func:`draw_fairness_pipeline`: data with a group attribute -> model -> scores -> threshold (one or
  one per group, chosen on validation) -> decisions -> metrics per group, their gaps and intervals;
- :func:`draw_rollout`: attention rollout — each layer's attention mixed with the residual path and
  multiplied through the layers;
- :func:`draw_sanity_check`: Adebayo et al.'s model-randomisation test — maps of the trained model and
  of copies with re-initialised layers, compared.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from course_lib.arrays import as_count
from course_lib.plotting import DIAGRAM_ACCENT, DIAGRAM_BOX, PALETTE
from course_lib.plotting import checked_axes as _checked_axes
from course_lib.plotting import finish_diagram as _finish

#: Colour of what goes wrong or what the method changes (shifted data, OOD inputs, randomised layers).
ACCENT = DIAGRAM_ACCENT
#: Colour of ordinary boxes.
BOX = DIAGRAM_BOX
#: Colour of boxes on the "changed" side.
ACCENT_BOX = "#f6dcd8"
#: Colour of classical (non-network) parts.
CLASSICAL_BOX = "#e3efd9"


def _checked_title(title) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    return title


def _box(ax: plt.Axes, x: float, y: float, width: float, height: float, text: str, *, colour: str = BOX,
         fontsize: float = 8.5, text_colour: str = "black", edge: str = "0.3", weight: str = "normal") -> None:
    """A rounded box with its lower-left corner at (x, y) and centred text."""
    ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor=edge, linewidth=1.0))
    ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=fontsize, color=text_colour,
            fontweight=weight)


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], *, colour: str = "0.35",
           text: str | None = None, text_offset: tuple[float, float] = (0.0, 0.08), fontsize: float = 7.5,
           style: str = "-|>", linewidth: float = 1.2) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, color=colour,
                                 linewidth=linewidth, shrinkA=0, shrinkB=0))
    if text:
        ax.text((start[0] + end[0]) / 2 + text_offset[0], (start[1] + end[1]) / 2 + text_offset[1], text,
                ha="center", va="bottom", fontsize=fontsize, color=colour)


# ------------------------------------------------------------------------------------ shift vs OOD

def draw_shift_vs_ood(ax: plt.Axes, *, seed: int = 0,
                      title: str | None = "Distribution shift vs out-of-distribution inputs") -> plt.Axes:
    """Three panels of a 2-D input space with the decision boundary the model learned (dashed):
    the training data (two classes), the same classes after a shift (moved and spread: more errors,
    miscalibrated confidence) and OOD inputs from neither class, far away, which the model still puts
    on one side of the boundary — often with high confidence."""
    ax = _checked_axes(ax)
    title = _checked_title(title)
    rng = np.random.default_rng(as_count(seed, "seed", minimum=0))
    n = 22
    class0 = rng.normal([-1.0, -0.1], 0.32, size=(n, 2))
    class1 = rng.normal([1.0, -0.1], 0.32, size=(n, 2))
    shift = np.array([0.8, 0.2])
    panels = [
        ("training distribution", "what the model learned from", class0, class1, None, "0.3"),
        ("shifted distribution", "same classes, inputs look different\n(noise, blur, contrast, a new scanner)",
         1.4 * (class0 - class0.mean(0)) + class0.mean(0) + shift,
         1.4 * (class1 - class1.mean(0)) + class1.mean(0) + shift, None, ACCENT),
        ("out-of-distribution inputs", "belong to no class (digits, photos,\nanother organ): still get a label",
         None, None, rng.normal([1.9, -1.2], 0.22, size=(n, 2)), ACCENT),
    ]
    width, gap = 5.6, 0.6
    for index, (name, note, c0, c1, other, colour) in enumerate(panels):
        x0 = index * (width + gap)
        centre = np.array([x0 + width / 2, 2.4])
        ax.add_patch(Rectangle((x0, 0.4), width, 4.0, facecolor="white", edgecolor="0.75", linewidth=1))
        ax.plot([centre[0], centre[0]], [0.5, 4.3], color="0.25", ls="--", lw=1.1)
        ax.text(centre[0] - 1.35, 4.05, "class 0", ha="center", fontsize=7.5, color=PALETTE[0])
        ax.text(centre[0] + 1.35, 4.05, "class 1", ha="center", fontsize=7.5, color=PALETTE[1])
        if c0 is not None:
            ax.scatter(centre[0] + c0[:, 0], centre[1] + c0[:, 1], s=14, color=PALETTE[0], marker="o")
            ax.scatter(centre[0] + c1[:, 0], centre[1] + c1[:, 1], s=16, color=PALETTE[1], marker="^")
        if other is not None:
            ax.scatter(centre[0] + other[:, 0], centre[1] + other[:, 1], s=18, color=ACCENT, marker="x")
            # a faint copy of the training data, for orientation
            ax.scatter(centre[0] + class0[:, 0], centre[1] + class0[:, 1], s=8, color=PALETTE[0], alpha=0.2)
            ax.scatter(centre[0] + class1[:, 0], centre[1] + class1[:, 1], s=8, color=PALETTE[1], alpha=0.2)
        ax.text(centre[0], 4.6, name, ha="center", va="bottom", fontsize=9, fontweight="bold",
                color="black" if index == 0 else ACCENT)
        ax.text(centre[0], 0.25, note, ha="center", va="top", fontsize=7.5, color="0.25")
    ax.text(3 * width + 2 * gap, -0.95, "dashed: the decision boundary learned on the training data (it does not move)",
            ha="right", va="top", fontsize=7.5, color="0.35")
    return _finish(ax, (-0.2, 3 * width + 2 * gap + 0.2), (-1.3, 5.1), title)


# ------------------------------------------------------------------------------------ detectors

def draw_detectors(ax: plt.Axes, *,
                   title: str | None = "Where OOD scores come from: logits, features, or the pixels alone"
                   ) -> plt.Axes:
    """The CNN's path image -> convolutions -> penultimate features h -> logit z, with the scores read
    off each stage: MSP and energy from the logit, Mahalanobis distance from h (class means and a
    shared covariance fitted on training features), and the classical detectors on raw pixels
    (PCA reconstruction residual, isolation forest) that need no network. Every score is an ID score
    (higher = more familiar), thresholded to accept or flag."""
    ax = _checked_axes(ax)
    title = _checked_title(title)
    top = 3.6
    _box(ax, 0.0, top, 1.3, 0.9, "image x\n28 × 28")
    _box(ax, 2.0, top, 1.9, 0.9, "convolutions\n(trained CNN)")
    _box(ax, 4.6, top, 1.8, 0.9, "penultimate\nfeatures h (64)")
    _box(ax, 7.1, top, 1.5, 0.9, "logit z\n(linear head)")
    _arrow(ax, (1.3, top + 0.45), (2.0, top + 0.45))
    _arrow(ax, (3.9, top + 0.45), (4.6, top + 0.45))
    _arrow(ax, (6.4, top + 0.45), (7.1, top + 0.45))

    score_x, score_w = 9.3, 3.7
    _box(ax, score_x, 4.15, score_w, 0.75, "MSP = max(σ(z), 1 − σ(z))", colour=ACCENT_BOX, fontsize=8)
    _box(ax, score_x, 3.2, score_w, 0.75, "energy = T · log(1 + exp(z / T))", colour=ACCENT_BOX, fontsize=8)
    _arrow(ax, (8.6, top + 0.6), (score_x, 4.5))
    _arrow(ax, (8.6, top + 0.3), (score_x, 3.58))

    _box(ax, score_x, 1.7, score_w, 1.25, "Mahalanobis =\n−min_c (h − μ_c)ᵀ Σ⁻¹ (h − μ_c)\n"
         "μ_c, shared Σ: from training h", colour=ACCENT_BOX, fontsize=7.5)
    _arrow(ax, (5.5, top), (5.5, 2.3), style="-")
    _arrow(ax, (5.5, 2.3), (score_x, 2.3))

    _box(ax, score_x, 0.25, score_w, 1.1, "PCA residual = −‖x − x̂‖²\nisolation forest score\n"
         "fitted on training pixels, no network", colour=CLASSICAL_BOX, fontsize=7.5)
    _arrow(ax, (0.65, top), (0.65, 0.8), style="-")
    _arrow(ax, (0.65, 0.8), (score_x, 0.8), text="raw pixels", text_offset=(0.0, 0.05))

    ids_x = score_x + score_w + 0.7
    _box(ax, ids_x, 1.7, 2.0, 1.6, "ID score s(x)\nhigher = familiar\n\ns ≥ t: accept\ns < t: flag", fontsize=8)
    for y in (4.5, 3.58, 2.3, 0.8):
        _arrow(ax, (score_x + score_w, y), (ids_x, 2.5), colour="0.55", linewidth=0.9)
    ax.text(7.7, -0.25, "red: read off the trained classifier; green: classical, on pixels; the threshold t keeps "
            "e.g. 95 % of the familiar inputs", ha="center", va="top", fontsize=7.5, color="0.35")
    return _finish(ax, (-0.2, ids_x + 2.2), (-0.75, 5.1), title)


# ------------------------------------------------------------------------------------ fairness

def draw_fairness_pipeline(ax: plt.Axes, *,
                           title: str | None = "Bias audit: the same pipeline, measured group by group"
                           ) -> plt.Axes:
    """Data (features X, label y, group A) -> model (with or without A as a feature) -> scores ->
    decision threshold (one for all, or one per group as a mitigation; chosen on validation) ->
    decisions -> metrics per group (selection rate, TPR, FPR, calibration), the gaps between groups
    and bootstrap intervals for them."""
    ax = _checked_axes(ax)
    title = _checked_title(title)
    y, h = 1.6, 1.3
    _box(ax, 0.0, y, 2.3, h, "data\nfeatures X, label y\ngroup A (colour)", fontsize=8)
    _box(ax, 3.0, y, 2.2, h, "model\ntrained on X\n(with or without A)", fontsize=8)
    _box(ax, 5.9, y, 1.8, h, "score\np(x) =\nP(y = 1 | x)", fontsize=8)
    _box(ax, 8.4, y, 2.6, h, "threshold t\none for all, or one\nper group (mitigation)", colour=ACCENT_BOX, fontsize=8)
    _box(ax, 11.7, y, 1.6, h, "decision\nŷ = [p ≥ t]", fontsize=8)
    for start, end in ((2.3, 3.0), (5.2, 5.9), (7.7, 8.4), (11.0, 11.7)):
        _arrow(ax, (start, y + h / 2), (end, y + h / 2))
    ax.text(9.7, y - 0.12, "chosen on validation,\nnever on test", ha="center", va="top", fontsize=7.5, color=ACCENT)

    mx = 14.1
    _box(ax, mx, 2.55, 3.2, 1.3, "metrics per group\nselection rate, TPR, FPR,\ncalibration", fontsize=8)
    _box(ax, mx, 0.5, 3.2, 1.5, "gaps between groups\ndemographic parity,\nequalized odds\n+ bootstrap intervals",
         colour=ACCENT_BOX, fontsize=8)
    _arrow(ax, (13.3, y + h / 2 + 0.2), (mx, 3.2))
    _arrow(ax, (mx + 1.6, 2.55), (mx + 1.6, 2.0))
    # group A travels past the model to the audit
    ax.plot([1.15, 1.15, 15.6], [y + h, 4.55, 4.55], color=PALETTE[4], lw=1.1, ls=":")
    _arrow(ax, (15.6, 4.55), (15.6, 3.85), colour=PALETTE[4])
    ax.text(8.3, 4.62, "group A is always kept for the audit, even when the model does not see it",
            ha="center", va="bottom", fontsize=7.5, color=PALETTE[4])
    ax.text(8.6, 0.2, "a gap is evidence only if its interval excludes 0; equal rates for groups with different "
            "base rates can conflict", ha="center", va="top", fontsize=7.5, color="0.35")
    return _finish(ax, (-0.2, 17.4), (-0.5, 5.1), title)


# ------------------------------------------------------------------------------------ rollout

def _toy_attention(rng: np.random.Generator, size: int) -> np.ndarray:
    logits = rng.normal(0.0, 1.2, size=(size, size))
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def draw_rollout(ax: plt.Axes, *, seed: int = 0, tokens: tuple[str, ...] = ("[CLS]", "a", "great", "film", "[SEP]"),
                 title: str | None = "Attention rollout: mix in the residual path, multiply through the layers"
                 ) -> plt.Axes:
    """Left: the tokens at the bottom, each layer's attention (averaged over heads) drawn as lines whose
    width is the weight, from the tokens of one layer to those of the next. Right: the matrices
    ``A'_l = 0.5 A_l + 0.5 I`` (rows renormalised) of a two-layer toy and their product
    ``R = A'_2 · A'_1`` as heatmaps; token relevance = the mean over the real tokens' rows of ``R``
    (what a mean-pooled sentence vector mixes). The toy attentions are random (seeded) and the product
    shown is computed."""
    ax = _checked_axes(ax)
    title = _checked_title(title)
    if not isinstance(tokens, (tuple, list)) or not 2 <= len(tokens) <= 7 or \
            not all(isinstance(t, str) for t in tokens):
        raise ValueError(f"tokens must be 2 to 7 strings, got {tokens!r}")
    rng = np.random.default_rng(as_count(seed, "seed", minimum=0))
    size = len(tokens)
    identity = np.eye(size)
    mixed = []
    for _ in range(2):
        a = 0.5 * _toy_attention(rng, size) + 0.5 * identity
        mixed.append(a / a.sum(axis=1, keepdims=True))
    rollout = mixed[1] @ mixed[0]

    # left: the token graph, layer 0 (input) at the bottom
    spacing = 1.0
    xs = np.arange(size) * spacing
    levels = [0.6, 2.2, 3.8]
    for layer, (low, high) in enumerate(zip(levels[:-1], levels[1:])):
        matrix = mixed[layer]
        for i in range(size):                      # row i of layer l+1 mixes tokens j of layer l
            for j in range(size):
                ax.plot([xs[j], xs[i]], [low + 0.18, high - 0.18], color=PALETTE[0], alpha=0.85,
                        lw=0.3 + 4.0 * matrix[i, j], solid_capstyle="round")
        ax.text(xs[-1] + 0.55, (low + high) / 2, f"layer {layer + 1}\nA'_{layer + 1}", ha="left", va="center",
                fontsize=7.5, color="0.3")
    for level_index, level in enumerate(levels):
        for x, token in zip(xs, tokens):
            ax.add_patch(Circle((x, level), 0.16, facecolor="white" if level_index else BOX, edgecolor="0.3", zorder=3))
    for x, token in zip(xs, tokens):
        ax.text(x, levels[0] - 0.3, token, ha="center", va="top", fontsize=8)
    ax.text(xs.mean(), levels[-1] + 0.35, "line width = attention weight (mean over heads)", ha="center",
            va="bottom", fontsize=7.5, color="0.3")

    # right: the matrices and their product
    side, x0, y0 = 1.7, xs[-1] + 2.1, 1.4
    panels = [(mixed[1], "A'_2"), (mixed[0], "A'_1"), (rollout, "R = A'_2 · A'_1")]
    vmax = max(float(m.max()) for m, _ in panels)
    for index, (matrix, label) in enumerate(panels):
        left = x0 + index * (side + 0.75)
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=vmax, extent=(left, left + side, y0, y0 + side),
                  interpolation="nearest", zorder=2)
        ax.add_patch(Rectangle((left, y0), side, side, fill=False, edgecolor="0.3", lw=0.8, zorder=3))
        ax.text(left + side / 2, y0 + side + 0.12, label, ha="center", va="bottom", fontsize=8,
                fontweight="bold" if index == 2 else "normal", color=ACCENT if index == 2 else "black")
        if index < 2:
            ax.text(left + side + 0.375, y0 + side / 2, "·" if index == 0 else "=", ha="center", va="center",
                    fontsize=14)
    right_edge = x0 + 3 * side + 2 * 0.75
    ax.text((x0 + right_edge) / 2, y0 - 0.2, "A' = 0.5 · A + 0.5 · I, rows sum to 1 (the residual path)\n"
            "row i: token i of the layer above; column j: its share from token j\n"
            "token relevance = mean of R's rows over the real tokens", ha="center", va="top", fontsize=7.5,
            color="0.25")
    return _finish(ax, (-0.5, right_edge + 0.2), (-0.4, 4.6), title)


# ------------------------------------------------------------------------------------ sanity check

def _blob(side: int, centre: tuple[float, float], width: float) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    return np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / (2 * width ** 2))


def draw_sanity_check(ax: plt.Axes, *, seed: int = 0,
                      layers: tuple[str, ...] = ("conv 1", "conv 2", "conv 3", "head"),
                      title: str | None = "Sanity check (Adebayo et al. 2018): does the map depend on the model?"
                      ) -> plt.Axes:
    """Two rows: the trained model's layers and a copy whose layers are re-initialised from the top
    (the head) down (cascading randomisation, randomised layers in red); each row's explanation map of
    the same image (toy maps: a focused blob for the trained model, a noisy one for the randomised
    copy); and the comparison (Spearman rank correlation, SSIM, top-k overlap): for a faithful method
    the similarity drops as more layers are randomised; maps that stay alike reflect the image, not the
    model."""
    ax = _checked_axes(ax)
    title = _checked_title(title)
    if not isinstance(layers, (tuple, list)) or not 2 <= len(layers) <= 6 or \
            not all(isinstance(n, str) for n in layers):
        raise ValueError(f"layers must be 2 to 6 layer names, got {layers!r}")
    rng = np.random.default_rng(as_count(seed, "seed", minimum=0))
    side = 14
    trained_map = _blob(side, (6.0, 8.0), 2.2)
    random_map = np.abs(rng.normal(0, 1, size=(side, side))) * 0.6 + 0.4 * _blob(side, (7.0, 7.0), 5.0)
    random_map /= random_map.max()

    n = len(layers)
    block_w, block_gap = 1.15, 0.25
    randomised = max(1, n // 2)                     # the top half of the layers, as one step of the cascade
    rows = [("trained model", 3.1, 0, trained_map), ("randomised copy", 0.6, randomised, random_map)]
    x_image = 0.0
    chain_x = 1.8
    map_x = chain_x + n * (block_w + block_gap) + 0.6
    for name, y, n_random, heatmap in rows:
        ax.text(chain_x - 0.1, y + 1.15, name, ha="left", va="bottom", fontsize=8.5, fontweight="bold",
                color=ACCENT if n_random else "black")
        for i, layer in enumerate(layers):
            random_layer = i >= n - n_random
            label = layer + ("\n(random)" if random_layer else "")
            _box(ax, chain_x + i * (block_w + block_gap), y, block_w, 0.9, label,
                 colour=ACCENT_BOX if random_layer else BOX, fontsize=7.5,
                 edge=ACCENT if random_layer else "0.3")
            if i:
                _arrow(ax, (chain_x + i * (block_w + block_gap) - block_gap, y + 0.45),
                       (chain_x + i * (block_w + block_gap), y + 0.45))
        _arrow(ax, (map_x - 0.6, y + 0.45), (map_x - 0.05, y + 0.45), colour="0.35")
        ax.imshow(heatmap, cmap="magma", extent=(map_x, map_x + 1.5, y - 0.3, y + 1.2), interpolation="nearest",
                  zorder=2)
        ax.add_patch(Rectangle((map_x, y - 0.3), 1.5, 1.5, fill=False, edgecolor="0.3", lw=0.8, zorder=3))
    ax.text(map_x + 0.75, 4.45, "explanation map", ha="center", va="bottom", fontsize=8)
    _box(ax, x_image, 1.85, 1.2, 1.0, "same\nimage x", fontsize=8)
    _arrow(ax, (x_image + 1.2, 2.5), (chain_x - 0.05, 3.55))
    _arrow(ax, (x_image + 1.2, 2.2), (chain_x - 0.05, 1.05))

    cx = map_x + 2.3
    _box(ax, cx, 1.35, 3.0, 1.9, "compare the maps\nSpearman rank correlation\nSSIM, top-k overlap", colour=ACCENT_BOX,
         fontsize=8)
    _arrow(ax, (map_x + 1.5, 3.55), (cx, 2.6))
    _arrow(ax, (map_x + 1.5, 1.05), (cx, 2.0))
    ax.text(cx + 1.5, 1.2, "faithful: similarity drops\nas layers are randomised\n(from the top down)",
            ha="center", va="top", fontsize=7.5, color="0.25")
    ax.text(chain_x + (n * (block_w + block_gap)) / 2, -0.05,
            f"the cascade re-initialises the {layers[-1]} first, then one layer more at each step, "
            f"down to {layers[0]}", ha="center", va="top", fontsize=7.5, color="0.35")
    return _finish(ax, (-0.2, cx + 3.2), (-0.6, 4.9), title)
