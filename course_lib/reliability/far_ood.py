"""Far out-of-distribution images: real pictures that are nothing like a chest X-ray, taken from data
that ships inside installed packages (no download, works offline).

:func:`far_ood_images` returns ``n`` grey 28 × 28 uint8 images (0..255, like the course's MedMNIST
images) and a source string for each:

- the first ``n // 2``: handwritten digits from scikit-learn's ``load_digits`` (1,797 images of 8 × 8
  pixels with values 0..16, the UCI optical-recognition digits): scaled to 0..255 and resized to
  28 × 28 (``skimage.transform.resize``, bilinear, anti-aliased); source ``"sklearn digits #<row>
  (a <digit>)"``;
- the other ``n - n // 2``: random square windows of random side (64..256 px, at most the picture's
  shorter side) cut from scikit-image's sample pictures (:data:`SKIMAGE_SOURCES`), converted to grey
  (``skimage.color.rgb2gray``), resized to 28 × 28 with anti-aliasing; source ``"skimage <name>,
  <side>-px crop at (<row>, <col>)"``.

Only pictures whose files are inside the scikit-image wheel are used (``skimage/data/*.png|jpg``);
scikit-image fetches its other data sets with pooch from the internet, which these machines cannot
reach. :func:`available_sources` checks that each file is on disk before anything is loaded.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from course_lib.arrays import as_count

#: scikit-image sample pictures used for crops: name of the ``skimage.data`` function -> file in the
#: wheel. All load offline (checked on scikit-image 0.26 with the network blocked).
SKIMAGE_SOURCES: dict[str, str] = {
    "camera": "camera.png",            # a photographer, grey
    "astronaut": "astronaut.png",      # Eileen Collins, colour
    "chelsea": "chelsea.png",          # a cat, colour
    "coffee": "coffee.png",            # a cup of coffee, colour
    "rocket": "rocket.jpg",            # a rocket launch, colour
    "coins": "coins.png",              # Greek coins, grey
    "moon": "moon.png",                # the moon's surface, grey
    "page": "page.png",                # a scanned page of text, grey
    "text": "text.png",                # printed text on a photo, grey
    "grass": "grass.png",              # grass texture, grey
    "gravel": "gravel.png",            # gravel texture, grey
    "brick": "brick.png",              # brick wall texture, grey
    "clock": "clock_motion.png",       # a clock with motion blur, grey
}

CROP_SIDES = (64, 256)


def _data_dir() -> str:
    import skimage.data

    return os.path.dirname(skimage.data.__file__)


def available_sources() -> list[str]:
    """The names in :data:`SKIMAGE_SOURCES` whose files are inside the installed scikit-image wheel."""
    folder = _data_dir()
    return [name for name, file in SKIMAGE_SOURCES.items() if os.path.isfile(os.path.join(folder, file))]


@lru_cache(maxsize=None)
def _grey_picture(name: str) -> np.ndarray:
    """One sample picture as a grey float64 array in [0, 1], (H, W); read-only (cached)."""
    import skimage.data
    from skimage.color import rgb2gray, rgba2rgb

    path = os.path.join(_data_dir(), SKIMAGE_SOURCES[name])
    if not os.path.isfile(path):                 # never let skimage fall back to a download
        raise FileNotFoundError(f"scikit-image sample picture {name!r} is not in the installed wheel ({path})")
    picture = np.asarray(getattr(skimage.data, name)())
    if picture.ndim == 3 and picture.shape[2] == 4:
        picture = rgba2rgb(picture)
    if picture.ndim == 3:
        grey = rgb2gray(picture)                 # float in [0, 1] (uint8 input is rescaled)
    else:
        grey = picture.astype(np.float64) / (255.0 if picture.dtype == np.uint8 else 1.0)
    grey = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    grey.setflags(write=False)
    return grey


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.images, dtype=np.float64), np.asarray(digits.target)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def far_ood_images(n: int, *, seed: int = 0, size: int = 28) -> tuple[np.ndarray, list[str]]:
    """``n`` real far-OOD images, ``(n, size, size)`` uint8 in 0..255, and their sources (a list of str).

    Half digits, half crops of sample pictures (see the module docstring); the digits come first.
    The same ``seed`` gives the same images. Digits are drawn without replacement while there are
    enough (1,797), with replacement beyond.
    """
    from skimage.transform import resize

    n = as_count(n, "n")
    seed = as_count(seed, "seed", minimum=0)
    size = as_count(size, "size", minimum=8)
    sources = available_sources()
    if not sources:
        raise FileNotFoundError("no scikit-image sample picture is installed; far_ood_images needs scikit-image")
    rng = np.random.default_rng(seed)
    n_digits, n_crops = n // 2, n - n // 2
    images = np.empty((n, size, size), dtype=np.uint8)
    names: list[str] = []

    digit_images, digit_labels = _digits()
    rows = rng.choice(len(digit_images), size=n_digits, replace=n_digits > len(digit_images))
    for i, row in enumerate(rows):
        image = digit_images[row] / 16.0
        images[i] = _to_uint8(resize(image, (size, size), order=1, anti_aliasing=True, mode="edge"))
        names.append(f"sklearn digits #{row} (a {digit_labels[row]})")

    for i in range(n_digits, n):
        name = sources[int(rng.integers(len(sources)))]
        picture = _grey_picture(name)
        largest = min(CROP_SIDES[1], *picture.shape)
        side = int(rng.integers(min(CROP_SIDES[0], largest), largest + 1))
        top = int(rng.integers(0, picture.shape[0] - side + 1))
        left = int(rng.integers(0, picture.shape[1] - side + 1))
        crop = picture[top:top + side, left:left + side]
        images[i] = _to_uint8(resize(crop, (size, size), order=1, anti_aliasing=True, mode="reflect"))
        names.append(f"skimage {name}, {side}-px crop at ({top}, {left})")
    return images, names
