"""Wrong answers for notebook 12's exercises (format: tests/exercise_cases/__init__.py).

Importing this file also checks that the checks' restated rules agree with the library on the inputs
they draw: Exercise 1's reference with :func:`course_lib.verdicts.decide`'s winner, and Exercise 2's
data labels with the ``counted`` rule of :mod:`course_lib.misconceptions` (only real, local and
benchmark evidence enters a verdict).
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
from scipy import stats

from course_lib.checks.capstone import (DATA_COUNTED, _winner_cases, _winner_reference, check_claim_verdict,
                                        check_seeds_needed, check_winner)
from exercise_cases import ExerciseCase

NOTEBOOK = "12_misconceptions"
_spec = importlib.util.spec_from_file_location(
    "solutions_12_for_cases", Path(__file__).resolve().parents[2] / "solutions" / f"{NOTEBOOK}.py")
SOLUTIONS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SOLUTIONS)


# ------------------------------------------------------------------ Exercise 1: a verdict from its interval
def direction_ignored(model_a, model_b, low, high, higher_is_better=True):
    return SOLUTIONS.winner(model_a, model_b, low, high, True)


def direction_inverted(model_a, model_b, low, high, higher_is_better=True):
    return SOLUTIONS.winner(model_a, model_b, low, high, not higher_is_better)


def strict_at_zero(model_a, model_b, low, high, higher_is_better=True):  # an end at 0 counted as a win
    if low < 0 < high:
        return None
    return model_a if (low >= 0) == higher_is_better else model_b


def midpoint(model_a, model_b, low, high, higher_is_better=True):        # the observed difference's sign
    return model_a if ((low + high) / 2 > 0) == higher_is_better else model_b


def letters(model_a, model_b, low, high, higher_is_better=True):
    name = SOLUTIONS.winner(model_a, model_b, low, high, higher_is_better)
    return None if name is None else ("a" if name == model_a else "b")


def boolean(model_a, model_b, low, high, higher_is_better=True):        # "does a win?"
    return SOLUTIONS.winner(model_a, model_b, low, high, higher_is_better) == model_a


def no_clear_winner_string(model_a, model_b, low, high, higher_is_better=True):
    return SOLUTIONS.winner(model_a, model_b, low, high, higher_is_better) or "no clear winner"


def lower_end_only(model_a, model_b, low, high, higher_is_better=True):  # no "no clear winner" at all
    return model_a if (low > 0) == higher_is_better else model_b


def library(model_a, model_b, low, high, higher_is_better=True):
    from course_lib.verdicts import decide

    return decide(model_a, model_b, metric="m", mean_a=0.0, mean_b=0.0, low=low, high=high,
                  higher_is_better=higher_is_better, method="given").winner


WINNER = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_winner, solution_name="winner",
    wrong={
        "direction ignored": direction_ignored,
        "direction inverted": direction_inverted,
        "an end at 0 counted as a win": strict_at_zero,
        "the midpoint's sign": midpoint,
        "'a'/'b' instead of names": letters,
        "a boolean": boolean,
        "'no clear winner' instead of None": no_clear_winner_string,
        "only the lower end read": lower_end_only,
        "course_lib's decide": library,
        "forgot to return": lambda model_a, model_b, low, high, higher_is_better=True: None,
    },
)


def _reference_agrees_with_decide() -> None:
    """The check's restated rule gives decide()'s winner on every interval the check draws."""
    from course_lib.verdicts import decide

    rng = np.random.default_rng(1212)
    for _ in range(20):
        for model_a, model_b, low, high, higher in _winner_cases(rng):
            higher = True if higher is None else higher
            theirs = decide(model_a, model_b, metric="m", mean_a=0.0, mean_b=0.0, low=low, high=high,
                            higher_is_better=higher, method="given").winner
            if theirs != _winner_reference(model_a, model_b, low, high, higher):
                raise AssertionError(f"check_winner's rule disagrees with decide on [{low}, {high}], {higher}")


_reference_agrees_with_decide()


# ------------------------------------------------------------------ Exercise 2: a claim's verdict
def majority_vote(evidence):
    counted = [p for p in evidence if p.counted]
    if not counted:
        return "not judged"
    against = sum(p.bears == "against" for p in counted)
    return "refuted" if against > len(counted) - against else "not refuted"


def stand_in_counted(evidence):
    if not evidence:
        return "not judged"
    return "refuted" if any(p.bears == "against" for p in evidence) else "not refuted"


def empty_is_not_refuted(evidence):
    counted = [p for p in evidence if p.counted]
    return "refuted" if any(p.bears == "against" for p in counted) else "not refuted"


def neither_is_not_judged(evidence):       # "neither" treated like no evidence
    counted = [p for p in evidence if p.counted and p.bears != "neither"]
    if not counted:
        return "not judged"
    return "refuted" if any(p.bears == "against" for p in counted) else "not refuted"


def only_real_counted(evidence):           # local files and the benchmark ignored
    counted = [p for p in evidence if p.data == "real"]
    if not counted:
        return "not judged"
    return "refuted" if any(p.bears == "against" for p in counted) else "not refuted"


def one_for_proves_it(evidence):           # a "for" taken to settle the claim before the "against"
    for piece in evidence:
        if piece.counted and piece.bears in ("for", "against"):
            return "not refuted" if piece.bears == "for" else "refuted"
    return "not judged" if not any(p.counted for p in evidence) else "not refuted"


def capitalised(evidence):
    return SOLUTIONS.claim_verdict(evidence).capitalize()


def a_boolean(evidence):                   # "is it refuted?"
    return SOLUTIONS.claim_verdict(evidence) == "refuted"


def sorts_in_place(evidence):
    answer = SOLUTIONS.claim_verdict(evidence)
    evidence.sort(key=lambda piece: piece.bears)
    return answer


def library_judge(evidence):
    from course_lib.misconceptions import judge_all

    judge_all({}, None)
    return SOLUTIONS.claim_verdict(evidence)


CLAIM = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_claim_verdict, solution_name="claim_verdict",
    wrong={
        "majority vote": majority_vote,
        "stand-in evidence counted": stand_in_counted,
        "no evidence is 'not refuted'": empty_is_not_refuted,
        "'neither' only is 'not judged'": neither_is_not_judged,
        "only real data counted": only_real_counted,
        "the first 'for' settles it": one_for_proves_it,
        "capitalised": capitalised,
        "a boolean": a_boolean,
        "sorts the evidence in place": sorts_in_place,
        "calls the library's judges": library_judge,
        "forgot to return": lambda evidence: None,
    },
)


def _counted_rule_agrees_with_the_library() -> None:
    """The data labels the check draws are the library's, and counted exactly where the library counts."""
    from course_lib import misconceptions

    labels = getattr(misconceptions, "DATA_LABELS", None)
    if labels is not None and set(labels) != set(DATA_COUNTED):
        raise AssertionError(f"course_lib.misconceptions.DATA_LABELS {sorted(labels)} != the check's {sorted(DATA_COUNTED)}")
    counted = getattr(misconceptions, "COUNTED_DATA", None)
    if counted is not None and set(counted) != {label for label, yes in DATA_COUNTED.items() if yes}:
        raise AssertionError(f"course_lib.misconceptions.COUNTED_DATA {sorted(counted)} disagrees with the check")


