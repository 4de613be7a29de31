"""Quality checks of daily price data before any model sees it: errors for the impossible, loud
warnings for the suspicious.

Input: ``prices``, a DataFrame indexed by a :class:`pandas.DatetimeIndex` (one row per trading day)
with columns Open, High, Low, Close (price units, e.g. index points or dollars) and optionally
Adj Close — what ``course_lib.data.load_local(path, "prices")`` and the course's S&P 500 give.

- **Errors** (``ValueError`` naming the first offending dates and the count): an index that is not
  a DatetimeIndex, unsorted or duplicate dates, missing columns, non-finite or non-positive prices in
  any of Open/High/Low/Close/Adj Close, High < Low.
- **Loud warnings** (:class:`DataQualityWarning`, the message starts with ``"DATA CHECK:"``; with
  ``strict=True`` a ``ValueError`` instead), also listed in the returned :class:`PriceCheck`:
  daily moves of the return column with |log return| above ``max_abs_log_return`` (an unadjusted 2:1
  split is a log return of −ln 2 = −0.69; a 1:7 split −1.95, the "−193 %" of a percent log return),
  gaps of more than ``max_gap_business_days`` business days (Mon–Fri) from one row to the next (a
  missing year of rows is a gap of ~260), and Open or Close outside [Low, High] by more than a 1e-9
  relative tolerance (many vendors' files hold a few such rows).

:func:`check_walk_forward` checks the test periods of a walk-forward evaluation against the data:
periods outside the data are errors, a first fold with little training history is a loud warning.

Gap lengths count business days from one row to the next with :func:`numpy.busday_count`:
consecutive trading days give 1, a weekend 1, a Friday-to-Tuesday holiday 2; exchange holidays are
not known, so the S&P 500's longest gap, the 2001-09-11 closure (2001-09-10 -> 2001-09-17), is 5.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from course_lib.finance.splits import Fold, _period, folds_from_dates

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
RANGE_TOLERANCE = 1e-9  # relative: Open/Close may exceed [Low, High] by this much (rounding in files)
MIN_TRAIN_ROWS = 50  # below this the first fold cannot fit even a GARCH(1,1): an error, not a warning
_SHOWN = 5  # offending dates named in a message


class DataQualityWarning(UserWarning):
    """A suspicious feature of the data (a split-like jump, a gap, a short history): the run goes on,
    but the numbers it produces may be wrong. Messages start with ``"DATA CHECK:"``."""


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _dates(index, positions=None) -> str:
    chosen = index if positions is None else index[positions]
    shown = ", ".join(_day(d) for d in chosen[:_SHOWN])
    return shown + (f", ... ({len(chosen) - _SHOWN} more)" if len(chosen) > _SHOWN else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _day_index(index: pd.DatetimeIndex) -> np.ndarray:
    """Dates as numpy days (time zone and time of day dropped) for business-day arithmetic."""
    if index.tz is not None:
        index = index.tz_localize(None)
    return index.values.astype("datetime64[D]")


@dataclass(frozen=True)
class PriceCheck:
    """What :func:`check_prices` found.

    Attributes:
        n_days: rows (trading days) in the data.
        first, last: the first and last date.
        return_column: the column the daily log returns were computed from (Adj Close when present).
        max_abs_log_return: the largest |daily log return| in the data (unitless, not percent), and
            ``max_move_date`` the day it happened.
        longest_gap: the largest step in business days from one row to the next (1 without gaps).
        jumps: ``(date, log_return)`` for each |log return| above the threshold (the day of arrival).
        gaps: ``(previous row's date, next row's date, business days between them)`` for each gap.
        outside_range: dates where Open or Close lies outside [Low, High].
        messages: the warning messages emitted (each starts with ``"DATA CHECK:"``).
    """

    n_days: int
    first: pd.Timestamp
    last: pd.Timestamp
    return_column: str
    max_abs_log_return: float
    max_move_date: pd.Timestamp | None
    longest_gap: int
    jumps: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    outside_range: list = field(default_factory=list)
    messages: list = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing was flagged (no jump, gap or out-of-range row)."""
        return not (self.jumps or self.gaps or self.outside_range)

    def report(self) -> str:
        """A few lines: the span, the extremes, and every problem found."""
        lines = [f"{self.n_days} trading days {_day(self.first)}..{_day(self.last)}; "
                 f"largest |daily log return| of {self.return_column}: {self.max_abs_log_return:.4f}"
                 + (f" on {_day(self.max_move_date)}" if self.max_move_date is not None else "")
                 + f"; longest step between rows: {self.longest_gap} business days"]
        lines.extend(self.messages)
        if self.clean:
            lines.append("no jumps, gaps or out-of-range rows found")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def _check_index(index, name: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"{name} must be a pandas DatetimeIndex (one row per day), got {type(index).__name__}; "
                         "parse the dates, e.g. frame.set_index(pd.to_datetime(frame['Date']))")
    if len(index) and index.hasnans:
        raise ValueError(f"{name} holds {int(index.isna().sum())} missing dates (NaT)")
    duplicated = index.duplicated(keep="first")
    if duplicated.any():
        raise ValueError(f"{name} has {_plural(int(duplicated.sum()), 'duplicate date')}: "
                         f"{_dates(index, np.flatnonzero(duplicated))}; keep one row per day")
    steps = np.flatnonzero(index[1:] < index[:-1]) + 1
    if steps.size:
        first = steps[0]
        raise ValueError(f"{name} is not sorted: {_plural(steps.size, 'row')} come before the row above them, "
                         f"first {_day(index[first])} after {_day(index[first - 1])}; sort with .sort_index()")
    return index


