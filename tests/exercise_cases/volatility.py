"""Wrong answers for notebook 03's exercises (format: tests/exercise_cases/__init__.py)."""

import numpy as np

from course_lib.checks.volatility import check_choose_lambda, check_fixed_forecast, check_qlike
from course_lib.finance import ewma_forecast, har_design, mse, qlike, validation_as_test
from exercise_cases import ExerciseCase


# ----------------------------------------------------------------------------- Exercise 1: my_qlike
def library_qlike(proxy, forecast):  # "call the imported library function"
    return qlike(proxy, forecast)


def inverted_ratio(proxy, forecast):
    ratio = forecast / proxy
    return np.mean(ratio - np.log(ratio) - 1)


def summed(proxy, forecast):
    ratio = proxy / forecast
    return np.sum(ratio - np.log(ratio) - 1)


def no_minus_one(proxy, forecast):
    ratio = proxy / forecast
    return np.mean(ratio - np.log(ratio))


def per_day(proxy, forecast):
    ratio = proxy / forecast
    return ratio - np.log(ratio) - 1


def log10(proxy, forecast):
    ratio = proxy / forecast
    return np.mean(ratio - np.log10(ratio) - 1)


def squared_error(proxy, forecast):
    return np.mean((proxy - forecast) ** 2)


def plus_log(proxy, forecast):
    ratio = proxy / forecast
    return np.mean(ratio + np.log(ratio) - 1)


# ----------------------------------------------------------------------------- Exercise 2: choose_lambda
def _scores(features, fold, candidates, *, tuning=None, loss=qlike):
    tuning = validation_as_test(fold) if tuning is None else tuning
    proxy = features["rv"].to_numpy()[tuning.days("test")]
    return {lam: loss(proxy, ewma_forecast(features, tuning, lam=lam)) for lam in candidates}


def on_test_window(features, fold, candidates):  # tunes on the days it will be judged on
    scores = _scores(features, fold, candidates, tuning=fold)
    return min(scores, key=scores.get)


def highest_qlike(features, fold, candidates):
    scores = _scores(features, fold, candidates)
    return max(scores, key=scores.get)


def by_mse(features, fold, candidates):
    scores = _scores(features, fold, candidates, loss=mse)
    return min(scores, key=scores.get)


def swapped_arguments(features, fold, candidates):
    scores = _scores(features, fold, candidates, loss=lambda proxy, forecast: qlike(forecast, proxy))
    return min(scores, key=scores.get)


def returns_index(features, fold, candidates):
    scores = _scores(features, fold, candidates)
    return candidates.index(min(scores, key=scores.get))


def returns_scores(features, fold, candidates):
    return _scores(features, fold, candidates)


# ----------------------------------------------------------------------------- Exercise 3: my_fixed_forecast
def leaky(features, fold):  # the notebook's leaky_forecast: includes day d itself
    return features["rv"].rolling(5).mean().to_numpy()[fold.days("test")]


def window(length, shift):
    def forecast(features, fold):
        return features["rv"].rolling(length).mean().shift(shift).to_numpy()[fold.days("test")]
    return forecast


def yesterday(features, fold):
    return features["rv"].to_numpy()[fold.days("test") - 1]


def every_row(features, fold):
    return features["rv"].rolling(5).mean().shift(1).to_numpy()


def with_har_design(features, fold):  # the weekly column of course_lib's HAR regressors
    return har_design(features["rv"].to_numpy())[fold.days("test"), 1]


def centred(features, fold):  # a centred window: days d-2 .. d+2
    return features["rv"].rolling(5, center=True).mean().to_numpy()[fold.days("test")]


CASES = [
    ExerciseCase(
        notebook="03_lstm_finance", exercise="Exercise 1", check=check_qlike, solution_name="my_qlike",
        wrong={
            "the library function": library_qlike,
            "the library function, aliased": qlike,
            "ratio inverted (forecast/proxy)": inverted_ratio,
            "sum instead of mean": summed,
            "missing - 1": no_minus_one,
            "per-day values, not the mean": per_day,
            "log base 10": log10,
            "squared error": squared_error,
            "+ log instead of - log": plus_log,
            "the stub": lambda proxy, forecast: None,
        },
    ),
    ExerciseCase(
        notebook="03_lstm_finance", exercise="Exercise 2", check=check_choose_lambda, solution_name="choose_lambda",
        wrong={
            "guess: RiskMetrics 0.94": lambda features, fold, candidates: 0.94,
            "guess: the largest candidate": lambda features, fold, candidates: max(candidates),
            "guess: the smallest candidate": lambda features, fold, candidates: min(candidates),
            "guess: the second candidate": lambda features, fold, candidates: candidates[1],
            "tuned on the test window": on_test_window,
            "the highest QLIKE": highest_qlike,
            "tuned by MSE": by_mse,
            "qlike(forecast, proxy)": swapped_arguments,
            "the index, not the value": returns_index,
            "the scores, not the choice": returns_scores,
            "the stub": lambda features, fold, candidates: None,
        },
    ),
    ExerciseCase(
        notebook="03_lstm_finance", exercise="Exercise 3", check=check_fixed_forecast,
        solution_name="my_fixed_forecast",
        wrong={
            "leaky: days d-4 .. d": leaky,
            "4-day window": window(4, 1),
            "6-day window": window(6, 1),
            "shifted by two days": window(5, 2),
            "yesterday only": yesterday,
            "one value per row, not per test day": every_row,
            "course_lib's har_design": with_har_design,
            "centred window": centred,
            "the stub": lambda features, fold: None,
        },
    ),
]
