"""Time-ordered walk-forward folds: train, then validation, then test, never overlapping.

Windows are half-open ranges of row positions ``[start, stop)`` in the feature table. A fold's
train window must end where (or before) its validation window starts, and validation before test;
successive folds must have ordered, non-overlapping test windows. Anything else raises ``ValueError``:
a split that lets a model train on days after the ones it is tested on is look-ahead, however it
arose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd


def _window(value, name: str) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a (start, stop) pair of ints, got {value!r}")
    start, stop = value
    for v in (start, stop):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be a (start, stop) pair of ints, got {value!r}")
    start, stop = int(start), int(stop)
    if start < 0 or stop <= start:
        raise ValueError(f"{name} window {value!r} is empty or unordered (need 0 <= start < stop)")
    return start, stop


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: ``train``, ``val`` and ``test`` as ``(start, stop)`` row ranges."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]

    def __post_init__(self) -> None:
        train, val, test = (_window(self.train, "train"), _window(self.val, "val"),
                            _window(self.test, "test"))
        object.__setattr__(self, "train", train)
        object.__setattr__(self, "val", val)
        object.__setattr__(self, "test", test)
        if train[1] > val[0]:
            raise ValueError(f"train {train} overlaps or comes after val {val}: "
                             "training days must all precede validation days")
        if val[1] > test[0]:
            raise ValueError(f"val {val} overlaps or comes after test {test}: "
                             "validation days must all precede test days")

    def days(self, part: str) -> np.ndarray:
        """Row positions of ``part`` (``"train"``, ``"val"`` or ``"test"``), shape (n_part,)."""
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}")
        start, stop = getattr(self, part)
        return np.arange(start, stop)


def check_folds(folds: Sequence[Fold]) -> list[Fold]:
    """Validate a walk-forward sequence: test windows strictly ordered and non-overlapping."""
    folds = list(folds)
    if not folds:
        raise ValueError("folds must not be empty")
    for fold in folds:
        if not isinstance(fold, Fold):
            raise TypeError(f"folds must hold Fold objects, got {type(fold).__name__}")
    for previous, current in zip(folds, folds[1:]):
        if current.test[0] < previous.test[1]:
            raise ValueError(f"test windows {previous.test} and {current.test} overlap or are "
                             "unordered: walk-forward test windows must follow each other in time")
    return folds


def walk_forward_folds(n: int, test_starts: Sequence[int], test_stops: Sequence[int], *,
                       val_size: int, train_start: int = 0) -> list[Fold]:
    """Expanding-window folds over ``n`` rows: fold k trains on ``[train_start, s_k - val_size)``,
    validates on ``[s_k - val_size, s_k)`` and tests on ``[s_k, e_k)``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if len(test_starts) != len(test_stops) or not len(test_starts):
        raise ValueError("test_starts and test_stops must be non-empty and of equal length")
    if isinstance(val_size, bool) or not isinstance(val_size, (int, np.integer)) or val_size < 1:
        raise ValueError(f"val_size must be a positive int, got {val_size!r}")
    folds = []
    for start, stop in zip(test_starts, test_stops):
        if stop > n:
            raise ValueError(f"test window ({start}, {stop}) runs past the {n} rows")
        folds.append(Fold(train=(train_start, start - val_size), val=(start - val_size, start),
                          test=(start, stop)))
    return check_folds(folds)


def _period(period, index: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp]:
    """One inclusive ``(first, last)`` test period as Timestamps, refused when it reaches outside the data."""
    if isinstance(period, (str, bytes)) or not isinstance(period, (tuple, list)) or len(period) != 2:
        raise ValueError(f"each test period must be a (first, last) pair of dates, got {period!r}")
    first, last = (pd.Timestamp(value) for value in period)
    if last < first:
        raise ValueError(f"test period {period[0]}..{period[1]} ends before it starts")
    day = lambda stamp: stamp.strftime("%Y-%m-%d")  # noqa: E731
    naive = index.tz_localize(None) if index.tz is not None else index
    start, end = naive[0].normalize(), naive[-1].normalize()
    # a period may reach past the data over a weekend (a year ending on a Saturday), not over a business day
    if last > end and np.busday_count((end + pd.Timedelta(days=1)).date(), (last + pd.Timedelta(days=1)).date()) > 0:
        raise ValueError(f"test period {day(first)}..{day(last)} ends after the data's last day {day(end)}: "
                         "the missing days would be silently dropped from the test; end the period at the "
                         "data's last day or load more data")
    if first < start and np.busday_count(first.date(), start.date()) > 0:
        raise ValueError(f"test period {day(first)}..{day(last)} starts before the data's first day {day(start)}")
    return first, last


def folds_from_dates(index: pd.DatetimeIndex, test_periods: Sequence[tuple[str, str]], *,
                     val_size: int, train_start: int = 0) -> list[Fold]:
    """:func:`walk_forward_folds` with test windows given as inclusive date ranges, e.g.
    ``[("2007-01-01", "2010-12-31"), ...]``.

    A period that starts before the first date of ``index`` or ends after its last one (with business
    days in between; a weekend is fine) raises ``ValueError``: clipping it would silently test on fewer
    days than asked for. :func:`course_lib.finance.check_walk_forward` adds checks of the training history.
    """
    if not isinstance(index, pd.DatetimeIndex) or not index.is_monotonic_increasing or not len(index):
        raise ValueError("index must be a non-empty sorted pandas DatetimeIndex")
    if isinstance(test_periods, (str, bytes)) or not hasattr(test_periods, "__len__") or not len(test_periods):
        raise ValueError("test_periods must be a non-empty list of (first, last) date pairs")
    starts, stops = [], []
    for period in test_periods:
        first, last = _period(period, index)
        start = int(index.searchsorted(first, side="left"))
        stop = int(index.searchsorted(last, side="right"))
        if stop <= start:
            raise ValueError(f"test period {period[0]}..{period[1]} holds no trading days")
        starts.append(start)
        stops.append(stop)
    return walk_forward_folds(len(index), starts, stops, val_size=val_size, train_start=train_start)


def validation_as_test(fold: Fold) -> Fold:
    """A fold whose *test* window is ``fold``'s validation window, for tuning on validation data.

    Every forecaster forecasts ``fold.test``; passing ``validation_as_test(fold)`` makes it forecast the
    validation days instead, from the same first training day and only the days before them. Its own
    ``val`` is the single day before the validation window (a Fold needs one; forecasters that do not
    early-stop ignore it). Needs at least two training days.
    """
    if not isinstance(fold, Fold):
        raise TypeError(f"fold must be a Fold, got {type(fold).__name__}")
    if fold.val[0] - fold.train[0] < 2:
        raise ValueError(f"fold {fold} has fewer than 2 training days before its validation window")
    return Fold(train=(fold.train[0], fold.val[0] - 1), val=(fold.val[0] - 1, fold.val[0]), test=fold.val)
