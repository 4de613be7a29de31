"""Does a generative model copy its training images? Nearest training neighbours of its samples.

A model that memorised its training set produces samples that sit much closer to some training
image than a new real image would. :func:`memorisation_ratio` measures that against held-out real
images (``reference``, never seen in training): the median distance from a generated sample to its
nearest training image, divided by the same median for the held-out images. About 1: generated
samples are as far from the training set as new real images are; well below 1: copying. Distances
are Euclidean in whatever space the rows live in (pixels, or features of a classifier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.neighbors import NearestNeighbors

from course_lib.arrays import as_count, as_matrix, as_matrix_pair

#: Memory (MiB) for one block of the samples x training distance matrix (scikit-learn's default is 1 GiB).
WORKING_MEMORY_MB = 64


@dataclass(frozen=True)
class Neighbours:
    """``indices`` ``(N, k)`` into the training rows and Euclidean ``distances`` ``(N, k)``, nearest first."""

    indices: np.ndarray
    distances: np.ndarray


def nearest_training_neighbours(samples, training, k: int = 1) -> Neighbours:
    """The ``k`` training rows nearest to each row of ``samples`` ``(N, D)``; ``training`` is ``(M, D)``.

    Images ``(N, H, W)`` or ``(N, 1, H, W)`` are flattened to pixel vectors. Candidates are found
    with scikit-learn's fast (dot-product) distances, then their distances are recomputed directly,
    so an exact copy of a training image has distance exactly 0.
    """
    samples, training = as_matrix_pair(samples, training, ("samples", "training"))
    k = as_count(k, "k")
    if k > len(training):
        raise ValueError(f"k={k} is more than the {len(training)} training rows")
    candidates = min(len(training), k + 5)      # a few spares against rounding in the fast distances
    with sklearn.config_context(working_memory=WORKING_MEMORY_MB):
        _, indices = NearestNeighbors(n_neighbors=candidates, algorithm="brute").fit(training).kneighbors(samples)
    distances = np.stack([np.linalg.norm(samples - training[column], axis=1) for column in indices.T], axis=1)
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return Neighbours(indices=np.take_along_axis(indices, order, axis=1),
                      distances=np.take_along_axis(distances, order, axis=1))


def memorisation_ratio(samples, training, reference) -> float:
    """Median nearest-training distance of ``samples`` over that of held-out real ``reference`` rows.

    All three are ``(N, D)`` with the same ``D`` (or image batches of one size). Raises ValueError when
    the reference median is 0 (half the held-out images are copies of training images: the split leaks).
    """
    samples, training = as_matrix_pair(samples, training, ("samples", "training"))
    reference = as_matrix(reference, "reference")
    if reference.shape[1] != training.shape[1]:
        raise ValueError(f"reference has {reference.shape[1]} features per sample but training has {training.shape[1]}")
    generated = np.median(nearest_training_neighbours(samples, training).distances[:, 0])
    held_out = np.median(nearest_training_neighbours(reference, training).distances[:, 0])
    if held_out == 0:
        raise ValueError("the median nearest-training distance of reference is 0: "
                         "reference must be held-out images, not copies of training images")
    return float(generated / held_out)
