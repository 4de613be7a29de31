"""Latency over a grid of settings (batch sizes x thread counts), and the same grid measured for a
variant and its reference interleaved, call by call, so that their ratio is not moved by a change in
the machine's load between two measurements made minutes apart.

Both take a *factory* ``make_predict(batch, threads) -> predict`` rather than a prediction function,
because an ONNX Runtime session fixes its number of threads when it is created: the factory builds (or
reuses) the session for ``threads``. ``inputs`` maps a setting label (``"b1"``, ``"batch"``) to one
fixed batch; the column stems are ``"{label}_t{threads}"`` (e.g. ``"b1_t1"``, ``"batch_t2"``), as in
:func:`course_lib.efficiency.measure.cost_table`. Latencies are milliseconds per call of the whole batch.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from course_lib.arrays import as_count
from course_lib.efficiency.measure import Latency, latency_ratio, measure_latency

Factory = Callable[[Any, int], Callable[[], Any]]

#: the fewest timed calls a setting gets when ``max_seconds`` limits them (a median of 5 calls and their
#: 95th percentile, which with 5 calls is close to the slowest one)
MIN_REPEATS = 5


def _check(make_predict, inputs, threads, name: str = "make_predict") -> tuple[list[tuple[str, Any]], list[int]]:
    if not callable(make_predict):
        raise TypeError(f"{name} must be callable as {name}(batch, threads), got {type(make_predict).__name__}")
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError("inputs must be a non-empty dict label -> batch, e.g. {'b1': x[:1], 'batch': x[:64]}")
    items = []
    for label, batch in inputs.items():
        if not isinstance(label, str) or not label.isidentifier():
            raise ValueError(f"inputs labels must be short names such as 'b1', got {label!r}")
        if not hasattr(batch, "__len__") or len(batch) == 0:
            raise ValueError(f"inputs[{label!r}] must be a non-empty batch (an array or a list)")
        items.append((label, batch))
    if isinstance(threads, (int, np.integer)) or not isinstance(threads, Sequence) or not threads:
        raise TypeError(f"threads must be a non-empty sequence of thread counts, got {threads!r}")
    counts = [as_count(t, "threads") for t in threads]
    if len(set(counts)) != len(counts):   # a repeated count would silently overwrite its own stems
        raise ValueError(f"threads must not repeat a thread count, got {list(threads)!r}")
    return items, counts


def _check_max_seconds(max_seconds) -> float | None:
    if max_seconds is None:
        return None
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)):
        raise TypeError(f"max_seconds must be a number or None, got {type(max_seconds).__name__}")
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number, got {max_seconds}")
    return float(max_seconds)


def _measure(make_predict: Factory, batch, threads: int, warmup: int, repeats: int,
             max_seconds: float | None) -> Latency:
    predict = make_predict(batch, threads)
    if not callable(predict):
        raise TypeError("make_predict(batch, threads) must return a zero-argument callable")
    # BLAS and OpenMP pools (NumPy, scikit-learn) get the same thread count as torch (set by measure_latency)
    with threadpool_limits(limits=threads):
        if max_seconds is not None:
            # one untimed call (it counts as a warm-up call) tells how many timed calls fit in max_seconds
            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                start = time.perf_counter()
                predict()
                first = time.perf_counter() - start
            finally:
                torch.set_num_threads(previous)
            repeats = int(np.clip(max_seconds / max(first, 1e-9), min(MIN_REPEATS, repeats), repeats))
            warmup = max(warmup - 1, 1)
        return measure_latency(predict, batch_size=len(batch), threads=threads, warmup=warmup, repeats=repeats)


def latency_grid(make_predict: Factory, inputs: Mapping[str, Any], *, threads: Sequence[int] = (1, 2),
                 warmup: int = 3, repeats: int = 20, max_seconds: float | None = None) -> dict[str, Latency]:
    """:func:`measure_latency` for every batch of ``inputs`` and every thread count: ``{stem: Latency}``
    with stems ``"{label}_t{threads}"``, thread count by thread count (a factory that holds one ONNX
    Runtime session per thread count can drop the previous one), batch by batch within each.

    ``max_seconds`` caps the timed calls of a slow setting: one untimed call is timed first, and the
    setting gets ``max_seconds / (its duration)`` timed calls, at least 5 and at most ``repeats``."""
    items, counts = _check(make_predict, inputs, threads)
    max_seconds = _check_max_seconds(max_seconds)
    # checked here, before any call, as measure_latency would check them (warmup >= 1, repeats >= 1)
    warmup, repeats = as_count(warmup, "warmup"), as_count(repeats, "repeats")
    return {f"{label}_t{t}": _measure(make_predict, batch, t, warmup, repeats, max_seconds)
            for t in counts for label, batch in items}


def _timed(predict) -> int:
    start = time.perf_counter_ns()
    predict()
    return time.perf_counter_ns() - start


def _latency(times_ns: list[int], batch_size: int, threads: int) -> Latency:
    times_ms = np.asarray(times_ns, dtype=np.float64) / 1e6
    return Latency(median_ms=float(np.median(times_ms)), p95_ms=float(np.percentile(times_ms, 95)),
                   n_runs=len(times_ms), batch_size=batch_size, threads=threads)


def paired_latency(make_reference: Factory, make_variant: Factory, inputs: Mapping[str, Any], *,
                   threads: Sequence[int] = (1, 2), warmup: int = 3, repeats: int = 20,
                   max_seconds: float | None = None) -> tuple[dict[str, Latency], dict[str, Latency], dict[str, float]]:
    """The reference and the variant timed **interleaved** — reference call, variant call, reference
    call, ... — for every setting, so that a change in the machine's load hits both alike. Returns
    ``(reference latencies, variant latencies, ratios)`` where ``ratios[stem]`` is the variant's median
    divided by the reference's (below 1: the variant is faster). ``warmup`` untimed calls of each come
    first; then ``repeats`` timed pairs, or with ``max_seconds`` as many pairs as fit in it (at least 5).
    Threads as in :func:`latency_grid`."""
    if not callable(make_reference):
        raise TypeError(f"make_reference must be callable as make_reference(batch, threads), "
                        f"got {type(make_reference).__name__}")
    items, counts = _check(make_variant, inputs, threads, "make_variant")
    max_seconds = _check_max_seconds(max_seconds)
    warmup, repeats = as_count(warmup, "warmup", minimum=0), as_count(repeats, "repeats")
    reference, variant, ratios = {}, {}, {}
    previous = torch.get_num_threads()
    for t in counts:
        torch.set_num_threads(t)
        try:
            with threadpool_limits(limits=t):
                for label, batch in items:
                    stem = f"{label}_t{t}"
                    pair = (make_reference(batch, t), make_variant(batch, t))
                    if not all(callable(p) for p in pair):
                        raise TypeError("make_reference and make_variant must return zero-argument callables")
                    for _ in range(warmup):
                        pair[0](), pair[1]()
                    first = _timed(pair[0]) + _timed(pair[1])   # one more warm-up pair, timed to plan
                    n = repeats if max_seconds is None else int(np.clip(max_seconds * 1e9 / max(first, 1),
                                                                         min(MIN_REPEATS, repeats), repeats))
                    times = [(_timed(pair[0]), _timed(pair[1])) for _ in range(n)]
                    reference[stem] = _latency([a for a, _ in times], len(batch), t)
                    variant[stem] = _latency([b for _, b in times], len(batch), t)
                    ratios[stem] = latency_ratio(variant[stem], reference[stem])
        finally:
            torch.set_num_threads(previous)
    return reference, variant, ratios
