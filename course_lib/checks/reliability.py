"""The self-checks of the exercises of notebooks 09 (shift, OOD inputs, CNN explanations) and 10 (bias,
transformer explanations) (see :mod:`course_lib.checks` for the design).

Notebook 09 ``09_shift_ood``:

- Exercise 1, :func:`check_contrast_by_hand` — PIL's contrast corruption by hand:
  ``contrast_by_hand(images uint8 (N, H, W), factor) -> uint8 (N, H, W)``;
- Exercise 2, :func:`check_fpr_at_95_tpr` — the false-positive rate at 95 % true-positive rate of an
  ID score: ``fpr_at_95_tpr(id_scores, ood_scores) -> float``;
- Exercise 3, :func:`check_deletion_auc` — the area under a deletion curve:
  ``deletion_auc(predict, image (H, W), attribution (H, W), steps) -> float``.

Notebook 10 ``10_bias_explanations``:

- Exercise 1, :func:`check_group_rates` — selection rate and true-positive rate per group:
  ``group_rates(y_true, y_pred, sensitive) -> DataFrame`` (columns ``selection_rate``, ``tpr``);
- Exercise 2, :func:`check_dp_bootstrap_interval` — a percentile bootstrap interval of the
  demographic-parity difference, resampled within groups: ``dp_bootstrap_interval(y_pred, sensitive, *,
  n_resamples, confidence, seed) -> (low, high)``;
- Exercise 3, :func:`check_attention_rollout` — attention rollout (Abnar & Zuidema 2020) of one
  sentence: ``attention_rollout_by_hand(attentions (layers, heads, L, L), residual=0.5) -> (L, L)``.

Each check draws fresh random inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure), adds fixed cases that separate the wrong answers learners are known to
write (listed in each docstring and proved in ``tests/exercise_cases/09_shift_ood.py`` and
``tests/exercise_cases/10_bias_explanations.py``), and compares with an independent reference: PIL
itself, ``sklearn.metrics.roc_curve``, a direct computation, fairlearn's ``MetricFrame``, an exact
binomial simulation of the bootstrap.
"""

from __future__ import annotations


import numpy as np

from course_lib.checks._common import assert_close, expect, fresh_rng, one_number, require_own_code, seed_note

#: Library code that would do Exercise 1 (09) for the learner: PIL's enhancer, torchvision's adjust_contrast,
#: course_lib's corruptions. (PIL's ``Image.blend`` is not refused by name: "blend" is a likely name for a
#: learner's own helper.)
CONTRAST_LIBRARY = ("ImageEnhance", "Contrast", "adjust_contrast", "corrupt", "pil_contrast_means")
#: ROC and FPR helpers (sklearn, course_lib.reliability.ood) that would do Exercise 2 (09).
FPR_LIBRARY = ("roc_curve", "fpr_at_tpr", "threshold_at_tpr", "detector_table")
#: course_lib's deletion / insertion curves (course_lib.reliability.faithfulness, token_attribution).
DELETION_LIBRARY = ("deletion_curve", "insertion_curve", "curve_auc", "token_deletion_curve")
#: fairlearn's and course_lib's per-group metrics (Exercise 1, 10).
GROUP_LIBRARY = ("MetricFrame", "selection_rate", "true_positive_rate", "group_metrics")
#: Ready-made bootstraps (Exercise 2, 10): course_lib.reliability.fairness and scipy.stats.bootstrap.
BOOTSTRAP_LIBRARY = ("bootstrap_gaps", "bootstrap_group_rates", "bootstrap")
#: course_lib's rollout (course_lib.reliability.token_attribution) (Exercise 3, 10).
ROLLOUT_LIBRARY = ("attention_rollout",)

#: MedMNIST-C's contrast factors (PneumoniaMNIST, severities 1..5 down and up).
CONTRAST_FACTORS = (0.9, 0.8, 0.7, 0.6, 0.4, 1.1, 1.2, 1.3, 1.4, 1.6)
#: Where float64 arithmetic may truncate to another grey level than PIL's float32 (or the other way
#: round): within this distance of a whole number. float32 rounding of m + f * (x - m) <= 255 is
#: ~1.5e-5; 1e-3 also covers a reordered formula in float32 (m * (1 - f) + f * x, ~5e-5). Anywhere
#: else the answer must equal PIL's level exactly.
NEAR_WHOLE = 1e-3
#: The z-value of the bootstrap check's acceptance window (Exercise 2, 10): a correct answer's
#: percentile of B draws lies within z standard errors of the reference quantile level; at z = 5 a
#: correct answer is rejected with probability ~6e-7 per end.
BOOTSTRAP_Z = 5.0
#: Reference draws of the bootstrap check (exact binomial simulation, cheap).
REFERENCE_RESAMPLES = 20_000


