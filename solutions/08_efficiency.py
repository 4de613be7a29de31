# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 08 Deep learning without powerful hardware
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.efficiency`, so CI proves each one passes.
#
# ## Exercise 1 — affine int8 quantization by hand
#
# int8 has 256 levels, -128 to 127. The affine (asymmetric) scheme maps a float range `[lo, hi]` onto
# all of them: one step is `scale = (hi - lo) / 255`, and the integer `zero_point` is the level that
# stands for 0.0, so that `x ≈ (q - zero_point) * scale`. Four details decide whether it is right:
#
# - **the range includes 0**: `lo = min(x.min(), 0)`, `hi = max(x.max(), 0)`. Zero must be a level
#   exactly (padding, ReLU outputs and pruned weights are exact zeros); for an all-positive tensor this
#   makes `zero_point = -128`;
# - **the zero point is an integer**: `-128 - lo / scale` rounded — a float zero point would put 0.0
#   between two levels;
# - **round, then clip**: `np.round(x / scale) + zero_point` is the nearest level; rounding can land
#   one past the end (127.5 -> 128), and `astype(np.int8)` does not clip, it wraps 128 to -128 — so
#   `np.clip(..., -128, 127)` comes before the cast;
# - **asymmetric, not symmetric**: the symmetric scheme (`zero_point = 0`, `scale = max|x| / 127`)
#   is simpler and is what weights usually get; for a lopsided range (activations after a ReLU) it
#   wastes half of the levels.
#
# The error of every element is then at most half a step, `scale / 2`.

# %%
import numpy as np


def quantize_int8(x):
    x = np.asarray(x, dtype=np.float64)
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0
    if scale == 0.0:  # x is all zeros: any positive scale represents it
        scale = 1.0
    zero_point = int(np.round(-128 - lo / scale))
    q = np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)
    return q, scale, zero_point


# %% [markdown]
# ## Exercise 2 — global magnitude pruning
#
# Magnitude pruning removes the weights closest to 0: they change the output least. *Global* pruning
# ranks the magnitudes `|w|` of all tensors together, so a layer of large weights keeps more of them
# than a layer of small ones — one threshold, not one per layer. With `total` numbers, exactly
# `k = round(sparsity * total)` are pruned: sort all magnitudes once (`np.argsort` of the concatenated
# `|w|`), mark the first `k` positions, and cut that flat mask back into the tensors' shapes.
# Working with positions instead of a threshold value avoids the off-by-one of `>=` versus `>` (and
# breaks ties between equal magnitudes deterministically: a stable sort keeps the earlier one first).
# `True` means kept, as in `torch.nn.utils.prune`; note `k = 0` prunes nothing (an index `k - 1` would
# wrap around to the largest value).

# %%
def global_masks(weights, sparsity):
    names = list(weights)
    magnitudes = np.concatenate([np.abs(np.asarray(weights[name])).ravel() for name in names])
    k = int(round(sparsity * magnitudes.size))
    keep = np.ones(magnitudes.size, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:k]] = False
    masks, start = {}, 0
    for name in names:
        size = np.asarray(weights[name]).size
        masks[name] = keep[start:start + size].reshape(np.shape(weights[name]))
        start += size
    return masks


# %% [markdown]
# ## Exercise 3 — what the all-reduce must compute
#
# In data-parallel training each rank (process) computes the gradient of the **mean** loss over its
# own `n_r` examples. The model should follow the gradient of the mean loss over the global batch,
# `L = (1 / N) * sum over all examples = sum_r (n_r / N) * L_r` with `N = sum_r n_r`, and the gradient
# is linear: `g = sum_r (n_r / N) * g_r`. With equal batch sizes that is the plain mean over ranks —
# what DistributedDataParallel's all-reduce computes (it sums and divides by the number of ranks;
# `DistributedSampler` gives every rank equally many examples, repeating a few to pad). Unequal batches
# — a smaller last batch on one rank — need the weights.
# Build new arrays: `total += ...` on the first rank's array would change that rank's gradient.

# %%
def average_gradients(grads, batch_sizes):
    total = float(sum(batch_sizes))
    averaged = {}
    for name in grads[0]:
        averaged[name] = sum(n / total * np.asarray(g[name], dtype=np.float64)
                             for n, g in zip(batch_sizes, grads))
    return averaged
