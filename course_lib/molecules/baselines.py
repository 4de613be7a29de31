"""Classical baselines: Morgan (ECFP4) fingerprints and RDKit 2-D descriptors with tree ensembles.

Features are computed once for all molecules; models are fitted on the training rows of a split only.
Regressors (:func:`random_forest`, :func:`gradient_boosting`) predict the target in its units;
classifiers (:func:`random_forest_classifier`, :func:`gradient_boosting_classifier`) take 0/1 labels
and give probabilities of class 1 with ``model.predict_proba(X)[:, 1]``, class-weighted by default so
a rare positive class is not ignored.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem import Descriptors, rdFingerprintGenerator
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from threadpoolctl import threadpool_limits

SLOW_OR_UNSTABLE = ("qed", "Ipc")
"""Descriptors left out by default: ``qed`` costs a quarter of all descriptor time, ``Ipc`` spans
dozens of orders of magnitude (``AvgIpc`` carries the same information)."""


def _check_mols(mols: Sequence[Chem.Mol]) -> list[Chem.Mol]:
    if isinstance(mols, (str, Chem.Mol)) or not hasattr(mols, "__len__"):
        raise TypeError("mols must be a sequence of RDKit Mol objects")
    bad = [i for i, m in enumerate(mols) if not isinstance(m, Chem.Mol)]
    if bad:
        raise TypeError(f"mols must hold RDKit Mol objects; positions {bad[:5]} do not")
    if not mols:
        raise ValueError("mols is empty")
    return list(mols)


def morgan_fingerprints(mols: Sequence[Chem.Mol], radius: int = 2, n_bits: int = 2048,
                        counts: bool = False) -> np.ndarray:
    """Morgan fingerprints, shape (N, n_bits), uint8. ``radius=2`` is ECFP4 (diameter 4 bonds);
    ``counts=True`` gives how often each hashed environment occurs instead of a 0/1 bit."""
    mols = _check_mols(mols)
    if radius < 0 or n_bits < 1:
        raise ValueError(f"need radius >= 0 and n_bits >= 1, got radius={radius}, n_bits={n_bits}")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    make = generator.GetCountFingerprintAsNumPy if counts else generator.GetFingerprintAsNumPy
    return np.stack([np.minimum(make(m), 255).astype(np.uint8) for m in mols])


def descriptor_names(exclude: Sequence[str] = SLOW_OR_UNSTABLE) -> list[str]:
    """Names of the RDKit 2-D descriptors :func:`rdkit_descriptors` computes."""
    return [name for name, _ in Descriptors._descList if name not in set(exclude)]


def rdkit_descriptors(mols: Sequence[Chem.Mol], exclude: Sequence[str] = SLOW_OR_UNSTABLE) -> pd.DataFrame:
    """RDKit's 2-D descriptors (logP, molar refractivity, TPSA, counts, topological indices, ...):
    a float64 DataFrame of shape (N, n_descriptors). Values RDKit cannot compute become 0 (and
    infinities are clipped to ±1e6) so tree models and scalers see finite numbers."""
    mols = _check_mols(mols)
    functions = [(name, fn) for name, fn in Descriptors._descList if name not in set(exclude)]
    rows = []
    RDLogger.DisableLog("rdApp.*")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # e.g. empty means inside BCUT/charges
            for mol in mols:
                row = []
                for _, fn in functions:
                    try:
                        row.append(float(fn(mol)))
                    except Exception:  # RDKit raises assorted errors on exotic valences
                        row.append(np.nan)
                rows.append(row)
    finally:
        RDLogger.EnableLog("rdApp.*")
    values = np.nan_to_num(np.asarray(rows, dtype=np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
    return pd.DataFrame(np.clip(values, -1e6, 1e6), columns=[name for name, _ in functions])


def _check_xy(features, targets, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(features, dtype=np.float32)
    y = np.asarray(targets, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"features must be (N, F) and targets (N,), got {X.shape} and {y.shape}")
    if len(np.asarray(train)) == 0:
        raise ValueError("train index is empty")
    return X, y


def random_forest(features, targets, train: np.ndarray, seed: int = 0, n_estimators: int = 300,
                  max_features: float | str = 0.3, n_jobs: int = 1) -> RandomForestRegressor:
    """A random forest fitted on ``features[train]`` (N, F) -> ``targets[train]`` (N,)."""
    X, y = _check_xy(features, targets, train)
    model = RandomForestRegressor(n_estimators=n_estimators, max_features=max_features, random_state=seed,
                                  n_jobs=n_jobs)
    return model.fit(X[train], y[train])


def gradient_boosting(features, targets, train: np.ndarray, seed: int = 0,
                      max_iter: int = 500, learning_rate: float = 0.05) -> HistGradientBoostingRegressor:
    """Histogram gradient boosting fitted on ``features[train]`` -> ``targets[train]``."""
    X, y = _check_xy(features, targets, train)
    model = HistGradientBoostingRegressor(max_iter=max_iter, learning_rate=learning_rate, random_state=seed,
                                          min_samples_leaf=10, l2_regularization=1.0)
    return model.fit(X[train], y[train])


def _check_binary(features, labels, train) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (N, F) float32, labels (N,) int64 in {0, 1} and the train positions; both classes
    must occur among the training labels."""
    X = np.asarray(features, dtype=np.float32)
    raw = np.asarray(labels)
    if X.ndim != 2 or raw.ndim != 1 or len(X) != len(raw):
        raise ValueError(f"features must be (N, F) and labels (N,), got {X.shape} and {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"labels must be 0/1 numbers, got dtype {raw.dtype}")
    values = raw.astype(np.float64)
    if not np.all(np.isin(values, (0.0, 1.0))):
        found = np.unique(values[~np.isin(values, (0.0, 1.0))])[:5]
        raise ValueError(f"labels must be 0 or 1, found {found.tolist()} (map your classes to 0/1 first, "
                         "e.g. with course_lib.molecules.binarize)")
    train = np.asarray(train)
    if train.ndim != 1 or len(train) == 0:
        raise ValueError("train must be a non-empty 1-D index array")
    y = values.astype(np.int64)
    present = np.unique(y[train])
    if len(present) < 2:
        raise ValueError(f"labels[train] hold only class {int(present[0])}: a classifier needs both 0 and 1 "
                         "among the training molecules")
    return X, y, train


def random_forest_classifier(features, labels, train: np.ndarray, seed: int = 0, n_estimators: int = 300,
                             max_features: float | str = "sqrt", class_weight: str | dict | None = "balanced_subsample",
                             n_jobs: int = 1) -> RandomForestClassifier:
    """A random forest classifier fitted on ``features[train]`` (N, F) -> ``labels[train]`` (N,) in {0, 1}.

    ``class_weight="balanced_subsample"`` weights each class inversely to its frequency in every
    tree's bootstrap sample. Probabilities of class 1: ``model.predict_proba(X)[:, 1]``."""
    X, y, train = _check_binary(features, labels, train)
    model = RandomForestClassifier(n_estimators=n_estimators, max_features=max_features, class_weight=class_weight,
                                   random_state=seed, n_jobs=n_jobs)
    return model.fit(X[train], y[train])


def gradient_boosting_classifier(features, labels, train: np.ndarray, seed: int = 0, max_iter: int = 300,
                                 learning_rate: float = 0.05,
                                 class_weight: str | dict | None = "balanced",
                                 n_jobs: int | None = 1) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting (log loss) fitted on ``features[train]`` -> ``labels[train]`` in {0, 1},
    with the regressor's regularization (``min_samples_leaf=10``, ``l2_regularization=1.0``) and
    ``class_weight="balanced"``. Probabilities of class 1: ``model.predict_proba(X)[:, 1]``.

    ``n_jobs`` caps scikit-learn's OpenMP threads during the fit (``None``: all cores). One thread is
    the default because on a busy 2-core machine the threads wait on each other: 1,000 molecules x 209
    descriptors took 5 s on one thread and 25-120 s on the default two; the model is the same.
    """
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1):
        raise ValueError(f"n_jobs must be a positive int or None, got {n_jobs!r}")
    X, y, train = _check_binary(features, labels, train)
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate, random_state=seed,
                                           min_samples_leaf=10, l2_regularization=1.0, class_weight=class_weight)
    with threadpool_limits(n_jobs, user_api="openmp"):
        return model.fit(X[train], y[train])
