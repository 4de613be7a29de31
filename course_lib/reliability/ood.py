"""Out-of-distribution (OOD) detection: scores, detectors and how well they separate familiar inputs
from unfamiliar ones.

Sign convention (one for the whole module): every score is an **ID score** — higher means "more
in-distribution" (more like the training data), lower means "more likely OOD". So an input is
accepted as familiar when its score is at least a threshold, and in the metrics the in-distribution
set is the positive class.

Scores from a trained classifier (no extra fitting):

- :func:`msp_score`: the maximum softmax probability (Hendrycks & Gimpel 2017); for a binary model
  with one logit ``z`` it is ``max(sigmoid(z), 1 - sigmoid(z)) = sigmoid(|z|)``, in [0.5, 1];
- :func:`energy_score`: the negative free energy ``T * logsumexp(z / T)`` (Liu et al. 2020); for one
  logit the two-class logits are ``[0, z]`` so the score is ``T * log(1 + exp(z / T))``. Unlike the
  MSP it is not squashed into [0, 1].

Detectors fitted on training data (each has ``fit(...)`` returning itself and ``score(...)`` returning
ID scores of shape ``(N,)``):

- :class:`MahalanobisDetector` (Lee et al. 2018) on feature vectors (e.g. the CNN's penultimate layer):
  class means and one shared covariance; score = minus the smallest squared Mahalanobis distance;
- :class:`PCAResidualDetector` on pixels: minus the mean squared error of the reconstruction from the
  principal components that explain a given share of the variance;
- :class:`IsolationForestDetector` on pixels: scikit-learn's ``IsolationForest.score_samples``.

Metrics and helpers: :func:`ood_auroc`, :func:`threshold_at_tpr`, :func:`fpr_at_tpr`,
:func:`detector_table`, :func:`confident_mistakes`, :func:`plot_score_histograms`.
Unfamiliar real images to test with: :func:`course_lib.reliability.far_ood.far_ood_images`.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from course_lib.arrays import as_array, as_count, as_matrix, as_vector
from course_lib.plotting import PALETTE, _axes

COVARIANCES = ("ledoit_wolf", "empirical")


# ------------------------------------------------------------------------------------ input checks

def _numpy(values):
    """A torch tensor as a NumPy array (detached, on the CPU); anything else unchanged."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        return values.detach().cpu().numpy()
    return values


def _logits(logits) -> np.ndarray:
    """Logits as float64, either ``(N,)`` (one binary logit; an ``(N, 1)`` column counts) or ``(N, C)``."""
    array = as_array(_numpy(logits), "logits").astype(np.float64, copy=False)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in (1, 2):
        raise ValueError(f"logits must be (N,) binary logits or (N, C) class logits, got shape {array.shape}")
    if array.ndim == 2 and array.shape[0] == 0:
        raise ValueError("logits is empty")
    return array


def _scores(values, name: str) -> np.ndarray:
    """A non-empty finite vector of scores, float64."""
    array = as_vector(_numpy(values), name).astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinity")
    return array


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in (0, 1), got {type(value).__name__}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (exclusive), got {value}")
    return value


def _pixels(images, name: str) -> np.ndarray:
    """Images ``(N, H, W)``, ``(N, C, H, W)`` or rows ``(N, D)`` as a float64 matrix ``(N, D)``.

    Integer images (uint8 in 0..255) are divided by 255, so that pixels are in [0, 1] whatever the
    dtype; float images are used as given (they should already be in [0, 1])."""
    raw = _numpy(images)
    array = as_array(raw, name)
    scaled = array.astype(np.float64) / 255.0 if np.issubdtype(array.dtype, np.integer) else array
    return as_matrix(scaled, name)


# ------------------------------------------------------------------------------------ scores from logits

