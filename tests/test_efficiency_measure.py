"""Unit tests of course_lib.efficiency.measure: parameter counts, sizes, latency statistics (with a
scripted clock, so the statistics are checked exactly without depending on this machine's speed),
the cost table and the Pareto front (hand-made points)."""

from __future__ import annotations

import math
import pickle
import threading
import time

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from course_lib.efficiency.measure import (MB, Latency, cost_row, cost_table, latency_ratio, measure_latency,
                                           parameter_count, pareto_front, size_on_disk)

torch.set_num_threads(1)


# ---------------------------------------------------------------------------------- parameters, size


def test_parameter_count_by_hand_and_shared_weights_count_once():
    assert parameter_count(nn.Linear(3, 2)) == 3 * 2 + 2
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4))  # BN: weight + bias, buffers not
    assert parameter_count(conv) == 4 * 9 + 4 + 4
    shared = nn.Linear(5, 5)
    assert parameter_count(nn.Sequential(shared, nn.ReLU(), shared)) == 30
    frozen = nn.Linear(3, 2).requires_grad_(False)
    assert parameter_count(frozen) == 8


def test_parameter_count_refuses_non_modules():
    with pytest.raises(TypeError, match="model"):
        parameter_count([torch.zeros(3)])


def test_size_of_a_module_grows_by_four_bytes_per_float32_number():
    small, large = nn.Linear(10, 10), nn.Linear(300, 200)
    added = (300 * 200 + 200) - (10 * 10 + 10)
    difference = size_on_disk(large) - size_on_disk(small)
    # torch.save stores raw float32 storages plus (zip) bookkeeping and 64-byte alignment per tensor
    assert abs(difference - 4 * added) <= 1024
    half = nn.Linear(300, 200).half()
    assert size_on_disk(half) < 0.6 * size_on_disk(large)


def test_size_of_a_file_and_clear_errors(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00" * 1234)
    assert size_on_disk(path) == 1234
    assert size_on_disk(str(path)) == 1234
    with pytest.raises(FileNotFoundError, match="no such file"):
        size_on_disk(tmp_path / "missing.onnx")
    with pytest.raises(FileNotFoundError, match="directory"):
        size_on_disk(tmp_path)


def test_size_of_picklable_objects_and_unpicklable_ones():
    payload = np.zeros(10_000, dtype=np.float64)
    assert 80_000 <= size_on_disk(payload) <= 80_000 + 300
    x = np.random.default_rng(0).normal(size=(60, 4))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    assert size_on_disk(model) == len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(TypeError, match="picklable"):
        size_on_disk(lambda: 1)
    with pytest.raises(TypeError, match="picklable"):
        size_on_disk(threading.Lock())


# ---------------------------------------------------------------------------------------- latency


class ScriptedClock:
    """perf_counter_ns that advances by the given durations (ns), one per timed call."""

    def __init__(self, durations_ns):
        self.durations = list(durations_ns)
        self.now = 0
        self.reads = 0

    def __call__(self) -> int:
        if self.reads % 2 == 1:  # the read after a call: advance by that call's duration
            self.now += self.durations[(self.reads // 2) % len(self.durations)]
        self.reads += 1
        return self.now


def test_median_and_p95_are_those_of_the_timed_calls(monkeypatch):
    durations_ms = np.array([3.0, 1.0, 2.0, 10.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 30.0, 1.5])
    clock = ScriptedClock((durations_ms * 1e6).astype(int))
    monkeypatch.setattr(time, "perf_counter_ns", clock)
    calls = []
    result = measure_latency(lambda: calls.append(1), batch_size=8, threads=1, warmup=4, repeats=12)
    assert len(calls) == 4 + 12  # warm-up calls run but are not timed
    assert clock.reads == 2 * 12
    assert result.median_ms == pytest.approx(np.median(durations_ms))  # 5.5
    assert result.median_ms == pytest.approx(5.5)
    assert result.p95_ms == pytest.approx(np.percentile(durations_ms, 95))
    assert (result.n_runs, result.batch_size, result.threads) == (12, 8, 1)
    assert result.as_dict() == {"median_ms": result.median_ms, "p95_ms": result.p95_ms, "n_runs": 12,
                                "batch_size": 8, "threads": 1}
    assert result.key == "b8_t1"


def test_min_seconds_keeps_timing_until_enough_time_has_passed(monkeypatch):
    monkeypatch.setattr(time, "perf_counter_ns", ScriptedClock([10_000_000]))  # every call 10 ms
    result = measure_latency(lambda: None, batch_size=1, threads=1, warmup=1, repeats=3, min_seconds=0.1)
    assert result.n_runs == 10
    assert result.median_ms == pytest.approx(10.0)


def test_a_real_sleep_is_at_least_its_duration():
    result = measure_latency(lambda: time.sleep(0.002), batch_size=1, threads=1, warmup=1, repeats=5)
    assert result.median_ms >= 2.0  # a lower bound only: the machine may be busy
    assert result.p95_ms >= result.median_ms


def test_threads_are_set_during_the_measurement_and_restored_even_on_error():
    before = torch.get_num_threads()
    seen = []
    measure_latency(lambda: seen.append(torch.get_num_threads()), batch_size=1, threads=2, warmup=1, repeats=2)
    assert seen == [2, 2, 2]
    assert torch.get_num_threads() == before

    def broken():
        assert torch.get_num_threads() == 2
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        measure_latency(broken, batch_size=1, threads=2)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0, threads=1), ValueError, "batch_size"),
    (dict(batch_size=1.0, threads=1), TypeError, "batch_size"),
    (dict(batch_size=1, threads=0), ValueError, "threads"),
    (dict(batch_size=1, threads=True), TypeError, "threads"),
    (dict(batch_size=1, threads=1, warmup=0), ValueError, "warmup"),
    (dict(batch_size=1, threads=1, repeats=-3), ValueError, "repeats"),
    (dict(batch_size=1, threads=1, min_seconds=0.0), ValueError, "min_seconds"),
    (dict(batch_size=1, threads=1, min_seconds=math.inf), ValueError, "min_seconds"),
    (dict(batch_size=1, threads=1, min_seconds="1"), TypeError, "min_seconds"),
])
def test_measure_latency_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        measure_latency(lambda: None, **kwargs)


