"""Bias across groups for a binary decision: the arrests task, per-group rates, fairness gaps with
bootstrap intervals, a validation-chosen threshold, and fairlearn's ThresholdOptimizer.

Data: scikit-lego's ``load_arrests(as_frame=True)`` (Toronto Star, 5,226 people arrested for simple
possession of marijuana, 1997-2002; R's carData ``Arrests``, Fox & Weisberg, GPL >= 2). Columns:
``released`` ("Yes"/"No": released with a summons), ``colour`` ("Black"/"White", the sensitive
attribute), ``year`` (1997..2002), ``age`` (years), ``sex``, ``employed``, ``citizen`` ("Yes"/"No"),
``checks`` (0..6, number of police databases in which the person's name appeared).

Task: predict **held** (``released == "No"``, label 1, 17 % overall: Black 26 %, White 14 %), the
adverse decision. Conventions used throughout:

- ``y_true`` and ``y_pred`` are ``(N,)`` labels in {0, 1} (1 = held / flagged); ``y_prob`` is
  ``(N,)`` predicted P(held) in [0, 1]; ``sensitive`` is ``(N,)`` group names (at least two groups).
- Rates per group: selection rate = P(pred 1), TPR = P(pred 1 | y 1), FPR = P(pred 1 | y 0),
  base rate = P(y 1). All are fractions in [0, 1]; gaps are differences of fractions.
- Fairlearn's ``*_difference`` numbers are max - min over groups (never negative). With exactly two
  groups we also report *signed* gaps, other group minus ``reference`` (by default the larger group:
  White in the arrests data, so a positive gap means Black people are flagged more), because an
  interval of a signed gap can cover 0 and an interval of an absolute one cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from course_lib.arrays import as_count, as_vector
from course_lib.imaging.calibration import THRESHOLD_RULES, choose_threshold

#: Columns of scikit-lego's arrests frame.
ARRESTS_COLUMNS = ("released", "colour", "year", "age", "sex", "employed", "citizen", "checks")
#: Feature columns of :class:`TabularTask` (numeric; the four yes/no columns as 0/1 indicators).
ARRESTS_FEATURES = ("age", "year", "checks", "sex_male", "employed_yes", "citizen_yes", "colour_black")
#: The indicator of the sensitive attribute among the features.
SENSITIVE_FEATURE = "colour_black"
SPLITS = ("train", "val", "test")
#: Rules of :func:`choose_threshold_on_validation`.
THRESHOLD_RULES_FAIRNESS = ("base_rate",) + THRESHOLD_RULES
#: Rates that :func:`bootstrap_group_rates` and :func:`group_metrics` report per group.
RATE_NAMES = ("selection_rate", "tpr", "fpr", "base_rate")
CONSTRAINTS = ("equalized_odds", "demographic_parity", "true_positive_rate_parity",
               "false_positive_rate_parity")


# --------------------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class TabularTask:
    """One stratified train / validation / test split of the arrests data.

    ``X_*`` are DataFrames with the columns :data:`ARRESTS_FEATURES` (``age`` in years, ``year``
    1997..2002, ``checks`` 0..6, and 0/1 indicators ``sex_male``, ``employed_yes``, ``citizen_yes``,
    ``colour_black``); nothing is scaled (scale inside a pipeline fitted on training data).
    ``y_*`` are int arrays, 1 = held; ``s_*`` are the group names ("Black"/"White") as str arrays.
    """

    X_train: pd.DataFrame
    X_val: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    s_train: np.ndarray
    s_val: np.ndarray
    s_test: np.ndarray
    feature_names: tuple[str, ...]
    seed: int

    def _check_split(self, split: str) -> str:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return split

    def features(self, split: str, with_sensitive: bool = True) -> pd.DataFrame:
        """Feature frame of ``split``; ``with_sensitive=False`` drops ``colour_black``. (Dropping the
        column does not remove the information: other features can still carry it.)"""
        if not isinstance(with_sensitive, bool):
            raise TypeError(f"with_sensitive must be True or False, got {with_sensitive!r}")
        frame = getattr(self, f"X_{self._check_split(split)}")
        return frame if with_sensitive else frame.drop(columns=[SENSITIVE_FEATURE])

    def labels(self, split: str) -> np.ndarray:
        """``(N,)`` int labels of ``split`` (1 = held)."""
        return getattr(self, f"y_{self._check_split(split)}")

    def groups(self, split: str) -> np.ndarray:
        """``(N,)`` group names of ``split`` (the sensitive attribute, colour)."""
        return getattr(self, f"s_{self._check_split(split)}")


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in (0, 1), got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    return float(value)


def arrests_task(frame: pd.DataFrame, *, seed: int = 0, test_size: float = 0.25,
                 val_size: float = 0.2) -> TabularTask:
    """Split the arrests frame into train / validation / test, stratified by (held, colour).

    Args:
        frame: the DataFrame of ``sklego.datasets.load_arrests(as_frame=True)`` (also
            ``course_lib.data.load_dataset("arrests").data``) with the columns :data:`ARRESTS_COLUMNS`.
        seed: seed of the split.
        test_size, val_size: fractions of the *whole* frame for test and validation (training gets
            the rest: 0.55 by default, i.e. 2,874 / 1,045 / 1,307 people).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in ARRESTS_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the arrests columns {missing}")
    seed = as_count(seed, "seed", minimum=0)
    test_size, val_size = _fraction(test_size, "test_size"), _fraction(val_size, "val_size")
    if test_size + val_size >= 1:
        raise ValueError(f"test_size + val_size must be below 1, got {test_size} + {val_size}")
    if frame[list(ARRESTS_COLUMNS)].isna().any().any():
        raise ValueError("frame holds missing values")
    for column in ("released", "sex", "employed", "citizen"):
        allowed = {"Yes", "No"} if column != "sex" else {"Male", "Female"}
        found = set(frame[column].astype(str).unique())
        if not found <= allowed:
            raise ValueError(f"frame column {column!r} must hold only {sorted(allowed)}, got {sorted(found)}")
    colour = frame["colour"].astype(str).to_numpy()
    if len(np.unique(colour)) < 2:
        raise ValueError("frame column 'colour' must hold at least two groups")

    features = pd.DataFrame({
        "age": frame["age"].astype(int).to_numpy(),
        "year": frame["year"].astype(int).to_numpy(),
        "checks": frame["checks"].astype(int).to_numpy(),
        "sex_male": (frame["sex"].astype(str) == "Male").astype(int).to_numpy(),
        "employed_yes": (frame["employed"].astype(str) == "Yes").astype(int).to_numpy(),
        "citizen_yes": (frame["citizen"].astype(str) == "Yes").astype(int).to_numpy(),
        "colour_black": (colour == "Black").astype(int),
    }, index=frame.index)
    held = (frame["released"].astype(str) == "No").astype(int).to_numpy()
    strata = np.char.add(held.astype(str), colour.astype(str))
    rows = np.arange(len(frame))
    rest, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=strata)
    train, val = train_test_split(rest, test_size=val_size / (1 - test_size), random_state=seed,
                                  stratify=strata[rest])
    parts = {name: np.sort(index) for name, index in zip(SPLITS, (train, val, test))}
    return TabularTask(
        **{f"X_{name}": features.iloc[index] for name, index in parts.items()},
        **{f"y_{name}": held[index] for name, index in parts.items()},
        **{f"s_{name}": colour[index] for name, index in parts.items()},
        feature_names=ARRESTS_FEATURES, seed=seed)