def msp_score(logits) -> np.ndarray:
    """Maximum softmax probability, ``(N,)`` float64 (an ID score: higher = more familiar).

    Args:
        logits: ``(N,)`` (or ``(N, 1)``) logits of a binary model with one output (P(class 1) =
            sigmoid(z)): the score is ``max(sigmoid(z), 1 - sigmoid(z)) = sigmoid(|z|)``, in [0.5, 1];
            or ``(N, C)`` class logits: the largest softmax probability, in [1/C, 1].
            A NumPy array or a torch tensor.
    """
    z = _logits(logits)
    if z.ndim == 1:
        return np.exp(-np.logaddexp(0.0, -np.abs(z)))                 # sigmoid(|z|), no overflow
    return np.exp(z.max(axis=1) - logsumexp(z, axis=1))


def energy_score(logits, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy ``T * logsumexp(z / T)``, ``(N,)`` float64 (an ID score).

    Liu, Wang, Owens & Li, "Energy-based out-of-distribution detection", NeurIPS 2020: the energy is
    ``E(x) = -T * logsumexp(f(x) / T)``; we return ``-E`` so that higher = more familiar.

    Args:
        logits: ``(N, C)`` class logits, or ``(N,)`` (or ``(N, 1)``) single binary logits ``z``, read
            as the two-class logits ``[0, z]`` (a sigmoid output is a softmax over ``[0, z]``), giving
            ``T * log(1 + exp(z / T))`` (softplus; large for a confident class 1, near 0 for a confident
            class 0 — with one logit the energy is not symmetric in the two classes, unlike the MSP).
        temperature: ``T > 0``; computed with ``logaddexp`` / ``logsumexp``, so no overflow for large
            logits.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"temperature must be a positive number, got {type(temperature).__name__}")
    temperature = float(temperature)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive finite number, got {temperature}")
    z = _logits(logits) / temperature
    if z.ndim == 1:
        return temperature * np.logaddexp(0.0, z)
    return temperature * logsumexp(z, axis=1)


# ------------------------------------------------------------------------------------ detectors

class MahalanobisDetector:
    """Class-conditional Gaussians with one shared covariance on feature vectors (Lee, Lee, Lee & Shin,
    "A simple unified framework for detecting out-of-distribution samples and adversarial attacks",
    NeurIPS 2018; without their input pre-processing and layer ensemble).

    ``fit(features (N, D), labels (N,))`` stores the class means ``mu_c`` and the precision matrix
    ``P`` (inverse covariance) of the features centred on their class means (the pooled within-class
    covariance). ``score(features) = -min_c (x - mu_c)^T P (x - mu_c)``: minus the squared distance to
    the nearest class mean (an ID score).

    Args:
        covariance: ``"ledoit_wolf"`` (default): scikit-learn's ``LedoitWolf`` shrinkage estimate. We use
            it because penultimate CNN features after a ReLU often have (nearly) constant channels,
            which make the plain sample covariance singular or ill-conditioned; shrinkage towards a
            scaled identity keeps it invertible and the distances stable, and changes little when N is
            much larger than D. ``"empirical"``: the plain maximum-likelihood covariance (Lee et al.'s
            choice; its pseudo-inverse is used when singular).

    Attributes after fit: ``classes_`` ``(C,)``, ``means_`` ``(C, D)``, ``precision_`` ``(D, D)``.
    """

    def __init__(self, covariance: str = "ledoit_wolf"):
        if covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
        self.covariance = covariance

    def fit(self, features, labels=None) -> "MahalanobisDetector":
        """Fit on training features ``(N, D)`` and their class labels ``(N,)`` (None: one class)."""
        x = as_matrix(_numpy(features), "features", min_rows=2)
        if labels is None:
            y = np.zeros(len(x), dtype=int)
        else:
            y = as_vector(_numpy(labels), "labels")
            if len(y) != len(x):
                raise ValueError(f"labels has {len(y)} entries for {len(x)} rows of features")
            if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
                raise ValueError("labels holds NaN or infinity")
        classes, index = np.unique(y, return_inverse=True)
        if len(x) <= len(classes):
            raise ValueError(f"need more rows of features ({len(x)}) than classes ({len(classes)})")
        means = np.stack([x[index == c].mean(axis=0) for c in range(len(classes))])
        centred = x - means[index]
        if self.covariance == "ledoit_wolf":
            estimator = LedoitWolf(assume_centered=True).fit(centred)
        else:
            estimator = EmpiricalCovariance(assume_centered=True).fit(centred)
        self.classes_, self.means_, self.precision_ = classes, means, np.asarray(estimator.precision_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "precision_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")

    def distances(self, features) -> np.ndarray:
        """Squared Mahalanobis distances to every class mean, ``(N, C)``."""
        self._check_fitted()
        x = as_matrix(_numpy(features), "features")
        if x.shape[1] != self.means_.shape[1]:
            raise ValueError(f"features has {x.shape[1]} columns but the detector was fitted on "
                             f"{self.means_.shape[1]}")
        diff = x[:, None, :] - self.means_[None, :, :]                    # (N, C, D)
        return np.einsum("ncd,de,nce->nc", diff, self.precision_, diff)

    def score(self, features) -> np.ndarray:
        """ID score ``-min_c distance²``, ``(N,)`` (0 at a class mean, more negative farther away)."""
        return -self.distances(features).min(axis=1)


