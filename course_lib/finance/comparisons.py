"""Every network against every baseline, with the multiple-comparison correction the family needs.

With k comparisons at 95 % confidence, about k × 5 % of them come out "significant" by chance alone
when no model is truly better. :func:`compare_with_baselines` runs all neural × baseline pairs through
:func:`~course_lib.finance.dm_verdict` (the Diebold–Mariano HAC interval, widened by the seed spread)
and says, for each verdict, whether it also holds at the Bonferroni confidence 1 − (1 − confidence)/k,
which keeps the family-wise error (the chance of any false winner) at 1 − confidence. It also gives
each pair's two-sided p-value of that same interval and Holm's (1979) step-down adjustment of them
(:func:`holm_adjust`; uniformly more powerful than Bonferroni, same family-wise guarantee).

Inputs are daily *losses* (QLIKE or MSE per test day; lower is better), shape (T,) or (seeds, T) for
a network trained with several seeds, and (T,) (or (seeds, T)) for a baseline, all on the same T days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from course_lib.finance.losses import dm_verdict, loss_difference_interval
from course_lib.verdicts import NO_CLEAR_WINNER


def holm_adjust(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, shape (m,) -> (m,), in the input order.

    Sorted ascending p_(1) ≤ … ≤ p_(m): adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)).
    Rejecting where the adjusted p-value is below α keeps the family-wise error at α.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pvalues must be a non-empty 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("pvalues must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted


@dataclass(frozen=True)
class BaselineComparison:
    """All neural × baseline comparisons on one metric.

    Attributes:
        metric: the loss as printed (e.g. ``"test QLIKE"``).
        confidence: of the plain verdicts (e.g. 0.95).
        k: the number of comparisons in the family (len(neural) × len(baselines)).
        verdicts: one :class:`~course_lib.verdicts.Verdict` per pair at ``confidence`` (neural is model a,
            the baseline model b and ``baseline``), in the order neural-major, baselines inner.
        bonferroni_verdicts: the same pairs at ``bonferroni_confidence``.
        pvalues: two-sided p-value of each pair's interval (its statistic difference / standard error,
            Student-t with the interval's degrees of freedom): the verdict at ``confidence`` is clear
            exactly when p < 1 − confidence. With one seed it is the Diebold–Mariano p-value without
            the Harvey–Leybourne–Newbold factor.
        holm_pvalues: :func:`holm_adjust` of ``pvalues``.
    """

    metric: str
    confidence: float
    k: int
    verdicts: list
    bonferroni_verdicts: list
    pvalues: np.ndarray
    holm_pvalues: np.ndarray

    @property
    def bonferroni_confidence(self) -> float:
        """1 − (1 − confidence) / k: the per-pair confidence that keeps the family's error at 1 − confidence."""
        return 1 - (1 - self.confidence) / self.k

    @property
    def holds_after_bonferroni(self) -> list:
        """Per pair: True/False for a clear verdict (does the same winner survive?), None for no clear winner."""
        return [None if not plain.clear else (adjusted.winner == plain.winner)
                for plain, adjusted in zip(self.verdicts, self.bonferroni_verdicts)]

    @property
    def baseline_wins(self) -> list:
        """The verdicts a baseline wins at ``confidence``."""
        return [v for v in self.verdicts if v.clear and v.winner == v.baseline]

    @property
    def note(self) -> str:
        alpha = 1 - self.confidence
        return (f"{self.k} comparisons at {self.confidence:.0%}: if no model were truly better, by chance alone "
                f"about {self.k} × {alpha:.0%} = {self.k * alpha:.2g} of them would still come out 'significant'. "
                f"The Bonferroni column re-asks each at {self.bonferroni_confidence:.2%} confidence, which keeps "
                f"the family-wise error (the chance of any false winner) at {alpha:.0%}; Holm's adjusted "
                f"p-values (below {alpha:g}: a winner) keep the same guarantee and miss fewer real differences.")

    def table(self) -> pd.DataFrame:
        """One row per pair: neural, baseline, difference (neural − baseline; negative: the network has the
        lower loss), interval, verdict, holds after Bonferroni, p-value, Holm-adjusted p-value."""
        level = f"{self.confidence:.0%}"
        holds_column = f"holds after Bonferroni (k={self.k})"
        rows = []
        for verdict, adjusted, holds, p, p_holm in zip(self.verdicts, self.bonferroni_verdicts,
                                                       self.holds_after_bonferroni, self.pvalues,
                                                       self.holm_pvalues):
            rows.append({
                "neural": verdict.model_a, "baseline": verdict.model_b,
                "mean neural": verdict.mean_a, "mean baseline": verdict.mean_b,
                "difference": verdict.difference,
                f"{level} interval": f"[{verdict.low:.4g}, {verdict.high:.4g}]",
                "verdict": verdict.winner or NO_CLEAR_WINNER,
                holds_column: "—" if holds is None else ("yes" if holds else "no"),
                f"{self.bonferroni_confidence:.2%} interval": f"[{adjusted.low:.4g}, {adjusted.high:.4g}]",
                "p-value": float(p), "Holm p-value": float(p_holm),
            })
        return pd.DataFrame(rows)

    def report(self) -> str:
        """The verdict sentences, then the note."""
        lines = [f"{self.metric}: {self.k} comparisons (every network against every baseline)"]
        for verdict, holds in zip(self.verdicts, self.holds_after_bonferroni):
            suffix = "" if holds is None else (" [holds after Bonferroni]" if holds else
                                               " [does NOT hold after Bonferroni]")
            lines.append(f"- {verdict.sentence}{suffix}")
        lines.append(self.note)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _losses(mapping, name: str) -> dict:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping from model name to daily losses, got {type(mapping).__name__}")
    if not mapping:
        raise ValueError(f"{name} is empty: give at least one model")
    out = {}
    for model, losses in mapping.items():
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"{name} keys must be non-empty model names, got {model!r}")
        array = np.asarray(losses, dtype=float)
        if array.ndim not in (1, 2) or array.shape[-1] < 3 or array.size == 0:
            raise ValueError(f"{name}[{model!r}] must have shape (T,) or (seeds, T) with T >= 3, got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name}[{model!r}] holds non-finite losses")
        out[model] = array
    return out


