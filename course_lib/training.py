"""Seeds, devices and one short training loop, first written out in notebook 01.

``fit`` trains for at most ``epochs`` epochs, evaluates a validation metric after each, stops early
when it has not improved for ``patience`` epochs and restores the best weights (a deep copy of the
state dict, not a reference to the live model).
"""

from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from course_lib.environment import select_device  # noqa: F401  (re-exported: notebooks import it from here)

Forward = Callable[[nn.Module, Any, torch.device], tuple[torch.Tensor, torch.Tensor]]
Metric = Callable[[np.ndarray, np.ndarray], float]


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch (CPU and GPU) so a CPU run repeats exactly; returns ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses (e.g. DataLoader workers)
    return seed


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def default_forward(model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward pass for ``(inputs, targets)`` batches; returns ``(outputs, targets)`` on ``device``."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError("default_forward expects (inputs, targets) batches; "
                        "pass forward=... to fit() for other batch types")
    inputs, targets = batch
    return model(inputs.to(device)), targets.to(device)


@dataclass
class History:
    """What happened during :func:`fit`: one entry per epoch.

    ``train_loss`` is the mean of the batch losses during the epoch (in training mode, so with
    dropout active and weights still changing); ``val_loss`` and ``val_metric`` are computed after
    the epoch in evaluation mode.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    metric_name: str = "metric"
    best_epoch: int = -1  # 0-based index into the lists above
    best_metric: float = float("nan")
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        return {"train_loss": self.train_loss, "val_loss": self.val_loss,
                f"val_{self.metric_name}": self.val_metric}


@torch.no_grad()
def predict(
    model: nn.Module, loader: Iterable, *, device: torch.device | str | None = None,
    forward: Forward = default_forward,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over ``loader`` in eval mode; returns ``(outputs, targets)`` as NumPy arrays
    concatenated along the first axis."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if device is None:
        first = next(model.parameters(), None)  # a model without parameters runs on the CPU
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    model.eval()
    outputs, targets = [], []
    for batch in loader:
        output, target = forward(model, batch, device)
        outputs.append(output.detach().float().cpu())
        targets.append(target.detach().cpu())
    if not outputs:
        raise ValueError("loader produced no batches")
    return torch.cat(outputs).numpy(), torch.cat(targets).numpy()


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    metric: Metric | None = None,
    metric_name: str = "metric",
    mode: str = "max",
    patience: int | None = None,
    min_delta: float = 0.0,
    scheduler: Any = None,
    scheduler_step: str = "epoch",
    grad_clip: float | None = None,
    forward: Forward = default_forward,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` and keep the weights of its best validation epoch.

    Args:
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor``.
        metric: ``metric(targets, outputs) -> float`` on the whole validation set (NumPy arrays, as
            returned by :func:`predict`). Without one, the validation loss is the metric (``mode``
            is then forced to ``"min"``).
        mode: ``"max"`` if a larger metric is better (AUC, accuracy), ``"min"`` otherwise (RMSE).
        patience: stop after this many epochs without improvement (``None``: never stop early).
        min_delta: the smallest change that counts as an improvement.
        scheduler: a learning-rate scheduler stepped every ``"batch"`` or every ``"epoch"``.
        grad_clip: clip the gradient norm to this value (useful for recurrent networks).
        forward: ``forward(model, batch, device) -> (outputs, targets)``, for batches that are not
            ``(inputs, targets)`` tuples (graphs, tokenized text).
        progress: show a tqdm bar over epochs with the latest losses and metric.

    Returns:
        A :class:`History`; ``model`` holds the weights of ``history.best_epoch`` afterwards.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be a positive int or None, got {patience!r}")
    if scheduler_step not in ("batch", "epoch"):
        raise ValueError(f"scheduler_step must be 'batch' or 'epoch', got {scheduler_step!r}")
    if metric is None:
        mode, metric_name = "min", "loss"
    device = torch.device(device) if device is not None else select_device()
    model.to(device)

    from tqdm.auto import tqdm

    history = History(metric_name=metric_name)
    best_state: dict[str, torch.Tensor] | None = None
    sign = 1.0 if mode == "max" else -1.0
    waited = 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=True)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in train_loader:
            outputs, targets = forward(model, batch, device)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
            size = len(targets)
            total += loss.item() * size
            count += size
        if scheduler is not None and scheduler_step == "epoch":
            scheduler.step()
        history.train_loss.append(total / max(count, 1))

        val_outputs, val_targets = predict(model, val_loader, device=device, forward=forward)
        with torch.no_grad():
            val_loss = float(loss_fn(torch.from_numpy(val_outputs), torch.from_numpy(val_targets)))
        history.val_loss.append(val_loss)
        score = float(metric(val_targets, val_outputs)) if metric is not None else val_loss
        history.val_metric.append(score)

        if best_state is None or sign * (score - history.best_metric) > min_delta:
            history.best_metric, history.best_epoch, waited = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        # one dict: without a metric, metric_name is "loss" and val_loss would be passed twice
        bar.set_postfix({"train_loss": f"{history.train_loss[-1]:.4f}", "val_loss": f"{val_loss:.4f}",
                         f"val_{metric_name}": f"{score:.4f}"})
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history
