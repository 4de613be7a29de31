"""Figures of notebook 06's architectures, drawn with matplotlib from the models themselves.

- :func:`autoencoder_blocks` runs one blank image through a
  :class:`~course_lib.generative.autoencoders.ConvAutoencoder` or
  :class:`~course_lib.generative.autoencoders.VariationalAutoencoder` and lists every tensor it
  makes on the way (a :class:`Block`: a label and a shape, e.g. ``(32, 7, 7)`` or ``(16,)``);
  :func:`plot_autoencoder` draws them left to right, the code (the bottleneck) in red.
- :func:`gan_blocks` does the same for a :class:`~course_lib.generative.gan.Generator` and a
  :class:`~course_lib.generative.gan.Discriminator`; :func:`plot_gan` draws the two networks one
  above the other.

Boxes: a feature map ``(C, H, W)`` is a box whose height grows with ``H`` and whose width grows with
``log C``; a vector ``(D,)`` is a thin bar whose height grows with ``log D``. Shapes are read from a
forward pass in evaluation mode without gradients; the models' modes are restored.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from course_lib.generative.autoencoders import ConvAutoencoder, VariationalAutoencoder
from course_lib.generative.gan import Discriminator, Generator

#: Colour of the bottleneck (the code) and of the label path in the figures.
CODE_COLOUR = "#c0392b"


@dataclass(frozen=True)
class Block:
    """One tensor inside a network: ``label`` (the layer that made it) and its ``shape`` without the
    batch axis, ``(C, H, W)`` for a feature map or ``(D,)`` for a vector; ``code`` marks the bottleneck
    (or, in a GAN, the noise and the label)."""

    label: str
    shape: tuple[int, ...]
    code: bool = False


def _layer_name(module: nn.Module) -> str | None:
    """A short name for a layer that changes the shape, ``None`` for one that does not."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        kind = "conv" if isinstance(module, nn.Conv2d) else "transposed conv"
        return f"{kind} {module.kernel_size[0]}×{module.kernel_size[1]}, stride {module.stride[0]}"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, nn.Unflatten):
        return "reshape"
    if isinstance(module, nn.Flatten):
        return "flatten"
    return None


_EXTRAS = {nn.ReLU: "ReLU", nn.LeakyReLU: "LeakyReLU", nn.BatchNorm2d: "BN", nn.BatchNorm1d: "BN",
           nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}


def _run(modules, x: torch.Tensor, blocks: list[Block]) -> torch.Tensor:
    """Run ``x`` through ``modules`` in order, appending a Block after each shape-changing layer and
    adding activations / batch norms that follow it to that block's label."""
    for module in modules:
        x = module(x)
        name = _layer_name(module)
        if name is not None:
            blocks.append(Block(name, tuple(x.shape[1:])))
            continue
        extra = next((text for kind, text in _EXTRAS.items() if isinstance(module, kind)), None)
        if extra and blocks:
            last = blocks[-1]
            blocks[-1] = Block(f"{last.label} + {extra}", last.shape, last.code)
    return x


class _EvalMode:
    """Context: the given models in evaluation mode, without gradients; modes restored on exit."""

    def __init__(self, *models: nn.Module):
        self.models = models

    def __enter__(self):
        self.modes = [{m: m.training for m in model.modules()} for model in self.models]
        self.no_grad = torch.no_grad()
        self.no_grad.__enter__()
        for model in self.models:
            model.eval()

    def __exit__(self, *exc):
        self.no_grad.__exit__(*exc)
        for modes in self.modes:
            for module, training in modes.items():
                module.training = training
        return False


def _first_device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def autoencoder_blocks(model) -> list[Block]:
    """The tensors inside ``model`` for one 28×28 image, in order.

    For a :class:`ConvAutoencoder`: the input, the two encoder feature maps, the flattened features,
    the code ``z`` (``code=True``), then the decoder's tensors up to the output logits ``(1, 28, 28)``.
    For a :class:`VariationalAutoencoder` the code is three blocks: ``mean`` and ``log-variance`` and
    the draw ``z = mean + σ·ε`` (all ``code=True``).
    """
    if not isinstance(model, (ConvAutoencoder, VariationalAutoencoder)):
        raise TypeError(f"model must be a ConvAutoencoder or VariationalAutoencoder, got {type(model).__name__}")
    blocks = [Block("input image", (1, 28, 28))]
    with _EvalMode(model):
        x = torch.zeros(1, 1, 28, 28, device=_first_device(model))
        features = _run(model.encoder.body, x, blocks)
        if isinstance(model, VariationalAutoencoder):
            mean, logvar = model.to_mean(features), model.to_logvar(features)
            blocks += [Block("linear: mean", tuple(mean.shape[1:]), True),
                       Block("linear: log-variance", tuple(logvar.shape[1:]), True),
                       Block("z = mean + σ·ε", tuple(mean.shape[1:]), True)]
            z = mean
        else:
            z = model.to_code(features)
            blocks.append(Block("linear: code z", tuple(z.shape[1:]), True))
        _run(model.decoder.body, z, blocks)
    blocks[-1] = Block(blocks[-1].label + " → logits", blocks[-1].shape)
    return blocks


