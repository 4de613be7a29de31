"""PneumoniaMNIST as tensors and DataLoaders, augmentation written with torch ops, and the two usual
answers to class imbalance (a weighted loss, a balanced sampler).

The data come from :func:`course_lib.data.load_dataset` (mirror, cache, checksummed download or a
labelled synthetic stand-in); this module never downloads anything itself.

>>> loaded, data = load_pneumoniamnist(allow_fallback=True)   # doctest: +SKIP
>>> test = data.seal("test")                                   # doctest: +SKIP
>>> x, y = data.tensors("train")                               # (4708, 1, 28, 28), (4708,)
>>> images, labels = test.open("CNN", seed=0)                  # doctest: +SKIP  (final evaluation only)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from course_lib.data import LoadedDataset, load_dataset
from course_lib.data.readers import validate_image_splits
from course_lib.holdout import SealedSplit

CLASS_NAMES = ("normal", "pneumonia")
"""Label 0 is a normal chest X-ray, label 1 shows pneumonia."""

SPLITS = ("train", "val", "test")


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 grey images ``(N, H, W)`` -> float32 ``(N, H*W)`` scaled to [0, 1], for scikit-learn models."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be a uint8 array of shape (N, H, W), got {images.dtype} {images.shape}")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


@dataclass
class ImageSplits:
    """The three splits of a MedMNIST-style data set, plus the normalisation fitted on ``train``.

    Attributes:
        images: ``{split: uint8 array (N, H, W)}``, grey values 0..255 as stored.
        labels: ``{split: int64 array (N,)}``, 0 = normal, 1 = pneumonia.
        mean, std: mean and standard deviation of the *training* pixels after scaling to [0, 1];
            :meth:`normalise` (and :meth:`tensors`) subtract ``mean`` and divide by ``std``.
        provenance: where the data came from (``mirror``, ``download``, ``synthetic``, ...).

    After :meth:`seal` a split is no longer held here: it lives only in the returned
    :class:`course_lib.holdout.SealedSplit`, which counts every opening.
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    mean: float
    std: float
    provenance: str = "unknown"
    _cache: dict = field(default_factory=dict, repr=False)

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if split not in self.images:
            raise ValueError(f"the {split} split is sealed: only the final evaluation reads it, through "
                             f"the SealedSplit that seal({split!r}) returned (e.g. {split}.open(model, seed=seed))")

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits still held (not sealed), in the order train, val, test."""
        return tuple(s for s in SPLITS if s in self.images)

    def normalise(self, images: np.ndarray) -> torch.Tensor:
        """uint8 images ``(N, H, W)`` -> float32 ``(N, 1, H, W)``, scaled to [0, 1] and normalised with
        the *training* mean and std (the same transform for every split, sealed ones included)."""
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be a uint8 array of shape (N, H, W), got {images.dtype} {images.shape}")
        x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
        return x.sub_(self.mean).div_(self.std).unsqueeze(1).contiguous()

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)``: ``x`` float32 ``(N, 1, H, W)`` normalised with the training statistics,
        ``y`` float32 ``(N,)`` in {0, 1} (the target type of ``BCEWithLogitsLoss``)."""
        self._check_split(split)
        if split not in self._cache:
            y = torch.from_numpy(self.labels[split]).float()
            self._cache[split] = (self.normalise(self.images[split]), y)
        return self._cache[split]

    def pixels(self, split: str) -> np.ndarray:
        """Flattened pixels scaled to [0, 1], float32 ``(N, H*W)``, for scikit-learn models."""
        self._check_split(split)
        return flatten_pixels(self.images[split])

    def class_counts(self) -> dict[str, np.ndarray]:
        """``{split: array([n_normal, n_pneumonia])}`` for every split still held."""
        return {s: np.bincount(self.labels[s], minlength=len(CLASS_NAMES)) for s in self.splits}

    def seal(self, split: str = "test") -> SealedSplit:
        """Remove ``split`` from this object and return it as ``SealedSplit(images, labels, name=split)``.

        Call it right after loading: afterwards :meth:`tensors`, :meth:`pixels` and ``images[split]``
        no longer reach the split, and ``sealed.open(model, seed=seed)`` returns ``(images, labels)``
        (uint8 ``(N, H, W)`` and int64 ``(N,)``) for a model's final evaluation, counting each opening.
        """
        self._check_split(split)
        if split == "train":
            raise ValueError("the training split cannot be sealed: the normalisation is fitted on it")
        images, labels = self.images.pop(split), self.labels.pop(split)
        self._cache.pop(split, None)
        return SealedSplit(images, labels, name=split)


