"""What every exercise check needs: fresh random inputs with a reproducible seed, a failure message
that names it, a tolerance-aware comparison, and the refusal of the library function itself.

Typical check (see :mod:`course_lib.checks` for the protocol)::

    def check_relu(answer, *, seed=None):
        require_own_code(answer, foundations.relu, torch.relu, "relu")
        rng, seed = fresh_rng(seed)
        z = rng.normal(size=(rng.integers(2, 6), rng.integers(2, 6)))
        # float64 elementwise max is exact; 0 tolerance would do, 1e-12 allows a learner's z * (z > 0)
        assert_close(answer(z), np.maximum(z, 0), rtol=0, atol=1e-12, what="relu(z)", seed=seed)

Public API:

- :func:`fresh_rng` ``(seed=None) -> (numpy.random.Generator, seed)``: a new seed from
  :mod:`secrets` when ``seed`` is None, otherwise the given one (to reproduce a failure).
- :func:`seed_note` ``(seed) -> str``: the sentence every failure message ends with.
- :func:`expect` ``(condition, message, seed)``: AssertionError(``message`` + seed note) unless true.
- :func:`assert_close` ``(answer, expected, *, rtol, atol, what, seed)``: shape, finiteness and
  values of an array answer (NumPy array, torch tensor or nested lists), with the largest difference
  in the message.
- :func:`require_own_code` ``(answer, *forbidden)``: AssertionError when ``answer`` is one of the
  ``forbidden`` callables (or an alias, partial or wrapper of one), or its code names one of them.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import secrets
import types
from typing import Callable

import numpy as np

#: Seeds are drawn below this bound (fits any NumPy seed and reads well in a message).
SEED_BOUND = 2**32


def fresh_rng(seed: int | None = None) -> tuple[np.random.Generator, int]:
    """A NumPy Generator for a check's inputs and the seed it was made from.

    Args:
        seed: None (the normal case): draw a new seed from :mod:`secrets`, so the learner cannot know
            the inputs in advance. An int in ``[0, 2**32)``: use it, to reproduce a reported failure.

    Returns:
        ``(rng, seed)``: ``rng = numpy.random.default_rng(seed)``; put ``seed`` in every failure
        message (:func:`seed_note`).

    Raises:
        TypeError: ``seed`` is not None or an int (a bool is refused too).
        ValueError: ``seed`` is negative or not below ``2**32``.
    """
    if seed is None:
        seed = secrets.randbelow(SEED_BOUND)
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None or an int, got {type(seed).__name__}")
    elif not 0 <= int(seed) < SEED_BOUND:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    return np.random.default_rng(seed), seed


def seed_note(seed: int) -> str:
    """``"(random inputs from seed 1234: pass seed=1234 to the check to reproduce)"``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return f"(random inputs from seed {int(seed)}: pass seed={int(seed)} to the check to reproduce)"


def expect(condition, message: str, seed: int) -> None:
    """Raise ``AssertionError(message + " " + seed_note(seed))`` unless ``condition`` is true."""
    if not isinstance(message, str) or not message.strip():
        raise ValueError("message must be a non-empty string saying what is wrong")
    if not condition:
        raise AssertionError(f"{message} {seed_note(seed)}")


def _as_array(value, what: str, seed: int) -> np.ndarray:
    expect(value is not None, f"{what} is None: did your function forget to `return` its result?", seed)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must be an array of numbers, got {type(value).__name__} "
                             f"{seed_note(seed)}") from None
    return array


def one_number(value, what: str, seed: int) -> float:
    """A learner's scalar answer (Python or NumPy number, 0-d or size-1 array, one-element tensor) as a
    finite float; anything else fails with a message that says what was returned."""
    expect(value is not None, f"{what} is None: did your function forget to `return` its result?", seed)
    if hasattr(value, "detach") and hasattr(value, "item"):  # a torch tensor
        value = value.detach().cpu()
        expect(value.numel() == 1, f"{what} must be one number, got a tensor of shape {tuple(value.shape)}", seed)
        value = value.item()
    if isinstance(value, np.ndarray):
        expect(value.size == 1, f"{what} must be one number, got an array of shape {value.shape}", seed)
        value = value.reshape(()).item()
    expect(isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)),
           f"{what} must be a number, got {type(value).__name__}", seed)
    value = float(value)
    expect(math.isfinite(value), f"{what} must be finite, got {value}", seed)
    return value


def assert_close(answer, expected, *, rtol: float, atol: float, what: str, seed: int) -> None:
    """Compare an array answer with the reference: same shape, finite, ``np.allclose(rtol, atol)``.

    The tolerances are the caller's, justified by dtype and operation (say why in a comment). The
    message names ``what``, the shapes or the largest absolute difference and where it is, and the seed.

    Raises:
        AssertionError: the answer is None, not numeric, of another shape, not finite where the
            reference is, or differs by more than the tolerance.
        ValueError: negative tolerances or an empty ``what`` (a mistake in the check).
    """
    if not (isinstance(rtol, (int, float)) and isinstance(atol, (int, float))) or rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be non-negative numbers, got rtol={rtol!r}, atol={atol!r}")
    if not isinstance(what, str) or not what.strip():
        raise ValueError("what must name the compared value, e.g. 'max_pool_2x2(x)'")
    got = _as_array(answer, what, seed)
    reference = np.asarray(expected, dtype=np.float64)
    expect(got.shape == reference.shape, f"{what}: expected shape {reference.shape}, got {got.shape}", seed)
    expect(np.array_equal(np.isfinite(got), np.isfinite(reference)),
           f"{what}: has NaN or infinite values where the reference has none", seed)
    if not np.allclose(got, reference, rtol=rtol, atol=atol, equal_nan=True):
        difference = np.where(np.isfinite(reference), np.abs(got - reference), 0.0)
        where = np.unravel_index(int(np.argmax(difference)), difference.shape) if difference.ndim else ()
        raise AssertionError(
            f"{what}: values differ from the reference; largest |difference| {difference.max():.3g} at index "
            f"{tuple(int(i) for i in where)} (your value {got[where]:.6g}, expected {reference[where]:.6g}; "
            f"tolerance rtol={rtol:g}, atol={atol:g}) {seed_note(seed)}")