def _validate_prices(prices) -> tuple[pd.DataFrame, list[str]]:
    if not isinstance(prices, pd.DataFrame):
        raise TypeError(f"prices must be a pandas DataFrame, got {type(prices).__name__}")
    _check_index(prices.index, "prices.index")
    if len(prices) < 2:
        raise ValueError(f"prices needs at least 2 rows (days), got {len(prices)}")
    missing = [c for c in PRICE_COLUMNS if c not in prices.columns]
    if missing:
        raise ValueError(f"prices lacks columns {missing}; it has {list(map(str, prices.columns))} "
                         f"and needs {list(PRICE_COLUMNS)} (rename them, or pass columns= to the loader)")
    columns = list(PRICE_COLUMNS) + (["Adj Close"] if "Adj Close" in prices.columns else [])
    for column in columns:
        try:
            values = prices[column].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"prices column {column!r} is not numeric") from None
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"prices column {column!r} has {_plural(bad.size, 'missing or non-finite value')} "
                             f"on {_dates(prices.index, bad)}; fill or drop these rows first")
        bad = np.flatnonzero(values <= 0)
        if bad.size:
            raise ValueError(f"prices column {column!r} has {_plural(bad.size, 'non-positive price')} "
                             f"on {_dates(prices.index, bad)} (e.g. {values[bad[0]]:g}); prices must be > 0")
    high, low = prices["High"].to_numpy(dtype=float), prices["Low"].to_numpy(dtype=float)
    bad = np.flatnonzero(high < low)
    if bad.size:
        raise ValueError(f"prices has {_plural(bad.size, 'row')} with High < Low on {_dates(prices.index, bad)} "
                         f"(first: High {high[bad[0]]:g} < Low {low[bad[0]]:g}); columns swapped or a data error")
    return prices, columns


def check_prices(prices: pd.DataFrame, *, max_abs_log_return: float = 0.25, max_gap_business_days: int = 5,
                 strict: bool = False) -> PriceCheck:
    """Check daily OHLC prices; raise on impossible rows, warn loudly on suspicious ones.

    Args:
        prices: DataFrame with a sorted DatetimeIndex and columns Open, High, Low, Close (> 0), optionally
            Adj Close (then the returns are computed from it, as :func:`~course_lib.finance.make_features` does).
        max_abs_log_return: flag days whose |ln(P_t / P_{t−1})| exceeds it (0.25: a −22 % or +28 % day; the
            S&P 500's worst day in 1999–2018 was 0.11 and its 1987 crash 0.23).
        max_gap_business_days: flag steps between consecutive rows longer than this many business days.
        strict: raise ``ValueError`` instead of warning.

    Returns:
        A :class:`PriceCheck`; every flagged problem is also emitted as a :class:`DataQualityWarning`.
    """
    max_abs_log_return = _positive_number(max_abs_log_return, "max_abs_log_return")
    max_gap_business_days = _positive_int(max_gap_business_days, "max_gap_business_days")
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict must be True or False, got {strict!r}")
    prices, _ = _validate_prices(prices)
    index = prices.index
    return_column = "Adj Close" if "Adj Close" in prices.columns else "Close"
    moves = np.diff(np.log(prices[return_column].to_numpy(dtype=float)))  # (n-1,), day t = row t+1
    steps = np.busday_count(_day_index(index[:-1]), _day_index(index[1:]))  # (n-1,)
    messages = []

    jump_rows = np.flatnonzero(np.abs(moves) > max_abs_log_return)
    jumps = [(index[i + 1], float(moves[i])) for i in jump_rows]
    if jumps:
        listed = ", ".join(f"{_day(d)} (log return {r:+.2f}, {100 * r:+.0f} % in the percent 'ret' column; "
                           f"price {np.expm1(r):+.0%})" for d, r in jumps[:_SHOWN])
        more = f", ... ({len(jumps) - _SHOWN} more)" if len(jumps) > _SHOWN else ""
        messages.append(
            f"DATA CHECK: {_plural(len(jumps), 'day')} with |daily log return| of {return_column} above "
            f"{max_abs_log_return:g}: {listed}{more}. This looks like an unadjusted split or a data error: "
            f"use adjusted prices (split-adjusted Open/High/Low/Close or an 'Adj Close' column) or fix these rows.")

    gap_rows = np.flatnonzero(steps > max_gap_business_days)
    gaps = [(index[i], index[i + 1], int(steps[i])) for i in gap_rows]
    if gaps:
        listed = ", ".join(f"{_day(a)} -> {_day(b)} ({n} business days)" for a, b, n in gaps[:_SHOWN])
        more = f", ... ({len(gaps) - _SHOWN} more)" if len(gaps) > _SHOWN else ""
        missing = int(sum(n - 1 for _, _, n in gaps))
        messages.append(
            f"DATA CHECK: {_plural(len(gaps), 'gap')} longer than {max_gap_business_days} business days between "
            f"consecutive rows: {listed}{more}; about {missing} business days of rows are missing. A return across "
            f"a gap spans many days but is treated as one day, and windows of 'the last 22 days' reach back "
            f"across it: fill in the missing rows or start the data after the gap.")

    high, low = prices["High"].to_numpy(dtype=float), prices["Low"].to_numpy(dtype=float)
    slack_high, slack_low = high * (1 + RANGE_TOLERANCE), low * (1 - RANGE_TOLERANCE)
    outside = np.zeros(len(prices), dtype=bool)
    for column in ("Open", "Close"):
        values = prices[column].to_numpy(dtype=float)
        outside |= (values > slack_high) | (values < slack_low)
    outside_rows = np.flatnonzero(outside)
    if outside_rows.size:
        messages.append(
            f"DATA CHECK: {_plural(outside_rows.size, 'row')} with Open or Close outside [Low, High]: "
            f"{_dates(index, outside_rows)}. Many vendors' files hold a few such rows; the Parkinson proxy uses "
            f"High and Low only, the Garman–Klass proxy also Open and Close. Check the file if there are many.")

    if messages and strict:
        raise ValueError("\n".join(messages))
    for message in messages:
        warnings.warn(message, DataQualityWarning, stacklevel=2)
    largest = int(np.argmax(np.abs(moves)))
    return PriceCheck(n_days=len(prices), first=index[0], last=index[-1], return_column=return_column,
                      max_abs_log_return=float(abs(moves[largest])), max_move_date=index[largest + 1],
                      longest_gap=int(steps.max()), jumps=jumps, gaps=gaps,
                      outside_range=[index[i] for i in outside_rows], messages=messages)


