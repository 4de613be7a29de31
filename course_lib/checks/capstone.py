"""The self-checks of notebook 12's exercises (``12_misconceptions``; see :mod:`course_lib.checks` for
the design).

- Exercise 1, :func:`check_winner` — a verdict from its interval:
  ``winner(model_a, model_b, low, high, higher_is_better=True) -> str | None``: the better model's name
  when the interval ``[low, high]`` of ``score(a) - score(b)`` excludes 0, ``None`` when it contains 0
  (0 on an end counts as contained, as :func:`course_lib.verdicts.decide` does);
- Exercise 2, :func:`check_claim_verdict` — a claim's verdict from its evidence:
  ``claim_verdict(evidence) -> "refuted" | "not refuted" | "not judged"`` for a list of
  :class:`course_lib.misconceptions.Evidence` (only ``counted`` evidence decides; one counted piece
  that bears ``"against"`` the claim refutes it);
- Exercise 3, :func:`check_seeds_needed` — how many seeds a difference needs:
  ``seeds_needed(mean, std, confidence=0.95, max_n=100) -> int | None``, the smallest ``n >= 2`` whose
  t-interval ``mean ± t·std/√n`` (Student's t quantile, ``n - 1`` degrees of freedom) excludes 0 if the
  mean and spread stayed the same, ``None`` when no ``n <= max_n`` does.

Each check draws fresh inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure), always includes the fixed cases that separate the wrong answers
learners are known to write (listed in each docstring, proved in
``tests/exercise_cases/12_misconceptions.py``), and compares with an independent reference: the rule
stated in the exercise, written here in a few lines, and :data:`scipy.stats.t` for the quantile.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from course_lib.checks._common import expect, fresh_rng, require_own_code, seed_note

#: course_lib's verdict makers, which would decide the winner for the learner (Exercise 1).
WINNER_LIBRARY = ("decide", "seed_verdict", "comparison_verdict", "bootstrap_verdict", "Verdict")
#: course_lib's judges and tables, which apply the rule for the learner (Exercise 2).
CLAIM_LIBRARY = ("judge_always_better", "judge_replaces_judgement", "judge_only_big_data", "judge_needs_hardware",
                 "judge_black_box", "judge_all", "judgement_table", "evidence_table", "misconceptions_markdown")
#: SciPy's and statsmodels' ready-made intervals (``scipy.stats.t.interval``, ``norm.interval``,
#: ``bootstrap``, ``DescrStatsW.tconfint_mean``) and the course's (Exercise 3); the quantile ``t.ppf`` is allowed.
INTERVAL_LIBRARY = ("interval", "tconfint_mean", "zconfint", "bootstrap", "seed_verdict", "paired_t_interval")

#: Model names the checks draw (any pair: Exercise 1 only reads them back).
MODEL_NAMES = ("MLP", "CNN", "LSTM (QLIKE)", "GRU (MSE)", "GINE classifier", "MiniLM + LR",
               "logistic regression (pixels)", "HOG + SVM", "GARCH(1,1)", "random forest", "TF-IDF + LR",
               "HAR (least squares)", "gradient boosting", "CNN (seed 0)", "PCA (8 components)")


# ============================================================================ Exercise 1
def _winner_reference(model_a: str, model_b: str, low: float, high: float, higher_is_better: bool) -> str | None:
    """The rule of :func:`course_lib.verdicts.decide`, restated: 0 inside (or on an end) -> None."""
    if low <= 0 <= high:
        return None
    a_scores_higher = low > 0
    return model_a if a_scores_higher == higher_is_better else model_b


def _winner_cases(rng) -> list[tuple[str, str, float, float, bool | None]]:
    """(model_a, model_b, low, high, higher_is_better or None for "use the default")."""
    names = list(MODEL_NAMES)

    def pair():
        a, b = rng.choice(len(names), size=2, replace=False)
        return names[a], names[b]

    def width():
        return float(rng.uniform(0.001, 0.05))

    cases = []
    for higher in (True, False):                       # the four ways an interval can exclude 0, both directions
        a, b = pair()
        start = float(rng.uniform(0.001, 0.03))
        cases.append((a, b, start, start + width(), higher))           # a scores more
        a, b = pair()
        cases.append((a, b, -start - width(), -start, higher))         # a scores less
        a, b = pair()
        cases.append((a, b, -width(), width(), higher))                # 0 inside
    a, b = pair()
    cases.append((a, b, 0.0, width(), True))            # 0 on the lower end: contained, no clear winner
    a, b = pair()
    cases.append((a, b, -width(), 0.0, False))          # 0 on the upper end
    a, b = pair()
    cases.append((a, b, -0.03, -0.01, None))            # the default: higher is better -> b
    a, b = pair()
    cases.append((a, b, 0.002, 0.09, False))            # a wide interval far off-centre, lower is better -> b
    for _ in range(int(rng.integers(6, 12))):            # fresh random intervals
        a, b = pair()
        centre, half = float(rng.normal(0.0, 0.05)), float(rng.uniform(0.0, 0.06))
        cases.append((a, b, centre - half, centre + half, bool(rng.random() < 0.5)))
    return cases


def check_winner(winner, *, seed=None) -> None:
    """Check ``winner(model_a, model_b, low, high, higher_is_better=True)``: ``[low, high]`` is an
    interval for ``score(model_a) - score(model_b)``; return the better model's name (the string given,
    e.g. ``"CNN"``) when the interval excludes 0, ``None`` when 0 lies inside it or on one of its ends.
    With ``higher_is_better=False`` (a loss or an error) a positive difference means ``model_a`` is
    worse.

    Fixed cases each run (with freshly drawn names and widths): both signs of the interval in both
    directions, an interval containing 0, 0 exactly on the lower and on the upper end, the default
    direction, a wide interval far from 0 with lower is better; then 6..11 random intervals. Known wrong
    answers it separates: the direction ignored, the direction inverted, a strict test at 0 (``low >=
    0`` counted as a win), the midpoint's sign instead of the interval, ``"a"``/``"b"`` or booleans
    instead of names, the string ``"no clear winner"`` instead of None, and ``decide`` itself.
    """
    require_own_code(winner, *WINNER_LIBRARY)
    rng, seed = fresh_rng(seed)
    for model_a, model_b, low, high, higher in _winner_cases(rng):
        shown = "" if higher is None else f", higher_is_better={higher}"
        where = f"winner({model_a!r}, {model_b!r}, low={low:.4g}, high={high:.4g}{shown})"
        got = winner(model_a, model_b, low, high) if higher is None else winner(model_a, model_b, low, high, higher)
        expected = _winner_reference(model_a, model_b, low, high, True if higher is None else higher)
        if expected is None:
            expect(got is None, f"{where} returned {got!r}: the interval contains 0 (an end at 0 counts as "
                                f"contained), so there is no clear winner: return None", seed)
            continue
        expect(isinstance(got, str), f"{where} must return the better model's name (a str), got "
                                     f"{type(got).__name__} {got!r}", seed)
        if got != expected:
            direction = "higher" if higher in (None, True) else "lower"
            raise AssertionError(
                f"{where} returned {got!r}, expected {expected!r}: the interval of {model_a} − {model_b} lies "
                f"{'above' if low > 0 else 'below'} 0, so {model_a} scores {'more' if low > 0 else 'less'}, "
                f"and {direction} is better {seed_note(seed)}")


# ============================================================================ Exercise 2
#: The data labels of evidence and whether each enters a verdict (course_lib.misconceptions' rule).
DATA_COUNTED = {"real": True, "local": True, "benchmark": True, "stand-in": False, "synthetic": False}
BEARINGS = ("against", "for", "neither")


def _claim_reference(evidence) -> str:
    counted = [piece for piece in evidence if piece.counted]
    if not counted:
        return "not judged"
    return "refuted" if any(piece.bears == "against" for piece in counted) else "not refuted"


def _piece(bears: str, data: str, index: int):
    from course_lib.misconceptions import Evidence

    return Evidence(notebook=f"{index:02d}_check", finding=f"finding {index}: bears {bears} on {data} data",
                    bears=bears, data=data, counted=DATA_COUNTED[data])


def _claim_cases(rng) -> list[tuple[str, list]]:
    def pieces(spec):
        return [_piece(bears, data, i + 1) for i, (bears, data) in enumerate(spec)]

    fixed = [
        ("no evidence at all", []),
        ("only stand-in evidence, against", [("against", "stand-in"), ("against", "synthetic")]),
        ("counted 'for', stand-in 'against'", [("for", "real"), ("against", "stand-in"), ("for", "real")]),
        ("one counted 'against' among many 'for'", [("for", "real")] * 5 + [("against", "real")]),
        ("only counted 'neither'", [("neither", "real"), ("neither", "benchmark")]),
        ("counted 'neither', stand-in 'against'", [("neither", "local"), ("against", "synthetic")]),
        ("one 'against' on local data", [("for", "real"), ("against", "local")]),
        ("one 'against' from the benchmark", [("neither", "real"), ("against", "benchmark")]),
        ("only stand-in 'for'", [("for", "stand-in")]),
        ("counted 'for' only", [("for", "real"), ("for", "local")]),
    ]
    cases = [(what, pieces(spec)) for what, spec in fixed]
    labels = list(DATA_COUNTED)
    for index in range(int(rng.integers(4, 8))):          # fresh random evidence lists
        n = int(rng.integers(1, 12))
        spec = [(BEARINGS[int(rng.integers(3))], labels[int(rng.integers(len(labels)))]) for _ in range(n)]
        cases.append((f"random evidence list {index + 1} ({n} pieces)", pieces(spec)))
    order = rng.permutation(len(cases))
    return [cases[i] for i in order]


def check_claim_verdict(claim_verdict, *, seed=None) -> None:
    """Check ``claim_verdict(evidence)``: ``evidence`` is a list of
    :class:`course_lib.misconceptions.Evidence` (``bears`` "against"/"for"/"neither", ``counted`` True
    for real, local and benchmark data); return ``"not judged"`` when no piece is counted,
    ``"refuted"`` when at least one counted piece bears "against" the claim, else ``"not refuted"``.
    The list must not be changed.

    Fixed cases each run (in a fresh random order): no evidence; only stand-in/synthetic evidence against;
    counted "for" with a stand-in "against"; one counted "against" among five "for"; only counted
    "neither"; counted "neither" with a synthetic "against"; an "against" on local data and one from the
    benchmark; only stand-in "for"; only counted "for"; then 4..7 random lists. Known wrong answers it
    separates: a majority vote, stand-in evidence counted, "not refuted" for an empty list, "not judged"
    when nothing bears for or against, only "real" data counted (local and benchmark ignored), one
    "for" taken to prove the claim, and the library judges.
    """
    from course_lib.misconceptions import VERDICTS

    require_own_code(claim_verdict, *CLAIM_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, evidence in _claim_cases(rng):
        given = list(evidence)
        got = claim_verdict(given)
        where = f"claim_verdict(<{what}>)"
        expect(given == evidence, f"{where}: your function changed the evidence list; work on a copy", seed)
        expect(got is not None, f"{where} is None: did your function forget to `return` its result?", seed)
        expect(isinstance(got, str) and got in VERDICTS,
               f"{where} must return one of {list(VERDICTS)}, got {got!r}", seed)
        expected = _claim_reference(evidence)
        if got != expected:
            counted = [p for p in evidence if p.counted]
            summary = ", ".join(f"{p.bears} ({p.data}{'' if p.counted else ', not counted'})" for p in evidence)
            raise AssertionError(
                f"{where} returned {got!r}, expected {expected!r}. The evidence: [{summary or 'none'}]; "
                f"{len(counted)} piece(s) counted, {sum(p.bears == 'against' for p in counted)} of them against. "
                f"Only counted evidence decides; one counted 'against' refutes an 'always'/'only'/'cannot' claim "
                f"{seed_note(seed)}")


# ============================================================================ Exercise 3
def _needed_reference(mean: float, std: float, confidence: float, max_n: int) -> int | None:
    for n in range(2, max_n + 1):
        if abs(mean) > _t_ratio(n, confidence) * std:
            return n
    return None


@functools.lru_cache(maxsize=4096)
def _t_ratio(n: int, confidence: float) -> float:
    """t((1 + confidence) / 2, n - 1) / √n: the |mean| / std above which n seeds give an interval
    that excludes 0."""
    from scipy import stats

    return float(stats.t.ppf((1 + confidence) / 2, n - 1) / math.sqrt(n))


def _needed_cases(rng) -> list[tuple[float, float, float | None, int | None]]:
    """(mean, std, confidence or None, max_n or None): None means "use the default"."""
    sign = float(rng.choice([-1.0, 1.0]))
    std = float(rng.uniform(0.01, 0.1))

    def between(n, confidence=0.95):
        """A mean whose |mean|/std lies strictly between the thresholds of n and n - 1 seeds: answer n."""
        low, high = _t_ratio(n, confidence), _t_ratio(n - 1, confidence) if n > 2 else 3 * _t_ratio(2, confidence)
        return sign * std * float(rng.uniform(low + 0.1 * (high - low), high - 0.1 * (high - low)))

    cases = [(between(7), std, None, None),              # |mean|/std near 1: the normal quantile says 4 or 5, t says 7
             (between(3), std, None, None),               # the course's three seeds
             (between(2), std, None, None),               # two seeds suffice
             (between(12, 0.9), std, 0.9, None),          # another confidence
             (between(9, 0.99), std, 0.99, None),
             (sign * 0.05, 0.0, None, None),              # no spread at all: two seeds
             (0.0, std, None, None),                      # no difference: no number of seeds helps
             (between(40), std, None, 30),                # more seeds than max_n: None
             (between(40), std, None, None),              # within the default max_n
             (between(int(rng.integers(3, 60))), std, float(rng.choice([0.9, 0.95, 0.99])), 60)]
    for _ in range(int(rng.integers(3, 7))):
        cases.append((float(rng.normal(0.0, 0.05)), float(rng.uniform(0.005, 0.1)), float(rng.choice([0.9, 0.95])),
                      int(rng.integers(5, 80))))
    return cases


def check_seeds_needed(seeds_needed, *, seed=None) -> None:
    """Check ``seeds_needed(mean, std, confidence=0.95, max_n=100)``: the smallest number of seeds
    ``n`` (2 <= n <= max_n) whose interval ``mean ± t · std / √n`` excludes 0 (``|mean| > t · std / √n``,
    ``t`` the ``(1 + confidence) / 2`` quantile of Student's t with ``n - 1`` degrees of freedom), if the
    mean and the spread stayed what they are; ``None`` when no ``n`` up to ``max_n`` is enough (for
    instance ``mean == 0``). ``scipy.stats.t.ppf`` is allowed, ``t.interval`` is not.

    Fixed cases each run (fresh spreads and means): a mean equal to the spread (the normal quantile gives
    4 seeds, Student's t 7), answers 3 and 2, 90 % and 99 % confidence, no spread, no difference, an
    answer above ``max_n`` (None) and within the default, and random means, spreads, confidences and
    limits. Known wrong answers it separates: the normal quantile (z = 1.96), t with n degrees of
    freedom, a one-sided quantile, √(n − 1), the spread not divided by √n, the confidence ignored,
    ``max_n`` ignored, the last n that does not yet exclude 0, 0 or -1 instead of None, and
    ``scipy.stats.t.interval``.
    """
    require_own_code(seeds_needed, *INTERVAL_LIBRARY)
    rng, seed = fresh_rng(seed)
    for mean, std, confidence, max_n in _needed_cases(rng):
        options = {} if confidence is None else {"confidence": confidence}
        options.update({} if max_n is None else {"max_n": max_n})
        shown = "".join(f", {key}={value:g}" for key, value in options.items())
        where = f"seeds_needed(mean={mean:.5g}, std={std:.5g}{shown})"
        got = seeds_needed(mean, std, **options)
        expected = _needed_reference(mean, std, options.get("confidence", 0.95), options.get("max_n", 100))
        if expected is None:
            expect(got is None, f"{where} returned {got!r}: no number of seeds up to max_n gives an interval "
                                f"that excludes 0, so return None", seed)
            continue
        expect(got is not None, f"{where} is None, expected {expected}: did your function forget to `return` "
                                f"its result?", seed)
        expect(isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)),
               f"{where} must return a whole number of seeds (an int), got {type(got).__name__} {got!r}", seed)
        if int(got) != expected:
            c = options.get("confidence", 0.95)
            shown_n = int(got) if 2 <= int(got) <= 10_000 else expected
            raise AssertionError(
                f"{where} returned {int(got)}, expected {expected}. At n = {expected} the half-width "
                f"t·std/√n is {_t_ratio(expected, c) * std:.5g} < |mean| = {abs(mean):.5g}; at n = {shown_n} "
                f"it is {_t_ratio(shown_n, c) * std:.5g} (Student's t, n − 1 degrees of freedom, two-sided "
                f"{c:g}) {seed_note(seed)}")
