"""Grad-CAM (Selvaraju et al., ICCV 2017): where in the image did the evidence for a prediction
come from, as seen by one convolutional layer?

For a layer with feature maps ``A_k`` (k = channel) and a score ``y`` (here the logit of the
explained class), each channel gets the weight ``alpha_k = mean over pixels of dy/dA_k``; the map is
``ReLU(sum_k alpha_k A_k)`` at the layer's resolution. Matches captum's ``LayerGradCam`` with
``relu_attributions=True`` (checked in tests/test_imaging.py and in notebook 02).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def grad_cam(model: nn.Module, layer: nn.Module, images: torch.Tensor, target_class: int = 1,
             relu: bool = True) -> torch.Tensor:
    """Grad-CAM maps of a binary model with one logit output.

    Args:
        model: maps ``(N, C, H, W)`` to ``(N,)`` logits of class 1 (e.g. ``CompactCNN``); put it in
            eval mode first so batch norm and dropout behave as at prediction time.
        layer: a module of ``model`` whose output is a feature map ``(N, K, h, w)``.
        images: ``(N, C, H, W)`` inputs.
        target_class: 1 explains the evidence *for* class 1 (the logit), 0 the evidence for class 0
            (the negated logit).
        relu: keep only positive evidence, as in the paper.

    Returns:
        ``(N, h, w)`` maps at the layer's resolution (use :func:`upsample_maps` for image size).
    """
    if not isinstance(model, nn.Module) or not isinstance(layer, nn.Module):
        raise TypeError("model and layer must be torch.nn.Module instances")
    if not any(module is layer for module in model.modules()):
        raise ValueError("layer is not part of model")
    if target_class not in (0, 1):
        raise ValueError(f"target_class must be 0 or 1, got {target_class!r}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor of shape (N, C, H, W), got {getattr(images, 'shape', None)}")
    captured: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        captured["maps"] = output

    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(images)
            if logits.shape != (images.shape[0],):
                raise ValueError(f"model must return (N,) logits, got {tuple(logits.shape)}")
            maps = captured["maps"]
            if maps.ndim != 4:
                raise ValueError(f"layer output must be (N, K, h, w), got {tuple(maps.shape)}")
            score = logits if target_class == 1 else -logits
            # samples are independent in eval mode, so the gradient of the sum gives each its own
            (gradients,) = torch.autograd.grad(score.sum(), maps)
    finally:
        handle.remove()
    weights = gradients.mean(dim=(2, 3), keepdim=True)               # (N, K, 1, 1)
    cam = (weights * maps).sum(dim=1).detach()                         # (N, h, w)
    return F.relu(cam) if relu else cam


def upsample_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(N, h, w)`` maps to ``(N, *size)`` (e.g. 7x7 -> 28x28)."""
    if not isinstance(maps, torch.Tensor) or maps.ndim != 3:
        raise ValueError(f"maps must be a tensor of shape (N, h, w), got {getattr(maps, 'shape', None)}")
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
