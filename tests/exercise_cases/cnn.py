"""Wrong answers for notebook 02's exercises (format: tests/exercise_cases/__init__.py)."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks.cnn import check_max_pool, check_output_size, check_screening_threshold
from exercise_cases import ExerciseCase

NOTEBOOK = "02_cnn_medical_imaging"


# ------------------------------------------------------------------ Exercise 1: max pooling by hand
def library_pool(x):
    return F.max_pool2d(x, 2)


def module_pool(x):
    return nn.MaxPool2d(2)(x)


def stride_one(x):
    n, c, h, w = x.shape
    return torch.stack([x[:, :, i:i + 2, j:j + 2].amax(dim=(2, 3)) for i in range(h - 1) for j in range(w - 1)],
                       dim=-1).reshape(n, c, h - 1, w - 1)


def average(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


def far_apart(x):   # the reshape splits each axis into (2, H/2): pools pixels H/2 apart
    n, c, h, w = x.shape
    return x.reshape(n, c, 2, h // 2, 2, w // 2).amax(dim=(2, 4))


def wrong_axes(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(2, 4))


def one_direction(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=3)[..., 0]


def from_zero(x):   # starts the running maximum at 0: wrong for negative values
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).clamp_min(0).amax(dim=(3, 5))


def swapped_axes(x):
    n, c, h, w = x.shape
    return x.transpose(2, 3).reshape(n, c, w // 2, 2, h // 2, 2).amax(dim=(3, 5))


def in_place(x):
    n, c, h, w = x.shape
    result = x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))
    x.zero_()
    return result


MAX_POOL = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_max_pool, solution_name="max_pool_2x2",
    wrong={
        "the library function F.max_pool2d": library_pool,
        "the library module nn.MaxPool2d": module_pool,
        "a lambda around F.max_pool2d": lambda x: F.max_pool2d(x, kernel_size=2, stride=2),
        "stride 1": stride_one,
        "average instead of max": average,
        "subsample every other pixel": lambda x: x[:, :, ::2, ::2],
        "reshape (2, H/2) pools far-apart pixels": far_apart,
        "max over the wrong axes": wrong_axes,
        "max in one direction only": one_direction,
        "running max started at 0": from_zero,
        "height and width swapped": swapped_axes,
        "changes its input": in_place,
        "returns a NumPy array": lambda x: x.reshape(x.shape[0], x.shape[1], x.shape[2] // 2, 2, x.shape[3] // 2,
                                                     2).amax(dim=(3, 5)).numpy(),
        "forgot to return": lambda x: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: output size
def dummy_convolution(n, kernel, stride=1, padding=0):
    return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, kernel, kernel), stride=stride,
                    padding=padding).shape[-1]


OUTPUT_SIZE = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_output_size, solution_name="output_size",
    wrong={
        "no floor (true division)": lambda n, kernel, stride=1, padding=0: (n + 2 * padding - kernel) / stride + 1,
        "round instead of floor": lambda n, kernel, stride=1, padding=0: round((n + 2 * padding - kernel) / stride) + 1,
        "ceiling instead of floor":
            lambda n, kernel, stride=1, padding=0: math.ceil((n + 2 * padding - kernel) / stride) + 1,
        "missing + 1": lambda n, kernel, stride=1, padding=0: (n + 2 * padding - kernel) // stride,
        "padding forgotten": lambda n, kernel, stride=1, padding=0: (n - kernel) // stride + 1,
        "padding added once": lambda n, kernel, stride=1, padding=0: (n + padding - kernel) // stride + 1,
        "floor division gives a float": lambda n, kernel, stride=1, padding=0:
            float((n + 2 * padding - kernel) // stride + 1),
        "stride ignored": lambda n, kernel, stride=1, padding=0: n + 2 * padding - kernel + 1,
        "read off a dummy F.conv2d": dummy_convolution,
        "forgot to return": lambda n, kernel, stride=1, padding=0: None,
    },
)


# ------------------------------------------------------------------ Exercise 3: screening threshold
def zero_threshold(y_val, p_val, target=0.95):
    return 0.0


def strict_greater(y_val, p_val, target=0.95):   # sensitivity counted with p > t
    for t in np.sort(np.unique(p_val))[::-1]:
        if np.mean(p_val[y_val == 1] > t) >= target:
            return float(t)
    return 0.0


def one_case_short(y_val, p_val, target=0.95):   # floor(target * n) cases instead of the smallest enough
    positives = np.sort(p_val[y_val == 1])[::-1]
    return float(positives[max(int(np.floor(target * len(positives))) - 1, 0)])


def quantile_of_positives(y_val, p_val, target=0.95):
    return float(np.quantile(p_val[y_val == 1], 1 - target))


def quantile_of_all(y_val, p_val, target=0.95):
    return float(np.quantile(p_val, 1 - target))


def specificity_instead(y_val, p_val, target=0.95):   # largest t whose specificity >= target
    for t in np.sort(np.unique(p_val)):
        if np.mean(p_val[y_val == 0] < t) >= target:
            return float(t)
    return 1.0


def midway(y_val, p_val, target=0.95):   # halfway to the next lower score: same decisions, not the largest
    positives = np.sort(p_val[y_val == 1])[::-1]
    k = int(np.argmax(np.arange(1, len(positives) + 1) / len(positives) >= target))
    below = p_val[p_val < positives[k]]
    return float((positives[k] + below.max()) / 2) if len(below) else 0.0


def toy_validation():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, size=300)
    p = np.clip(np.where(y == 1, rng.normal(0.7, 0.2, 300), rng.normal(0.35, 0.2, 300)), 0, 1)
    return (y, p), {"target": 0.95}


SCREENING = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_screening_threshold, solution_name="screening_threshold",
    args_builder=toy_validation,
    wrong={
        "threshold 0": zero_threshold,
        "> instead of >=": strict_greater,
        "one case short (floor)": one_case_short,
        "interpolated quantile of the pneumonia scores": quantile_of_positives,
        "quantile of all scores": quantile_of_all,
        "specificity instead of sensitivity": specificity_instead,
        "midway between two scores": midway,
        "returns a list": lambda y_val, p_val, target=0.95: [0.5],
        "forgot to return": lambda y_val, p_val, target=0.95: None,
    },
)

CASES = [MAX_POOL, OUTPUT_SIZE, SCREENING]
