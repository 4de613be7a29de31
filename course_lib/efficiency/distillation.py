"""Knowledge distillation (Hinton et al. 2015): a small student learns from a large teacher's logits.

The teacher's logits, softened by a temperature ``T``, carry more than the hard label: how sure the
teacher is, which wrong class looks most alike. The student minimises

    ``alpha * T**2 * KL(p_teacher(T) || p_student(T)) + (1 - alpha) * CE(labels, student)``

- multi-class logits ``(N, C)``: ``p(T) = softmax(logits / T)``, the KL divergence averaged over
  the ``N`` samples;
- one binary logit ``(N,)`` (as :class:`course_lib.imaging.models.CompactCNN` outputs):
  ``p(T) = sigmoid(logit / T)``, the KL divergence of two Bernoulli distributions, which is exactly
  the two-class case with logits ``(0, logit)``. It equals binary cross-entropy with the soft target
  ``sigmoid(t / T)`` minus that target's entropy (a constant), so it has the same gradients as "BCE
  with soft labels" and is zero when student and teacher agree.

``T**2`` keeps the soft term's gradients on the scale of the hard term's as ``T`` grows (the
gradients of the softened term shrink as ``1 / T**2``). ``alpha = 0`` is plain training on the
labels; ``alpha = 1`` ignores the labels.

:func:`distil` trains with :func:`course_lib.training.fit`: the teacher's logits are computed once
(:func:`teacher_logits`) and travel with the labels as extra target columns, ``targets[:, 0]`` the
label and ``targets[:, 1:]`` the teacher's logit(s), so ``fit``'s validation (``predict``
concatenates target tensors) and early stopping on the validation AUC with the labels work as usual.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.imaging.models import CompactCNN
from course_lib.training import History, fit, seed_everything


def _check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_temperature_alpha(temperature, alpha) -> tuple[float, float]:
    temperature = _check_number(temperature, "temperature")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    alpha = _check_number(alpha, "alpha")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return temperature, alpha


def _soft_binary(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean KL(Bernoulli(sigmoid(t/T)) || Bernoulli(sigmoid(s/T))) over the batch."""
    target = torch.sigmoid(teacher / temperature)
    cross = F.binary_cross_entropy_with_logits(student / temperature, target, reduction="none")
    # the entropy of the soft target, from the teacher logits directly (no log(0) for saturated ones)
    entropy = F.binary_cross_entropy_with_logits(teacher / temperature, target, reduction="none")
    return (cross - entropy).mean()