def test_measure_latency_needs_a_callable():
    with pytest.raises(TypeError, match="predict"):
        measure_latency(torch.zeros(3), batch_size=1, threads=1)


def _latency(median, batch=1, threads=1, p95=None):
    return Latency(median_ms=median, p95_ms=median if p95 is None else p95, n_runs=30, batch_size=batch,
                   threads=threads)


def test_latency_ratio_and_its_checks():
    assert latency_ratio(_latency(2.0), _latency(8.0)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="different settings"):
        latency_ratio(_latency(2.0, batch=64), _latency(8.0, batch=1))
    with pytest.raises(ValueError, match="different settings"):
        latency_ratio(_latency(2.0, threads=2), _latency(8.0, threads=1))
    with pytest.raises(TypeError, match="reference"):
        latency_ratio(_latency(2.0), 8.0)


# ------------------------------------------------------------------------------------- cost table


def _rows():
    return [
        cost_row("CNN fp32", family="images", variant="fp32", parameters=60_000, size_bytes=240_000,
                 latencies={"b1_t1": _latency(0.4, p95=0.5), "b64_t1": _latency(6.0, batch=64)},
                 quality=0.95, quality_std=0.01, metric="test AUC"),
        cost_row("CNN int8", family="images", variant="int8", parameters=60_000, size_bytes=60_000,
                 latencies=[_latency(0.1), _latency(3.0, batch=64)], quality=0.94, quality_std=0.02,
                 metric="test AUC"),
        cost_row("HAR", family="volatility", variant="classical", parameters=4, size_bytes=500,
                 latencies={"b1_t1": _latency(0.01)}, quality=0.3, quality_std=None, metric="QLIKE"),
    ]


def test_cost_row_columns():
    row = _rows()[0]
    assert row["b1_t1_ms"] == 0.4 and row["b1_t1_p95_ms"] == 0.5 and row["b64_t1_ms"] == 6.0
    assert row["size_bytes"] == 240_000 and row["quality_std"] == 0.01
    assert _rows()[1]["b64_t1_ms"] == 3.0  # stems from Latency.key for a list


