# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 12 Five misconceptions, tested
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.capstone`, so CI proves each one passes.
#
# ## Exercise 1 — a verdict from its interval
#
# The interval is for `score(a) − score(b)`. When it lies wholly above 0, model a scores more; wholly
# below 0, model a scores less; when 0 is inside it — or exactly on one of its ends — the data cannot
# tell the two apart and there is no clear winner. "Scores more" is "better" only when higher is
# better (accuracy, AUC); for a loss or an error (QLIKE, RMSE, a deletion area) a positive difference
# means model a is *worse*. The two traps are exactly these: forgetting the direction, and reading the
# interval's midpoint (the observed difference) instead of asking whether the interval contains 0.

# %%
import math


def winner(model_a, model_b, low, high, higher_is_better=True):
    if low <= 0 <= high:          # 0 inside the interval (or on an end): no clear winner
        return None
    a_scores_more = low > 0       # the whole interval lies above 0
    return model_a if a_scores_more == higher_is_better else model_b


# %% [markdown]
# ## Exercise 2 — a claim's verdict from its evidence
#
# The five misconceptions are universal claims: "always", "only", "cannot", "replace". One counted
# counterexample refutes a universal claim; no number of agreeing cases proves it, so the best the
# evidence can do for the claim is "not refuted". Evidence measured on stand-in or synthetic data is
# shown but never counted: a counterexample on made-up data shows nothing about real data. When
# nothing is counted at all, the notebook has no basis for a verdict, which is different from the
# claim surviving a test: "not judged". A majority vote answers another question ("usually"), which
# is not what the claims say.

# %%
def claim_verdict(evidence):
    counted = [piece for piece in evidence if piece.counted]
    if not counted:
        return "not judged"
    if any(piece.bears == "against" for piece in counted):
        return "refuted"
    return "not refuted"


# %% [markdown]
# ## Exercise 3 — how many seeds would a difference need?
#
# With n seeds, a mean over them varies from run to run with standard error `std / √n` (std the sample
# standard deviation over the seeds). Because std itself is estimated from only n numbers, the
# multiplier is the quantile of Student's t distribution with n − 1 degrees of freedom, not the normal
# 1.96: 12.71 for two seeds, 4.30 for three, 2.26 for ten (at 95 %, two-sided: the quantile
# `(1 + confidence) / 2` leaves (1 − confidence) / 2 in each tail). The interval excludes 0 once
# `|mean| > t · std / √n`; both factors shrink as n grows, so try n = 2, 3, ... and stop at the first
# that works. If the mean is 0, or the spread too large for `max_n` seeds, no n works: return None.

# %%
from scipy import stats


def seeds_needed(mean, std, confidence=0.95, max_n=100):
    for n in range(2, max_n + 1):
        half_width = stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n)
        if abs(mean) > half_width:
            return n
    return None


# %% [markdown]
# With the normal quantile instead of t, a mean difference as large as its spread would seem to need 4
# or 5 seeds; Student's t says 7. "If the mean and the spread stayed the same" is a big if: with more
# seeds both are re-estimated, and a difference that was noise tends to shrink. The answer is a
# planning figure (how many seeds a rerun should use), not a verdict: a verdict comes from the seeds
# actually run.