def gan_blocks(generator, discriminator) -> tuple[list[Block], list[Block]]:
    """The tensors inside a conditional GAN for one image: ``(generator_blocks, discriminator_blocks)``.

    Generator: noise ``z`` and the label embedding (both ``code=True``), their concatenation, the
    projection reshaped to 7×7 maps, and the transposed convolutions up to the ``(1, 28, 28)`` image.
    Discriminator: the image, its convolutions, the flattened features φ, and the logit ``(1,)``
    computed as ``linear(φ) + <embed(label), φ>`` (the projection).
    """
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a Generator, got {type(generator).__name__}")
    if not isinstance(discriminator, Discriminator):
        raise TypeError(f"discriminator must be a Discriminator, got {type(discriminator).__name__}")
    with _EvalMode(generator, discriminator):
        label = torch.zeros(1, dtype=torch.long, device=_first_device(generator))
        z = torch.zeros(1, generator.latent_dim, device=label.device)
        embedded = generator.embed(label)
        g_blocks = [Block("noise z", tuple(z.shape[1:]), True),
                    Block("label embedding", tuple(embedded.shape[1:]), True)]
        joined = torch.cat([z, embedded], dim=1)
        g_blocks.append(Block("concatenate", tuple(joined.shape[1:])))
        hidden = generator.project(joined)
        g_blocks.append(Block("linear", tuple(hidden.shape[1:])))
        maps = hidden.view(1, 2 * generator.width, 7, 7)
        g_blocks.append(Block("reshape", tuple(maps.shape[1:])))
        _run(generator.body, maps, g_blocks)

        d_blocks = [Block("image", (1, 28, 28))]
        image = torch.zeros(1, 1, 28, 28, device=_first_device(discriminator))
        phi = _run(discriminator.body, image, d_blocks)
        d_blocks[-1] = Block("features φ", d_blocks[-1].shape)
        logit = discriminator(image, label.to(image.device))
        d_blocks.append(Block("linear(φ)\n+ ⟨embed(label), φ⟩", (int(logit.numel()),)))
        assert phi.shape[1] == discriminator.n_features
    return g_blocks, d_blocks


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in shape)


def _box_size(shape: tuple[int, ...], largest_side: int, most_channels: int) -> tuple[float, float]:
    """(width, height) of a block in the figure's units."""
    if len(shape) == 3:
        height = 0.5 + 2.4 * shape[1] / largest_side
        width = 0.25 + 0.8 * np.log2(1 + shape[0]) / np.log2(1 + most_channels)
        return width, height
    return 0.16, 0.35 + 0.12 * np.log2(1 + shape[0])


def _draw_row(ax: plt.Axes, blocks: list[Block], y: float, *, stacked: tuple[int, ...] = ()) -> None:
    """Draw ``blocks`` left to right at height ``y``. A block whose index is in ``stacked`` shares the
    column of the block before it: the two are drawn one above the other (e.g. mean and log-variance)."""
    side = max(b.shape[1] for b in blocks if len(b.shape) == 3)
    channels = max(b.shape[0] for b in blocks if len(b.shape) == 3)
    columns: list[list[int]] = []
    for index in range(len(blocks)):
        if index in stacked and columns:
            columns[-1].append(index)
        else:
            columns.append([index])
    colours = plt.get_cmap("viridis")(np.linspace(0.2, 0.85, len(blocks)))
    x, gap, previous_end = 0.0, 1.15, None
    for column in columns:
        sizes = [_box_size(blocks[i].shape, side, channels) for i in column]
        width = max(w for w, _ in sizes)
        offsets = [0.0] if len(column) == 1 else [sizes[0][1] / 2 + 0.4, -(sizes[1][1] / 2 + 0.4)]
        for index, (w, height), offset in zip(column, sizes, offsets):
            block, centre = blocks[index], y + offset
            ax.add_patch(Rectangle((x + (width - w) / 2, centre - height / 2), w, height, alpha=0.85,
                                   facecolor=CODE_COLOUR if block.code else colours[index], edgecolor="black"))
            ax.text(x + width / 2, centre - height / 2 - 0.06, _shape_text(block.shape), ha="center", va="top",
                    fontsize=7.5)
            label = block.label.replace(" + ", "\n+ ").replace(", stride", ",\nstride")
            ax.text(x + width / 2, centre + height / 2 + 0.06, label, ha="center", va="bottom", fontsize=7,
                    color=CODE_COLOUR if block.code else "black")
        if previous_end is not None:
            ax.add_patch(FancyArrowPatch((previous_end + 0.05, y), (x - 0.05, y), arrowstyle="-|>",
                                         mutation_scale=9, color="0.35"))
        previous_end = x + width
        x += width + gap
    ax.set_xlim(min(ax.get_xlim()[0], -0.4), max(ax.get_xlim()[1], x - gap + 0.4))


