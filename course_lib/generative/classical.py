"""The classical generative baseline: a Gaussian mixture on principal-component coefficients.

:class:`PCAGaussianMixture` flattens each 28x28 image to 784 pixels in ``[0, 1]``, keeps its first
``n_components`` principal-component coefficients (PCA fitted on all training images), and fits a
Gaussian mixture with ``n_mixture`` full-covariance components to the coefficients, one mixture per
class when labels are given (a class-conditional model) or one for all images. Sampling draws
coefficients from a mixture, maps them back to pixels (``pca.inverse_transform``) and clips to
``[0, 1]``. It is what a deep generative model has to beat: fast, exact likelihood, but blurry,
because everything outside the ``n_components``-dimensional linear subspace is lost.

>>> model = PCAGaussianMixture(n_components=32, n_mixture=10).fit(train_images, train_labels)  # doctest: +SKIP
>>> images, labels = model.sample_balanced(16, seed=0)   # doctest: +SKIP  ((16, 28, 28) in [0, 1], (16,))
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from course_lib.arrays import as_count, as_vector
from course_lib.generative.images import as_class_labels, as_unit_images

N_PIXELS = 28 * 28


class PCAGaussianMixture:
    """PCA to ``n_components`` coefficients, then a full-covariance Gaussian mixture per class.

    Args:
        n_components: principal components kept (at most 784 and at most the images per fit).
        n_mixture: Gaussian components in each mixture (at most the images of the smallest class).
        seed: seeds the PCA solver and the mixtures' k-means initialisation, and is the default seed
            of :meth:`sample` and :meth:`sample_balanced`.

    After :meth:`fit`: ``pca_`` (the fitted :class:`sklearn.decomposition.PCA`), ``classes_`` (the
    sorted class labels, ``(None,)`` for an unconditional model), ``mixtures_`` (``{label:
    GaussianMixture}``) and ``conditional_`` (whether labels were given).
    """

    def __init__(self, n_components: int = 32, n_mixture: int = 10, seed: int = 0):
        self.n_components = as_count(n_components, "n_components")
        if self.n_components > N_PIXELS:
            raise ValueError(f"n_components must be at most {N_PIXELS} (the pixels of an image), got {n_components}")
        self.n_mixture = as_count(n_mixture, "n_mixture")
        self.seed = as_count(seed, "seed", minimum=0)

    def __repr__(self) -> str:
        return f"PCAGaussianMixture(n_components={self.n_components}, n_mixture={self.n_mixture}, seed={self.seed})"

    def fit(self, images, labels=None) -> "PCAGaussianMixture":
        """Fit the PCA on all ``images`` and one mixture per class of ``labels`` (``None``: one mixture).

        ``images``: ``(N, 28, 28)`` ``uint8`` or floats in ``[0, 1]``; ``labels``: ``(N,)`` whole class
        indices ``>= 0``. Returns ``self``.
        """
        x = as_unit_images(images).numpy().reshape(-1, N_PIXELS).astype(np.float64)
        if len(x) < self.n_components:
            raise ValueError(f"images must hold at least n_components = {self.n_components} images, got {len(x)}")
        if labels is None:
            groups = {None: np.arange(len(x))}
        else:
            vector = as_vector(labels, "labels", holding="class labels")
            if not np.issubdtype(vector.dtype, np.number):
                raise TypeError(f"labels must hold class indices, got dtype {vector.dtype}")
            n_classes = max(int(np.nanmax(vector)) + 1, 1) if np.all(np.isfinite(vector)) else 1
            y = as_class_labels(vector, "labels", n_classes=n_classes, length=len(x)).numpy()
            groups = {int(c): np.flatnonzero(y == c) for c in np.unique(y)}
        for label, index in groups.items():
            if len(index) < self.n_mixture:
                which = "images" if label is None else f"class {label}"
                raise ValueError(f"n_mixture = {self.n_mixture} needs at least that many images per mixture, "
                                 f"but {which} has {len(index)}")
        self.pca_ = PCA(n_components=self.n_components, random_state=self.seed).fit(x)
        coefficients = self.pca_.transform(x)
        self.mixtures_ = {
            label: GaussianMixture(n_components=self.n_mixture, covariance_type="full",
                                   random_state=self.seed).fit(coefficients[index])
            for label, index in groups.items()
        }
        self.classes_ = tuple(groups)
        self.conditional_ = labels is not None
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "mixtures_"):
            raise ValueError("PCAGaussianMixture is not fitted yet: call fit(images, labels) first")

    def _draw(self, n: int, label, rng: np.random.Generator) -> np.ndarray:
        """``n`` images ``(n, 28, 28)`` from the mixture of ``label``, in random component order."""
        mixture = self.mixtures_[label]
        components = rng.choice(self.n_mixture, size=n, p=mixture.weights_ / mixture.weights_.sum())
        coefficients = np.empty((n, self.n_components))
        for k in np.unique(components):
            rows = components == k
            coefficients[rows] = rng.multivariate_normal(mixture.means_[k], mixture.covariances_[k],
                                                         size=int(rows.sum()), method="cholesky")
        pixels = self.pca_.inverse_transform(coefficients)
        return np.clip(pixels, 0.0, 1.0).reshape(n, 28, 28).astype(np.float32)

    def sample(self, n: int, label=None, seed: int | None = None) -> np.ndarray:
        """``n`` new images, float32 ``(n, 28, 28)`` clipped to ``[0, 1]``.

        ``label``: the class to draw from (required for a model fitted with labels, refused for one
        fitted without). ``seed``: seeds the draw (``None``: the model's ``seed``), so the same seed
        gives the same images.
        """
        self._check_fitted()
        n = as_count(n, "n")
        seed = self.seed if seed is None else as_count(seed, "seed", minimum=0)
        if self.conditional_:
            if label is None:
                raise ValueError(f"this model was fitted per class: pass label= one of {self.classes_} "
                                 f"(or use sample_balanced)")
            if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
                raise TypeError(f"label must be an int class index, got {type(label).__name__}")
            if int(label) not in self.classes_:
                raise ValueError(f"label must be one of the fitted classes {self.classes_}, got {label}")
            label = int(label)
        elif label is not None:
            raise ValueError("this model was fitted without labels: call sample(n) without label")
        return self._draw(n, label, np.random.default_rng(seed))

    def sample_balanced(self, n: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` images shared as evenly as possible among the fitted classes (the first classes get the
        remainder), grouped by class in ascending order.

        Returns ``(images, labels)``: float32 ``(n, 28, 28)`` in ``[0, 1]`` and int64 ``(n,)``. Only for
        a model fitted with labels; ``seed`` as in :meth:`sample`.
        """
        self._check_fitted()
        if not self.conditional_:
            raise ValueError("sample_balanced needs a model fitted with labels; use sample(n) for this one")
        n = as_count(n, "n")
        seed = self.seed if seed is None else as_count(seed, "seed", minimum=0)
        rng = np.random.default_rng(seed)
        counts = [n // len(self.classes_) + (i < n % len(self.classes_)) for i in range(len(self.classes_))]
        images = [self._draw(count, label, rng) for label, count in zip(self.classes_, counts) if count > 0]
        labels = np.repeat(np.asarray(self.classes_, dtype=np.int64), counts)
        return np.concatenate(images), labels
