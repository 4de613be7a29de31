"""Small data and transfer learning: the pieces of notebook 07 (BreastMNIST breast ultrasound).

- :func:`load_breastmnist` — BreastMNIST through the data layer, as :class:`~course_lib.imaging.data.ImageSplits`
  (uint8 ``(N, 28, 28)`` images; label 0 malignant, 1 normal or benign; train 546 / val 78 / test 156);
- :func:`transfer_weights` — copy a trained network's weights into a fresh one of the same
  architecture, all but its output layer; :func:`set_trainable` freezes or unfreezes a part;
- :func:`train_for_epochs` — a fixed number of epochs that keeps the *last* weights: nothing is
  chosen on a validation split of 78 images (it may be watched);
- :func:`penultimate_features` — the 64 numbers a :class:`~course_lib.imaging.models.CompactCNN`
  computes before its output layer (for a linear probe on frozen features);
- :func:`curve_epochs` — more epochs for smaller training subsets, ``round(epochs / sqrt(fraction))``;
- :func:`plot_transfer_diagram` and :func:`plot_learning_curve` — the notebook's two figures of its own.

>>> loaded, data = load_breastmnist(allow_fallback=True)       # doctest: +SKIP
>>> copied = transfer_weights(chest_xray_cnn, CompactCNN())     # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from course_lib.data import LoadedDataset, load_dataset
from course_lib.environment import select_device
from course_lib.imaging.data import ImageSplits, make_loader, splits_from_arrays
from course_lib.imaging.diagrams import feature_map_shapes
from course_lib.training import History, predict

BREAST_CLASS_NAMES = ("malignant", "normal or benign")
"""BreastMNIST's labels: 0 is a malignant lesion, 1 a normal scan or a benign lesion."""


def load_breastmnist(*, allow_fallback: bool = True, **load_kwargs) -> tuple[LoadedDataset, ImageSplits]:
    """BreastMNIST through :func:`course_lib.data.load_dataset` (mirror, cache, checksummed download,
    or — with ``allow_fallback`` — the labelled synthetic stand-in), wrapped as :class:`ImageSplits`
    with the normalisation fitted on its training images.

    ``load_kwargs`` (``mirrors``, ``cache_dir``, ``offline``, ...) are passed on to ``load_dataset``.
    Seal the test split right away: ``test = data.seal("test")``.
    """
    if not isinstance(allow_fallback, bool):
        raise TypeError(f"allow_fallback must be True or False, got {allow_fallback!r}")
    loaded = load_dataset("breastmnist", allow_fallback=allow_fallback, **load_kwargs)
    return loaded, splits_from_arrays(loaded.data, provenance=loaded.provenance, source=str(loaded.source))


