"""Wrong answers for notebook 11's exercises (format: tests/exercise_cases/__init__.py).

Importing this file also checks, on seeded price series with injected splits, that the worked
solution of Exercise 2 finds the same days as ``course_lib.finance.data_checks.check_prices`` (the
notebook's data check; the exercise's check uses its own few lines of NumPy as the reference), and
that the exact expected AP of a random ranking (Exercise 3b's reference) matches a brute-force
enumeration of every ranking.
"""

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.checks.own_data import (_random_walk, _with_moves, check_average_precision, check_random_pr_auc,
                                        check_suspicious_jumps, check_to_binary_labels, expected_random_ap,
                                        _ap_values_of_every_ranking)
from exercise_cases import ExerciseCase

NOTEBOOK = "11_your_own_data"
_spec = importlib.util.spec_from_file_location(
    "solutions_11_for_cases", Path(__file__).resolve().parents[2] / "solutions" / f"{NOTEBOOK}.py")
SOLUTIONS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SOLUTIONS)


# ------------------------------------------------------------------ Exercise 1: labels from a file
def no_validation(values, positive):            # the one-liner: typos and missing values become 0
    return (np.asarray(list(values), dtype=object) == positive).astype(np.int64)


def alphabetical(values, positive):             # np.unique codes: the label sorting last is 1
    return np.unique(np.asarray(list(values)).astype(str), return_inverse=True)[1].astype(np.int64)


def first_seen_is_negative(values, positive):   # pd.factorize: the first row's label is 0
    return pd.factorize(pd.Series(list(values)))[0].astype(np.int64)


def first_seen_is_positive(values, positive):
    return 1 - pd.factorize(pd.Series(list(values)))[0].astype(np.int64)


def as_int(values, positive):                   # numbers cast, `positive` ignored (strings raise)
    return np.asarray(list(values)).astype(float).astype(np.int64)


def minority_is_positive(values, positive):
    column = pd.Series(list(values))
    return (column == column.value_counts().index[-1]).to_numpy().astype(np.int64)


def _validated(values, positive, normalise=lambda v: v, compare=None):
    column = pd.Series([normalise(v) for v in values], dtype=object)
    if column.isna().any():
        raise ValueError(f"missing labels (NaN) at rows {np.flatnonzero(column.isna())[:5].tolist()}")
    labels = list(dict.fromkeys(column))
    target = normalise(positive)
    if target not in labels:
        raise ValueError(f"the positive label {positive!r} does not occur; labels {labels}")
    if len(labels) > 2:
        raise ValueError(f"more than two labels: {labels}")
    hit = column == target if compare is None else column.map(lambda v: compare(v, target))
    return hit.to_numpy().astype(np.int64)


def case_insensitive(values, positive):         # 'Yes' silently counted as 'yes'
    return _validated(values, positive, normalise=lambda v: v.lower() if isinstance(v, str) else v)


def stripped(values, positive):                 # 'yes ' silently counted as 'yes'
    return _validated(values, positive, normalise=lambda v: v.strip() if isinstance(v, str) else v)


def substring(values, positive):                # str.contains: 'inactive' contains 'active'
    return _validated(values, positive, compare=lambda v, p: str(p) in str(v))


def returns_bool(values, positive):
    return SOLUTIONS.to_binary_labels(values, positive).astype(bool)


def returns_float(values, positive):
    return SOLUTIONS.to_binary_labels(values, positive).astype(np.float64)


def vague_message(values, positive):            # raises, but does not say which label
    try:
        return SOLUTIONS.to_binary_labels(values, positive)
    except ValueError:
        raise ValueError("the label column is invalid") from None


def key_error(values, positive):                # a dict lookup: KeyError instead of a ValueError
    mapping = {label: int(label == positive) for label in dict.fromkeys(values) if label == label}
    if positive not in mapping or len(mapping) > 2:
        raise KeyError(f"labels {list(mapping)}")
    return np.array([mapping[v] for v in values], dtype=np.int64)


def absent_positive_gives_zeros(values, positive):
    column = pd.Series(list(values), dtype=object)
    if column.isna().any() or column.nunique() > 2:
        raise ValueError(f"bad labels: {list(dict.fromkeys(column))}")
    return (column == positive).to_numpy().astype(np.int64)


