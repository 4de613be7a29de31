"""Checking array arguments: the one place that turns "a list or array of numbers" into a vector."""

from __future__ import annotations

import numpy as np


def as_vector(values, name: str, *, holding: str = "numbers") -> np.ndarray:
    """``values`` as a 1-D NumPy array of shape ``(N,)``; an ``(N, 1)`` column is flattened.

    Raises TypeError for a string, a scalar or ``None`` (``name`` must be an array-like of
    ``holding``) and ValueError for any other shape or an empty array, naming ``name``.
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be an array-like of {holding}, got {type(values).__name__}")
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (or (N, 1)), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array
