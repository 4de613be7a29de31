"""Decision thresholds chosen on validation data, and how well predicted probabilities match
observed frequencies (calibration)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve

THRESHOLD_RULES = ("youden", "equal_error", "accuracy", "f1")


def _labels_and_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = np.asarray(y_true).reshape(-1), np.asarray(y_score, dtype=float).reshape(-1)
    if len(y_true) != len(y_score) or len(y_true) == 0:
        raise ValueError(f"y_true and y_score must be non-empty and equally long, got {len(y_true)} and {len(y_score)}")
    if not set(np.unique(y_true).tolist()) <= {0, 1}:
        raise ValueError("y_true must hold only 0 and 1")
    if not np.isfinite(y_score).all() or y_score.min() < 0 or y_score.max() > 1:
        raise ValueError("y_score must be finite probabilities in [0, 1]")
    return y_true.astype(int), y_score


def choose_threshold(y_true, y_score, rule: str = "youden") -> float:
    """The decision threshold that maximises a criterion on (validation) data.

    Args:
        y_true: labels in {0, 1}, shape ``(N,)``; y_score: probabilities of class 1, ``(N,)``.
        rule: ``"youden"`` maximises sensitivity + specificity - 1 (the balanced accuracy);
            ``"equal_error"`` makes sensitivity and specificity as equal as possible. Neither depends
            on the class mix, so they carry over to data with other prevalences; ``"accuracy"`` and
            ``"f1"`` do depend on it.

    Returns:
        A threshold halfway between two neighbouring scores (predict 1 when ``score >= threshold``);
        among equally good thresholds, the middle one.
    """
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"rule must be one of {THRESHOLD_RULES}, got {rule!r}")
    y_true, y_score = _labels_and_scores(y_true, y_score)
    positives, negatives = int(y_true.sum()), int((1 - y_true).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("choosing a threshold needs both classes in y_true")
    levels = np.unique(y_score)
    candidates = np.concatenate([[0.0], (levels[:-1] + levels[1:]) / 2, [np.nextafter(levels[-1], 2.0)]])
    candidates = np.clip(candidates, 0.0, 1.0)
    predicted = y_score[None, :] >= candidates[:, None]                    # (T, N)
    tp = (predicted & (y_true == 1)).sum(1)
    fp = (predicted & (y_true == 0)).sum(1)
    tn, fn = negatives - fp, positives - tp
    if rule == "youden":
        score = tp / positives + tn / negatives - 1
    elif rule == "equal_error":
        score = -np.abs(tp / positives - tn / negatives)
    elif rule == "accuracy":
        score = (tp + tn) / len(y_true)
    else:
        score = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    best = np.flatnonzero(np.isclose(score, score.max()))
    return float(candidates[best[len(best) // 2]])


@dataclass
class ThresholdChoice:
    """Result of :func:`select_threshold`: the winning ``rule``, its ``threshold`` on all the
    validation data, and every candidate rule's mean held-out balanced accuracy (``scores``)."""

    rule: str
    threshold: float
    scores: dict[str, float]


def _balanced_accuracy(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> float:
    predicted = y_score >= threshold
    return 0.5 * (predicted[y_true == 1].mean() + (~predicted[y_true == 0]).mean())


def select_threshold(y_true, y_score, rules: tuple[str, ...] = ("default", "youden", "equal_error"),
                     default: float = 0.5, repeats: int = 50, seed: int = 0) -> ThresholdChoice:
    """Choose a threshold *rule* on validation data by split-half cross-validation, then apply it.

    A threshold tuned on a few hundred validation images can follow their noise. So each candidate
    rule is judged by how well the threshold it picks on one random half of the data does on the
    other half (balanced accuracy, which - like the data's future class mix - ignores prevalence),
    averaged over ``repeats`` stratified splits. The best rule (the earlier one on ties) is then
    applied to all of ``y_true, y_score``.

    Args:
        y_true: labels in {0, 1}, shape ``(N,)``; y_score: probabilities of class 1, ``(N,)``.
        rules: names from :data:`THRESHOLD_RULES`, and ``"default"``: the fixed ``default``
            threshold (0.5, the model's own decision; for a class-weighted model this is the decision
            for equally likely classes).
        repeats: number of random half splits.
    """
    y_true, y_score = _labels_and_scores(y_true, y_score)
    unknown = [r for r in rules if r != "default" and r not in THRESHOLD_RULES]
    if not rules or unknown:
        raise ValueError(f"rules must be a non-empty selection of {('default',) + THRESHOLD_RULES}, got {rules!r}")
    if not 0 <= default <= 1:
        raise ValueError(f"default must be a threshold in [0, 1], got {default}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    by_class = [np.flatnonzero(y_true == c) for c in (0, 1)]
    if min(len(rows) for rows in by_class) < 4:
        raise ValueError("select_threshold needs at least 4 samples of each class")

    def pick(rule: str, labels: np.ndarray, scores: np.ndarray) -> float:
        return default if rule == "default" else choose_threshold(labels, scores, rule)

    rng = np.random.default_rng(seed)
    results = {rule: [] for rule in rules}
    for _ in range(repeats):
        halves = [rng.permutation(rows) for rows in by_class]
        first = np.concatenate([rows[: len(rows) // 2] for rows in halves])
        second = np.concatenate([rows[len(rows) // 2:] for rows in halves])
        for rule in rules:
            threshold = pick(rule, y_true[first], y_score[first])
            results[rule].append(_balanced_accuracy(y_true[second], y_score[second], threshold))
    scores = {rule: float(np.mean(values)) for rule, values in results.items()}
    best = max(rules, key=lambda rule: (round(scores[rule], 12), -rules.index(rule)))
    return ThresholdChoice(best, pick(best, y_true, y_score), scores)


def reliability_table(y_true, y_prob, n_bins: int = 10) -> pd.DataFrame:
    """Predicted probability vs observed frequency of class 1 in ``n_bins`` equal-width bins.

    The per-bin means come from :func:`sklearn.calibration.calibration_curve` (``strategy="uniform"``);
    its bins are ``[0, 1/n]``, ``(1/n, 2/n]``, ..., ``((n-1)/n, 1]``: a probability that lies exactly on
    an edge belongs to the bin below it. The counts are taken with that same rule.

    Returns:
        One row per non-empty bin: ``lower``, ``upper`` (bin edges), ``count``, ``mean_predicted``
        (average probability in the bin) and ``observed`` (share of class 1 in the bin). A calibrated
        model has ``observed ≈ mean_predicted`` in every bin.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    y_true, y_prob = _labels_and_scores(y_true, y_prob)
    observed, mean_predicted = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy="uniform", pos_label=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], y_prob, side="left"), minlength=n_bins)
    filled = np.flatnonzero(counts)  # calibration_curve leaves out empty bins, in the same order
    return pd.DataFrame({"lower": edges[filled], "upper": edges[filled + 1], "count": counts[filled],
                         "mean_predicted": mean_predicted, "observed": observed})


def expected_calibration_error(y_true, y_prob, n_bins: int = 10) -> float:
    """Average |observed - predicted| over the bins of :func:`reliability_table`, weighted by the
    share of samples in each bin (0 = perfectly calibrated)."""
    table = reliability_table(y_true, y_prob, n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["observed"] - table["mean_predicted"]).abs()).sum())
