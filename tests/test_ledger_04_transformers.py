"""Quality bars of notebook 04 (transformers for sentiment), read from its results ledger.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. Bars apply only when the data was real SST-2 (not the synthetic stand-in).
"""

from __future__ import annotations

import math

import pytest


pytestmark = pytest.mark.ledger

NOTEBOOK = "04_transformers_sentiment"
BASELINE = "TF-IDF + LR"
TRANSFORMERS = ("Transformer from scratch", "MiniLM frozen + LR", "MiniLM fine-tuned")


def test_every_model_is_recorded_on_the_dev_split(models):
    missing = [m for m in (BASELINE, *TRANSFORMERS) if m not in models]
    assert not missing, f"models missing from the ledger: {missing}"
    for name in (BASELINE, *TRANSFORMERS):
        entry = models[name]
        assert entry["dataset"] == "sst2" and entry["split"] == "dev", f"{name}: {entry['dataset']}/{entry['split']}"
        for metric in ("accuracy", "f1"):
            value = entry["metrics"][metric]
            assert 0 <= value["mean"] <= 1 and math.isfinite(value["std"]) and value["n"] >= 1, f"{name} {metric}: {value}"
        assert entry["seconds"] is not None and entry["seconds"] >= 0, f"{name} has no seconds"
        assert entry["params"] is not None and entry["params"] > 0, f"{name} has no parameter count"
    assert len({models[m]["provenance"] for m in (BASELINE, *TRANSFORMERS)}) == 1, "models saw different data"


def test_fine_tuned_model_is_minilm_sized(models):
    # trainable parameters: at most MiniLM's 22.7 M, at least its top layer plus the head
    params = models["MiniLM fine-tuned"]["params"]
    assert 1_000_000 < params <= 22_713_216 + 1_000, f"fine-tuned MiniLM reports {params:,} trainable parameters"


def test_quality_bars_on_real_data(models):
    if any(models[m]["provenance"] == "synthetic" for m in (BASELINE, *TRANSFORMERS)):
        pytest.skip("quality bars apply to real data only")
    accuracy = {m: models[m]["metrics"]["accuracy"]["mean"] for m in (BASELINE, *TRANSFORMERS)}
    assert accuracy[BASELINE] >= 0.80, f"TF-IDF + LR dev accuracy {accuracy[BASELINE]:.3f} < 0.80"
    best = max(TRANSFORMERS, key=accuracy.get)
    assert accuracy[best] >= 0.85, f"best transformer ({best}) dev accuracy {accuracy[best]:.3f} < 0.85"
    # F1 near accuracy: SST-2 dev is balanced, so a model predicting one class would fail here
    for name in (BASELINE, *TRANSFORMERS):
        f1 = models[name]["metrics"]["f1"]["mean"]
        assert abs(f1 - accuracy[name]) < 0.1, f"{name}: F1 {f1:.3f} far from accuracy {accuracy[name]:.3f}"
