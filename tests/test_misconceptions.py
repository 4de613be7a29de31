"""The capstone's rules (course_lib.misconceptions), each on a small SYNTHETIC ledger built here whose
verdict can be checked by hand, in both directions; the stand-in rule, missing ledgers, bad input,
the rendering, one structural check on the real results/ ledgers (skipped when absent), and the
registry's ``examples`` counts against the loaded data (skipped per dataset when unreachable)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from course_lib.data import REGISTRY, DataUnavailableError, DatasetInfo, load_dataset
from course_lib.misconceptions import (
    AGAINST, FOR, LEDGER_NOTEBOOKS, MISCONCEPTIONS, NEITHER, NOT_JUDGED, NOT_REFUTED, REFUTED, VERDICTS,
    Evidence, Judgement, evidence_table, is_network, judge_all, judge_always_better, judge_black_box,
    judge_needs_hardware, judge_only_big_data, judge_replaces_judgement, judgement_table,
    misconceptions_markdown)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ synthetic ledgers

def entry(dataset="breast_cancer", provenance="bundled", *, stand_in=False, real=True, metrics=None,
          seconds=1.0):
    return {"dataset": dataset, "provenance": provenance, "stand_in": stand_in, "real": real,
            "source": "test", "split": "test", "test_evaluations": 1,
            "metrics": metrics or {"auc": {"mean": 0.9, "std": 0.0, "n": 3}}, "seconds": seconds,
            "params": None, "notes": ""}


def verdict(a, b, winner, baseline=None, metric="test AUC"):
    """A verdict dict; ``winner`` "a", "b" or None; ``baseline`` "a", "b" or None."""
    names = {"a": a, "b": b, None: None}
    return {"metric": metric, "model_a": a, "model_b": b, "mean_a": 0.9, "mean_b": 0.8, "difference": 0.1,
            "low": 0.05, "high": 0.15, "confidence": 0.95, "higher_is_better": True, "method": "toy",
            "winner": names[winner], "baseline": names[baseline],
            "sentence": f"{metric}: {a} vs {b}, winner {names[winner]}."}


def ledger(models, verdicts=()):
    return {"models": models, "verdicts": list(verdicts)}


def versus(outcomes, *, dataset="breast_cancer", provenance="bundled", stand_in=False, real=True):
    """One notebook's ledger: MLP against logistic regression, one verdict per outcome."""
    models = {"MLP": entry(dataset, provenance, stand_in=stand_in, real=real),
              "logistic regression": entry(dataset, provenance, stand_in=stand_in, real=real)}
    winner = {"network": "a", "classical": "b", "tie": None}
    return ledger(models, [verdict("MLP", "logistic regression", winner[o], "b", metric=f"metric {i}")
                           for i, o in enumerate(outcomes)])


# ------------------------------------------------------------------------------ names

@pytest.mark.parametrize("name", ["MLP", "tiny CNN", "CNN (seed 0)", "LSTM (QLIKE)", "GRU fp32", "GCN (random)",
                                  "GINE+descriptors", "MiniLM + LR", "Transformer from scratch",
                                  "autoencoder (latent 16)", "VAE (latent 8)", "conditional DCGAN", "mlp"])
def test_networks_are_recognised(name):
    assert is_network(name)


@pytest.mark.parametrize("name", ["logistic regression", "HOG + SVM (RBF kernel)", "GARCH(1,1)", "random forest",
                                  "TF-IDF + LR", "PCA (8 components)", "isolation forest", "gradient boosting",
                                  "GBM", "HAR (least squares)", "log-HAR (QLIKE)", "RF/ECFP4", "Grad-CAM",
                                  "attention rollout", "organic", "grubbs"])
def test_classical_models_are_not_networks(name):
    assert not is_network(name)


def test_is_network_rejects_a_non_string():
    with pytest.raises(TypeError, match="model_name"):
        is_network(3)


def test_the_five_misconceptions_in_order():
    assert [m.number for m in MISCONCEPTIONS] == [1, 2, 3, 4, 5]
    assert MISCONCEPTIONS[0].claim == "Deep learning always beats classical machine learning."
    assert MISCONCEPTIONS[4].claim == "Deep learning is a black box: its decisions cannot be explained."
    from course_lib.catalogue import NOTEBOOKS
    stems = {meta.stem for meta in NOTEBOOKS}
    assert all(set(m.notebooks) <= stems for m in MISCONCEPTIONS)


# ------------------------------------------------------------------------------ 1. always better

