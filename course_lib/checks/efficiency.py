"""The self-checks of notebook 08's exercises (see :mod:`course_lib.checks` for the design).

- Exercise 1, :func:`check_quantize_int8` — affine (asymmetric) per-tensor int8 quantization by hand:
  ``quantize_int8(x) -> (q, scale, zero_point)``;
- Exercise 2, :func:`check_global_magnitude_masks` — global magnitude pruning: one threshold on
  ``|w|`` over all tensors together, ``global_masks(weights, sparsity) -> {name: bool mask}``;
- Exercise 3, :func:`check_allreduce_average` — what the all-reduce of data-parallel training must
  compute: ``average_gradients(grads, batch_sizes) -> {name: gradient of the global-batch mean loss}``.

Each check draws fresh random inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure) and adds fixed cases that separate the wrong answers learners are known
to write (listed in each docstring and proved in ``tests/exercise_cases/08_efficiency.py``).
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import torch

from course_lib.checks._common import expect, fresh_rng, require_own_code, seed_note

#: Library quantizers (torch, ONNX Runtime, course_lib's by-hand reference) the learner must not call.
QUANTIZE_LIBRARY = (torch.quantize_per_tensor, "quantize_per_tensor", "quantize_per_channel",
                    "quantize_per_tensor_dynamic", "fake_quantize_per_tensor_affine", "quantize_dynamic",
                    "quantize_static", "affine_quantize", "int8_scale_zero_point")
#: Library pruning functions (torch.nn.utils.prune and course_lib's) the learner must not call.
PRUNE_LIBRARY = ("global_unstructured", "l1_unstructured", "ln_structured", "magnitude_prune",
                 "magnitude_mask")
#: Collective operations that would do Exercise 3's arithmetic for the learner.
ALLREDUCE_LIBRARY = ("all_reduce", "reduce_scatter", "all_gather")

#: int8's range.
QMIN, QMAX = -128, 127
#: The reconstruction error allowed beyond half a step, in steps: a learner computing in float32
#: (relative error ~6e-8, times up to 255 steps) stays far below; truncation errs by up to a whole step.
STEP_SLACK = 1e-4
#: Relative tolerance of the scale (hi - lo) / 255: float32 arithmetic is within ~1e-7; the symmetric
#: scale max|x| / 127, a divisor 254 or 256 are off by >= 0.39 %.
SCALE_RTOL = 1e-5


# ------------------------------------------------------------------------------ Exercise 1
def _int8_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Random arrays of several shapes and ranges, then the fixed cases."""
    cases = []
    shape = tuple(int(n) for n in rng.integers(2, 9, size=int(rng.integers(1, 4))))
    mixed = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 5), size=shape)
    mixed.flat[int(rng.integers(mixed.size))] = 0.0                        # a zero must come back exactly
    cases.append(("values of both signs (one of them 0.0)", mixed))
    lopsided = np.r_[rng.uniform(-0.3, 0, size=20), rng.uniform(0, rng.uniform(2, 20), size=200)]
    cases.append(("a lopsided range: small negatives, large positives", rng.permutation(lopsided)))
    cases.append(("only positive values (like ReLU outputs)", rng.uniform(0.5, 6.0, size=(int(rng.integers(5, 40)),))))
    cases.append(("only negative values", -rng.exponential(rng.uniform(0.5, 3), size=(6, 7)) - 0.1))
    cases.append(("a float32 array", rng.normal(0.3, 2.0, size=(16, 4)).astype(np.float32)))
    # Fixed cases. The range [-1.5, 253.5] makes the scale exactly 1 and -128 - lo / scale = -126.5 a
    # tie: the rounded zero point (-126) puts 253.5 at 127.5, which rounds to 128 -> must be clipped
    # (an unclipped int8 cast wraps it to -128).
    cases.append(("the range [-1.5, 253.5] (scale 1, a rounding tie at the top: clip!)",
                  np.array([-1.5, 0.0, 0.25, 100.0, 253.5])))
    # -128 - lo / scale = -50.8 and 50.8: truncating the zero point instead of rounding it moves the
    # ends by 0.8 of a step
    for low in (-205.0 / 255 * 77.2, -205.0 / 255 * 178.8):
        cases.append((f"the range [{low:.4f}, {low + 205.0:.4f}]", np.linspace(low, low + 205.0, 41)))
    return cases


