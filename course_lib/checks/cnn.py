"""The self-checks of notebook 02's exercises (see :mod:`course_lib.checks` for the design).

- Exercise 1, :func:`check_max_pool` — 2 x 2 max pooling written by hand;
- Exercise 2, :func:`check_output_size` — the output size of a convolution or pooling layer;
- Exercise 3, :func:`check_screening_threshold` — the largest threshold that reaches a sensitivity.

Each check draws fresh random inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure) and adds fixed edge cases that separate the wrong answers learners are
known to write (listed in each docstring and proved in ``tests/exercise_cases/cnn.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code, seed_note

#: Library functions that pool for you (by name, so that every alias and spelling is refused).
POOLING_LIBRARY = ("max_pool2d", "MaxPool2d", "max_pool2d_with_indices", "adaptive_max_pool2d",
                   "AdaptiveMaxPool2d", "fractional_max_pool2d", "max_pool")
#: Functions that would compute the output size for you (a dummy convolution reveals it in `.shape`).
OUTPUT_SIZE_LIBRARY = ("conv2d", "Conv2d", "conv1d", "Conv1d", "max_pool2d", "MaxPool2d", "max_pool1d",
                       "avg_pool2d", "conv2d_loops", "unfold", "Unfold")


def _reference_max_pool(x: torch.Tensor) -> torch.Tensor:
    """2 x 2 max pooling, stride 2, without any pooling function: (N, C, H, W) -> (N, C, H/2, W/2)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def check_max_pool(max_pool_2x2, *, seed=None) -> None:
    """Check ``max_pool_2x2(x)``: ``(N, C, H, W)`` with H, W even -> ``(N, C, H/2, W/2)``, the largest
    of each non-overlapping 2 x 2 block.

    Inputs: a random float32 tensor with H != W (catches swapped axes) and all values negative in
    one channel (catches an answer that starts from 0 or applies a ReLU), plus a fixed tensor whose
    maximum sits in a different corner of each block. Known wrong answers it separates: calling
    ``F.max_pool2d`` / ``nn.MaxPool2d`` (refused by name), stride 1, averaging, subsampling every
    other pixel, the reshape ``(N, C, 2, H/2, 2, W/2)`` (pools pixels far apart), reducing the wrong
    axes, max over only one direction, changing the input in place.
    """
    require_own_code(max_pool_2x2, *POOLING_LIBRARY)
    rng, seed = fresh_rng(seed)
    n, c = int(rng.integers(1, 4)), int(rng.integers(2, 4))
    h = 2 * int(rng.integers(2, 6))
    w = h + 2 * int(rng.integers(1, 4))                                   # H != W, both even
    x = torch.from_numpy(rng.normal(size=(n, c, h, w)).astype(np.float32))
    x[:, 0] = -x[:, 0].abs() - 0.1                                        # a channel of negative values only
    corners = torch.arange(4 * 4 * 4, dtype=torch.float32).reshape(1, 1, 8, 8) * -1.0
    for i in range(4):                                                    # the max in a different corner
        for j in range(4):
            u, v = divmod((i + j) % 4, 2)
            corners[0, 0, 2 * i + u, 2 * j + v] = 100.0 + 4 * i + j
    for inputs, name in ((x, f"max_pool_2x2(x) for x of shape {tuple(x.shape)}"),
                         (corners, "max_pool_2x2(x) for an 8 x 8 test image with the maxima in different corners")):
        before = inputs.clone()
        answer = max_pool_2x2(inputs)
        expect(torch.equal(inputs, before), "max_pool_2x2 changed its input; compute a new tensor instead", seed)
        expect(isinstance(answer, torch.Tensor), f"{name}: return a torch tensor, got {type(answer).__name__}",
               seed)
        # max pooling picks one element of each block: the result is exact, whatever the float order
        assert_close(answer, _reference_max_pool(inputs), rtol=0, atol=0, what=name, seed=seed)