# ----------------------------------------------------------------------------- require_own_code
def _forbidden_name(item) -> str:
    if isinstance(item, str):
        if not item.isidentifier():
            raise ValueError(f"a forbidden name must be a Python identifier, got {item!r}")
        return item
    if not callable(item):
        raise TypeError(f"forbidden must be callables or names (str), got {type(item).__name__}")
    name = getattr(item, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"forbidden callable {item!r} has no usable __name__; pass its name as a str")
    return name


def _unwrap(fn) -> list:
    """``fn`` and what it stands for: the function of a partial or bound method, ``__wrapped__``."""
    seen, todo, out = set(), [fn], []
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        out.append(item)
        if isinstance(item, functools.partial):
            todo.append(item.func)
            todo.extend(a for a in (*item.args, *item.keywords.values()) if callable(a))
        for attribute in ("__func__", "__wrapped__"):
            inner = getattr(item, attribute, None)
            if inner is not None:
                todo.append(inner)
    return out


def _code_objects(code: types.CodeType):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _same(a, b) -> bool:
    try:
        return a is b or (callable(a) and bool(a == b) and type(a) is type(b))
    except Exception:  # an object whose == is unusual (e.g. an array): not the same function
        return False


def require_own_code(answer, *forbidden: Callable | str) -> None:
    """Refuse an answer that is, or calls, a function the exercise asks the learner to write.

    Args:
        answer: the learner's function (or callable object).
        forbidden: the library callables the exercise replaces (the course_lib function, the torch or
            sklearn one), or their names as str.

    Raises:
        AssertionError ("... asks you to write it, not to call `name`") when ``answer`` IS one of the
        forbidden callables (also through a ``functools.partial``, a bound method or
        ``functools.wraps``), or when its code — including nested functions, lambdas and the
        ``__call__`` of a callable object, and every helper function of the notebook it calls — names
        one of them (a global, an attribute such as ``F.conv2d``, or a closure variable), or refers
        to one under another name (an alias such as ``from torch.nn.functional import conv2d as c``).
        AssertionError when ``answer`` is not callable (the learner's answer is not a function).
        ValueError / TypeError: no ``forbidden`` given, or an item that is neither callable nor an
        identifier (a mistake in the check).

    A recursive answer whose own name equals a forbidden name is not refused for calling itself.
    """
    if not forbidden:
        raise ValueError("require_own_code needs at least one forbidden callable or name")
    names = {_forbidden_name(item): item for item in forbidden}
    objects = [item for item in forbidden if not isinstance(item, str)]
    if answer is None or not callable(answer):
        raise AssertionError(f"your answer must be a function, got {type(answer).__name__}")

    def refuse(name: str):
        raise AssertionError(f"this exercise asks you to write it, not to call `{name}`: "
                             "write the computation yourself (you may use NumPy/torch basics)")

    for item in _unwrap(answer):
        for bad in objects:
            if _same(item, bad):
                refuse(_forbidden_name(bad))
    functions = []
    for item in _unwrap(answer):
        if inspect.isfunction(item):
            functions.append(item)
        elif not inspect.isbuiltin(item) and not isinstance(item, type):
            call = getattr(type(item), "__call__", None)
            if inspect.isfunction(call):
                functions.append(call)
    own_globals = {id(f.__globals__) for f in functions}
    seen: set[int] = set()
    while functions:  # the answer's code, then every function of the notebook it calls, transitively
        function = functions.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        namespace = function.__globals__
        closure = dict(zip(function.__code__.co_freevars,
                           (cell.cell_contents if _filled(cell) else None for cell in function.__closure__ or ())))
        for code in _code_objects(function.__code__):
            for name in (*code.co_names, *code.co_freevars):
                value = closure.get(name, namespace.get(name))
                if value is answer or (value is not None and any(_same(value, w) for w in _unwrap(answer))):
                    continue  # the answer calling itself (recursion), not the library function
                if name in names:
                    refuse(name)
                if value is not None and callable(value):
                    mine = inspect.isfunction(value) and id(value.__globals__) in own_globals
                    if not mine and getattr(value, "__name__", None) in names:
                        refuse(value.__name__)  # a library callable imported under another name
                    for bad in objects:
                        if any(_same(inner, bad) for inner in _unwrap(value)):
                            refuse(_forbidden_name(bad))
                    # a helper written in the notebook (same globals) or captured in a closure: read it too
                    if mine or (inspect.isfunction(value) and name in closure):
                        functions.append(value)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty cell (a name assigned later)
        return False
    return True