class _OneThreadGradientBoosting(HistGradientBoostingClassifier):
    """HistGradientBoostingClassifier that fits and predicts on one OpenMP thread. On a shared
    2-core machine its default threads spin and wait: measured 2.9 s wall / 1.4 s CPU per fit on the
    arrests training split against 0.2 s / 0.08 s on one thread, same trees."""

    def fit(self, X, y, **kwargs):
        with threadpool_limits(1, user_api="openmp"):
            return super().fit(X, y, **kwargs)

    def decision_function(self, X):
        with threadpool_limits(1, user_api="openmp"):
            return super().decision_function(X)

    def predict_proba(self, X):
        with threadpool_limits(1, user_api="openmp"):
            return super().predict_proba(X)


def arrests_models(*, seed: int = 0) -> dict[str, Pipeline]:
    """Three unfitted classifiers with fixed, stated hyperparameters (not tuned), for either feature set.

    - ``"logistic regression"``: ``year`` one-hot, ``age`` and ``checks`` standardised, indicators as
      they are; L2, C = 1.
    - ``"gradient boosting"``: ``HistGradientBoostingClassifier`` on the raw columns, 100 trees of at
      most 15 leaves, learning rate 0.05, min 20 samples per leaf, no early stopping; on one thread.
    - ``"MLP"``: scikit-learn ``MLPClassifier`` (32, 16) ReLU, Adam (batch 200, lr 1e-3), L2 weight
      1e-2, stops when the training loss improves by less than 1e-3 for 10 epochs (about 30 epochs).
      Not scikit-learn's ``early_stopping``: it stops on held-out *accuracy*, which sits at 1 - base
      rate = 0.83 from the first epoch, and so stopped a near-untrained net (test AUC 0.55); L-BFGS
      overfits (validation AUC 0.58) and took minutes. Same preprocessing as the logistic
      regression. (Seven tabular features and ~2,900 rows: a torch loop would add code, not insight.)
    """
    seed = as_count(seed, "seed", minimum=0)

    def preprocess() -> ColumnTransformer:
        return ColumnTransformer(
            [("year", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["year"]),
             ("scale", StandardScaler(), ["age", "checks"])],
            remainder="passthrough", verbose_feature_names_out=False)

    return {
        "logistic regression": Pipeline([("prep", preprocess()),
                                         ("model", LogisticRegression(C=1.0, max_iter=2000))]),
        "gradient boosting": Pipeline([("model", _OneThreadGradientBoosting(
            max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
            early_stopping=False, random_state=seed))]),
        "MLP": Pipeline([("prep", preprocess()), ("model", MLPClassifier(
            hidden_layer_sizes=(32, 16), alpha=1e-2, tol=1e-3, max_iter=300,
            random_state=seed))]),
    }


