"""Quality bars for notebook 01 (breast cancer, real data), read from results/01_foundations.json."""

import math

import pytest

from course_lib.results import entry_is_stand_in


pytestmark = pytest.mark.ledger

NOTEBOOK = "01_foundations"
MODELS = ("MLP", "logistic regression", "random forest")
# Test split of 114 tumours: one mistake is 0.009 accuracy. Measured means are well above these
# bars (accuracy ~0.94-0.98, AUC ~0.98-1.00 over 5 seeds); falling below them means a real regression.
MIN_ACCURACY = 0.90
MIN_AUC = 0.95
# The verdicts the final comparison prints: MLP against each classical baseline, per metric.
SEED_VERDICTS = {(metric, "MLP", baseline) for metric in ("test AUC", "test accuracy")
                 for baseline in ("logistic regression", "random forest")}




@pytest.mark.parametrize("model", MODELS)
def test_model_recorded_over_seeds(models, model):
    assert model in models, f"{model!r} missing from the ledger (have {sorted(models)})"
    entry = models[model]
    assert entry["dataset"] == "breast_cancer"
    assert entry["split"] == "test"
    for metric in ("accuracy", "auc"):
        value = entry["metrics"][metric]
        assert value["n"] >= 3, f"{model} {metric}: only {value['n']} seed(s)"
        assert math.isfinite(value["std"]) and value["std"] >= 0, f"{model} {metric}: std {value['std']}"


def test_every_entry_was_scored_on_the_test_split_once(models):
    assert models, "the ledger has no models"
    for model, entry in models.items():
        assert entry["split"] == "test", f"{model}: scored on {entry['split']!r}, not the test split"
        assert entry.get("test_evaluations") == 1, \
            f"{model}: scored {entry.get('test_evaluations')} times on the test split (must be 1)"


@pytest.mark.parametrize("model", MODELS)
def test_provenance_is_bundled(models, model):
    assert models[model]["provenance"] == "bundled", models[model]["provenance"]


def test_mlp_parameters_recorded(models):
    params = models["MLP"]["params"]
    assert isinstance(params, int) and params > 0, params


def test_verdicts_recorded_and_consistent(verdicts):
    recorded = {(v["metric"], v["model_a"], v["model_b"]) for v in verdicts}
    assert SEED_VERDICTS <= recorded, f"missing verdicts: {sorted(SEED_VERDICTS - recorded)}"
    assert any(v["method"].startswith("paired bootstrap") for v in verdicts), "no bootstrap verdict recorded"
    for v in verdicts:
        contains_zero = v["low"] <= 0 <= v["high"]
        assert (v["winner"] is None) == contains_zero, f"{v['metric']}: winner {v['winner']} vs [{v['low']}, {v['high']}]"
        assert v["baseline"] in (v["model_a"], v["model_b"]), f"{v['metric']}: no classical baseline named"
        assert v["sentence"], f"{v['metric']}: empty sentence"


@pytest.mark.parametrize("model", MODELS)
def test_quality_bars(models, model):
    entry = models[model]
    if entry_is_stand_in(entry):
        pytest.skip("quality bars apply to the named dataset only")
    accuracy, auc = entry["metrics"]["accuracy"]["mean"], entry["metrics"]["auc"]["mean"]
    assert accuracy >= MIN_ACCURACY, f"{model}: test accuracy {accuracy:.3f} < {MIN_ACCURACY}"
    assert auc >= MIN_AUC, f"{model}: test AUC {auc:.3f} < {MIN_AUC}"
