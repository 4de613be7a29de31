"""Figures of the recurrent architectures of notebook 03, drawn with matplotlib from code.

- :func:`rnn_unrolled_figure` — a recurrent cell folded (one box with a loop) and unrolled over
  time: the same weights at every step, the hidden state passed from step to step, and the path
  a gradient takes backwards (back-propagation through time).
- :func:`lstm_cell_figure` — one LSTM step: the memory line ``c``, the forget, input and output
  gates and the candidate, with the equations of PyTorch's ``nn.LSTM``.
- :func:`gru_cell_figure` — one GRU step: the reset and update gates, the candidate state and the
  interpolation ``h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}`` of PyTorch's ``nn.GRU``.

Each function returns a :class:`matplotlib.figure.Figure` whose labels are ordinary ``Text``
artists (so a test can check that the expected parts are labelled). Nothing is downloaded.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from course_lib.plotting import PALETTE

_GATE = PALETTE[1]      # sigmoid gates
_TANH = PALETTE[2]      # tanh layers
_STATE = PALETTE[0]     # states that flow in time
_OP = "#f2f2f2"         # point-wise operations


def _canvas(width: float, height: float, figsize: tuple[float, float]) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, label, color, *, text_color="white", fontsize=10, gid=None):
    """A rounded box centred at (x, y) with a centred label."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=color, edgecolor="black", linewidth=1.0, gid=gid))
    ax.text(x, y, label, ha="center", va="center", color=text_color, fontsize=fontsize, zorder=5)


def _op(ax, x, y, symbol, r=0.22):
    """A point-wise operation (×, +, 1−) drawn as a small circle."""
    ax.add_patch(Circle((x, y), r, facecolor=_OP, edgecolor="black", linewidth=1.0, zorder=4))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=11, zorder=5)


def _arrow(ax, start, end, *, color="black", style="-|>", rad=0.0, lw=1.3, ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, linewidth=lw,
                                 linestyle=ls, connectionstyle=f"arc3,rad={rad}", zorder=3))


def _line(ax, xs, ys, color="black", lw=1.3):
    ax.plot(xs, ys, color=color, linewidth=lw, zorder=2, solid_capstyle="round")