def test_every_classical_win_refutes_always_better():
    ledgers = {"01_a": versus(["classical", "classical"]), "02_b": versus(["classical"])}
    judgement = judge_always_better(ledgers)
    assert judgement.verdict == REFUTED
    assert judgement.count(AGAINST) == 3 and judgement.count(FOR) == 0
    assert "the classical model was better in all 3" in judgement.reason


def test_a_tie_is_not_a_win():
    judgement = judge_always_better({"01_a": versus(["network", "network", "tie"])})
    assert judgement.verdict == REFUTED
    assert "3 network-vs-classical comparisons on real data the network was better in 2, the classical " \
           "model in 0, and 1 had no clear winner" in judgement.reason


def test_network_wins_everywhere_is_not_refuted_but_not_proven():
    judgement = judge_always_better({"01_a": versus(["network"] * 4)})
    assert judgement.verdict == NOT_REFUTED
    assert judgement.count(FOR) == 4
    assert "all 4" in judgement.reason and "always" in judgement.reason


def test_only_network_vs_classical_verdicts_with_a_baseline_count():
    models = {"MLP": entry(), "CNN": entry(), "logistic regression": entry(), "random forest": entry()}
    verdicts = [verdict("MLP", "CNN", "a"),                                   # network vs network
                verdict("logistic regression", "random forest", "a", "b"),  # classical vs classical
                verdict("MLP", "random forest", "b"),                        # no baseline named
                verdict("random forest", "MLP", "a", "a")]                   # the one that counts
    judgement = judge_always_better({"01_a": ledger(models, verdicts)})
    assert len(judgement.evidence) == 1
    assert judgement.evidence[0].finding == verdicts[3]["sentence"] and judgement.evidence[0].bears == AGAINST


# ------------------------------------------------------------------------------ stand-in, missing

def test_stand_in_evidence_is_shown_not_counted():
    judgement = judge_always_better({"02_b": versus(["classical", "tie"], provenance="bundled", stand_in=True)})
    assert judgement.verdict == NOT_JUDGED
    assert [(e.data, e.counted) for e in judgement.evidence] == [("stand-in", False)] * 2
    assert "Only stand-in data" in judgement.reason and "none counted" in judgement.reason


def test_stand_in_evidence_does_not_tip_a_real_verdict():
    ledgers = {"01_a": versus(["network"]),
               "02_b": versus(["classical"], provenance="synthetic", stand_in=True, real=False)}
    judgement = judge_always_better(ledgers)
    assert judgement.verdict == NOT_REFUTED
    assert judgement.shown_not_counted == 1 and judgement.evidence[1].data == "synthetic"
    assert "1 more finding on stand-in or synthetic data shown, not counted" in judgement.reason


def test_local_data_counts():
    judgement = judge_always_better({"11_own": versus(["classical"], provenance="local")})
    assert judgement.verdict == REFUTED and judgement.evidence[0].data == "local"


def test_the_network_side_labels_the_data_seed_suffix_stripped():
    models = {"CNN": entry(stand_in=True), "logistic regression": entry()}
    judgement = judge_always_better({"01_a": ledger(models, [verdict("CNN (seed 0)", "logistic regression",
                                                                     "b", "b")])})
    assert judgement.evidence[0].data == "stand-in" and judgement.verdict == NOT_JUDGED


def test_unknown_sides_fall_back_to_the_notebook_as_a_whole():
    models = {"GCN (random)": entry(), "RF (random)": entry(stand_in=True)}
    judgement = judge_always_better({"05_m": ledger(models, [verdict("GCN", "RF", "b", "b")])})
    assert judgement.evidence[0].data == "stand-in"


def test_missing_ledgers_are_named_and_nothing_is_judged():
    for judge in (judge_always_better, judge_replaces_judgement, judge_only_big_data, judge_black_box):
        judgement = judge({})
        assert judgement.verdict == NOT_JUDGED and judgement.evidence == ()
        assert judgement.missing == judgement.misconception.notebooks
        assert "make course" in judgement.reason
    partial = judge_always_better({"01_foundations": versus(["classical"])})
    assert "01_foundations" not in partial.missing and len(partial.missing) == len(LEDGER_NOTEBOOKS) - 1
    assert partial.verdict == REFUTED and "Missing ledgers: 02_cnn_medical_imaging" in partial.reason


# ------------------------------------------------------------------------------ 2. replaces judgement

