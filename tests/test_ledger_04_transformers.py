"""Quality bars of notebook 04 (transformers for sentiment), read from its results ledger.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. The quality bars apply when the data was real SST-2; the stand-in
checks apply only to the synthetic stand-in (they check that it keeps the lesson's shape).
"""

from __future__ import annotations

import math

import pytest

from course_lib.results import entry_is_stand_in

pytestmark = pytest.mark.ledger

NOTEBOOK = "04_transformers_sentiment"
BASELINE = "TF-IDF + LR"
TRANSFORMERS = ("Transformer from scratch", "MiniLM frozen + LR", "MiniLM fine-tuned")
MODELS = (BASELINE, *TRANSFORMERS)
#: parameters all-MiniLM-L6-v2 uses for a mean-pooled embedding (its 147,840-parameter pooler is unused)
MINILM_USED = 22_565_376


def _accuracy(models, name):
    return models[name]["metrics"]["accuracy"]["mean"]


def _synthetic(models) -> bool:
    return any(entry_is_stand_in(models[m]) for m in MODELS)


def test_every_model_is_recorded_on_the_dev_split_over_three_seeds(models):
    missing = [m for m in MODELS if m not in models]
    assert not missing, f"models missing from the ledger: {missing}"
    for name in MODELS:
        entry = models[name]
        assert entry["dataset"] == "sst2" and entry["split"] == "dev", f"{name}: {entry['dataset']}/{entry['split']}"
        assert entry["test_evaluations"] == 1, f"{name} was scored {entry['test_evaluations']} times on dev"
        for metric in ("accuracy", "f1"):
            value = entry["metrics"][metric]
            assert 0 <= value["mean"] <= 1 and math.isfinite(value["std"]), f"{name} {metric}: {value}"
            assert value["n"] >= 3, f"{name} {metric}: {value['n']} seeds, need at least 3 to see the spread"
        assert entry["seconds"] is not None and entry["seconds"] >= 0, f"{name} has no seconds"
        assert entry["params"] is not None and entry["params"] > 0, f"{name} has no parameter count"
    assert len({models[m]["provenance"] for m in MODELS}) == 1, "models saw different data"


def test_parameters_are_counted_as_used_at_inference(models):
    # MiniLM models: the encoder (embeddings + 6 layers) plus their head, not the trainable part only
    frozen, tuned = models["MiniLM frozen + LR"]["params"], models["MiniLM fine-tuned"]["params"]
    assert frozen == MINILM_USED + 384 + 1, f"frozen MiniLM + LR reports {frozen:,} parameters"
    assert tuned == MINILM_USED + 384 * 2 + 2, f"fine-tuned MiniLM reports {tuned:,} parameters"
    # TF-IDF + LR: one weight per n-gram plus the intercept, far fewer than the encoder
    assert 10 < models[BASELINE]["params"] < frozen


def test_verdicts_compare_the_transformers_with_the_baseline(verdicts):
    pairs = {(v["model_a"], v["model_b"]) for v in verdicts}
    for name in TRANSFORMERS:
        assert (name, BASELINE) in pairs, f"no verdict for {name} vs {BASELINE}"
    assert all(v["baseline"] == BASELINE for v in verdicts if BASELINE in (v["model_a"], v["model_b"]))


def test_quality_bars_on_real_data(models):
    if _synthetic(models):
        pytest.skip("quality bars apply to real data only")
    # TF-IDF + LR is deterministic (0.807 in every run so far); unchanged bar.
    assert _accuracy(models, BASELINE) >= 0.80, f"TF-IDF + LR dev accuracy {_accuracy(models, BASELINE):.3f} < 0.80"
    # Moved from "best transformer >= 0.85": the honest protocol (3 seeds for every trained model in the
    # same 5-minute CPU budget) trains MiniLM's top 2 of 6 layers on 2,500 sentences instead of 5 layers
    # on 5,500 for a single seed (0.872). Measured: 0.840 ± 0.001 over 3 seeds on dev (0.821 ± 0.010 on
    # validation). 0.82 = measured mean − 0.02, two validation standard deviations, which also covers
    # other CPUs and thread counts changing the float rounding and so the training trajectory.
    assert _accuracy(models, "MiniLM fine-tuned") >= 0.82, \
        f"fine-tuned MiniLM dev accuracy {_accuracy(models, 'MiniLM fine-tuned'):.3f} < 0.82"
    # Frozen MiniLM + LR is deterministic up to float rounding: measured 0.806; 0.78 leaves margin.
    assert _accuracy(models, "MiniLM frozen + LR") >= 0.78
    # F1 near accuracy: SST-2 dev is balanced, so a model predicting one class would fail here
    for name in MODELS:
        f1 = models[name]["metrics"]["f1"]["mean"]
        assert abs(f1 - _accuracy(models, name)) < 0.1, f"{name}: F1 {f1:.3f} far from accuracy {_accuracy(models, name):.3f}"


def test_stand_in_keeps_the_lesson_shape(models):
    if not _synthetic(models):
        pytest.skip("checks of the synthetic stand-in only")
    # the stand-in must not be trivially separable by a bag of words ...
    baseline = _accuracy(models, BASELINE)
    assert baseline < 1.0, "TF-IDF + LR solves the stand-in perfectly: it no longer teaches anything"
    # ... and the pretrained encoder, fine-tuned, must do better than the bag of words on it
    tuned = _accuracy(models, "MiniLM fine-tuned")
    assert tuned > baseline, f"fine-tuned MiniLM {tuned:.3f} is not above TF-IDF + LR {baseline:.3f} on the stand-in"