def _check_module(value: object, name: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def transfer_weights(source: nn.Module, target: nn.Module, *, exclude: Sequence[str] = ("head.",)) -> list[str]:
    """Copy ``source``'s parameters and buffers (batch-norm running statistics included) into
    ``target``, except those whose name starts with a prefix in ``exclude`` (by default the output
    layer, ``head.``, which a new task needs fresh). ``target`` is changed in place; ``source`` is not.

    Returns:
        The names of the copied state-dict entries, in ``target``'s order.

    Raises:
        TypeError: ``source`` or ``target`` is not a module, or ``exclude`` is not a sequence of str.
        ValueError: an entry to copy is missing from ``source`` or has another shape there (the two
            networks must share the architecture of everything that is copied), or nothing is left
            to copy.
    """
    _check_module(source, "source")
    _check_module(target, "target")
    if isinstance(exclude, str) or not all(isinstance(prefix, str) for prefix in exclude):
        raise TypeError(f"exclude must be a sequence of name prefixes (str), got {exclude!r}")
    source_state = source.state_dict()
    target_state = target.state_dict()
    copied = []
    for name, value in target_state.items():
        if any(name.startswith(prefix) for prefix in exclude):
            continue
        if name not in source_state:
            raise ValueError(f"source has no entry {name!r}: the architectures differ")
        if source_state[name].shape != value.shape:
            raise ValueError(f"{name!r}: source shape {tuple(source_state[name].shape)} differs from the "
                             f"target's {tuple(value.shape)}")
        copied.append(name)
    if not copied:
        raise ValueError(f"nothing to copy: every entry of target starts with one of {list(exclude)}")
    with torch.no_grad():
        for name in copied:
            target_state[name].copy_(source_state[name])
    return copied


def set_trainable(module: nn.Module, trainable: bool) -> int:
    """Set ``requires_grad`` of every parameter of ``module`` (a whole model or a part such as
    ``model.features``) to ``trainable``; returns how many parameters (numbers) that concerns.

    A frozen parameter (``trainable=False``) gets no gradient, so no optimizer changes it. Batch
    norm's running statistics are buffers, not parameters: they still update in training mode
    (put the part in ``eval()`` mode to keep them too).
    """
    _check_module(module, "module")
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be True or False, got {trainable!r}")
    count = 0
    for parameter in module.parameters():
        parameter.requires_grad_(trainable)
        count += parameter.numel()
    return count


def train_for_epochs(
    model: nn.Module,
    train_loader: Iterable,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    scheduler=None,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
) -> History:
    """Train ``model`` for exactly ``epochs`` epochs and keep the last weights.

    Unlike :func:`course_lib.training.fit`, no epoch is selected on validation: with a validation
    split of a few dozen images, "the best epoch" would be chosen by noise. ``scheduler`` (if any)
    is stepped after every batch (e.g. ``OneCycleLR``). With a ``val_loader`` the validation loss is
    recorded after each epoch, to watch — it changes nothing.

    Returns:
        A :class:`course_lib.training.History`: ``train_loss`` per epoch (mean over the batches, in
        training mode), ``val_loss`` per epoch (empty without ``val_loader``), ``best_epoch`` the
        last epoch (``epochs - 1``), ``seconds`` of training.
    """
    _check_module(model, "model")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be callable as loss_fn(outputs, targets)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    device = torch.device(device) if device is not None else select_device()
    model.to(device)
    history = History(metric_name="loss")
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(targets)
            count += len(targets)
        if count == 0:
            raise ValueError("train_loader produced no batches")
        history.train_loss.append(total / count)
        if val_loader is not None:
            outputs, targets = predict(model, val_loader, device=device)
            with torch.no_grad():
                val_loss = float(loss_fn(torch.from_numpy(outputs).to(device), torch.from_numpy(targets).to(device)))
            history.val_loss.append(val_loss)
            history.val_metric.append(val_loss)
    model.eval()
    history.best_epoch = epochs - 1
    history.best_metric = history.val_loss[-1] if history.val_loss else float("nan")
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor, *, batch_size: int = 512) -> np.ndarray:
    """The numbers a CompactCNN-like model (``features`` and ``head`` Sequentials, the head starting
    with global average pooling and flatten) hands to its dropout and output layer: float32
    ``(N, C)`` for images ``x`` float ``(N, 1, H, W)``, computed in eval mode (the model's mode is
    restored)."""
    _check_module(model, "model")
    if not isinstance(getattr(model, "features", None), nn.Sequential) or not isinstance(
            getattr(model, "head", None), nn.Sequential):
        raise TypeError("model must have `features` and `head` nn.Sequential parts (e.g. CompactCNN)")
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        parts = [model.head[:2](model.features(x[i:i + batch_size].to(device))).cpu()
                 for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(parts).numpy().astype(np.float32)


def curve_epochs(epochs: int, fraction: float) -> int:
    """Epochs for a training subset of ``fraction`` of the images: ``round(epochs / sqrt(fraction))``.

    A smaller subset makes shorter epochs; this gives it more of them, yet fewer images seen in total
    (``epochs * sqrt(fraction)`` passes' worth) than the full run, so the small runs are not starved
    of optimizer steps nor given more compute than the full one.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    return max(1, int(round(epochs / math.sqrt(fraction))))


# --------------------------------------------------------------------------------------- figures
def plot_transfer_diagram(model: nn.Module, *, source: str = "PneumoniaMNIST chest X-rays",
                          target: str = "BreastMNIST ultrasound",
                          title: str | None = "Transfer: the same CNN, trained twice") -> Figure:
    """Two rows of the model's stages (from :func:`~course_lib.imaging.diagrams.feature_map_shapes`):
    the network trained on ``source`` (top) and the one for ``target`` (bottom). Arrows mark the
    stages whose weights are copied down (every convolution block); the output layer is drawn in a
    different colour: it is new for the target task. Returns the Figure."""
    _check_module(model, "model")
    for name, value in (("source", source), ("target", target)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty task name, got {value!r}")
    stages = feature_map_shapes(model)
    fig, ax = plt.subplots(figsize=(12, 4.2), layout="constrained")
    gap, x_pos, boxes = 0.55, 0.0, []
    for stage in stages:
        width = 0.95 if len(stage.shape) == 3 else 0.6
        boxes.append((x_pos, width, stage))
        x_pos += width + gap
    copied_colour, new_colour, plain = "#4c72b0", "#dd8452", "0.85"
    for row, (y, task) in enumerate(((1.6, source), (0.0, target))):
        ax.text(-0.25, y + 0.35, task, ha="right", va="center", fontsize=9, fontweight="bold")
        for index, (x, width, stage) in enumerate(boxes):
            learned = stage.label.startswith("conv")
            head = stage.label.startswith("dropout")
            colour = copied_colour if learned else (new_colour if head and row == 1 else plain)
            if head and row == 0:
                colour = "0.6"
            ax.add_patch(Rectangle((x, y), width, 0.7, facecolor=colour, edgecolor="black", alpha=0.85))
            text = stage.label.replace(" + ", "\n+ ").replace("global average pooling", "global avg\npool")
            ax.text(x + width / 2, y + 0.35, text, ha="center", va="center", fontsize=6.5,
                    color="white" if learned else "black")
            if row == 1:
                ax.text(x + width / 2, y - 0.08, " × ".join(map(str, stage.shape)), ha="center", va="top",
                        fontsize=7)
                if learned:
                    ax.add_patch(FancyArrowPatch((x + width / 2, 1.58), (x + width / 2, 0.72), arrowstyle="-|>",
                                                 mutation_scale=9, color=copied_colour))
            if index + 1 < len(boxes):
                ax.add_patch(FancyArrowPatch((x + width + 0.03, y + 0.35), (x + width + gap - 0.03, y + 0.35),
                                             arrowstyle="-|>", mutation_scale=8, color="0.4"))
    ax.text(boxes[-1][0] + boxes[-1][1] / 2, 2.4, "output layer: trained\nfor the source task", ha="center",
            va="bottom", fontsize=7)
    ax.text(boxes[-1][0] + boxes[-1][1] / 2, -0.45, "new output layer\n(fresh weights)", ha="center", va="top",
            fontsize=7, color=new_colour)
    ax.text(0, -0.95, "blue: convolution blocks whose weights (and batch-norm statistics) are copied down, then "
            "fine-tuned on the target task", fontsize=8, color=copied_colour, va="top")
    ax.set_xlim(-3.2, x_pos - gap + 0.3)
    ax.set_ylim(-1.3, 2.9)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_learning_curve(summary: pd.DataFrame, *, ax: Axes | None = None, ylabel: str = "test AUC",
                        title: str | None = None, colours: Sequence | None = None) -> Axes:
    """Mean ± std of a score against the number of training images (log scale), one line per model.

    Args:
        summary: one row per (model, size) with columns ``model``, ``images`` (training images used),
            ``mean`` and ``std`` (over seeds).
        ax: where to draw (default: a new figure).
        colours: one colour per model, in order of first appearance (default: matplotlib's cycle).

    Returns:
        The Axes.
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame, got {type(summary).__name__}")
    missing = {"model", "images", "mean", "std"} - set(summary.columns)
    if missing:
        raise ValueError(f"summary lacks the columns {sorted(missing)}")
    if summary.empty:
        raise ValueError("summary has no rows")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    models = list(dict.fromkeys(summary["model"]))
    for index, model in enumerate(models):
        rows = summary[summary["model"] == model].sort_values("images")
        colour = None if colours is None else colours[index % len(colours)]
        ax.errorbar(rows["images"], rows["mean"], yerr=rows["std"], marker="o", capsize=3, label=model,
                    color=colour)
    ax.set_xscale("log")
    sizes = sorted(set(summary["images"]))
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(int(s)) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel(ylabel + " (mean ± std over seeds)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