def _soft_multiclass(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over the batch of KL(softmax(t/T) || softmax(s/T))."""
    return F.kl_div(F.log_softmax(student / temperature, dim=1), F.log_softmax(teacher / temperature, dim=1),
                    reduction="batchmean", log_target=True)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor, *,
                      temperature: float = 4.0, alpha: float = 0.5) -> torch.Tensor:
    """``alpha * T**2 * KL(teacher_T || student_T) + (1 - alpha) * hard-label loss``, a scalar.

    Args:
        student_logits: ``(N,)`` one binary logit per sample, or ``(N, C)`` class logits.
        teacher_logits: the same shape; treated as constants (detached).
        targets: ``(N,)`` labels: 0/1 (any float in [0, 1]) for binary logits (hard loss
            ``BCEWithLogits``), class indices ``0..C-1`` (integer or whole floats) for ``(N, C)``
            (hard loss ``cross_entropy``).
        temperature: ``T > 0``; 1 uses the teacher's probabilities as they are, larger values soften them.
        alpha: weight of the soft term in ``[0, 1]``.
    """
    for name, value in (("student_logits", student_logits), ("teacher_logits", teacher_logits),
                        ("targets", targets)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    temperature, alpha = _check_temperature_alpha(temperature, alpha)
    if student_logits.ndim not in (1, 2) or len(student_logits) == 0:
        raise ValueError(f"student_logits must be (N,) binary logits or (N, C) class logits, "
                         f"got shape {tuple(student_logits.shape)}")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher_logits has shape {tuple(teacher_logits.shape)} but student_logits has "
                         f"{tuple(student_logits.shape)}")
    if targets.shape != (len(student_logits),):
        raise ValueError(f"targets must have shape ({len(student_logits)},), got {tuple(targets.shape)}")
    teacher = teacher_logits.detach().to(student_logits.dtype)
    if student_logits.ndim == 1:
        labels = targets.to(student_logits.dtype)
        if bool(((labels < 0) | (labels > 1)).any()):
            raise ValueError("targets must lie in [0, 1] for binary logits")
        soft = _soft_binary(student_logits, teacher, temperature) if alpha > 0 else None
        hard = F.binary_cross_entropy_with_logits(student_logits, labels) if alpha < 1 else None
    else:
        n_classes = student_logits.shape[1]
        if n_classes < 2:
            raise ValueError("student_logits (N, C) needs C >= 2 classes; use (N,) for one binary logit")
        if targets.is_floating_point() and not bool((targets == targets.round()).all()):
            raise ValueError("targets must hold whole class indices for (N, C) logits")
        labels = targets.long()
        if bool(((labels < 0) | (labels >= n_classes)).any()):
            raise ValueError(f"targets must lie in 0..{n_classes - 1}")
        soft = _soft_multiclass(student_logits, teacher, temperature) if alpha > 0 else None
        hard = F.cross_entropy(student_logits, labels) if alpha < 1 else None
    if soft is None:
        return hard
    soft = soft * temperature**2
    return soft if hard is None else alpha * soft + (1 - alpha) * hard


class TinyCNN(CompactCNN):
    """The student: a :class:`CompactCNN` with three stages of 4, 8 and 16 channels, one convolution
    each (input ``(N, 1, 28, 28)``, output ``(N,)`` logits, channels last, batch norm).

    1,549 parameters against 60,465 of the default CompactCNN (16, 32, 64 channels, two
    convolutions in the last stage): 39 times fewer; 0.16 million multiply-accumulates per 28x28
    image against 3.8 million (23 times fewer, counted with ``torch_pruning.utils.count_ops_and_params``).
    """

    def __init__(self, channels: Sequence[int] = (4, 8, 16), convs_per_stage: Sequence[int] = (1, 1, 1),
                 in_channels: int = 1, dropout: float = 0.0):
        super().__init__(channels=channels, convs_per_stage=convs_per_stage, in_channels=in_channels,
                         dropout=dropout)


@torch.no_grad()
def teacher_logits(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """The logits of ``model`` (in eval mode, no gradients) on ``images``, a float tensor
    ``(N, 1, H, W)`` prepared as for training; float32 ``(N,)`` or ``(N, C)``.

    The model's training/eval mode is restored afterwards; it runs on the device of its parameters.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a float tensor (N, C, H, W), e.g. from ImageSplits.tensors()")
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must have shape (N, C, H, W) with N > 0, got {tuple(images.shape)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        outputs = [model(images[i:i + batch_size].to(device)).float().cpu()
                   for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outputs).numpy()


def _as_targets(labels, logits, n: int, name: str) -> torch.Tensor:
    """Labels ``(N,)`` and teacher logits ``(N,)`` or ``(N, C)`` as one float32 matrix ``(N, 1 + K)``."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
    logits = torch.as_tensor(np.asarray(logits), dtype=torch.float32)
    if labels.shape != (n,):
        raise ValueError(f"{name}_labels must have shape ({n},) like the images, got {tuple(labels.shape)}")
    if logits.ndim not in (1, 2) or len(logits) != n:
        raise ValueError(f"{name}_teacher_logits must have shape ({n},) or ({n}, C), got {tuple(logits.shape)}")
    if not torch.isfinite(logits).all():
        raise ValueError(f"{name}_teacher_logits holds NaN or infinity")
    return torch.cat([labels[:, None], logits.reshape(n, -1)], dim=1)


def _binary_auc(targets: np.ndarray, outputs: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(targets[:, 0], outputs))


def _accuracy(targets: np.ndarray, outputs: np.ndarray) -> float:
    return float((outputs.argmax(axis=1) == targets[:, 0]).mean())


def distil(student: nn.Module, train_images: torch.Tensor, train_labels, train_teacher_logits,
           val_images: torch.Tensor, val_labels, val_teacher_logits, *, temperature: float = 4.0,
           alpha: float = 0.5, epochs: int = 10, lr: float = 1e-3, batch_size: int = 128, seed: int = 0,
           patience: int | None = None, device: torch.device | str | None = "cpu",
           progress: bool = False) -> History:
    """Train ``student`` on the labels and the teacher's logits with :func:`distillation_loss`.

    Args:
        train_images, val_images: float tensors ``(N, 1, H, W)`` as for the teacher.
        train_labels, val_labels: ``(N,)`` 0/1 labels (binary) or class indices.
        train_teacher_logits, val_teacher_logits: :func:`teacher_logits` of the same images,
            ``(N,)`` for a binary teacher or ``(N, C)``; the student must output the same shape.
        temperature, alpha: see :func:`distillation_loss` (``alpha=0``: plain hard-label training).
        epochs, lr, batch_size, patience: Adam with learning rate ``lr``; the epoch of the best
            validation metric is kept (early stopping after ``patience`` epochs without improvement).
        seed: seeds the student's update order (the shuffling) and everything else random.

    The validation metric is computed with the *labels*: ROC AUC for binary logits, accuracy for
    class logits; ``history.val_loss`` is the distillation loss on the validation set. Returns the
    :class:`course_lib.training.History`; ``student`` holds its best weights afterwards. The student's
    initial weights are whatever it holds: build it after ``seed_everything`` for repeatable runs.
    """
    if not isinstance(student, nn.Module):
        raise TypeError(f"student must be a torch.nn.Module, got {type(student).__name__}")
    temperature, alpha = _check_temperature_alpha(temperature, alpha)
    for name, images in (("train_images", train_images), ("val_images", val_images)):
        if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim != 4:
            raise TypeError(f"{name} must be a float tensor (N, C, H, W)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    train_targets = _as_targets(train_labels, train_teacher_logits, len(train_images), "train")
    val_targets = _as_targets(val_labels, val_teacher_logits, len(val_images), "val")
    if train_targets.shape[1] != val_targets.shape[1]:
        raise ValueError("train_teacher_logits and val_teacher_logits have different numbers of columns")
    binary = train_targets.shape[1] == 2 and np.asarray(train_teacher_logits).ndim == 1

    def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        teacher = targets[:, 1] if binary else targets[:, 1:]
        return distillation_loss(outputs, teacher, targets[:, 0], temperature=temperature, alpha=alpha)

    seed_everything(seed)
    # drop_last: a last batch of one image cannot be batch-normalised in training mode
    train_loader = DataLoader(TensorDataset(train_images, train_targets), batch_size=batch_size, shuffle=True,
                              drop_last=len(train_images) > batch_size,
                              generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(TensorDataset(val_images, val_targets), batch_size=max(batch_size, 256))
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    return fit(student, train_loader, val_loader, loss_fn=loss_fn, optimizer=optimizer, epochs=epochs,
               metric=_binary_auc if binary else _accuracy, metric_name="auc" if binary else "accuracy",
               mode="max", patience=patience, device=device, progress=progress)
