"""Unit tests of course_lib.efficiency.latency_grid (latency_grid, paired_latency) and of
course_lib.efficiency.measure.resident_memory_mib.

Most timings use a *fake clock*: the module's ``time`` is replaced by a clock that only moves when a
fake ``predict`` advances it by a scripted number of milliseconds, so medians, 95th percentiles,
ratios and the number of calls that fit in ``max_seconds`` are checked exactly against ``np.median`` /
``np.percentile`` of the scripted durations. Two tests use real sleeps and only check generous bands
(this machine is shared: absolute times are never asserted).
"""

from __future__ import annotations

import importlib
import io
import sys
import time
import types

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from course_lib.efficiency.latency_grid import MIN_REPEATS, latency_grid, paired_latency
from course_lib.efficiency.measure import Latency, resident_memory_mib

# the package re-exports the function latency_grid under the module's name: fetch the modules themselves
grid_module = importlib.import_module("course_lib.efficiency.latency_grid")
measure_module = importlib.import_module("course_lib.efficiency.measure")

torch.set_num_threads(1)

MS = 1_000_000   # nanoseconds in a millisecond


class FakeClock:
    """A clock that stands still until ``advance(ms)`` moves it (integer nanoseconds, exact)."""

    def __init__(self):
        self.now_ns = 0

    def advance(self, ms: float) -> None:
        self.now_ns += int(round(ms * MS))

    def perf_counter_ns(self) -> int:
        return self.now_ns

    def perf_counter(self) -> float:
        return self.now_ns / 1e9


@pytest.fixture
def clock(monkeypatch):
    """Replaces ``time`` in latency_grid and measure (only there) by a FakeClock."""
    fake = FakeClock()
    namespace = types.SimpleNamespace(perf_counter_ns=fake.perf_counter_ns, perf_counter=fake.perf_counter)
    monkeypatch.setattr(grid_module, "time", namespace)
    monkeypatch.setattr(measure_module, "time", namespace)
    return fake


@pytest.fixture(autouse=True)
def one_thread_before_and_after():
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


class Recorder:
    """A factory ``make_predict(batch, threads)`` whose predict records, for each setting, the torch
    thread count at every call, and advances ``clock`` by ``durations(call index)`` milliseconds."""

    def __init__(self, clock=None, durations=lambda batch, threads, index: 1.0, name="f", log=None,
                 fail_at=None):
        self.clock, self.durations, self.name, self.fail_at = clock, durations, name, fail_at
        self.log = [] if log is None else log        # shared call order (for interleaving)
        self.factory_calls = []                       # (len(batch), threads, torch threads at build)
        self.calls = {}                               # (len(batch), threads) -> [torch threads per call]

    def __call__(self, batch, threads):
        self.factory_calls.append((len(batch), threads, torch.get_num_threads()))
        calls = self.calls.setdefault((len(batch), threads), [])

        def predict():
            index = len(calls)
            calls.append(torch.get_num_threads())
            self.log.append(self.name)
            if self.fail_at is not None and index == self.fail_at:
                raise RuntimeError("predict failed on purpose")
            if self.clock is not None:
                self.clock.advance(self.durations(batch, threads, index))
            return batch

        return predict


INPUTS = {"b1": np.zeros((1, 3)), "batch": np.zeros((7, 3))}


# ------------------------------------------------------------------------------------- latency_grid


def test_grid_stems_order_and_latency_fields(clock):
    recorder = Recorder(clock)
    grid = latency_grid(recorder, INPUTS, threads=(1, 2), warmup=2, repeats=6)
    # thread count by thread count, batch by batch within each
    assert list(grid) == ["b1_t1", "batch_t1", "b1_t2", "batch_t2"]
    for stem, latency in grid.items():
        label, t = stem.rsplit("_t", 1)
        assert isinstance(latency, Latency)
        assert latency.batch_size == len(INPUTS[label])
        assert latency.threads == int(t)
        assert latency.n_runs == 6
    assert [(b, t) for b, t, _ in recorder.factory_calls] == [(1, 1), (7, 1), (1, 2), (7, 2)]


