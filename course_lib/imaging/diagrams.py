"""A figure of the compact CNN, drawn with matplotlib from the model itself: the feature-map shapes
through the network and the receptive field of one unit of each layer.

- :func:`feature_map_shapes` runs one blank image through ``model.features`` and ``model.head`` and
  records every stage's output shape and the (kernel, stride) of each convolution and pooling layer;
- :func:`plot_cnn_architecture` draws it: one box per feature map (height ∝ its size, width ∝ its
  channels, labelled ``channels × height × width``), arrows labelled with the layer between, and the
  input image with the receptive field of the centre unit of every layer as nested squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from course_lib.imaging.convolution import receptive_field


@dataclass(frozen=True)
class Stage:
    """One feature map of the network: ``label`` (the layers that made it), ``shape`` ``(C, H, W)``
    (``(C,)`` after global average pooling), and the receptive field in input pixels (``None`` after
    global pooling, where every unit sees the whole image)."""

    label: str
    shape: tuple[int, ...]
    receptive_field: int | None


def _kernel_stride(module: nn.Module) -> tuple[int, int] | None:
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        kernel = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        stride = module.stride if isinstance(module.stride, int) else module.stride[0]
        return int(kernel), int(stride)
    return None


def feature_map_shapes(model: nn.Module, input_shape: tuple[int, int, int] = (1, 28, 28)) -> list[Stage]:
    """The stages of a model with a ``features`` (convolutions, pooling) and a ``head`` Sequential,
    such as :class:`~course_lib.imaging.models.CompactCNN`.

    A stage ends after each convolution block (conv + its batch norm + ReLU) and after each pooling
    layer; the head adds global average pooling and the output. Shapes come from a forward pass of
    one zero image ``(1, *input_shape)`` in eval mode (the model's mode is restored).

    Returns:
        ``[Stage("input", (1, 28, 28), 1), Stage("conv 3×3 + BN + ReLU", (16, 28, 28), 3), ...,
        Stage("global average pooling", (64,), None), Stage("dropout + linear", (1,), None)]``.
    """
    if not isinstance(getattr(model, "features", None), nn.Sequential) or not isinstance(
            getattr(model, "head", None), nn.Sequential):
        raise TypeError("model must have `features` and `head` nn.Sequential parts (e.g. CompactCNN)")
    if len(input_shape) != 3 or not all(isinstance(n, int) and n > 0 for n in input_shape):
        raise ValueError(f"input_shape must be (C, H, W) positive ints, got {input_shape!r}")
    stages = [Stage("input", tuple(input_shape), 1)]
    layers: list[tuple[int, int]] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, *input_shape)
            pending = None
            for module in model.features:
                x = module(x)
                if isinstance(module, nn.Conv2d):
                    layers.append(_kernel_stride(module))
                    kernel = layers[-1][0]
                    pending = f"conv {kernel}×{kernel}"
                elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                    layers.append(_kernel_stride(module))
                    kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
                    stages.append(Stage(f"{kind} pool {layers[-1][0]}×{layers[-1][0]}", tuple(x.shape[1:]),
                                        receptive_field(layers)[-1]))
                elif isinstance(module, nn.BatchNorm2d) and pending:
                    pending += " + BN"
                elif isinstance(module, nn.ReLU) and pending:
                    stages.append(Stage(pending + " + ReLU", tuple(x.shape[1:]), receptive_field(layers)[-1]))
                    pending = None
            if pending:
                stages.append(Stage(pending, tuple(x.shape[1:]), receptive_field(layers)[-1]))
            pooled = x.mean(dim=(2, 3))
            stages.append(Stage("global average pooling", tuple(pooled.shape[1:]), None))
            out = model.head(x)
            stages.append(Stage("dropout + linear", tuple(out.shape[1:]), None))
    finally:
        model.train(was_training)
    return stages


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in shape)


def plot_cnn_architecture(model: nn.Module, input_shape: tuple[int, int, int] = (1, 28, 28),
                          title: str | None = "CompactCNN: feature maps and receptive fields") -> Figure:
    """Draw the network's feature maps and the receptive field of each layer; returns the Figure.

    Left: one box per stage of :func:`feature_map_shapes`, height proportional to the map's side,
    width growing with the number of channels, labelled ``C × H × W`` and with the layer that made
    it; the vectors after global average pooling are thin bars. Right: the input grid with the
    receptive field of the centre unit of each layer drawn as a square of that many pixels.
    """
    stages = feature_map_shapes(model, input_shape)
    fig, (ax, ax_rf) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [3.2, 1]},
                                    layout="constrained")
    side = max(input_shape[1:])
    max_channels = max(stage.shape[0] for stage in stages)
    x_pos, gap = 0.0, 1.1
    colours = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, len(stages)))
    centres = []
    for index, stage in enumerate(stages):
        if len(stage.shape) == 3:
            height = 0.4 + 2.6 * stage.shape[1] / side
            width = 0.25 + 0.9 * np.log2(1 + stage.shape[0]) / np.log2(1 + max_channels)
        else:                                                             # a vector
            height, width = 0.4 + 2.2 * min(stage.shape[0], max_channels) / max_channels, 0.18
        ax.add_patch(Rectangle((x_pos, -height / 2), width, height, facecolor=colours[index], alpha=0.8,
                               edgecolor="black"))
        ax.text(x_pos + width / 2, -1.65, _shape_text(stage.shape), ha="center", va="top", fontsize=8)
        ax.text(x_pos + width / 2, 1.55, stage.label.replace(" + ", "\n+ ").replace("global average ", "global\naverage\n"), ha="center", va="bottom",
                fontsize=7.5)
        if stage.receptive_field is not None and index > 0:
            ax.text(x_pos + width / 2, -2.05, f"RF {stage.receptive_field} px", ha="center", va="top",
                    fontsize=7.5, color="darkred")
        centres.append((x_pos, x_pos + width))
        x_pos += width + gap
    for (_, end), (start, _) in zip(centres[:-1], centres[1:]):
        ax.add_patch(FancyArrowPatch((end + 0.05, 0), (start - 0.05, 0), arrowstyle="-|>", mutation_scale=10,
                                     color="0.3"))
    ax.text(0, -2.6, "box height ∝ map size, width ∝ log(channels); below: channels × height × width and the "
            "receptive field (RF) of one unit", fontsize=8, va="top", color="0.3")
    ax.set_xlim(-0.3, x_pos - gap + 0.3)
    ax.set_ylim(-3.0, 2.6)
    ax.axis("off")

    # receptive fields of the centre unit, on the input grid
    ax_rf.set_xlim(0, input_shape[2])
    ax_rf.set_ylim(input_shape[1], 0)
    ax_rf.set_aspect("equal")
    for i in range(input_shape[1] + 1):
        ax_rf.axhline(i, color="0.85", lw=0.4)
    for j in range(input_shape[2] + 1):
        ax_rf.axvline(j, color="0.85", lw=0.4)
    spatial = [s for s in stages[1:] if s.receptive_field is not None]
    fields = sorted({s.receptive_field for s in spatial})
    cmap = plt.get_cmap("plasma")(np.linspace(0.1, 0.85, len(fields)))
    cy, cx = input_shape[1] / 2, input_shape[2] / 2
    for colour, size in zip(cmap, fields):
        shown = min(size, min(input_shape[1:]))
        ax_rf.add_patch(Rectangle((cx - shown / 2, cy - shown / 2), shown, shown, fill=False, edgecolor=colour,
                                  lw=1.8, label=f"{size} px"))
    ax_rf.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=7, title="receptive field",
                 title_fontsize=8, frameon=False)
    ax_rf.set_title(f"receptive fields on the {input_shape[1]} × {input_shape[2]} input", fontsize=9)
    ax_rf.set_xticks([])
    ax_rf.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig
