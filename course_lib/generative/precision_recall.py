"""Improved precision and recall of a generative model (Kynkäänniemi et al., 2019, NeurIPS,
"Improved precision and recall metric for assessing generative models").

Each set of feature vectors ``(N, D)`` stands for a manifold: the union of balls around its samples,
each ball as wide as the distance from that sample to its ``k``-th nearest neighbour in the same set
(the sample itself not counted). Then

- **precision** = share of generated (fake) samples that fall inside the real manifold: are the
  samples realistic?
- **recall** = share of real samples that fall inside the fake manifold: does the model cover the
  variety of the data? A model that produces one perfect image has precision 1 and recall near 0.

Both lie in ``[0, 1]``. Distances are Euclidean in the given feature space, computed exactly
(``scipy.spatial.distance.cdist``) in blocks of rows so that memory stays at ``CHUNK x N`` numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from course_lib.arrays import as_count, as_matrix_pair

#: Rows per block of the distance matrix (1024 x 2,000 float64 distances = 16 MB).
CHUNK = 1024


@dataclass(frozen=True)
class PrecisionRecall:
    """Result of :func:`precision_recall`: shares in ``[0, 1]`` and the ``k`` of the k-NN radii."""

    precision: float
    recall: float
    k: int


def knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance ``(N,)`` from each row of ``points`` to its ``k``-th nearest other row.

    The row itself is at distance 0, so this is the ``(k+1)``-th smallest distance of each row
    (a duplicate of the row counts as a neighbour at distance 0).
    """
    radii = np.empty(len(points))
    for start in range(0, len(points), CHUNK):
        distances = cdist(points[start:start + CHUNK], points)
        radii[start:start + CHUNK] = np.partition(distances, k, axis=1)[:, k]
    return radii


def inside_manifold(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Boolean ``(M,)``: does each query lie within ``radii[i]`` of some ``centres[i]``?"""
    inside = np.empty(len(queries), dtype=bool)
    for start in range(0, len(queries), CHUNK):
        distances = cdist(queries[start:start + CHUNK], centres)
        inside[start:start + CHUNK] = np.any(distances <= radii[None, :], axis=1)
    return inside


def precision_recall(real_features, fake_features, k: int = 3) -> PrecisionRecall:
    """Improved precision and recall of ``fake_features`` ``(N_fake, D)`` against ``real_features``
    ``(N_real, D)`` with k-NN radii (the paper uses ``k = 3``).

    Raises ValueError when ``k`` is not smaller than the size of either set (each sample needs ``k``
    neighbours besides itself) or when the sets have different numbers of features.
    """
    real, fake = as_matrix_pair(real_features, fake_features, ("real_features", "fake_features"), min_rows=2)
    k = as_count(k, "k")
    smallest = min(len(real), len(fake))
    if k >= smallest:
        raise ValueError(f"k must be smaller than the number of samples in each set "
                         f"({len(real)} real, {len(fake)} fake), got k={k}")
    precision = inside_manifold(fake, real, knn_radii(real, k)).mean()
    recall = inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return PrecisionRecall(precision=float(precision), recall=float(recall), k=k)