def test_grid_statistics_exclude_warmup_calls(clock):
    warmup, repeats = 3, 9
    timed = {1: np.array([3, 1, 4, 1, 5, 9, 2, 6, 5], float), 7: np.array([20, 21, 25, 22, 80, 23, 24, 21, 20], float)}

    def durations(batch, threads, index):   # warm-up calls are very slow: they must not count
        return 1000.0 if index < warmup else timed[len(batch)][index - warmup] * threads

    recorder = Recorder(clock, durations)
    grid = latency_grid(recorder, INPUTS, threads=(1, 2), warmup=warmup, repeats=repeats)
    for (size, t), calls in recorder.calls.items():
        assert len(calls) == warmup + repeats
        latency = grid[f"{'b1' if size == 1 else 'batch'}_t{t}"]
        expected = timed[size] * t
        assert latency.median_ms == pytest.approx(np.median(expected), rel=1e-12)
        assert latency.p95_ms == pytest.approx(np.percentile(expected, 95), rel=1e-12)
        assert latency.p95_ms < 1000.0


@pytest.mark.parametrize("max_seconds", [None, 60.0])
def test_grid_sets_threads_during_each_measurement_and_restores_them(max_seconds):
    blas = []

    class WithPools(Recorder):
        def __call__(self, batch, threads):
            predict = super().__call__(batch, threads)

            def checked():
                blas.append((threads, {pool["num_threads"] for pool in threadpool_info()}))
                return predict()

            return checked

    recorder = WithPools()
    torch.set_num_threads(1)
    latency_grid(recorder, {"b1": [0.0]}, threads=(2, 3), warmup=2, repeats=5, max_seconds=max_seconds)
    assert set(recorder.calls) == {(1, 2), (1, 3)}
    for (_, t), seen in recorder.calls.items():
        assert seen and all(n == t for n in seen), (t, seen)
    for t, pools in blas:   # NumPy's BLAS / OpenMP pools get the same count
        assert pools <= {t}, (t, pools)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("max_seconds", [None, 60.0])
@pytest.mark.parametrize("fail_at", [0, 3])   # the first call (planning / warm-up) or a timed call
def test_grid_restores_threads_when_predict_raises(max_seconds, fail_at):
    torch.set_num_threads(1)
    recorder = Recorder(fail_at=fail_at)
    with pytest.raises(RuntimeError, match="on purpose"):
        latency_grid(recorder, {"b1": [0.0]}, threads=(2,), warmup=2, repeats=5, max_seconds=max_seconds)
    assert recorder.calls[(1, 2)][-1] == 2          # it failed while 2 threads were set
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(("max_seconds", "repeats", "expected"), [
    (0.25, 50, 12),            # floor(0.25 s / 20 ms) = 12 timed calls
    (0.01, 50, MIN_REPEATS),   # a slow setting still gets MIN_REPEATS calls
    (0.01, 3, 3),              # ... but never more than repeats
    (100.0, 7, 7),             # plenty of time: repeats
])
def test_grid_max_seconds_limits_repeats_but_not_below_min_repeats(clock, max_seconds, repeats, expected):
    recorder = Recorder(clock, lambda batch, threads, index: 20.0)
    grid = latency_grid(recorder, {"b1": [0.0]}, threads=(1,), warmup=3, repeats=repeats, max_seconds=max_seconds)
    assert grid["b1_t1"].n_runs == expected
    # the planning call counts as one of the warm-up calls: warmup + timed calls in all
    assert len(recorder.calls[(1, 1)]) == 3 + expected
    assert grid["b1_t1"].median_ms == pytest.approx(20.0, rel=1e-12)


def test_grid_max_seconds_with_real_sleeps():
    def make(batch, threads):
        return lambda: time.sleep(0.01)       # >= 10 ms: at most 0.03 / 0.01 = 3 fit, so MIN_REPEATS
    grid = latency_grid(make, {"b1": [0]}, threads=(1,), warmup=1, repeats=40, max_seconds=0.03)
    assert grid["b1_t1"].n_runs == MIN_REPEATS
    assert grid["b1_t1"].median_ms >= 9.0


# ----------------------------------------------------------------------------------- paired_latency


