"""Metrics and the honest comparison: every model, the same split, several seeds, mean ± std."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from course_lib.arrays import as_vector


def _as_1d(values, name: str) -> np.ndarray:
    array = as_vector(values, name)
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array.astype(float))):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _paired(y_true, y_other, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_other = _as_1d(y_true, "y_true"), _as_1d(y_other, other_name)
    if len(y_true) != len(y_other):
        raise ValueError(f"y_true has {len(y_true)} values but {other_name} has {len(y_other)}")
    return y_true, y_other


def binary_classification_metrics(y_true, y_score, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, ROC AUC, F1, precision and recall for a binary problem.

    Args:
        y_true: labels in {0, 1}, shape (N,).
        y_score: predicted probability of class 1, shape (N,), in [0, 1].
        threshold: a score ≥ threshold predicts class 1 (choose it on validation data).
    """
    y_true, y_score = _paired(y_true, y_score, "y_score")
    if not set(np.unique(y_true)) <= {0, 1}:
        raise ValueError(f"y_true must hold only 0 and 1, got {np.unique(y_true)[:5].tolist()}")
    if y_score.min() < 0 or y_score.max() > 1:
        raise ValueError("y_score must be probabilities in [0, 1] (apply a sigmoid/softmax first)")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    y_pred = (y_score >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "auc": float(skm.roc_auc_score(y_true, y_score)) if both_classes else float("nan"),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
    }


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE (in the target's units) and R² for a regression problem (shapes (N,))."""
    y_true, y_pred = _paired(y_true, y_pred, "y_pred")
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


@dataclass
class SeedComparison:
    """Result of :func:`compare_over_seeds`.

    Attributes:
        runs: one row per (model, seed): the metrics, ``seconds`` and ``params``.
        summary: one row per model: ``<metric>_mean``, ``<metric>_std`` for every metric, ``seconds``
            (mean training seconds per seed), ``params`` and ``n_seeds``. Models keep their order.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    metrics: list[str]

    def table(self, digits: int = 3) -> pd.DataFrame:
        """A readable table: ``mean ± std`` strings per metric, seconds and parameters."""
        rows = []
        for _, row in self.summary.iterrows():
            out = {"model": row["model"]}
            for m in self.metrics:
                out[m] = f"{row[f'{m}_mean']:.{digits}f} ± {row[f'{m}_std']:.{digits}f}"
            out["train s"] = f"{row['seconds']:.1f}"
            out["params"] = "-" if pd.isna(row["params"]) else f"{int(row['params']):,}"
            out["seeds"] = int(row["n_seeds"])
            rows.append(out)
        return pd.DataFrame(rows).set_index("model")

    def best(self, metric: str, mode: str = "max") -> str:
        """Name of the model with the best mean ``metric``."""
        if metric not in self.metrics:
            raise ValueError(f"unknown metric {metric!r}; have {self.metrics}")
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        column = self.summary.set_index("model")[f"{metric}_mean"]
        return str(column.idxmax() if mode == "max" else column.idxmin())


RunFn = Callable[[int], Mapping[str, float]]


def compare_over_seeds(models: Mapping[str, RunFn], seeds: Iterable[int] = (0, 1, 2)) -> SeedComparison:
    """Run every model once per seed and summarise mean ± std.

    Args:
        models: ``{name: run}`` where ``run(seed)`` trains and evaluates one model and returns its
            metrics as ``{metric: float}``. It may also return ``params`` (parameter count) and
            ``seconds`` (training time); otherwise the wall time of ``run`` is used. Every model
            must return the same metrics.
        seeds: at least one seed; use three or more to see the spread.
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of name -> run(seed)")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    rows, metric_names = [], None
    for name, run in models.items():
        if not callable(run):
            raise TypeError(f"models[{name!r}] must be callable as run(seed)")
        for seed in seeds:
            start = time.perf_counter()
            result = dict(run(seed))
            elapsed = time.perf_counter() - start
            seconds = float(result.pop("seconds", elapsed))
            params = result.pop("params", np.nan)
            names = sorted(result)
            if metric_names is None:
                metric_names = names
            elif names != metric_names:
                raise ValueError(f"model {name!r} returned metrics {names}, expected {metric_names}")
            rows.append({"model": name, "seed": seed, **{k: float(v) for k, v in result.items()},
                         "seconds": seconds, "params": params})
    runs = pd.DataFrame(rows)
    metric_names = [m for m in runs.columns if m not in ("model", "seed", "seconds", "params")]
    summary_rows = []
    for name in models:
        group = runs[runs["model"] == name]
        row = {"model": name}
        for m in metric_names:
            row[f"{m}_mean"] = group[m].mean()
            # identical scores (a seed-independent model) have no spread; pandas' two-pass std would
            # report rounding noise such as 1e-16 instead of 0
            row[f"{m}_std"] = group[m].std(ddof=1) if group[m].nunique() > 1 else 0.0
        row.update(seconds=group["seconds"].mean(), params=group["params"].iloc[0], n_seeds=len(group))
        summary_rows.append(row)
    return SeedComparison(runs=runs, summary=pd.DataFrame(summary_rows), metrics=metric_names)
