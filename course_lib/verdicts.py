"""Verdicts from the numbers: which of two models is better, by how much, and how sure we are.

Every sentence a notebook prints about which model won comes from a :class:`Verdict`, and a verdict
comes from the run's own numbers, never from the author's expectation. Three ways to get one, all
ending in :func:`decide`:

- :func:`seed_verdict` — per-seed results of two models (paired by seed when both ran the same
  seeds): a Student-t interval for the mean difference. Measures the noise of *training*.
- :func:`bootstrap_verdict` — predictions of two models on the same test items: a paired
  (optionally moving-block, for time series) bootstrap interval. Measures the noise of the *test draw*.
- :func:`decide` — any interval for the difference you computed yourself (e.g. from a
  Diebold–Mariano test).

The rule is the same for all: if the interval for ``score(a) - score(b)`` contains zero, there is
**no clear winner**; otherwise the model on the better side wins.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

NO_CLEAR_WINNER = "no clear winner"


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty model name, got {value!r}")
    return value


def _finite(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{what} must be finite, got {value}")
    return float(value)


def _scores(values, what: str) -> np.ndarray:
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
        raise TypeError(f"{what} must be a sequence of numbers (one per seed), got {type(values).__name__}")
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one number per seed), got shape {array.shape}")
    return np.array([_finite(v, f"{what}[{i}]") for i, v in enumerate(array)], dtype=np.float64)


def _fmt(value: float) -> str:
    """Four significant digits, without exponent for the magnitudes metrics have."""
    if value == 0:
        return "0"
    digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{min(digits, 6)}f}"


@dataclass(frozen=True)
class Verdict:
    """The comparison of model ``a`` with model ``b`` on one metric.

    Attributes:
        metric: the metric's name as printed (e.g. ``"test AUC"``).
        model_a, model_b: the two models; ``difference`` is ``score(a) - score(b)``.
        mean_a, mean_b: their scores (means over seeds, or on the full test set).
        difference: ``mean_a - mean_b`` in the metric's units.
        low, high: the ``confidence`` interval for the difference.
        higher_is_better: ``True`` for accuracy or AUC, ``False`` for losses and errors.
        winner: the better model's name, or ``None`` when the interval contains zero.
        method: how the interval was computed, in words (printed with the verdict).
        baseline: which of the two is the classical baseline, if either (named in the sentence).
    """

    metric: str
    model_a: str
    model_b: str
    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    confidence: float
    higher_is_better: bool
    method: str
    winner: str | None
    baseline: str | None = None

    @property
    def clear(self) -> bool:
        """True when one model is better beyond the noise (the interval excludes zero)."""
        return self.winner is not None

    @property
    def loser(self) -> str | None:
        if self.winner is None:
            return None
        return self.model_b if self.winner == self.model_a else self.model_a

    def _label(self, model: str) -> str:
        return f"{model} (the classical baseline)" if model == self.baseline else model

    @property
    def sentence(self) -> str:
        """The verdict in one sentence, with the numbers that support it."""
        level = f"{self.confidence:.0%}"
        interval = f"{level} interval of {self.model_a} − {self.model_b}: [{_fmt(self.low)}, {_fmt(self.high)}]"
        scores = f"{self.model_a} {_fmt(self.mean_a)} vs {self.model_b} {_fmt(self.mean_b)}"
        direction = "higher" if self.higher_is_better else "lower"
        if self.winner is None:
            return (f"{self.metric}: {NO_CLEAR_WINNER} between {self._label(self.model_a)} and "
                    f"{self._label(self.model_b)} ({scores}; {interval} contains 0; {self.method}).")
        margin = abs(self.difference)
        return (f"{self.metric}: {self._label(self.winner)} is better than {self._label(self.loser)} "
                f"by {_fmt(margin)} ({direction} is better; {scores}; {interval}; {self.method}).")

    def as_dict(self) -> dict:
        """JSON-ready fields plus ``sentence`` (for the results ledger)."""
        return {**asdict(self), "sentence": self.sentence}

    def __str__(self) -> str:
        return self.sentence


def decide(model_a: str, model_b: str, *, metric: str, mean_a: float, mean_b: float, low: float, high: float,
           higher_is_better: bool = True, confidence: float = 0.95, method: str,
           baseline: str | None = None) -> Verdict:
    """The verdict for an interval ``[low, high]`` of ``score(a) - score(b)`` computed elsewhere.

    ``winner`` is ``None`` when the interval contains zero; otherwise the model the interval
    favours, given ``higher_is_better``.
    """
    model_a, model_b = _name(model_a, "model_a"), _name(model_b, "model_b")
    if model_a == model_b:
        raise ValueError(f"compare two different models, got {model_a!r} twice")
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError("metric must be a non-empty name such as 'test AUC'")
    if not isinstance(method, str) or not method.strip():
        raise ValueError("method must say how the interval was computed")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise TypeError(f"higher_is_better must be True or False, got {higher_is_better!r}")
    mean_a, mean_b = _finite(mean_a, "mean_a"), _finite(mean_b, "mean_b")
    low, high = _finite(low, "low"), _finite(high, "high")
    if low > high:
        raise ValueError(f"interval is reversed: low {low} > high {high}")
    confidence = _finite(confidence, "confidence")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if baseline is not None and baseline not in (model_a, model_b):
        raise ValueError(f"baseline {baseline!r} is neither {model_a!r} nor {model_b!r}")
    if low <= 0 <= high:
        winner = None
    else:
        a_scores_more = low > 0
        winner = model_a if a_scores_more == bool(higher_is_better) else model_b
    return Verdict(metric=metric, model_a=model_a, model_b=model_b, mean_a=mean_a, mean_b=mean_b,
                   difference=mean_a - mean_b, low=low, high=high, confidence=confidence,
                   higher_is_better=bool(higher_is_better), method=method, winner=winner, baseline=baseline)


def seed_verdict(model_a: str, scores_a: Sequence[float], model_b: str, scores_b: Sequence[float], *,
                 metric: str, higher_is_better: bool = True, paired: bool = True, confidence: float = 0.95,
                 baseline: str | None = None) -> Verdict:
    """Compare two models from one score per seed.

    Args:
        scores_a, scores_b: shape (n_seeds,). With ``paired=True`` (the default) entry ``i`` of both
            comes from the same seed (same data order and initialisation where applicable), and the
            interval is the Student-t interval of the mean per-seed difference. With ``paired=False``
            the seeds are unrelated and Welch's interval is used.
        metric, higher_is_better, confidence, baseline: as in :func:`decide`.

    At least two seeds per model are needed to estimate the spread (three or more to trust it). A
    model whose score does not change with the seed (logistic regression with lbfgs) is fine; if
    *both* are seed-independent the interval collapses to the point difference: compare such models
    with :func:`bootstrap_verdict` instead.
    """
    a, b = _scores(scores_a, "scores_a"), _scores(scores_b, "scores_b")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 seeds per model to see the spread, got {len(a)} and {len(b)}")
    level = _finite(confidence, "confidence")
    if not 0 < level < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired comparison needs the same seeds for both models, got {len(a)} and {len(b)} "
                             "scores (pass paired=False for unrelated seeds)")
        differences = a - b
        n = len(differences)
        half = stats.t.ppf(0.5 + level / 2, n - 1) * differences.std(ddof=1) / math.sqrt(n)
        method = f"paired t over {n} seeds"
    else:
        var_a, var_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        spread = math.sqrt(var_a + var_b)
        if spread == 0:
            dof = len(a) + len(b) - 2
        else:
            dof = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
        half = stats.t.ppf(0.5 + level / 2, dof) * spread
        method = f"Welch t over {len(a)} and {len(b)} seeds"
    difference = a.mean() - b.mean()
    return decide(model_a, model_b, metric=metric, mean_a=a.mean(), mean_b=b.mean(), low=difference - half,
                  high=difference + half, higher_is_better=higher_is_better, confidence=level, method=method,
                  baseline=baseline)


def comparison_verdict(comparison, model_a: str, model_b: str, metric: str, *, higher_is_better: bool = True,
                       label: str | None = None, confidence: float = 0.95, baseline: str | None = None) -> Verdict:
    """:func:`seed_verdict` for two models of a :class:`course_lib.evaluation.SeedComparison`.

    Pairs the runs by seed (both models must have run the same seeds). ``label`` is the metric as
    printed (default: ``metric``).
    """
    runs = getattr(comparison, "runs", None)
    if not isinstance(runs, pd.DataFrame):
        raise TypeError("comparison must be a SeedComparison (from compare_over_seeds)")
    if metric not in comparison.metrics:
        raise ValueError(f"unknown metric {metric!r}; the comparison has {comparison.metrics}")
    per_seed = {}
    for model in (model_a, model_b):
        rows = runs[runs["model"] == model]
        if rows.empty:
            raise ValueError(f"model {model!r} is not in the comparison (have {runs['model'].unique().tolist()})")
        per_seed[model] = rows.set_index("seed")[metric]
    if set(per_seed[model_a].index) != set(per_seed[model_b].index):
        raise ValueError(f"{model_a!r} and {model_b!r} ran different seeds: cannot pair them")
    seeds = sorted(per_seed[model_a].index)
    return seed_verdict(model_a, per_seed[model_a].loc[seeds].to_numpy(), model_b,
                        per_seed[model_b].loc[seeds].to_numpy(), metric=label or metric,
                        higher_is_better=higher_is_better, confidence=confidence, baseline=baseline)


def _bootstrap_indices(n: int, n_resamples: int, block_length: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n)`` row indices: i.i.d. draws, or circular moving blocks of ``block_length``."""
    if block_length == 1:
        return rng.integers(0, n, size=(n_resamples, n))
    n_blocks = -(-n // block_length)
    starts = rng.integers(0, n, size=(n_resamples, n_blocks))
    offsets = np.arange(block_length)
    return ((starts[:, :, None] + offsets) % n).reshape(n_resamples, -1)[:, :n]


def bootstrap_verdict(y_true, predictions_a, predictions_b, score: Callable[[np.ndarray, np.ndarray], float], *,
                      model_a: str, model_b: str, metric: str, higher_is_better: bool = True,
                      n_resamples: int = 2000, block_length: int = 1, seed: int = 0, confidence: float = 0.95,
                      baseline: str | None = None, items: str = "test items") -> Verdict:
    """Compare two models' predictions on the same test items with a paired bootstrap.

    Args:
        y_true: targets, shape (N,) (or (N, ...): items are rows).
        predictions_a, predictions_b: each model's predictions for the same N items, same shape.
        score: ``score(y_true_rows, predictions_rows) -> float``, e.g. ``sklearn.metrics.roc_auc_score``.
        n_resamples: bootstrap resamples (each resamples N items with replacement, the same items for
            both models: that pairing is what makes small differences detectable).
        block_length: 1 for independent items; for a time series, resample contiguous blocks of this
            many steps (moving-block bootstrap) so that autocorrelation is kept.
        seed: of the resampling, so two runs give the same interval.
        items: what the rows are, for the method text (e.g. ``"validation X-rays"``).

    The interval is the percentile interval of ``score(a) - score(b)`` over resamples; resamples on
    which ``score`` fails (e.g. AUC with one class) are skipped, and more than 1 % of them failing is
    an error.
    """
    y = np.asarray(y_true)
    pa, pb = np.asarray(predictions_a), np.asarray(predictions_b)
    if y.ndim == 0 or len(y) < 2:
        raise ValueError("y_true must hold at least 2 items")
    if pa.shape[:1] != y.shape[:1] or pb.shape[:1] != y.shape[:1]:
        raise ValueError(f"predictions must have one row per item: y_true {y.shape}, "
                         f"predictions_a {pa.shape}, predictions_b {pb.shape}")
    if not callable(score):
        raise TypeError("score must be callable as score(y_true, predictions)")
    for name, value, low in (("n_resamples", n_resamples, 100), ("block_length", block_length, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    if block_length > len(y):
        raise ValueError(f"block_length {block_length} is longer than the {len(y)} items")
    level = _finite(confidence, "confidence")
    if not 0 < level < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    full_a, full_b = float(score(y, pa)), float(score(y, pb))
    rng = np.random.default_rng(seed)
    differences = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an undefined score on one resample is counted below, not warned 2000 times
        for rows in _bootstrap_indices(len(y), n_resamples, block_length, rng):
            try:
                difference = float(score(y[rows], pa[rows])) - float(score(y[rows], pb[rows]))
            except ValueError:
                continue
            if math.isfinite(difference):
                differences.append(difference)
    failed = n_resamples - len(differences)
    if failed > 0.01 * n_resamples:
        raise ValueError(f"score failed on {failed} of {n_resamples} resamples (e.g. a resample with one class): "
                         "use more test items or a score defined on every resample")
    low, high = np.percentile(differences, [50 * (1 - level), 50 * (1 + level)])
    blocks = "" if block_length == 1 else f", blocks of {block_length}"
    if not isinstance(items, str) or not items.strip():
        raise ValueError(f"items must say what the rows are, e.g. 'test items', got {items!r}")
    method = f"paired bootstrap over {len(y)} {items} ({n_resamples} resamples{blocks})"
    return decide(model_a, model_b, metric=metric, mean_a=full_a, mean_b=full_b, low=float(low), high=float(high),
                  higher_is_better=higher_is_better, confidence=level, method=method, baseline=baseline)


def verdict_table(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """One row per verdict: metric, the two models, the difference and its interval, the winner."""
    rows = []
    for verdict in verdicts:
        if not isinstance(verdict, Verdict):
            raise TypeError(f"expected Verdict objects, got {type(verdict).__name__}")
        rows.append({"metric": verdict.metric, "a": verdict.model_a, "b": verdict.model_b,
                     "a − b": _fmt(verdict.difference),
                     f"{verdict.confidence:.0%} interval": f"[{_fmt(verdict.low)}, {_fmt(verdict.high)}]",
                     "winner": verdict.winner or NO_CLEAR_WINNER, "method": verdict.method})
    return pd.DataFrame(rows, columns=["metric", "a", "b", "a − b", "95% interval", "winner", "method"]
                        if not rows else list(rows[0]))