def test_paired_calls_are_interleaved_and_threads_set(clock):
    log = []
    reference = Recorder(clock, name="ref", log=log)
    variant = Recorder(clock, name="var", log=log)
    warmup, repeats = 2, 5
    ref, var, ratios = paired_latency(reference, variant, INPUTS, threads=(2, 3), warmup=warmup, repeats=repeats)
    per_setting = 2 * (warmup + 1 + repeats)   # warm-up pairs, one timed planning pair, timed pairs
    assert len(log) == 4 * per_setting
    assert log == ["ref", "var"] * (len(log) // 2)
    assert list(ref) == list(var) == list(ratios) == ["b1_t2", "batch_t2", "b1_t3", "batch_t3"]
    for recorder in (reference, variant):
        assert [(b, t, n) for b, t, n in recorder.factory_calls] == [(1, 2, 2), (7, 2, 2), (1, 3, 3), (7, 3, 3)]
        for (_, t), seen in recorder.calls.items():
            assert len(seen) == warmup + 1 + repeats and all(n == t for n in seen)
    for stem in ref:
        label, t = stem.rsplit("_t", 1)
        for latency in (ref[stem], var[stem]):
            assert (latency.batch_size, latency.threads, latency.n_runs) == (len(INPUTS[label]), int(t), repeats)
    assert torch.get_num_threads() == 1


def test_paired_ratio_is_variant_median_over_reference_median(clock):
    warmup, repeats = 2, 7
    ref_ms = np.array([1.0, 2.0, 1.5, 9.0, 1.2, 1.1, 1.3])
    var_ms = np.array([4.0, 3.0, 5.0, 4.5, 30.0, 3.5, 4.2])

    def script(values):
        # warm-up and planning calls are slow; they must not enter the statistics
        return lambda batch, threads, index: 500.0 if index <= warmup else values[index - warmup - 1]

    ref, var, ratios = paired_latency(Recorder(clock, script(ref_ms)), Recorder(clock, script(var_ms)),
                                      {"b1": [0.0]}, threads=(1,), warmup=warmup, repeats=repeats)
    assert ref["b1_t1"].median_ms == pytest.approx(np.median(ref_ms), rel=1e-12)
    assert var["b1_t1"].median_ms == pytest.approx(np.median(var_ms), rel=1e-12)
    assert var["b1_t1"].p95_ms == pytest.approx(np.percentile(var_ms, 95), rel=1e-12)
    assert ratios["b1_t1"] == pytest.approx(np.median(var_ms) / np.median(ref_ms), rel=1e-12)


@pytest.mark.parametrize(("max_seconds", "repeats", "expected"), [(0.25, 50, 12), (0.01, 50, MIN_REPEATS),
                                                                  (0.01, 2, 2), (100.0, 6, 6)])
def test_paired_max_seconds_limits_pairs(clock, max_seconds, repeats, expected):
    # each pair takes 5 + 15 = 20 ms: floor(0.25 s / 20 ms) = 12 pairs
    ref, var, _ = paired_latency(Recorder(clock, lambda b, t, i: 5.0), Recorder(clock, lambda b, t, i: 15.0),
                                 {"b1": [0.0]}, threads=(1,), warmup=1, repeats=repeats, max_seconds=max_seconds)
    assert ref["b1_t1"].n_runs == var["b1_t1"].n_runs == expected


def test_paired_ratio_with_real_sleeps_is_in_a_generous_band():
    def sleeper(seconds):
        return lambda batch, threads: (lambda: time.sleep(seconds))
    _, _, ratios = paired_latency(sleeper(0.001), sleeper(0.004), {"b1": [0]}, threads=(1,), warmup=1, repeats=7)
    assert 2.0 < ratios["b1_t1"] < 8.0            # 4 ms / 1 ms, with sleep overshoot on a shared machine
    _, _, ratios = paired_latency(sleeper(0.004), sleeper(0.001), {"b1": [0]}, threads=(1,), warmup=1, repeats=7)
    assert 1 / 8 < ratios["b1_t1"] < 1 / 2


def test_paired_restores_threads_when_predict_raises():
    torch.set_num_threads(1)
    with pytest.raises(RuntimeError, match="on purpose"):
        paired_latency(Recorder(), Recorder(fail_at=4), {"b1": [0.0]}, threads=(2,), warmup=2, repeats=5)
    assert torch.get_num_threads() == 1


# ----------------------------------------------------------------------------------------- bad input


def _grid(**kwargs):
    arguments = {"make_predict": Recorder(), "inputs": {"b1": [0.0]}, "threads": (1,), "repeats": 5} | kwargs
    return latency_grid(arguments.pop("make_predict"), arguments.pop("inputs"), **arguments)


def _paired(**kwargs):
    arguments = {"make_predict": Recorder(), "inputs": {"b1": [0.0]}, "threads": (1,), "repeats": 5} | kwargs
    return paired_latency(Recorder(), arguments.pop("make_predict"), arguments.pop("inputs"), **arguments)


BAD = [
    ({"make_predict": "model"}, TypeError, "make_"),
    ({"inputs": {}}, TypeError, "inputs"),
    ({"inputs": [np.zeros((1, 3))]}, TypeError, "inputs"),
    ({"inputs": {"b1": []}}, ValueError, "inputs"),
    ({"inputs": {"b1": np.zeros((0, 3))}}, ValueError, "inputs"),
    ({"inputs": {"batch size": [0.0]}}, ValueError, "labels"),
    ({"inputs": {1: [0.0]}}, ValueError, "labels"),
    ({"threads": 2}, TypeError, "threads"),
    ({"threads": ()}, TypeError, "threads"),
    ({"threads": None}, TypeError, "threads"),
    ({"threads": (0,)}, ValueError, "threads"),
    ({"threads": (1, -2)}, ValueError, "threads"),
    ({"threads": (1.5,)}, TypeError, "threads"),
    ({"threads": (1, 1)}, ValueError, "threads"),
    ({"max_seconds": 0}, ValueError, "max_seconds"),
    ({"max_seconds": -1.0}, ValueError, "max_seconds"),
    ({"max_seconds": float("nan")}, ValueError, "max_seconds"),
    ({"max_seconds": float("inf")}, ValueError, "max_seconds"),
    ({"max_seconds": "1"}, TypeError, "max_seconds"),
    ({"max_seconds": True}, TypeError, "max_seconds"),
    ({"repeats": 0}, ValueError, "repeats"),
    ({"repeats": "20", "max_seconds": 1.0}, TypeError, "repeats"),
    ({"warmup": -1}, ValueError, "warmup"),
    ({"warmup": 2.5}, TypeError, "warmup"),
]


@pytest.mark.parametrize("function", [_grid, _paired], ids=["latency_grid", "paired_latency"])
@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_input_is_refused_before_any_call(function, kwargs, error, match):
    factory = kwargs.get("make_predict", Recorder())
    with pytest.raises(error, match=match):
        function(**(kwargs | {"make_predict": factory}))
    if isinstance(factory, Recorder):
        assert factory.factory_calls == []     # refused before anything was built or timed


def test_non_callable_factories_and_predicts_are_named():
    with pytest.raises(TypeError, match="make_variant"):
        paired_latency(Recorder(), "variant", {"b1": [0.0]})
    with pytest.raises(TypeError, match="make_reference"):
        paired_latency("reference", Recorder(), {"b1": [0.0]})
    with pytest.raises(TypeError, match="make_predict"):
        latency_grid(None, {"b1": [0.0]})
    with pytest.raises(TypeError, match="zero-argument callable"):
        latency_grid(lambda batch, threads: 42, {"b1": [0.0]}, threads=(1,))
    with pytest.raises(TypeError, match="zero-argument callable"):
        paired_latency(Recorder(), lambda batch, threads: 42, {"b1": [0.0]}, threads=(1,))


# ------------------------------------------------------------------------------ resident_memory_mib


def _vm_rss_mib() -> float:
    """VmRSS of /proc/self/status (kB), an independent reading of the same quantity."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm is Linux-only")
def test_resident_memory_is_positive_and_agrees_with_proc_status():
    rss = resident_memory_mib()
    assert isinstance(rss, float) and rss > 0
    assert abs(rss - _vm_rss_mib()) < 16      # two readings a moment apart (both in MiB)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm is Linux-only")
def test_resident_memory_grows_by_the_size_of_a_touched_array():
    size_mib = 200e6 / 2**20                  # 200 MB = 190.7 MiB
    before = resident_memory_mib()
    array = np.ones(int(200e6) // 8)          # float64, every page written
    during = resident_memory_mib()
    assert 0.8 * size_mib < during - before < 1.2 * size_mib + 16
    del array
    after = resident_memory_mib()
    assert during - after > 0.5 * size_mib     # a large array is returned to the system when freed


def test_resident_memory_is_none_when_statm_is_unreadable(monkeypatch):
    def unreadable(*args, **kwargs):
        raise FileNotFoundError("/proc/self/statm")
    monkeypatch.setattr(measure_module, "open", unreadable, raising=False)
    assert resident_memory_mib() is None


@pytest.mark.parametrize("content", ["", "12", "12 lots"])
def test_resident_memory_is_none_when_statm_is_garbled(monkeypatch, content):
    monkeypatch.setattr(measure_module, "open", lambda *args, **kwargs: io.StringIO(content), raising=False)
    assert resident_memory_mib() is None


def test_resident_memory_counts_pages_of_statm(monkeypatch):
    # hand-checkable: 2560 resident pages of 4096 bytes = 10 MiB (page size from the same sysconf)
    page = measure_module.os.sysconf("SC_PAGE_SIZE")
    monkeypatch.setattr(measure_module, "open", lambda *args, **kwargs: io.StringIO(f"99999 {2**20 * 10 // page} 7"),
                        raising=False)
    assert resident_memory_mib() == pytest.approx(10.0)