# ------------------------------------------------------------------------------ checking the inputs


def _binary(values, name: str) -> np.ndarray:
    array = as_vector(values, name, holding="labels 0/1")
    if array.dtype == bool:
        return array.astype(int)
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must hold the labels 0 and 1, got dtype {array.dtype}")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only the labels 0 and 1, got values {np.unique(array)[:6].tolist()}")
    return array.astype(int)


def _groups(sensitive, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted group names, (N,) group index); at least two groups, no missing names."""
    array = as_vector(sensitive, "sensitive", holding="group names")
    if len(array) != n:
        raise ValueError(f"sensitive has {len(array)} entries but y_true has {n}")
    if pd.isna(pd.Series(array)).any():
        raise ValueError("sensitive holds missing group names")
    names, index = np.unique(array.astype(str), return_inverse=True)
    if len(names) < 2:
        raise ValueError(f"sensitive must hold at least two groups, got only {names.tolist()}")
    return names, index


def _checked(y_true, y_pred, sensitive) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y_true, y_pred = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} entries but y_pred has {len(y_pred)}")
    names, index = _groups(sensitive, len(y_true))
    return y_true, y_pred, names, index


def _probabilities(y_prob, n: int) -> np.ndarray:
    array = as_vector(y_prob, "y_prob").astype(float)
    if len(array) != n:
        raise ValueError(f"y_prob has {len(array)} entries but y_true has {n}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise ValueError("y_prob must hold finite probabilities in [0, 1]")
    return array


def _reference(names: np.ndarray, index: np.ndarray, reference) -> int:
    if reference is None:
        return int(np.argmax(np.bincount(index, minlength=len(names))))
    if str(reference) not in names:
        raise ValueError(f"reference must be one of the groups {names.tolist()}, got {reference!r}")
    return int(np.flatnonzero(names == str(reference))[0])


# ------------------------------------------------------------------------------- rates and gaps

# A row's cell: 2 * y_true + y_pred -> 0 TN, 1 FP, 2 FN, 3 TP. Every rate of this module is a
# function of a group's four cell counts, which makes the bootstrap cheap (see bootstrap_gaps).


def _cell_counts(y_true: np.ndarray, y_pred: np.ndarray, index: np.ndarray, n_groups: int) -> np.ndarray:
    """(G, 4) counts of TN, FP, FN, TP per group (numpy bincount)."""
    return np.bincount(index * 4 + 2 * y_true + y_pred, minlength=4 * n_groups).reshape(n_groups, 4)


def _rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Rates from (..., G, 4) counts; NaN where a denominator is 0."""
    tn, fp, fn, tp = (cells[..., k].astype(float) for k in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = tn + fp + fn + tp
        return {"selection_rate": (fp + tp) / n, "tpr": tp / (tp + fn), "fpr": fp / (fp + tn),
                "base_rate": (fn + tp) / n}


def _gaps(rates: dict[str, np.ndarray], reference: int | None) -> dict[str, np.ndarray]:
    """Fairlearn's between-group differences (max - min over the last axis) and, with two groups,
    the signed gaps other - reference."""
    spread = {name: rates[name].max(-1) - rates[name].min(-1) for name in ("selection_rate", "tpr", "fpr")}
    gaps = {"demographic_parity_difference": spread["selection_rate"],
            "equalized_odds_difference": np.maximum(spread["tpr"], spread["fpr"]),
            "tpr_difference": spread["tpr"], "fpr_difference": spread["fpr"]}
    if reference is not None:
        other = 1 - reference
        for name, label in (("selection_rate", "selection_rate_gap"), ("tpr", "tpr_gap"), ("fpr", "fpr_gap")):
            gaps[label] = rates[name][..., other] - rates[name][..., reference]
    return gaps


def group_metrics(y_true, y_pred, y_prob, sensitive) -> MetricFrame:
    """Fairlearn ``MetricFrame`` of per-group metrics of a binary decision.

    Columns: ``count``, ``base_rate``, ``selection_rate``, ``tpr``, ``fpr``, ``precision`` (NaN for a
    group with nothing flagged) and, when ``y_prob`` is given, ``mean_prob`` (mean predicted P(held),
    to compare with ``base_rate``: calibration in the large) and ``brier`` (mean squared error of the
    probabilities). Use ``.by_group``, ``.overall`` and ``.difference()``.
    """
    y_true, y_pred, _, _ = _checked(y_true, y_pred, sensitive)
    sensitive = np.asarray(sensitive).astype(str).reshape(-1)
    metrics: dict[str, Callable] = {
        "count": count,
        "base_rate": lambda t, p: float(np.mean(t)),
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
    }
    params = None
    if y_prob is not None:
        prob = _probabilities(y_prob, len(y_true))
        metrics["mean_prob"] = lambda t, p, prob: float(np.mean(prob))
        metrics["brier"] = lambda t, p, prob: float(np.mean((prob - t) ** 2))
        params = {"mean_prob": {"prob": prob}, "brier": {"prob": prob}}
    return MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive,
                       sample_params=params)