def _pvalue(losses_a, losses_b, lags) -> float:
    """Two-sided p-value of the :func:`loss_difference_interval` statistic (same standard error and dof)."""
    interval = loss_difference_interval(losses_a, losses_b, confidence=0.95, lags=lags)
    se = math.sqrt(interval.test_se ** 2 + interval.seed_se ** 2)
    return float(2 * stats.t.sf(abs(interval.difference) / se, interval.dof))


def compare_with_baselines(neural: Mapping[str, np.ndarray], baselines: Mapping[str, np.ndarray], *, metric: str,
                           lags: int | None = None, confidence: float = 0.95) -> BaselineComparison:
    """Every network against every baseline on daily losses, with Bonferroni and Holm corrections.

    Args:
        neural: model name -> daily losses, shape (T,) or (seeds, T).
        baselines: model name -> daily losses on the same T days, shape (T,) (or (seeds, T)).
        metric: the loss as printed, e.g. ``"test QLIKE"`` (lower is better).
        lags: Newey–West lags of the Diebold–Mariano variance (default: the automatic bandwidth of T).
        confidence: of the plain verdicts; the family of k = len(neural) × len(baselines) comparisons is
            also judged at 1 − (1 − confidence)/k.
    """
    neural, baselines = _losses(neural, "neural"), _losses(baselines, "baselines")
    both = sorted(set(neural) & set(baselines))
    if both:
        raise ValueError(f"{both} appear in both neural and baselines: each model belongs to one side")
    days = {model: array.shape[-1] for model, array in {**neural, **baselines}.items()}
    if len(set(days.values())) != 1:
        raise ValueError(f"all losses must cover the same test days, got lengths {days}")
    if not isinstance(metric, str) or not metric.strip():
        raise ValueError("metric must be a non-empty name such as 'test QLIKE'")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    k = len(neural) * len(baselines)
    family_confidence = 1 - (1 - confidence) / k
    verdicts, adjusted, pvalues = [], [], []
    for network, network_losses in neural.items():
        for baseline, baseline_losses in baselines.items():
            for level, out in ((confidence, verdicts), (family_confidence, adjusted)):
                out.append(dm_verdict(network, network_losses, baseline, baseline_losses, metric=metric,
                                      confidence=level, lags=lags, baseline=baseline))
            pvalues.append(_pvalue(network_losses, baseline_losses, lags))
    pvalues = np.array(pvalues)
    return BaselineComparison(metric=metric, confidence=float(confidence), k=k, verdicts=verdicts,
                              bonferroni_verdicts=adjusted, pvalues=pvalues, holm_pvalues=holm_adjust(pvalues))
