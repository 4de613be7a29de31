"""What a model costs: parameters, bytes on disk, latency (median and 95th percentile), a cost table
and its Pareto front.

Units: sizes in bytes (:func:`size_on_disk`) and in MB = 10^6 bytes (:func:`cost_table`); latencies in
milliseconds per call of a whole batch (not per example). Latency on a shared machine is noisy: compare
a variant with its reference measured in the same run (:func:`latency_ratio`), never absolute times
across runs or machines.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from course_lib.arrays import as_count, as_vector

#: bytes in one MB of :func:`cost_table` (decimal megabytes, as file managers show them)
MB = 1_000_000


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (numbers, not tensors) of ``model``, trainable or not; a parameter shared
    by two layers counts once. Buffers (batch-norm running statistics) are not parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())


def size_on_disk(obj: Any) -> int:
    """Bytes needed to store ``obj``.

    - an ``nn.Module``: its ``state_dict`` (parameters and buffers) written by ``torch.save`` into memory;
    - a ``str`` or ``Path``: the size of that file (an ONNX model, a saved checkpoint);
    - anything else (a scikit-learn estimator, an array, a dict): ``len(pickle.dumps(obj))``.

    Raises FileNotFoundError for a path that is not an existing file, TypeError for an object that
    cannot be pickled.
    """
    if isinstance(obj, nn.Module):
        buffer = io.BytesIO()
        torch.save(obj.state_dict(), buffer)
        return buffer.getbuffer().nbytes
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.is_file():
            what = "a directory, not a file" if path.is_dir() else "no such file"
            raise FileNotFoundError(f"size_on_disk: obj is the path {str(path)!r}, which is {what}")
        return path.stat().st_size
    try:
        return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as error:  # noqa: BLE001 - pickling fails with many exception types
        raise TypeError(f"size_on_disk: obj of type {type(obj).__name__} is neither a module, a path "
                        f"nor picklable ({type(error).__name__}: {error})") from None


@dataclass(frozen=True)
class Latency:
    """Wall-clock time of one call of a prediction function on a batch of ``batch_size`` examples with
    ``threads`` threads: the median and the 95th percentile (linear interpolation, ``np.percentile``)
    over ``n_runs`` timed calls, in milliseconds per call."""

    median_ms: float
    p95_ms: float
    n_runs: int
    batch_size: int
    threads: int

    @property
    def key(self) -> str:
        """``"b{batch_size}_t{threads}"``, the stem of this setting's columns in :func:`cost_table`."""
        return f"b{self.batch_size}_t{self.threads}"

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def measure_latency(predict: Callable[[], Any], *, batch_size: int, threads: int, warmup: int = 5,
                    repeats: int = 30, min_seconds: float | None = None) -> Latency:
    """Time ``predict()`` (a zero-argument callable, e.g. a closure over one fixed batch).

    Runs ``warmup`` calls that are not timed (first-call allocations, caches, lazy initialisation),
    then times each of at least ``repeats`` calls with ``time.perf_counter_ns``; with ``min_seconds``
    it keeps timing calls until the timed calls add up to that many seconds.

    ``torch.set_num_threads(threads)`` is in force during the measurement and the previous number of
    threads is restored afterwards, also when ``predict`` raises. An ONNX Runtime session fixes its
    threads when it is created: pass one built with the same count
    (``course_lib.efficiency.onnx_runtime.ort_session(path, threads=threads)``). ``batch_size`` is
    recorded, not used: it must be the size of the batch ``predict`` works on.
    """
    if not callable(predict):
        raise TypeError(f"predict must be a zero-argument callable, got {type(predict).__name__}")
    batch_size = as_count(batch_size, "batch_size")
    threads = as_count(threads, "threads")
    warmup = as_count(warmup, "warmup")
    repeats = as_count(repeats, "repeats")
    if min_seconds is not None:
        if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)):
            raise TypeError(f"min_seconds must be a number or None, got {type(min_seconds).__name__}")
        if not (math.isfinite(min_seconds) and min_seconds > 0):
            raise ValueError(f"min_seconds must be a positive finite number, got {min_seconds}")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            predict()
        times_ns: list[int] = []
        total_ns = 0
        target_ns = 0 if min_seconds is None else int(min_seconds * 1e9)
        while len(times_ns) < repeats or total_ns < target_ns:
            start = time.perf_counter_ns()
            predict()
            elapsed = time.perf_counter_ns() - start
            times_ns.append(elapsed)
            total_ns += elapsed
    finally:
        torch.set_num_threads(previous)
    times_ms = np.asarray(times_ns, dtype=np.float64) / 1e6
    return Latency(median_ms=float(np.median(times_ms)), p95_ms=float(np.percentile(times_ms, 95)),
                   n_runs=len(times_ms), batch_size=batch_size, threads=threads)


