"""Pruning: set the smallest weights to zero (unstructured) or remove whole channels (structured).

Unstructured magnitude pruning (Han et al. 2015) keeps the weights of largest absolute value and
sets the rest to exactly zero. :func:`magnitude_prune` uses :mod:`torch.nn.utils.prune`, which
re-parametrises every pruned layer: the trainable tensor becomes ``weight_orig``, a buffer
``weight_mask`` (1 = kept, 0 = pruned) is added, and a forward pre-hook recomputes ``weight =
weight_orig * weight_mask`` before every forward pass. Gradients of the pruned entries are therefore
zero and fine-tuning (:func:`fine_tune`) keeps them at zero; :func:`make_pruning_permanent` folds the
mask into a plain ``weight`` afterwards. Only the ``weight`` of convolution and linear layers is
pruned: biases and batch-norm scales and shifts are few (under 1 % of CompactCNN's parameters) and
are left alone.

The zeros are still stored and multiplied: a 90 % sparse model has the same size on disk (as dense
float32 tensors) and, with PyTorch's dense kernels, the same latency as the dense one (measure it
after :func:`make_pruning_permanent`: while masked, every forward pass first recomputes
``weight_orig * weight_mask``).
Structured pruning (:func:`structured_channel_prune`, with torch-pruning, Fang et al. 2023) removes
whole output channels instead, together with everything that depends on them (the batch norm of
that channel, the matching input channels of the next layer), so the network really becomes smaller
and faster.

Shapes: the models map images ``(N, 1, 28, 28)`` to logits ``(N,)`` (see
:class:`course_lib.imaging.models.CompactCNN`); sparsities and ratios are fractions in ``[0, 1)``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from course_lib.training import History, fit

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)
"""Layer types whose ``weight`` is pruned by default."""


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _check_fraction(value, name: str, *, upper_inclusive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(value).__name__}")
    value = float(value)
    ok = 0.0 <= value <= 1.0 if upper_inclusive else 0.0 <= value < 1.0
    if not ok:
        raise ValueError(f"{name} must lie in [0, 1{']' if upper_inclusive else ')'}, got {value}")
    return value


def _check_layer_types(layer_types) -> tuple[type[nn.Module], ...]:
    if isinstance(layer_types, type):
        layer_types = (layer_types,)
    if not isinstance(layer_types, (tuple, list)) or not layer_types or not all(
            isinstance(t, type) and issubclass(t, nn.Module) for t in layer_types):
        raise TypeError(f"layer_types must be a non-empty tuple of nn.Module subclasses, got {layer_types!r}")
    return tuple(layer_types)


def prunable_layers(model: nn.Module, layer_types: Sequence[type[nn.Module]] = PRUNABLE_TYPES) -> list[nn.Module]:
    """The modules of ``model`` of one of ``layer_types`` that have a ``weight``, in registration order."""
    _check_model(model)
    layer_types = _check_layer_types(layer_types)
    layers = [m for m in model.modules() if isinstance(m, layer_types)
              and (hasattr(m, "weight_orig") or isinstance(getattr(m, "weight", None), torch.Tensor))]
    return layers


def _effective_weight(module: nn.Module) -> torch.Tensor:
    """The weight the next forward pass will use (``weight_orig * weight_mask`` while pruned)."""
    if hasattr(module, "weight_mask"):
        return module.weight_orig.detach() * module.weight_mask
    return module.weight.detach()


def magnitude_prune(model: nn.Module, sparsity: float, *,
                    layer_types: Sequence[type[nn.Module]] = PRUNABLE_TYPES, global_: bool = True) -> nn.Module:
    """Set the fraction ``sparsity`` of the smallest-magnitude weights to zero, **in place**.

    Args:
        model: pruned in place and returned (pass ``copy.deepcopy(model)`` to keep the original).
        sparsity: fraction in ``[0, 1)`` of the weights to prune; ``round(sparsity * n)`` weights are
            pruned (``n`` = number of weights concerned, PyTorch's rounding).
        layer_types: whose ``weight`` is pruned (biases and batch norm never are).
        global_: ``True``: one threshold over all these weights together
            (``prune.global_unstructured`` with ``L1Unstructured``), so layers with many small
            weights lose more; ``False``: each layer loses the fraction ``sparsity`` of its own
            weights (``prune.l1_unstructured`` per layer).

    The masks stay attached (``weight_orig`` is trained, ``weight_mask`` keeps the zeros) until
    :func:`make_pruning_permanent`. A model that is still re-parametrised is refused; after
    :func:`make_pruning_permanent` it can be pruned again, and since its zeros are the smallest
    weights, ``sparsity`` is then the total target (prune 50 %, fine-tune, make permanent, prune 75 %).
    """
    _check_model(model)
    sparsity = _check_fraction(sparsity, "sparsity")
    if not isinstance(global_, bool):
        raise TypeError(f"global_ must be a bool, got {type(global_).__name__}")
    layers = prunable_layers(model, layer_types)
    if not layers:
        names = [t.__name__ for t in _check_layer_types(layer_types)]
        raise ValueError(f"model has no layers of types {names} to prune")
    if any(prune.is_pruned(m) for m in layers):
        raise ValueError("model is already pruned (it has weight_mask buffers): call make_pruning_permanent(model) "
                         "first, or prune a copy of the unpruned model")
    # torch.nn.utils.prune flattens weights with .view(-1), which fails on channels-last weights
    # (CompactCNN keeps them so): prune in the default layout, then give weight_orig and the mask
    # their original strides back
    strides = [m.weight.stride() for m in layers]
    for m in layers:
        if not m.weight.is_contiguous():
            m.weight.data = m.weight.data.contiguous()
    if global_:
        prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured,
                                  amount=sparsity)
    else:
        for m in layers:
            prune.l1_unstructured(m, "weight", amount=sparsity)
    for m, stride in zip(layers, strides):
        if m.weight_orig.stride() != stride or m.weight_mask.stride() != stride:
            m.weight_orig.data = _with_strides(m.weight_orig.data, stride)
            m.weight_mask = _with_strides(m.weight_mask, stride)
            m.weight = m.weight_orig * m.weight_mask  # what the pre-hook computes before each forward
    return model


def _with_strides(tensor: torch.Tensor, stride: tuple[int, ...]) -> torch.Tensor:
    """A copy of ``tensor`` laid out in memory with ``stride`` (the same values)."""
    if tensor.stride() == stride:
        return tensor
    return torch.empty_strided(tensor.shape, stride, dtype=tensor.dtype, device=tensor.device).copy_(tensor)


def make_pruning_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into a plain ``weight`` parameter (``prune.remove``), in place.

    Afterwards no ``weight_orig``/``weight_mask`` and no forward pre-hook remain; the zeros stay, but
    further training may make them non-zero again. A model without masks is returned unchanged.
    """
    _check_model(model)
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                name = hook._tensor_name
                stride = getattr(module, name + "_orig").stride()
                prune.remove(module, name)
                # orig * mask may come out in another layout than orig: for a (C_out, 1, 3, 3) weight
                # in channels last the product gets the default strides, and the convolution then
                # takes a slower path (measured ~20 % slower for CompactCNN); keep orig's layout
                parameter = getattr(module, name)
                parameter.data = _with_strides(parameter.data, stride)
    return model


def sparsity(model: nn.Module, layer_types: Sequence[type[nn.Module]] = PRUNABLE_TYPES) -> float:
    """Fraction of exact zeros among the ``weight`` entries of the ``layer_types`` layers of ``model``
    (masked or permanently pruned alike; biases and batch norm are not counted)."""
    layers = prunable_layers(model, layer_types)
    if not layers:
        raise ValueError("model has no layers of the given layer_types")
    zeros = total = 0
    for m in layers:
        weight = _effective_weight(m)
        zeros += int((weight == 0).sum())
        total += weight.numel()
    return zeros / total


def layer_sparsity(model: nn.Module, layer_types: Sequence[type[nn.Module]] = PRUNABLE_TYPES) -> dict[str, float]:
    """``{layer name: fraction of exact zeros in its weight}`` for the ``layer_types`` layers.

    Global pruning does not spread the zeros evenly: layers with many small weights (the large late
    convolutions, whose initial weights scale as ``1/sqrt(fan_in)``) lose most, up to the whole layer
    (at 90 % global sparsity an untrained CompactCNN loses its last convolution entirely).
    """
    chosen = {id(m) for m in prunable_layers(model, layer_types)}
    result = {}
    for name, m in model.named_modules():
        if id(m) in chosen:
            weight = _effective_weight(m)
            result[name] = int((weight == 0).sum()) / weight.numel()
    if not result:
        raise ValueError("model has no layers of the given layer_types")
    return result


def magnitude_mask(weights, sparsity: float) -> np.ndarray:
    """By hand: the boolean mask (``True`` = kept) that prunes the ``round(sparsity * n)`` entries of
    smallest ``|w|``, for a NumPy array or tensor of any shape.

    The entries are ordered by ``|w|`` with a stable sort, so among equal magnitudes the entry with the
    lower flat (C-order) index is pruned first: the same input always gives the same mask.
    ``prune.l1_unstructured`` prunes the same entries whenever there are no ties at the threshold.
    """
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    if weights is None or isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"weights must be a NumPy array or tensor, got {type(weights).__name__}")
    array = np.asarray(weights, dtype=np.float64)
    if array.size == 0:
        raise ValueError("weights is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError("weights holds NaN or infinity")
    sparsity = _check_fraction(sparsity, "sparsity")
    n_prune = int(round(sparsity * array.size))  # Python's round, as torch.nn.utils.prune does
    order = np.argsort(np.abs(array).ravel(), kind="stable")
    keep = np.ones(array.size, dtype=bool)
    keep[order[:n_prune]] = False
    return keep.reshape(array.shape)


def _output_layer(model: nn.Module) -> nn.Module:
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not layers:
        raise ValueError("model has no Conv2d or Linear layer to prune")
    return layers[-1]


def structured_channel_prune(model: nn.Module, example_inputs: torch.Tensor, ratio: float, *,
                             ignored_layers: Iterable[nn.Module] | None = None,
                             importance: str = "l1") -> nn.Module:
    """Remove the fraction ``ratio`` of the output channels of every convolution, in place.

    torch-pruning traces ``model`` on ``example_inputs`` to find which tensors depend on each channel
    (the batch norm of that channel, the input channels of the next convolution or linear layer), ranks
    the channels by the mean L1 (``"l1"``) or L2 (``"l2"``) norm of all weights tied to them
    (``GroupMagnitudeImportance``) and removes the least important ``ratio`` of them in every layer.
    With ``ratio=0.5`` the convolutions keep half of their output channels and about a quarter of
    their weights (both input and output channels halve, except for the image's input channels).

    Args:
        model: changed in place and returned (copy it first to keep the original); it must not hold
            unstructured pruning masks.
        example_inputs: one batch, e.g. ``torch.zeros(2, 1, 28, 28)``, on the model's device.
        ignored_layers: layers whose output channels stay; ``None`` ignores the output layer (the last
            ``Conv2d``/``Linear`` registered), which must keep its one logit.
        importance: ``"l1"`` or ``"l2"``.

    The model is left in the channels-last memory format (as :class:`CompactCNN` keeps it), in eval
    mode. Fine-tune afterwards (:func:`fine_tune`): removing channels changes the outputs.
    """
    _check_model(model)
    if not isinstance(example_inputs, torch.Tensor):
        raise TypeError(f"example_inputs must be a tensor (one batch), got {type(example_inputs).__name__}")
    ratio = _check_fraction(ratio, "ratio")
    if importance not in ("l1", "l2"):
        raise ValueError(f"importance must be 'l1' or 'l2', got {importance!r}")
    if any(prune.is_pruned(m) for m in model.modules()):
        raise ValueError("model holds unstructured pruning masks: call make_pruning_permanent(model) first")
    ignored = [_output_layer(model)] if ignored_layers is None else list(ignored_layers)
    if not all(isinstance(m, nn.Module) for m in ignored):
        raise TypeError("ignored_layers must be an iterable of modules of model")
    import torch_pruning as tp

    model.eval()
    scorer = tp.importance.GroupMagnitudeImportance(p=1 if importance == "l1" else 2)
    pruner = tp.pruner.BasePruner(model, example_inputs, importance=scorer, pruning_ratio=ratio,
                                  ignored_layers=ignored, global_pruning=False)
    pruner.step()
    # the pruned weights are new tensors in the default layout; put them back to channels last
    return model.to(memory_format=torch.channels_last)


def fine_tune(model: nn.Module, train_loader, val_loader, *, epochs: int = 3, lr: float = 1e-3,
              patience: int | None = None, device: torch.device | str | None = None,
              progress: bool = False) -> History:
    """Train a pruned binary classifier (logits ``(N,)``) a few more epochs with
    :func:`course_lib.training.fit`: Adam, ``BCEWithLogitsLoss``, the epoch of best validation AUC
    is kept.

    Masks of :func:`magnitude_prune` stay attached during fine-tuning (the zeros stay zero); the
    restored best state includes them. Loaders yield ``(images, labels)`` as
    :func:`course_lib.imaging.make_loader` makes them.
    """
    _check_model(model)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    from sklearn.metrics import roc_auc_score

    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    return fit(model, train_loader, val_loader, loss_fn=nn.BCEWithLogitsLoss(), optimizer=optimizer,
               epochs=epochs, metric=roc_auc_score, metric_name="auc", mode="max", patience=patience,
               device=device, progress=progress)
