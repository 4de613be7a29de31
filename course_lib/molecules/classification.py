"""Yes/no molecular properties: labelling by a threshold, and scores computed from probabilities.

:func:`binarize` turns a measured property into 0/1 labels. The course uses it for a *labelled
demonstration* on real data: ESOL's log solubility (log10 mol/L) at or above a threshold is called
"soluble" (1), below it "insoluble" (0). That makes a binary task from a regression set; it is a
demonstration of the classification pipeline, not a published benchmark.

:func:`classification_scores` scores probabilities of class 1 (shape (N,), values in [0, 1]):

- ROC-AUC: the chance that a random positive gets a higher probability than a random negative
  (0.5 = a random ranking, 1 = perfect), blind to prevalence.
- PR-AUC (average precision): precision averaged over recall; a random ranking scores about the
  *prevalence* (the fraction of positives), so always read it next to ``prevalence``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def binarize(values, threshold: float, *, above_is_positive: bool = True) -> np.ndarray:
    """0/1 labels from a measured property: int64 array of shape (N,).

    ``above_is_positive=True``: ``values >= threshold`` -> 1 (e.g. ESOL log S >= -2 -> "soluble" = 1);
    ``False``: ``values < threshold`` -> 1 (the complement). NaN or infinite values are rejected (a
    missing measurement has no label).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    if not isinstance(above_is_positive, bool):
        raise TypeError(f"above_is_positive must be a bool, got {type(above_is_positive).__name__}")
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"values must be numbers, got {type(values).__name__}: {error}") from None
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"values has {bad.size} NaN or infinite entries (first positions {bad[:5].tolist()})")
    positive = x >= threshold if above_is_positive else x < threshold
    return positive.astype(np.int64)


def _check_labels(labels) -> np.ndarray:
    raw = np.asarray(labels)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"labels must be 0/1 numbers, got dtype {raw.dtype}")
    values = raw.astype(np.float64)
    outside = ~np.isin(values, (0.0, 1.0))
    if outside.any():
        raise ValueError(f"labels must be 0 or 1, found {np.unique(values[outside])[:5].tolist()}")
    y = values.astype(np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError(f"labels hold only class {int(y[0])}: AUCs need both classes")
    return y


def classification_scores(labels, probabilities) -> dict[str, float]:
    """ROC-AUC and PR-AUC of probabilities of class 1 against 0/1 labels.

    Args:
        labels: (N,) 0/1 (ints, floats or booleans), both classes present.
        probabilities: (N,) probabilities of class 1 in [0, 1], e.g. from
            :func:`course_lib.molecules.predict_proba_graphs` or ``model.predict_proba(X)[:, 1]``.
            Logits or scores outside [0, 1] are rejected: the scores are stated for probabilities.

    Returns:
        ``{"roc_auc", "pr_auc", "prevalence", "n"}``: ROC-AUC (0.5 = random ranking), PR-AUC
        (average precision; a random ranking scores about ``prevalence``), the fraction of positives,
        and the number of molecules.
    """
    y = _check_labels(labels)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != y.shape:
        raise ValueError(f"probabilities must have the labels' shape {y.shape}, got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain NaN or infinite values")
    if p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"probabilities must lie in [0, 1], got values in [{p.min():.3g}, {p.max():.3g}]: "
                         "pass probabilities (predict_proba_graphs / model.predict_proba(...)[:, 1]), not logits")
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "prevalence": float(y.mean()), "n": int(len(y))}