def splits_from_arrays(arrays: dict[str, np.ndarray], *, provenance: str = "unknown",
                       source: str = "arrays") -> ImageSplits:
    """Check MedMNIST-style arrays that you built yourself and wrap them as :class:`ImageSplits`.

    (:func:`load_pneumoniamnist` does not come through here: the data layer's reader has already
    checked what it loads, with the same function.)

    Args:
        arrays: ``{"train_images": uint8 (N, 28, 28), "train_labels": int (N,) or (N, 1), ...}`` for
            ``train``, ``val`` and ``test``, labels in {0, 1}.
        provenance, source: recorded with the data / named in error messages.

    Raises:
        course_lib.data.DataValidationError: (a ``ValueError``) for missing keys, a wrong dtype or
            shape, or labels outside {0, 1}: :func:`course_lib.data.readers.validate_image_splits`.
    """
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of numpy arrays, got {type(arrays).__name__}")
    validate_image_splits(arrays, source, image_shape=(28, 28), n_classes=len(CLASS_NAMES))
    return _image_splits(arrays, provenance=provenance, source=source)


def _image_splits(arrays: dict[str, np.ndarray], *, provenance: str, source: str) -> ImageSplits:
    """Wrap arrays that have passed :func:`~course_lib.data.readers.validate_image_splits`; fits the
    normalisation on the training pixels."""
    images = {s: np.ascontiguousarray(arrays[f"{s}_images"]) for s in SPLITS}
    labels = {s: np.asarray(arrays[f"{s}_labels"]).reshape(-1).astype(np.int64) for s in SPLITS}
    train = images["train"].astype(np.float64) / 255.0
    std = float(train.std())
    if not std > 0:
        raise ValueError(f"{source}: training images are constant (pixel std 0); cannot normalise")
    return ImageSplits(images, labels, mean=float(train.mean()), std=std, provenance=provenance)


def load_pneumoniamnist(*, allow_fallback: bool = True, **load_kwargs) -> tuple[LoadedDataset, ImageSplits]:
    """PneumoniaMNIST through :func:`course_lib.data.load_dataset`, wrapped as :class:`ImageSplits`.

    ``load_kwargs`` (``mirrors``, ``cache_dir``, ``offline``, ...) are passed on. A mirror or cached
    file with missing keys, a wrong dtype or labels out of range is rejected by the data layer's
    reader (with a warning naming the problem); when no valid copy is left,
    :class:`course_lib.data.DataUnavailableError` lists every problem, unless ``allow_fallback``
    returns the labelled synthetic stand-in.
    """
    loaded = load_dataset("pneumoniamnist", allow_fallback=allow_fallback, **load_kwargs)
    return loaded, _image_splits(loaded.data, provenance=loaded.provenance, source=loaded.source)


