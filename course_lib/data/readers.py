"""Parse a dataset's files and check their structure.

A reader takes ``{relative path: Path}`` for the files of one dataset and returns the parsed data,
or raises :class:`DataValidationError` naming the file and what is wrong with it. Structure, not
bytes, decides whether a copy is usable: a mirror may hold the same content in another byte order.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd


class DataValidationError(ValueError):
    """A data file exists but does not have the structure the course expects."""


PNEUMONIAMNIST_SIZES = {"train": 4708, "val": 524, "test": 624}
BREASTMNIST_SIZES = {"train": 546, "val": 78, "test": 156}
SST2_SIZES = {"train": 67349, "dev": 872}
ESOL_TARGET = "measured log solubility in mols per litre"
ESOL_ROWS = 1128
FREESOLV_ROWS = 642


def _fail(path: Path, problem: str) -> DataValidationError:
    return DataValidationError(f"{path}: {problem}")


def validate_image_splits(
    arrays: dict[str, np.ndarray],
    source: Path | str,
    *,
    image_shape: tuple[int, ...] = (28, 28),
    n_classes: int = 2,
    expected_sizes: dict[str, int] | None = None,
) -> None:
    """Check MedMNIST-style arrays: ``{split}_images`` uint8 ``(N, *image_shape)`` and
    ``{split}_labels`` integer ``(N, 1)`` or ``(N,)`` with values in ``0..n_classes-1``."""
    source = Path(source)
    splits = ("train", "val", "test")
    expected_keys = {f"{s}_{kind}" for s in splits for kind in ("images", "labels")}
    missing = expected_keys - set(arrays)
    if missing:
        raise _fail(source, f"missing keys {sorted(missing)} (found {sorted(arrays)})")
    for split in splits:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8:
            raise _fail(source, f"{split}_images has dtype {images.dtype}, expected uint8")
        if images.ndim != 1 + len(image_shape) or images.shape[1:] != tuple(image_shape):
            raise _fail(source, f"{split}_images has shape {images.shape}, expected (N, {image_shape})")
        if not np.issubdtype(labels.dtype, np.integer):
            raise _fail(source, f"{split}_labels has dtype {labels.dtype}, expected integers")
        if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] != 1):
            raise _fail(source, f"{split}_labels has shape {labels.shape}, expected (N, 1) or (N,)")
        if len(labels) != len(images):
            raise _fail(source, f"{split}: {len(images)} images but {len(labels)} labels")
        if len(images) == 0:
            raise _fail(source, f"{split} split is empty")
        bad = np.setdiff1d(np.unique(labels), np.arange(n_classes))
        if bad.size:
            raise _fail(source, f"{split}_labels has values {bad.tolist()} outside 0..{n_classes - 1}")
        if expected_sizes and len(images) != expected_sizes[split]:
            raise _fail(source, f"{split} has {len(images)} images, expected {expected_sizes[split]}")


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception as error:  # noqa: BLE001 - a damaged archive fails in zipfile, zlib or the .npy header
        raise _fail(path, f"not a readable .npz archive ({type(error).__name__}: {error})") from error


def read_medmnist_2d(
    path: Path,
    *,
    n_classes: int = 2,
    expected_sizes: dict[str, int] | None = None,
    image_shape: tuple[int, ...] = (28, 28),
) -> dict[str, np.ndarray]:
    """One MedMNIST 2-D ``.npz`` file as ``{"train_images": uint8 (N, 28, 28), "train_labels": int64
    (N,), ...}`` for the splits ``train``, ``val`` and ``test``.

    The file is judged by its structure (:func:`validate_image_splits`: keys, dtypes, shapes, label
    values in ``0..n_classes-1``, and the split sizes ``expected_sizes`` when given), not by its
    bytes. Labels stored as ``(N, 1)`` (the official release) or ``(N,)`` (some re-saved copies)
    are both accepted and come back flattened to ``(N,)``; other keys of the archive are dropped.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    path = Path(path)
    arrays = _load_npz(path)
    validate_image_splits(arrays, path, image_shape=image_shape, n_classes=n_classes,
                          expected_sizes=expected_sizes)
    return {key: (value.reshape(-1).astype(np.int64) if key.endswith("_labels") else value)
            for key, value in arrays.items() if key.split("_")[0] in ("train", "val", "test")}


