"""MedMNIST-C image corruptions for PneumoniaMNIST: realistic distribution shift, severity 0..5.

Source of the table and of every operation: Di Salvo, Doerrich & Ledig, "MedMNIST-C: Comprehensive
benchmark and improved classifier robustness by simulating realistic image corruptions",
arXiv:2406.17536 (2024), code github.com/francescodisalvo05/medmnistc-api (Apache-2.0), file
``medmnistc/corruptions/registry.py``, entry ``pneumoniamnist``. :data:`CORRUPTIONS` copies its five
published parameters per corruption (severity 1..5); severity 0 is the clean image.

Images are batches of grey images, ``(N, H, W)`` or ``(N, 1, H, W)`` (the course uses 28 x 28):
``uint8`` in ``0..255`` or ``float32``/``float64`` in ``[0, 1]``. :func:`corrupt` returns the same
shape and dtype, values in the same range.

How each corruption works (``x`` = pixel in [0, 1], ``c`` = the severity's parameter):

- ``pixelate``: PIL ``BOX`` resize down to ``int(side * c)`` pixels, ``BOX`` resize back up. On 28 px
  the published severity 4 (c = 0.5: 28 -> 14 -> 28, an exact 2 x 2 average) damages a little less
  than severity 3 (c = 0.6: 28 -> 16 -> 28, where up-sampling by 1.75 mixes neighbouring blocks):
  mean |corrupted - clean| over the 624 test images 4.2, 5.6, 8.1, 7.6, 10.1 grey levels for
  severities 1..5. We keep the published levels; every other corruption grows at every step.
- ``jpeg_compression``: save as JPEG with quality ``c`` and decode again (PIL, grey ``"L"`` mode).
- ``gaussian_noise``: ``x + c * z``, ``z ~ N(0, 1)``; ``speckle_noise``: ``x + x * c * z``;
  ``shot_noise``: ``Poisson(c * x) / c``; ``impulse_noise``: a share ``c`` of the pixels set to 0 or 1
  (``skimage.util.random_noise(mode="s&p")``). All clipped to [0, 1].
- ``gaussian_blur``: torchvision's ``gaussian_blur`` re-implemented (torchvision is not a course
  dependency): kernel size ``c`` (odd), ``sigma = 0.3 * ((c - 1) * 0.5 - 1) + 0.8``, a separable
  normalised Gaussian, ``reflect`` padding (the edge pixel is not repeated), rounded for ``uint8``.
- ``brightness_up``/``_down``: PIL ``ImageEnhance.Brightness``: ``floor(c * x255)`` clipped to 0..255.
- ``contrast_up``/``_down``: PIL ``ImageEnhance.Contrast``: ``floor(m + c * (x255 - m))`` clipped to
  0..255, with ``m = int(mean + 0.5)`` the image's mean grey level rounded (each image its own mean).
  PIL computes in single precision (C ``float``): the formula reproduces PIL exactly with
  ``np.float32`` operands; in float64 it is one grey level off (either way) in up to 4 pixels per
  thousand (measured on the test images), where ``c * (x - m)`` is a whole number.
- ``gamma_corr_up``/``_down``: torchvision ``adjust_gamma``: ``x ** c``; on ``uint8`` images through
  torchvision's PIL lookup table ``int(255.999 * (v / 255) ** c)``.

Deviations from MedMNIST-C (all deliberate, all small):

- Size. MedMNIST-C corrupts the 224 x 224 images; we corrupt the course's 28 x 28 ones. Everything is
  per pixel or relative to the image size except ``gaussian_blur``, whose kernel (3..11 px) covers a
  far larger share of a 28-px image: our blur severities are much harsher than the paper's.
- Colour. MedMNIST-C converts the grey images to RGB, corrupts the three channels and converts back to
  grey (``L = 0.299 R + 0.587 G + 0.114 B``). For the noises this averages three independent noise
  draws, which lowers the effective Gaussian/speckle noise by about a third (factor 0.67); we corrupt
  the one grey channel, so our noise is the nominal one. The deterministic corruptions are the same.
- Rounding. MedMNIST-C turns noisy floats back into ``uint8`` with ``astype`` (truncation, a bias of
  half a grey level); we round to the nearest level.
- Float images. ``pixelate``, ``jpeg_compression``, ``brightness_*`` and ``contrast_*`` need PIL's
  8-bit images: float input is put on the 256-level grid (``round(x * 255)``) for them and the result
  divided by 255 again. The noises, the blur and gamma work on the floats directly (no rounding).
- Randomness. ``np.random.default_rng(seed)``; one seed gives the same underlying random draws at every
  severity (common random numbers: a higher severity scales the same noise), so severity curves are
  not blurred by fresh noise at each level, and every model can be scored on identical corrupted images.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from skimage.util import random_noise

from course_lib.arrays import as_array

CORRUPTIONS: dict[str, tuple[float | int, ...]] = {
    "pixelate": (0.8, 0.7, 0.6, 0.5, 0.40),
    "jpeg_compression": (50, 30, 15, 10, 7),
    "gaussian_noise": (0.04, 0.05, 0.06, 0.07, 0.08),
    "speckle_noise": (0.05, 0.07, 0.10, 0.15, 0.20),
    "impulse_noise": (0.005, 0.01, 0.013, 0.017, 0.02),
    "shot_noise": (300, 200, 150, 100, 80),
    "gaussian_blur": (3, 5, 7, 9, 11),
    "brightness_up": (1.1, 1.2, 1.3, 1.4, 1.5),
    "brightness_down": (0.9, 0.8, 0.7, 0.6, 0.5),
    "contrast_up": (1.1, 1.2, 1.3, 1.4, 1.6),
    "contrast_down": (0.9, 0.8, 0.7, 0.6, 0.4),
    "gamma_corr_up": (1.1, 1.2, 1.3, 1.4, 1.6),
    "gamma_corr_down": (0.9, 0.8, 0.7, 0.6, 0.4),
}
"""MedMNIST-C's PneumoniaMNIST parameters, severity 1..5 (index 0..4). The one place they live."""