def drop_ledger(mean, std, n, name="CNN"):
    return ledger({name: entry("pneumoniamnist", "mirror",
                               metrics={"drop_s3": {"mean": mean, "std": std, "n": n}})})


def test_a_drop_whose_interval_is_above_zero_refutes_replaces_judgement():
    judgement = judge_replaces_judgement({"09_s": drop_ledger(0.10, 0.02, 3)})
    low, high = stats.t.interval(0.95, 2, loc=0.10, scale=0.02 / math.sqrt(3))  # independent formula
    assert low > 0 and judgement.verdict == REFUTED
    assert f"[{low:.5f}, {high:.4f}]" in judgement.evidence[0].finding  # 0.05032, 0.1497: 4 digits
    assert "1 failure" in judgement.reason and "1 of 1 network model" in judgement.reason


def test_a_drop_within_the_noise_is_neither():
    low, _ = stats.t.interval(0.95, 2, loc=0.05, scale=0.05 / math.sqrt(3))
    assert low < 0
    judgement = judge_replaces_judgement({"09_s": drop_ledger(0.05, 0.05, 3)})
    assert judgement.verdict == NOT_REFUTED and judgement.evidence[0].bears == NEITHER
    assert "no failure beyond the noise" in judgement.reason


def test_a_single_seed_drop_has_no_interval():
    judgement = judge_replaces_judgement({"09_s": drop_ledger(0.5, 0.0, 1)})
    assert judgement.evidence[0].bears == NEITHER and "one seed" in judgement.evidence[0].finding


def test_drops_of_classical_models_are_not_evidence():
    assert judge_replaces_judgement({"09_s": drop_ledger(0.3, 0.01, 3, name="logistic regression")}).evidence == ()


def test_the_classical_model_degrading_less_refutes_replaces_judgement():
    models = {"CNN": entry("pneumoniamnist", "mirror"), "HOG + SVM": entry("pneumoniamnist", "mirror")}
    less = verdict("CNN", "HOG + SVM", "b", "b", metric="relative AUC drop at severity 3")
    more = verdict("CNN", "HOG + SVM", "a", "b", metric="relative AUC drop at severity 5")
    tie = verdict("CNN", "HOG + SVM", None, "b", metric="relative AUC drop at severity 1")
    unrelated = verdict("CNN", "HOG + SVM", "b", "b", metric="test AUC")
    judgement = judge_replaces_judgement({"09_s": ledger(models, [less, more, tie, unrelated])})
    assert [e.bears for e in judgement.evidence] == [AGAINST, NEITHER, NEITHER]
    assert judgement.verdict == REFUTED and "1 of 3 drop comparisons" in judgement.reason
    network_better_or_tied = judge_replaces_judgement({"09_s": ledger(models, [more, tie])})
    assert network_better_or_tied.verdict == NOT_REFUTED


def gap_ledger(low, name="MLP (with colour)"):
    return ledger({name: entry("arrests", metrics={"dp_difference": {"mean": low + 0.05, "std": 0.0, "n": 1},
                                                   "dp_difference_low": {"mean": low, "std": 0.0, "n": 1}})})


def test_a_group_gap_beyond_the_noise_refutes_replaces_judgement():
    judgement = judge_replaces_judgement({"10_b": gap_ledger(0.02)})
    assert judgement.verdict == REFUTED and judgement.evidence[0].bears == AGAINST
    assert "selected groups at different rates" in judgement.reason


def test_a_group_gap_whose_interval_includes_zero_is_neither():
    judgement = judge_replaces_judgement({"10_b": gap_ledger(-0.01)})
    assert judgement.verdict == NOT_REFUTED and judgement.evidence[0].bears == NEITHER
    assert judge_replaces_judgement({"10_b": gap_ledger(0.2, name="gradient boosting")}).evidence == ()


# ------------------------------------------------------------------------------ 3. only big data

def test_a_network_win_on_a_small_dataset_refutes_only_big_data():
    size = REGISTRY["breastmnist"].examples
    assert size <= 2000
    judgement = judge_only_big_data({"07_s": versus(["network", "tie", "classical"], dataset="breastmnist",
                                                    provenance="mirror")})
    assert judgement.verdict == REFUTED
    assert [e.bears for e in judgement.evidence] == [AGAINST, NEITHER, NEITHER]
    assert f"breastmnist {size}" in judgement.reason
    assert "the network was better in 1, the classical model in 1, and 1 had no clear winner" in judgement.reason