def test_cost_table_sizes_in_mb_and_ratios_within_each_family():
    table = cost_table(_rows())
    assert list(table["size_mb"]) == pytest.approx([240_000 / MB, 60_000 / MB, 500 / MB])
    assert MB == 10 ** 6
    images = table.set_index("name")
    assert images.loc["CNN int8", "size_ratio"] == pytest.approx(0.25)
    assert images.loc["CNN int8", "b1_t1_ratio"] == pytest.approx(0.1 / 0.4)
    assert images.loc["CNN int8", "b64_t1_ratio"] == pytest.approx(0.5)
    assert images.loc["CNN fp32", "b1_t1_ratio"] == pytest.approx(1.0)
    # the volatility family has no fp32 row, and no b64 latency
    assert np.isnan(images.loc["HAR", "size_ratio"]) and np.isnan(images.loc["HAR", "b1_t1_ratio"])
    assert np.isnan(images.loc["HAR", "b64_t1_ms"])
    assert "size_bytes" not in table.columns


def test_cost_table_with_another_reference_and_ambiguous_references():
    table = cost_table(_rows(), reference="int8").set_index("name")
    assert table.loc["CNN fp32", "size_ratio"] == pytest.approx(4.0)
    rows = _rows() + [dict(_rows()[0], name="CNN fp32 again")]
    with pytest.raises(ValueError, match="2 rows of the reference"):
        cost_table(rows)


@pytest.mark.parametrize("change, error, match", [
    (dict(name=""), TypeError, "name"),
    (dict(family=3), TypeError, "family"),
    (dict(parameters=-1), ValueError, "parameters"),
    (dict(size_bytes=1.5), TypeError, "size_bytes"),
    (dict(quality=float("nan")), ValueError, "quality"),
    (dict(quality_std=-0.1), ValueError, "quality_std"),
    (dict(latencies={"b1_t1": 0.4}), TypeError, "Latency"),
    (dict(latencies=[_latency(1.0), _latency(2.0)]), ValueError, "twice"),
    (dict(latencies=_latency(1.0)), TypeError, "latencies"),
])
def test_cost_row_checks_its_arguments(change, error, match):
    arguments = dict(name="m", family="f", variant="fp32", parameters=1, size_bytes=1, latencies={},
                     quality=0.5, quality_std=None, metric="AUC")
    arguments.update(change)
    name = arguments.pop("name")
    with pytest.raises(error, match=match):
        cost_row(name, **arguments)


def test_cost_table_refuses_other_things():
    with pytest.raises(TypeError, match="rows"):
        cost_table([])
    with pytest.raises(TypeError, match="rows"):
        cost_table([{"name": "x"}])


# ------------------------------------------------------------------------------------ Pareto front


def test_pareto_front_of_hand_made_points():
    #            A     B     C     D     E     F
    quality = [0.90, 0.95, 0.80, 0.95, 0.70, 0.90]
    cost = [1.0, 5.0, 2.0, 8.0, 0.5, 1.0]
    # A (0.90, 1) and F (equal to A) are kept; B (0.95, 5) kept; C dominated by A; D by B (same
    # quality, more cost); E (0.70, 0.5) kept: nothing is cheaper
    expected = [True, True, False, False, True, True]
    assert pareto_front(quality, cost).tolist() == expected


def test_pareto_front_when_lower_quality_is_better():
    loss = [0.3, 0.2, 0.5, 0.25]
    cost = [1.0, 3.0, 0.5, 4.0]
    # 0.25 @ 4 is dominated by 0.2 @ 3; the others trade loss for cost
    assert pareto_front(loss, cost, higher_quality_is_better=False).tolist() == [True, True, True, False]
    assert pareto_front(loss, cost).tolist() == [False, False, True, False]  # 0.5 @ 0.5 wins everything


def test_pareto_front_agrees_with_a_brute_force_loop():
    rng = np.random.default_rng(0)
    quality, cost = rng.integers(0, 6, 40).astype(float), rng.integers(0, 6, 40).astype(float)  # many ties
    expected = [not any(quality[j] >= quality[i] and cost[j] <= cost[i] and (quality[j], cost[j]) != (quality[i], cost[i])
                        for j in range(40)) for i in range(40)]
    assert pareto_front(quality, cost).tolist() == expected


def test_pareto_front_checks_its_arguments():
    with pytest.raises(ValueError, match="same length"):
        pareto_front([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="cost"):
        pareto_front([1, 2], [1, np.nan])
    with pytest.raises(TypeError, match="quality"):
        pareto_front(0.5, [1.0])
    with pytest.raises(TypeError, match="higher_quality_is_better"):
        pareto_front([1], [1], higher_quality_is_better="yes")