_counted_rule_agrees_with_the_library()


# ------------------------------------------------------------------ Exercise 3: seeds a difference needs
def _first(mean, std, max_n, half_width, start=2):
    for n in range(start, max_n + 1):
        if abs(mean) > half_width(n):
            return n
    return None


def normal_quantile(mean, std, confidence=0.95, max_n=100):
    z = stats.norm.ppf((1 + confidence) / 2)
    return _first(mean, std, max_n, lambda n: z * std / math.sqrt(n))


def z_196(mean, std, confidence=0.95, max_n=100):
    return _first(mean, std, max_n, lambda n: 1.96 * std / math.sqrt(n))


def n_degrees_of_freedom(mean, std, confidence=0.95, max_n=100):
    return _first(mean, std, max_n, lambda n: stats.t.ppf((1 + confidence) / 2, n) * std / math.sqrt(n))


def one_sided(mean, std, confidence=0.95, max_n=100):
    return _first(mean, std, max_n, lambda n: stats.t.ppf(confidence, n - 1) * std / math.sqrt(n))


def sqrt_n_minus_1(mean, std, confidence=0.95, max_n=100):
    return _first(mean, std, max_n, lambda n: stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n - 1))


def not_divided(mean, std, confidence=0.95, max_n=100):   # the spread of one seed, not of the mean
    return _first(mean, std, max_n, lambda n: stats.t.ppf((1 + confidence) / 2, n - 1) * std)


def confidence_ignored(mean, std, confidence=0.95, max_n=100):
    return SOLUTIONS.seeds_needed(mean, std, max_n=max_n)


def max_n_ignored(mean, std, confidence=0.95, max_n=100):
    return SOLUTIONS.seeds_needed(mean, std, confidence, max_n=max(max_n, 200) * 2)


def one_too_few(mean, std, confidence=0.95, max_n=100):   # the last n whose interval still contains 0
    n = SOLUTIONS.seeds_needed(mean, std, confidence, max_n)
    return None if n is None else n - 1


def zero_for_never(mean, std, confidence=0.95, max_n=100):
    return SOLUTIONS.seeds_needed(mean, std, confidence, max_n) or 0


def minus_one_for_never(mean, std, confidence=0.95, max_n=100):
    n = SOLUTIONS.seeds_needed(mean, std, confidence, max_n)
    return -1 if n is None else n


def as_float(mean, std, confidence=0.95, max_n=100):      # the solved inequality, not a whole number of seeds
    n = SOLUTIONS.seeds_needed(mean, std, confidence, max_n)
    return None if n is None else float(n)


def scipy_interval(mean, std, confidence=0.95, max_n=100):
    for n in range(2, max_n + 1):
        low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=std / math.sqrt(n))
        if low > 0 or high < 0:
            return n
    return None


SEEDS = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_seeds_needed, solution_name="seeds_needed",
    wrong={
        "normal quantile": normal_quantile,
        "z = 1.96": z_196,
        "t with n degrees of freedom": n_degrees_of_freedom,
        "one-sided quantile": one_sided,
        "sqrt(n - 1)": sqrt_n_minus_1,
        "spread not divided by sqrt(n)": not_divided,
        "confidence ignored": confidence_ignored,
        "max_n ignored": max_n_ignored,
        "one seed too few": one_too_few,
        "0 instead of None": zero_for_never,
        "-1 instead of None": minus_one_for_never,
        "a float": as_float,
        "scipy.stats.t.interval": scipy_interval,
        "forgot to return": lambda mean, std, confidence=0.95, max_n=100: None,
    },
)

CASES = [WINNER, CLAIM, SEEDS]
