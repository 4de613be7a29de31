"""Wrong answers for notebook 09's exercises (format: tests/exercise_cases/__init__.py).

Importing this file also checks, on a few seeded draws, that the worked solution of Exercise 2 agrees
with ``course_lib.reliability.ood.fpr_at_tpr`` (the notebook compares the two and says they agree).
"""

import numpy as np
from PIL import Image, ImageEnhance

from course_lib.checks.reliability import check_contrast_by_hand, check_deletion_auc, check_fpr_at_95_tpr
from exercise_cases import ExerciseCase

NOTEBOOK = "09_shift_ood"


# ------------------------------------------------------------------ Exercise 1: contrast by hand
def _means(images, rounding=lambda m: np.floor(m + 0.5)):
    images = np.asarray(images)
    return rounding(images.reshape(len(images), -1).mean(axis=1)).reshape(-1, 1, 1)


def _finish(values):
    return np.trunc(np.clip(values, 0, 255)).astype(np.uint8)


def contrast_float64(images, factor):          # a correct answer in float64 (the check accepts it)
    m = _means(images)
    return _finish(m + factor * (np.asarray(images, dtype=np.float64) - m))


def rounded(images, factor):                    # np.round instead of PIL's truncation
    m = _means(images)
    return np.clip(np.round(m + factor * (images.astype(np.float64) - m)), 0, 255).astype(np.uint8)


def batch_mean(images, factor):                 # one mean for the whole batch
    m = np.floor(images.mean() + 0.5)
    return _finish(m + factor * (images.astype(np.float64) - m))


def unrounded_mean(images, factor):             # m = img.mean(), not int(mean + 0.5)
    m = _means(images, rounding=lambda m: m)
    return _finish(m + factor * (images.astype(np.float64) - m))


def half_to_even_mean(images, factor):          # np.round(mean): 20.5 -> 20, PIL says 21
    m = _means(images, rounding=np.round)
    return _finish(m + factor * (images.astype(np.float64) - m))


def no_clipping(images, factor):                # values > 255 or < 0 wrap around in the uint8 cast
    m = _means(images)
    return np.trunc(m + factor * (images.astype(np.float64) - m)).astype(np.int64).astype(np.uint8)


def returns_float(images, factor):
    m = _means(images)
    return np.trunc(np.clip(m + factor * (images.astype(np.float64) - m), 0, 255))


def around_zero(images, factor):                # brightness: x * factor
    return _finish(factor * images.astype(np.float64))


def around_128(images, factor):
    return _finish(128 + factor * (images.astype(np.float64) - 128))


def in_place(images, factor):                   # writes the result into the caller's array
    result = contrast_float64(images, factor)
    images[...] = result
    return images


def pil_itself(images, factor):
    return np.stack([np.asarray(ImageEnhance.Contrast(Image.fromarray(x)).enhance(factor)) for x in images])


CONTRAST = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_contrast_by_hand, solution_name="contrast_by_hand",
    wrong={
        "rounding instead of truncating": rounded,
        "one mean for the whole batch": batch_mean,
        "mean not rounded": unrounded_mean,
        "mean rounded half to even": half_to_even_mean,
        "no clipping (uint8 wrap-around)": no_clipping,
        "float result": returns_float,
        "around 0 (brightness)": around_zero,
        "around 128": around_128,
        "changes the input in place": in_place,
        "PIL's ImageEnhance": pil_itself,
        "forgot to return": lambda images, factor: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: FPR at 95 % TPR
def _sorted_threshold(id_scores, k):
    return np.sort(np.asarray(id_scores, dtype=np.float64))[k]


def _k(id_scores):
    return (5 * len(id_scores)) // 100


def percentile_95(id_scores, ood_scores):       # the sign convention reversed: keeps only 5 % of ID
    return float(np.mean(np.asarray(ood_scores) >= np.percentile(id_scores, 95)))


def strict(id_scores, ood_scores):              # > instead of >=: OOD ties at the threshold rejected
    return float(np.mean(np.asarray(ood_scores) > _sorted_threshold(id_scores, _k(id_scores))))


def interpolated(id_scores, ood_scores):        # np.percentile(id, 5) interpolates between two ID scores
    return float(np.mean(np.asarray(ood_scores) >= np.percentile(id_scores, 5)))


def float_k(id_scores, ood_scores):             # int(0.05 * n) in floating point, then one past it
    k = int(np.ceil(0.05 * len(id_scores)))
    return float(np.mean(np.asarray(ood_scores) >= _sorted_threshold(id_scores, k)))


def returns_tpr(id_scores, ood_scores):
    t = _sorted_threshold(id_scores, _k(id_scores))
    return float(np.mean(np.asarray(id_scores) >= t))


def one_minus_fpr(id_scores, ood_scores):
    return 1.0 - fpr_reference(id_scores, ood_scores)


def percentage(id_scores, ood_scores):
    return 100.0 * fpr_reference(id_scores, ood_scores)


def swapped(id_scores, ood_scores):
    return fpr_reference(ood_scores, id_scores)


def below(id_scores, ood_scores):               # the share of OOD rejected, not accepted
    t = _sorted_threshold(id_scores, _k(id_scores))
    return float(np.mean(np.asarray(ood_scores) < t))


def sklearn_roc(id_scores, ood_scores):
    from sklearn.metrics import roc_curve
    fpr, tpr, _ = roc_curve(np.r_[np.ones(len(id_scores)), np.zeros(len(ood_scores))], np.r_[id_scores, ood_scores])
    return float(fpr[np.flatnonzero(tpr >= 0.95)[0]])


def library(id_scores, ood_scores):
    from course_lib.reliability.ood import fpr_at_tpr
    return fpr_at_tpr(id_scores, ood_scores, 0.95)


def fpr_reference(id_scores, ood_scores):
    t = _sorted_threshold(id_scores, _k(id_scores))
    return float(np.mean(np.asarray(ood_scores) >= t))


FPR = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_fpr_at_95_tpr, solution_name="fpr_at_95_tpr",
    wrong={
        "95th percentile (sign reversed)": percentile_95,
        "strict > (ties)": strict,
        "np.percentile(id, 5) interpolates": interpolated,
        "k rounded up": float_k,
        "returns the TPR": returns_tpr,
        "1 - FPR": one_minus_fpr,
        "a percentage": percentage,
        "arguments swapped": swapped,
        "share of OOD below the threshold": below,
        "sklearn's roc_curve": sklearn_roc,
        "course_lib's fpr_at_tpr": library,
        "forgot to return": lambda id_scores, ood_scores: None,
    },
)


