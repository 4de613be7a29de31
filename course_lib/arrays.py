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


def as_array(values, name: str, *, holding: str = "numbers") -> np.ndarray:
    """``values`` as a non-empty NumPy array of finite numbers, any shape.

    Raises TypeError for a string, a scalar or ``None``, ValueError for an empty array or one holding
    NaN or infinity, naming ``name``.
    """
    if values is None or isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be an array-like of {holding}, got {type(values).__name__}")
    try:
        array = np.asarray(values, dtype=np.float64) if not hasattr(values, "dtype") else np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array-like of {holding}: {error}") from None
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise TypeError(f"{name} must hold {holding}, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinity")
    return array


def as_matrix(values, name: str, *, min_rows: int = 1) -> np.ndarray:
    """``values`` as a float64 matrix of shape ``(N, D)`` with ``N >= min_rows``.

    A batch of images ``(N, H, W)`` or ``(N, C, H, W)`` is flattened to ``(N, H*W*...)``; a vector
    is refused (say which axis is the sample axis by reshaping it yourself).
    """
    array = as_array(values, name).astype(np.float64, copy=False)
    if array.ndim < 2:
        raise ValueError(f"{name} must be a matrix (N samples, D features), got shape {array.shape}")
    matrix = array.reshape(array.shape[0], -1)
    if matrix.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (samples), got {matrix.shape[0]}")
    return matrix


def as_matrix_pair(first, second, names: tuple[str, str], *, min_rows: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two matrices (see :func:`as_matrix`) with the same number of columns (features)."""
    a = as_matrix(first, names[0], min_rows=min_rows)
    b = as_matrix(second, names[1], min_rows=min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} has {a.shape[1]} features per sample but {names[1]} has {b.shape[1]}")
    return a, b


def as_count(value, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int ``>= minimum``; a bool, float or string is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)