def test_no_network_win_on_small_data_is_not_refuted():
    judgement = judge_only_big_data({"07_s": versus(["classical", "tie"], dataset="breastmnist",
                                                    provenance="mirror")})
    assert judgement.verdict == NOT_REFUTED and "never better" in judgement.reason


def test_large_datasets_and_own_files_are_not_small_data_evidence():
    assert REGISTRY["pneumoniamnist"].examples > 2000
    large = {"02_c": versus(["network"], dataset="pneumoniamnist", provenance="mirror")}
    assert judge_only_big_data(large).verdict == NOT_JUDGED
    assert judge_only_big_data(large, small_limit=10_000).verdict == REFUTED
    own = {"11_own": versus(["network"], dataset="breastmnist", provenance="local")}
    assert judge_only_big_data(own).evidence == ()


@pytest.mark.parametrize("limit, error", [(2000.5, TypeError), (True, TypeError), (0, ValueError)])
def test_small_limit_is_checked(limit, error):
    with pytest.raises(error, match="small_limit"):
        judge_only_big_data({}, small_limit=limit)


# ------------------------------------------------------------------------------ 4. hardware

def bench(runs, *, device="cpu", budget=None):
    record = {"machine": {"cpu": "toy CPU", "cores": "2", "device": device}, "notebooks": runs}
    if budget is not None:
        record["budget"] = budget
    return record


def run(notebook, wall, peak, *, ok=True, with_ledger=None):
    record = {"notebook": notebook, "ok": ok, "wall_s": wall, "peak_tree_mib": peak}
    if with_ledger is not None:
        record["ledger"] = with_ledger
    return record


NETWORK_LEDGER = ledger({"MLP": entry(seconds=12.5), "logistic regression": entry(seconds=0.1),
                         "CNN": entry(seconds=3.0)})


def test_networks_within_budget_on_a_cpu_refute_needs_hardware():
    judgement = judge_needs_hardware({"01_a": NETWORK_LEDGER}, bench([run("01_a", 100.0, 900.0)]))
    assert judgement.verdict == REFUTED
    assert all(e.data == "benchmark" and e.counted for e in judgement.evidence)
    assert "2 CPU cores, no GPU, in 100 s with peak 900 MiB" in judgement.evidence[0].finding
    assert "MLP, 12.5 s" in judgement.evidence[1].finding  # the slowest network run, not the LR
    assert "1 of 1 notebook with networks ran within the budget of 300 s and 2048 MiB" in judgement.reason


@pytest.mark.parametrize("wall, peak, ok", [(301.0, 900.0, True), (100.0, 2049.0, True), (100.0, 900.0, False)])
def test_outside_the_budget_is_not_evidence_against(wall, peak, ok):
    slow = ledger({"MLP": entry(seconds=400.0)})
    judgement = judge_needs_hardware({"01_a": slow}, bench([run("01_a", wall, peak, ok=ok)]))
    assert judgement.verdict == NOT_REFUTED and {e.bears for e in judgement.evidence} == {NEITHER}


def test_the_records_own_budget_and_device_are_used():
    tight = judge_needs_hardware({"01_a": NETWORK_LEDGER}, bench([run("01_a", 100.0, 900.0)],
                                                                 budget={"seconds": 60.0, "mib": 4000.0}))
    assert tight.evidence[0].bears == NEITHER and "outside the budget of 60 s" in tight.evidence[0].finding
    gpu = judge_needs_hardware({"01_a": NETWORK_LEDGER}, bench([run("01_a", 10.0, 900.0)], device="cuda"))
    assert gpu.verdict == NOT_REFUTED and "cuda" in gpu.evidence[0].finding


def test_the_benched_runs_own_ledger_decides_and_stand_in_runs_are_not_counted():
    classical_only = ledger({"logistic regression": entry()})
    assert judge_needs_hardware({"01_a": classical_only}, bench([run("01_a", 10.0, 500.0)])).evidence == ()
    embedded = judge_needs_hardware({}, bench([run("01_a", 10.0, 500.0, with_ledger=NETWORK_LEDGER)]))
    assert embedded.verdict == REFUTED and "01_a" not in embedded.missing
    stand_in = ledger({"MLP": entry(stand_in=True)})
    shown = judge_needs_hardware({"01_a": stand_in}, bench([run("01_a", 10.0, 500.0)]))
    assert shown.verdict == NOT_JUDGED and shown.evidence[0].data == "stand-in"


