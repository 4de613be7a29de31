# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 11 Your own data
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.own_data`, so CI proves each one passes.
#
# ## Exercise 1 — labels from your file
#
# A label column arrives as strings ("yes"/"no", "active"/"inactive"), booleans, or 0/1 numbers that
# pandas may have read as floats. The mapping itself is one comparison, `values == positive`; the
# exercise is everything that comparison would hide:
#
# - **a missing value** (an empty cell: None or NaN) would silently become 0, a negative;
# - **a third label** — "Yes" beside "yes", "yes " with a trailing space, a typo such as "yse" —
#   would silently become 0 as well. Compare labels exactly and refuse anything that is neither the
#   positive label nor the column's one other label, naming it (`repr` shows the trailing space);
# - **a positive label that does not occur** ("yes" for a column of "Yes"/"No") would give all zeros.
#
# Numbers and booleans compare by value, so 1, 1.0 and True are one label, and `positive=0` is
# allowed (1 then marks the zeros). Neither alphabetical codes (`np.unique`) nor first-seen codes
# (`pd.factorize`) know which label is the positive one.

# %%
import numpy as np
import pandas as pd


def to_binary_labels(values, positive):
    column = pd.Series(list(values), dtype=object)      # a copy; position 0..N-1, whatever the input's index
    missing = column.isna().to_numpy()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} missing labels (None/NaN) at rows "
                         f"{np.flatnonzero(missing)[:5].tolist()}: fill them in or drop those rows first")
    labels = list(dict.fromkeys(column))                 # the distinct labels, in order of appearance
    if positive not in labels:
        raise ValueError(f"the positive label {positive!r} does not occur; the column's labels are {labels}")
    others = [label for label in labels if label != positive]
    if len(others) > 1:
        raise ValueError(f"more than two labels: the positive label {positive!r} and {others}; a label column "
                         f"holds exactly two (is one of {others} a typo, another spelling or a stray value?)")
    return (column == positive).to_numpy().astype(np.int64)


# %% [markdown]
# ## Exercise 2 — split-like jumps by hand
#
# The daily log return of day t is `ln(close_t / close_{t-1})`; an unadjusted 2:1 split halves the
# price overnight, a log return of `ln(1/2) = -0.69`, far beyond any ordinary day of a broad index.
# Flag the days whose |log return| exceeds the threshold, in both directions (a reverse split jumps
# up), and date each one by the day the new price arrives — `close.index[1:]`, the index the
# returns belong to. Log returns, not simple ones: a -24 % day is a log return of -0.274 (flagged at
# 0.25) while a +27 % day is +0.239 (not flagged), so `pct_change` disagrees on both.

# %%
def suspicious_jumps(close, threshold=0.25):
    log_returns = np.diff(np.log(close.to_numpy(dtype=np.float64)))   # (N-1,), return of day t = row t
    return close.index[1:][np.abs(log_returns) > threshold]


# %% [markdown]
# ## Exercise 3 — PR-AUC (average precision) by hand
#
# Average precision is the mean, over the positives, of the precision at that positive's score:
# `#(positives with score >= s) / #(items with score >= s)`. Counting "score >= s" rather than "rank
# <= k" is what sklearn's `average_precision_score` does with ties: items that share a score enter the
# list together, so their order does not matter (a rank-based version would depend on how `argsort`
# breaks the tie). Sort once, descending; the cumulative counts at the last item of each run of equal
# scores give the precision at that score.

# %%
def average_precision(labels, scores):
    labels = np.asarray(labels, dtype=np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    true_positives = np.cumsum(labels)                  # positives among the first k items
    seen = np.arange(1, labels.size + 1)                 # items among the first k
    starts = np.r_[True, scores[1:] != scores[:-1]]     # the first item of each run of equal scores
    tie = np.cumsum(starts) - 1                          # which run each item belongs to
    end = np.flatnonzero(np.r_[starts[1:], True])[tie]   # the run's last item: "score >= s" admits the whole run
    precision = true_positives[end] / seen[end]
    return float(precision[labels == 1].mean())


# %% [markdown]
# ## Exercise 3b — the PR-AUC of a random ranking
#
# A random ranking scores every item with a random number. Each positive's precision is the share of
# positives among the items at or above it; for a random order those items are a random sample, so
# that share is on average the **prevalence** — the mean of the precisions, the AP, is about the
# prevalence too. (Exactly, a positive counts itself: a positive at rank k has precision
# `(1 + (k - 1)(R - 1)/(N - 1)) / k` on average, so the expected AP is
# `(H_N + (N - H_N)(R - 1)/(N - 1)) / N` with `H_N = 1 + 1/2 + ... + 1/N`; above the prevalence for a
# dozen items, within about 0.01 of it for a few hundred.) That is why a PR-AUC is read against the
# prevalence, not against 0.5 as a ROC AUC is: 0.30 is four times chance at 7 % positives and worse
# than chance at 40 %.

# %%
def random_pr_auc(labels, n_rankings=200, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    return float(np.mean([average_precision(labels, rng.random(labels.size)) for _ in range(n_rankings)]))
