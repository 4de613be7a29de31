"""Range-based variance proxies and realized-variance helpers.

Units: returns in percent (100 × log return), variances in percent² per day. ``annualized_vol``
converts a daily variance to an annualised volatility in percent (√(252 · variance)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADING_DAYS = 252
_LOG2 = np.log(2.0)


def _prices(values, name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be an array-like of prices, got {type(values).__name__}")
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must hold finite, strictly positive prices")
    return array


def _wrap(result: np.ndarray, like) -> np.ndarray | pd.Series:
    return pd.Series(result, index=like.index) if isinstance(like, pd.Series) else result


def parkinson_variance(high, low, percent: bool = True):
    """Parkinson (1980) daily variance from the high-low range: (ln H/L)² / (4 ln 2).

    Args:
        high, low: daily high and low prices, shape (N,), with high ≥ low > 0.
        percent: return percent² (returns ×100) instead of raw log-return² units.

    Returns:
        Shape (N,) variance per day (a Series when ``high`` is one). It measures the open-to-close
        (trading-hours) variance, so it misses overnight gaps.
    """
    h, l = _prices(high, "high"), _prices(low, "low")
    if h.shape != l.shape:
        raise ValueError(f"high has shape {h.shape} but low has {l.shape}")
    if np.any(h < l):
        raise ValueError("high must be >= low on every day")
    var = np.log(h / l) ** 2 / (4 * _LOG2)
    return _wrap(var * (1e4 if percent else 1.0), high)


def garman_klass_variance(open_, high, low, close, percent: bool = True):
    """Garman–Klass (1980) daily variance: ½(ln H/L)² − (2 ln 2 − 1)(ln C/O)², shape (N,).

    More efficient than Parkinson when the open is a genuine trading price; clipped at 0.
    """
    o, h = _prices(open_, "open"), _prices(high, "high")
    l, c = _prices(low, "low"), _prices(close, "close")
    if not (o.shape == h.shape == l.shape == c.shape):
        raise ValueError("open, high, low and close must have the same shape")
    if np.any(h < l):
        raise ValueError("high must be >= low on every day")
    var = 0.5 * np.log(h / l) ** 2 - (2 * _LOG2 - 1) * np.log(c / o) ** 2
    return _wrap(np.maximum(var, 0.0) * (1e4 if percent else 1.0), high)


def realized_variance(returns, window: int):
    """Trailing mean of squared returns over ``window`` days, ending at (and including) each day.

    Shape (N,) in the returns' units squared; the first ``window - 1`` values are NaN.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, got {window!r}")
    series = pd.Series(np.asarray(returns, dtype=float))
    out = (series ** 2).rolling(window).mean().to_numpy()
    return _wrap(out, returns)


def annualized_vol(daily_variance):
    """Annualised volatility in percent from a daily variance in percent²: √(252 · v)."""
    values = np.asarray(daily_variance, dtype=float)
    if np.any(values < 0):
        raise ValueError("daily_variance must be >= 0")
    return _wrap(np.sqrt(TRADING_DAYS * values), daily_variance)


def acf(values, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag, shape (max_lag,)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a finite 1-D array")
    if isinstance(max_lag, bool) or not isinstance(max_lag, int) or not 1 <= max_lag < len(x):
        raise ValueError(f"max_lag must be an int in [1, {len(x) - 1}], got {max_lag!r}")
    x = x - x.mean()
    denom = float(x @ x)
    if denom == 0:
        raise ValueError("values are constant; autocorrelation is undefined")
    return np.array([float(x[k:] @ x[:-k]) / denom for k in range(1, max_lag + 1)])
