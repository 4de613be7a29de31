"""Sequence windows for recurrent models, without look-ahead, and train-only scaling.

The window for forecast day ``d`` holds feature rows ``d - length, ..., d - 1``: everything known at
the close of day ``d - 1`` and nothing from day ``d`` or later.
"""

from __future__ import annotations

import numpy as np


def make_windows(features, days, length: int) -> np.ndarray:
    """Stack the input windows of the forecast days.

    Args:
        features: shape (N, F), one row per day (float).
        days: shape (M,), forecast-day row positions with ``length <= d <= N``.
        length: window length in days.

    Returns:
        float32 array of shape (M, length, F); ``out[j] = features[days[j] - length : days[j]]``.
    """
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must have shape (N, F), got {x.shape}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    d = np.asarray(days)
    if d.ndim != 1 or not np.issubdtype(d.dtype, np.integer):
        raise TypeError("days must be a 1-D array of integer row positions")
    if d.size and (d.min() < length or d.max() > len(x)):
        raise ValueError(f"every day needs {length} earlier rows and must be <= {len(x)}; "
                         f"got days in [{d.min()}, {d.max()}]")
    offsets = np.arange(-length, 0)
    return x[d[:, None] + offsets[None, :]]


class Standardizer:
    """Per-column (x - mean) / std, fitted on training rows only (shape (N, F) or (N,))."""

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, values) -> "Standardizer":
        v = np.asarray(values, dtype=float)
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError("Standardizer.fit needs a non-empty, finite array")
        self.mean_ = v.mean(axis=0)
        std = v.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, values) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError("Standardizer is not fitted; call fit(training_rows) first")
        return (np.asarray(values, dtype=float) - self.mean_) / self.std_

    def inverse(self, values) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError("Standardizer is not fitted; call fit(training_rows) first")
        return np.asarray(values, dtype=float) * self.std_ + self.mean_
