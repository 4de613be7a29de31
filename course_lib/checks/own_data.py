"""The self-checks of notebook 11's exercises (``11_your_own_data``; see :mod:`course_lib.checks` for
the design).

- Exercise 1, :func:`check_to_binary_labels` — labels from a learner's file:
  ``to_binary_labels(values, positive) -> int array (N,) of 0/1``, a ValueError naming any label that
  is neither ``positive`` nor the one other label (a typo, a missing value);
- Exercise 2, :func:`check_suspicious_jumps` — split-like jumps by hand:
  ``suspicious_jumps(close: pd.Series, threshold=0.25) -> the dates whose |log return| exceeds it``;
- Exercise 3, :func:`check_average_precision` — PR-AUC (average precision) by hand:
  ``average_precision(labels, scores) -> float``, ties as :func:`sklearn.metrics.average_precision_score`;
- Exercise 3b, :func:`check_random_pr_auc` — the PR-AUC of random rankings:
  ``random_pr_auc(labels, n_rankings=200, seed=0) -> float``, the mean average precision of
  ``n_rankings`` random rankings, about the prevalence.

Each check draws fresh inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure), always includes the cases that separate the wrong answers learners are
known to write (listed in each docstring, proved in ``tests/exercise_cases/11_your_own_data.py``), and
compares with an independent reference: the rule stated in the exercise, a few lines of NumPy
(the same computation :func:`course_lib.finance.data_checks.check_prices` does; the case file proves
they agree), ``sklearn.metrics.average_precision_score``, and the exact expected average precision of
a random ranking (with the spread of the mean of ``n_rankings`` of them, simulated here).
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd

from course_lib.checks._common import expect, fresh_rng, one_number, require_own_code, seed_note

#: course_lib's price check and loader that would find the jumps for the learner (Exercise 2).
JUMPS_LIBRARY = ("check_prices", "load_price_file")
#: sklearn's and course_lib's precision-recall helpers, and the notebook's own from-scratch version
#: (section 2 wrote AP as a sum over thresholds; the exercise asks for the mean over the positives) (Exercise 3).
AP_LIBRARY = ("average_precision_score", "precision_recall_curve", "classification_scores",
              "label_ranking_average_precision_score", "average_precision_by_hand")
#: Exercise 3b: the learner's mean over ``n_rankings`` random rankings must lie within this many
#: standard errors (sd of one ranking's AP / sqrt(n_rankings)) of the exact expectation; a correct
#: answer is rejected with probability ~6e-7 per case at 5.
RANDOM_AP_Z = 5.0
#: Rankings the check simulates to estimate the spread of one random ranking's AP (relative error of
#: the sd estimate ~ 1 / sqrt(2 * 1000) ≈ 2 %).
REFERENCE_RANKINGS = 1000


def _copy(values):
    """A copy of an input in its own container type (to detect a function that changes its input)."""
    if isinstance(values, (pd.Series, np.ndarray)):
        return values.copy()
    return list(values)


def _same(a, b) -> bool:
    if isinstance(a, pd.Series):
        return isinstance(b, pd.Series) and a.equals(b) and a.index.equals(b.index)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return list(a) == list(b) and len(a) == len(b) and all(type(x) is type(y) for x, y in zip(a, b))


# ============================================================================ Exercise 1
#: Label pairs learners' files use (positive, negative); the checks also swap the roles.
STRING_PAIRS = (("yes", "no"), ("active", "inactive"), ("toxic", "non-toxic"), ("soluble", "insoluble"),
                ("pos", "neg"), ("Y", "N"), ("binder", "non-binder"), ("1", "0"))


def _column(rng, positive, negative, n, *, first_positive: bool, share: float):
    """``n`` labels, about ``share`` of them ``positive``, the first one positive or not."""
    is_positive = rng.random(n) < share
    is_positive[0] = first_positive
    is_positive[1:3] = [not first_positive, first_positive]  # both labels occur
    return [positive if p else negative for p in is_positive], is_positive.astype(np.int64)


def _container(values, kind: str, rng, dtype=None):
    if kind == "list":
        return list(values)
    if kind == "array":
        return np.array(values, dtype=dtype if dtype is not None else object)
    start = int(rng.integers(100, 5000))  # a file's rows after filtering: not 0..n-1
    return pd.Series(values, index=pd.RangeIndex(start, start + len(values)), dtype=dtype, name="label")


def _valid_label_cases(rng) -> list[tuple[str, object, object, np.ndarray]]:
    """(description, values, positive, expected 0/1) — columns with exactly two labels."""
    cases = []

    def add(what, positive, negative, kind, *, first_positive, share, dtype=None):
        n = int(rng.integers(12, 60))
        values, expected = _column(rng, positive, negative, n, first_positive=first_positive, share=share)
        cases.append((what, _container(values, kind, rng, dtype), positive, expected))

    # the positive label sorts first and is a substring of the other ("active" in "inactive"); first row negative
    add("'active'/'inactive' strings, positive 'active'", "active", "inactive", "series",
        first_positive=False, share=float(rng.uniform(0.15, 0.4)))
    # the positive label sorts last, first row positive, positives the majority
    add("'yes'/'no' strings in a list, positive 'yes'", "yes", "no", "list",
        first_positive=True, share=float(rng.uniform(0.6, 0.85)))
    # numbers: the positive label is 0 ("inactive is what we look for")
    add("0/1 integers, positive 0", 0, 1, "array", first_positive=bool(rng.integers(2)),
        share=float(rng.uniform(0.2, 0.8)), dtype=np.int64)
    add("0/1 integers, positive 1", 1, 0, "series", first_positive=bool(rng.integers(2)),
        share=float(rng.uniform(0.2, 0.8)), dtype=np.int64)
    add("True/False booleans, positive False", False, True, "series", first_positive=True,
        share=float(rng.uniform(0.2, 0.5)), dtype=bool)
    add("True/False booleans, positive True", True, False, "list", first_positive=False,
        share=float(rng.uniform(0.2, 0.8)))
    add("0.0/1.0 floats (a CSV column pandas read as float), positive 1", 1, 0.0, "series",
        first_positive=False, share=float(rng.uniform(0.2, 0.8)), dtype=np.float64)
    positive, negative = STRING_PAIRS[int(rng.integers(len(STRING_PAIRS)))]
    if rng.random() < 0.5:
        positive, negative = negative, positive
    add(f"{positive!r}/{negative!r} strings, positive {positive!r}", positive, negative,
        str(rng.choice(["list", "array", "series"])), first_positive=bool(rng.integers(2)),
        share=float(rng.uniform(0.1, 0.9)))
    return cases


def _insert(rng, values: list, extra, count: int) -> list:
    out = list(values)
    for position in rng.choice(len(out), size=count, replace=False):
        out[int(position)] = extra
    return out


def _bad_label_cases(rng) -> list[tuple[str, object, object, tuple[str, ...]]]:
    """(description, values, positive, words one of which the message must contain, compare lower-case)."""
    cases = []

    def strings(positive, negative, n=None):
        n = n or int(rng.integers(15, 50))
        return _column(rng, positive, negative, n, first_positive=bool(rng.integers(2)),
                       share=float(rng.uniform(0.3, 0.7)))[0]

    # a third label beside 'yes' and 'no': the same word in capitals, with a trailing space, misspelt
    for typo, why in (("Yes", "capitalised"), ("yes ", "a trailing space"), ("yse", "misspelt")):
        values = _insert(rng, strings("yes", "no"), typo, int(rng.integers(1, 4)))
        kind = str(rng.choice(["list", "series"]))
        cases.append((f"'yes'/'no' with {values.count(typo)} x {typo!r} ({why})", _container(values, kind, rng),
                      "yes", (repr(typo),) if typo != typo.strip() else (repr(typo), typo), False))
    # a typo in the very first row of 'active'/'inactive'
    values = strings("active", "inactive")
    values[0] = "acitve"
    cases.append(("'active'/'inactive' whose first row says 'acitve'", _container(values, "series", rng),
                  "active", ("acitve",), False))
    # a probability left in a 0/1 column
    values = _insert(rng, [float(v) for v in strings(1, 0)], 0.5, 1)
    cases.append(("0/1 floats with one 0.5", _container(values, "series", rng, np.float64), 1, ("0.5",), False))
    # missing values: None in strings, NaN in numbers
    values = _insert(rng, strings("toxic", "non-toxic"), None, int(rng.integers(1, 3)))
    cases.append(("'toxic'/'non-toxic' with missing values (None)", _container(values, "list", rng), "toxic",
                  ("none", "nan", "missing", "empty", "<na>"), True))
    values = _insert(rng, [float(v) for v in strings(1, 0)], np.nan, int(rng.integers(1, 3)))
    cases.append(("0/1 floats with missing values (NaN)", _container(values, "series", rng, np.float64), 1,
                  ("none", "nan", "missing", "empty", "<na>"), True))
    # the positive label does not occur (the file says 'Yes'/'No')
    values = strings("Yes", "No")
    cases.append(("'Yes'/'No' strings with positive='yes' (not in the column)", _container(values, "series", rng),
                  "yes", ("'yes'", '"yes"', " yes"), False))
    return cases


def check_to_binary_labels(to_binary_labels, *, seed=None) -> None:
    """Check ``to_binary_labels(values, positive) -> int array (N,)``: 1 where the value equals
    ``positive``, 0 where it equals the column's one other label; labels are compared exactly (``'Yes'``
    is not ``'yes'``, ``'yes '`` is not ``'yes'``; numbers and booleans by value, so ``1``, ``1.0`` and
    ``True`` are one label). A ``ValueError`` whose message names the offending label when the column
    holds a third label, a missing value (None/NaN), or no ``positive`` at all. ``values`` is a list, a
    NumPy array or a pandas Series (any index); it must not be changed.

    Fresh columns each run (12..60 rows; labels, their order and shares random): 'active'/'inactive'
    (positive sorts first and is a substring of the other), 'yes'/'no' in a list, 0/1 integers with
    positive 0 and 1, booleans with positive False and True, 0.0/1.0 floats, one random pair from
    :data:`STRING_PAIRS` with a random positive. Must raise: 'Yes', 'yes ' and 'yse' beside 'yes'/'no',
    'acitve' in the first row, a 0.5 in a 0/1 column, None and NaN, and positive='yes' on a 'Yes'/'No'
    column. Known wrong answers it separates: ``(values == positive).astype(int)`` (no validation),
    alphabetical (``np.unique``) or first-seen (``pd.factorize``) codes, ``astype(int)`` ignoring
    ``positive``, matching after ``lower()``/``strip()``, ``str.contains``, a bool or float result, a
    message that does not name the label, another exception type, and all-zeros when ``positive`` is absent.
    """
    if not callable(to_binary_labels):
        raise AssertionError(f"your answer must be a function, got {type(to_binary_labels).__name__}")
    rng, seed = fresh_rng(seed)
    for what, values, positive, expected in _valid_label_cases(rng):
        where = f"to_binary_labels(<{what}, {len(values)} rows>, positive={positive!r})"
        given = _copy(values)
        answer = to_binary_labels(given, positive)
        expect(answer is not None, f"{where} is None: did your function forget to `return` its result?", seed)
        expect(_same(given, values), f"{where}: your function changed `values`; work on a copy", seed)
        if hasattr(answer, "detach") and hasattr(answer, "numpy"):
            answer = answer.detach().cpu().numpy()
        got = np.asarray(answer)
        expect(got.dtype.kind in "iu", f"{where}: return integers 0/1 (e.g. .astype(np.int64)), got dtype {got.dtype}",
               seed)
        expect(got.shape == expected.shape, f"{where}: expected shape {expected.shape}, got {got.shape}", seed)
        wrong = np.flatnonzero(got != expected)
        if wrong.size:
            i = int(wrong[0])
            value = list(values)[i]
            raise AssertionError(
                f"{where}: {wrong.size} of {expected.size} labels wrong; row {i} holds {value!r}, so the answer is "
                f"{int(expected[i])} ({value!r} {'==' if expected[i] else '!='} {positive!r}), yours {got[i]}. "
                f"1 means 'equals positive', whatever the labels or their order {seed_note(seed)}")
    for what, values, positive, words, fold in _bad_label_cases(rng):
        where = f"to_binary_labels(<{what}>, positive={positive!r})"
        try:
            answer = to_binary_labels(_copy(values), positive)
        except NotImplementedError:
            raise
        except ValueError as problem:
            message = str(problem)
            expect(any(word in (message.lower() if fold else message) for word in words),
                   f"{where}: the ValueError must name the problem label ({' or '.join(map(str, words[:2]))}) so the "
                   f"learner knows what to fix; its message was {message!r}", seed)
            continue
        except Exception as problem:
            raise AssertionError(f"{where}: raise a ValueError naming the label, not {type(problem).__name__} "
                                 f"({problem}) {seed_note(seed)}") from None
        shown = np.asarray(answer).ravel()[:8] if answer is not None else None
        raise AssertionError(f"{where}: must raise ValueError naming the label, but returned {shown!r}... : "
                             f"a label that is not one of the two would silently become 0 {seed_note(seed)}")


# ============================================================================ Exercise 2
def _random_walk(rng, n: int, start: str) -> pd.Series:
    """A GARCH-like daily close: volatility clustering, |daily log return| < 0.16 by construction."""
    sigma = np.empty(n)
    sigma[0] = 0.01
    shocks = np.clip(rng.standard_normal(n), -4.0, 4.0)
    for t in range(1, n):
        sigma[t] = min(0.04, np.sqrt(2e-6 + 0.08 * (sigma[t - 1] * shocks[t - 1]) ** 2 + 0.9 * sigma[t - 1] ** 2))
    returns = sigma * shocks
    returns[0] = 0.0
    index = pd.bdate_range(start, periods=n, name="Date")
    return pd.Series(float(rng.uniform(20, 3000)) * np.exp(np.cumsum(returns)), index=index, name="Close")


def _jump_reference(close: pd.Series, threshold: float) -> pd.DatetimeIndex:
    """The dates t (the day of arrival) with |ln(close_t / close_{t-1})| > threshold."""
    moves = np.diff(np.log(close.to_numpy(dtype=np.float64)))
    return close.index[1:][np.abs(moves) > threshold]


def _with_moves(close: pd.Series, moves: dict[int, float]) -> pd.Series:
    """``close`` with the log return of row i (from row i-1) replaced by ``moves[i]``; later prices follow."""
    log_price = np.log(close.to_numpy(dtype=np.float64))
    returns = np.diff(log_price)
    for row, move in moves.items():
        returns[row - 1] = move
    values = np.exp(log_price[0] + np.r_[0.0, np.cumsum(returns)])
    return pd.Series(values, index=close.index, name=close.name)


def _jump_cases(rng) -> list[tuple[str, pd.Series, float | None]]:
    """(description, close, threshold or None for the default)."""
    cases = []
    start = str(rng.choice(["1999-03-01", "2004-06-14", "2011-01-03", "2016-09-05"]))
    n = int(rng.integers(400, 1500))
    close = _random_walk(rng, n, start)
    rows = rng.choice(np.arange(5, n - 5), size=6, replace=False)
    moves = {int(rows[0]): math.log(1 / 2) + float(rng.normal(0, 0.01)),     # unadjusted 2:1 split: -0.69
             int(rows[1]): math.log(1 / 7),                                  # 1:7 split: -1.95
             int(rows[2]): math.log(10.0),                                   # a 10:1 reverse split: +2.30
             int(rows[3]): math.log(0.76),                                   # a -24 % crash: log -0.274, flagged
             int(rows[4]): math.log(1.27),                                   # a +27 % day: log +0.239, not flagged
             int(rows[5]): -math.log(1.27),                                  # -0.239: not flagged either
             1: math.log(1 / 3),                                             # a split on the first return
             n - 1: math.log(2.0)}                                           # and on the last day
    cases.append(("a random walk with injected splits and large moves", _with_moves(close, moves), None))
    cases.append(("the same prices, threshold 0.5", _with_moves(close, moves), 0.5))
    clean = _random_walk(rng, int(rng.integers(250, 700)), start)
    cases.append(("a clean random walk (no jumps)", clean, None))
    rows = rng.choice(np.arange(2, len(clean) - 1), size=4, replace=False)
    moderate = {int(rows[0]): 0.12, int(rows[1]): -0.13, int(rows[2]): 0.085, int(rows[3]): -0.09}
    cases.append(("moderate moves, threshold 0.1", _with_moves(clean, moderate), 0.1))
    # a missing year of rows (the return across the gap is an ordinary one) and a split after it
    gapped = _random_walk(rng, int(rng.integers(600, 900)), "2003-01-02")
    gapped = gapped[(gapped.index < "2004-01-01") | (gapped.index >= "2005-01-01")]
    after = int(np.flatnonzero(gapped.index >= "2005-01-01")[0]) + int(rng.integers(5, 50))
    cases.append(("a year of rows missing and a 3:1 split after it", _with_moves(gapped, {after: math.log(1 / 3)}),
                  float(rng.choice([0.25, 0.3]))))
    return cases


def _as_dates(answer, where: str, seed: int) -> pd.DatetimeIndex:
    expect(answer is not None, f"{where} is None: did your function forget to `return` its result?", seed)
    if isinstance(answer, pd.Series):
        expect(pd.api.types.is_datetime64_any_dtype(answer.dtype),
               f"{where}: return the dates (e.g. the .index of your selected log returns), not a Series of "
               f"{answer.dtype} values", seed)
        answer = answer.to_numpy()
    if isinstance(answer, pd.Timestamp):
        answer = [answer]
    try:
        items = list(answer)
    except TypeError:
        raise AssertionError(f"{where}: return the dates (a DatetimeIndex or a list of Timestamps), got "
                             f"{type(answer).__name__} {seed_note(seed)}") from None
    expect(all(isinstance(d, (datetime.date, np.datetime64)) for d in items),
           f"{where}: return the dates (a DatetimeIndex or a list of Timestamps), got items such as "
           f"{type(items[0]).__name__ if items else '?'} {items[:3]!r}; positions or returns are not dates", seed)
    return pd.DatetimeIndex(items)


def check_suspicious_jumps(suspicious_jumps, *, seed=None) -> None:
    """Check ``suspicious_jumps(close, threshold=0.25)``: the dates ``t`` (the day the new price arrives,
    as :func:`course_lib.finance.data_checks.check_prices` reports them) whose daily log return
    ``ln(close_t / close_{t-1})`` is larger than ``threshold`` in absolute value (``>``), as a
    DatetimeIndex or a list of Timestamps (any order, no repeats). ``close`` (a float Series on a sorted
    DatetimeIndex) must not be changed.

    Fresh GARCH-like random walks each run (250..1500 business days, clipped so that ordinary days stay
    below 0.16 in log terms) with injected moves: an unadjusted 2:1 split (−0.69), a 1:7 split (−1.95),
    a 10:1 reverse split (+2.30), a −24 % day (log −0.274: flagged), a +27 % day (log +0.239: not
    flagged), a −0.239 day, a split on the first return and on the last day; the same prices at
    threshold 0.5; a clean walk (answer empty); moderate moves at threshold 0.1; a year of rows missing
    with a 3:1 split after the gap. Reference: ``np.diff(np.log(close))`` (the computation
    ``check_prices`` does). Known wrong answers it separates: simple returns (``pct_change``), no
    ``abs`` (drops only, or rises only), the day before the jump, the threshold ignored, positions or
    returns instead of dates, log10, price differences, a z-score rule, and ``check_prices`` itself.
    """
    require_own_code(suspicious_jumps, *JUMPS_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, close, threshold in _jump_cases(rng):
        shown = "" if threshold is None else f", threshold={threshold:g}"
        where = f"suspicious_jumps(close <{what}, {len(close)} days>{shown})"
        given = close.copy()
        answer = suspicious_jumps(given) if threshold is None else suspicious_jumps(given, threshold=threshold)
        expect(given.equals(close) and given.index.equals(close.index),
               f"{where}: your function changed `close`; work on a copy", seed)
        got = _as_dates(answer, where, seed)
        expected = _jump_reference(close, 0.25 if threshold is None else threshold)
        expect(not got.has_duplicates, f"{where}: the dates repeat; return each date once", seed)
        extra, missed = got.difference(expected), expected.difference(got)
        if len(extra) or len(missed):
            moves = pd.Series(np.diff(np.log(close.to_numpy(dtype=np.float64))), index=close.index[1:])
            example = (missed[0] if len(missed) else extra[0])
            move = moves.get(example, float("nan"))
            raise AssertionError(
                f"{where}: {len(got)} dates returned, {len(expected)} expected; missing "
                f"{[d.date().isoformat() for d in missed[:4]]}, not expected "
                f"{[d.date().isoformat() for d in extra[:4]]}. "
                f"E.g. {example.date()}: log return "
                f"ln(close_t / close_t-1) = {move:+.4f}. Flag |log return| > threshold, dated by the day "
                f"the new price arrives (the later day) {seed_note(seed)}")


# ============================================================================ Exercise 3
def _ap_reference(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores))


def _ap_cases(rng) -> list[tuple[str, object, object]]:
    cases = []
    for n in (int(rng.integers(5, 12)), int(rng.integers(40, 120)), int(rng.integers(300, 800))):
        prevalence = float(rng.uniform(0.1, 0.6))
        labels = (rng.random(n) < prevalence).astype(np.int64)
        labels[rng.choice(n, 2, replace=False)] = [0, 1]
        scores = rng.normal(size=n) + float(rng.uniform(0.3, 2.0)) * labels  # continuous: no ties
        cases.append((f"{n} items, continuous scores", labels, scores))
    # ties: integer scores 0..4 (many positives and negatives share a score); probabilities rounded to 0.1
    n = int(rng.integers(30, 90))
    labels = (rng.random(n) < rng.uniform(0.2, 0.6)).astype(np.int64)
    labels[:2] = [0, 1]
    cases.append((f"{n} items, integer scores 0..4 (ties)", labels,
                  np.clip(rng.integers(0, 4, n) + labels * rng.integers(0, 2, n), 0, 4).astype(np.float64)))
    n = int(rng.integers(50, 150))
    labels = (rng.random(n) < rng.uniform(0.2, 0.6)).astype(np.int64)
    labels[:2] = [1, 0]
    probabilities = 1 / (1 + np.exp(-(rng.normal(size=n) + labels)))
    cases.append((f"{n} items, probabilities rounded to 0.1 (ties)", labels, np.round(probabilities, 1)))
    # every score equal: sklearn's AP is the prevalence (one threshold holding every item)
    n = int(rng.integers(10, 40))
    labels = rng.permutation(np.r_[np.ones(int(rng.integers(2, n // 2)), dtype=np.int64),
                                   np.zeros(n, dtype=np.int64)][:n])
    labels[:2] = [0, 1]
    cases.append((f"{n} items, every score equal", labels, np.full(n, float(rng.uniform(0, 1)))))
    # a tie at the top, then one positive alone: rank order inside the tie changes the answer
    cases.append(("a 3-way tie at the top", np.array([1, 0, 0, 1, 0]), np.array([0.9, 0.9, 0.9, 0.5, 0.1])))
    # one positive; perfect and reversed rankings of logits (negative scores); bool labels in lists
    n = int(rng.integers(20, 60))
    labels = np.zeros(n, dtype=np.int64)
    labels[int(rng.integers(n))] = 1
    cases.append((f"{n} items, one positive", labels, rng.normal(size=n)))
    n = int(rng.integers(10, 30))
    shuffle = rng.permutation(n)
    labels = (np.arange(n) < n // 3).astype(np.int64)[shuffle]   # positives hold the largest logits
    logits = np.sort(rng.normal(size=n) * 3)[::-1][shuffle]
    cases.append((f"{n} items, logits, perfect ranking (AP 1)", labels, logits))
    cases.append((f"{n} items, logits, reversed ranking", labels, -logits))
    n = int(rng.integers(15, 40))
    labels = rng.random(n) < 0.4
    labels[:2] = [True, False]
    cases.append((f"{n} items, bool labels and scores in Python lists", [bool(v) for v in labels],
                  [float(v) for v in np.round(rng.random(n) + 0.3 * labels, 2)]))
    return cases


def check_average_precision(average_precision, *, seed=None) -> None:
    """Check ``average_precision(labels, scores) -> float``: the mean, over the positives, of the
    precision at that positive's score — ``#(positives with score >= s) / #(items with score >= s)``,
    so that items tied at a score enter together (what ``sklearn.metrics.average_precision_score``
    computes: sum over thresholds of (recall step) x precision, no interpolation). Higher score = more
    likely positive; ``labels`` 0/1 (or bool) with at least one positive; inputs must not be changed.

    Compared (to 1e-9) with sklearn on fresh cases: continuous scores at 5..12, 40..120 and 300..800
    items; integer scores 0..4 and probabilities rounded to 0.1 (ties across classes); every score
    equal (AP = prevalence); a 3-way tie at the top; one positive; a perfect (1.0) and a reversed
    ranking of logits; bool labels and scores in Python lists. Known wrong answers it separates: ranks
    with ties broken by position (either way), ascending order, the trapezoidal area under the PR curve,
    interpolated precision (the running maximum), the mean precision over every rank or divided by
    all items, an off-by-one rank, the ROC AUC, and calling sklearn's ``average_precision_score``.
    """
    require_own_code(average_precision, *AP_LIBRARY)
    rng, seed = fresh_rng(seed)
    for what, labels, scores in _ap_cases(rng):
        where = f"average_precision(labels, scores) ({what})"
        given_labels, given_scores = _copy(labels), _copy(scores)
        got = one_number(average_precision(given_labels, given_scores), where, seed)
        expect(_same(given_labels, labels) and _same(given_scores, scores),
               f"{where}: your function changed its inputs (np.sort / np.argsort return copies; .sort() sorts in "
               "place)", seed)
        expected = _ap_reference(np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64))
        # sums of at most 800 ratios of counts in float64: rounding ~1e-13; 1e-9 leaves room for any order
        expect(abs(got - expected) <= 1e-9,
               f"{where}: got {got:.6g}, expected {expected:.6g} (sklearn's average_precision_score). For each "
               "positive, the precision at its score counts every item with a score >= it (tied items enter "
               "together, whatever their order); AP is the mean of these precisions over the positives", seed)


# ============================================================================ Exercise 3b
def expected_random_ap(n_items: int, n_positive: int) -> float:
    """The exact expected average precision of a uniformly random ranking of ``n_items`` items of which
    ``n_positive`` are positive: ``(H_N + (N − H_N)(R − 1)/(N − 1)) / N`` with ``H_N`` the N-th harmonic
    number (a positive at rank k has precision (1 + (k − 1)(R − 1)/(N − 1)) / k on average, and k is
    uniform on 1..N). It tends to the prevalence R/N as N grows; with few items it lies above it,
    because each positive counts itself in its own precision."""
    for value, name in ((n_items, "n_items"), (n_positive, "n_positive")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 1 <= n_positive <= n_items:
        raise ValueError(f"need 1 <= n_positive <= n_items, got n_positive={n_positive}, n_items={n_items}")
    n, r = int(n_items), int(n_positive)
    if n == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    return (harmonic + (n - harmonic) * (r - 1) / (n - 1)) / n


def _random_ap_draws(rng, n_items: int, n_positive: int, draws: int) -> np.ndarray:
    """AP of ``draws`` random rankings: the positives' ranks are a random ``n_positive``-subset of 1..N."""
    ranks = np.sort(rng.random((draws, n_items)).argsort(axis=1)[:, :n_positive], axis=1) + 1
    return (np.arange(1, n_positive + 1) / ranks).mean(axis=1)


