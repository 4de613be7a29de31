"""Images in and out of the generative models: one place that checks and converts them.

The models of :mod:`course_lib.generative` work on float tensors of shape ``(N, 1, 28, 28)`` with
pixel values in ``[0, 1]`` (a Bernoulli/sigmoid output for the autoencoders, ``tanh`` rescaled for
the GAN). The data layer gives ``uint8`` arrays of shape ``(N, 28, 28)`` in ``0..255``.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.arrays import as_array, as_vector


def as_unit_images(images, name: str = "images", *, size: int | None = 28) -> torch.Tensor:
    """``images`` as a float32 tensor ``(N, 1, H, W)`` with values in ``[0, 1]``.

    Accepts ``uint8`` arrays in ``0..255`` (divided by 255) or floats already in ``[0, 1]``, shaped
    ``(N, H, W)`` or ``(N, 1, H, W)``, as NumPy arrays or tensors. ``size`` (pixels) checks ``H == W ==
    size``; ``None`` skips the check. Raises ValueError naming ``name`` for any other shape, for floats
    outside ``[0, 1]`` and for NaN.
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    array = as_array(images, name, holding="pixel values")
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != 1:
        raise ValueError(f"{name} must be (N, H, W) or (N, 1, H, W) grey images, got shape {array.shape}")
    if size is not None and array.shape[2:] != (size, size):
        raise ValueError(f"{name} must be {size}x{size} pixels, got {array.shape[2]}x{array.shape[3]}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    else:
        array = array.astype(np.float32)
        low, high = float(array.min()), float(array.max())
        if low < -1e-6 or high > 1 + 1e-6:
            raise ValueError(f"{name} must be uint8 (0..255) or floats in [0, 1], got values in [{low:.3g}, {high:.3g}]")
        array = np.clip(array, 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(array))


def as_class_labels(labels, name: str = "labels", *, n_classes: int = 2, length: int | None = None) -> torch.Tensor:
    """``labels`` as an int64 tensor ``(N,)`` of class indices ``0..n_classes-1``.

    ``length`` checks ``N`` (e.g. the number of images the labels belong to). Raises ValueError naming
    ``name`` for a fractional label, one outside the range or a wrong length.
    """
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    vector = as_vector(labels, name, holding="class labels")
    as_array(vector, name, holding="class labels")
    if not np.all(np.equal(np.mod(vector, 1), 0)):
        raise ValueError(f"{name} must hold whole class indices, got fractional values")
    vector = vector.astype(np.int64)
    if vector.min() < 0 or vector.max() >= n_classes:
        raise ValueError(f"{name} must lie in 0..{n_classes - 1}, got values in [{vector.min()}, {vector.max()}]")
    if length is not None and len(vector) != length:
        raise ValueError(f"{name} has {len(vector)} entries but there are {length} images")
    return torch.from_numpy(vector)