def check_walk_forward(index: pd.DatetimeIndex, test_periods: Sequence[tuple[str, str]], *, val_size: int,
                       min_train_days: int = 750, train_start: int = 0) -> list[Fold]:
    """:func:`~course_lib.finance.folds_from_dates` with checks of the periods against the data.

    Args:
        index: the dates of the feature table, sorted, one per row.
        test_periods: inclusive date ranges ``[("2007-01-01", "2010-12-31"), ...]``.
        val_size: validation rows before each test window.
        min_train_days: a first fold with fewer training rows than this gets a :class:`DataQualityWarning`
            (750 ≈ three trading years; the first fold has the fewest, the window expands).
        train_start: first training row.

    Raises ``ValueError`` for a test period starting before the data's first day or ending after its last
    day (with business days missing in between), and when the first fold would train on fewer than
    ``MIN_TRAIN_ROWS`` (50) rows.
    """
    index = _check_index(index, "index")
    val_size = _positive_int(val_size, "val_size")
    min_train_days = _positive_int(min_train_days, "min_train_days")
    if isinstance(train_start, bool) or not isinstance(train_start, (int, np.integer)) or train_start < 0:
        raise ValueError(f"train_start must be an int >= 0, got {train_start!r}")
    if isinstance(test_periods, (str, bytes)) or not hasattr(test_periods, "__len__") or not len(test_periods):
        raise ValueError("test_periods must be a non-empty list of (first, last) date pairs")
    if not len(index):
        raise ValueError("index is empty")
    first_start = min(int(index.searchsorted(_period(p, index)[0], side="left")) for p in test_periods)
    train_rows = int(first_start) - val_size - int(train_start)
    if train_rows < MIN_TRAIN_ROWS:
        start_day = _day(index[min(int(first_start), len(index) - 1)])
        raise ValueError(
            f"the first test window starts at row {int(first_start)} ({start_day}): "
            f"after {val_size} validation rows that leaves {max(train_rows, 0)} training rows, fewer than "
            f"{MIN_TRAIN_ROWS}; move the test start later, shorten val_size or add history")
    folds = folds_from_dates(index, test_periods, val_size=val_size, train_start=train_start)
    first = folds[0]
    n_train = first.train[1] - first.train[0]
    if n_train < min_train_days:
        warnings.warn(
            f"DATA CHECK: only {n_train} training days "
            f"({_day(index[first.train[0]])}..{_day(index[first.train[1] - 1])}) "
            f"before the first test window {_day(index[first.test[0]])} (min_train_days={min_train_days}): the first "
            f"fold's models see little of the market's history, and a calm training period followed by a crisis "
            f"can make neural models look worse than they are, or better. Add history or move the test start.",
            DataQualityWarning, stacklevel=2)
    return folds
