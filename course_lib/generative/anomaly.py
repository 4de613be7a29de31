"""Unsupervised anomaly scores: fit on normal images only, then a higher score means more anomalous.

An autoencoder trained on normal chest X-rays rebuilds normal images well and unusual ones badly, so
its reconstruction error (:func:`reconstruction_error`, mean squared error per image on the ``[0, 1]``
pixel scale) is an anomaly score. The classical scorers give the baselines it must beat; all share
``fit(normal_images) -> self`` and ``score(images) -> (N,)`` and work on the flattened pixels in
``[0, 1]`` (784 numbers per 28x28 image):

- :class:`PCAReconstructionScorer` — the same idea with a linear "autoencoder": the error of the
  reconstruction from the first ``n_components`` principal components.
- :class:`IsolationForestScorer` — how few random axis-aligned cuts isolate the image (Liu et al.,
  2008); score = minus scikit-learn's ``score_samples``.
- :class:`KNNDistanceScorer` — mean Euclidean distance to the ``k`` nearest training normals.
- :class:`OneClassSVMScorer` — an RBF-kernel boundary around the normals (Schölkopf et al., 2001);
  score = minus the decision function (positive outside the boundary).

Images enter as anything :func:`course_lib.generative.images.as_unit_images` accepts (``uint8``
``(N, 28, 28)`` or floats in ``[0, 1]``). Scores are float64 ``(N,)``; only their order matters (use
them with ROC AUC), except the two reconstruction errors, which share one scale.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM

from course_lib.arrays import as_count
from course_lib.generative.autoencoders import _as_float, _check_model, reconstruct
from course_lib.generative.images import as_unit_images

N_PIXELS = 28 * 28


def _flat_pixels(images, name: str = "images") -> np.ndarray:
    """Images ``(N, 28, 28)``, ``(N, 1, 28, 28)`` or already flattened ``(N, 784)`` -> float64 ``(N, 784)``
    in ``[0, 1]``."""
    if isinstance(images, np.ndarray) and images.ndim == 2 and images.shape[1] == N_PIXELS:
        images = images.reshape(-1, 28, 28)
    return as_unit_images(images, name).numpy().reshape(-1, N_PIXELS).astype(np.float64)


def reconstruction_error(model, images, batch_size: int = 512) -> np.ndarray:
    """Mean squared error per image between ``images`` (in ``[0, 1]``) and ``model``'s reconstruction.

    The reconstruction is :func:`course_lib.generative.autoencoders.reconstruct` (evaluation mode; a
    VAE decodes its mean code). Returns float64 ``(N,)``, in squared ``[0, 1]`` pixel units.
    """
    _check_model(model)
    x = as_unit_images(images).numpy()[:, 0].astype(np.float64)
    rebuilt = reconstruct(model, x, batch_size=batch_size).astype(np.float64)
    return np.mean((x - rebuilt) ** 2, axis=(1, 2))


def _check_pca(pca) -> PCA:
    if not isinstance(pca, PCA):
        raise TypeError(f"pca must be a fitted sklearn.decomposition.PCA, got {type(pca).__name__}")
    if not hasattr(pca, "components_"):
        raise ValueError("pca is not fitted yet: call pca.fit(flattened_images) first")
    if pca.components_.shape[1] != N_PIXELS:
        raise ValueError(f"pca was fitted on {pca.components_.shape[1]} features, not the {N_PIXELS} pixels "
                         f"of a 28x28 image")
    return pca


def pca_reconstruct(pca: PCA, images) -> np.ndarray:
    """Project ``images`` onto a fitted PCA and back: float64 ``(N, 28, 28)``, clipped to ``[0, 1]``.

    ``images``: ``(N, 28, 28)``, ``(N, 1, 28, 28)`` or flattened ``(N, 784)``, ``uint8`` or floats in
    ``[0, 1]``. ``pca`` must have been fitted on flattened pixels in ``[0, 1]`` (``(N, 784)``). Clipping to the
    valid pixel range can only bring a reconstruction closer to an image in that range.
    """
    _check_pca(pca)
    x = _flat_pixels(images)
    rebuilt = pca.inverse_transform(pca.transform(x))
    return np.clip(rebuilt, 0.0, 1.0).reshape(-1, 28, 28)


class _Scorer:
    """``fit(normal_images) -> self`` then ``score(images) -> (N,)``; higher = more anomalous."""

    name = "scorer"
    min_fit_images = 2

    def fit(self, normal_images) -> "_Scorer":
        x = _flat_pixels(normal_images, "normal_images")
        if len(x) < self.min_fit_images:
            raise ValueError(f"normal_images must hold at least {self.min_fit_images} images for the "
                             f"{self.name} scorer, got {len(x)}")
        self._fit(x)
        self.fitted_ = True
        return self

    def score(self, images) -> np.ndarray:
        if not getattr(self, "fitted_", False):
            raise ValueError(f"the {self.name} scorer is not fitted yet: call fit(normal_images) first")
        return np.asarray(self._score(_flat_pixels(images)), dtype=np.float64)

    def _fit(self, x: np.ndarray) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _score(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._params().items())})"

    def _params(self) -> dict:
        return {}


class PCAReconstructionScorer(_Scorer):
    """Score = mean squared error per image of its reconstruction from ``n_components`` principal
    components of the normals (:func:`pca_reconstruct`); same units as :func:`reconstruction_error`."""

    name = "PCA reconstruction"

    def __init__(self, n_components: int):
        self.n_components = as_count(n_components, "n_components")
        if self.n_components > N_PIXELS:
            raise ValueError(f"n_components must be at most {N_PIXELS} (the pixels of an image), got {n_components}")
        self.min_fit_images = self.n_components

    def _fit(self, x):
        self.pca_ = PCA(n_components=self.n_components, svd_solver="full").fit(x)

    def _score(self, x):
        return np.mean((x - pca_reconstruct(self.pca_, x).reshape(len(x), -1)) ** 2, axis=1)

    def _params(self):
        return {"n_components": self.n_components}


class IsolationForestScorer(_Scorer):
    """Score = minus :meth:`sklearn.ensemble.IsolationForest.score_samples` (200 trees, 256 images each)."""

    name = "isolation forest"

    def __init__(self, seed: int = 0, n_estimators: int = 200):
        self.seed = as_count(seed, "seed", minimum=0)
        self.n_estimators = as_count(n_estimators, "n_estimators")

    def _fit(self, x):
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, random_state=self.seed).fit(x)

    def _score(self, x):
        return -self.forest_.score_samples(x)

    def _params(self):
        return {"seed": self.seed, "n_estimators": self.n_estimators}


class KNNDistanceScorer(_Scorer):
    """Score = mean Euclidean distance (pixel units) to the ``k`` nearest training normals.

    Scoring the training images themselves counts each image as its own nearest neighbour (distance 0).
    """

    name = "k-NN distance"

    def __init__(self, k: int = 5):
        self.k = as_count(k, "k")
        self.min_fit_images = self.k

    def _fit(self, x):
        self.neighbours_ = NearestNeighbors(n_neighbors=self.k).fit(x)

    def _score(self, x):
        distances, _ = self.neighbours_.kneighbors(x)
        return distances.mean(axis=1)

    def _params(self):
        return {"k": self.k}


class OneClassSVMScorer(_Scorer):
    """Score = minus :meth:`sklearn.svm.OneClassSVM.decision_function` (RBF kernel).

    ``nu`` (in ``(0, 1]``) bounds the fraction of training normals left outside the boundary;
    ``gamma`` is the kernel's inverse squared length scale, a positive number or ``"scale"``
    (``1 / (784 * pixel variance)``) or ``"auto"`` (``1 / 784``).
    """

    name = "one-class SVM"

    def __init__(self, nu: float = 0.1, gamma="scale"):
        self.nu = _as_float(nu, "nu")
        if self.nu > 1:
            raise ValueError(f"nu must be in (0, 1], got {nu}")
        if isinstance(gamma, str):
            if gamma not in ("scale", "auto"):
                raise ValueError(f"gamma must be 'scale', 'auto' or a positive number, got {gamma!r}")
        else:
            gamma = _as_float(gamma, "gamma")
        self.gamma = gamma

    def _fit(self, x):
        self.svm_ = OneClassSVM(nu=self.nu, gamma=self.gamma).fit(x)

    def _score(self, x):
        return -self.svm_.decision_function(x)

    def _params(self):
        return {"nu": self.nu, "gamma": self.gamma}


def classical_scorers(n_components: int, seed: int = 0) -> dict[str, _Scorer]:
    """The four classical scorers, unfitted, under readable names (in this order): ``"PCA
    reconstruction"`` (``n_components`` components), ``"isolation forest"`` (``seed``), ``"k-NN
    distance"`` (k = 5) and ``"one-class SVM"`` (nu = 0.1, gamma = "scale")."""
    scorers = [PCAReconstructionScorer(n_components), IsolationForestScorer(seed), KNNDistanceScorer(5),
               OneClassSVMScorer(0.1, "scale")]
    return {scorer.name: scorer for scorer in scorers}
