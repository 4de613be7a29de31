"""Wrong answers for notebook 06's exercises (format: tests/exercise_cases/__init__.py)."""

import math

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from course_lib.checks.generative import check_frechet_1d, check_gaussian_kl, check_knn_precision_recall
from course_lib.generative.autoencoders import kl_to_standard_normal
from course_lib.generative.frechet import frechet_distance_from_statistics
from course_lib.generative.precision_recall import precision_recall
from exercise_cases import ExerciseCase

NOTEBOOK = "06_autoencoders_gans"


# ------------------------------------------------------------------ Exercise 1: Gaussian KL divergence
def _kl_terms(mean_q, logvar_q, mean_p, logvar_p):
    return 0.5 * (logvar_p - logvar_q + (torch.exp(logvar_q) + (mean_q - mean_p) ** 2) / torch.exp(logvar_p) - 1.0)


def kl_swapped(mean_q, logvar_q, mean_p, logvar_p):          # KL(p || q)
    return _kl_terms(mean_p, logvar_p, mean_q, logvar_q).sum(-1)


def kl_std_as_variance(mean_q, logvar_q, mean_p, logvar_p):  # exp(logvar) read as the std: squared again
    terms = 0.5 * (logvar_p - logvar_q + (torch.exp(2 * logvar_q) + (mean_q - mean_p) ** 2)
                   / torch.exp(2 * logvar_p) - 1.0)
    return terms.sum(-1)


def kl_no_half(mean_q, logvar_q, mean_p, logvar_p):
    return 2 * _kl_terms(mean_q, logvar_q, mean_p, logvar_p).sum(-1)


def kl_no_minus_one(mean_q, logvar_q, mean_p, logvar_p):
    return (_kl_terms(mean_q, logvar_q, mean_p, logvar_p) + 0.5).sum(-1)


def kl_mean_over_coordinates(mean_q, logvar_q, mean_p, logvar_p):
    return _kl_terms(mean_q, logvar_q, mean_p, logvar_p).mean(-1)


def kl_summed_over_batch(mean_q, logvar_q, mean_p, logvar_p):
    return _kl_terms(mean_q, logvar_q, mean_p, logvar_p).sum()


def kl_to_standard_normal_always(mean_q, logvar_q, mean_p, logvar_p):   # ignores p
    return 0.5 * (mean_q ** 2 + torch.exp(logvar_q) - 1.0 - logvar_q).sum(-1)


def kl_variance_of_p_ignored(mean_q, logvar_q, mean_p, logvar_p):
    return 0.5 * (-logvar_q + torch.exp(logvar_q) + (mean_q - mean_p) ** 2 - 1.0).sum(-1)


def kl_log_ratio_sign(mean_q, logvar_q, mean_p, logvar_p):
    return 0.5 * (logvar_q - logvar_p + (torch.exp(logvar_q) + (mean_q - mean_p) ** 2) / torch.exp(logvar_p)
                  - 1.0).sum(-1)


def kl_torch_distributions(mean_q, logvar_q, mean_p, logvar_p):
    return kl_divergence(Normal(mean_q, torch.exp(0.5 * logvar_q)), Normal(mean_p, torch.exp(0.5 * logvar_p))).sum(-1)


def kl_course_lib(mean_q, logvar_q, mean_p, logvar_p):
    return kl_to_standard_normal(mean_q, logvar_q)


def kl_in_place(mean_q, logvar_q, mean_p, logvar_p):
    logvar_q -= logvar_p                      # changes the caller's tensor
    return 0.5 * (-logvar_q + (torch.exp(logvar_q) + (mean_q - mean_p) ** 2 / torch.exp(logvar_p)) - 1.0).sum(-1)


