"""The self-checks of notebook 07's exercises (see :mod:`course_lib.checks` for the design).

- Exercise 1, :func:`check_freeze_features` — freeze a CNN's feature extractor and count what stays
  trainable;
- Exercise 2, :func:`check_honest_verdict` — "a", "b" or "no clear winner" from per-seed scores, by
  the 95 % paired Student-t interval;
- Exercise 3, :func:`check_stratified_indices` — a stratified random subset of the rows, by hand.

Each check draws fresh random inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure) and adds fixed cases that separate the wrong answers learners are known
to write (listed in each docstring and proved in ``tests/exercise_cases/07_small_data.py``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.checks._common import expect, fresh_rng, require_own_code
from course_lib.imaging.models import CompactCNN
from course_lib.verdicts import NO_CLEAR_WINNER

#: Library functions that freeze or count for the learner (by name: every alias is refused too).
FREEZE_LIBRARY = ("set_trainable", "count_parameters", "freeze_features")
#: Library functions that compute the verdict for the learner.
VERDICT_LIBRARY = ("seed_verdict", "comparison_verdict", "decide", "bootstrap_verdict")
#: Library functions that draw the stratified subset for the learner.
SUBSET_LIBRARY = ("stratified_subset", "train_test_split", "StratifiedShuffleSplit", "StratifiedKFold",
                  "resample")
#: The three answers an honest verdict can give.
VERDICTS = ("a", "b", NO_CLEAR_WINNER)


# ------------------------------------------------------------------------------ Exercise 1
def _random_cnn(rng: np.random.Generator) -> CompactCNN:
    stages = int(rng.integers(2, 4))
    channels = [int(c) for c in rng.integers(3, 12, size=stages)]
    convs = [int(c) for c in rng.integers(1, 3, size=stages)]
    with torch.random.fork_rng():                                            # the notebook's random state is kept
        torch.manual_seed(int(rng.integers(0, 2**31)))
        return CompactCNN(channels=channels, convs_per_stage=convs, dropout=float(rng.uniform(0, 0.5)))


def check_freeze_features(freeze_features, *, seed=None) -> None:
    """Check ``freeze_features(model)``: every parameter of ``model.features`` (convolutions *and*
    batch-norm scales and shifts) stops requiring gradients, every parameter of ``model.head`` (the
    output layer) still requires them, and the return value is the number of parameters (numbers,
    not tensors) that remain trainable, as an int.

    Inputs: CompactCNNs of fresh random widths and depths (so a count typed in from the notebook's
    network is wrong), and one whose output layer was frozen before (the answer must leave the head
    trainable, not merely untouched). Known wrong answers it separates: ``model.eval()`` or
    ``torch.no_grad()`` instead of freezing, ``model.features.requires_grad = False`` (sets an
    attribute, freezes nothing), freezing only the convolutions (batch norm still trainable), freezing
    the first layer only, freezing the whole model, counting tensors instead of numbers, returning
    the total or the frozen count, a float, or calling ``set_trainable`` / ``count_parameters``.
    """
    require_own_code(freeze_features, *FREEZE_LIBRARY)
    rng, seed = fresh_rng(seed)
    models = [_random_cnn(rng) for _ in range(3)]
    for parameter in models[-1].head.parameters():
        parameter.requires_grad_(False)                                    # a head frozen before
    for index, model in enumerate(models):
        widths = [m.out_channels for m in model.features if isinstance(m, torch.nn.Conv2d)]
        where = f"freeze_features(model) for a CompactCNN with convolutions of {widths} channels"
        head_size = sum(p.numel() for p in model.head.parameters())
        answer = freeze_features(model)
        expect(answer is not None, f"{where} returned None: return the number of trainable parameters", seed)
        expect(isinstance(answer, (int, np.integer)) and not isinstance(answer, bool),
               f"{where} returned {answer!r} of type {type(answer).__name__}: return an int", seed)
        still = [name for name, p in model.features.named_parameters() if p.requires_grad]
        expect(not still, f"{where}: these feature parameters still require gradients: {still[:4]} "
               "(model.eval() and torch.no_grad() do not freeze; batch norm has parameters too)", seed)
        frozen_head = [name for name, p in model.head.named_parameters() if not p.requires_grad]
        expect(not frozen_head, f"{where}: the output layer must stay trainable, but {frozen_head} do not "
               "require gradients" + (" (this model's head had been frozen before your function ran)"
                                      if index == len(models) - 1 else ""), seed)
        expect(int(answer) == head_size, f"{where}: returned {int(answer)}, but {head_size} parameters "
               "(numbers, summed over the trainable tensors) remain trainable", seed)


# ------------------------------------------------------------------------------ Exercise 2
def reference_verdict(scores_a, scores_b, confidence: float = 0.95) -> str:
    """``"a"``, ``"b"`` or ``"no clear winner"``: the Student-t interval of the mean per-seed
    difference ``a - b`` (``n - 1`` degrees of freedom, sample standard deviation with ``ddof=1``);
    a winner only when the interval excludes 0 (higher is better)."""
    from scipy import stats

    differences = np.asarray(scores_a, dtype=np.float64) - np.asarray(scores_b, dtype=np.float64)
    n = len(differences)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * differences.std(ddof=1) / math.sqrt(n)
    low, high = differences.mean() - half, differences.mean() + half
    return "a" if low > 0 else "b" if high < 0 else NO_CLEAR_WINNER


def _paired_case(rng: np.random.Generator, n: int, t_statistic: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores of two models over ``n`` seeds whose differences a - b have exactly the paired t
    statistic ``t_statistic``, on top of a seed effect shared by both models that is much larger than
    the differences (so that ignoring the pairing loses them)."""
    pattern = rng.normal(size=n)
    pattern = (pattern - pattern.mean()) / pattern.std(ddof=1)             # mean 0, sd 1 exactly
    spread = rng.uniform(0.002, 0.02)
    differences = t_statistic * spread / math.sqrt(n) + spread * pattern
    base = rng.uniform(0.6, 0.9) + rng.normal(0, 12 * spread, size=n)     # shared seed effect
    return base + differences, base