def _ap_values_of_every_ranking(n_items: int, n_positive: int) -> np.ndarray:
    from itertools import combinations

    return np.array([np.mean(np.arange(1, n_positive + 1) / np.array(ranks))
                     for ranks in combinations(range(1, n_items + 1), n_positive)])


def _given_labels(labels) -> np.ndarray:
    if hasattr(labels, "detach") and hasattr(labels, "numpy"):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels).ravel()
    if array.dtype == bool:
        array = array.astype(np.int64)
    if array.size < 2 or not np.isin(array, (0, 1)).all() or len(np.unique(array)) != 2:
        raise ValueError(f"labels must be 0/1 with both classes (a mistake in the notebook's check cell), got "
                         f"{array.size} values {np.unique(array)[:5]}")
    return array.astype(np.int64)


def check_random_pr_auc(random_pr_auc, labels=None, *, seed=None) -> str:
    """Check ``random_pr_auc(labels, n_rankings=200, seed=0) -> float``: the mean average precision of
    ``n_rankings`` random rankings of ``labels`` (scores ``rng.random(len(labels))``, or a permutation,
    from ``rng = np.random.default_rng(seed)``), which is about the prevalence ``labels.mean()``.

    Compared with the exact expectation :func:`expected_random_ap`, within ``RANDOM_AP_Z`` = 5 standard
    errors of a mean of 200 rankings (the sd of one ranking's AP simulated here from
    ``REFERENCE_RANKINGS`` rankings), on the notebook's ``labels`` when given and on fresh label vectors:
    400..1,200 items at prevalence 0.05..0.2 and at 0.2..0.5 (there the expectation lies within 0.014
    of the prevalence and the tolerance is below 0.009, so the answer is within ±0.025 of the
    prevalence), and 12 items with 3 positives, where a random ranking's expected AP, 0.39, lies well
    above the prevalence 0.25. Also: the same seed gives the same number, other seeds other numbers, and
    ``n_rankings=1`` gives the AP of one ranking (a value some ranking of 6 items with 2 positives has).
    Known wrong answers it separates: returning the prevalence, the ROC AUC of random rankings (0.5),
    ignoring ``seed`` or ``n_rankings``, unseeded global random numbers, the exact formula instead of
    rankings, tied random scores, and shuffling ``labels`` in place. Returns a note with the learner's
    value, the prevalence and the expectation of each case.
    """
    if not callable(random_pr_auc):
        raise AssertionError(f"your answer must be a function, got {type(random_pr_auc).__name__}")
    rng, seed = fresh_rng(seed)
    cases = [] if labels is None else [("the notebook's labels", _given_labels(labels))]
    for low, high in ((0.05, 0.2), (0.2, 0.5)):
        n = int(rng.integers(400, 1201))
        r = int(round(n * float(rng.uniform(low, high))))
        cases.append((f"{n} items, {r} positive", rng.permutation(np.r_[np.ones(r), np.zeros(n - r)]).astype(np.int64)))
    small = rng.permutation(np.r_[np.ones(3), np.zeros(9)]).astype(np.int64)
    cases.append(("12 items, 3 positive", small))
    notes = []
    for what, vector in cases:
        where = f"random_pr_auc(labels <{what}>, n_rankings=200, seed=s)"
        given = vector.copy()
        got = one_number(random_pr_auc(given, n_rankings=200, seed=int(rng.integers(0, 2**31))), where, seed)
        expect(np.array_equal(given, vector), f"{where}: your function changed `labels`; shuffle a copy "
               "(rng.permutation returns one) or draw random scores", seed)
        n, r = vector.size, int(vector.sum())
        expected = expected_random_ap(n, r)
        spread = float(_random_ap_draws(rng, n, r, REFERENCE_RANKINGS).std(ddof=1))
        tolerance = RANDOM_AP_Z * spread / math.sqrt(200)
        expect(abs(got - expected) <= tolerance,
               f"{where}: got {got:.4f}; the mean AP of 200 random rankings should be {expected:.4f} "
               f"± {tolerance:.4f} "
               f"(prevalence {r / n:.4f}; a random ranking's expected AP is (H_N + (N - H_N)(R - 1)/(N - 1)) / N, "
               "close to the prevalence when there are many items). Average average_precision(labels, "
               "rng.random(len(labels))) over n_rankings rankings", seed)
        notes.append(f"{what}: {got:.4f} (prevalence {r / n:.4f}, expected {expected:.4f})")
    # the same seed -> the same number; other seeds -> other numbers; n_rankings = 1 -> one ranking's AP
    where = "random_pr_auc(labels <12 items, 3 positive>, n_rankings=50, seed=...)"
    first = [one_number(random_pr_auc(small.copy(), n_rankings=50, seed=s), where, seed) for s in range(4)]
    again = one_number(random_pr_auc(small.copy(), n_rankings=50, seed=0), where, seed)
    expect(again == first[0], f"{where}: seed=0 gave {first[0]!r} and then {again!r}; draw every ranking from "
           "rng = np.random.default_rng(seed), not from unseeded global random numbers", seed)
    expect(len(set(first)) > 1, f"{where}: seeds 0, 1, 2 and 3 all gave {first[0]:.6g}; the answer must come from "
           "random rankings drawn with np.random.default_rng(seed)", seed)
    six = rng.permutation(np.r_[np.ones(2), np.zeros(4)]).astype(np.int64)
    possible = _ap_values_of_every_ranking(6, 2)
    for s in range(3):
        one = one_number(random_pr_auc(six.copy(), n_rankings=1, seed=s), where, seed)
        expect(np.min(np.abs(possible - one)) <= 1e-9,
               f"random_pr_auc(labels <6 items, 2 positive>, n_rankings=1, seed={s}): the answer must be the AP of "
               f"one random ranking (one of {sorted(set(np.round(possible, 4).tolist()))}), got {one:.6g}: use "
               "n_rankings", seed)
    return "; ".join(notes)
