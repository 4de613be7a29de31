"""The figure of the transformer encoder block (notebook 04), drawn with matplotlib from code.

:func:`draw_encoder_block` draws three panels: the pre-norm block of the course's encoder
(:class:`~course_lib.text.encoder.EncoderBlock`), the post-norm block of BERT and MiniLM, and what
happens inside multi-head self-attention. Nothing is downloaded; the figure is the same in
JupyterLab, on Colab and on the course site.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

from course_lib.plotting import PALETTE

#: Box colours by role, shared by the panels.
_COLOURS = {"attention": PALETTE[0], "norm": "#bbbbbb", "ffn": PALETTE[1], "io": "#f2f2f2", "mask": PALETTE[3]}
_BOX_W, _BOX_H, _ADD_R = 6.4, 1.15, 0.38
_MAIN_X = 5.9  # the vertical data path of a block panel


def _box(ax, x: float, y: float, text: str, role: str, width: float = _BOX_W, height: float = _BOX_H,
         fontsize: float = 9) -> None:
    """A rounded box centred on (x, y) with its label."""
    face = _COLOURS[role]
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.25", facecolor=face, edgecolor="#333333",
                                alpha=0.9 if role != "io" else 1.0, linewidth=1.0))
    light = role in ("attention", "ffn", "mask")
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color="white" if light else "black",
            fontweight="bold" if role != "io" else "normal")


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], style: str = "-|>",
           colour: str = "#333333", dashed: bool = False) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle=style, color=colour, lw=1.2,
                                                          linestyle="--" if dashed else "-",
                                                          shrinkA=0, shrinkB=0))


def _block_panel(ax, stages: Sequence[tuple[str, str]], residuals: Sequence[tuple[int, int]], title: str,
                 caption: str) -> None:
    """One encoder block, bottom to top. ``stages`` are ``(kind, label)`` with kind a box role or
    ``"add"``; ``residuals`` are ``(i, j)``: the path branches off just below stage ``i`` and is added
    back at stage ``j`` (an "add" stage)."""
    step = 1.75
    ys = [1.0 + step * i for i in range(len(stages))]
    for i, ((kind, label), y) in enumerate(zip(stages, ys)):
        if kind == "add":
            ax.add_patch(Circle((_MAIN_X, y), _ADD_R, facecolor="white", edgecolor="#333333", linewidth=1.2))
            ax.text(_MAIN_X, y, "+", ha="center", va="center", fontsize=13, fontweight="bold")
            ax.text(_MAIN_X + 0.6, y, label, ha="left", va="center", fontsize=8, style="italic")
        else:
            _box(ax, _MAIN_X, y, label, kind, fontsize=8.5 if kind == "io" or "\n" in label else 9)
        if i:
            below = ys[i - 1] + (_ADD_R if stages[i - 1][0] == "add" else _BOX_H / 2)
            above = y - (_ADD_R if kind == "add" else _BOX_H / 2)
            _arrow(ax, (_MAIN_X, below), (_MAIN_X, above))
    left = _MAIN_X - _BOX_W / 2 - 0.7
    for start, end in residuals:
        branch_y = (ys[start - 1] + ys[start]) / 2
        ax.plot([_MAIN_X, left, left], [branch_y, branch_y, ys[end]], color=PALETTE[2], lw=1.6)
        _arrow(ax, (left, ys[end]), (_MAIN_X - _ADD_R, ys[end]), colour=PALETTE[2])
        ax.text(left - 0.15, (branch_y + ys[end]) / 2, "residual connection", rotation=90, ha="right",
                va="center", fontsize=7.5, color=PALETTE[2])
    top = ys[-1] + _BOX_H / 2 + 0.25
    bottom = ys[1] - _BOX_H / 2 - 0.35
    ax.plot([9.5, 9.7, 9.7, 9.5], [bottom, bottom, ys[-2] + 0.5, ys[-2] + 0.5], color="#333333", lw=1.0)
    ax.text(9.85, (bottom + ys[-2]) / 2, "× N blocks", rotation=90, ha="left", va="center", fontsize=9)
    ax.set_title(title, fontsize=10.5)
    ax.text(_MAIN_X, -0.35, caption, ha="center", va="top", fontsize=8)
    ax.set_xlim(0, 10.8)
    ax.set_ylim(-1.4, top + 0.3)


def _attention_panel(ax) -> None:
    """Inside multi-head self-attention, bottom to top."""
    _box(ax, 5.0, 1.0, "x: token vectors (B, L, d)", "io")
    for x, name in ((1.9, "Q"), (5.0, "K"), (8.1, "V")):
        _arrow(ax, (5.0 + (x - 5.0) * 0.35, 1.0 + _BOX_H / 2), (x, 2.9 - _BOX_H / 2))
        _box(ax, x, 2.9, f"Linear $W_{name}$", "attention", width=2.6)
        _arrow(ax, (x, 2.9 + _BOX_H / 2), (x, 4.5))
        ax.text(x, 4.75, f"{name}: h × (L, d/h)", ha="center", va="center", fontsize=8)
        _arrow(ax, (x, 5.0), (x if x == 5.0 else 5.0 + (x - 5.0) * 0.5, 6.3 - 0.75))
    _box(ax, 5.0, 6.3, "scaled dot-product attention, per head:\n"
                       "softmax($QK^{\\top}/\\sqrt{d/h}$ + mask) $V$", "attention", width=9.6, height=1.5,
         fontsize=8.5)
    _box(ax, 10.0, 8.2, "padding mask\n0 or −∞", "mask", width=2.6, height=1.1, fontsize=8)
    _arrow(ax, (10.0, 8.2 - 0.55), (9.0, 6.3 + 0.75), colour=_COLOURS["mask"])
    _arrow(ax, (5.0, 6.3 + 0.75), (5.0, 8.2 - _BOX_H / 2))
    _box(ax, 5.0, 8.2, "concatenate the h heads", "io", width=5.0)
    _arrow(ax, (5.0, 8.2 + _BOX_H / 2), (5.0, 9.9 - _BOX_H / 2))
    _box(ax, 5.0, 9.9, "Linear $W_O$", "attention", width=3.4)
    _arrow(ax, (5.0, 9.9 + _BOX_H / 2), (5.0, 11.3))
    ax.text(5.0, 11.55, "output (B, L, d)", ha="center", va="center", fontsize=8.5)
    ax.text(5.0, 12.6, "each row of softmax weights sums to 1:\nevery token gets a weighted average of the values",
            ha="center", va="center", fontsize=8, style="italic")
    ax.set_title("Inside multi-head self-attention", fontsize=10.5)
    ax.set_xlim(-0.2, 11.6)
    ax.set_ylim(-1.4, 13.6)


def draw_encoder_block(figsize: tuple[float, float] = (13.5, 7.0)) -> plt.Figure:
    """The transformer encoder block with attention, as a matplotlib Figure of three panels:

    1. the **pre-norm** block of the course's encoder: x + Attention(LayerNorm(x)), then
       x + FeedForward(LayerNorm(x));
    2. the **post-norm** block of the original transformer, BERT and MiniLM:
       LayerNorm(x + Attention(x)), then LayerNorm(x + FeedForward(x));
    3. inside multi-head self-attention: the Q/K/V projections, scaled dot-product attention per head
       with the padding mask, concatenation and the output projection.

    Returns the Figure (the caller shows or saves it).
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize, gridspec_kw={"width_ratios": [1, 1, 1.08]})
    feed_forward = "Feed-forward\nLinear → GELU → Linear"
    _block_panel(axes[0], [("io", "x: token vectors (B, L, d)"), ("norm", "LayerNorm"),
                           ("attention", "Multi-head self-attention"), ("add", "add"), ("norm", "LayerNorm"),
                           ("ffn", feed_forward), ("add", "add"), ("io", "to the next block")],
                 residuals=[(1, 3), (4, 6)], title="Pre-norm block (our encoder)",
                 caption="x + Attention(LayerNorm(x)),\nthen x + FeedForward(LayerNorm(x))")
    _block_panel(axes[1], [("io", "x: token vectors (B, L, d)"), ("attention", "Multi-head self-attention"),
                           ("add", "add"), ("norm", "LayerNorm"), ("ffn", feed_forward), ("add", "add"),
                           ("norm", "LayerNorm"), ("io", "to the next block")],
                 residuals=[(1, 2), (4, 5)], title="Post-norm block (BERT, MiniLM)",
                 caption="LayerNorm(x + Attention(x)),\nthen LayerNorm(x + FeedForward(x))")
    _attention_panel(axes[2])
    for ax in axes:
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("The transformer encoder block", fontsize=12)
    fig.tight_layout()
    return fig