def check_honest_verdict(honest_verdict, *, seed=None) -> None:
    """Check ``honest_verdict(scores_a, scores_b)`` -> ``"a"``, ``"b"`` or ``"no clear winner"``:
    entry ``i`` of both arrays is one seed (higher is better); a model wins only when the 95 %
    paired Student-t interval of the mean difference ``a - b`` excludes 0.

    Inputs: fresh random scores over 3 to 6 seeds, built so that the paired t statistic of each case
    is known: far beyond the threshold either way (a winner, a or b), inside it (no winner although
    the means differ), between the normal quantile 1.96 and the t quantile (z instead of t says a
    winner), between the t quantiles of ``ddof=0`` and ``ddof=1`` (the population sd says a winner),
    and a large seed effect shared by both models (ignoring the pairing, e.g. Welch's interval, finds
    no winner where there is one). Known wrong answers it separates: comparing the means, z = 1.96
    instead of the t quantile, ``ddof=0``, unpaired intervals, ``n`` instead of ``n - 1`` degrees of
    freedom, a one-sided 95 % quantile, swapping a and b, other return values, calling
    :func:`course_lib.verdicts.seed_verdict`.
    """
    require_own_code(honest_verdict, *VERDICT_LIBRARY)
    from scipy import stats

    rng, seed = fresh_rng(seed)
    cases = []
    n = int(rng.integers(3, 7))
    t_crit = stats.t.ppf(0.975, n - 1)
    cases.append(("a clear winner", _paired_case(rng, n, rng.uniform(1.6, 3.0) * t_crit)))
    cases.append(("b a clear winner", _paired_case(rng, n, -rng.uniform(1.6, 3.0) * t_crit)))
    cases.append(("means differ within the noise", _paired_case(rng, n, rng.uniform(0.3, 0.8) * t_crit)))
    n3 = 3                                                                   # t(2) = 4.30, far from 1.96
    t3 = stats.t.ppf(0.975, 2)
    cases.append(("between 1.96 and the t quantile", _paired_case(rng, n3, -rng.uniform(2.3, 3.4))))
    # ddof=0 inflates the t statistic by sqrt(n / (n - 1)): a statistic just under the t quantile
    cases.append(("between the ddof=0 and ddof=1 thresholds",
                  _paired_case(rng, n3, rng.uniform(t3 / math.sqrt(1.5) + 0.1, t3 - 0.1))))
    # one-sided 95 % (t quantile 0.95) and df = n instead of n - 1 both lower the bar for n = 3
    cases.append(("between the one-sided and the two-sided quantile",
                  _paired_case(rng, n3, rng.uniform(stats.t.ppf(0.95, 2) + 0.1, t3 - 0.1))))
    for what, (a, b) in cases:
        expected = reference_verdict(a, b)
        answer = honest_verdict(a.copy(), b.copy())
        where = f"honest_verdict(scores_a, scores_b) over {len(a)} seeds ({what})"
        expect(answer is not None, f"{where} returned None: return 'a', 'b' or {NO_CLEAR_WINNER!r}", seed)
        expect(isinstance(answer, str) and answer in VERDICTS,
               f"{where} returned {answer!r}: return one of {VERDICTS}", seed)
        differences = a - b
        expect(answer == expected, f"{where}: expected {expected!r}, got {answer!r} (per-seed differences a - b: "
               f"{np.round(differences, 4).tolist()}, mean {differences.mean():.4f})", seed)


