"""Classifier two-sample test (Lopez-Paz & Oquab, 2017, ICLR, "Revisiting classifier two-sample tests").

Can a classifier tell real from generated feature vectors? Label real samples 1 and fake samples 0
(the larger set subsampled to the size of the smaller), and measure the ``n_splits``-fold
cross-validated accuracy of an L2-regularised logistic regression (C = 1 as in scikit-learn, features
standardised on each training fold). Accuracy near 0.5: the classifier cannot tell the two sets
apart; near 1: the generated samples are easy to spot.

The p-value comes from a permutation test: the labels are shuffled within each fold (so every fold
keeps its share of real and fake samples), the whole cross-validation is repeated, and
``p = (1 + #{permuted accuracy >= observed}) / (1 + n_permutations)``. Shuffling within folds keeps
the test exact: under "same distribution" every such shuffle is as likely as the observed labels.

Speed: all permuted label vectors of a fold are fitted at once by bound optimisation (Böhning, 1992):
the logistic Hessian is bounded by ``X^T X / 4``, one fixed matrix, so every step is two matrix
products and one Cholesky solve. It stops when no weight moves by more than ``TOL`` or after
``MAX_ITER`` steps (reached only when the classes are nearly separable and the accuracy is near 1
anyway; observed and permuted labels go through the same procedure, so the p-value stays exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.special import expit
from sklearn.model_selection import StratifiedKFold

from course_lib.arrays import as_count, as_matrix_pair

TOL = 1e-6
MAX_ITER = 1000


@dataclass(frozen=True)
class TwoSampleResult:
    """Cross-validated real-vs-fake ``accuracy``, its permutation ``p_value``, samples used per set."""

    accuracy: float
    p_value: float
    n_per_set: int


def fit_logistic(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Weights ``(D + 1, P)`` (intercept last) of L2-regularised (C = 1, intercept unpenalised)
    logistic regressions of each column of ``labels`` ``(N, P)`` in {0, 1} on ``features`` ``(N, D)``."""
    design = np.hstack([features, np.ones((len(features), 1))])
    penalty = np.ones(design.shape[1])
    penalty[-1] = 0.0
    factor = cho_factor(design.T @ design / 4.0 + np.diag(penalty))
    weights = np.zeros((design.shape[1], labels.shape[1]))
    for _ in range(MAX_ITER):
        gradient = design.T @ (expit(design @ weights) - labels) + penalty[:, None] * weights
        step = cho_solve(factor, gradient)
        weights -= step
        if np.max(np.abs(step)) < TOL:
            break
    return weights


def _cross_validated_accuracy(features, labels, folds) -> np.ndarray:
    """Accuracy ``(P,)`` over all held-out predictions for each label column of ``labels`` ``(N, P)``."""
    correct = np.zeros(labels.shape[1])
    for train, test in folds:
        mean, scale = features[train].mean(0), features[train].std(0)
        scale[scale == 0] = 1.0
        weights = fit_logistic((features[train] - mean) / scale, labels[train])
        scores = (features[test] - mean) / scale @ weights[:-1] + weights[-1]
        correct += ((scores > 0) == (labels[test] == 1)).sum(0)
    return correct / len(features)


def classifier_two_sample_test(real_features, fake_features, *, seed: int = 0, n_splits: int = 5,
                               n_permutations: int = 200) -> TwoSampleResult:
    """Classifier two-sample test of ``real_features`` ``(N_real, D)`` against ``fake_features``
    ``(N_fake, D)``; both need at least ``n_splits`` rows. Same ``seed`` -> same result.

    Meant for low-dimensional features (tens of dimensions, up to ~1,000 samples per set: about a
    second); reduce pixels to classifier features first.
    """
    real, fake = as_matrix_pair(real_features, fake_features, ("real_features", "fake_features"))
    seed = as_count(seed, "seed", minimum=0)
    n_splits = as_count(n_splits, "n_splits", minimum=2)
    n_permutations = as_count(n_permutations, "n_permutations")
    n = min(len(real), len(fake))
    if n < n_splits:
        raise ValueError(f"each set needs at least n_splits={n_splits} samples, got {len(real)} real "
                         f"and {len(fake)} fake")
    rng = np.random.default_rng(seed)
    real = real[np.sort(rng.choice(len(real), n, replace=False))]
    fake = fake[np.sort(rng.choice(len(fake), n, replace=False))]
    features, labels = np.vstack([real, fake]), np.repeat([1.0, 0.0], n)
    folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(features, labels))
    permuted = np.repeat(labels[:, None], n_permutations, axis=1)
    for _, test in folds:                       # shuffle labels within each held-out fold
        permuted[test] = rng.permuted(permuted[test], axis=0)
    observed = _cross_validated_accuracy(features, labels[:, None], folds)[0]
    null = _cross_validated_accuracy(features, permuted, folds)
    p_value = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations)
    return TwoSampleResult(accuracy=float(observed), p_value=float(p_value), n_per_set=n)