def _reference_output_size(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


#: (n, kernel, stride, padding) where n + 2p - k is NOT a multiple of the stride: the floor matters.
NOT_EXACT_CASES = ((28, 3, 2, 0), (7, 2, 2, 0), (11, 3, 3, 1), (5, 4, 3, 0), (27, 4, 2, 1), (9, 3, 4, 0))
#: Cases that divide exactly (the notebook's own layers among them).
EXACT_CASES = ((28, 3, 1, 1), (28, 2, 2, 0), (27, 3, 2, 1), (7, 5, 3, 2), (1, 1, 1, 0))


def check_output_size(output_size, *, seed=None) -> None:
    """Check ``output_size(n, kernel, stride=1, padding=0)`` = ``floor((n + 2p - k) / s) + 1``, an int.

    Inputs: fixed cases where ``n + 2p - k`` is not a multiple of ``s`` (the floor changes the
    answer), fixed exact cases, and random ones. The reference formula is checked against
    ``F.conv2d``'s output shape in tests/test_imaging.py. Known wrong answers it separates: no floor
    (true division), rounding or ceiling instead of the floor, forgetting the ``+ 1``, the padding,
    or the factor 2 on the padding, a float result, and reading the size off a dummy convolution.
    """
    require_own_code(output_size, *OUTPUT_SIZE_LIBRARY)
    rng, seed = fresh_rng(seed)
    drawn = []
    for _ in range(12):
        kernel, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        padding = int(rng.integers(0, kernel // 2 + 1))
        n = int(rng.integers(max(1, kernel - 2 * padding), 65))
        drawn.append((n, kernel, stride, padding))
    for n, kernel, stride, padding in NOT_EXACT_CASES + EXACT_CASES + tuple(drawn):
        expected = _reference_output_size(n, kernel, stride, padding)
        answer = output_size(n, kernel, stride, padding)
        where = f"output_size({n}, kernel={kernel}, stride={stride}, padding={padding})"
        expect(answer is not None, f"{where} returned None: did you forget to `return`?", seed)
        expect(isinstance(answer, (int, np.integer)) and not isinstance(answer, bool),
               f"{where} returned {answer!r} of type {type(answer).__name__}: return an int "
               "(a number of pixels; how do you turn a fraction into a whole number of steps?)", seed)
        expect(answer == expected, f"{where}: expected {expected}, got {answer}", seed)


def _reference_screening_threshold(y: np.ndarray, p: np.ndarray, target: float) -> float:
    """The largest score t with sensitivity(p >= t) >= target: the k-th largest pneumonia score."""
    positives = np.sort(p[y == 1])[::-1]                                  # descending
    reached = np.arange(1, len(positives) + 1) / len(positives) >= target  # sensitivity with the top k
    return float(positives[int(np.argmax(reached))])


def _random_scores(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    n_pos, n_neg = int(rng.integers(15, 120)), int(rng.integers(15, 120))
    y = rng.permutation(np.r_[np.ones(n_pos, dtype=int), np.zeros(n_neg, dtype=int)])
    p = np.where(y == 1, rng.beta(4, 2, size=len(y)), rng.beta(2, 4, size=len(y)))
    p = np.round(p, 2)                                                     # ties, as in real scores
    return y, p, float(rng.uniform(0.6, 0.99))


def check_screening_threshold(screening_threshold, y_val=None, p_val=None, *, target=0.95, seed=None) -> None:
    """Check ``screening_threshold(y, p, target)``: the **largest** threshold t such that predicting
    pneumonia when ``p >= t`` finds at least ``target`` of the pneumonia cases (sensitivity).

    Inputs: random labels and scores with ties (fresh each time), and — when given — the notebook's
    validation labels ``y_val`` and scores ``p_val`` at ``target``. The largest such threshold is one
    of the pneumonia scores (any larger value loses that case); the answer must be that score.
    Known wrong answers it separates: a threshold of 0 (reaches any sensitivity, not the largest),
    ``>`` instead of ``>=``, one case too few (floor instead of the smallest count that reaches the
    target), quantiles of all scores or interpolated quantiles, the specificity instead of the
    sensitivity, and a threshold midway between two scores.
    """
    rng, seed = fresh_rng(seed)
    cases = [_random_scores(rng) for _ in range(4)]
    if y_val is not None or p_val is not None:
        expect(y_val is not None and p_val is not None, "pass both y_val and p_val to the check", seed)
        cases.append((np.asarray(y_val).astype(int), np.asarray(p_val, dtype=np.float64), float(target)))
    for y, p, goal in cases:
        expected = _reference_screening_threshold(y, p, goal)
        answer = screening_threshold(y.copy(), p.copy(), goal)
        where = f"screening_threshold(y, p, target={goal:.4f}) on {len(y)} scores ({int(y.sum())} pneumonia)"
        expect(answer is not None, f"{where} returned None: did you forget to `return`?", seed)
        try:
            value = float(answer)
        except (TypeError, ValueError):
            raise AssertionError(f"{where}: return one number, got {type(answer).__name__} {seed_note(seed)}") from None
        sensitivity = float(np.mean(p[y == 1] >= value))
        expect(sensitivity >= goal, f"{where}: at your threshold {value:.4f} the sensitivity is "
               f"{sensitivity:.4f} < {goal:.4f}", seed)
        # the answer should be one of the scores, picked exactly (float64, no arithmetic): a tolerance
        # of 1e-12 only forgives a learner's float conversion, while the next score is >= 0.01 away
        expect(abs(value - expected) <= 1e-12, f"{where}: your threshold {value:.6g} reaches the target, but "
               "a larger one does too: raise it until one more pneumonia case would be lost (the exercise asks "
               "for the largest threshold)", seed)
