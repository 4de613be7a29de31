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


def long_run_variance(values, lags: int) -> float:
    """Newey–West (Bartlett-kernel) HAC estimate of the long-run variance of a series, shape (T,).

    ``γ₀ + 2 Σ_{k=1..lags} (1 − k/(lags+1)) γ_k`` with the autocovariances ``γ_k`` of the centred
    series (divided by T). For a series without autocorrelation it is close to the plain variance;
    for a volatility-clustered loss differential it is larger, and the DM test uses it so.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"values must be 1-D with at least 2 entries, got shape {x.shape}")
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or not 0 <= lags < x.size:
        raise ValueError(f"lags must be an int in [0, {x.size - 1}], got {lags!r}")
    n = x.size
    centred = x - x.mean()
    variance = float(centred @ centred) / n
    for k in range(1, int(lags) + 1):
        variance += 2 * (1 - k / (lags + 1)) * float(centred[k:] @ centred[:-k]) / n
    return variance


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
    variance = long_run_variance(d, lags)
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


@dataclass(frozen=True)
class LossDifference:
    """An interval for the expected loss difference of model A (over seeds) minus model B.

    Attributes (loss units; ``difference`` < 0 means A has the lower loss):
        mean_a, mean_b: mean loss of A (averaged over its seeds) and of B over the T test days.
        difference: ``mean_a − mean_b``.
        low, high: the ``confidence`` interval for ``difference``.
        test_se: standard error from the test period alone: √(HAC long-run variance / T) of the
            seed-averaged daily difference (the Diebold–Mariano standard error).
        seed_se: standard error from the training seeds: std over seeds of the per-seed mean
            difference / √(seeds) (0 with one seed).
        dof: Welch–Satterthwaite degrees of freedom of the combined standard error.
        n_seeds, n_days, lags: the sizes behind it.
        method: a short description, printed with the verdict.
    """

    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    confidence: float
    test_se: float
    seed_se: float
    dof: float
    n_seeds: int
    n_days: int
    lags: int

    @property
    def method(self) -> str:
        seeds = f"{self.n_seeds} seed{'s' if self.n_seeds != 1 else ''}"
        return (f"Diebold–Mariano HAC interval over {self.n_days} test days (Newey–West, {self.lags} lags) "
                f"widened by the spread over {seeds}")


def _loss_matrix(losses, name: str) -> np.ndarray:
    array = np.asarray(losses, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] < 3:
        raise ValueError(f"{name} must have shape (T,) or (seeds, T) with T >= 3, got {np.shape(losses)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def loss_difference_interval(losses_a, losses_b, *, confidence: float = 0.95,
                             lags: int | None = None) -> LossDifference:
    """Interval for E[loss_a] − E[loss_b] that counts both sources of noise.

    Args:
        losses_a: daily losses of model A, shape (T,) or (S, T) for S training seeds.
        losses_b: daily losses of model B on the same T days, shape (T,) or (S, T) (same S, or 1).
        confidence: of the interval.
        lags: Newey–West lags (default :func:`newey_west_lags` of T).

    The daily differences are averaged over seeds, d̄_t; the *test-period* variance of their mean is
    the Diebold–Mariano one, HAC long-run variance / T. The *seed* variance is that of the per-seed
    mean differences divided by S (it also holds a little test noise, which makes it conservative).
    The interval is ``difference ± t_q(dof) · √(test_se² + seed_se²)`` with Welch–Satterthwaite
    degrees of freedom (T − 1 for the test part, S − 1 for the seed part).
    """
    a, b = _loss_matrix(losses_a, "losses_a"), _loss_matrix(losses_b, "losses_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"losses_a covers {a.shape[1]} days but losses_b {b.shape[1]}")
    if b.shape[0] not in (1, a.shape[0]) and a.shape[0] != 1:
        raise ValueError(f"losses_a has {a.shape[0]} seeds and losses_b {b.shape[0]}: give equal counts or one")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n_days = a.shape[1]
    lags = newey_west_lags(n_days) if lags is None else lags
    differences = a - b  # (S, T) by broadcasting
    per_day = differences.mean(axis=0)
    per_seed = differences.mean(axis=1)
    n_seeds = differences.shape[0]
    test_var = long_run_variance(per_day, lags) / n_days
    if test_var <= 0:
        raise ValueError("the loss differential has zero (or negative HAC) variance; the forecasts are identical")
    seed_var = float(per_seed.var(ddof=1)) / n_seeds if n_seeds > 1 else 0.0
    total = test_var + seed_var
    dof_terms = test_var ** 2 / (n_days - 1) + (seed_var ** 2 / (n_seeds - 1) if n_seeds > 1 else 0.0)
    dof = total ** 2 / dof_terms
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(total)
    difference = float(per_day.mean())
    return LossDifference(mean_a=float(a.mean()), mean_b=float(b.mean()), difference=difference,
                          low=difference - half, high=difference + half, confidence=float(confidence),
                          test_se=math.sqrt(test_var), seed_se=math.sqrt(seed_var), dof=float(dof),
                          n_seeds=int(n_seeds), n_days=int(n_days), lags=int(lags))


def dm_verdict(model_a: str, losses_a, model_b: str, losses_b, *, metric: str, confidence: float = 0.95,
               lags: int | None = None, baseline: str | None = None):
    """The :class:`course_lib.verdicts.Verdict` of :func:`loss_difference_interval` (lower loss wins).

    ``losses_a`` / ``losses_b``: daily losses, shape (T,) or (seeds, T); ``metric``: the loss as
    printed (e.g. ``"test QLIKE"``); ``baseline``: which of the two is the classical model.
    """
    from course_lib.verdicts import decide

    interval = loss_difference_interval(losses_a, losses_b, confidence=confidence, lags=lags)
    return decide(model_a, model_b, metric=metric, mean_a=interval.mean_a, mean_b=interval.mean_b,
                  low=interval.low, high=interval.high, higher_is_better=False, confidence=confidence,
                  method=interval.method, baseline=baseline)