def stratified_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a random ``fraction`` of the rows, drawn per class so the class mix is kept
    (at least one row per class)."""
    labels = np.asarray(labels).reshape(-1)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    rng = np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        take = max(1, int(round(fraction * len(rows))))
        chosen.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(chosen))


def augment_batch(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    max_shift: float = 0.08,
    max_rotation: float = 10.0,
    max_zoom: float = 0.08,
    max_contrast: float = 0.15,
    max_brightness: float = 0.15,
) -> torch.Tensor:
    """Random small affine transforms and intensity changes, one draw per image, with torch ops.

    Args:
        x: float ``(N, C, H, W)`` images (normalised).
        generator: the source of randomness (seed it for repeatable runs).
        max_shift: largest shift as a fraction of the image size (0.08 of 28 px is ~2 px).
        max_rotation: largest rotation in degrees.
        max_zoom: largest relative change of scale.
        max_contrast: intensities are multiplied by a factor in ``1 ± max_contrast``.
        max_brightness: and shifted by up to ``± max_brightness`` (in units of the pixel std).

    Returns:
        A new tensor of the same shape; borders are filled by repeating the edge pixels.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor of shape (N, C, H, W), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    for name, value in (("max_shift", max_shift), ("max_rotation", max_rotation), ("max_zoom", max_zoom),
                        ("max_contrast", max_contrast), ("max_brightness", max_brightness)):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if max_zoom >= 1 or max_contrast >= 1:
        raise ValueError("max_zoom and max_contrast must be < 1")
    n = x.shape[0]

    def uniform(*shape: int) -> torch.Tensor:  # U(-1, 1) on x's device
        return (torch.rand(*shape, generator=generator) * 2 - 1).to(x.device)

    angle = uniform(n) * (max_rotation * math.pi / 180)
    zoom = 1 + uniform(n) * max_zoom
    shift = uniform(n, 2) * (2 * max_shift)  # affine_grid coordinates span [-1, 1]: 2 units per image
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 1 + uniform(n, 1, 1, 1) * max_contrast
    brightness = uniform(n, 1, 1, 1) * max_brightness
    return out * contrast.to(x.dtype) + brightness.to(x.dtype)


class _AugmentingCollate:
    """Stack a list of ``(x, y)`` samples into a batch, then augment the batch's images."""

    def __init__(self, transform: Callable, generator: torch.Generator):
        self.transform, self.generator = transform, generator

    def __call__(self, samples):
        x = torch.stack([s[0] for s in samples])
        y = torch.stack([s[1] for s in samples])
        return self.transform(x, self.generator), y


def make_loader(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 128,
    shuffle: bool = False,
    augment: bool | Callable = False,
    sampler: torch.utils.data.Sampler | None = None,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader over in-memory tensors.

    Args:
        x: float ``(N, 1, H, W)``; y: ``(N,)``.
        shuffle: reshuffle every epoch (training); ignored when a ``sampler`` is given.
        augment: ``True`` for :func:`augment_batch` with its defaults, or any
            ``f(x_batch, generator) -> x_batch``; applied to each batch as it is drawn.
        sampler: e.g. :func:`balanced_sampler` to draw the classes equally often.
        seed: seeds the shuffling and the augmentation, so a run repeats exactly.
        drop_last: skip an incomplete last batch (e.g. one of size 1, which batch norm cannot
            normalise in training mode).
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors (see ImageSplits.tensors)")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    generator = torch.Generator().manual_seed(seed)
    collate = None
    if augment:
        transform = augment_batch if augment is True else augment
        if not callable(transform):
            raise TypeError("augment must be True, False or a callable f(x, generator)")
        collate = _AugmentingCollate(transform, torch.Generator().manual_seed(seed + 1))
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle and sampler is None,
                      sampler=sampler, generator=generator, collate_fn=collate, drop_last=drop_last)


def positive_class_weight(labels) -> float:
    """``n_negative / n_positive``: the ``pos_weight`` of ``BCEWithLogitsLoss`` that gives both
    classes the same total weight in the loss."""
    labels = np.asarray(labels).reshape(-1)
    positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"need both classes to weight them, got {negatives} negatives and {positives} positives")
    return negatives / positives


def balanced_sampler(labels, seed: int = 0) -> WeightedRandomSampler:
    """Draws ``len(labels)`` rows per epoch with replacement, each class equally likely."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    counts = np.bincount(labels)
    if (counts == 0).any():
        raise ValueError(f"every class needs at least one row, got counts {counts.tolist()}")
    weights = torch.as_tensor(1.0 / counts[labels], dtype=torch.double)
    return WeightedRandomSampler(weights, num_samples=len(labels), replacement=True,
                                 generator=torch.Generator().manual_seed(seed))