def _as_number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "fi":
            return float(value)
        return None
    return float(value)


def check_quantize_int8(quantize_int8, *, seed=None) -> None:
    """Check ``quantize_int8(x) -> (q, scale, zero_point)``: affine (asymmetric) per-tensor int8
    quantization of a float array ``x``, with ``x ≈ (q - zero_point) * scale``.

    The rule (every correct affine answer passes it, whatever rounding of ties it uses):

    - the range ``[lo, hi]`` is that of ``x`` extended to include 0 (``lo = min(x.min(), 0)``,
      ``hi = max(x.max(), 0)``), so that 0.0 is exactly representable (it is ``q = zero_point``);
    - ``scale = (hi - lo) / 255`` (relative tolerance 1e-5): all 256 levels of int8 span the range —
      the *asymmetric* scheme the exercise asks for; the symmetric ``max|x| / 127`` is refused;
    - ``zero_point`` is an int (Python or NumPy integer, not a float) in ``[-128, 127]``;
    - ``q`` is an int8 array of ``x``'s shape, and every element satisfies
      ``|x - (q - zero_point) * scale| <= scale / 2`` (plus ``1e-4 * scale`` for float rounding), so
      every value was rounded to the nearest level and nothing overflowed.

    Inputs: fresh random arrays of 1-3 dimensions — both signs with one exact 0.0, a lopsided range,
    only positive values, only negative values, a float32 array — and fixed ranges where a rounding tie
    at the top needs clipping and where a truncated zero point is off by 0.8 of a step. Known wrong
    answers it separates: no rounding (truncation), no clipping (overflow wraps), the scale from the
    maximum only (negatives lost), the range not extended to 0, the zero point not rounded (a float),
    the zero point truncated, a float ``q``, the uint8 range ``[0, 255]``, the symmetric scheme, a
    divisor of 256, and calling a library quantizer (``torch.quantize_per_tensor``, ONNX Runtime's
    quantizers, course_lib's ``affine_quantize``).
    """
    require_own_code(quantize_int8, *QUANTIZE_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, x in _int8_cases(rng):
        where = f"quantize_int8(x) for {what}, shape {x.shape}"
        given = x.copy()
        answer = quantize_int8(given)
        expect(answer is not None, f"{where} returned None: return (q, scale, zero_point)", seed)
        expect(isinstance(answer, (tuple, list)) and len(answer) == 3,
               f"{where}: return the tuple (q, scale, zero_point), got {type(answer).__name__}", seed)
        expect(np.array_equal(given, x), f"{where}: your function changed its input x", seed)
        q, scale, zero_point = answer
        if isinstance(q, torch.Tensor):
            expect(q.dtype == torch.int8, f"{where}: q must hold int8 numbers, got a tensor of {q.dtype}", seed)
            q = q.detach().cpu().numpy()
        expect(isinstance(q, np.ndarray), f"{where}: q must be a NumPy int8 array, got {type(q).__name__}", seed)
        expect(q.dtype == np.int8, f"{where}: q must have dtype int8 (use .astype(np.int8) after rounding and "
               f"clipping to [-128, 127]), got {q.dtype}", seed)
        expect(q.shape == x.shape, f"{where}: q must have x's shape {x.shape}, got {q.shape}", seed)
        scale_value = _as_number(scale)
        expect(scale_value is not None and np.isfinite(scale_value) and scale_value > 0,
               f"{where}: scale must be a positive number, got {scale!r}", seed)
        expect(not isinstance(zero_point, (bool, np.bool_))
               and isinstance(zero_point, (int, np.integer)),
               f"{where}: zero_point must be an int (round it: int(round(...))), got {zero_point!r} of type "
               f"{type(zero_point).__name__}", seed)
        expect(QMIN <= int(zero_point) <= QMAX, f"{where}: zero_point must lie in [-128, 127] so that 0.0 is a "
               f"level of int8, got {int(zero_point)} (extend the range to include 0: lo = min(x.min(), 0), "
               "hi = max(x.max(), 0))", seed)
        values = x.astype(np.float64)
        lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
        wanted = (hi - lo) / 255.0
        expect(abs(scale_value - wanted) <= SCALE_RTOL * wanted,
               f"{where}: scale {scale_value:.6g}, expected (hi - lo) / 255 = {wanted:.6g} with lo = min(x.min(), 0) "
               f"= {lo:.6g}, hi = max(x.max(), 0) = {hi:.6g}: the asymmetric scheme maps [lo, hi] onto all 256 "
               "levels -128..127 (not max|x| / 127, not the maximum alone)", seed)
        error = np.abs(values - (q.astype(np.float64) - int(zero_point)) * scale_value)
        worst = int(np.argmax(error))
        expect(error.flat[worst] <= (0.5 + STEP_SLACK) * scale_value,
               f"{where}: x = {values.flat[worst]:.6g} came back as (q - zero_point) * scale = "
               f"({int(q.flat[worst])} - {int(zero_point)}) * {scale_value:.6g}, off by "
               f"{error.flat[worst] / scale_value:.3f} steps; at most half a step is allowed: round to the nearest "
               "level (np.round, not astype), then clip to [-128, 127] before casting (a cast wraps 128 to -128)",
               seed)
        zeros = values == 0.0
        expect(np.all(q[zeros] == int(zero_point)),
               f"{where}: 0.0 must be represented exactly, by q = zero_point = {int(zero_point)}", seed)


# ------------------------------------------------------------------------------ Exercise 2
def _distinct_weights(rng: np.random.Generator, n_tensors: int) -> dict[str, np.ndarray]:
    """Tensors of random shapes whose typical magnitudes spread from 0.01 to 3 (so per-layer pruning
    differs from global pruning), with large negative values (so signed pruning differs) and
    no two equal |w| (so the pruned set is unique)."""
    while True:
        names = ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "head.bias"][:n_tensors]
        scales = rng.permutation(np.geomspace(0.01, 3.0, n_tensors))
        weights = {}
        for name, scale in zip(names, scales):
            shape = (tuple(int(n) for n in rng.integers(2, 7, size=4)) if name.startswith("conv")
                     else (int(rng.integers(3, 30)),) if name.endswith("bias")
                     else (int(rng.integers(3, 25)), int(rng.integers(3, 25))))
            weights[name] = rng.normal(0.0, scale, size=shape)
        flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
        if np.unique(flat).size == flat.size:
            return weights