PARAMETER_MEANING: dict[str, str] = {
    "pixelate": "resize factor",
    "jpeg_compression": "JPEG quality",
    "gaussian_noise": "noise std (pixels in [0, 1])",
    "speckle_noise": "relative noise std",
    "impulse_noise": "share of pixels set to 0 or 1",
    "shot_noise": "photon count at white (lower = noisier)",
    "gaussian_blur": "kernel size (px)",
    "brightness_up": "brightness factor",
    "brightness_down": "brightness factor",
    "contrast_up": "contrast factor",
    "contrast_down": "contrast factor",
    "gamma_corr_up": "gamma",
    "gamma_corr_down": "gamma",
}
"""What each corruption's parameter means (for tables and figure labels)."""

CORRUPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "digital": ("pixelate", "jpeg_compression"),
    "noise": ("gaussian_noise", "speckle_noise", "impulse_noise", "shot_noise"),
    "blur": ("gaussian_blur",),
    "colour": ("brightness_up", "brightness_down", "contrast_up", "contrast_down"),
    "task-specific": ("gamma_corr_up", "gamma_corr_down"),
}
"""MedMNIST-C's grouping of these corruptions (its ``CORRUPTIONS_DS_FOLDS``)."""

MAX_SEVERITY = 5
MIN_SIDE = 12  # pixels: the largest blur kernel (11) needs reflect padding of 5 < side


def corruption_names() -> tuple[str, ...]:
    """The 13 corruption names, in MedMNIST-C's order."""
    return tuple(CORRUPTIONS)