def fairness_gaps(y_true, y_pred, sensitive, *, reference=None) -> dict[str, float]:
    """Gaps between groups of a binary decision.

    Returns fairlearn's ``demographic_parity_difference`` and ``equalized_odds_difference`` (the
    larger of the TPR and FPR differences) plus ``tpr_difference`` and ``fpr_difference``, all max -
    min over groups; with exactly two groups also the signed ``selection_rate_gap``, ``tpr_gap`` and
    ``fpr_gap`` (other group minus ``reference``; default: the larger group). Every group needs both
    labels (else its TPR or FPR is undefined: ValueError).
    """
    y_true, y_pred, names, index = _checked(y_true, y_pred, sensitive)
    cells = _cell_counts(y_true, y_pred, index, len(names))
    for g, name in enumerate(names):
        if cells[g, 2:].sum() == 0 or cells[g, :2].sum() == 0:
            raise ValueError(f"y_true must hold both labels in every group; group {str(name)!r} has only one")
    ref = _reference(names, index, reference) if len(names) == 2 else None
    gaps = _gaps(_rates(cells), ref)
    result = {name: float(value) for name, value in gaps.items()}
    # fairlearn's own numbers (identical to the bincount ones: checked in the tests)
    groups = names[index]
    result["demographic_parity_difference"] = float(
        demographic_parity_difference(y_true, y_pred, sensitive_features=groups))
    result["equalized_odds_difference"] = float(
        equalized_odds_difference(y_true, y_pred, sensitive_features=groups))
    return result