def _sparsity_with_fraction(rng: np.random.Generator, total: int, around: float, fraction: tuple) -> float:
    """A sparsity near ``around`` whose count ``sparsity * total`` has a fractional part in ``fraction``."""
    whole = int(np.floor(around * total))
    return (whole + float(rng.uniform(*fraction))) / total


def _prune_cases(rng: np.random.Generator) -> list[tuple[str, dict, float]]:
    cases = []
    # fractional part of sparsity * total in (0.6, 0.85) with sparsity ~0.9: the floor and
    # np.quantile-style thresholds prune one number fewer than round()
    weights = _distinct_weights(rng, int(rng.integers(2, 5)))
    total = sum(w.size for w in weights.values())
    cases.append(("sparsity ~0.9", weights, _sparsity_with_fraction(rng, total, rng.uniform(0.85, 0.92), (0.6, 0.85))))
    # fractional part in (0.15, 0.4) with sparsity ~0.25: the ceiling (and a quantile) prune one too many
    weights = _distinct_weights(rng, int(rng.integers(2, 5)))
    total = sum(w.size for w in weights.values())
    cases.append(("sparsity ~0.25", weights, _sparsity_with_fraction(rng, total, rng.uniform(0.2, 0.3), (0.15, 0.4))))
    weights = _distinct_weights(rng, int(rng.integers(3, 6)))
    total = sum(w.size for w in weights.values())
    cases.append(("a random sparsity", weights, _sparsity_with_fraction(
        rng, total, rng.uniform(0.3, 0.8), (0.1, 0.35) if rng.random() < 0.5 else (0.65, 0.9))))
    cases.append(("sparsity 0 (nothing pruned)", _distinct_weights(rng, 2), 0.0))
    return cases


def _mask_array(value, what: str, seed: int) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    expect(isinstance(value, np.ndarray), f"{what} must be a NumPy bool array, got {type(value).__name__}", seed)
    expect(value.dtype == np.bool_, f"{what} must have dtype bool (True = kept), got {value.dtype}", seed)
    return value


