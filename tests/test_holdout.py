"""The sealed test split: handed out for the final evaluation, every opening counted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from course_lib.holdout import SealedSplit, TestSplitReuseWarning


def test_open_returns_the_parts_and_counts_per_model_and_seed():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    test = SealedSplit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a first opening never warns
        for seed in (0, 1, 2):
            got_X, got_y = test.open("MLP", seed=seed)
            assert got_X is X and got_y is y
        test.open("logistic regression")
    assert test.evaluations("MLP") == 1 and test.evaluations("logistic regression") == 1
    assert test.evaluations("never") == 0
    assert test.seeds("MLP") == [0, 1, 2] and test.models == ["MLP", "logistic regression"]
    assert len(test) == 4 and test.name == "test"


def test_a_second_opening_warns_and_is_counted():
    test = SealedSplit([1, 2, 3], name="dev")
    assert test.open("CNN", seed=0) == [1, 2, 3]  # one part comes back as itself, not a tuple
    with pytest.warns(TestSplitReuseWarning, match=r"the dev split was opened 2 times for CNN \(seed 0\)"):
        test.open("CNN", seed=0)
    test.open("CNN")
    with pytest.warns(TestSplitReuseWarning, match="opened [23] times for CNN: choose on validation"):
        test.open("CNN")
        test.open("CNN")
    assert test.evaluations("CNN") == 3


def test_repr_shows_no_data():
    test = SealedSplit(np.arange(1000) * 7919)
    test.open("A")
    assert "7919" not in repr(test) and "opened by ['A']" in repr(test)


@pytest.mark.parametrize("call, message", [
    (lambda: SealedSplit(), "SealedSplit needs the split's data"),
    (lambda: SealedSplit([1], name=""), "name must be a non-empty split name"),
    (lambda: SealedSplit([1]).open(""), "model must be a non-empty name"),
    (lambda: SealedSplit([1]).open(None), "model must be a non-empty name"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
