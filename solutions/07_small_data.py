# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 07 Deep learning with small data: breast ultrasound
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.small_data`, so CI proves each one passes.
#
# ## Exercise 1 — freeze the feature extractor
#
# A parameter is frozen when it no longer asks for a gradient: `requires_grad = False`. Then
# `loss.backward()` leaves its `.grad` empty and no optimizer step changes it. Three traps:
#
# - `model.eval()` does not freeze anything: it switches dropout off and makes batch norm use its
#   running statistics, but every weight still gets a gradient;
# - `model.features.requires_grad = False` sets a new attribute on the `Sequential` and freezes
#   nothing; the method `requires_grad_(False)` (with the underscore) or a loop over
#   `.parameters()` does it;
# - batch norm has parameters too (a scale and a shift per channel): loop over *all* parameters of
#   `model.features`, not only the convolutions' weights.
#
# The head must train — it may have been frozen before, so set its flags to `True` explicitly.
# The count is over numbers, not tensors: `p.numel()` per trainable tensor, summed.

# %%
import numpy as np
from scipy import stats


def freeze_features(model):
    for parameter in model.features.parameters():
        parameter.requires_grad = False
    for parameter in model.head.parameters():
        parameter.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# %% [markdown]
# ## Exercise 2 — an honest verdict from per-seed numbers
#
# The two models ran the same seeds, so compare them seed by seed: the differences $d_i = a_i - b_i$
# remove whatever the seed did to both (a lucky data order, an easy subset). Their mean $\bar d$ has
# the standard error $s_d/\sqrt{n}$ with the *sample* standard deviation $s_d$ (`ddof=1`), and with
# $n$ seeds the 95 % interval uses Student's $t$ quantile with $n - 1$ degrees of freedom, two-sided:
# `stats.t.ppf(0.975, n - 1)` — 4.30 for three seeds, far from the normal 1.96: three numbers say
# little about the spread. A model wins only when the whole interval lies on its side of 0.

# %%
def honest_verdict(scores_a, scores_b):
    differences = np.asarray(scores_a, dtype=float) - np.asarray(scores_b, dtype=float)
    n = len(differences)
    half = stats.t.ppf(0.975, n - 1) * differences.std(ddof=1) / np.sqrt(n)
    low, high = differences.mean() - half, differences.mean() + half
    if low > 0:
        return "a"
    if high < 0:
        return "b"
    return "no clear winner"


# %% [markdown]
# ## Exercise 3 — a stratified subset by hand
#
# Draw each class separately: `round(fraction * n_c)` of its rows (at least one, so that a rare class
# is never lost), without replacement, from a generator seeded with `seed` so the same seed gives the
# same subset. Concatenate and sort.

# %%
def stratified_indices(labels, fraction, seed):
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        take = max(1, int(round(fraction * len(rows))))
        chosen.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(chosen))
