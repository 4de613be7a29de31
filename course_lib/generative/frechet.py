"""Fréchet distance between two clouds of feature vectors, each summarised by a Gaussian.

Fit a Gaussian (mean ``m``, covariance ``C``) to each set of feature vectors and take the Fréchet
(2-Wasserstein) distance between the two Gaussians::

    d^2 = ||m_a - m_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))

This is the formula of the Fréchet Inception Distance, FID (Heusel et al., 2017, "GANs trained by a
two time-scale update rule converge to a local Nash equilibrium", NeurIPS). Here it is computed in
the feature space of a small classifier trained in the notebook, NOT in the Inception-v3 space (no
Inception weights can be downloaded here), so the numbers are NOT comparable with published FID
values: compare models with each other, in one feature space, never with a paper. The value is in
squared feature units; 0 means the two Gaussians are identical.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from course_lib.arrays import as_array, as_matrix, as_matrix_pair, as_vector

#: Added to both covariance diagonals when ``C_a C_b`` is too singular for a matrix square root.
EPS = 1e-6
#: Largest imaginary part (relative to the trace scale) of ``sqrtm`` that counts as rounding noise.
IMAGINARY_TOLERANCE = 1e-3


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``features`` ``(N, D)`` (rows are samples, N >= 2)."""
    matrix = as_matrix(features, "features", min_rows=2)
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False))
    return matrix.mean(axis=0), covariance


def _statistics(mean, covariance, name: str) -> tuple[np.ndarray, np.ndarray]:
    mean = as_vector(as_array(mean, f"mean_{name}"), f"mean_{name}").astype(np.float64)
    covariance = as_array(covariance, f"cov_{name}").astype(np.float64)
    if covariance.shape != (len(mean), len(mean)):
        raise ValueError(f"cov_{name} must be ({len(mean)}, {len(mean)}) to match mean_{name}, "
                         f"got shape {covariance.shape}")
    if not np.allclose(covariance, covariance.T, rtol=1e-6, atol=1e-10):
        raise ValueError(f"cov_{name} must be symmetric")
    return mean, covariance


def _square_root(product: np.ndarray) -> np.ndarray:
    """``sqrtm(product)``, or NaN where it failed; the Schur method may warn on singular input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(product)
    scale = max(np.linalg.norm(product), 1e-300)
    if not np.all(np.isfinite(root)) or np.linalg.norm(root @ root - product) / scale > 1e-6:
        return np.full_like(root, np.nan)
    return root


def frechet_distance_from_statistics(mean_a, cov_a, mean_b, cov_b) -> float:
    """Fréchet distance ``||m_a - m_b||^2 + Tr(C_a + C_b - 2 sqrtm(C_a C_b))`` between two Gaussians.

    Means are ``(D,)``, covariances symmetric ``(D, D)``. When ``C_a C_b`` is singular (fewer samples
    than features, dead features) its square root is retried with ``EPS`` added to both diagonals.
    An imaginary part of the square root that is rounding noise is dropped; a larger one (the
    covariances are not positive semi-definite) raises ValueError. A tiny negative result from
    rounding is returned as 0.
    """
    mean_a, cov_a = _statistics(mean_a, cov_a, "a")
    mean_b, cov_b = _statistics(mean_b, cov_b, "b")
    if mean_a.shape != mean_b.shape:
        raise ValueError(f"mean_a has {len(mean_a)} features but mean_b has {len(mean_b)}")
    root = _square_root(cov_a @ cov_b)
    if not np.all(np.isfinite(root)):
        offset = EPS * np.eye(len(mean_a))
        root = _square_root((cov_a + offset) @ (cov_b + offset))
        if not np.all(np.isfinite(root)):
            raise ValueError("the matrix square root of cov_a @ cov_b failed even after adding EPS to the diagonals")
    if np.iscomplexobj(root):
        scale = max(1.0, float(np.abs(np.trace(cov_a)) + np.abs(np.trace(cov_b))))
        imaginary = float(np.max(np.abs(np.diagonal(root).imag)))
        if imaginary > IMAGINARY_TOLERANCE * scale:
            raise ValueError(f"sqrtm(cov_a @ cov_b) has an imaginary part of {imaginary:.3g}: "
                             "are cov_a and cov_b positive semi-definite covariances?")
        root = root.real
    difference = mean_a - mean_b
    value = difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return float(max(value, 0.0))


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to ``features_a`` ``(N_a, D)`` and ``features_b``
    ``(N_b, D)`` (rows are samples, at least 2 each); see the module docstring for what it is not."""
    a, b = as_matrix_pair(features_a, features_b, ("features_a", "features_b"), min_rows=2)
    return frechet_distance_from_statistics(*gaussian_statistics(a), *gaussian_statistics(b))