def latency_ratio(variant: Latency, reference: Latency) -> float:
    """``variant.median_ms / reference.median_ms`` (below 1: the variant is faster). Both must be
    measured with the same batch size and number of threads."""
    for name, value in (("variant", variant), ("reference", reference)):
        if not isinstance(value, Latency):
            raise TypeError(f"{name} must be a Latency, got {type(value).__name__}")
    if (variant.batch_size, variant.threads) != (reference.batch_size, reference.threads):
        raise ValueError(f"variant (batch {variant.batch_size}, {variant.threads} threads) and reference "
                         f"(batch {reference.batch_size}, {reference.threads} threads) are different settings")
    if reference.median_ms <= 0:
        raise ValueError(f"reference.median_ms must be > 0, got {reference.median_ms}")
    return variant.median_ms / reference.median_ms


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _number(value, name: str, *, allow_none: bool = False, minimum: float | None = None) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number{' or None' if allow_none else ''}, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def cost_row(name: str, *, family: str, variant: str, parameters: int, size_bytes: int,
             latencies: Mapping[str, Latency] | Sequence[Latency], quality: float,
             quality_std: float | None, metric: str) -> dict:
    """One row of :func:`cost_table`: a model ``name`` (e.g. "CNN int8"), its ``family`` (models compared
    with each other, e.g. "images"), ``variant`` (e.g. "fp32", "int8", "classical"), parameter count,
    size in bytes, latencies and quality (``metric``, e.g. "test AUC"; ``quality_std`` over seeds, or
    None for one run).

    ``latencies`` maps a column stem to a :class:`Latency` (``{"b1_t1": ...}``), or is a sequence of
    Latency whose stems are ``latency.key``. Each becomes the columns ``{stem}_ms`` (median) and
    ``{stem}_p95_ms``.
    """
    row = {"name": _text(name, "name"), "family": _text(family, "family"), "variant": _text(variant, "variant"),
           "parameters": as_count(parameters, "parameters", minimum=0),
           "size_bytes": as_count(size_bytes, "size_bytes", minimum=0),
           "quality": _number(quality, "quality"),
           "quality_std": _number(quality_std, "quality_std", allow_none=True, minimum=0.0),
           "metric": _text(metric, "metric")}
    if isinstance(latencies, Mapping):
        items = list(latencies.items())
    elif isinstance(latencies, (list, tuple)):
        items = [(getattr(lat, "key", None), lat) for lat in latencies]
    else:
        raise TypeError(f"latencies must be a dict of stem -> Latency or a list of Latency, "
                        f"got {type(latencies).__name__}")
    for stem, latency in items:
        if not isinstance(latency, Latency):
            raise TypeError(f"latencies must hold Latency objects, got {type(latency).__name__}")
        stem = _text(stem, "a latencies key")
        if f"{stem}_ms" in row:
            raise ValueError(f"latencies has the setting {stem!r} twice")
        row[f"{stem}_ms"] = latency.median_ms
        row[f"{stem}_p95_ms"] = latency.p95_ms
    return row


def cost_table(rows: Sequence[dict], *, reference: str = "fp32") -> pd.DataFrame:
    """The rows of :func:`cost_row` as a table with ``size_mb`` (10^6 bytes) instead of ``size_bytes``,
    and ratio columns relative to the row of the same ``family`` whose ``variant`` is ``reference``:
    ``size_ratio`` and ``{stem}_ratio`` (median latency / the reference's). A family without a
    reference row, or a latency the reference lacks, gets NaN ratios.
    """
    if isinstance(rows, dict) or not isinstance(rows, Sequence) or not rows:
        raise TypeError("rows must be a non-empty list of dicts made by cost_row")
    if any(not isinstance(row, dict) or not {"family", "variant", "size_bytes"} <= set(row) for row in rows):
        raise TypeError("rows must be dicts made by cost_row (with family, variant and size_bytes)")
    _text(reference, "reference")
    table = pd.DataFrame(list(rows))
    table.insert(table.columns.get_loc("size_bytes"), "size_mb", table.pop("size_bytes") / MB)
    stems = [column[:-3] for column in table.columns if column.endswith("_ms") and not column.endswith("_p95_ms")]
    table["size_ratio"] = np.nan
    for stem in stems:
        table[f"{stem}_ratio"] = np.nan
    for family, members in table.groupby("family", sort=False):
        base = members[members["variant"] == reference]
        if len(base) > 1:
            raise ValueError(f"family {family!r} has {len(base)} rows of the reference variant {reference!r}")
        if len(base) == 0:
            continue
        base = base.iloc[0]
        table.loc[members.index, "size_ratio"] = members["size_mb"] / base["size_mb"]
        for stem in stems:
            table.loc[members.index, f"{stem}_ratio"] = members[f"{stem}_ms"] / base[f"{stem}_ms"]
    return table


def pareto_front(quality, cost, higher_quality_is_better: bool = True) -> np.ndarray:
    """Boolean mask (N,) of the non-dominated points: no other point has at least as good a quality
    and at most the cost, with one of the two strictly better. Lower cost is always better; quality
    is better when higher unless ``higher_quality_is_better=False`` (e.g. a loss). Equal points are
    kept together."""
    q = as_vector(quality, "quality").astype(np.float64)
    c = as_vector(cost, "cost").astype(np.float64)
    if q.shape != c.shape:
        raise ValueError(f"quality and cost must have the same length, got {q.size} and {c.size}")
    for name, values in (("quality", q), ("cost", c)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} holds NaN or infinity")
    if not isinstance(higher_quality_is_better, (bool, np.bool_)):
        raise TypeError(f"higher_quality_is_better must be a bool, got {type(higher_quality_is_better).__name__}")
    if not higher_quality_is_better:
        q = -q
    # dominated[i, j]: point j dominates point i
    at_least = (q[None, :] >= q[:, None]) & (c[None, :] <= c[:, None])
    strictly = (q[None, :] > q[:, None]) | (c[None, :] < c[:, None])
    return ~np.any(at_least & strictly, axis=1)


def resident_memory_mib() -> float | None:
    """This process's resident memory (RSS) now, in MiB; None where ``/proc`` is missing (macOS, Windows)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
