"""Classical variance forecasters: naive, EWMA (RiskMetrics), GARCH(1,1), HAR (least squares and a
log-linear HAR fitted by QLIKE), gradient boosting.

Every forecaster has the signature ``forecast(features, fold, ...) -> np.ndarray`` of shape
(len(test),) in percent² per day, where ``features`` is the table of
:func:`course_lib.finance.data.make_features` (columns ``ret`` in percent, ``rv`` in percent²) and
``fold`` a :class:`course_lib.finance.splits.Fold`. The forecast for test day ``d`` uses rows
``< d`` only; parameters are estimated on rows before the test window (GARCH: before each refit day).
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from course_lib.finance.splits import Fold, check_folds

HAR_LAGS = (1, 5, 22)  # daily, weekly, monthly averages of the proxy


def _check(features: pd.DataFrame, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(features, pd.DataFrame) or not {"ret", "rv"} <= set(features.columns):
        raise TypeError("features must be the DataFrame of make_features (columns 'ret' and 'rv')")
    if not isinstance(fold, Fold):
        raise TypeError(f"fold must be a Fold, got {type(fold).__name__}")
    if fold.test[1] > len(features):
        raise ValueError(f"fold test window {fold.test} runs past the {len(features)} rows")
    ret, rv = features["ret"].to_numpy(float), features["rv"].to_numpy(float)
    if not (np.all(np.isfinite(ret)) and np.all(np.isfinite(rv))) or np.any(rv <= 0):
        raise ValueError("features must be finite with rv > 0")
    return ret, rv


def level_ratio(features: pd.DataFrame, fold: Fold) -> float:
    """mean(rv) / mean(ret²) over the rows before the test window.

    Models of close-to-close returns (EWMA, GARCH) forecast the variance of ``ret``, which includes
    the overnight gap the range proxy does not see; this one number, estimated on past data only,
    puts them on the proxy's scale.
    """
    ret, rv = _check(features, fold)
    rows = slice(fold.train[0], fold.test[0])
    return float(rv[rows].mean() / np.mean(ret[rows] ** 2))


def naive_forecast(features: pd.DataFrame, fold: Fold) -> np.ndarray:
    """Tomorrow's variance = today's proxy (the random walk for variance)."""
    _, rv = _check(features, fold)
    days = fold.days("test")
    if days[0] < 1:
        raise ValueError("the naive forecast needs one earlier day")
    return rv[days - 1].copy()


def ewma_forecast(features: pd.DataFrame, fold: Fold, lam: float = 0.94, calibrate: bool = True) -> np.ndarray:
    """RiskMetrics: σ²_d = λ σ²_{d−1} + (1 − λ) r²_{d−1}, started at σ²_1 = r²_0.

    With ``calibrate`` the forecasts are multiplied by :func:`level_ratio`.
    """
    if not 0 < lam < 1:
        raise ValueError(f"lam must be in (0, 1), got {lam}")
    ret, _ = _check(features, fold)
    squared = ret[: fold.test[1]] ** 2
    smoothed, _ = lfilter([1 - lam], [1, -lam], squared, zi=[lam * squared[0]])  # smoothed[t] = σ²_{t+1}
    forecast = smoothed[fold.days("test") - 1]
    return forecast * (level_ratio(features, fold) if calibrate else 1.0)


def garch_forecast(features: pd.DataFrame, fold: Fold, *, refit_every: int = 20, window: int | None = None,
                   calibrate: bool = True) -> np.ndarray:
    """GARCH(1,1) with a constant mean, fitted by ``arch`` on returns (percent) up to the refit day.

    Parameters are re-estimated every ``refit_every`` test days on an expanding window from
    ``fold.train[0]`` (or the last ``window`` days); between refits the variance recursion
    σ²_d = ω + α (r_{d−1} − μ)² + β σ²_{d−1} runs on with the latest parameters.
    """
    from arch import arch_model
    from arch.utility.exceptions import ConvergenceWarning, StartingValueWarning

    if isinstance(refit_every, bool) or not isinstance(refit_every, int) or refit_every < 1:
        raise ValueError(f"refit_every must be a positive int, got {refit_every!r}")
    if window is not None and (not isinstance(window, int) or window < 100):
        raise ValueError(f"window must be None (expanding) or an int >= 100, got {window!r}")
    ret, _ = _check(features, fold)
    start, stop = fold.test
    out = np.empty(stop - start)
    previous = None
    for refit in range(start, stop, refit_every):
        first = fold.train[0] if window is None else max(fold.train[0], refit - window)
        model = arch_model(ret[first:refit], mean="Constant", vol="GARCH", p=1, q=1, dist="normal",
                           rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", StartingValueWarning)
            result = model.fit(disp="off", starting_values=previous, show_warning=False)
        previous = result.params.to_numpy()
        mu, omega, alpha, beta = (float(result.params[k]) for k in ("mu", "omega", "alpha[1]", "beta[1]"))
        variance = float(result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])  # for day `refit`
        for day in range(refit, min(refit + refit_every, stop)):
            if day > refit:
                variance = omega + alpha * (ret[day - 1] - mu) ** 2 + beta * variance
            out[day - start] = variance
    return out * (level_ratio(features, fold) if calibrate else 1.0)


def har_design(rv) -> np.ndarray:
    """HAR regressors for every forecast day d: [rv_{d−1}, mean rv_{d−5..d−1}, mean rv_{d−22..d−1}].

    Shape (N, 3); rows d < 22 are NaN (not enough history).
    """
    values = np.asarray(rv, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"rv must be 1-D, got shape {values.shape}")
    cumulative = np.concatenate([[0.0], np.cumsum(values)])  # cumulative[d] = sum(rv[:d])
    out = np.full((len(values), len(HAR_LAGS)), np.nan)
    for j, lag in enumerate(HAR_LAGS):
        days = np.arange(lag, len(values))
        out[days, j] = (cumulative[days] - cumulative[days - lag]) / lag
    return out


def _fit_days(fold: Fold, first: int) -> np.ndarray:
    days = np.arange(max(fold.train[0], first), fold.test[0])
    if len(days) < 50:
        raise ValueError(f"fold has only {len(days)} usable days before its test window (need >= 50)")
    return days


def har_forecast(features: pd.DataFrame, fold: Fold) -> np.ndarray:
    """HAR (Corsi 2009) by least squares on the days before the test window (train + val).

    Forecasts are floored at the smallest proxy seen in the fit (a linear model can go negative).
    """
    _, rv = _check(features, fold)
    design = har_design(rv)
    fit_days = _fit_days(fold, max(HAR_LAGS))
    x = np.column_stack([np.ones(len(fit_days)), design[fit_days]])
    coef, *_ = np.linalg.lstsq(x, rv[fit_days], rcond=None)
    test_days = fold.days("test")
    forecast = np.column_stack([np.ones(len(test_days)), design[test_days]]) @ coef
    return np.maximum(forecast, rv[fit_days].min())


def _log_har_design(rv: np.ndarray, days: np.ndarray) -> np.ndarray:
    """[1, ln rv_{d−1}, ln mean rv_{d−5..d−1}, ln mean rv_{d−22..d−1}] for the given days, shape (M, 4)."""
    design = har_design(rv)[days]
    return np.column_stack([np.ones(len(days)), np.log(design)])


def fit_log_har_qlike(x: np.ndarray, y: np.ndarray, *, tol: float = 1e-20, max_iter: int = 100) -> np.ndarray:
    """Coefficients β minimising mean QLIKE of forecasts h = exp(x β) against proxies y.

    Args:
        x: design, shape (M, K), first column ones (the intercept).
        y: proxies, shape (M,), > 0.
        tol: stop when the Newton decrement² / 2 (the predicted loss decrease) is below ``tol``;
            Newton's method converges quadratically, so the default reaches float64 rounding.

    QLIKE(y, e^η) = y e^{−η} + η − ln y − 1 is convex in η = x β, so this is a smooth convex problem
    (the same as a gamma GLM with a log link: its deviance is 2 × QLIKE). It is solved by Newton's
    method with backtracking, started from least squares on ln y. At the optimum the intercept's
    first-order condition gives mean(y / h) = 1 on the fit days: the forecasts are unbiased in level
    without a lognormal correction.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] <= x.shape[1]:
        raise ValueError(f"need x of shape (M, K) and y of shape (M,) with M > K, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(y <= 0):
        raise ValueError("x must be finite and y finite and > 0")

    def loss(beta):
        eta = x @ beta
        return float(np.mean(y * np.exp(-eta) + eta))

    beta, *_ = np.linalg.lstsq(x, np.log(y), rcond=None)
    beta[0] += np.log(np.mean(y * np.exp(-(x @ beta))))  # exact intercept for the LS slopes
    current = loss(beta)
    for _ in range(max_iter):
        weight = y * np.exp(-(x @ beta))  # QLIKE's second derivative in η
        gradient = x.T @ (1.0 - weight) / len(y)
        hessian = (x * weight[:, None]).T @ x / len(y)
        step = np.linalg.solve(hessian, -gradient)
        decrement = float(-gradient @ step)
        if decrement / 2 < tol:
            return beta
        size = 1.0
        if decrement > 1e-8:  # far from the optimum: backtrack until the loss falls enough (Armijo)
            while loss(beta + size * step) > current - 0.25 * size * decrement:
                size /= 2
                if size < 1e-10:
                    raise RuntimeError("log-HAR QLIKE fit: the line search failed")
        # near it, full Newton steps converge quadratically; a loss comparison there would only see
        # rounding, so the last steps are not checked against it
        beta = beta + size * step
        current = loss(beta)
    raise RuntimeError(f"log-HAR QLIKE fit did not converge in {max_iter} Newton steps")


def log_har_qlike_forecast(features: pd.DataFrame, fold: Fold) -> np.ndarray:
    """HAR with QLIKE: h_d = exp(β₀ + β₁ ln rv_{d−1} + β₂ ln rv^w_{d−1} + β₃ ln rv^m_{d−1}), where rv^w and
    rv^m are the 5- and 22-day means of :func:`har_design`, and β minimises the mean QLIKE on the
    days before the test window (train + val; :func:`fit_log_har_qlike`).

    The log-linear form keeps every forecast positive; fitting it by QLIKE, the loss the neural
    networks and gradient boosting are trained on, makes the comparison with them like for like.
    """
    _, rv = _check(features, fold)
    fit_days = _fit_days(fold, max(HAR_LAGS))
    beta = fit_log_har_qlike(_log_har_design(rv, fit_days), rv[fit_days])
    return np.exp(_log_har_design(rv, fold.days("test")) @ beta)


def lagged_features(features: pd.DataFrame) -> np.ndarray:
    """Gradient-boosting inputs for every forecast day d (rows < d only), shape (N, 10):
    log rv lags 1–5, log of the weekly and monthly HAR means, returns lags 1–2, |return| lag 1."""
    ret, rv = features["ret"].to_numpy(float), features["rv"].to_numpy(float)
    n = len(rv)
    columns = []
    for lag in range(1, 6):
        column = np.full(n, np.nan)
        column[lag:] = np.log(rv[:-lag])
        columns.append(column)
    har = har_design(rv)
    columns += [np.log(har[:, 1]), np.log(har[:, 2])]
    for lag in (1, 2):
        column = np.full(n, np.nan)
        column[lag:] = ret[:-lag]
        columns.append(column)
    column = np.full(n, np.nan)
    column[1:] = np.abs(ret[:-1])
    columns.append(column)
    return np.column_stack(columns)


def gbm_forecast(features: pd.DataFrame, fold: Fold, *, seed: int = 0, max_iter: int = 100,
                 learning_rate: float = 0.1, return_model: bool = False):
    """Histogram gradient boosting on :func:`lagged_features`, fitted on the days before the test
    window with the gamma deviance (a log link; its deviance is 2 × QLIKE), no early stopping.
    With ``return_model`` returns ``(forecast, fitted_model)``."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    _, rv = _check(features, fold)
    design = lagged_features(features)
    fit_days = _fit_days(fold, max(HAR_LAGS))
    model = HistGradientBoostingRegressor(loss="gamma", max_iter=max_iter, learning_rate=learning_rate,
                                          max_leaf_nodes=15, min_samples_leaf=40, early_stopping=False,
                                          random_state=seed)
    model.fit(design[fit_days], rv[fit_days])
    forecast = model.predict(design[fold.days("test")])
    return (forecast, model) if return_model else forecast


Forecaster = Callable[..., np.ndarray]


def walk_forward_forecast(forecaster: Forecaster, features: pd.DataFrame, folds: Sequence[Fold],
                          **kwargs) -> np.ndarray:
    """Concatenate ``forecaster(features, fold, **kwargs)`` over the folds' test windows."""
    folds = check_folds(folds)
    pieces = []
    for fold in folds:
        piece = np.asarray(forecaster(features, fold, **kwargs), dtype=float)
        if piece.shape != (fold.test[1] - fold.test[0],):
            raise ValueError(f"{getattr(forecaster, '__name__', forecaster)} returned shape {piece.shape} "
                             f"for a test window of {fold.test[1] - fold.test[0]} days")
        pieces.append(piece)
    return np.concatenate(pieces)