GAUSSIAN_KL = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_gaussian_kl, solution_name="gaussian_kl",
    wrong={
        "KL(p || q): the roles swapped": kl_swapped,
        "exp(logvar) read as the standard deviation": kl_std_as_variance,
        "missing 0.5": kl_no_half,
        "missing - 1": kl_no_minus_one,
        "mean over the coordinates instead of the sum": kl_mean_over_coordinates,
        "summed over the batch too": kl_summed_over_batch,
        "always the KL to N(0, I)": kl_to_standard_normal_always,
        "p's variance ignored": kl_variance_of_p_ignored,
        "log-ratio with the wrong sign": kl_log_ratio_sign,
        "torch.distributions.kl_divergence": kl_torch_distributions,
        "course_lib's kl_to_standard_normal": kl_course_lib,
        "changes its input": kl_in_place,
        "returns a NumPy array": lambda mean_q, logvar_q, mean_p, logvar_p:
            _kl_terms(mean_q, logvar_q, mean_p, logvar_p).sum(-1).numpy(),
        "forgot to return": lambda mean_q, logvar_q, mean_p, logvar_p: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: 1-D Fréchet distance
def frechet_library(mean_a, std_a, mean_b, std_b):
    return frechet_distance_from_statistics(np.array([mean_a]), np.array([[std_a ** 2]]), np.array([mean_b]),
                                            np.array([[std_b ** 2]]))


FRECHET_1D = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_frechet_1d, solution_name="frechet_1d",
    wrong={
        "square root taken (the distance, not its square)":
            lambda mean_a, std_a, mean_b, std_b: math.sqrt((mean_a - mean_b) ** 2 + (std_a - std_b) ** 2),
        "mean difference not squared":
            lambda mean_a, std_a, mean_b, std_b: abs(mean_a - mean_b) + (std_a - std_b) ** 2,
        "cross term left out":
            lambda mean_a, std_a, mean_b, std_b: (mean_a - mean_b) ** 2 + std_a ** 2 + std_b ** 2,
        "standard deviations used as variances":
            lambda mean_a, std_a, mean_b, std_b: (mean_a - mean_b) ** 2 + std_a + std_b - 2 * math.sqrt(std_a * std_b),
        "difference of variances squared":
            lambda mean_a, std_a, mean_b, std_b: (mean_a - mean_b) ** 2 + (std_a ** 2 - std_b ** 2) ** 2,
        "the spreads forgotten": lambda mean_a, std_a, mean_b, std_b: (mean_a - mean_b) ** 2,
        "course_lib's frechet_distance_from_statistics": frechet_library,
        "returns a string": lambda mean_a, std_a, mean_b, std_b: "0.0",
        "forgot to return": lambda mean_a, std_a, mean_b, std_b: None,
    },
)


# ------------------------------------------------------------------ Exercise 3: k-NN precision and recall
def _distances(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def _share_inside(queries, centres, radii, strict=False):
    d = _distances(queries, centres)
    inside = d < radii[None, :] if strict else d <= radii[None, :]
    return float(np.mean(np.any(inside, axis=1)))


def _radii(points, column):
    return np.sort(_distances(points, points), axis=1)[:, column]


def pr_self_as_neighbour(real, fake, k=3):      # entry k - 1 of the sorted row: the point itself counts
    return (_share_inside(fake, real, _radii(real, k - 1)), _share_inside(real, fake, _radii(fake, k - 1)))


def pr_one_neighbour_too_many(real, fake, k=3):
    return (_share_inside(fake, real, _radii(real, k + 1)), _share_inside(real, fake, _radii(fake, k + 1)))


def pr_strict(real, fake, k=3):
    return (_share_inside(fake, real, _radii(real, k), strict=True),
            _share_inside(real, fake, _radii(fake, k), strict=True))


def pr_swapped(real, fake, k=3):
    return (_share_inside(real, fake, _radii(fake, k)), _share_inside(fake, real, _radii(real, k)))


def pr_balls_around_the_wrong_set(real, fake, k=3):   # radii of one set used for the other's centres
    return (_share_inside(fake, real, _radii(fake, k)[: len(real)] if len(fake) >= len(real)
                          else np.resize(_radii(fake, k), len(real))),
            _share_inside(real, fake, np.resize(_radii(real, k), len(fake))))


def pr_mean_of_k_distances(real, fake, k=3):
    def mean_radii(points):
        return np.sort(_distances(points, points), axis=1)[:, 1:k + 1].mean(axis=1)
    return _share_inside(fake, real, mean_radii(real)), _share_inside(real, fake, mean_radii(fake))


def pr_in_place(real, fake, k=3):
    real -= real.mean(axis=0)                 # changes the caller's array
    fake -= real.mean(axis=0)
    return pr_strict(real, fake, k)


def pr_library(real, fake, k=3):
    result = precision_recall(real, fake, k=k)
    return result.precision, result.recall


PRECISION_RECALL = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_knn_precision_recall,
    solution_name="knn_precision_recall",
    wrong={
        "the point itself counted as a neighbour": pr_self_as_neighbour,
        "the (k+1)-th neighbour": pr_one_neighbour_too_many,
        "< instead of <=": pr_strict,
        "precision and recall swapped": pr_swapped,
        "balls around the wrong set": pr_balls_around_the_wrong_set,
        "mean of the k distances as the radius": pr_mean_of_k_distances,
        "changes its input": pr_in_place,
        "course_lib's precision_recall": pr_library,
        "returns one number": lambda real, fake, k=3: 0.5,
        "forgot to return": lambda real, fake, k=3: None,
    },
)

CASES = [GAUSSIAN_KL, FRECHET_1D, PRECISION_RECALL]
