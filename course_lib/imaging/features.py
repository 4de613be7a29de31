"""Hand-crafted image features for the classical baselines."""

from __future__ import annotations

import numpy as np


def hog_features(images: np.ndarray, *, orientations: int = 9, pixels_per_cell: int = 4,
                 cells_per_block: int = 2) -> np.ndarray:
    """Histogram-of-oriented-gradients features (Dalal & Triggs, 2005) of each image.

    Each image is cut into ``pixels_per_cell`` x ``pixels_per_cell`` cells; every cell gets a
    histogram of its gradient directions (``orientations`` bins, weighted by gradient magnitude),
    normalised over overlapping blocks of ``cells_per_block`` x ``cells_per_block`` cells.

    Args:
        images: ``(N, H, W)`` grey images (uint8 0..255 or floats).

    Returns:
        float32 ``(N, F)``; for 28x28 images and the defaults ``F = 6 * 6 * 2 * 2 * 9 = 1296``.
    """
    from skimage.feature import hog

    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty array of shape (N, H, W), got {images.shape}")
    if not np.issubdtype(images.dtype, np.number):
        raise TypeError(f"images must be numeric, got dtype {images.dtype}")
    for name, value in (("orientations", orientations), ("pixels_per_cell", pixels_per_cell),
                        ("cells_per_block", cells_per_block)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if min(images.shape[1:]) < pixels_per_cell * cells_per_block:
        raise ValueError(f"images of {images.shape[1:]} px are smaller than one block "
                         f"({pixels_per_cell * cells_per_block} px)")
    scaled = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    return np.stack([
        hog(image, orientations=orientations, pixels_per_cell=(pixels_per_cell, pixels_per_cell),
            cells_per_block=(cells_per_block, cells_per_block), block_norm="L2-Hys",
            feature_vector=True)
        for image in scaled
    ]).astype(np.float32)