class _PixelDetector:
    """Shared checks of the detectors on raw pixels."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")

    def _score_input(self, images) -> np.ndarray:
        self._check_fitted()
        x = _pixels(images, "images")
        if x.shape[1] != self.n_features_:
            raise ValueError(f"images has {x.shape[1]} pixels per sample but the detector was fitted on "
                             f"{self.n_features_}")
        return x


class PCAResidualDetector(_PixelDetector):
    """A classical detector on pixels: images far from the training images' principal subspace are OOD.

    ``fit(images)`` fits PCA (exact, deterministic: eigenvectors of the pixel covariance) with as many
    components as needed to explain ``variance`` of the training pixels' variance; ``score(images)`` =
    minus the mean squared reconstruction error per pixel (pixels in [0, 1]; uint8 images are divided
    by 255).

    Images: ``(N, H, W)``, ``(N, 1, H, W)`` or flattened ``(N, D)``.
    Attributes after fit: ``n_components_`` and ``pca_`` (the fitted ``sklearn.decomposition.PCA``).
    """

    def __init__(self, variance: float = 0.95):
        self.variance = _fraction(variance, "variance")

    def fit(self, images) -> "PCAResidualDetector":
        x = _pixels(images, "images")
        if len(x) < 2:
            raise ValueError(f"images needs at least 2 samples to fit PCA, got {len(x)}")
        # N >> D here (thousands of images, 784 pixels): the eigen-decomposition of the D x D covariance
        # is exact and much faster than an SVD of the N x D data. One BLAS thread: on a busy 2-core
        # machine a multi-threaded BLAS measured 10-30x slower (threads spinning against each other).
        with threadpool_limits(limits=1, user_api="blas"):
            self.pca_ = PCA(n_components=self.variance, svd_solver="covariance_eigh").fit(x)
        self.n_components_ = int(self.pca_.n_components_)
        self.n_features_ = x.shape[1]
        return self

    def score(self, images) -> np.ndarray:
        x = self._score_input(images)
        reconstruction = self.pca_.inverse_transform(self.pca_.transform(x))
        return -np.mean((x - reconstruction) ** 2, axis=1)


class IsolationForestDetector(_PixelDetector):
    """scikit-learn's ``IsolationForest`` on pixels (Liu, Ting & Zhou 2008): inputs that random
    axis-aligned splits isolate quickly are anomalous. ``score`` returns ``score_samples`` (higher =
    more normal, an ID score). Deterministic for a given ``seed``; uint8 images are divided by 255.
    """

    def __init__(self, n_estimators: int = 200, *, seed: int = 0):
        self.n_estimators = as_count(n_estimators, "n_estimators")
        self.seed = as_count(seed, "seed", minimum=0)

    def fit(self, images) -> "IsolationForestDetector":
        x = _pixels(images, "images")
        if len(x) < 2:
            raise ValueError(f"images needs at least 2 samples to fit an isolation forest, got {len(x)}")
        self.forest_ = IsolationForest(n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1).fit(x)
        self.n_features_ = x.shape[1]
        return self

    def score(self, images) -> np.ndarray:
        return self.forest_.score_samples(self._score_input(images))


# ------------------------------------------------------------------------------------ metrics

def ood_auroc(id_scores, ood_scores) -> float:
    """Area under the ROC curve for telling ID (positive class) from OOD inputs by the ID score.

    1.0: every ID input scores above every OOD input; 0.5: no better than chance (e.g. identical
    score distributions); below 0.5: the score ranks OOD inputs as *more* familiar. Ties count one
    half (scikit-learn's ``roc_auc_score``)."""
    id_scores, ood_scores = _scores(id_scores, "id_scores"), _scores(ood_scores, "ood_scores")
    truth = np.concatenate([np.ones(len(id_scores)), np.zeros(len(ood_scores))])
    return float(roc_auc_score(truth, np.concatenate([id_scores, ood_scores])))


def threshold_at_tpr(id_scores, tpr: float = 0.95) -> float:
    """The highest threshold that accepts (``score >= threshold``) at least ``tpr`` of the ID inputs.

    With the ID scores sorted ascending ``s[0] <= ... <= s[n-1]``, it is ``s[floor(n * (1 - tpr))]``
    (an empirical ``1 - tpr`` quantile, no interpolation). Ties: every ID input equal to the threshold
    is accepted, so with ties the share of ID accepted can exceed ``tpr``.
    Example: ID scores 1..20, tpr 0.95 -> floor(20 * 0.05) = 1 -> threshold 2 (19 of 20 accepted)."""
    values = np.sort(_scores(id_scores, "id_scores"))
    tpr = _fraction(tpr, "tpr")
    k = int(np.floor(round(len(values) * (1.0 - tpr), 9)))            # round: 20 * 0.05 is 1.0000000000000009
    return float(values[min(k, len(values) - 1)])


def fpr_at_tpr(id_scores, ood_scores, tpr: float = 0.95) -> float:
    """FPR at ``tpr`` TPR: the share of OOD inputs accepted as familiar when the threshold
    (:func:`threshold_at_tpr`) keeps ``tpr`` of the ID inputs (OOD scores equal to the threshold are
    accepted). 0 is perfect; lower is better. It is a property of the two score distributions, so in
    the notebooks it is computed on the test ID scores."""
    threshold = threshold_at_tpr(id_scores, tpr)
    ood_scores = _scores(ood_scores, "ood_scores")
    return float(np.mean(ood_scores >= threshold))


def detector_table(id_scores: Mapping[str, object], ood_sets: Mapping[str, Mapping[str, object]], *,
                   tpr: float = 0.95) -> pd.DataFrame:
    """AUROC and FPR at ``tpr`` TPR for every detector and OOD set, one row each.

    Args:
        id_scores: detector name -> its ID scores on the in-distribution (test) set.
        ood_sets: OOD set name -> {detector name -> its scores on that set}. A set may hold a subset
            of the detectors; each of its detectors must be in ``id_scores``.

    Returns:
        Columns ``detector, ood_set, auroc, fpr_at_tpr, tpr, n_id, n_ood``, in the order given.
    """
    if not isinstance(id_scores, Mapping) or not id_scores:
        raise TypeError("id_scores must be a non-empty mapping detector name -> scores")
    if not isinstance(ood_sets, Mapping) or not ood_sets:
        raise TypeError("ood_sets must be a non-empty mapping set name -> {detector name -> scores}")
    tpr = _fraction(tpr, "tpr")
    rows = []
    for set_name, by_detector in ood_sets.items():
        if not isinstance(by_detector, Mapping) or not by_detector:
            raise TypeError(f"ood_sets[{set_name!r}] must be a non-empty mapping detector name -> scores")
        for detector, scores in by_detector.items():
            if detector not in id_scores:
                raise ValueError(f"detector {detector!r} of OOD set {set_name!r} has no ID scores in id_scores "
                                 f"(known: {list(id_scores)})")
            ids, ood = _scores(id_scores[detector], f"id_scores[{detector!r}]"), \
                _scores(scores, f"ood_sets[{set_name!r}][{detector!r}]")
            rows.append({"detector": detector, "ood_set": set_name, "auroc": ood_auroc(ids, ood),
                         "fpr_at_tpr": fpr_at_tpr(ids, ood, tpr), "tpr": tpr, "n_id": len(ids), "n_ood": len(ood)})
    return pd.DataFrame(rows, columns=["detector", "ood_set", "auroc", "fpr_at_tpr", "tpr", "n_id", "n_ood"])


def confident_mistakes(ood_probs, k: int) -> np.ndarray:
    """Indices of the ``k`` OOD inputs the model is most confident on, most confident first.

    Args:
        ood_probs: ``(N,)`` P(class 1) of a binary model (confidence ``max(p, 1 - p)``) or ``(N, C)``
            class probabilities (confidence = the largest), on inputs that belong to no class.
        k: how many, ``1 <= k <= N``. Ties keep the original order.
    """
    probs = as_array(_numpy(ood_probs), "ood_probs").astype(np.float64)
    if probs.ndim == 2 and probs.shape[1] == 1:
        probs = probs[:, 0]
    if probs.ndim not in (1, 2):
        raise ValueError(f"ood_probs must be (N,) or (N, C) probabilities, got shape {probs.shape}")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("ood_probs must be probabilities in [0, 1]")
    confidence = np.maximum(probs, 1 - probs) if probs.ndim == 1 else probs.max(axis=1)
    k = as_count(k, "k")
    if k > len(confidence):
        raise ValueError(f"k must be at most the number of inputs ({len(confidence)}), got {k}")
    return np.argsort(-confidence, kind="stable")[:k]


# ------------------------------------------------------------------------------------ plot

def plot_score_histograms(id_scores, ood_sets: Mapping[str, object], ax: plt.Axes | None = None,
                          title: str | None = None, *, bins: int = 40, score_name: str = "ID score") -> plt.Axes:
    """Overlaid histograms (density, shared bins) of the ID scores and of each OOD set's scores; the
    legend gives each OOD set's AUROC against the ID set. Returns the Axes."""
    ids = _scores(id_scores, "id_scores")
    if not isinstance(ood_sets, Mapping) or not ood_sets:
        raise TypeError("ood_sets must be a non-empty mapping set name -> scores")
    sets = {str(name): _scores(values, f"ood_sets[{name!r}]") for name, values in ood_sets.items()}
    bins = as_count(bins, "bins", minimum=2)
    everything = np.concatenate([ids, *sets.values()])
    low, high = float(everything.min()), float(everything.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    ax = _axes(ax, figsize=(6.4, 4.0))
    ax.hist(ids, bins=edges, density=True, color=PALETTE[0], alpha=0.45, label=f"in-distribution (n={len(ids)})")
    for i, (name, values) in enumerate(sets.items(), start=1):
        ax.hist(values, bins=edges, density=True, histtype="step", linewidth=1.8, color=PALETTE[i % len(PALETTE)],
                label=f"{name} (n={len(values)}, AUROC {ood_auroc(ids, values):.3f})")
    ax.set_xlabel(f"{score_name} (higher = more in-distribution)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title)
    return ax
