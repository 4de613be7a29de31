# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 02 Convolutional networks for medical images
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.cnn`, so CI proves each one passes.
#
# ## Exercise 1 — max pooling by hand
#
# 2 × 2 max pooling with stride 2 cuts the image into non-overlapping 2 × 2 blocks and keeps the
# largest value of each. A reshape does the cutting without copying: split the height $H$ into
# $(H/2, 2)$ — block row, row inside the block — and the width likewise. The order matters:
# `(H // 2, 2)` keeps neighbouring rows together; `(2, H // 2)` would pair row $i$ with row
# $i + H/2$, pixels far apart. Then take the maximum over the two "inside the block" axes (3 and 5).
# `amax` starts from the values themselves, so all-negative blocks are right too (a running maximum
# started at 0 would not be).

# %%
import math

import numpy as np


def max_pool_2x2(x):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)   # (N, C, block row, row in block, block col, col in block)
    return blocks.amax(dim=(3, 5))                   # (N, C, H/2, W/2)


# %% [markdown]
# ## Exercise 2 — output size
#
# Padding adds $p$ zeros on *both* sides: $n + 2p$ pixels. The first window starts at pixel 0 and the
# last one must end inside, so its start is at most $n + 2p - k$. Starts are $0, s, 2s, \dots$: there
# are $\lfloor (n + 2p - k) / s \rfloor + 1$ of them. The floor matters when $n + 2p - k$ is not a
# multiple of $s$: the last few pixels that cannot fill a whole step are skipped (PyTorch's default,
# `ceil_mode=False`). Integer floor division `//` keeps the result an int.

# %%
def output_size(n, kernel, stride=1, padding=0):
    return (n + 2 * padding - kernel) // stride + 1


# %% [markdown]
# ## Exercise 3 — a screening threshold
#
# Predicting pneumonia when `score >= t` catches exactly the pneumonia X-rays whose score is at least
# $t$. Sort the pneumonia scores from high to low: with $t$ equal to the $k$-th of them we catch (at
# least) $k$ cases, sensitivity $k / n_1$. The smallest $k$ with $k / n_1 \ge$ `target` gives the largest
# threshold; any value above that score would lose the $k$-th case. Computing $k/n_1$ and comparing it
# with `target` (instead of `ceil(target * n1)`) avoids a rounding trap: `0.95 * 60` is
# `57.00000000000001` in floating point.

# %%
def screening_threshold(y_val, p_val, target=0.95):
    positives = np.sort(np.asarray(p_val)[np.asarray(y_val) == 1])[::-1]    # pneumonia scores, high to low
    sensitivity = np.arange(1, len(positives) + 1) / len(positives)         # catching the top k
    k = int(np.argmax(sensitivity >= target))                               # first k that reaches the target
    return float(positives[k])