def _library_agrees_with_the_solution() -> None:
    """course_lib.reliability.ood.fpr_at_tpr(·, ·, 0.95) equals the exercise's definition."""
    from course_lib.reliability.ood import fpr_at_tpr

    rng = np.random.default_rng(916)
    for n_id in (20, 37, 100, 403, 1000):
        for id_scores, ood_scores in [(rng.normal(1.0, 1.0, n_id), rng.normal(0.0, 1.0, 500)),
                                      (rng.integers(3, 12, n_id).astype(float), rng.integers(0, 9, 300).astype(float))]:
            mine, theirs = fpr_reference(id_scores, ood_scores), fpr_at_tpr(id_scores, ood_scores, 0.95)
            if mine != theirs:
                raise AssertionError(f"course_lib.reliability.ood.fpr_at_tpr disagrees with Exercise 2's definition "
                                     f"for n_id = {n_id}: {theirs} != {mine}")


_library_agrees_with_the_solution()


# ------------------------------------------------------------------ Exercise 3: deletion-curve AUC
def _deletion(predict, image, attribution, steps, *, order=None, count=lambda k, n, s: (k * n) // s,
              fill=lambda image: 0.0, ks=None, area=None, copy=True):
    image = np.asarray(image, dtype=np.float64) if copy else image
    a = np.asarray(attribution, dtype=np.float64).ravel()
    order = np.argsort(-a, kind="stable") if order is None else order(a)
    ks = range(steps + 1) if ks is None else ks(steps)
    batch = []
    for k in ks:
        x = image.ravel().copy() if copy else image.reshape(-1)
        x[order[: count(k, image.size, steps)]] = fill(image)
        batch.append(x.reshape(image.shape).copy())
    probs = np.asarray(predict(np.stack(batch)), dtype=np.float64)
    fractions = np.array(list(ks)) / steps
    return float(np.trapezoid(probs, fractions) if area is None else area(probs, fractions, image))


DELETION = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_deletion_auc, solution_name="deletion_auc",
    wrong={
        "ascending order": lambda p, im, a, s: _deletion(p, im, a, s, order=lambda a: np.argsort(a, kind="stable")),
        "ranked by |attribution|": lambda p, im, a, s: _deletion(p, im, a, s, order=lambda a: np.argsort(-np.abs(a))),
        "k = 0 dropped": lambda p, im, a, s: _deletion(p, im, a, s, ks=lambda s: range(1, s + 1)),
        "mean instead of trapezoid": lambda p, im, a, s: _deletion(p, im, a, s, area=lambda pr, fr, im: pr.mean()),
        "x-axis in pixel counts": lambda p, im, a, s: _deletion(p, im, a, s,
                                                                area=lambda pr, fr, im: np.trapezoid(pr, fr * im.size)),
        "counts rounded up": lambda p, im, a, s: _deletion(p, im, a, s, count=lambda k, n, s: -(-k * n // s)),
        "filled with the image mean": lambda p, im, a, s: _deletion(p, im, a, s, fill=lambda image: image.mean()),
        "changes the image in place": lambda p, im, a, s: _deletion(p, im, a, s, copy=False),
        "course_lib's deletion_curve": lambda p, im, a, s: __import__(
            "course_lib.reliability.faithfulness", fromlist=["deletion_curve"]).deletion_curve(p, im[None], a[None],
                                                                                                steps=s),
        "forgot to return": lambda p, im, a, s: None,
    },
)

CASES = [CONTRAST, FPR, DELETION]