def read_pneumoniamnist(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """PneumoniaMNIST as ``{"train_images": uint8 (4708, 28, 28), "train_labels": int (4708,), ...}``.

    Labels are flattened to shape ``(N,)``; 0 = normal, 1 = pneumonia.
    """
    return read_medmnist_2d(paths["medmnist/pneumoniamnist.npz"], n_classes=2,
                            expected_sizes=PNEUMONIAMNIST_SIZES)


def read_breastmnist(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """BreastMNIST as ``{"train_images": uint8 (546, 28, 28), "train_labels": int (546,), ...}``
    (val 78, test 156 images).

    Labels are flattened to shape ``(N,)``; 0 = malignant, 1 = normal or benign.
    """
    return read_medmnist_2d(paths["medmnist/breastmnist.npz"], n_classes=2,
                            expected_sizes=BREASTMNIST_SIZES)


def _read_table(path: Path, *, sep: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, quoting=quoting, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, pd.errors.EmptyDataError) as error:
        raise _fail(path, f"not a readable table ({error})") from error


def _require_columns(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _fail(path, f"missing columns {missing} (found {list(frame.columns)})")


def _require_rows(frame: pd.DataFrame, path: Path, expected: int | None) -> None:
    if len(frame) == 0:
        raise _fail(path, "has no rows")
    if expected is not None and len(frame) != expected:
        raise _fail(path, f"has {len(frame)} rows, expected {expected} (truncated or a different file?)")


def validate_sentiment_table(frame: pd.DataFrame, path: Path, expected_rows: int | None = None) -> None:
    """Check a ``sentence``/``label`` table with labels in {0, 1} and no empty sentence."""
    _require_columns(frame, path, ["sentence", "label"])
    _require_rows(frame, path, expected_rows)
    if frame["sentence"].isna().any():
        raise _fail(path, "has empty sentences")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise _fail(path, "has labels other than 0 and 1")


def read_sst2(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """SST-2 as ``{"train": DataFrame, "dev": DataFrame}`` with columns ``sentence`` (str) and
    ``label`` (int, 0 negative / 1 positive)."""
    tables = {}
    for split in ("train", "dev"):
        path = paths[f"sst2/{split}.tsv"]
        frame = _read_table(path, sep="\t", quoting=csv.QUOTE_NONE)
        validate_sentiment_table(frame, path, SST2_SIZES[split])
        frame["label"] = frame["label"].astype(np.int64)
        frame["sentence"] = frame["sentence"].astype(str)
        tables[split] = frame
    return tables


def validate_molecule_table(
    frame: pd.DataFrame, path: Path, target: str, expected_rows: int | None = None
) -> None:
    """Check a table with a ``smiles`` column and a numeric ``target`` column."""
    _require_columns(frame, path, ["smiles", target])
    _require_rows(frame, path, expected_rows)
    values = pd.to_numeric(frame[target], errors="coerce")
    if values.isna().any():
        raise _fail(path, f"column {target!r} has {int(values.isna().sum())} non-numeric values")
    if frame["smiles"].isna().any():
        raise _fail(path, "has empty SMILES")


def read_esol(paths: dict[str, Path]) -> pd.DataFrame:
    """ESOL as a DataFrame with ``smiles`` and ``measured log solubility in mols per litre``
    (log10 mol/L) plus MoleculeNet's descriptor columns."""
    path = paths["moleculenet/delaney-processed.csv"]
    frame = _read_table(path)
    validate_molecule_table(frame, path, ESOL_TARGET, ESOL_ROWS)
    return frame


def read_freesolv(paths: dict[str, Path]) -> pd.DataFrame:
    """FreeSolv as a DataFrame with ``iupac``, ``smiles``, ``expt`` and ``calc`` (kcal/mol)."""
    path = paths["moleculenet/SAMPL.csv"]
    frame = _read_table(path)
    validate_molecule_table(frame, path, "expt", FREESOLV_ROWS)
    return frame