def _array(value, what: str, seed: int) -> np.ndarray:
    expect(value is not None, f"{what} is None: did your function forget to `return` its result?", seed)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)



# ============================================================================ notebook 09, Exercise 1
def _pil_contrast(images: np.ndarray, factor: float) -> np.ndarray:
    from PIL import Image, ImageEnhance

    return np.stack([np.asarray(ImageEnhance.Contrast(Image.fromarray(image)).enhance(factor)) for image in images])


def _contrast_batches(rng: np.random.Generator) -> list[tuple[str, np.ndarray, float]]:
    def batch() -> np.ndarray:
        n = int(rng.integers(3, 7))
        h, w = (int(v) for v in rng.integers(8, 29, size=2))
        images = rng.integers(0, 256, size=(n, h, w))
        # low-contrast images at different grey levels: the per-image mean matters
        low = rng.random(n) < 0.5
        offsets = rng.integers(0, 170, size=n)
        images[low] = images[low] // 3 + offsets[low, None, None]
        return images.astype(np.uint8)

    cases = [(f"factor {f} (a MedMNIST-C level)", batch(), f) for f in rng.choice(CONTRAST_FACTORS, 3, replace=False)]
    cases.append(("factor 1.6 (severity 5 up)", batch(), 1.6))
    cases.append(("a random factor", batch(), float(rng.uniform(0.1, 2.0))))
    # an image whose mean is exactly k + 0.5 (PIL: int(mean + 0.5) = k + 1; np.round gives k when k is even),
    # its values k - j and k + 1 + j spread so that a mean one level off changes many truncated pixels
    k = 2 * int(rng.integers(20, 110))
    row = np.r_[k - np.arange(10), k + 1 + np.arange(10)]
    half = rng.permuted(np.tile(row, (6, 1)), axis=1)
    other = rng.integers(0, 256, size=(6, 20))
    cases.append((f"an image of mean exactly {k}.5", np.stack([half, other]).astype(np.uint8),
                  float(rng.choice([0.4, 0.6, 0.7, 1.3, 1.4, 1.6]))))
    return cases


