# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 03 LSTM for finance
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.volatility`, so CI proves each one passes.
#
# ## Exercise 1 — `my_qlike`
#
# QLIKE compares a variance forecast $h$ with the proxy $\hat\sigma^2$ through their ratio
# $x = \hat\sigma^2 / h$: the loss of one day is $x - \ln x - 1$, which is 0 when $x = 1$ and grows faster
# for $x > 1$ (risk under-predicted) than for $x < 1$. The exercise asks for the mean over the days —
# the number a table reports — so we average; the order of the arguments matters (proxy first).

# %%
import numpy as np


def my_qlike(proxy, forecast):
    ratio = np.asarray(proxy, dtype=float) / np.asarray(forecast, dtype=float)
    return float(np.mean(ratio - np.log(ratio) - 1))


# %% [markdown]
# ## Exercise 2 — `choose_lambda`
#
# Tuning on the test window would make the test score optimistic: the choice would be fitted to the
# very days it is judged on. The fold's *validation* window comes before its test window, so we score
# there. `validation_as_test(fold)` is a fold whose "test" window is `fold`'s validation window, so
# `ewma_forecast` forecasts exactly those days, each from the days before it. We score every
# candidate with QLIKE (proxy first, forecast second) and keep the lowest; ties are broken by the
# order of the candidates.

# %%
from course_lib.finance import ewma_forecast, qlike, validation_as_test


def choose_lambda(features, fold, candidates):
    tuning = validation_as_test(fold)
    proxy = features["rv"].to_numpy()[tuning.days("test")]
    scores = {lam: qlike(proxy, ewma_forecast(features, tuning, lam=lam)) for lam in candidates}
    return min(scores, key=scores.get)


# %% [markdown]
# ## Exercise 3 — `my_fixed_forecast`
#
# `rv.rolling(5).mean()` at row d averages rows d−4 .. d, so it contains day d itself — the value we
# are forecasting. Shifting the rolling mean by one row moves every window back one day: the value at
# row d becomes the mean of rows d−5 .. d−1, all known at the close of day d−1. Then we keep the
# fold's test days.

# %%
def my_fixed_forecast(features, fold):
    weekly = features["rv"].rolling(5).mean().shift(1).to_numpy()  # mean of days d-5 .. d-1
    return weekly[fold.days("test")]
