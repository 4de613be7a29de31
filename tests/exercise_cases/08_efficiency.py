"""Wrong answers for notebook 08's exercises (format: tests/exercise_cases/__init__.py)."""

import numpy as np
import torch
from torch.nn.utils import prune

from course_lib.checks.efficiency import check_allreduce_average, check_global_magnitude_masks, check_quantize_int8
from exercise_cases import ExerciseCase

NOTEBOOK = "08_efficiency"


# ------------------------------------------------------------------ Exercise 1: affine int8 quantization
def _range(x):
    x = np.asarray(x, dtype=np.float64)
    return x, min(float(x.min()), 0.0), max(float(x.max()), 0.0)


def truncated(x):                       # astype(int8) truncates towards 0 instead of rounding
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(np.round(-128 - lo / scale))
    return np.clip(x / scale + zero_point, -128, 127).astype(np.int8), scale, zero_point


def not_clipped(x):                     # 127.5 rounds to 128, and the int8 cast wraps it to -128
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(np.round(-128 - lo / scale))
    return (np.round(x / scale) + zero_point).astype(np.int64).astype(np.int8), scale, zero_point


def scale_from_max_only(x):             # [0, max] onto 256 levels: the negatives are clipped away
    x = np.asarray(x, dtype=np.float64)
    scale = max(float(x.max()), 1e-12) / 255
    return np.clip(np.round(x / scale) - 128, -128, 127).astype(np.int8), scale, -128


def range_without_zero(x):              # [x.min(), x.max()]: 0 is no level for one-signed inputs
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    scale = (hi - lo) / 255
    zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8), scale, zero_point


def float_zero_point(x):
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = -128 - lo / scale
    return np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8), scale, zero_point


def rounded_float_zero_point(x):        # the right value, but a float: zero_point must be an int
    q, scale, zero_point = quantize_reference(x)
    return q, scale, float(zero_point)


def truncated_zero_point(x):            # int() truncates -50.8 to -50: the ends move by 0.8 of a step
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(-128 - lo / scale)
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8), scale, zero_point


def float_q(x):
    q, scale, zero_point = quantize_reference(x)
    return q.astype(np.float64), scale, zero_point


def uint8_range(x):                     # the uint8 scheme: levels 0..255
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(np.round(-lo / scale))
    return np.clip(np.round(x / scale) + zero_point, 0, 255).astype(np.uint8), scale, zero_point


def uint8_cast_to_int8(x):              # levels 0..255 squeezed into int8 by a cast: 128..255 wrap
    q, scale, zero_point = uint8_range(x)
    return q.astype(np.int8), scale, zero_point


def symmetric(x):                       # symmetric: zero point 0, scale max|x| / 127
    x = np.asarray(x, dtype=np.float64)
    scale = float(np.abs(x).max()) / 127
    return np.clip(np.round(x / scale), -127, 127).astype(np.int8), scale, 0


def divisor_256(x):
    x, lo, hi = _range(x)
    scale = (hi - lo) / 256
    zero_point = int(np.round(-128 - lo / scale))
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8), scale, zero_point


def torch_quantizer(x):
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(np.round(-128 - lo / scale))
    q = torch.quantize_per_tensor(torch.from_numpy(x), scale, zero_point, torch.qint8)
    return q.int_repr().numpy(), scale, zero_point


def returns_list(x):
    q, scale, zero_point = quantize_reference(x)
    return [q, scale]


def quantize_reference(x):
    x, lo, hi = _range(x)
    scale = (hi - lo) / 255
    zero_point = int(np.round(-128 - lo / scale))
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8), scale, zero_point