def check_contrast_by_hand(contrast_by_hand, *, seed=None) -> None:
    """Check ``contrast_by_hand(images, factor) -> uint8 (N, H, W)``: image by image what
    ``PIL.ImageEnhance.Contrast(Image.fromarray(img)).enhance(factor)`` returns — the degenerate level
    ``m = int(img.mean() + 0.5)`` (that image's mean, rounded half up), then ``m + factor * (img - m)``
    truncated (PIL's C cast, not rounded) and clipped to [0, 255]. ``images`` must not be changed.

    Compared with PIL itself on fresh random batches (N 3..6, sizes 8..28, half of them low-contrast
    images at random grey levels), factors from MedMNIST-C's levels, 1.6 (values beyond 255 and below 0)
    and a random one in [0.1, 2], plus an image whose mean is exactly k + 0.5. PIL computes in
    float32; float64 is accepted: it may differ by one level only where the blend is within
    ``NEAR_WHOLE`` of a whole number. Known wrong answers it separates: rounding instead of truncating,
    one mean for the whole batch, the mean not rounded (or rounded half to even), no clipping (uint8
    wrap-around), a float result, scaling around 0 (brightness) or 128, changing the input in place, and
    calling PIL's ``ImageEnhance`` or course_lib's ``corrupt``.
    """
    require_own_code(contrast_by_hand, *CONTRAST_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, images, factor in _contrast_batches(rng):
        where = f"contrast_by_hand(images {images.shape}, {factor:.4g}) ({what})"
        given = images.copy()
        answer = _array(contrast_by_hand(given, factor), where, seed)
        expect(np.array_equal(given, images), f"{where}: your function changed `images`; work on a copy "
               "(images.astype(...) makes one)", seed)
        expect(answer.dtype == np.uint8, f"{where}: return uint8 images like PIL's (np.clip(...).astype(np.uint8)), "
               f"got dtype {answer.dtype}", seed)
        expect(answer.shape == images.shape, f"{where}: expected shape {images.shape}, got {answer.shape}", seed)
        reference = _pil_contrast(images, factor)
        means = np.floor(images.reshape(len(images), -1).mean(axis=1) + 0.5).reshape(-1, 1, 1)
        exact = means + factor * (images.astype(np.float64) - means)
        near_whole = np.abs(exact - np.round(exact)) < NEAR_WHOLE
        difference = np.abs(answer.astype(np.int64) - reference.astype(np.int64))
        bad = difference > near_whole
        if bad.any():
            i, r, c = (int(v) for v in np.argwhere(bad)[0])
            raise AssertionError(
                f"{where}: {int(bad.sum())} of {bad.size} pixels differ from PIL's. Image {i} (mean "
                f"{images[i].mean():.3f}, so m = int(mean + 0.5) = {int(means[i, 0, 0])}), pixel ({r}, {c}) = "
                f"{int(images[i, r, c])}: yours {int(answer[i, r, c])}, PIL {int(reference[i, r, c])} "
                f"(m + factor * (x - m) = {exact[i, r, c]:.4f}: PIL truncates it, clips to [0, 255], and uses each "
                f"image's own mean) {seed_note(seed)}")


# ============================================================================ notebook 09, Exercise 2
def _fpr_reference(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """The FPR of the first point of sklearn's ROC curve (ID = 1) whose TPR reaches 95 %."""
    from sklearn.metrics import roc_curve

    labels = np.r_[np.ones(id_scores.size), np.zeros(ood_scores.size)]
    fpr, tpr, _ = roc_curve(labels, np.r_[id_scores, ood_scores], drop_intermediate=False)
    # tpr = count / n_id is a correctly rounded ratio, so >= 0.95 decides as the integer 100 * count >= 95 * n_id
    return float(fpr[np.flatnonzero(tpr >= 0.95)[0]])


def _fpr_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray]]:
    cases = []
    for n_id in (20, 37, 100, 403):
        shift = float(rng.uniform(0.3, 2.0))
        cases.append((f"{n_id} Gaussian ID scores, OOD shifted down by {shift:.2f}", rng.normal(shift, 1.0, n_id),
                      rng.normal(0.0, float(rng.uniform(0.7, 1.5)), int(rng.integers(200, 1500)))))
    # integer scores: many ties, also at the threshold (>= versus >)
    n_id = int(rng.integers(30, 90))
    cases.append(("integer scores with ties", rng.integers(3, 12, n_id).astype(float),
                  rng.integers(0, 9, int(rng.integers(50, 200))).astype(float)))
    # an evenly spaced grid of ID scores with OOD scores on and between the lowest ones: the empirical
    # quantile, np.percentile's interpolation and the tie rule all give different answers
    n_id = int(rng.choice([37, 41, 57, 83]))
    step, start = float(rng.uniform(0.5, 2.0)), float(rng.normal())
    ids = rng.permutation(start + step * np.arange(n_id))
    k = (5 * n_id) // 100
    threshold = start + step * k
    ood = np.r_[rng.normal(threshold, 3 * step, int(rng.integers(40, 80))), [threshold] * 3,
                threshold + step * rng.uniform(0.05, 0.95, 6), threshold - step * rng.uniform(0.05, 0.95, 4)]
    cases.append((f"{n_id} evenly spaced ID scores", ids, rng.permutation(ood)))
    cases.append(("separable scores (answer 0)", rng.uniform(5.0, 6.0, 60), rng.uniform(0.0, 1.0, 45)))
    same = rng.normal(size=3000)
    cases.append(("ID and OOD from one distribution (about 0.95)", same[:1000], same[1000:]))
    return cases


