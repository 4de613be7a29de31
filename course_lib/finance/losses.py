"""Loss functions for variance forecasts and the Diebold–Mariano test.

QLIKE and MSE, both written on *variances*, are the two losses Patton (2011) shows to be robust: with
a noisy but conditionally unbiased proxy (a squared return, a range estimator) they rank forecasts
the same way the unobservable true variance would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _pair(proxy, forecast, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    p, f = np.asarray(proxy, dtype=float), np.asarray(forecast, dtype=float)
    if p.ndim != 1 or f.ndim != 1:
        raise ValueError(f"proxy and forecast must be 1-D, got shapes {p.shape} and {f.shape}")
    if p.shape != f.shape:
        raise ValueError(f"proxy has {p.size} values but forecast has {f.size}")
    if p.size == 0:
        raise ValueError("proxy and forecast are empty")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(f))):
        raise ValueError("proxy and forecast must be finite")
    if positive and (np.any(p <= 0) or np.any(f <= 0)):
        raise ValueError("QLIKE needs strictly positive variances in proxy and forecast")
    return p, f


def qlike_series(proxy, forecast) -> np.ndarray:
    """Per-day QLIKE, σ²/h − ln(σ²/h) − 1 (≥ 0, 0 iff h = σ²); shapes (T,) → (T,)."""
    p, f = _pair(proxy, forecast, positive=True)
    ratio = p / f
    return ratio - np.log(ratio) - 1.0


def qlike(proxy, forecast) -> float:
    """Mean QLIKE of variance forecasts ``forecast`` against proxy ``proxy`` (both (T,), > 0)."""
    return float(qlike_series(proxy, forecast).mean())


def mse_series(proxy, forecast) -> np.ndarray:
    """Per-day squared error of variance forecasts, (σ² − h)², in (variance units)²."""
    p, f = _pair(proxy, forecast, positive=False)
    return (p - f) ** 2


def mse(proxy, forecast) -> float:
    """Mean squared error on variances (not volatilities)."""
    return float(mse_series(proxy, forecast).mean())


@dataclass(frozen=True)
class DMResult:
    """``statistic`` < 0 means model A has the lower loss; ``pvalue`` is two-sided."""

    statistic: float
    pvalue: float
    mean_difference: float
    lags: int
    n: int


def newey_west_lags(n: int) -> int:
    """The usual automatic bandwidth ⌊4 (n/100)^(2/9)⌋."""
    return int(math.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


def diebold_mariano(loss_a, loss_b, *, lags: int | None = None, horizon: int = 1,
                    hln: bool = True) -> DMResult:
    """Diebold–Mariano (1995) test of equal expected loss, d_t = loss_a_t − loss_b_t.

    The long-run variance of d is the Newey–West (Bartlett-kernel) HAC estimate with ``lags`` lags
    (default :func:`newey_west_lags`). With ``hln`` the statistic gets the Harvey–Leybourne–Newbold
    (1997) small-sample factor √((T + 1 − 2h + h(h−1)/T) / T) and a Student-t(T−1) p-value;
    otherwise the p-value is from the standard normal.

    Args:
        loss_a, loss_b: per-period losses of the two forecasts on the same days, shape (T,).
    """
    a, b = np.asarray(loss_a, dtype=float), np.asarray(loss_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"loss_a and loss_b must be 1-D of equal length, got {a.shape} and {b.shape}")
    n = a.size
    if n < 3:
        raise ValueError(f"need at least 3 paired losses, got {n}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("losses must be finite")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive int, got {horizon!r}")
    if lags is None:
        lags = newey_west_lags(n)
    if isinstance(lags, bool) or not isinstance(lags, int) or not 0 <= lags < n:
        raise ValueError(f"lags must be an int in [0, {n - 1}], got {lags!r}")
    d = a - b
    mean = d.mean()
    centred = d - mean
    variance = centred @ centred / n
    for k in range(1, lags + 1):
        variance += 2 * (1 - k / (lags + 1)) * (centred[k:] @ centred[:-k]) / n
    if variance <= 0:
        raise ValueError("the loss differential has zero (or negative HAC) variance; "
                         "the forecasts are identical or lags is too large")
    statistic = mean / math.sqrt(variance / n)
    if hln:
        statistic *= math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
        pvalue = 2 * stats.t.sf(abs(statistic), df=n - 1)
    else:
        pvalue = 2 * stats.norm.sf(abs(statistic))
    return DMResult(float(statistic), float(pvalue), float(mean), int(lags), int(n))