def _finish(ax: plt.Axes, y_low: float, y_high: float, note: str) -> None:
    ax.text(0, y_low + 0.1, note, fontsize=7.5, color="0.3", va="bottom")
    ax.set_ylim(y_low, y_high)
    ax.axis("off")


def plot_autoencoder(model, title: str | None = None) -> Figure:
    """Draw :func:`autoencoder_blocks` of ``model`` in one row (the code in red); returns the Figure.

    For a VAE, ``mean`` and ``log-variance`` are drawn one above the other before the draw ``z``.
    """
    blocks = autoencoder_blocks(model)
    vae = isinstance(model, VariationalAutoencoder)
    fig, ax = plt.subplots(figsize=(13, 3.9), layout="constrained")
    ax.set_xlim(0, 1)
    stacked = (next(i for i, b in enumerate(blocks) if b.label == "linear: log-variance"),) if vae else ()
    _draw_row(ax, blocks, 0.0, stacked=stacked)
    kind = "Variational autoencoder" if vae else "Convolutional autoencoder"
    ax.set_title(title or f"{kind}: encoder → {model.latent_dim}-number code → decoder", fontsize=11)
    _finish(ax, -2.5, 2.6, "box height ∝ map size, width ∝ log(channels); thin bars are vectors; "
            "below each: its shape. Red: the code" + (" (ε ~ N(0, I) is drawn fresh each time)" if vae else ""))
    return fig


def plot_gan(generator, discriminator, title: str | None = None) -> Figure:
    """Draw :func:`gan_blocks`: the generator (top row) and the discriminator (bottom row); returns the Figure."""
    g_blocks, d_blocks = gan_blocks(generator, discriminator)
    fig, ax = plt.subplots(figsize=(13, 7.0), layout="constrained")
    ax.set_xlim(0, 1)
    _draw_row(ax, g_blocks, 3.3, stacked=(1,))
    _draw_row(ax, d_blocks, -0.9)
    ax.text(-0.3, 5.6, "Generator: noise + label → image in [-1, 1]", fontsize=10, fontweight="bold")
    ax.text(-0.3, 1.3, "Discriminator: image + label → logit 'real'", fontsize=10, fontweight="bold")
    ax.set_title(title or "Conditional DCGAN (projection discriminator)", fontsize=11)
    _finish(ax, -3.0, 6.0, "box height ∝ map size, width ∝ log(channels); thin bars are vectors. Red: the "
            "generator's inputs. The discriminator sees the same label as the image it judges.")
    return fig


def plot_image_rows(rows, *, row_titles=None, titles=None, size: float = 1.2, title: str | None = None) -> Figure:
    """Rows of grey images on one fixed scale (0 black, 1 white), so that brightness compares across
    images (an original and its reconstruction, real and generated X-rays); returns the Figure.

    Args:
        rows: a sequence of image batches, each ``(n_i, H, W)`` or ``(n_i, 1, H, W)``, ``uint8`` or floats
            in ``[0, 1]`` (see :func:`course_lib.generative.images.as_unit_images`); rows may differ in length.
        row_titles: one label per row, written to the left of it.
        titles: one sequence of per-image titles per row (or ``None``).
        size: inches per image.
    """
    from course_lib.generative.images import as_unit_images

    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__len__") or len(rows) == 0:
        raise ValueError("rows must be a non-empty sequence of image batches")
    batches = [as_unit_images(row, f"rows[{i}]", size=None)[:, 0].numpy() for i, row in enumerate(rows)]
    for name, labels in (("row_titles", row_titles), ("titles", titles)):
        if labels is not None and len(labels) != len(batches):
            raise ValueError(f"{name} must have one entry per row ({len(batches)}), got {len(labels)}")
    if titles is not None:
        for i, (row, names) in enumerate(zip(batches, titles)):
            if names is not None and len(names) != len(row):
                raise ValueError(f"titles[{i}] has {len(names)} entries for {len(row)} images")
    ncols = max(len(b) for b in batches)
    figsize = (size * ncols + (1.2 if row_titles else 0.0), size * len(batches) + 0.5)
    fig, axes = plt.subplots(len(batches), ncols, figsize=figsize, squeeze=False, layout="constrained")
    for r, batch in enumerate(batches):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(batch):
                ax.axis("off")
                continue
            ax.imshow(batch[c], cmap="gray", vmin=0.0, vmax=1.0)
            if titles is not None and titles[r] is not None:
                ax.set_title(titles[r][c], fontsize=7)
            for spine in ax.spines.values():
                spine.set_visible(False)
        if row_titles is not None:
            axes[r, 0].set_ylabel(row_titles[r], fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
