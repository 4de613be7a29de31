# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 10 Bias across groups, and a transformer's explanations put to the test
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.reliability`, so CI proves each one passes.
#
# ## Exercise 1 — selection rate and true-positive rate per group
#
# Two rates per group `g`, both means of `y_pred` over a set of rows:
#
# - the **selection rate**: over all of the group's rows — how often the model flags its people;
# - the **true-positive rate**: over the group's rows with `y_true == 1` only — how often the people for
#   whom the flag is right get it. Dividing by the group's size instead, or by the number flagged
#   (that is the precision), answers another question.
#
# Build the index from the same labels the masks use (`np.unique` sorts them), so that each row carries
# its own group's numbers.

# %%
import numpy as np
import pandas as pd


def group_rates(y_true, y_pred, sensitive):
    y_true, y_pred, sensitive = np.asarray(y_true), np.asarray(y_pred), np.asarray(sensitive)
    rows = {}
    for label in np.unique(sensitive):
        member = sensitive == label
        positive = member & (y_true == 1)
        rows[label] = {"selection_rate": y_pred[member].mean(), "tpr": y_pred[positive].mean()}
    return pd.DataFrame.from_dict(rows, orient="index")


# %% [markdown]
# ## Exercise 2 — a percentile bootstrap interval of the demographic-parity difference
#
# The demographic-parity difference is the largest selection rate minus the smallest (fairlearn's
# `demographic_parity_difference`). On a few hundred people it is noisy, and the bootstrap measures
# how noisy: draw each group's rows again **with replacement, within the group** (so every resample
# has every group, at its own size; the pairs of prediction and group stay together), recompute the
# difference, and repeat. The middle `confidence` share of the recomputed differences is the interval:
# the `(1 - confidence) / 2` and `(1 + confidence) / 2` quantiles.
#
# Within a group only the count of selected rows matters, so one resample of a group is the sum of
# `y_pred` at `n_g` random row indices: `rng.integers(0, n_g, size=(n_resamples, n_g))` draws all the
# resamples of a group at once. The generator is made from `seed` inside the function, so the same seed
# gives the same interval.

# %%
def dp_bootstrap_interval(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    y_pred, sensitive = np.asarray(y_pred, dtype=np.float64), np.asarray(sensitive)
    rng = np.random.default_rng(seed)
    rates = []
    for label in np.unique(sensitive):
        member = y_pred[sensitive == label]
        draws = rng.integers(0, member.size, size=(n_resamples, member.size))
        rates.append(member[draws].mean(axis=1))
    rates = np.stack(rates)                          # (groups, n_resamples)
    differences = rates.max(axis=0) - rates.min(axis=0)
    low, high = np.quantile(differences, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


# %% [markdown]
# ## Exercise 3 — attention rollout
#
# A layer's attention says how much each token's new representation draws on each token of the layer
# below — but the residual connection passes the token's own representation through as well. Rollout
# (Abnar & Zuidema 2020) accounts for it: per layer, average the heads, mix in the identity,
# `Â = residual * I + (1 - residual) * A`, re-normalise the rows, and multiply the layers — the later
# layer on the **left**, `Â_last @ ... @ Â_0`, because token `i` at the top draws on the tokens of the
# layer below, which drew on the layer below that. Row `i` of the product says how much token `i`'s top
# representation draws on each input token.

# %%
def attention_rollout_by_hand(attentions, residual=0.5):
    attentions = np.asarray(attentions, dtype=np.float64)
    length = attentions.shape[-1]
    rollout = np.eye(length)
    for layer in attentions:                          # layer 0 first
        mixed = residual * np.eye(length) + (1.0 - residual) * layer.mean(axis=0)
        mixed = mixed / mixed.sum(axis=1, keepdims=True)
        rollout = mixed @ rollout
    return rollout