# --------------------------------------------------------------------------------------- bootstrap


def _resampled_cells(cells: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(B, G, 4) cell counts of B bootstrap resamples drawn within each group.

    Resampling a group's n_g rows with replacement and counting its cells is the same random draw as
    Multinomial(n_g, cell shares of the group): every rate depends on the rows only through the
    counts, so this is exactly the row bootstrap, stratified by group, at O(B * G) cost.
    """
    rng = np.random.default_rng(seed)
    draws = [rng.multinomial(int(row.sum()), row / row.sum(), size=n_resamples) for row in cells]
    return np.stack(draws, axis=1)


def _interval_table(estimates: dict[str, float], draws: dict[str, np.ndarray], confidence: float,
                    label: str) -> pd.DataFrame:
    alpha = (1 - confidence) / 2
    rows = []
    for name, values in draws.items():
        finite = values[np.isfinite(values)]
        lower, upper = (np.quantile(finite, [alpha, 1 - alpha]) if len(finite) else (np.nan, np.nan))
        rows.append({label: name, "estimate": estimates[name], "lower": float(lower), "upper": float(upper),
                     "std": float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
                     "n_undefined": int(len(values) - len(finite))})
    return pd.DataFrame(rows)


def _bootstrap_arguments(n_resamples, seed, confidence) -> tuple[int, int, float]:
    n_resamples = as_count(n_resamples, "n_resamples", minimum=2)
    seed = as_count(seed, "seed", minimum=0)
    return n_resamples, seed, _fraction(confidence, "confidence")


def bootstrap_gaps(y_true, y_pred, sensitive, *, n_resamples: int = 1000, seed: int = 0,
                   confidence: float = 0.95, reference=None) -> pd.DataFrame:
    """Percentile bootstrap intervals of the gaps of :func:`fairness_gaps` (same names).

    The test rows are resampled with replacement *within each group* (so every resample keeps both
    groups at their sizes), vectorised with NumPy (see ``_resampled_cells``), seeded. What the
    interval covers: the sampling noise of the evaluation set, not of training.

    Returns:
        DataFrame with columns ``gap``, ``estimate`` (full sample, equal to fairlearn's), ``lower``,
        ``upper``, ``std`` (bootstrap standard error) and ``n_undefined`` (resamples in which a
        group drew no positives or no negatives, so TPR or FPR was undefined; left out).
    """
    y_true, y_pred, names, index = _checked(y_true, y_pred, sensitive)
    n_resamples, seed, confidence = _bootstrap_arguments(n_resamples, seed, confidence)
    estimates = fairness_gaps(y_true, y_pred, names[index], reference=reference)
    ref = _reference(names, index, reference) if len(names) == 2 else None
    cells = _cell_counts(y_true, y_pred, index, len(names))
    draws = _gaps(_rates(_resampled_cells(cells, n_resamples, seed)), ref)
    return _interval_table(estimates, draws, confidence, "gap")


def bootstrap_group_rates(y_true, y_pred, sensitive, *, n_resamples: int = 1000, seed: int = 0,
                          confidence: float = 0.95) -> pd.DataFrame:
    """Per-group rates (:data:`RATE_NAMES`) with percentile bootstrap intervals (resampling within
    each group, as in :func:`bootstrap_gaps`). Columns: ``group``, ``metric``, ``estimate``,
    ``lower``, ``upper``, ``std``, ``n_undefined``; ready for :func:`plot_group_metrics`."""
    y_true, y_pred, names, index = _checked(y_true, y_pred, sensitive)
    n_resamples, seed, confidence = _bootstrap_arguments(n_resamples, seed, confidence)
    cells = _cell_counts(y_true, y_pred, index, len(names))
    full, draws = _rates(cells), _rates(_resampled_cells(cells, n_resamples, seed))
    tables = []
    for g, group in enumerate(names):
        table = _interval_table({k: float(v[g]) for k, v in full.items()},
                                {k: v[:, g] for k, v in draws.items()}, confidence, "metric")
        tables.append(table.assign(group=group))
    return pd.concat(tables, ignore_index=True)[["group", "metric", "estimate", "lower", "upper", "std",
                                                 "n_undefined"]]


# -------------------------------------------------------------------------------------- thresholds


def threshold_for_rate(y_prob, rate: float) -> float:
    """The threshold that flags (``y_prob >= threshold``) the top ``rate`` share of ``y_prob``.

    k = round(rate * N) (at least 1, at most N - 1); the threshold lies halfway between the k-th
    largest score and the next smaller distinct one, so people tied with the k-th score are all
    flagged (the flagged share can exceed ``rate`` when scores tie).
    """
    prob = as_vector(y_prob, "y_prob").astype(float)
    if not np.isfinite(prob).all() or prob.min() < 0 or prob.max() > 1:
        raise ValueError("y_prob must hold finite probabilities in [0, 1]")
    rate = _fraction(rate, "rate")
    ordered = np.sort(prob)[::-1]
    k = int(np.clip(round(rate * len(ordered)), 1, len(ordered) - 1)) if len(ordered) > 1 else 1
    cut = ordered[k - 1]
    below = ordered[ordered < cut]
    return float((cut + below[0]) / 2) if len(below) else float(cut)


def choose_threshold_on_validation(y_val, p_val, rule: str = "base_rate") -> float:
    """Decision threshold chosen on validation data (predict held when ``p >= threshold``).

    ``"base_rate"`` (default) flags as many validation people as were actually held (the validation
    base rate, 17 % here): the model then decides about as often as the data did, without using the
    test set or the groups. ``"youden"``, ``"equal_error"``, ``"accuracy"`` and ``"f1"`` delegate to
    :func:`course_lib.imaging.calibration.choose_threshold`.
    """
    if rule not in THRESHOLD_RULES_FAIRNESS:
        raise ValueError(f"rule must be one of {THRESHOLD_RULES_FAIRNESS}, got {rule!r}")
    y_val = _binary(y_val, "y_val")
    p_val = as_vector(p_val, "p_val").astype(float)
    if len(p_val) != len(y_val):
        raise ValueError(f"p_val has {len(p_val)} entries but y_val has {len(y_val)}")
    if not np.isfinite(p_val).all() or p_val.min() < 0 or p_val.max() > 1:
        raise ValueError("p_val must hold finite probabilities in [0, 1]")
    if y_val.min() == y_val.max():
        raise ValueError("y_val must hold both labels to choose a threshold")
    if rule == "base_rate":
        return threshold_for_rate(p_val, float(y_val.mean()))
    return choose_threshold(y_val, p_val, rule)


# -------------------------------------------------------------------------------------- mitigation


class Mitigation(NamedTuple):
    """Result of :func:`mitigate_threshold_optimizer`: the fitted ``optimizer`` and
    ``predict(X, sensitive) -> (N,) int labels`` with a fixed random state."""

    optimizer: ThresholdOptimizer
    predict: Callable[[pd.DataFrame, np.ndarray], np.ndarray]


def mitigate_threshold_optimizer(estimator, X_val, y_val, s_val, *, constraint: str = "equalized_odds",
                                 objective: str = "balanced_accuracy_score", seed: int = 0) -> Mitigation:
    """Fairlearn's ThresholdOptimizer (Hardt, Price & Srebro 2016) on a fitted ``estimator``.

    Fitted on the *validation* split (``prefit=True``, ``predict_method="predict_proba"``): it picks
    a threshold per group (randomising between two thresholds where needed) that maximises
    ``objective`` under ``constraint`` (:data:`CONSTRAINTS`). Its predictions are labels, some drawn
    at random; ``predict`` fixes the random state to ``seed`` so they are reproducible. It needs the
    group of every person at decision time, even when the model was trained without it.

    The default objective is balanced accuracy: with 17 % held, the accuracy-optimal policy under
    any parity constraint is to flag nobody (measured on the arrests data: every model, test
    accuracy 0.83 = 1 - base rate, both groups' rates 0), which is "fair" and useless.
    """
    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint must be one of {CONSTRAINTS}, got {constraint!r}")
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(f"estimator must be a fitted classifier with predict_proba, got {type(estimator).__name__}")
    if not hasattr(X_val, "__len__") or isinstance(X_val, (str, bytes)):
        raise TypeError(f"X_val must be a feature matrix or DataFrame, got {type(X_val).__name__}")
    y_val = _binary(y_val, "y_val")
    if len(X_val) != len(y_val):
        raise ValueError(f"X_val has {len(X_val)} rows but y_val has {len(y_val)}")
    names, index = _groups(s_val, len(y_val))
    seed = as_count(seed, "seed", minimum=0)
    optimizer = ThresholdOptimizer(estimator=estimator, constraints=constraint, objective=objective,
                                   prefit=True, predict_method="predict_proba")
    optimizer.fit(X_val, y_val, sensitive_features=names[index])

    def predict(X, sensitive) -> np.ndarray:
        groups = as_vector(sensitive, "sensitive", holding="group names").astype(str)
        if len(groups) != len(X):
            raise ValueError(f"sensitive has {len(groups)} entries but X has {len(X)} rows")
        unknown = sorted(set(np.unique(groups)) - set(names))
        if unknown:
            raise ValueError(f"sensitive holds groups not seen on validation: {unknown}")
        return np.asarray(optimizer.predict(X, sensitive_features=groups, random_state=seed)).astype(int)

    return Mitigation(optimizer, predict)


# ------------------------------------------------------------------------------------------ plotting


def plot_group_metrics(frames: dict, metric: str = "selection_rate", ax: plt.Axes | None = None,
                       intervals: dict[str, pd.DataFrame] | None = None, title: str | None = None) -> plt.Axes:
    """Grouped bars: one cluster per model, one bar per group, height = ``metric``.

    ``frames`` maps a model name to a :func:`group_metrics` MetricFrame or a DataFrame indexed by
    group with a ``metric`` column; ``intervals`` (optional) maps model names to
    :func:`bootstrap_group_rates` tables, drawn as error bars.
    """
    if not isinstance(frames, dict) or not frames:
        raise TypeError("frames must be a non-empty dict {model name: MetricFrame or DataFrame}")
    tables = {}
    for model, frame in frames.items():
        table = frame.by_group if isinstance(frame, MetricFrame) else frame
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"frames[{model!r}] must be a MetricFrame or DataFrame, got {type(frame).__name__}")
        if metric not in table.columns:
            raise ValueError(f"metric {metric!r} is not a column of frames[{model!r}]: {list(table.columns)}")
        tables[model] = table
    if intervals is not None and not isinstance(intervals, dict):
        raise TypeError("intervals must be a dict {model name: bootstrap_group_rates table} or None")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.4 * len(tables), 3.2))
    groups = sorted({str(g) for table in tables.values() for g in table.index})
    width = 0.8 / len(groups)
    for k, group in enumerate(groups):
        heights, errors = [], []
        for model, table in tables.items():
            value = float(table[metric].rename(index=str).get(group, np.nan))
            heights.append(value)
            low = high = np.nan
            if intervals is not None and model in intervals:
                rows = intervals[model]
                row = rows[(rows["group"].astype(str) == group) & (rows["metric"] == metric)]
                if len(row):
                    low, high = value - float(row["lower"].iloc[0]), float(row["upper"].iloc[0]) - value
            errors.append((low, high))
        positions = np.arange(len(tables)) + (k - (len(groups) - 1) / 2) * width
        err = np.array(errors).T
        ax.bar(positions, heights, width=width * 0.95, label=group,
               yerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=3)
    ax.set_xticks(np.arange(len(tables)), list(tables), rotation=15, ha="right")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title or f"{metric.replace('_', ' ')} by group")
    ax.legend(title="group", frameon=False)
    return ax
