"""The self-checks of notebook 03's exercises (see :mod:`course_lib.checks` for the design).

- :func:`check_qlike` — Exercise 1, the mean QLIKE loss written by hand.
- :func:`check_choose_lambda` — Exercise 2, choosing the EWMA λ on the validation window.
- :func:`check_fixed_forecast` — Exercise 3, the 5-day mean of the *previous* days, without look-ahead.

Every check draws its inputs fresh (:func:`~course_lib.checks._common.fresh_rng`): random sizes and
values for Exercise 1, and for Exercises 2 and 3 a synthetic return and variance-proxy series (a
GARCH(1,1) path whose parameters change between the windows) with a random fold. The learner cannot
know the inputs, so no constant answer passes. :func:`synthetic_features` builds those series and
:func:`uses_future` is the look-ahead test of Exercise 3 (the notebook also applies it to a leaky
forecaster).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code
from course_lib.finance.baselines import ewma_forecast, har_design, har_forecast
from course_lib.finance.losses import mse, qlike, qlike_series
from course_lib.finance.models import qlike_loss
from course_lib.finance.splits import Fold, validation_as_test


# ----------------------------------------------------------------------------- shared inputs
def synthetic_features(rng: np.random.Generator, n_days: int, regimes: int = 3) -> pd.DataFrame:
    """A features table like :func:`course_lib.finance.make_features`'s, from a GARCH(1,1) path.

    ``ret`` (percent) follows σ²_t = ω + α r²_{t−1} + β σ²_t−1 with (α, β) redrawn in each of
    ``regimes`` equal blocks of days (so the best smoothing differs between windows); ``rv`` is a
    noisy, positive proxy of σ²_t (σ²_t times a log-normal factor with mean 1). Shape (n_days, 2),
    business-day DatetimeIndex.
    """
    if n_days < 50 or regimes < 1:
        raise ValueError(f"need n_days >= 50 and regimes >= 1, got {n_days}, {regimes}")
    blocks = np.array_split(np.arange(n_days), regimes)
    alpha, beta = np.empty(n_days), np.empty(n_days)
    for block in blocks:
        a = rng.uniform(0.02, 0.25)
        alpha[block], beta[block] = a, rng.uniform(0.5, 0.97 - a)
    variance, ret = np.empty(n_days), np.empty(n_days)
    variance[0] = 1.0
    for t in range(n_days):
        if t:
            omega = 1.0 - alpha[t] - beta[t]  # long-run variance 1 (%²)
            variance[t] = omega + alpha[t] * ret[t - 1] ** 2 + beta[t] * variance[t - 1]
        ret[t] = np.sqrt(variance[t]) * rng.standard_normal()
    noise = rng.normal(0.0, 0.6, n_days)
    rv = variance * np.exp(noise - 0.18)  # E[exp(N(0, 0.6²) − 0.18)] = 1
    index = pd.bdate_range("2001-01-01", periods=n_days)
    return pd.DataFrame({"ret": ret, "rv": rv}, index=index)


# ----------------------------------------------------------------------------- Exercise 1
#: QLIKE helpers of course_lib a learner might call instead of writing the formula.
QLIKE_LIBRARY = (qlike, qlike_series, qlike_loss, "qlike", "qlike_series", "qlike_loss")


def check_qlike(my_qlike, *, seed=None) -> None:
    """Check ``my_qlike(proxy, forecast) -> mean of proxy/forecast − ln(proxy/forecast) − 1``.

    Inputs: 1-D float arrays of positive variances with a fresh size (5–300) and spread; one fixed
    case where every ratio is 1 (QLIKE exactly 0) and one where every ratio is 2 (1 − ln 2). Separates: the ratio inverted (forecast/proxy),
    the sum instead of the mean, a missing ``− 1``, per-day values instead of their mean, log base
    10, the squared error, and calling course_lib's ``qlike``.
    """
    require_own_code(my_qlike, *QLIKE_LIBRARY)
    rng, seed = fresh_rng(seed)
    n = int(rng.integers(5, 300))
    level = rng.uniform(0.3, 3.0)
    proxy = level * rng.lognormal(0.0, 0.8, n)
    forecast = level * rng.lognormal(0.0, 0.5, n)
    answer = my_qlike(proxy.copy(), forecast.copy())
    if answer is None:
        raise NotImplementedError("complete my_qlike and re-run")
    # float64 reference; a float32 learner loses ~1e-7 absolute per term to the cancellation in
    # r − ln r − 1 (and ~1e-7 relative in the mean); rtol 1e-5 / atol 1e-6 accept that, while every
    # wrong formula listed above differs by far more than 1e-3 on these inputs
    expected = float(np.mean(proxy / forecast - np.log(proxy / forecast) - 1))
    assert_close(answer, expected, rtol=1e-5, atol=1e-6, what=f"my_qlike(proxy, forecast) for {n} days",
                 seed=seed)
    same = np.full(7, level)
    assert_close(my_qlike(same, same.copy()), 0.0, rtol=0, atol=1e-6,
                 what="my_qlike(x, x) (a perfect forecast must cost 0)", seed=seed)
    # every ratio 2: QLIKE = 2 − ln 2 − 1 by hand. The random case alone cannot separate log base 10
    # when its mean log-ratio happens to fall near 0 (the two formulas differ by 0.57 × mean ln r).
    assert_close(my_qlike(2 * same, same.copy()), 1.0 - np.log(2.0), rtol=1e-5, atol=1e-6,
                 what="my_qlike(2x, x) (every proxy twice its forecast: 1 − ln 2)", seed=seed)


# ----------------------------------------------------------------------------- Exercise 2
def _validation_scores(features: pd.DataFrame, fold: Fold, candidates, window: str, loss=qlike) -> dict:
    tuning = validation_as_test(fold) if window == "val" else fold
    proxy = features["rv"].to_numpy()[tuning.days("test")]
    return {lam: loss(proxy, ewma_forecast(features, tuning, lam=lam)) for lam in candidates}


def _best(scores: dict) -> float:
    return min(scores, key=scores.get)


def _tuning_problem(rng: np.random.Generator, attempts: int = 400, avoid_positions=()):
    """Synthetic features, a fold and candidates where the validation choice is unambiguous and differs
    from every shortcut: the test-window choice, the train-window choice, the MSE choice, the choice
    with QLIKE's arguments swapped, the largest QLIKE, 0.94, and the smallest and largest candidate;
    its position in the (sorted) candidates is not one of ``avoid_positions``."""
    for _ in range(attempts):
        n_train, n_val, n_test = (int(rng.integers(300, 500)), int(rng.integers(150, 260)),
                                  int(rng.integers(150, 260)))
        features = synthetic_features(rng, n_train + n_val + n_test, regimes=3)
        fold = Fold(train=(0, n_train), val=(n_train, n_train + n_val),
                    test=(n_train + n_val, n_train + n_val + n_test))
        k = int(rng.integers(5, 8))
        candidates = tuple(sorted(float(v) for v in np.round(rng.uniform(0.80, 0.995, k), 3)))
        if len(set(candidates)) < k or 0.94 in candidates:
            continue
        val = _validation_scores(features, fold, candidates, "val")
        best = _best(val)
        ordered = sorted(val.values())
        if ordered[1] - ordered[0] < 1e-4 * ordered[0]:  # a clear winner, robust to float32 learners
            continue
        train_fold = Fold(train=(0, 100), val=(100, 101), test=(101, n_train))
        shortcuts = {
            _best(_validation_scores(features, fold, candidates, "test")),
            _best(_validation_scores(features, train_fold, candidates, "test")),
            _best(_validation_scores(features, fold, candidates, "val", loss=mse)),
            _best(_validation_scores(features, fold, candidates, "val",
                                     loss=lambda proxy, forecast: qlike(forecast, proxy))),
            max(val, key=val.get), candidates[0], candidates[-1],
        }
        if best not in shortcuts and candidates.index(best) not in avoid_positions:
            return features, fold, candidates, val
    raise RuntimeError("could not build a tuning problem that separates the shortcuts; report this bug")


def check_choose_lambda(choose_lambda, *, seed=None) -> None:
    """Check ``choose_lambda(features, fold, candidates) -> λ``: the candidate whose EWMA forecasts of
    ``fold``'s *validation* days have the lowest QLIKE (forecast with ``ewma_forecast`` on
    ``validation_as_test(fold)``).

    Inputs: three problems, each a synthetic GARCH series whose dynamics change between the training,
    validation and test windows, a fold with fresh window lengths and 5–7 fresh candidates; a draw is
    kept only if its validation choice differs from every shortcut (see :func:`_tuning_problem`) and
    sits at a position of the candidate list the earlier problems did not use. So guessing a constant
    or a fixed position, scoring on the test or training window, using MSE or swapping QLIKE's
    arguments all fail.
    """
    rng, seed = fresh_rng(seed)
    positions = []
    for problem in range(TUNING_PROBLEMS):
        features, fold, candidates, val = _tuning_problem(rng, avoid_positions=positions)
        positions.append(candidates.index(_best(val)))
        _check_one_choice(choose_lambda, features, fold, candidates, val, seed)


#: Independent tuning problems per check; the best candidate sits at a different position in each, so
#: a guess that always picks the same position (or value) fails at least two of them.
TUNING_PROBLEMS = 3


def _check_one_choice(choose_lambda, features, fold, candidates, val, seed) -> None:
    answer = choose_lambda(features.copy(), fold, candidates)
    if answer is None:
        raise NotImplementedError("complete choose_lambda and re-run")
    expect(isinstance(answer, (float, int, np.floating)) and not isinstance(answer, bool),
           f"choose_lambda should return one λ (a number from candidates), got {type(answer).__name__}", seed)
    # exact: the answer must be one of the candidate values themselves, not a recomputed number
    expect(float(answer) in candidates, f"choose_lambda returned {answer}, which is not one of the candidates "
           f"{candidates}", seed)
    best = _best(val)
    expect(float(answer) == best,
           f"λ = {answer} has validation QLIKE {val[float(answer)]:.5f}, but another candidate scores lower on "
           "the validation days. Score every candidate on fold's validation window "
           "(validation_as_test(fold)), never on its test window, and keep the lowest QLIKE.", seed)


# ----------------------------------------------------------------------------- Exercise 3
def uses_future(forecaster, features: pd.DataFrame, fold: Fold, *, cut_offset: int = 10) -> bool:
    """True when ``forecaster(features, fold)``'s forecasts up to test day ``fold.test[0] + cut_offset``
    change when the proxy from that day on is tripled — i.e. when it looks ahead."""
    cut = fold.test[0] + cut_offset
    changed = features.copy()
    changed.iloc[cut:, changed.columns.get_loc("rv")] *= 3
    before = np.asarray(forecaster(features.copy(), fold), dtype=float)
    after = np.asarray(forecaster(changed, fold), dtype=float)
    keep = cut - fold.test[0] + 1
    # exact: a forecast that ignores later rows is computed from identical numbers by the same code
    # both times, so it is bit-for-bit the same; any use of later rows changes it
    return before.shape != after.shape or not np.array_equal(before[:keep], after[:keep])


def check_fixed_forecast(my_fixed_forecast, *, seed=None) -> None:
    """Check ``my_fixed_forecast(features, fold)``: for each test day d of ``fold``, the mean of the proxy
    ``rv`` over days d−5 .. d−1, shape (len(test),).

    Inputs: a synthetic series and a fold with a fresh test window. Separates: the leaky mean over
    d−4 .. d, windows of 4 or 6 days, the window shifted by two days, yesterday's value only, one value
    per row of ``features`` instead of per test day, and course_lib's ``har_design``/``har_forecast``.
    """
    require_own_code(my_fixed_forecast, har_design, har_forecast, "har_design", "har_forecast")
    rng, seed = fresh_rng(seed)
    n_train, n_test = int(rng.integers(60, 200)), int(rng.integers(40, 120))
    features = synthetic_features(rng, n_train + 20 + n_test, regimes=2)
    fold = Fold(train=(0, n_train), val=(n_train, n_train + 20), test=(n_train + 20, n_train + 20 + n_test))
    answer = my_fixed_forecast(features.copy(), fold)
    if answer is None:
        raise NotImplementedError("complete my_fixed_forecast and re-run")
    expect(not uses_future(my_fixed_forecast, features, fold),
           "your forecast moves when the proxy from the 10th test day on changes: it looks ahead "
           "(the forecast of day d may use days before d only)", seed)
    rv = features["rv"].to_numpy()
    days = fold.days("test")
    expected = np.array([rv[d - 5:d].mean() for d in days])
    # float64 5-day means of values ~1: a running-window sum (pandas) and a direct mean differ by
    # ~1e-15 relative; rtol 1e-9 accepts any summation order, a wrong window differs by ~1e-1
    assert_close(answer, expected, rtol=1e-9, atol=0,
                 what=f"my_fixed_forecast(features, fold) on {len(days)} test days "
                      "(the mean of days d-5 .. d-1)", seed=seed)