def check_corruption_name(name) -> str:
    """``name`` if it is one of :func:`corruption_names`; TypeError/ValueError naming ``name`` otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a corruption name (str), got {type(name).__name__}")
    if name not in CORRUPTIONS:
        raise ValueError(f"name must be one of {', '.join(CORRUPTIONS)}; got {name!r}")
    return name


def check_severity(severity) -> int:
    """``severity`` as an int in 0..5 (0 = clean); a bool, float or string is refused (TypeError)."""
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)):
        raise TypeError(f"severity must be an integer 0..{MAX_SEVERITY}, got {type(severity).__name__} {severity!r}")
    if not 0 <= severity <= MAX_SEVERITY:
        raise ValueError(f"severity must lie in 0..{MAX_SEVERITY} (0 = clean), got {severity}")
    return int(severity)


def corruption_parameter(name: str, severity: int) -> float | int | None:
    """The published parameter of ``name`` at ``severity`` (``None`` for severity 0, the clean image)."""
    name, severity = check_corruption_name(name), check_severity(severity)
    return None if severity == 0 else CORRUPTIONS[name][severity - 1]


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def as_image_batch(images, name: str = "images") -> np.ndarray:
    """``images`` as a NumPy array ``(N, H, W)`` or ``(N, 1, H, W)`` of ``uint8`` or ``float32/64`` in
    ``[0, 1]`` (a CPU tensor is converted); the array itself, not a copy, when it already is one.

    Raises TypeError for another dtype (cast with ``.astype(np.uint8)`` or divide by 255) and
    ValueError for another shape, images smaller than 12 x 12, NaN, or floats outside ``[0, 1]``,
    naming ``name``.
    """
    if hasattr(images, "detach"):  # a torch tensor, without importing torch
        images = images.detach().cpu().numpy()
    array = as_array(images, name, holding="pixel values")
    if array.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(f"{name} must be uint8 (0..255) or float32/float64 (0..1), got dtype {array.dtype}")
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[1] == 1)):
        raise ValueError(f"{name} must be grey images (N, H, W) or (N, 1, H, W), got shape {array.shape}")
    if min(array.shape[-2:]) < MIN_SIDE:
        raise ValueError(f"{name} must be at least {MIN_SIDE}x{MIN_SIDE} pixels, "
                         f"got {array.shape[-2]}x{array.shape[-1]}")
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"{name} must be uint8 (0..255) or floats in [0, 1], "
                             f"got values in [{low:.3g}, {high:.3g}]")
    return array


# ------------------------------------------------------------------------------------ conversions


def _to_uint8(batch: np.ndarray) -> np.ndarray:
    """The 8-bit grid PIL needs: ``uint8`` as is, floats as ``round(x * 255)``."""
    return batch if batch.dtype == np.uint8 else np.rint(batch * 255.0).astype(np.uint8)


def _from_uint8(levels: np.ndarray, like: np.ndarray) -> np.ndarray:
    return levels if like.dtype == np.uint8 else (levels / 255.0).astype(like.dtype)


def _to_unit(batch: np.ndarray) -> np.ndarray:
    return batch / 255.0 if batch.dtype == np.uint8 else batch.astype(np.float64)


def _from_unit(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    values = np.clip(values, 0.0, 1.0)
    return np.rint(values * 255.0).astype(np.uint8) if like.dtype == np.uint8 else values.astype(like.dtype)


# ------------------------------------------------------------------------------------ the corruptions
# Each takes a batch (N, H, W) of uint8 or float, the parameter and a Generator; same dtype back.


def _pixelate(batch, factor, rng):
    levels = _to_uint8(batch)
    height, width = levels.shape[1:]
    small = (int(width * factor), int(height * factor))          # PIL sizes are (width, height)
    out = np.empty_like(levels)
    for i, image in enumerate(levels):
        picture = Image.fromarray(image).resize(small, Image.Resampling.BOX)
        out[i] = np.asarray(picture.resize((width, height), Image.Resampling.BOX))
    return _from_uint8(out, batch)


def _jpeg(batch, quality, rng):
    levels = _to_uint8(batch)
    out = np.empty_like(levels)
    for i, image in enumerate(levels):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded.convert("L"))
    return _from_uint8(out, batch)


def _gaussian_noise(batch, std, rng):
    x = _to_unit(batch)
    return _from_unit(x + std * rng.standard_normal(x.shape), batch)


def _speckle_noise(batch, std, rng):
    x = _to_unit(batch)
    return _from_unit(x + x * (std * rng.standard_normal(x.shape)), batch)


def _shot_noise(batch, photons, rng):
    x = _to_unit(batch)
    return _from_unit(rng.poisson(x * photons) / photons, batch)


def _impulse_noise(batch, amount, rng):
    # random_noise draws the "flipped" mask first (uniform <= amount): with one seed the pixels hit at a
    # lower severity are also hit at every higher one.
    x = _to_unit(batch)
    return _from_unit(random_noise(x, mode="s&p", amount=amount, rng=rng), batch)


def gaussian_kernel1d(kernel_size: int) -> np.ndarray:
    """torchvision's 1-D Gaussian blur kernel for ``kernel_size`` (odd >= 1) with its default sigma
    ``0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8`` (= 0.15 * kernel_size + 0.35), summing to 1."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)):
        raise TypeError(f"kernel_size must be an odd positive integer, got {type(kernel_size).__name__}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive integer, got {kernel_size}")
    sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8
    half = (kernel_size - 1) * 0.5
    pdf = np.exp(-0.5 * (np.linspace(-half, half, kernel_size) / sigma) ** 2)
    return pdf / pdf.sum()