def rnn_unrolled_figure(steps: int = 4) -> Figure:
    """A vanilla RNN, folded (left) and unrolled over ``steps`` time steps (right).

    Every unrolled box is the *same* cell, ``h_t = tanh(W_ih x_t + W_hh h_{t−1} + b)``; the dashed
    red arrows are the path of the gradient of a loss on the last output back to earlier steps.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 8:
        raise ValueError(f"steps must be an int in [2, 8], got {steps!r}")
    width = 4.0 + 2.2 * steps
    fig, ax = _canvas(width, 5.2, figsize=(1.1 * width, 5.2 * 1.1))
    # folded: one cell with a loop on itself
    _box(ax, 1.4, 2.6, 1.3, 0.9, "RNN\ncell", _TANH)
    _arrow(ax, (1.4, 1.1), (1.4, 2.15))
    ax.text(1.4, 0.8, "$x_t$", ha="center", va="center", fontsize=12)
    _arrow(ax, (1.4, 3.05), (1.4, 4.1))
    ax.text(1.4, 4.4, "$h_t$", ha="center", va="center", fontsize=12)
    _arrow(ax, (2.05, 2.85), (2.05, 2.35), rad=-2.2, color=_STATE)
    ax.text(2.9, 3.55, "$h_{t-1}$", ha="center", fontsize=10, color=_STATE)
    ax.text(3.3, 2.6, "=", ha="center", va="center", fontsize=22)
    ax.text(1.4, 0.2, "folded", ha="center", fontsize=10, style="italic")
    # unrolled
    x0 = 4.6
    ax.text(x0 - 0.75, 2.6, "$h_0$", ha="center", va="center", fontsize=12, color=_STATE)
    for t in range(1, steps + 1):
        x = x0 + 2.2 * (t - 1) + 0.7
        _box(ax, x, 2.6, 1.3, 0.9, "cell\n(same W)", _TANH, fontsize=9)
        _arrow(ax, (x, 1.1), (x, 2.15))
        ax.text(x, 0.8, f"$x_{t}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x, 3.05), (x, 4.1))
        ax.text(x, 4.4, f"$h_{t}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x - 1.5 if t > 1 else x0 - 0.5, 2.6), (x - 0.65, 2.6), color=_STATE, lw=1.8)
        if t > 1:  # gradient path backwards through time
            _arrow(ax, (x - 0.65, 2.25), (x - 1.55, 2.25), color=PALETTE[3], ls="--", lw=1.2)
    ax.text(x0 + 1.1 * steps, 0.2, f"unrolled over {steps} time steps", ha="center", fontsize=10, style="italic")
    ax.text(x0 + 1.1 * steps, 4.95, "loss on the last output; its gradient flows back along the chain",
            ha="center", fontsize=9, color=PALETTE[3])
    ax.text(x0 + 1.1 * steps, 1.75, "BPTT: gradient path (dashed)", ha="center", fontsize=9, color=PALETTE[3])
    ax.set_title("A recurrent network unrolled over time: $h_t = \\tanh(W_{ih} x_t + W_{hh} h_{t-1} + b)$")
    return fig


def _cell_canvas() -> tuple[Figure, plt.Axes]:
    """The canvas of a recurrent cell figure, with the grey outline of the cell (x 1.4–9.2, y 0.9–5.4)."""
    fig, ax = _canvas(11.0, 6.4, figsize=(9.5, 5.6))
    ax.add_patch(FancyBboxPatch((1.4, 0.9), 7.8, 4.5, boxstyle="round,pad=0.05,rounding_size=0.3",
                                facecolor="#fafafa", edgecolor="grey", linewidth=1.0, zorder=0))
    return fig, ax


def lstm_cell_figure() -> Figure:
    """One LSTM step (the equations of ``nn.LSTM``).

    ``i, f, o = σ(·)``, ``g = tanh(·)`` of ``W_ih x_t + W_hh h_{t−1} + b``;
    ``c_t = f ⊙ c_{t−1} + i ⊙ g``; ``h_t = o ⊙ tanh(c_t)``.
    """
    fig, ax = _cell_canvas()
    top, bottom = 4.8, 1.5
    # memory line c: c_{t-1} -> × f -> + i⊙g -> c_t
    ax.text(0.6, top, "$c_{t-1}$", ha="center", va="center", fontsize=12, color=_STATE)
    _line(ax, [1.0, 2.58], [top, top], color=_STATE, lw=2.2)
    _op(ax, 2.8, top, "×")
    _line(ax, [3.02, 4.98], [top, top], color=_STATE, lw=2.2)
    _op(ax, 5.2, top, "+")
    _arrow(ax, (5.42, top), (10.2, top), color=_STATE, lw=2.2)
    ax.text(10.55, top, "$c_t$", ha="center", va="center", fontsize=12, color=_STATE)
    ax.text(4.0, top + 0.3, "memory (cell state)", ha="center", fontsize=9, color=_STATE)
    # the input rail: [h_{t-1}, x_t] feeds all four layers
    ax.text(0.6, bottom, "$h_{t-1}$", ha="center", va="center", fontsize=12, color=_STATE)
    ax.text(2.0, 0.35, "$x_t$", ha="center", va="center", fontsize=12)
    _line(ax, [1.0, 7.0], [bottom, bottom], lw=1.6)
    _line(ax, [2.0, 2.0], [0.6, bottom], lw=1.6)
    layers = [(2.8, "σ", _GATE, "forget\ngate f"), (4.0, "σ", _GATE, "input\ngate i"),
              (5.2, "tanh", _TANH, "candi-\ndate g"), (6.6, "σ", _GATE, "output\ngate o")]
    for x, symbol, color, name in layers:
        _line(ax, [x, x], [bottom, 2.4])
        _box(ax, x, 2.75, 0.85, 0.6, symbol, color, fontsize=11)
        ax.text(x, 2.15, name, ha="center", va="top", fontsize=8, rotation=0,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    _arrow(ax, (2.8, 3.05), (2.8, top - 0.22))                  # f -> ×
    _op(ax, 4.6, 3.8, "×")                                     # i ⊙ g
    _arrow(ax, (4.0, 3.05), (4.42, 3.68))
    _arrow(ax, (5.2, 3.05), (4.78, 3.68))
    _arrow(ax, (4.6, 4.02), (5.05, top - 0.17))                # -> +
    # output: h_t = o ⊙ tanh(c_t)
    _line(ax, [7.8, 7.8], [top, 4.2])
    _box(ax, 7.8, 3.9, 0.85, 0.5, "tanh", _TANH, fontsize=10)
    _op(ax, 7.8, 2.75, "×")
    _arrow(ax, (7.8, 3.65), (7.8, 2.97))
    _arrow(ax, (7.03, 2.75), (7.58, 2.75))
    _line(ax, [8.02, 8.8], [2.75, 2.75], color=_STATE, lw=1.6)
    _line(ax, [8.8, 8.8], [2.75, bottom], color=_STATE, lw=1.6)
    _arrow(ax, (8.8, bottom), (10.2, bottom), color=_STATE, lw=1.6)
    ax.text(10.55, bottom, "$h_t$", ha="center", va="center", fontsize=12, color=_STATE)
    _arrow(ax, (8.8, 2.75), (8.8, 5.9), color=_STATE, lw=1.2)
    ax.text(8.8, 6.15, "$h_t$ (output)", ha="center", fontsize=10, color=_STATE)
    ax.text(5.5, -0.35, "$c_t = f \\odot c_{t-1} + i \\odot g$,   $h_t = o \\odot \\tanh(c_t)$;   "
            "each gate: $\\sigma(W x_t + U h_{t-1} + b)$", ha="center", fontsize=10)
    ax.set_ylim(-0.7, 6.5)
    ax.set_title("One LSTM step")
    return fig


def gru_cell_figure() -> Figure:
    """One GRU step (the equations of ``nn.GRU``).

    ``r, z = σ(W_ih x_t + W_hh h_{t−1} + b)``; ``n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))``;
    ``h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}``.
    """
    fig, ax = _cell_canvas()
    top, bottom = 4.8, 1.5
    # the state line: h_{t-1} -> × z -> + -> h_t
    ax.text(0.6, top, "$h_{t-1}$", ha="center", va="center", fontsize=12, color=_STATE)
    _line(ax, [1.0, 5.98], [top, top], color=_STATE, lw=2.2)
    _op(ax, 6.2, top, "×")
    _line(ax, [6.42, 7.58], [top, top], color=_STATE, lw=2.2)
    _op(ax, 7.8, top, "+")
    _arrow(ax, (8.02, top), (10.2, top), color=_STATE, lw=2.2)
    ax.text(10.55, top, "$h_t$", ha="center", va="center", fontsize=12, color=_STATE)
    ax.text(3.5, top + 0.3, "hidden state (the only memory)", ha="center", fontsize=9, color=_STATE)
    _line(ax, [1.3, 1.3], [top, bottom], color=_STATE, lw=1.4)   # h_{t-1} also feeds the layers
    ax.text(2.0, 0.35, "$x_t$", ha="center", va="center", fontsize=12)
    _line(ax, [1.3, 6.0], [bottom, bottom], lw=1.6)
    _line(ax, [2.0, 2.0], [0.6, bottom], lw=1.6)
    layers = [(2.8, "σ", _GATE, "reset\ngate r"), (4.2, "σ", _GATE, "update\ngate z"),
              (5.8, "tanh", _TANH, "candi-\ndate n")]
    for x, symbol, color, name in layers:
        _line(ax, [x, x], [bottom, 2.4])
        _box(ax, x, 2.75, 0.85, 0.6, symbol, color, fontsize=11)
        ax.text(x, 2.15, name, ha="center", va="top", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    _arrow(ax, (2.8, 3.05), (5.5, 2.95), rad=-0.35)            # r -> candidate
    _arrow(ax, (4.2, 3.05), (6.02, top - 0.14), rad=-0.2)      # z -> × with h_{t-1}
    _op(ax, 7.0, 3.55, "1−")
    _arrow(ax, (4.5, 3.0), (6.78, 3.5), rad=-0.1)              # z -> 1 − z
    _op(ax, 7.8, 3.55, "×")
    _arrow(ax, (7.22, 3.55), (7.58, 3.55))
    _arrow(ax, (6.25, 2.75), (7.72, 3.34))                    # n -> ×
    _arrow(ax, (7.8, 3.77), (7.8, top - 0.22))                 # -> +
    ax.text(5.5, -0.35, "$h_t = (1 - z) \\odot n + z \\odot h_{t-1}$,   "
            "$n = \\tanh(W_{in} x_t + b_{in} + r \\odot (W_{hn} h_{t-1} + b_{hn}))$", ha="center", fontsize=10)
    ax.set_ylim(-0.7, 6.5)
    ax.set_title("One GRU step")
    return fig
