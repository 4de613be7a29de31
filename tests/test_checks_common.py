"""course_lib.checks._common: fresh inputs with a reproducible seed, messages that name it, and the
refusal of the library function where the exercise is to write it."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from course_lib import foundations
from course_lib.checks._common import SEED_BOUND, assert_close, expect, fresh_rng, require_own_code, seed_note


# ------------------------------------------------------------------ fresh_rng
def test_fresh_rng_draws_a_new_seed_each_time_and_reproduces_a_given_one():
    seeds = {fresh_rng()[1] for _ in range(20)}
    assert len(seeds) > 1 and all(0 <= s < SEED_BOUND for s in seeds)
    rng, seed = fresh_rng()
    first = rng.normal(size=5)
    again, same = fresh_rng(seed)
    assert same == seed and np.array_equal(again.normal(size=5), first)  # same seed, same generator: exact
    assert isinstance(fresh_rng(np.int64(7))[1], int)


@pytest.mark.parametrize("seed, error, words", [(-1, ValueError, r"\[0, 2\*\*32\)"), (2**32, ValueError, "2"),
                                                (1.5, TypeError, "float"), ("3", TypeError, "str"),
                                                (True, TypeError, "bool")])
def test_fresh_rng_refuses_bad_seeds_clearly(seed, error, words):
    with pytest.raises(error, match=words):
        fresh_rng(seed)


def test_seed_note_and_expect_name_the_seed():
    assert seed_note(12) == "(random inputs from seed 12: pass seed=12 to the check to reproduce)"
    expect(True, "never shown", 12)
    with pytest.raises(AssertionError, match=r"^wrong shape \(random inputs from seed 12"):
        expect(False, "wrong shape", 12)
    with pytest.raises(ValueError, match="message"):
        expect(False, "", 12)
    with pytest.raises(TypeError, match="int"):
        seed_note("12")


# ------------------------------------------------------------------ assert_close
def test_assert_close_accepts_arrays_tensors_and_lists_within_tolerance():
    reference = np.linspace(0, 1, 6).reshape(2, 3)
    assert_close(reference + 1e-10, reference, rtol=0, atol=1e-9, what="x", seed=1)
    assert_close(torch.tensor(reference, requires_grad=True) * 1, reference, rtol=1e-12, atol=0, what="x", seed=1)
    assert_close(reference.tolist(), reference, rtol=0, atol=0, what="x", seed=1)


@pytest.mark.parametrize("answer, words", [
    (None, "forget to `return`"),
    (np.zeros((3, 2)), r"expected shape \(2, 3\), got \(3, 2\)"),
    ("abc", "array of numbers"),
    (np.full((2, 3), np.nan), "NaN"),
    (np.ones((2, 3)), r"largest \|difference\| 1 at index \(0, 0\)"),
])
def test_assert_close_says_what_is_wrong_and_names_the_seed(answer, words):
    with pytest.raises(AssertionError, match=words) as raised:
        assert_close(answer, np.linspace(0, 1, 6).reshape(2, 3), rtol=1e-6, atol=1e-9, what="f(x)", seed=99)
    assert "seed 99" in str(raised.value) and "f(x)" in str(raised.value)


@pytest.mark.parametrize("kwargs, words", [({"rtol": -1}, "non-negative"), ({"atol": "1e-3"}, "non-negative"),
                                           ({"what": ""}, "what")])
def test_assert_close_refuses_a_badly_written_check(kwargs, words):
    arguments = {"rtol": 0, "atol": 0, "what": "x", "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=words):
        assert_close(np.zeros(2), np.zeros(2), **arguments)


# ------------------------------------------------------------------ require_own_code
# Answers written as a notebook cell would write them: compiled from text with their own globals.
CELL = '''
import numpy as np
import torch
from torch import sigmoid as squash
from course_lib import foundations
from course_lib.foundations import relu


def honest(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def honest_recursive(z, depth=1):
    return honest(z) if depth == 0 else honest_recursive(z, depth - 1)


wrapper = lambda z: foundations.relu(z)          # calls the library by attribute


def through_alias(z):
    return squash(z)                               # torch.sigmoid under another name


def nested(z):
    def inner(v):
        return relu(v)                             # the library function inside a nested def
    return inner(z)


def make_closure():
    library = foundations.relu
    def answer(z):
        return library(z)                          # captured in a closure under another name
    return answer


class Callable:
    def __call__(self, z):
        return foundations.relu(z)


def helper(z):
    return squash(z)


def through_a_helper(z):
    return 2 * helper(z)                           # the library function one call away


def mutual_a(z, n=2):
    return z if n == 0 else mutual_b(z, n - 1)     # honest mutual recursion: must terminate


def mutual_b(z, n):
    return mutual_a(z, n)
'''
_cell: dict = {}
exec(compile(CELL, "<notebook cell>", "exec"), _cell)


@pytest.mark.parametrize("name", ["honest", "honest_recursive", "mutual_a"])
def test_require_own_code_accepts_honest_code(name):
    require_own_code(_cell[name], foundations.relu, torch.sigmoid, "sigmoid_derivative")
    # a recursive answer whose name is forbidden is not refused for calling itself
    require_own_code(_cell["honest_recursive"], "honest_recursive")


@pytest.mark.parametrize("answer, forbidden", [
    (foundations.relu, (foundations.relu,)),                                  # the library function itself
    (torch.sigmoid, (torch.sigmoid,)),                                        # a builtin
    (functools.partial(foundations.relu), (foundations.relu,)),              # partial of it
    (_cell["wrapper"], (foundations.relu,)),                                  # lambda calling it by attribute
    (_cell["through_alias"], (torch.sigmoid,)),                               # imported under another name
    (_cell["nested"], (foundations.relu,)),                                   # a nested def calls it
    (_cell["make_closure"](), (foundations.relu,)),                           # closure under another name
    (_cell["Callable"](), (foundations.relu,)),                               # a callable object
    (_cell["wrapper"], ("relu",)),                                            # forbidden by name
    (functools.wraps(foundations.relu)(lambda z: z), (foundations.relu,)),   # a decorator's wrapper
    (_cell["through_a_helper"], (torch.sigmoid,)),                            # via a notebook helper
    (_cell["through_a_helper"], ("sigmoid",)),                                # ... also by name
])
def test_require_own_code_refuses_the_library_function_however_it_is_reached(answer, forbidden):
    with pytest.raises(AssertionError, match=r"asks you to write it, not to call `(relu|sigmoid)`"):
        require_own_code(answer, *forbidden)


def test_require_own_code_refuses_a_non_function_answer_and_a_badly_written_check():
    with pytest.raises(AssertionError, match="must be a function, got NoneType"):
        require_own_code(None, foundations.relu)
    with pytest.raises(ValueError, match="at least one"):
        require_own_code(_cell["honest"])
    with pytest.raises(TypeError, match="callables or names"):
        require_own_code(_cell["honest"], 3)
    with pytest.raises(ValueError, match="identifier"):
        require_own_code(_cell["honest"], "F.conv2d")