def _gaussian_blur(batch, kernel_size, rng):
    weights = gaussian_kernel1d(int(kernel_size))
    radius = len(weights) // 2
    x = batch.astype(np.float64)
    height, width = x.shape[1:]
    padded = np.pad(x, ((0, 0), (radius, radius), (radius, radius)), mode="reflect")
    rows = sum(w * padded[:, i:i + height, :] for i, w in enumerate(weights))       # along H
    blurred = sum(w * rows[:, :, j:j + width] for j, w in enumerate(weights))       # along W
    if batch.dtype == np.uint8:
        return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    return np.clip(blurred, 0.0, 1.0).astype(batch.dtype)


def _pil_blend(constant: np.ndarray, levels: np.ndarray, factor: float) -> np.ndarray:
    """PIL's ``Image.blend(constant, levels, factor)`` on 8-bit images, in NumPy: single-precision
    ``constant + factor * (levels - constant)``, truncated towards zero and clipped to 0..255."""
    c = constant.astype(np.float32)
    value = c + np.float32(factor) * (levels.astype(np.float32) - c)
    return np.clip(np.floor(value), 0, 255).astype(np.uint8)


def _brightness(batch, factor, rng):
    levels = _to_uint8(batch)
    return _from_uint8(_pil_blend(np.zeros((1, 1, 1), np.uint8), levels, factor), batch)


def pil_contrast_means(levels: np.ndarray) -> np.ndarray:
    """Per-image mean grey level as PIL's ``ImageEnhance.Contrast`` uses it: ``int(mean + 0.5)``,
    shape ``(N, 1, 1)`` for a ``uint8`` batch ``(N, H, W)``."""
    means = levels.reshape(len(levels), -1).mean(axis=1, dtype=np.float64)
    return (means + 0.5).astype(np.int64).reshape(-1, 1, 1)


def _contrast(batch, factor, rng):
    levels = _to_uint8(batch)
    return _from_uint8(_pil_blend(pil_contrast_means(levels), levels, factor), batch)


def _gamma(batch, gamma, rng):
    if batch.dtype == np.uint8:
        table = np.array([int((255 + 1 - 1e-3) * pow(v / 255.0, gamma)) for v in range(256)], dtype=np.uint8)
        return table[batch]
    return np.clip(batch.astype(np.float64) ** gamma, 0.0, 1.0).astype(batch.dtype)


_APPLY: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "pixelate": _pixelate,
    "jpeg_compression": _jpeg,
    "gaussian_noise": _gaussian_noise,
    "speckle_noise": _speckle_noise,
    "impulse_noise": _impulse_noise,
    "shot_noise": _shot_noise,
    "gaussian_blur": _gaussian_blur,
    "brightness_up": _brightness,
    "brightness_down": _brightness,
    "contrast_up": _contrast,
    "contrast_down": _contrast,
    "gamma_corr_up": _gamma,
    "gamma_corr_down": _gamma,
}
RANDOM_CORRUPTIONS = ("gaussian_noise", "speckle_noise", "impulse_noise", "shot_noise")
"""The corruptions that draw random numbers (the others are deterministic and ignore ``seed``)."""


def corrupt(images, name: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """A corrupted copy of a batch of grey images.

    Args:
        images: ``(N, H, W)`` or ``(N, 1, H, W)``, ``uint8`` in ``0..255`` or ``float32``/``float64``
            in ``[0, 1]``, at least 12 x 12 pixels (the course: ``(N, 28, 28)`` ``uint8``).
        name: one of :func:`corruption_names` (see the module docstring for what each does).
        severity: 0 (an exact copy: the clean images) or 1..5, MedMNIST-C's published levels.
        seed: seeds ``np.random.default_rng`` for the four noises (same seed, same output).

    Returns:
        A new array with the shape and dtype of ``images`` and values in the same range.

    Raises TypeError/ValueError naming ``images``, ``name``, ``severity`` or ``seed``.
    """
    name, severity, seed = check_corruption_name(name), check_severity(severity), _check_seed(seed)
    array = as_image_batch(images)
    if severity == 0:
        return array.copy()
    batch = array.reshape(-1, *array.shape[-2:])
    out = _APPLY[name](batch, CORRUPTIONS[name][severity - 1], np.random.default_rng(seed))
    return np.ascontiguousarray(out).reshape(array.shape)
