"""The registry's readers and validators, the registry itself, bundled data, stand-ins and
dataset_status. Bad files are tiny ones built in tmp; the real data is used only from the offline
mirror (the CI machines' /work/shared/datasets), never downloaded."""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import course_test_data as td
from course_lib import environment
from course_lib.data import (
    PROVENANCES,
    REGISTRY,
    DataFile,
    DatasetInfo,
    DataUnavailableError,
    DataValidationError,
    Fallback,
    LoadedDataset,
    dataset_names,
    dataset_status,
    get_dataset_info,
    load_dataset,
    loading,
    readers,
)
from course_lib.data import fallbacks

MIRROR = Path("/work/shared/datasets")
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="the offline data mirror is not on this machine")

PNEU_PATH = "medmnist/pneumoniamnist.npz"
BREAST_PATH = "medmnist/breastmnist.npz"


def error_about(path: Path, problem: str) -> str:
    """A ``match`` pattern: the message names the file, then the problem."""
    return re.escape(str(path)) + r": .*" + problem


# ============================================================================ PneumoniaMNIST


def pneumonia_arrays(**changes) -> dict[str, np.ndarray]:
    arrays = {}
    for split, n in readers.PNEUMONIAMNIST_SIZES.items():
        arrays[f"{split}_images"] = np.zeros((n, 28, 28), np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(n, 1).astype(np.uint8)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


def write_npz(tmp_path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Path]:
    path = tmp_path / PNEU_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return {PNEU_PATH: path}


def test_read_pneumoniamnist_accepts_medmnist_layout(tmp_path):
    data = readers.read_pneumoniamnist(write_npz(tmp_path, {**pneumonia_arrays(), "extra_info": np.ones(3)}))
    assert sorted(data) == sorted(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
    for split, n in readers.PNEUMONIAMNIST_SIZES.items():
        assert data[f"{split}_images"].shape == (n, 28, 28) and data[f"{split}_images"].dtype == np.uint8
        assert data[f"{split}_labels"].shape == (n,) and data[f"{split}_labels"].dtype == np.int64
        np.testing.assert_array_equal(data[f"{split}_labels"], np.arange(n) % 2)


N_TRAIN = readers.PNEUMONIAMNIST_SIZES["train"]
BAD_PNEUMONIA = {
    "missing key": (dict(test_labels=None), r"missing keys \['test_labels'\]"),
    "float images": (dict(train_images=np.zeros((N_TRAIN, 28, 28), np.float32)),
                     "train_images has dtype float32, expected uint8"),
    "wrong image shape": (dict(val_images=np.zeros((524, 28, 27), np.uint8)), r"val_images has shape \(524, 28, 27\)"),
    "flat images": (dict(val_images=np.zeros((524, 784), np.uint8)), r"val_images has shape \(524, 784\)"),
    "float labels": (dict(train_labels=np.zeros((N_TRAIN, 1))), "train_labels has dtype float64, expected integers"),
    "two label columns": (dict(test_labels=np.zeros((624, 2), np.int64)), r"test_labels has shape \(624, 2\)"),
    "label count": (dict(train_labels=np.zeros((N_TRAIN - 1, 1), np.int64)),
                    f"train: {N_TRAIN} images but {N_TRAIN - 1} labels"),
    "label out of range": (dict(val_labels=np.full((524, 1), 2)), r"val_labels has values \[2\] outside 0..1"),
    "negative label": (dict(test_labels=np.full((624, 1), -1)), r"test_labels has values \[-1\] outside 0..1"),
    "wrong split size": (dict(train_images=np.zeros((10, 28, 28), np.uint8), train_labels=np.zeros((10, 1), np.int64)),
                         f"train has 10 images, expected {N_TRAIN}"),
    "empty split": (dict(val_images=np.zeros((0, 28, 28), np.uint8), val_labels=np.zeros((0, 1), np.int64)),
                    "val split is empty"),
}


@pytest.mark.parametrize("changes, problem", BAD_PNEUMONIA.values(), ids=BAD_PNEUMONIA.keys())
def test_read_pneumoniamnist_rejects_bad_structure(tmp_path, changes, problem):
    paths = write_npz(tmp_path, pneumonia_arrays(**changes))
    with pytest.raises(DataValidationError, match=error_about(paths[PNEU_PATH], problem)):
        readers.read_pneumoniamnist(paths)


@pytest.mark.parametrize("content", [b"not an archive", b"", td.npz_bytes()[:3000]], ids=["text", "empty", "truncated"])
def test_read_pneumoniamnist_rejects_unreadable_files(tmp_path, content):
    path = td.write(tmp_path / PNEU_PATH, content)
    with pytest.raises(DataValidationError, match=error_about(path, r"not a readable \.npz archive")):
        readers.read_pneumoniamnist({PNEU_PATH: path})


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, train_images=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataValidationError, match=error_about(path, "not a readable .npz archive")):
        readers._load_npz(path)


def test_damaged_compressed_npz_always_reported_as_invalid(tmp_path):
    # Flipping bytes of a compressed archive breaks it at different layers (zip directory, CRC,
    # zlib stream, .npy header); each must surface as DataValidationError so that a corrupt cache is
    # re-fetched instead of crashing the loader.
    arrays = {f"{s}_images": np.tile(np.arange(28, dtype=np.uint8), (40, 28, 1)) for s in ("train", "val", "test")}
    arrays.update({f"{s}_labels": np.zeros((40, 1), np.int64) for s in ("train", "val", "test")})
    original = td.npz_bytes(arrays, compressed=True)
    path = tmp_path / "damaged.npz"
    outcomes = {"loaded": 0, "rejected": 0}
    for position in range(0, len(original), 7):
        damaged = bytearray(original)
        damaged[position] ^= 0x5A
        path.write_bytes(bytes(damaged))
        try:
            readers._load_npz(path)
            outcomes["loaded"] += 1  # e.g. a timestamp byte: harmless
        except DataValidationError as error:
            assert str(error).startswith(f"{path}: not a readable .npz archive")
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > len(original) // 14


def test_validate_image_splits_other_shapes_and_classes():
    arrays = td.image_arrays({"train": 4, "val": 2, "test": 2})
    readers.validate_image_splits(arrays, "x.npz")  # no expected sizes: any N > 0 is fine
    arrays["train_labels"] = np.array([0, 1, 2, 1])
    readers.validate_image_splits(arrays, "x.npz", n_classes=3)
    with pytest.raises(DataValidationError, match=r"x.npz: train_labels has values \[2\] outside 0..1"):
        readers.validate_image_splits(arrays, "x.npz")
    with pytest.raises(DataValidationError, match=r"train_images has shape \(4, 28, 28\)"):
        readers.validate_image_splits(arrays, "x.npz", image_shape=(3, 28, 28), n_classes=3)


# ============================================================================ BreastMNIST


def breast_arrays(label_shape: str = "column", **changes) -> dict[str, np.ndarray]:
    """BreastMNIST-shaped arrays; labels ``(N, 1)`` as in the official file (``"column"``) or
    ``(N,)`` as in the offline mirror's re-saved copy (``"flat"``)."""
    arrays = {}
    for split, n in readers.BREASTMNIST_SIZES.items():
        arrays[f"{split}_images"] = np.full((n, 28, 28), 7, np.uint8)
        labels = (np.arange(n) % 4 != 0).astype(np.uint8)  # a quarter malignant (0), like the real set
        arrays[f"{split}_labels"] = labels.reshape(n, 1) if label_shape == "column" else labels
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


def write_breast_npz(folder: Path, arrays: dict[str, np.ndarray]) -> dict[str, Path]:
    path = folder / BREAST_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return {BREAST_PATH: path}


@pytest.mark.parametrize("label_shape", ["column", "flat"], ids=["labels (N,1)", "labels (N,)"])
def test_read_breastmnist_accepts_both_label_layouts(tmp_path, label_shape):
    data = readers.read_breastmnist(write_breast_npz(tmp_path, {**breast_arrays(label_shape),
                                                                "extra_info": np.ones(3)}))
    assert sorted(data) == sorted(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
    for split, n in readers.BREASTMNIST_SIZES.items():
        assert data[f"{split}_images"].shape == (n, 28, 28) and data[f"{split}_images"].dtype == np.uint8
        assert data[f"{split}_labels"].shape == (n,) and data[f"{split}_labels"].dtype == np.int64
        np.testing.assert_array_equal(data[f"{split}_labels"], np.arange(n) % 4 != 0)


N_BREAST = readers.BREASTMNIST_SIZES
BAD_BREAST = {
    "missing key": (dict(val_images=None), r"missing keys \['val_images'\]"),
    "RGB images": (dict(train_images=np.zeros((546, 28, 28, 3), np.uint8)),
                   r"train_images has shape \(546, 28, 28, 3\), expected \(N, \(28, 28\)\)"),
    "wrong image size": (dict(test_images=np.zeros((156, 64, 64), np.uint8)), r"test_images has shape \(156, 64, 64\)"),
    "float images": (dict(val_images=np.zeros((78, 28, 28), np.float64)),
                     "val_images has dtype float64, expected uint8"),
    "two label columns": (dict(train_labels=np.zeros((546, 2), np.uint8)),
                          r"train_labels has shape \(546, 2\), expected \(N, 1\) or \(N,\)"),
    "labels (1, N)": (dict(val_labels=np.zeros((1, 78), np.uint8)), r"val_labels has shape \(1, 78\)"),
    "labels (N, 1, 1)": (dict(val_labels=np.zeros((78, 1, 1), np.uint8)), r"val_labels has shape \(78, 1, 1\)"),
    "float labels": (dict(test_labels=np.zeros(156)), "test_labels has dtype float64, expected integers"),
    "a third class": (dict(train_labels=np.arange(546) % 3), r"train_labels has values \[2\] outside 0..1"),
    "label count": (dict(test_labels=np.zeros(155, np.int64)), "test: 156 images but 155 labels"),
    "wrong split size": (dict(val_images=np.zeros((80, 28, 28), np.uint8), val_labels=np.zeros(80, np.int64)),
                         "val has 80 images, expected 78"),
}


@pytest.mark.parametrize("changes, problem", BAD_BREAST.values(), ids=BAD_BREAST.keys())
@pytest.mark.parametrize("label_shape", ["column", "flat"])
def test_read_breastmnist_rejects_bad_structure(tmp_path, changes, problem, label_shape):
    paths = write_breast_npz(tmp_path, breast_arrays(label_shape, **changes))
    with pytest.raises(DataValidationError, match=error_about(paths[BREAST_PATH], problem)):
        readers.read_breastmnist(paths)


def test_medmnist_readers_do_not_take_each_others_files(tmp_path):
    """Same structure, other split sizes: PneumoniaMNIST under BreastMNIST's name is refused, and
    the other way round."""
    breast = write_breast_npz(tmp_path / "a", td.image_arrays(readers.PNEUMONIAMNIST_SIZES))
    with pytest.raises(DataValidationError,
                       match=error_about(breast[BREAST_PATH], "train has 4708 images, expected 546")):
        readers.read_breastmnist(breast)
    pneumonia = write_npz(tmp_path / "b", breast_arrays("flat"))
    with pytest.raises(DataValidationError,
                       match=error_about(pneumonia[PNEU_PATH], "train has 546 images, expected 4708")):
        readers.read_pneumoniamnist(pneumonia)


@pytest.mark.parametrize("content", [b"", td.npz_bytes(breast_arrays())[:2000]], ids=["empty", "truncated"])
def test_read_breastmnist_rejects_unreadable_files(tmp_path, content):
    path = td.write(tmp_path / BREAST_PATH, content)
    with pytest.raises(DataValidationError, match=error_about(path, r"not a readable \.npz archive")):
        readers.read_breastmnist({BREAST_PATH: path})


def test_read_medmnist_2d_classes_and_sizes(tmp_path):
    arrays = td.image_arrays({"train": 6, "val": 3, "test": 3})
    arrays["train_labels"] = np.array([0, 1, 2, 2, 1, 0])  # (N,) here, (N, 1) in val and test
    path = tmp_path / "three.npz"
    np.savez(path, **arrays)
    data = readers.read_medmnist_2d(path, n_classes=3)  # no expected sizes: any N > 0 is fine
    assert data["train_labels"].tolist() == [0, 1, 2, 2, 1, 0] and data["val_labels"].shape == (3,)
    with pytest.raises(DataValidationError, match=error_about(path, r"train_labels has values \[2\] outside 0..1")):
        readers.read_medmnist_2d(path)
    with pytest.raises(DataValidationError, match=error_about(path, "test has 3 images, expected 4")):
        readers.read_medmnist_2d(path, n_classes=3, expected_sizes={"train": 6, "val": 3, "test": 4})
    for bad in (1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
            readers.read_medmnist_2d(path, n_classes=bad)


# ============================================================================ tables


def write_tsv(path: Path, rows: list[tuple[str, object]], header: str = "sentence\tlabel") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(f"{s}\t{l}\n" for s, l in rows))
    return path


def sst2_paths(tmp_path: Path, dev_rows=None, dev_header="sentence\tlabel") -> dict[str, Path]:
    train = [(f'a "quoted" sentence number {i}', i % 2) for i in range(readers.SST2_SIZES["train"])]
    dev = dev_rows if dev_rows is not None else [(f"dev sentence {i}", i % 2) for i in range(readers.SST2_SIZES["dev"])]
    return {"sst2/train.tsv": write_tsv(tmp_path / "sst2" / "train.tsv", train),
            "sst2/dev.tsv": write_tsv(tmp_path / "sst2" / "dev.tsv", dev, dev_header)}


def test_read_sst2_accepts_glue_layout(tmp_path):
    data = readers.read_sst2(sst2_paths(tmp_path))
    assert {split: len(frame) for split, frame in data.items()} == readers.SST2_SIZES
    assert data["train"]["label"].dtype == np.int64
    assert data["train"]["sentence"].iloc[3] == 'a "quoted" sentence number 3'  # quotes kept verbatim
    assert data["dev"]["label"].tolist() == [i % 2 for i in range(872)]


N_DEV = readers.SST2_SIZES["dev"]
BAD_SST2 = {
    "missing label column": (dict(dev_header="sentence\tscore"), r"missing columns \['label'\]"),
    "too few rows": (dict(dev_rows=[("ok", 1)] * (N_DEV - 1)), f"has {N_DEV - 1} rows, expected {N_DEV}"),
    "label 2": (dict(dev_rows=[("ok", 1)] * (N_DEV - 1) + [("bad", 2)]), "has labels other than 0 and 1"),
    "text label": (dict(dev_rows=[("ok", 1)] * (N_DEV - 1) + [("bad", "pos")]), "has labels other than 0 and 1"),
    "empty sentence": (dict(dev_rows=[("ok", 1)] * (N_DEV - 1) + [("", 0)]), "has empty sentences"),
    "no rows": (dict(dev_rows=[]), "has no rows"),
}


@pytest.mark.parametrize("changes, problem", BAD_SST2.values(), ids=BAD_SST2.keys())
def test_read_sst2_rejects_bad_tables(tmp_path, changes, problem):
    paths = sst2_paths(tmp_path, **changes)
    with pytest.raises(DataValidationError, match=error_about(paths["sst2/dev.tsv"], problem)):
        readers.read_sst2(paths)


def molecule_csv(path: Path, rows: int, target: str, *, line_end: str = "\n", bad_value: str | None = None,
                 empty_smiles: bool = False) -> Path:
    frame = pd.DataFrame({"Compound ID": [f"m{i}" for i in range(rows)], "smiles": ["CCO"] * rows,
                          target: np.linspace(-3, 1, rows)})
    if rows and empty_smiles:
        frame.loc[rows - 1, "smiles"] = ""
    text = frame.to_csv(index=False, lineterminator=line_end)
    if bad_value is not None:
        text = text.rstrip(line_end).rsplit(",", 1)[0] + f",{bad_value}{line_end}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, newline="")
    return path


ESOL = ("moleculenet/delaney-processed.csv", readers.ESOL_TARGET, readers.ESOL_ROWS, readers.read_esol)
FREESOLV = ("moleculenet/SAMPL.csv", "expt", readers.FREESOLV_ROWS, readers.read_freesolv)


@pytest.mark.parametrize("spec", [ESOL, FREESOLV], ids=["esol", "freesolv"])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_molecule_readers_accept_moleculenet_layout(tmp_path, spec, line_end):
    relative, target, rows, read = spec
    frame = read({relative: molecule_csv(tmp_path / relative, rows, target, line_end=line_end)})
    assert len(frame) == rows
    assert frame[target].dtype == np.float64
    assert frame["smiles"].tolist() == ["CCO"] * rows


@pytest.mark.parametrize("spec", [ESOL, FREESOLV], ids=["esol", "freesolv"])
@pytest.mark.parametrize("case", ["missing target", "wrong rows", "non-numeric", "empty smiles"])
def test_molecule_readers_reject_bad_tables(tmp_path, spec, case):
    relative, target, rows, read = spec
    path = tmp_path / relative
    if case == "missing target":
        molecule_csv(path, rows, "something else")
        problem = re.escape(f"missing columns [{target!r}]")
    elif case == "wrong rows":
        molecule_csv(path, rows - 10, target)
        problem = f"has {rows - 10} rows, expected {rows}"
    elif case == "non-numeric":
        molecule_csv(path, rows, target, bad_value="n/a")
        problem = re.escape(f"column {target!r} has 1 non-numeric values")
    else:
        molecule_csv(path, rows, target, empty_smiles=True)
        problem = "has empty SMILES"
    with pytest.raises(DataValidationError, match=error_about(path, problem)):
        read({relative: path})


def test_unreadable_table_is_a_validation_error(tmp_path):
    path = td.write(tmp_path / "moleculenet" / "SAMPL.csv", b"")
    with pytest.raises(DataValidationError, match=error_about(path, "not a readable table")):
        readers.read_freesolv({"moleculenet/SAMPL.csv": path})


def test_validation_error_is_a_value_error():
    assert issubclass(DataValidationError, ValueError)


# ============================================================================ the registry


HASH = re.compile(r"^md5:[0-9a-f]{32}$")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_entry_is_complete(name):
    info = REGISTRY[name]
    assert info.name == name
    for text in (info.title, info.description, info.licence, info.citation, info.bundled_source or "x"):
        assert text.strip()
    assert info.homepage.startswith("https://")
    if info.bundled is not None:
        assert not info.files and info.bundled_source
        return
    assert info.files and callable(info.read)
    for file in info.files:
        assert file.url.startswith("https://"), file.url
        assert HASH.match(file.known_hash), file.known_hash
        parts = Path(file.path).parts
        assert not Path(file.path).is_absolute() and ".." not in parts and "\\" not in file.path
    for url in {f.url for f in info.files}:  # one archive, one checksum
        assert len({f.known_hash for f in info.files if f.url == url}) == 1
    assert info.fallback is not None and info.fallback.provenance in ("bundled", "synthetic")
    assert info.fallback.description.strip() and callable(info.fallback.load)


def test_registry_names_and_provenances():
    assert dataset_names() == sorted(REGISTRY) == ["arrests", "breast_cancer", "breastmnist", "esol", "freesolv",
                                                   "pneumoniamnist", "sp500", "sst2"]
    assert PROVENANCES == ("download", "mirror", "cache", "bundled", "synthetic", "local")
    assert get_dataset_info("sst2") is REGISTRY["sst2"]


def test_get_dataset_info_rejects_unknown_and_non_str_names():
    with pytest.raises(ValueError, match="unknown dataset 'SST2'; known datasets: arrests, breast_cancer, breastmnist, "
                                         "esol, freesolv, pneumoniamnist, sp500, sst2"):
        get_dataset_info("SST2")
    with pytest.raises(TypeError, match="dataset name must be a str, got int"):
        get_dataset_info(1)


def _info(**kwargs) -> DatasetInfo:
    base = dict(name="x", title="X", description="d", licence="l", citation="c", homepage="https://x")
    return DatasetInfo(**{**base, **kwargs})


def test_dataset_info_rejects_inconsistent_entries():
    file = DataFile("x/a.csv", "https://x/a.csv", "md5:" + "1" * 32)
    with pytest.raises(ValueError, match="'x' needs either files to fetch or a bundled loader"):
        _info()
    with pytest.raises(ValueError, match="'x' needs either files to fetch or a bundled loader"):
        _info(files=(file,), read=td.read_table, bundled=td.table_frame)
    with pytest.raises(ValueError, match="'x' has files but no reader"):
        _info(files=(file,))
    with pytest.raises(ValueError, match="fallback of 'x' must be 'bundled' or 'synthetic'"):
        _info(files=(file,), read=td.read_table, fallback=Fallback("download", "no", td.table_frame))


# ============================================================================ bundled and stand-ins


def test_bundled_breast_cancer():
    loaded = load_dataset("breast_cancer")
    assert (loaded.provenance, loaded.source) == ("bundled", "scikit-learn (sklearn.datasets.load_breast_cancer)")
    assert loaded.data.shape == (569, 31)
    assert set(loaded.data["target"].unique()) == {0, 1}
    assert loaded.describe().count("\n") == 0 and "!!" not in loaded.describe()
    assert not loaded.is_stand_in  # bundled is where this dataset lives, not a stand-in


def test_bundled_sp500():
    loaded = load_dataset("sp500", allow_fallback=True)
    frame = loaded.data
    assert loaded.provenance == "bundled" and loaded.is_real
    assert len(frame) == 5031
    assert {"Open", "High", "Low", "Close", "Adj Close", "Volume"} <= set(frame.columns)
    assert str(frame.index[0].date()) == "1999-01-04" and str(frame.index[-1].date()) == "2018-12-31"


def test_bundled_arrests():
    loaded = load_dataset("arrests")
    frame = loaded.data
    assert (loaded.provenance, loaded.source) == ("bundled", "scikit-lego (sklego.datasets.load_arrests)")
    assert loaded.is_real and not loaded.is_stand_in
    assert frame.shape == (5226, 8)
    assert set(frame["released"]) == {"Yes", "No"} and set(frame["colour"]) == {"Black", "White"}
    # carData documents 5,226 rows; the group and outcome counts of the copy scikit-lego ships.
    assert frame["colour"].value_counts().to_dict() == {"White": 3938, "Black": 1288}
    assert int((frame["released"] == "No").sum()) == 892


def test_synthetic_xrays_have_pneumoniamnist_structure_and_repeat():
    arrays = fallbacks.synthetic_xrays(n_train=20, n_val=6, n_test=6, seed=3)
    readers.validate_image_splits(arrays, "synthetic", expected_sizes={"train": 20, "val": 6, "test": 6})
    again = fallbacks.synthetic_xrays(n_train=20, n_val=6, n_test=6, seed=3)
    other = fallbacks.synthetic_xrays(n_train=20, n_val=6, n_test=6, seed=4)
    np.testing.assert_array_equal(arrays["train_images"], again["train_images"])
    assert not np.array_equal(arrays["train_images"], other["train_images"])
    # that the labels are learnable but not trivially (brightness does not give them away) is
    # tested in tests/test_imaging.py, on enough images to mean something
    assert set(np.unique(arrays["train_labels"])) <= {0, 1}


def test_synthetic_ultrasound_has_breastmnist_structure_and_repeats():
    arrays = fallbacks.synthetic_ultrasound()
    readers.validate_image_splits(arrays, "synthetic", expected_sizes=readers.BREASTMNIST_SIZES)
    for split in ("train", "val", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        assert images.dtype == np.uint8 and labels.dtype == np.int64 and labels.shape == (len(images),)
        assert set(np.unique(labels)) == {0, 1}
        assert images.std() > 20, "grey values should span a tissue-like range, not a flat image"
    # about 27 % malignant (label 0) like BreastMNIST (147 of 546 training images)
    assert 0.2 < 1 - arrays["train_labels"].mean() < 0.34
    small = dict(n_train=20, n_val=6, n_test=6)
    again = fallbacks.synthetic_ultrasound(**small, seed=3)
    same = fallbacks.synthetic_ultrasound(**small, seed=3)
    np.testing.assert_array_equal(again["train_images"], same["train_images"])
    np.testing.assert_array_equal(again["test_labels"], same["test_labels"])
    assert not np.array_equal(again["train_images"], fallbacks.synthetic_ultrasound(**small, seed=4)["train_images"])
    assert again["train_images"].shape == (20, 28, 28)


@pytest.mark.parametrize("bad", [dict(n_train=0), dict(n_test=-1), dict(n_val=2.5), dict(n_val=True), dict(seed=-1),
                                 dict(seed="0")])
def test_synthetic_ultrasound_rejects_bad_arguments(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"{name} must be a"):
        fallbacks.synthetic_ultrasound(**bad)


def _test_auc(arrays, model, features) -> float:
    from sklearn.metrics import roc_auc_score

    model.fit(features(arrays["train_images"]), arrays["train_labels"])
    return roc_auc_score(arrays["test_labels"], model.decision_function(features(arrays["test_images"])))


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_ultrasound_is_learnable_but_not_trivially_separable(seed):
    """The lesson's shape: a linear model of the raw pixels finds signal (the real BreastMNIST gives
    test AUC 0.83), but the overlapping signs and label noise keep it well below 1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    arrays = fallbacks.synthetic_ultrasound(seed=seed)  # BreastMNIST's sizes: 546 / 78 / 156

    def pixels(images):
        return images.reshape(len(images), -1) / 255.0

    def brightness(images):
        return pixels(images).mean(1, keepdims=True)

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000, tol=1e-3))
    auc = _test_auc(arrays, model, pixels)
    assert 0.65 < auc < 0.95, f"logistic regression on pixels: test AUC {auc:.3f}"
    # and no trivial cue: mean brightness alone is close to chance (either way round)
    auc_brightness = _test_auc(arrays, LogisticRegression(), brightness)
    assert abs(auc_brightness - 0.5) < 0.2, f"mean brightness separates the classes: AUC {auc_brightness:.3f}"


def test_synthetic_sentences_have_sst2_structure():
    data = fallbacks.synthetic_sentences(n_train=50, n_dev=10, seed=1)
    for split, n in (("train", 50), ("dev", 10)):
        readers.validate_sentiment_table(data[split], Path(split), expected_rows=n)
    # that its labels follow its own rules (negations, contrasts, a little label noise) and that it is
    # not trivially separable is tested in tests/test_text.py
    assert data["train"]["sentence"].str.contains(" not ").any()


@pytest.mark.parametrize("name, provenance", [("pneumoniamnist", "synthetic"), ("breastmnist", "synthetic"),
                                              ("sst2", "synthetic"), ("esol", "bundled"), ("freesolv", "bundled")])
def test_registry_stand_ins_offline(name, provenance, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as caught:
        load_dataset(name)
    message = str(caught.value)
    assert "COURSE_DATA_MIRROR" in message
    for file in REGISTRY[name].files:
        assert file.url in message and file.path in message
    with pytest.warns(UserWarning, match=f"{name}: using a {provenance} stand-in"):
        loaded = load_dataset(name, allow_fallback=True)
    assert loaded.provenance == provenance and loaded.is_stand_in
    assert "!!" in loaded.describe()
    if name == "pneumoniamnist":
        readers.validate_image_splits(loaded.data, "synthetic")
    elif name == "breastmnist":
        readers.validate_image_splits(loaded.data, "synthetic", expected_sizes=readers.BREASTMNIST_SIZES)
    elif name == "sst2":
        assert set(loaded.data) == {"train", "dev"}
        readers.validate_sentiment_table(loaded.data["dev"], Path("dev"))
    elif name == "esol":
        readers.validate_molecule_table(loaded.data, Path("esol"), readers.ESOL_TARGET)
    else:
        readers.validate_molecule_table(loaded.data, Path("freesolv"), "expt")
    assert td.files_under(environment.data_dir()) == []


def test_breastmnist_stand_in_is_loud(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    fallback = REGISTRY["breastmnist"].fallback
    assert fallback.load is fallbacks.synthetic_ultrasound
    assert "SYNTHETIC" in fallback.description and "NOT real data" in fallback.description
    with pytest.warns(UserWarning, match=r"breastmnist: using a synthetic stand-in \(SYNTHETIC .*NOT real data\)"):
        loaded = load_dataset("breastmnist", allow_fallback=True)
    assert (loaded.provenance, loaded.source) == ("synthetic", fallback.description)
    assert not loaded.is_real and loaded.is_stand_in
    banner = loaded.describe()
    assert banner.count("!" * 60) == 2 and "SYNTHETIC STAND-IN, NOT THE REAL DATASET" in banner
    assert "MedMNIST v2 BreastMNIST: provenance=synthetic" in banner
    assert "offline mode" in banner  # why the real data was not used
    expected = fallbacks.synthetic_ultrasound()  # the documented default, seed 0
    assert loaded.data.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(loaded.data[key], value)


# ============================================================================ the real mirror


@needs_mirror
@pytest.mark.parametrize("name", ["pneumoniamnist", "breastmnist", "sst2", "esol", "freesolv"])
def test_real_data_from_the_offline_mirror(name, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    watched = [MIRROR / f.path for f in REGISTRY[name].files]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in watched}

    loaded = load_dataset(name)

    assert (loaded.provenance, loaded.source) == ("mirror", str(MIRROR))
    assert loaded.is_real and not loaded.is_stand_in and "!!" not in loaded.describe()
    data = loaded.data
    if name == "pneumoniamnist":
        for split, n in {"train": 4708, "val": 524, "test": 624}.items():
            assert data[f"{split}_images"].shape == (n, 28, 28)
            assert data[f"{split}_labels"].shape == (n,)
        assert np.bincount(data["train_labels"]).tolist() == [1214, 3494]
        assert np.bincount(data["test_labels"]).tolist() == [234, 390]
    elif name == "breastmnist":
        counts = {"train": [147, 399], "val": [21, 57], "test": [42, 114]}  # 0 malignant, 1 normal/benign
        for split, n in readers.BREASTMNIST_SIZES.items():
            assert data[f"{split}_images"].shape == (n, 28, 28)
            assert data[f"{split}_labels"].shape == (n,) and data[f"{split}_labels"].dtype == np.int64
            assert np.bincount(data[f"{split}_labels"]).tolist() == counts[split]
    elif name == "sst2":
        assert {split: len(frame) for split, frame in data.items()} == {"train": 67349, "dev": 872}
    elif name == "esol":
        assert len(data) == 1128
    else:
        assert len(data) == 642 and list(data.columns) == ["iupac", "smiles", "expt", "calc"]
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in watched} == before
    assert td.files_under(environment.data_dir()) == []


@needs_mirror
def test_breastmnist_mirror_copy_differs_from_the_download_and_is_accepted_by_structure(tmp_path):
    """The mirror's BreastMNIST was re-saved with labels of shape (N,), so its md5 is not the
    published one: the md5 verifies downloads, the reader's structural checks judge mirror copies."""
    mirror_file = MIRROR / BREAST_PATH
    assert td.md5_hash(mirror_file) == "md5:098de56cd2d92ef2f7170e6153c02849"
    assert REGISTRY["breastmnist"].files[0].known_hash == "md5:750601b1f35ba3300ea97c75c52ff8f6"
    with np.load(mirror_file) as archive:
        assert archive["train_labels"].shape == (546,)
        # the same content with (N, 1) labels, as the official file stores them, is read the same way
        column = {key: (archive[key].reshape(-1, 1) if key.endswith("_labels") else archive[key])
                  for key in archive.files}
    flat = readers.read_breastmnist({BREAST_PATH: mirror_file})
    official_layout = readers.read_breastmnist(write_breast_npz(tmp_path, column))
    assert flat.keys() == official_layout.keys()
    for key in flat:
        np.testing.assert_array_equal(flat[key], official_layout[key])


# ============================================================================ dataset_status


STATUS_COLUMNS = ["dataset", "title", "provenance", "source", "note", "licence"]


@pytest.fixture
def downloads(monkeypatch) -> list:
    """Every download dataset_status would start (it must start none)."""
    started = []

    def record(info, *args, **kwargs):
        started.append(info.name)
        raise OSError("no download in dataset_status")

    monkeypatch.setattr(loading, "_download", record)
    return started


def test_dataset_status_without_mirror(downloads):
    status = dataset_status()
    assert list(status.columns) == STATUS_COLUMNS
    assert status["dataset"].tolist() == dataset_names()
    by_name = status.set_index("dataset")
    expected = {"arrests": "bundled", "breast_cancer": "bundled", "sp500": "bundled", "esol": "bundled", "freesolv": "bundled",
                "pneumoniamnist": "synthetic", "breastmnist": "synthetic", "sst2": "synthetic"}
    assert by_name["provenance"].to_dict() == expected
    assert by_name.loc["pneumoniamnist", "note"].startswith("stand-in")
    assert by_name.loc["breastmnist", "note"].startswith("stand-in")
    assert by_name.loc["esol", "note"].startswith("stand-in")
    assert by_name.loc["breast_cancer", "note"] == ""
    assert by_name.loc["arrests", "note"] == ""
    assert by_name.loc["sst2", "licence"] == REGISTRY["sst2"].licence
    assert downloads == []


def test_dataset_status_reports_mirror_and_cache(downloads, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    molecules = molecule_csv(mirror / ESOL[0], readers.ESOL_ROWS, readers.ESOL_TARGET)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    cached = td.write(environment.data_dir() / FREESOLV[0],
                      molecule_csv(tmp_path / "x.csv", readers.FREESOLV_ROWS, "expt").read_bytes())
    status = dataset_status(["esol", "freesolv", "breast_cancer"]).set_index("dataset")
    assert status.loc["esol", ["provenance", "source", "note"]].tolist() == ["mirror", str(mirror), ""]
    assert status.loc["freesolv", ["provenance", "source"]].tolist() == ["cache", str(environment.data_dir())]
    assert status.loc["breast_cancer", "provenance"] == "bundled"
    assert molecules.is_file() and cached.is_file() and downloads == []


def test_dataset_status_reports_unavailable(monkeypatch, downloads):
    info = td.entry("nofallback", (DataFile("x/a.csv", "https://example.invalid/a.csv", "md5:" + "1" * 32),),
                    td.read_table)
    monkeypatch.setitem(REGISTRY, "nofallback", info)
    row = dataset_status(["nofallback"]).iloc[0]
    assert (row["provenance"], row["source"]) == ("unavailable", "no mirror, cache or fallback")
    assert downloads == []


def test_dataset_status_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        dataset_status(["cifar10"])


# ============================================================================ the domain loaders


DOMAIN_LOADERS = {  # registry name -> the one function of its domain package that loads it
    "pneumoniamnist": "course_lib.imaging.data",
    "sst2": "course_lib.text.data",
    "sp500": "course_lib.finance.data",
    "esol": "course_lib.molecules.data",
}
# not registry entries: finance's optional extra (any ticker, from the network) and the loaders of a
# learner's own file (provenance "local", through course_lib.data.load_local)
OTHER_SOURCES = {"load_yfinance", "load_price_file", "load_molecule_file"}


@pytest.mark.parametrize("name", DOMAIN_LOADERS)
def test_each_domain_has_one_loader_named_after_its_dataset(name):
    module = importlib.import_module(DOMAIN_LOADERS[name])
    loaders = {key for key, value in vars(module).items()
               if key.startswith("load_") and callable(value) and value.__module__ == module.__name__}
    assert loaders - OTHER_SOURCES == {f"load_{name}"}


@pytest.mark.parametrize("name", DOMAIN_LOADERS)
def test_domain_loaders_return_the_loaded_dataset_and_pass_their_options_on(name, tmp_path):
    load = getattr(importlib.import_module(DOMAIN_LOADERS[name]), f"load_{name}")
    options = {"mirrors": [], "cache_dir": tmp_path / "cache", "offline": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded, domain = load(allow_fallback=True, **options)
    assert isinstance(loaded, LoadedDataset) and loaded.name == name and domain is not None
    if get_dataset_info(name).files:  # offline, with no mirror and no cache: only a stand-in is left
        assert loaded.is_stand_in
        with pytest.raises(DataUnavailableError, match="offline mode"):
            load(allow_fallback=False, **options)


def test_pneumoniamnist_is_checked_once_on_its_way_to_the_imaging_splits(tmp_path, monkeypatch):
    imaging_data = importlib.import_module("course_lib.imaging.data")
    checked = []

    def counting(arrays, source, **kwargs):
        checked.append(str(source))
        return real(arrays, source, **kwargs)

    real = readers.validate_image_splits
    monkeypatch.setattr(readers, "validate_image_splits", counting)
    monkeypatch.setattr(imaging_data, "validate_image_splits", counting, raising=False)
    mirror = tmp_path / "mirror"
    np.savez(td.write(mirror / PNEU_PATH, b""), **td.image_arrays(readers.PNEUMONIAMNIST_SIZES))

    loaded, splits = imaging_data.load_pneumoniamnist(mirrors=[mirror], offline=True)

    assert (loaded.provenance, splits.provenance) == ("mirror", "mirror")
    assert checked == [str(mirror / PNEU_PATH)]  # by the reader, and not again by imaging
    assert splits.tensors("train")[0].shape == (4708, 1, 28, 28)
