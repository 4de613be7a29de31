"""The test split, sealed: handed out only for a model's final evaluation, and counted.

A test score is an honest estimate of how a model does on new data only if nothing about the model
was chosen by looking at that score. So the test split is wrapped in a :class:`SealedSplit` as soon
as it is made; exploration (thresholds, calibration, learning curves, sweeps) uses validation, and
the final evaluation of each model opens the split once::

    test = SealedSplit(X_test, y_test)          # nothing else keeps X_test / y_test
    ...
    X, y = test.open("MLP", seed=seed)          # inside the final evaluation only

Every :meth:`SealedSplit.open` is counted per model (and per seed), and the results ledger records
the count next to the model's scores; the ledger tests require it to be exactly 1.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, Hashable


class TestSplitReuseWarning(UserWarning):
    """A model was scored on the test split more than once."""

    __test__ = False  # a warning class, not a pytest test class


class SealedSplit:
    """Holds the test split's arrays and counts who opens it.

    Args:
        *parts: the arrays (or any objects) that make up the split, e.g. ``X_test, y_test``;
            :meth:`open` returns them as given (one part alone, several as a tuple).
        name: the split's name as recorded in the ledger (``"test"``; SST-2 uses ``"dev"``, because
            GLUE keeps its test labels private and the dev set serves as the held-out test).
    """

    __test__ = False

    def __init__(self, *parts: Any, name: str = "test"):
        if not parts:
            raise ValueError("SealedSplit needs the split's data, e.g. SealedSplit(X_test, y_test)")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty split name, got {name!r}")
        self.name = name
        self._parts = parts
        self._opened: Counter[tuple[str, Hashable]] = Counter()

    def open(self, model: str, seed: Hashable = None) -> Any:
        """The split's data, for the final evaluation of ``model`` (trained with ``seed``).

        Counts the opening; opening it again for the same model and seed warns, and the ledger will
        show the count (which must be 1).
        """
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"model must be a non-empty name, got {model!r}")
        key = (model, seed)
        self._opened[key] += 1
        if self._opened[key] > 1:
            where = model if seed is None else f"{model} (seed {seed})"
            warnings.warn(f"the {self.name} split was opened {self._opened[key]} times for {where}: "
                          "choose on validation, score on test once", TestSplitReuseWarning, stacklevel=2)
        return self._parts[0] if len(self._parts) == 1 else self._parts

    def evaluations(self, model: str) -> int:
        """How many times ``model`` was scored on the split: the most for any one seed (0 if never)."""
        counts = [count for (name, _), count in self._opened.items() if name == model]
        return max(counts, default=0)

    def seeds(self, model: str) -> list:
        """The seeds ``model`` was scored with, in the order they were first opened."""
        return [seed for (name, seed) in self._opened if name == model]

    @property
    def models(self) -> list[str]:
        """Every model that opened the split, in order of first opening."""
        return list(dict.fromkeys(name for name, _ in self._opened))

    def __len__(self) -> int:
        return len(self._parts[-1]) if hasattr(self._parts[-1], "__len__") else 0

    def __repr__(self) -> str:
        return f"SealedSplit(name={self.name!r}, parts={len(self._parts)}, opened by {self.models})"
