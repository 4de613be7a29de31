# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 09 When deep models fail on images
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.reliability`, so CI proves each one passes.
#
# ## Exercise 1 — the contrast corruption by hand, exactly as PIL computes it
#
# `PIL.ImageEnhance.Contrast(img).enhance(f)` blends the image with a *degenerate* image: a flat grey
# image at the image's mean level. Three details decide whether a hand-written version matches PIL:
#
# - **each image's own mean, rounded half up**: PIL takes `int(mean + 0.5)` of *that* image (not of the
#   batch; `np.round` would round 20.5 to 20, "half to even");
# - **truncation, not rounding**: PIL computes `m + f * (x - m)` in float32 and stores it with a C cast
#   to an 8-bit integer, which drops the fraction (17.9 -> 17);
# - **clipping**: a factor above 1 pushes values below 0 and above 255; clip before the cast, or
#   `astype(np.uint8)` wraps 256 around to 0.
#
# Computing in float32 as PIL does reproduces it bit for bit; float64 differs by one grey level where
# the blend lands within rounding error of a whole number (the check accepts that).

# %%
import numpy as np


def contrast_by_hand(images, factor):
    images = np.asarray(images)
    x = images.astype(np.float32)                       # a new array: `images` stays as it was
    means = images.reshape(len(images), -1).mean(axis=1, dtype=np.float64)
    m = np.floor(means + 0.5).astype(np.float32).reshape(-1, 1, 1)   # int(mean + 0.5), image by image
    blended = m + np.float32(factor) * (x - m)          # float32, as PIL's C code
    return np.trunc(np.clip(blended, 0.0, 255.0)).astype(np.uint8)


# %% [markdown]
# ## Exercise 2 — FPR at 95 % TPR
#
# Higher scores mean "more in-distribution", so an input is accepted as familiar when its score is at
# least a threshold `t`. The threshold keeps 95 % of the ID inputs: the largest `t` with
# `#(id >= t) >= 0.95 n` is the `k`-th smallest ID score, `k = floor(0.05 n)` — computed with integers,
# `(5 * n) // 100`, because `0.05 * 20` is `1.0000000000000002` in floating point. The answer is the
# share of OOD inputs wrongly accepted, `mean(ood >= t)`, with `>=` so that OOD scores tied with the
# threshold are accepted like the ID scores equal to it. `np.percentile(id, 5)` interpolates between
# two ID scores and lands off the data.

# %%
def fpr_at_95_tpr(id_scores, ood_scores):
    id_scores = np.asarray(id_scores, dtype=np.float64).ravel()
    ood_scores = np.asarray(ood_scores, dtype=np.float64).ravel()
    k = (5 * id_scores.size) // 100
    threshold = np.sort(id_scores)[k]
    return float(np.mean(ood_scores >= threshold))


# %% [markdown]
# ## Exercise 3 — the deletion curve's area
#
# A faithful attribution ranks first the pixels the model relies on, so deleting them first should make
# the predicted probability fall fast: a small area under the deletion curve. Order the pixels by
# descending attribution (signed: a negative attribution is evidence *against* the class), delete
# `(k * H * W) // steps` of them for `k = 0, ..., steps` (the first point is the untouched image), fill
# them with 0.0, predict all `steps + 1` images in one batch, and integrate over the fraction deleted,
# `k / steps`, so the area lies in [0, 1] whatever the image size. Work on a copy: `image.ravel()` is a
# view, and writing into it would change the caller's image.

# %%
def deletion_auc(predict, image, attribution, steps):
    image = np.asarray(image, dtype=np.float64)
    order = np.argsort(-np.asarray(attribution, dtype=np.float64).ravel(), kind="stable")
    batch = []
    for k in range(steps + 1):
        x = image.ravel().copy()
        x[order[: (k * image.size) // steps]] = 0.0
        batch.append(x.reshape(image.shape))
    probs = np.asarray(predict(np.stack(batch)), dtype=np.float64)
    fractions = np.arange(steps + 1) / steps
    return float(np.trapezoid(probs, fractions))