def test_no_bench_record_is_not_judged():
    for record in (None, {}):
        judgement = judge_needs_hardware({"01_a": NETWORK_LEDGER}, record)
        assert judgement.verdict == NOT_JUDGED and "make bench" in judgement.reason


# ------------------------------------------------------------------------------ 5. black box

def explained(*outcomes):
    """Explanation methods against a random ranking: outcome "method", "random" or "tie"."""
    models = {"CNN": entry("pneumoniamnist", "mirror")}
    winner = {"method": "a", "random": "b", "tie": None}
    return ledger(models, [verdict(f"method {i}", "random ranking", winner[o], metric="deletion area")
                           for i, o in enumerate(outcomes)])


def test_an_explanation_beating_random_refutes_black_box():
    judgement = judge_black_box({"09_s": explained("method", "tie", "random")})
    assert judgement.verdict == REFUTED
    assert [e.bears for e in judgement.evidence] == [AGAINST, NEITHER, FOR]
    assert "beat random: method 0 (1 of 1)" in judgement.reason
    assert "did not beat random: method 1 (0 of 1), method 2 (0 of 1)" in judgement.reason
    assert "random was better in 1" in judgement.reason


def test_no_explanation_beating_random_is_not_refuted():
    judgement = judge_black_box({"10_b": explained("tie", "random")})
    assert judgement.verdict == NOT_REFUTED and "no explanation method beat random" in judgement.reason


def test_random_forests_and_random_splits_are_not_random_references():
    models = {"MLP": entry(), "random forest": entry(), "RF/ECFP4 (random)": entry()}
    verdicts = [verdict("MLP", "random forest", "a", "b"), verdict("MLP", "RF/ECFP4 (random)", "a", "b")]
    assert judge_black_box({"01_a": ledger(models, verdicts)}).evidence == ()


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("bad, error, match", [
    ([], TypeError, "ledgers must be a mapping"),
    ({"01_a": []}, TypeError, "ledger of 01_a must be a dict"),
    ({"01_a": {"models": [], "verdicts": []}}, TypeError, "ledger of 01_a: 'models'"),
    ({"01_a": {"models": {"MLP": 1}, "verdicts": []}}, TypeError, "ledger of 01_a: model 'MLP'"),
    ({"01_a": {"models": {"MLP": {**entry(), "provenance": "moon"}}}}, ValueError, "provenance 'moon'"),
    ({"01_a": {"models": {}, "verdicts": "x"}}, TypeError, "ledger of 01_a: 'verdicts' must be a list"),
    ({"01_a": {"models": {}, "verdicts": [{"metric": "m", "model_a": "A", "model_b": "B"}]}}, ValueError,
     "ledger of 01_a: verdict 0 lacks winner, baseline"),
    ({"01_a": ledger({}, [verdict("A", "B", None) | {"winner": "C"}])}, ValueError, "verdict 0 names winner 'C'"),
    ({"01_a": ledger({}, [verdict("A", "B", None) | {"model_a": ""}])}, ValueError, "verdict 0 has model_a ''"),
])
def test_bad_ledgers_are_named(bad, error, match):
    for judge in (judge_always_better, judge_replaces_judgement, judge_only_big_data, judge_black_box):
        with pytest.raises(error, match=match):
            judge(bad)


def test_a_non_finite_metric_names_notebook_and_model():
    with pytest.raises(ValueError, match=r"ledger of 09_s: model 'CNN': metric 'drop_s3'"):
        judge_replaces_judgement({"09_s": drop_ledger(float("nan"), 0.0, 3)})


def test_bad_bench_records_are_named():
    with pytest.raises(TypeError, match="bench must be"):
        judge_needs_hardware({}, [1])
    with pytest.raises(ValueError, match="'notebooks' must be a list"):
        judge_needs_hardware({}, {"notebooks": "x"})
    with pytest.raises(ValueError, match="01_a needs a finite number 'wall_s'"):
        judge_needs_hardware({}, bench([run("01_a", None, 500.0, with_ledger=NETWORK_LEDGER)]))


def test_evidence_must_be_counted_exactly_on_real_data():
    with pytest.raises(ValueError, match="counted must be False"):
        Evidence("01_a", "finding", AGAINST, "stand-in", True)
    with pytest.raises(ValueError, match="bears"):
        Evidence("01_a", "finding", "maybe", "real", True)