# ------------------------------------------------------------------------------ Exercise 3
def _expected_counts(labels: np.ndarray, fraction: float) -> dict[int, int]:
    return {int(c): max(1, int(round(fraction * int((labels == c).sum())))) for c in np.unique(labels)}


def _labels_case(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Random labels of 2-4 classes and a fraction whose class counts are not whole numbers (so
    floor and round differ) and never exactly halfway (so the rounding is defined); the last class is
    so small that ``round(fraction * size)`` is 0 (so "at least one row" matters)."""
    while True:
        n_classes = int(rng.integers(2, 5))
        sizes = rng.integers(40, 400, size=n_classes)
        fraction = float(np.round(rng.uniform(0.05, 0.45), 3))
        sizes[-1] = rng.integers(1, int(0.45 / fraction) + 1)                # a tiny class: round() gives 0
        parts = fraction * sizes
        frac_parts = parts - np.floor(parts)
        if np.all(np.abs(frac_parts - 0.5) > 0.02) and np.any(frac_parts > 0.52):
            labels = rng.permutation(np.repeat(np.arange(n_classes), sizes))
            return labels.astype(np.int64), fraction


def check_stratified_indices(stratified_indices, *, seed=None) -> None:
    """Check ``stratified_indices(labels, fraction, seed)``: a sorted int array of distinct row
    indices into ``labels``, holding ``round(fraction * n_c)`` rows of each class ``c`` (at least one),
    drawn at random: the same ``seed`` gives the same rows, different seeds (usually) other rows.

    Inputs: fresh random labels with 2-4 classes, one of them tiny (a non-stratified draw or a
    forgotten "at least one" misses it), fractions whose counts are not whole (floor differs from
    round), and a class of 10 rows at fraction 0.9 (a draw with replacement repeats rows). Known
    wrong answers it separates: a plain random subset, the floor instead of rounding, no minimum of
    one row, drawing with replacement, the first rows of each class (not random), ignoring the seed
    or drawing unseeded, unsorted indices, a boolean mask instead of indices, and calling
    :func:`course_lib.imaging.stratified_subset` or scikit-learn's splitters.
    """
    require_own_code(stratified_indices, *SUBSET_LIBRARY)
    rng, seed = fresh_rng(seed)
    cases = [_labels_case(rng) for _ in range(3)]
    small = rng.permutation(np.r_[np.zeros(10, dtype=np.int64), np.ones(40, dtype=np.int64)])
    cases.append((small, 0.9))
    for labels, fraction in cases:
        where = f"stratified_indices(labels, {fraction}, seed) on {len(labels)} labels"
        draws = {}
        for draw_seed in (int(rng.integers(0, 2**31)), int(rng.integers(0, 2**31))):
            answer = stratified_indices(labels.copy(), fraction, draw_seed)
            expect(answer is not None, f"{where} returned None: did you forget to `return`?", seed)
            rows = np.asarray(answer)
            expect(rows.ndim == 1 and np.issubdtype(rows.dtype, np.integer) and rows.dtype != bool,
                   f"{where}: return a 1-D array of integer row indices, got {rows.dtype} {rows.shape} "
                   "(a boolean mask is not an index array)", seed)
            expect(len(rows) == 0 or (rows.min() >= 0 and rows.max() < len(labels)),
                   f"{where}: indices must lie in 0..{len(labels) - 1}", seed)
            expect(len(np.unique(rows)) == len(rows), f"{where}: some rows appear twice (draw without "
                   "replacement)", seed)
            expect(np.all(np.diff(rows) > 0), f"{where}: return the indices sorted", seed)
            got = {int(c): int((labels[rows] == c).sum()) for c in np.unique(labels)}
            wanted = _expected_counts(labels, fraction)
            expect(got == wanted, f"{where}: rows per class {got}, expected {wanted} "
                   "(round(fraction * class size), at least 1)", seed)
            again = np.asarray(stratified_indices(labels.copy(), fraction, draw_seed))
            expect(np.array_equal(again, rows), f"{where}: the same seed gave other rows: seed the "
                   "random generator with `seed`", seed)
            draws[draw_seed] = rows
        first, second = draws.values()
        firsts = np.sort(np.concatenate([np.flatnonzero(labels == c)[:k]
                                         for c, k in _expected_counts(labels, fraction).items()]))
        expect(not (np.array_equal(first, firsts) and np.array_equal(second, firsts)),
               f"{where}: you take the first rows of each class; draw them at random", seed)
        expect(not np.array_equal(first, second) or fraction >= 0.9,
               f"{where}: two different seeds gave the same rows: use `seed`", seed)