def check_global_magnitude_masks(global_masks, *, seed=None) -> None:
    """Check ``global_masks(weights, sparsity) -> {name: mask}``: ``weights`` maps names to float
    arrays; the answer maps the same names to bool arrays of the same shapes, ``True`` = kept (the
    convention of ``torch.nn.utils.prune``). Exactly ``round(sparsity * total)`` numbers are pruned
    (``total`` = all numbers of all tensors), and they are the ones with the smallest ``|w|`` over all
    tensors together (one global threshold). The weights must not be changed.

    Inputs: fresh random tensors (2-5, of shapes like a convolution's, a linear layer's and a bias)
    whose typical magnitudes spread from 0.01 to 3 between tensors and whose absolute values are all
    distinct, with sparsities whose counts ``sparsity * total`` are not whole (floor, ceiling and round
    differ) and sparsity 0. Known wrong answers it separates: per-layer pruning, pruning by the signed
    value instead of ``|w|``, keeping the smallest, off-by-one counts (floor, ceiling, ``>=`` at the
    k-th value, ``np.quantile`` thresholds), pruning everything at sparsity 0, masks of the wrong
    shape (flat) or dtype (0/1 floats), ``True`` meaning pruned, zeroing the weights in place, and
    calling ``torch.nn.utils.prune`` (or course_lib's ``magnitude_mask``).
    """
    require_own_code(global_masks, *PRUNE_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, weights, sparsity in _prune_cases(rng):
        total = sum(w.size for w in weights.values())
        k = int(round(sparsity * total))
        shapes = {name: w.shape for name, w in weights.items()}
        where = (f"global_masks(weights, {sparsity:.6f}) ({what}) on {len(weights)} tensors of shapes {shapes}, "
                 f"{total} numbers")
        given = copy.deepcopy(weights)
        answer = global_masks(given, sparsity)
        expect(answer is not None, f"{where} returned None: return a dict name -> bool mask", seed)
        expect(isinstance(answer, dict), f"{where}: return a dict name -> mask, got {type(answer).__name__}", seed)
        expect(all(np.array_equal(given[name], weights[name]) for name in weights),
               f"{where}: your function changed the weights; return masks and leave the weights alone", seed)
        expect(set(answer) == set(weights), f"{where}: the masks must have the weights' names {sorted(weights)}, "
               f"got {sorted(map(str, answer))}", seed)
        masks = {name: _mask_array(answer[name], f"{where}: the mask of {name!r}", seed) for name in weights}
        for name, mask in masks.items():
            expect(mask.shape == weights[name].shape,
                   f"{where}: the mask of {name!r} must have its weight's shape {weights[name].shape}, "
                   f"got {mask.shape}",
                   seed)
        pruned = sum(int((~mask).sum()) for mask in masks.values())
        expect(pruned == k, f"{where}: {pruned} numbers pruned (False), expected round({sparsity:.6f} * {total}) = "
               f"{k}" + (" (True means kept)" if pruned == total - k else ""), seed)
        flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
        expected_pruned = np.zeros(total, dtype=bool)
        expected_pruned[np.argsort(flat, kind="stable")[:k]] = True
        got_pruned = np.concatenate([~masks[name].ravel() for name in weights])
        wrong = np.flatnonzero(got_pruned != expected_pruned)
        if wrong.size:
            per_tensor = {name: int((~masks[name]).sum()) for name in weights}
            offsets = np.cumsum([0] + [w.size for w in weights.values()])
            expected_per_tensor = {name: int(expected_pruned[a:b].sum())
                                   for name, a, b in zip(weights, offsets[:-1], offsets[1:])}
            threshold = float(np.sort(flat)[k - 1]) if k else 0.0
            raise AssertionError(
                f"{where}: {wrong.size} numbers are kept or pruned wrongly. Pruned per tensor: yours "
                f"{per_tensor}, expected {expected_per_tensor} - prune the {k} smallest |w| over all tensors "
                f"together (one global threshold, here |w| <= {threshold:.4g}), not per tensor and not by the "
                f"signed value {seed_note(seed)}")


# ------------------------------------------------------------------------------ Exercise 3
def _gradient_cases(rng: np.random.Generator) -> list[tuple[str, list, list]]:
    def grads(ranks: int) -> list[dict[str, np.ndarray]]:
        shapes = {"conv.weight": tuple(int(n) for n in rng.integers(1, 5, size=4)),
                  "conv.bias": (int(rng.integers(1, 6)),),
                  "fc.weight": (int(rng.integers(2, 6)), int(rng.integers(2, 8))),
                  "fc.bias": (1,)}
        names = list(shapes)[: int(rng.integers(2, 5))]
        return [{name: rng.normal(rng.normal(), 1.0, size=shapes[name]) for name in names} for _ in range(ranks)]

    ranks = int(rng.integers(2, 5))
    sizes = [int(n) for n in rng.integers(1, 65, size=ranks)]
    while len(set(sizes)) == 1:                                                # unequal sizes
        sizes = [int(n) for n in rng.integers(1, 65, size=ranks)]
    cases = [("ranks with unequal batch sizes", grads(ranks), sizes)]
    ranks = int(rng.integers(2, 5))
    cases.append(("ranks with equal batch sizes", grads(ranks), [int(rng.integers(8, 65))] * ranks))
    last = [int(rng.integers(50, 129)), int(rng.integers(1, 6))]
    cases.append(("a small last batch (the end of an epoch)", grads(2), last))
    cases.append(("one rank", grads(1), [int(rng.integers(1, 65))]))
    return cases


def check_allreduce_average(average_gradients, *, seed=None) -> None:
    """Check ``average_gradients(grads, batch_sizes) -> {name: array}``: ``grads`` is a list with one
    dict per rank (process), name -> the gradient of that rank's *mean* loss over its ``batch_sizes[r]``
    examples. Return, per name, the gradient of the mean loss over the global batch (all ranks'
    examples together): ``sum_r batch_sizes[r] * grads[r][name] / sum_r batch_sizes[r]`` — the plain
    mean over ranks when the sizes are equal. Neither the input dicts nor their arrays may be changed.

    Inputs: fresh random gradients (2-4 parameters of various shapes, 1-4 ranks) with unequal batch
    sizes, equal ones, a small last batch and a single rank. Known wrong answers it separates: the sum
    instead of the mean, the plain mean with unequal sizes, weighting by the sizes without dividing by
    their total (or dividing by the number of ranks), averaging only the first parameter, adding into
    the first rank's arrays in place, returning a list, and calling ``torch.distributed.all_reduce``.
    """
    require_own_code(average_gradients, *ALLREDUCE_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, grads, sizes in _gradient_cases(rng):
        names = list(grads[0])
        where = (f"average_gradients(grads, batch_sizes={sizes}) ({what}; parameters "
                 f"{ {name: grads[0][name].shape for name in names} })")
        given, given_sizes = copy.deepcopy(grads), list(sizes)
        answer = average_gradients(given, given_sizes)
        expect(answer is not None, f"{where} returned None: return a dict name -> averaged gradient", seed)
        expect(isinstance(answer, dict), f"{where}: return a dict name -> array (like each rank's dict), got "
               f"{type(answer).__name__}", seed)
        changed = [f"rank {r} {name!r}" for r, g in enumerate(grads) for name in names
                   if not np.array_equal(given[r][name], g[name])]
        expect(not changed and given_sizes == sizes and all(set(g) == set(names) for g in given),
               f"{where}: your function changed its inputs ({', '.join(changed[:3]) or 'the dicts or batch_sizes'}); "
               "build new arrays (total = total + ..., not +=, which writes into the first rank's array)", seed)
        expect(set(answer) == set(names), f"{where}: return every parameter {names}, got {sorted(map(str, answer))}",
               seed)
        weights = np.asarray(sizes, dtype=np.float64) / sum(sizes)
        for name in names:
            expected = sum(w * g[name] for w, g in zip(weights, grads))
            got = answer[name]
            if isinstance(got, torch.Tensor):
                got = got.detach().cpu().numpy()
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                raise AssertionError(f"{where}: {name!r} must be an array of numbers, got "
                                     f"{type(answer[name]).__name__} "
                                     f"{seed_note(seed)}") from None
            expect(got.shape == expected.shape,
                   f"{where}: {name!r} must keep its shape {expected.shape}, got {got.shape}", seed)
            # float64 sums of a few terms agree to ~1e-15; 1e-6 relative also accepts float32 arithmetic,
            # while the plain mean, the sum and a missing division are off by far more
            difference = float(np.max(np.abs(got - expected))) if got.size else 0.0
            expect(np.allclose(got, expected, rtol=1e-6, atol=1e-9),
                   f"{where}: {name!r} differs from the gradient of the global-batch mean loss by up to "
                   f"{difference:.3g}: "
                   "weight each rank by its batch size, sum_r n_r * g_r / sum_r n_r (the plain mean over ranks only "
                   "when the sizes are equal)", seed)