QUANTIZE = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_quantize_int8, solution_name="quantize_int8",
    wrong={
        "truncation instead of rounding": truncated,
        "no clipping (overflow wraps)": not_clipped,
        "scale from the maximum only": scale_from_max_only,
        "range not extended to include 0": range_without_zero,
        "zero point not rounded": float_zero_point,
        "zero point rounded but a float": rounded_float_zero_point,
        "zero point truncated": truncated_zero_point,
        "float q": float_q,
        "uint8 range and dtype": uint8_range,
        "uint8 range cast to int8": uint8_cast_to_int8,
        "symmetric instead of asymmetric": symmetric,
        "divisor 256": divisor_256,
        "torch.quantize_per_tensor": torch_quantizer,
        "two values returned": returns_list,
        "forgot to return": lambda x: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: global magnitude masks
def _split(flat_keep, weights):
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = flat_keep[start:start + w.size].reshape(w.shape)
        start += w.size
    return masks


def _by_order(weights, sparsity, key, count=lambda s, n: int(round(s * n))):
    flat = np.concatenate([key(w).ravel() for w in weights.values()])
    keep = np.ones(flat.size, dtype=bool)
    keep[np.argsort(flat)[:count(sparsity, flat.size)]] = False
    return _split(keep, weights)


def per_layer(weights, sparsity):
    masks = {}
    for name, w in weights.items():
        keep = np.ones(w.size, dtype=bool)
        keep[np.argsort(np.abs(w).ravel())[:int(round(sparsity * w.size))]] = False
        masks[name] = keep.reshape(w.shape)
    return masks


def signed_value(weights, sparsity):
    return _by_order(weights, sparsity, key=lambda w: w)


def keeps_smallest(weights, sparsity):
    return _by_order(weights, sparsity, key=lambda w: -np.abs(w))


def floor_count(weights, sparsity):
    return _by_order(weights, sparsity, key=np.abs, count=lambda s, n: int(s * n))


def ceil_count(weights, sparsity):
    return _by_order(weights, sparsity, key=np.abs, count=lambda s, n: int(np.ceil(s * n)))


def threshold_at_kth(weights, sparsity):     # |w| > the k-th smallest: k=0 reads index -1, the largest
    flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
    k = int(round(sparsity * flat.size))
    threshold = np.sort(flat)[k - 1]
    return {name: np.abs(w) > threshold for name, w in weights.items()}


def quantile_threshold(weights, sparsity):
    flat = np.concatenate([np.abs(w).ravel() for w in weights.values()])
    threshold = np.quantile(flat, sparsity)
    return {name: np.abs(w) > threshold for name, w in weights.items()}


def true_means_pruned(weights, sparsity):
    return {name: ~mask for name, mask in global_reference(weights, sparsity).items()}


def flat_masks(weights, sparsity):
    return {name: mask.ravel() for name, mask in global_reference(weights, sparsity).items()}


def float_masks(weights, sparsity):
    return {name: mask.astype(np.float32) for name, mask in global_reference(weights, sparsity).items()}


def zeroes_in_place(weights, sparsity):
    masks = global_reference(weights, sparsity)
    for name, w in weights.items():
        w[~masks[name]] = 0.0
    return masks


def torch_prune(weights, sparsity):
    modules = {name: torch.nn.Module() for name in weights}
    for name, module in modules.items():
        module.weight = torch.nn.Parameter(torch.from_numpy(np.array(weights[name])))
    prune.global_unstructured([(m, "weight") for m in modules.values()], pruning_method=prune.L1Unstructured,
                              amount=int(round(sparsity * sum(w.size for w in weights.values()))))
    return {name: m.weight_mask.numpy().astype(bool) for name, m in modules.items()}


def global_reference(weights, sparsity):
    return _by_order(weights, sparsity, key=np.abs)


PRUNE = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_global_magnitude_masks, solution_name="global_masks",
    wrong={
        "per-layer pruning": per_layer,
        "signed value instead of |w|": signed_value,
        "keeps the smallest": keeps_smallest,
        "floor of the count": floor_count,
        "ceiling of the count": ceil_count,
        "threshold at the k-th value (k = 0 prunes all)": threshold_at_kth,
        "np.quantile threshold": quantile_threshold,
        "True means pruned": true_means_pruned,
        "flat masks": flat_masks,
        "0/1 float masks": float_masks,
        "zeroes the weights in place": zeroes_in_place,
        "torch.nn.utils.prune": torch_prune,
        "returns a list": lambda weights, sparsity: list(global_reference(weights, sparsity).values()),
        "forgot to return": lambda weights, sparsity: None,
    },
)


# ------------------------------------------------------------------ Exercise 3: the all-reduce average
def summed(grads, batch_sizes):
    return {name: sum(g[name] for g in grads) for name in grads[0]}


def plain_mean(grads, batch_sizes):
    return {name: sum(g[name] for g in grads) / len(grads) for name in grads[0]}


def weighted_not_normalised(grads, batch_sizes):
    return {name: sum(n * g[name] for n, g in zip(batch_sizes, grads)) for name in grads[0]}


def weighted_over_ranks(grads, batch_sizes):
    return {name: sum(n * g[name] for n, g in zip(batch_sizes, grads)) / len(grads) for name in grads[0]}


def first_parameter_only(grads, batch_sizes):
    first = next(iter(grads[0]))
    out = dict(grads[0])
    out[first] = sum(n * g[first] for n, g in zip(batch_sizes, grads)) / sum(batch_sizes)
    return out


def in_place(grads, batch_sizes):            # += writes into rank 0's arrays
    total = sum(batch_sizes)
    out = {}
    for name in grads[0]:
        acc = grads[0][name]
        acc *= batch_sizes[0] / total
        for n, g in zip(batch_sizes[1:], grads[1:]):
            acc += n / total * g[name]
        out[name] = acc
    return out


def returns_list(grads, batch_sizes):
    total = sum(batch_sizes)
    return [sum(n / total * g[name] for n, g in zip(batch_sizes, grads)) for name in grads[0]]


def uses_all_reduce(grads, batch_sizes):
    import torch.distributed as dist

    out = {}
    for name in grads[0]:
        tensor = torch.from_numpy(grads[0][name].copy())
        dist.all_reduce(tensor)
        out[name] = tensor.numpy()
    return out


AVERAGE = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_allreduce_average, solution_name="average_gradients",
    wrong={
        "sum instead of mean": summed,
        "plain mean with unequal sizes": plain_mean,
        "weighted, not divided by the total": weighted_not_normalised,
        "weighted, divided by the number of ranks": weighted_over_ranks,
        "first parameter only": first_parameter_only,
        "in place into rank 0's arrays": in_place,
        "returns a list": returns_list,
        "torch.distributed.all_reduce": uses_all_reduce,
        "forgot to return": lambda grads, batch_sizes: None,
    },
)


CASES = [QUANTIZE, PRUNE, AVERAGE]
