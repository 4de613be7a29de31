"""Feature vectors of images from inside a trained classifier, for the metrics of generative models.

The Fréchet distance, precision/recall and the two-sample test compare images in a feature space:
here the output of one layer (usually the penultimate one) of a classifier trained in the notebook.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from course_lib.arrays import as_count
from course_lib.generative.images import as_unit_images


def penultimate_features(model: nn.Module, images, *, layer: nn.Module, batch_size: int = 256,
                         transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> np.ndarray:
    """Output of submodule ``layer`` of ``model`` for every image, flattened: float32 ``(N, D)``.

    Args:
        model: the classifier; run in eval mode under ``torch.no_grad`` on the device of its first
            parameter (CPU if it has none). Every submodule's train/eval mode is restored afterwards.
        images: anything :func:`~course_lib.generative.images.as_unit_images` accepts (uint8 in
            0..255 or floats in [0, 1], ``(N, H, W)`` or ``(N, 1, H, W)``, any size). They are NOT
            normalised here: the model sees ``transform(batch)`` of each ``(B, 1, H, W)`` float batch
            in [0, 1], or the batch itself when ``transform`` is None. Pass the normalisation the
            classifier was trained with as ``transform``.
        layer: a submodule of ``model`` (the very object, e.g. ``model.features[-1]``); its output
            (a tensor whose first axis is the batch) is captured by a forward hook, removed again
            even when the forward pass fails.
        batch_size: images per forward pass (only memory depends on it).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer must be a torch.nn.Module inside model, got {type(layer).__name__}")
    if not any(module is layer for module in model.modules()):
        raise ValueError("layer must be a submodule of model (pass the module object itself, e.g. model[2])")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
    batch_size = as_count(batch_size, "batch_size")
    pixels = as_unit_images(images, "images", size=None)
    device = next(model.parameters(), torch.zeros(0)).device
    modes = {module: module.training for module in model.modules()}
    captured: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"layer must output a tensor, got {type(output).__name__}")
        captured.append(output.detach().reshape(output.shape[0], -1).float().cpu())

    handle = layer.register_forward_hook(keep)
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, len(pixels), batch_size):
                batch = pixels[start:start + batch_size].to(device)
                count = len(captured)
                model(transform(batch) if transform is not None else batch)
                if len(captured) != count + 1:
                    raise ValueError(f"layer ran {len(captured) - count} times in one forward pass of model; "
                                     "it must run exactly once")
                if len(captured[-1]) != len(batch):
                    raise ValueError(f"layer output has {len(captured[-1])} rows for a batch of {len(batch)} "
                                     "images: its first axis must be the batch")
    finally:
        handle.remove()
        for module, training in modes.items():
            module.training = training
    return torch.cat(captured).numpy()