def missing_as_negative(values, positive):      # None/NaN dropped before the check, then mapped to 0
    column = pd.Series(list(values), dtype=object)
    labels = list(dict.fromkeys(column.dropna()))
    if positive not in labels or len(labels) > 2:
        raise ValueError(f"labels {labels}")
    return (column == positive).to_numpy().astype(np.int64)


def changes_the_input(values, positive):
    answer = SOLUTIONS.to_binary_labels(values, positive)
    if isinstance(values, (pd.Series, np.ndarray)) and len(values):
        values[:] = values[::-1] if isinstance(values, np.ndarray) else values.to_numpy()[::-1]
    elif isinstance(values, list):
        values.reverse()
    return answer


LABELS = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_to_binary_labels, solution_name="to_binary_labels",
    wrong={
        "no validation (values == positive)": no_validation,
        "alphabetical codes (np.unique)": alphabetical,
        "first-seen label is 0 (pd.factorize)": first_seen_is_negative,
        "first-seen label is 1": first_seen_is_positive,
        "astype(int), positive ignored": as_int,
        "minority class is positive": minority_is_positive,
        "case-insensitive match": case_insensitive,
        "whitespace stripped": stripped,
        "substring match (str.contains)": substring,
        "returns bool": returns_bool,
        "returns float": returns_float,
        "message does not name the label": vague_message,
        "KeyError instead of ValueError": key_error,
        "absent positive gives all zeros": absent_positive_gives_zeros,
        "missing values become 0": missing_as_negative,
        "changes the input": changes_the_input,
        "forgot to return": lambda values, positive: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: split-like jumps
def _log_moves(close):
    return pd.Series(np.diff(np.log(close.to_numpy(dtype=float))), index=close.index[1:])


def simple_returns(close, threshold=0.25):      # pct_change: +27 % flagged, -24 % missed
    moves = close.pct_change().dropna()
    return moves.index[moves.abs() > threshold]


def drops_only(close, threshold=0.25):          # no abs: reverse splits missed
    moves = _log_moves(close)
    return moves.index[moves < -threshold]


def rises_only(close, threshold=0.25):
    moves = _log_moves(close)
    return moves.index[moves > threshold]


def day_before(close, threshold=0.25):          # the date of the last old price
    moves = np.diff(np.log(close.to_numpy(dtype=float)))
    return close.index[:-1][np.abs(moves) > threshold]


def threshold_ignored(close, threshold=0.25):
    moves = _log_moves(close)
    return moves.index[moves.abs() > 0.25]


def positions(close, threshold=0.25):
    moves = np.diff(np.log(close.to_numpy(dtype=float)))
    return list(np.flatnonzero(np.abs(moves) > threshold) + 1)


def returns_the_moves(close, threshold=0.25):   # the selected log returns, not their dates
    moves = _log_moves(close)
    return moves[moves.abs() > threshold]


def log10(close, threshold=0.25):
    moves = pd.Series(np.diff(np.log10(close.to_numpy(dtype=float))), index=close.index[1:])
    return moves.index[moves.abs() > threshold]


def price_differences(close, threshold=0.25):
    moves = close.diff().dropna()
    return moves.index[moves.abs() > threshold]


def z_scores(close, threshold=0.25):            # "unusual" relative to the series' own spread
    moves = _log_moves(close)
    return moves.index[((moves - moves.mean()) / moves.std()).abs() > 4]


def greater_or_equal_on_rounded(close, threshold=0.25):   # returns rounded to 1 decimal first
    moves = _log_moves(close).round(1)
    return moves.index[moves.abs() > threshold]


def library(close, threshold=0.25):
    from course_lib.finance.data_checks import check_prices
    frame = pd.DataFrame({c: close for c in ("Open", "High", "Low", "Close")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DatetimeIndex([d for d, _ in check_prices(frame, max_abs_log_return=threshold).jumps])


def changes_close(close, threshold=0.25):
    answer = SOLUTIONS.suspicious_jumps(close, threshold)
    close.iloc[:] = np.log(close.to_numpy())
    return answer


JUMPS = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_suspicious_jumps, solution_name="suspicious_jumps",
    wrong={
        "simple returns (pct_change)": simple_returns,
        "drops only (no abs)": drops_only,
        "rises only": rises_only,
        "dated the day before": day_before,
        "threshold ignored": threshold_ignored,
        "positions instead of dates": positions,
        "the log returns instead of dates": returns_the_moves,
        "log10": log10,
        "price differences": price_differences,
        "z-score rule": z_scores,
        "returns rounded first": greater_or_equal_on_rounded,
        "course_lib's check_prices": library,
        "changes close in place": changes_close,
        "forgot to return": lambda close, threshold=0.25: None,
    },
)


def _library_agrees_with_the_solution() -> None:
    """check_prices(...).jumps lists the days the worked solution finds (the notebook's data check)."""
    from course_lib.finance.data_checks import check_prices

    rng = np.random.default_rng(1111)
    for start, n in (("2001-01-01", 700), ("2012-05-07", 1300)):
        close = _random_walk(rng, n, start)
        rows = rng.choice(np.arange(2, n), size=4, replace=False)
        close = _with_moves(close, {int(rows[0]): math.log(1 / 2), int(rows[1]): math.log(1 / 7),
                                    int(rows[2]): math.log(10), int(rows[3]): math.log(0.76)})
        frame = pd.DataFrame({"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close})
        for threshold in (0.25, 0.5):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = pd.DatetimeIndex([day for day, _ in check_prices(frame, max_abs_log_return=threshold).jumps])
            mine = SOLUTIONS.suspicious_jumps(close, threshold)
            if not (len(mine) and mine.equals(theirs)):
                raise AssertionError(f"course_lib.finance.data_checks.check_prices disagrees with Exercise 2's "
                                     f"definition at threshold {threshold}: {list(theirs)} != {list(mine)}")


_library_agrees_with_the_solution()


# ------------------------------------------------------------------ Exercise 3: average precision
def _sorted(labels, scores, descending=True):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    order = np.argsort(-scores if descending else scores, kind="stable")
    return labels[order], scores[order]


def ranks_ties_by_position(labels, scores):     # precision at each positive's rank, ties by argsort order
    labels, _ = _sorted(labels, scores)
    precision = np.cumsum(labels) / np.arange(1, labels.size + 1)
    return float(precision[labels == 1].mean())


def ranks_positives_first_in_ties(labels, scores):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    order = np.lexsort((-labels, -scores))
    labels = labels[order]
    precision = np.cumsum(labels) / np.arange(1, labels.size + 1)
    return float(precision[labels == 1].mean())


def ranks_negatives_first_in_ties(labels, scores):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    order = np.lexsort((labels, -scores))
    labels = labels[order]
    precision = np.cumsum(labels) / np.arange(1, labels.size + 1)
    return float(precision[labels == 1].mean())


def ascending(labels, scores):                  # lower score = more likely positive
    return SOLUTIONS.average_precision(labels, -np.asarray(scores, dtype=float))


def _curve(labels, scores):
    """Precision and recall at each distinct threshold, highest first (with the (recall 0, precision 1) start)."""
    labels, scores = _sorted(labels, scores)
    last = np.r_[scores[1:] != scores[:-1], True]
    tp = np.cumsum(labels)[last]
    seen = np.arange(1, labels.size + 1)[last]
    return np.r_[0.0, tp / labels.sum()], np.r_[1.0, tp / seen]


def trapezoid(labels, scores):                  # sklearn.metrics.auc(recall, precision): interpolates linearly
    recall, precision = _curve(labels, scores)
    return float(np.trapezoid(precision, recall))


def interpolated(labels, scores):               # VOC-style: precision replaced by its running maximum to the right
    recall, precision = _curve(labels, scores)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def mean_over_every_rank(labels, scores):
    labels, _ = _sorted(labels, scores)
    return float(np.mean(np.cumsum(labels) / np.arange(1, labels.size + 1)))


def divided_by_all_items(labels, scores):
    return SOLUTIONS.average_precision(labels, scores) * np.mean(np.asarray(labels, dtype=float))


def rank_off_by_one(labels, scores):            # ranks counted from 0 (+1 to avoid dividing by zero)
    labels, _ = _sorted(labels, scores)
    precision = np.cumsum(labels) / (np.arange(labels.size) + 2)
    return float(precision[labels == 1].mean())


def roc_auc(labels, scores):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def sklearn_ap(labels, scores):
    from sklearn.metrics import average_precision_score
    return average_precision_score(labels, scores)


def sorts_in_place(labels, scores):
    answer = SOLUTIONS.average_precision(labels, scores)
    if isinstance(scores, np.ndarray):
        scores.sort()
    else:
        scores.sort()
    return answer


AVERAGE_PRECISION = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_average_precision, solution_name="average_precision",
    wrong={
        "ranks, ties by argsort order": ranks_ties_by_position,
        "ranks, positives first within ties": ranks_positives_first_in_ties,
        "ranks, negatives first within ties": ranks_negatives_first_in_ties,
        "ascending order": ascending,
        "trapezoid under the PR curve": trapezoid,
        "interpolated precision": interpolated,
        "mean precision over every rank": mean_over_every_rank,
        "divided by all items": divided_by_all_items,
        "rank off by one": rank_off_by_one,
        "ROC AUC": roc_auc,
        "sklearn's average_precision_score": sklearn_ap,
        "sorts the scores in place": sorts_in_place,
        "forgot to return": lambda labels, scores: None,
    },
)


# ------------------------------------------------------------------ Exercise 3b: random rankings
def prevalence(labels, n_rankings=200, seed=0):  # the answer to the question, not a computation
    return float(np.mean(labels))


def random_roc_auc(labels, n_rankings=200, seed=0):
    rng = np.random.default_rng(seed)
    return float(np.mean([roc_auc(labels, rng.random(len(labels))) for _ in range(n_rankings)]))


def seed_ignored(labels, n_rankings=200, seed=0):
    return SOLUTIONS.random_pr_auc(labels, n_rankings, seed=0)


def n_rankings_ignored(labels, n_rankings=200, seed=0):
    return SOLUTIONS.random_pr_auc(labels, 200, seed)


def unseeded(labels, n_rankings=200, seed=0):    # global random numbers: another number every call
    return float(np.mean([SOLUTIONS.average_precision(labels, np.random.random(len(labels)))
                          for _ in range(n_rankings)]))


def exact_expectation(labels, n_rankings=200, seed=0):  # the formula, no rankings drawn
    labels = np.asarray(labels)
    return expected_random_ap(int(labels.size), int(labels.sum()))


def ties_in_scores(labels, n_rankings=200, seed=0):  # "random" scores from 3 values: mostly ties, AP -> prevalence
    rng = np.random.default_rng(seed)
    return float(np.mean([SOLUTIONS.average_precision(labels, rng.integers(0, 3, len(labels)))
                          for _ in range(n_rankings)]))


def shuffles_in_place(labels, n_rankings=200, seed=0):
    rng = np.random.default_rng(seed)
    answer = SOLUTIONS.random_pr_auc(labels, n_rankings, seed)
    rng.shuffle(labels)
    return answer


RANDOM_PR_AUC = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3b", check=check_random_pr_auc, solution_name="random_pr_auc",
    wrong={
        "returns the prevalence": prevalence,
        "ROC AUC of random rankings": random_roc_auc,
        "seed ignored": seed_ignored,
        "n_rankings ignored": n_rankings_ignored,
        "unseeded global random numbers": unseeded,
        "the exact expectation, no rankings": exact_expectation,
        "scores with ties": ties_in_scores,
        "shuffles labels in place": shuffles_in_place,
        "forgot to return": lambda labels, n_rankings=200, seed=0: None,
    },
)


def _expectation_is_exact() -> None:
    """expected_random_ap equals the mean AP over every ranking (brute force) for small N."""
    for n in range(1, 9):
        for r in range(1, n + 1):
            brute = float(np.mean(_ap_values_of_every_ranking(n, r)))
            if abs(brute - expected_random_ap(n, r)) > 1e-12:
                raise AssertionError(f"expected_random_ap({n}, {r}) = {expected_random_ap(n, r)} != {brute}")


_expectation_is_exact()

CASES = [LABELS, JUMPS, AVERAGE_PRECISION, RANDOM_PR_AUC]