def check_fpr_at_95_tpr(fpr_at_95_tpr, *, seed=None) -> None:
    """Check ``fpr_at_95_tpr(id_scores, ood_scores) -> float``: higher score = more in-distribution; the
    threshold ``t`` is the largest one that keeps at least 95 % of the ID scores (``#(id >= t) >= 0.95
    n_id``, i.e. ``t = np.sort(id)[(5 * n_id) // 100]``) and the answer is the share of OOD scores
    ``>= t``, in [0, 1]. Compared (to 1e-12) with the FPR of the first point of
    ``sklearn.metrics.roc_curve`` (ID = positive) whose TPR reaches 0.95.

    Inputs: fresh Gaussian scores with n_id in {20, 37, 100, 403}, integer scores with ties, an evenly
    spaced grid of ID scores with OOD scores on and between its lowest values, separable scores
    (answer 0) and two samples of one distribution (about 0.95). Known wrong answers it separates: the
    95th percentile as threshold (the sign convention reversed), ``>`` instead of ``>=``,
    ``np.percentile(id, 5)`` (interpolates), the TPR or 1 - FPR, a percentage, swapped arguments, the
    share of OOD below the threshold, and calling ``roc_curve`` or course_lib's ``fpr_at_tpr``.
    """
    require_own_code(fpr_at_95_tpr, *FPR_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, id_scores, ood_scores in _fpr_cases(rng):
        where = f"fpr_at_95_tpr(id_scores ({id_scores.size},), ood_scores ({ood_scores.size},)) ({what})"
        given_id, given_ood = id_scores.copy(), ood_scores.copy()
        got = one_number(fpr_at_95_tpr(given_id, given_ood), where, seed)
        expect(np.array_equal(given_id, id_scores) and np.array_equal(given_ood, ood_scores),
               f"{where}: your function changed its inputs (np.sort returns a sorted copy; .sort() sorts in place)",
               seed)
        expected = _fpr_reference(id_scores, ood_scores)
        k = (5 * id_scores.size) // 100
        threshold = float(np.sort(id_scores)[k])
        # shares of whole counts: float64 division is exact to ~1e-16
        expect(abs(got - expected) <= 1e-12,
               f"{where}: got {got:.6g}, expected {expected:.6g}: the threshold is np.sort(id_scores)[k] with "
               f"k = (5 * {id_scores.size}) // 100 = {k}, here {threshold:.6g} (higher = more in-distribution, so at "
               "least 95 % of the ID scores are >= it), and the answer is the share of OOD scores >= that threshold, "
               "a fraction in [0, 1]", seed)


# ============================================================================ notebook 09, Exercise 3
class _LinearModel:
    """``predict(x) = sigmoid(sum(w * x) + b)`` for a batch (M, H, W) -> (M,), or one image (H, W) -> float."""

    def __init__(self, weights: np.ndarray, bias: float):
        self.weights, self.bias = weights, bias

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape == self.weights.shape:
            return float(1.0 / (1.0 + np.exp(-((self.weights * x).sum() + self.bias))))
        if x.ndim != 3 or x.shape[1:] != self.weights.shape:
            raise ValueError(f"predict takes a batch of images (M, {self.weights.shape[0]}, {self.weights.shape[1]}) "
                             f"(or one image {self.weights.shape}), got shape {x.shape}")
        return 1.0 / (1.0 + np.exp(-((self.weights * x).sum(axis=(1, 2)) + self.bias)))


def _deletion_reference(predict: _LinearModel, image: np.ndarray, attribution: np.ndarray, steps: int) -> float:
    order = np.argsort(-attribution.ravel(), kind="stable")
    size = image.size
    batch = []
    for k in range(steps + 1):
        x = image.ravel().copy()
        x[order[: (k * size) // steps]] = 0.0
        batch.append(x.reshape(image.shape))
    probs = predict(np.stack(batch))
    fractions = np.arange(steps + 1) / steps
    return float(np.sum((probs[1:] + probs[:-1]) / 2.0 * np.diff(fractions)))


def check_deletion_auc(deletion_auc, *, seed=None) -> None:
    """Check ``deletion_auc(predict, image, attribution, steps) -> float``: rank the pixels by
    descending attribution (signed, most important first), for k = 0..steps set the first
    ``(k * H * W) // steps`` of them to 0.0, and return the trapezoid area of the probabilities over the
    fractions ``k / steps`` (``np.trapezoid``; in [0, 1], lower = the evidence was found faster).
    ``image`` must not be changed.

    Model: a toy linear one, ``predict(x) = sigmoid(sum(w * x) + b)`` with random weights of both signs
    (a batch (M, H, W) -> (M,), or one image (H, W) -> a float), images in [0, 1] of 4..10 pixels a side,
    steps in {1, 4, 7, 10, H * W}. Rankings: the exact contributions ``w * image``, a random map and its
    negative (no ties, so any order of equal values is accepted); every case has a ``steps`` that does not
    divide H * W. Compared with a direct computation to
    1e-9; the contribution ranking must also give an AUC no larger than the random one's. Known wrong
    answers it separates: ascending order, ranking by ``|attribution|``, dropping the k = 0 point, the
    mean of the probabilities, the x-axis in pixel counts, rounding the counts up, filling with the
    image's mean, changing ``image`` in place, and calling course_lib's ``deletion_curve``.
    """
    require_own_code(deletion_auc, *DELETION_LIBRARY)
    rng, seed = fresh_rng(seed)
    for case in range(3):
        h, w = (int(v) for v in rng.integers(4, 11, size=2))
        weights = rng.normal(0.0, 1.5 / np.sqrt(h * w), size=(h, w)) + rng.normal(0.0, 0.3)
        # positive and negative weights; the bias puts the clean image's probability between ~0.6 and ~0.95
        image = rng.uniform(0.0, 1.0, size=(h, w))
        predict = _LinearModel(weights, float(rng.uniform(0.5, 3.0) - (weights * image).sum()))
        random_map = rng.normal(size=(h, w))
        steps_options = [1, 4, 7, 10, h * w]
        # one steps value that does not divide H * W (one exists: H * W <= 100 < 4 * 7 * 10), so that
        # (k * H * W) // steps and a count rounded up differ
        uneven = next(int(s) for s in rng.permutation([4, 7, 10]) if (h * w) % s)
        steps_list = [steps_options[case], steps_options[case + 2], uneven]
        aucs = {}
        for name, attribution in [("the contributions w * image", weights * image), ("a random map", random_map),
                                  ("minus the random map", -random_map)]:
            for steps in steps_list:
                where = f"deletion_auc(predict, image {image.shape}, attribution = {name}, steps={steps})"
                given_image, given_map = image.copy(), attribution.copy()
                got = one_number(deletion_auc(predict, given_image, given_map, steps), where, seed)
                expect(np.array_equal(given_image, image) and np.array_equal(given_map, attribution),
                       f"{where}: your function changed `image` or `attribution`; delete pixels in a copy "
                       "(image.copy())", seed)
                expected = _deletion_reference(predict, image, attribution, steps)
                if abs(got - expected) > 1e-9:
                    raise AssertionError(
                        f"{where}: got {got:.6g}, expected {expected:.6g}. Order the pixels by descending attribution "
                        f"(np.argsort(-attribution.ravel())), for k = 0..{steps} set the first "
                        f"(k * {h * w}) // {steps} of them to 0.0, predict the {steps + 1} images and return np.trapezoid(probs, k / {steps}) "
                        f"{seed_note(seed)}")
                aucs[name, steps] = got
        for steps in steps_list:
            expect(aucs["the contributions w * image", steps] <= aucs["a random map", steps] + 1e-12,
                   f"deleting the largest contributions first must lower a linear model's probability fastest, but "
                   f"its AUC {aucs['the contributions w * image', steps]:.4f} exceeds a random ranking's "
                   f"{aucs['a random map', steps]:.4f} (steps={steps})", seed)


# ============================================================================ notebook 10, Exercise 1
def _group_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    def draw(labels, sizes, base_rates, tprs, fprs):
        group = np.repeat(np.arange(len(labels)), sizes)
        y_true = (rng.random(group.size) < np.asarray(base_rates)[group]).astype(np.int64)
        for g, size in enumerate(sizes):  # at least one positive and one negative per group
            rows = np.flatnonzero(group == g)
            y_true[rows[0]], y_true[rows[-1]] = 1, 0
        y_pred = (rng.random(group.size) < np.where(y_true == 1, np.asarray(tprs)[group], np.asarray(fprs)[group]))
        order = rng.permutation(group.size)
        while group[order[0]] == 0:  # the first row is not the smallest label: first-appearance order != sorted
            order = rng.permutation(group.size)
        return y_true[order], y_pred.astype(np.int64)[order], np.asarray(labels, dtype=object)[group[order]]

    cases = []
    n_groups = int(rng.integers(2, 5))
    labels = list(rng.choice(["Black", "White", "Asian", "Other", "A", "B"], n_groups, replace=False))
    sizes = [int(v) for v in rng.integers(15, 130, size=n_groups)]
    cases.append((f"{n_groups} groups of sizes {sizes}",
                  *draw(labels, sizes, rng.uniform(0.15, 0.6, n_groups), rng.uniform(0.4, 0.95, n_groups),
                        rng.uniform(0.02, 0.3, n_groups))))
    n_groups = int(rng.integers(2, 5))
    sizes = [int(v) for v in rng.integers(15, 130, size=n_groups)]
    labels = [int(v) for v in rng.choice(np.arange(1, 9), n_groups, replace=False)]
    y_true, y_pred, group = draw(labels, sizes, rng.uniform(0.15, 0.6, n_groups), rng.uniform(0.4, 0.95, n_groups),
                                 rng.uniform(0.02, 0.3, n_groups))
    cases.append((f"{n_groups} groups labelled by ints", y_true, y_pred, group.astype(np.int64)))
    # selection rate far from the TPR: few positives, most of them flagged, few negatives flagged
    sizes = [int(v) for v in rng.integers(60, 120, size=2)]
    cases.append(("selection rate far from TPR", *draw(["no", "yes"], sizes, [0.1, 0.5], [0.9, 0.3], [0.05, 0.02])))
    return [(what, y_true, y_pred, np.asarray(group.tolist()) if group.dtype == object else group)
            for what, y_true, y_pred, group in cases]


def check_group_rates(group_rates, *, seed=None) -> None:
    """Check ``group_rates(y_true, y_pred, sensitive) -> pandas.DataFrame``: one row per group, indexed
    by the group labels (any order), columns exactly ``selection_rate`` (the mean of ``y_pred`` in the
    group) and ``tpr`` (the mean of ``y_pred`` over the group's rows with ``y_true == 1``). Compared with
    ``fairlearn.metrics.MetricFrame(...).by_group`` to 1e-12.

    Inputs: fresh 0/1 labels and predictions with 2-4 groups labelled by strings or ints, unequal sizes
    and base rates, rows shuffled so that the groups' first-appearance order is not their sorted order,
    and a case where the selection rate differs much from the TPR. Known wrong answers it separates: the
    base rate (mean of ``y_true``) as selection rate, TP / group size or TP / predicted positives
    (precision) as TPR, rates pooled over all groups, labels attached to the wrong groups, and calling
    fairlearn's ``MetricFrame`` (or course_lib's ``group_metrics``).
    """
    import pandas as pd
    from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate

    require_own_code(group_rates, *GROUP_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, y_true, y_pred, sensitive in _group_cases(rng):
        where = f"group_rates(y_true, y_pred, sensitive) ({what}, {y_true.size} rows)"
        given = (y_true.copy(), y_pred.copy(), sensitive.copy())
        answer = group_rates(*given)
        expect(answer is not None, f"{where} returned None: return a DataFrame", seed)
        expect(isinstance(answer, pd.DataFrame), f"{where}: return a pandas DataFrame, got {type(answer).__name__}",
               seed)
        expect(all(np.array_equal(a, b) for a, b in zip(given, (y_true, y_pred, sensitive))),
               f"{where}: your function changed its inputs", seed)
        expect(sorted(map(str, answer.columns)) == ["selection_rate", "tpr"],
               f"{where}: the columns must be exactly 'selection_rate' and 'tpr', got {list(answer.columns)}", seed)
        labels = sorted(np.unique(sensitive).tolist())
        got_labels = sorted(answer.index.tolist(), key=str)
        expect(sorted(map(str, got_labels)) == sorted(map(str, labels)) and len(answer) == len(labels),
               f"{where}: index the rows by the group labels {labels}, got {answer.index.tolist()}", seed)
        reference = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate},
                                y_true=y_true, y_pred=y_pred, sensitive_features=sensitive).by_group
        by_label = {str(label): row for label, row in answer.iterrows()}
        for label in labels:
            row = by_label[str(label)]
            want = reference.loc[label]
            for column in ("selection_rate", "tpr"):
                got = one_number(row[column], f"{where}: {column} of group {label!r}", seed)
                # ratios of whole counts: float64 division, exact to ~1e-16
                expect(abs(got - float(want[column])) <= 1e-12,
                       f"{where}: group {label!r}: {column} {got:.6g}, expected {float(want[column]):.6g} "
                       "(selection rate = mean of y_pred in the group; tpr = mean of y_pred over the group's rows "
                       "with y_true == 1)", seed)


# ============================================================================ notebook 10, Exercise 2
def _dp_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    cases = []

    def draw(labels, sizes, rates):
        group = np.repeat(np.arange(len(labels)), sizes)
        y_pred = (rng.random(group.size) < np.asarray(rates)[group]).astype(np.int64)
        order = rng.permutation(group.size)
        return y_pred[order], np.asarray(labels)[group[order]]

    base = float(rng.uniform(0.15, 0.5))
    for what, labels, higher_first, confidence in [("the first group selected more", ["Black", "White"], True, 0.95),
                                                   ("the second group selected more", ["A", "B"], False, 0.99),
                                                   ("confidence 0.8", ["no", "yes"], bool(rng.random() < 0.5), 0.8)]:
        sizes = [int(v) for v in rng.integers(200, 1000, size=2)]
        gap = float(rng.uniform(0.08, 0.3))
        rates = [base + gap, base] if higher_first else [base, base + gap]
        cases.append((f"{what}, groups of {sizes[0]} and {sizes[1]}", *draw(labels, sizes, rates), confidence))
    sizes = [int(v) for v in rng.integers(200, 800, size=3)]
    rates = list(rng.permutation([base, base + float(rng.uniform(0.05, 0.12)), base + float(rng.uniform(0.15, 0.3))]))
    cases.append((f"three groups of {sizes}", *draw(["x", "y", "z"], sizes, rates), 0.95))
    return cases


def _dp_reference(y_pred: np.ndarray, sensitive: np.ndarray, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """The demographic-parity difference and its bootstrap distribution: resampling a group's n_g rows
    with replacement draws its number of selected rows from Binomial(n_g, rate_g), exactly."""
    rates, draws = [], []
    for label in np.unique(sensitive):
        member = y_pred[sensitive == label]
        rates.append(member.mean())
        draws.append(rng.binomial(member.size, member.mean(), size=REFERENCE_RESAMPLES) / member.size)
    draws = np.stack(draws)
    return float(max(rates) - min(rates)), draws.max(axis=0) - draws.min(axis=0)


def _window(distribution: np.ndarray, level: float, n_resamples: int) -> tuple[float, float]:
    """Where the ``level`` percentile of ``n_resamples`` bootstrap draws falls, but for odds of ~6e-7:
    the reference distribution's quantiles at ``level`` -+ z standard errors of an empirical quantile
    level (sqrt(q (1 - q) / B), also counting the reference's own draws)."""
    spread = BOOTSTRAP_Z * np.sqrt(level * (1 - level) * (1 / n_resamples + 1 / distribution.size))
    low, high = np.quantile(distribution, [max(level - spread, 0.0), min(level + spread, 1.0)])
    return float(low) - 1e-12, float(high) + 1e-12


def check_dp_bootstrap_interval(dp_bootstrap_interval, *, seed=None) -> None:
    """Check ``dp_bootstrap_interval(y_pred, sensitive, *, n_resamples, confidence, seed) -> (low, high)``:
    the percentile bootstrap interval of the demographic-parity difference (max over groups of the
    selection rate minus the min, >= 0): resample the rows with replacement within each group (group
    sizes kept), recompute the difference ``n_resamples`` times, return the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles. The same ``seed`` must give the same interval.

    The learner's draws cannot be reproduced, so each end is compared with the reference distribution
    (20,000 exact binomial resamples): the learner's percentile of ``n_resamples = 4000`` draws must fall
    within ``BOOTSTRAP_Z`` standard errors of the percentile's level. Inputs: two groups of 200-1000
    people with true gaps 0.08-0.3, the first or the second group selected more, at confidence 0.95,
    0.99 and 0.8, and three groups. Known wrong answers it separates: a fixed 90 % interval, no
    resampling (``(d, d)``), ``y_pred`` and ``sensitive`` resampled independently (pairs broken), a
    normal interval from the 0/1 predictions' spread, the signed difference, ignoring ``n_resamples``
    (20 draws), a different interval for the same seed, and calling course_lib's ``bootstrap_gaps`` or
    ``scipy.stats.bootstrap``.
    """
    require_own_code(dp_bootstrap_interval, *BOOTSTRAP_LIBRARY)
    rng, seed = fresh_rng(seed)
    n_resamples = 4000
    cases = _dp_cases(rng)
    what, y_pred, sensitive, confidence = cases[0]
    learner_seed = int(rng.integers(0, 2**31))
    first = dp_bootstrap_interval(y_pred.copy(), sensitive.copy(), n_resamples=500, confidence=0.9, seed=learner_seed)
    again = dp_bootstrap_interval(y_pred.copy(), sensitive.copy(), n_resamples=500, confidence=0.9, seed=learner_seed)
    expect(first is not None, "dp_bootstrap_interval returned None: return the tuple (low, high)", seed)
    try:
        same = [float(v) for v in first] == [float(v) for v in again]
    except (TypeError, ValueError):
        same = False
    expect(same, f"dp_bootstrap_interval(..., n_resamples=500, confidence=0.9, seed={learner_seed}) gave {first} and "
           f"then {again}: the same seed must give the same interval (rng = np.random.default_rng(seed), inside "
           "the function)", seed)
    for what, y_pred, sensitive, confidence in cases:
        where = (f"dp_bootstrap_interval(y_pred, sensitive, n_resamples={n_resamples}, confidence={confidence}) "
                 f"({what})")
        learner_seed = int(rng.integers(0, 2**31))
        given = (y_pred.copy(), sensitive.copy())
        answer = dp_bootstrap_interval(*given, n_resamples=n_resamples, confidence=confidence, seed=learner_seed)
        expect(answer is not None, f"{where} returned None: return the tuple (low, high)", seed)
        expect(isinstance(answer, (tuple, list)) and len(answer) == 2, f"{where}: return the tuple (low, high), got "
               f"{type(answer).__name__}" + (f" of length {len(answer)}" if isinstance(answer, (tuple, list)) else ""),
               seed)
        expect(np.array_equal(given[0], y_pred) and np.array_equal(given[1], sensitive),
               f"{where}: your function changed its inputs", seed)
        low, high = (one_number(value, f"{where}: {end}", seed) for value, end in zip(answer, ("low", "high")))
        point, distribution = _dp_reference(y_pred, sensitive, rng)
        ends = ((1 - confidence) / 2, (1 + confidence) / 2)
        windows = [_window(distribution, level, n_resamples) for level in ends]
        centre = np.quantile(distribution, ends)
        for end, value, level, (lo, hi), mid in zip(("low", "high"), (low, high), ends, windows, centre):
            expect(lo <= value <= hi,
                   f"{where}: the {end} end is {value:.4f}, but the {100 * level:.1f} % quantile of the bootstrapped "
                   f"differences is {mid:.4f} (a percentile of {n_resamples} draws lands in [{lo:.4f}, {hi:.4f}]); the "
                   f"difference here is {point:.4f} = max - min of the groups' selection rates. Resample each group's "
                   "rows with replacement, keep the pairs (y_pred, group) together, and take the (1 - confidence) / 2 "
                   "and (1 + confidence) / 2 quantiles", seed)
        if centre[0] <= point <= centre[1]:
            expect(low <= point <= high, f"{where}: the interval ({low:.4f}, {high:.4f}) should contain the "
                   f"difference {point:.4f} here", seed)


# ============================================================================ notebook 10, Exercise 3
def _rollout_reference(attentions: np.ndarray, residual: float) -> np.ndarray:
    length = attentions.shape[-1]
    rollout = np.eye(length)
    for layer in attentions:
        mixed = residual * np.eye(length) + (1.0 - residual) * layer.mean(axis=0)
        mixed = mixed / mixed.sum(axis=1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def _attention_stack(rng: np.random.Generator, layers: int, heads: int, length: int) -> np.ndarray:
    return rng.dirichlet(np.full(length, float(rng.uniform(0.3, 2.0))), size=(layers, heads, length))


def check_attention_rollout(attention_rollout_by_hand, *, seed=None) -> None:
    """Check ``attention_rollout_by_hand(attentions, residual=0.5) -> (L, L)``: ``attentions`` is
    (layers, heads, L, L), layer 0 first, every row a softmax. Per layer: the mean over heads ``A``,
    ``Â = residual * I + (1 - residual) * A`` with rows re-normalised to sum 1; the answer is
    ``Â_last @ ... @ Â_1 @ Â_0`` (rows sum to 1). Compared with a direct computation (rtol 1e-9,
    atol 1e-12: a few float64 matrix products).

    Inputs: a hand-checkable 2-layer, 1-head, 2-token stack; fresh random stacks (2-4 layers, 2-4 heads,
    3-9 tokens, Dirichlet rows) with the default residual, ``residual=0.0`` (the plain product) and
    ``residual=0.3``; a single layer. Known wrong answers it separates: the product in the wrong order,
    ignoring ``residual``, the max over heads, the last layer only, ``(1 - residual) * I + residual * A``,
    and calling course_lib's ``attention_rollout``.
    """
    require_own_code(attention_rollout_by_hand, *ROLLOUT_LIBRARY)
    rng, seed = fresh_rng(seed)
    hand = np.array([[[[1.0, 0.0], [0.5, 0.5]]], [[[0.0, 1.0], [1.0, 0.0]]]])
    cases = [("a 2-layer, 1-head stack of 2 tokens by hand", hand, None)]
    for residual in (None, 0.0, 0.3):
        layers, heads, length = int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(3, 10))
        cases.append((f"{layers} layers, {heads} heads, {length} tokens", _attention_stack(rng, layers, heads, length),
                      residual))
    cases.append(("one layer of 3 heads", _attention_stack(rng, 1, 3, int(rng.integers(3, 10))), 0.3))
    for what, attentions, residual in cases:
        given = attentions.copy()
        if residual is None:
            where = f"attention_rollout_by_hand(attentions {attentions.shape}) ({what}; default residual 0.5)"
            answer = attention_rollout_by_hand(given)
            residual = 0.5
        else:
            where = f"attention_rollout_by_hand(attentions {attentions.shape}, residual={residual}) ({what})"
            answer = attention_rollout_by_hand(given, residual=residual)
        expect(np.array_equal(given, attentions), f"{where}: your function changed `attentions`", seed)
        # a few float64 products of row-stochastic matrices: agreement to ~1e-15
        assert_close(answer, _rollout_reference(attentions, residual), rtol=1e-9, atol=1e-12, what=where, seed=seed)