def test_renderers_reject_bad_input(tmp_path):
    with pytest.raises(TypeError, match="judgements"):
        judgement_table("refuted")
    with pytest.raises(TypeError, match=r"judgements\[0\]"):
        misconceptions_markdown([1])
    with pytest.raises(TypeError, match="judgement must be a Judgement"):
        evidence_table([])
    with pytest.raises(ValueError, match="not a folder"):
        judge_all(tmp_path / "absent", {})


# ------------------------------------------------------------------------------ tables and page

def test_tables_and_markdown_agree_with_the_evidence(tmp_path):
    ledgers = {"01_a": versus(["network", "classical", "tie"]),
               "02_b": versus(["classical"], stand_in=True)}
    ledgers["01_a"]["verdicts"][0]["sentence"] = "a | pipe in a sentence"
    for name, content in ledgers.items():
        (tmp_path / f"{name}.json").write_text(json.dumps({"notebook": name, **content}))
    judgements = judge_all(tmp_path, bench([run("01_a", 10.0, 500.0)]))
    assert [j.misconception.number for j in judgements] == [1, 2, 3, 4, 5]
    table = judgement_table(judgements)
    assert len(table) == 5 and set(table["verdict"]) <= set(VERDICTS)
    first = table.iloc[0]
    assert (first["against"], first["for"], first["neither"], first["shown, not counted"]) == (2, 1, 0, 1)
    evidence = evidence_table(judgements[0])
    assert list(evidence.columns) == ["notebook", "finding", "bears", "data", "counted"]
    assert evidence["counted"].tolist() == [True, True, True, False]
    page = misconceptions_markdown(judgements)
    for m in MISCONCEPTIONS:
        assert f"## {m.number}. {m.claim}" in page
    assert f"**Verdict: {judgements[0].verdict}.** {judgements[0].reason}" in page
    assert "a \\| pipe in a sentence" in page
    section = page.split("## 1.")[1].split("## 2.")[0]
    assert sum(line.startswith("| 0") for line in section.splitlines()) == 4  # one row per finding (notebooks 0x)


# ------------------------------------------------------------------------------ the real ledgers

@pytest.mark.skipif(not any((ROOT / "results").glob("*.json")), reason="no ledgers in results/ (run make course)")
def test_the_real_ledgers_are_judged():
    judgements = judge_all(ROOT / "results", ROOT / "docs" / "benchmarks.json")
    assert [j.misconception for j in judgements] == list(MISCONCEPTIONS)
    for j in judgements:
        assert isinstance(j, Judgement) and j.verdict in VERDICTS and j.reason.strip()
        assert all(isinstance(e, Evidence) for e in j.evidence)
        counted = [e for e in j.evidence if e.counted]
        assert (j.verdict == NOT_JUDGED) == (not counted)
        assert (j.verdict == REFUTED) == any(e.bears == AGAINST for e in counted)
    assert misconceptions_markdown(judgements).count("**Verdict: ") == 5


# ------------------------------------------------------------------------------ registry sizes

def _mirrors() -> list[str]:
    named = [m for m in os.environ.get("COURSE_DATA_MIRROR", "").split(os.pathsep) if m]
    return named or [str(p) for p in [Path("/work/shared/datasets")] if p.is_dir()]


MIRRORS = _mirrors()  # read at import: the isolation fixture removes $COURSE_DATA_MIRROR from each test


def count_examples(data) -> int:
    """Labelled examples in a dataset as its reader returns it (independent of the registry)."""
    if isinstance(data, pd.DataFrame):
        return len(data)
    if isinstance(data, dict) and all(isinstance(v, pd.DataFrame) for v in data.values()):
        return sum(len(frame) for frame in data.values())
    if isinstance(data, dict):
        return sum(len(v) for k, v in data.items() if k.endswith("_labels"))
    raise TypeError(f"unexpected data type {type(data).__name__}")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_examples_match_the_data(name):
    info = REGISTRY[name]
    assert isinstance(info.examples, int) and info.examples > 0
    try:
        loaded = load_dataset(name, mirrors=MIRRORS, offline=True, progressbar=False)
    except DataUnavailableError:
        pytest.skip(f"{name}: no mirror or bundled copy on this machine")
    assert count_examples(loaded.data) == info.examples


def test_examples_is_checked():
    base = dict(name="x", title="x", description="x", licence="x", citation="x", homepage="x", bundled=lambda: 0)
    with pytest.raises(TypeError, match="examples of 'x'"):
        DatasetInfo(**base, examples=1.5)
    with pytest.raises(ValueError, match="examples of 'x' must be positive"):
        DatasetInfo(**base, examples=0)
    assert DatasetInfo(**base).examples is None
