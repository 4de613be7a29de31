"""Tiny data files and registry entries for the data-layer tests (no real dataset needed)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data import DataFile, DatasetInfo, Fallback, readers

TABLE_ROWS = 5
IMAGE_SIZES = {"train": 6, "val": 3, "test": 3}


def md5_hash(path_or_bytes: Path | bytes) -> str:
    """Pooch-style ``"md5:<hex>"`` of a file or of bytes."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return "md5:" + hashlib.md5(data).hexdigest()


# ----------------------------------------------------------------------------- file contents


def table_frame(rows: int = TABLE_ROWS, offset: float = 0.0) -> pd.DataFrame:
    """A MoleculeNet-like table: ``smiles`` and a numeric target ``y``."""
    smiles = ["C", "CC", "CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCC", "O"]
    return pd.DataFrame({"smiles": [smiles[i % len(smiles)] for i in range(rows)],
                         "y": [offset + 0.5 * i for i in range(rows)]})


def table_bytes(frame: pd.DataFrame | None = None, line_end: str = "\n") -> bytes:
    frame = table_frame() if frame is None else frame
    return frame.to_csv(index=False, lineterminator=line_end).encode()


def image_arrays(sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """MedMNIST-like arrays: ``{split}_images`` uint8 (N, 28, 28), ``{split}_labels`` int (N, 1)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (sizes or IMAGE_SIZES).items():
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(n, 1).astype(np.int64)
    return arrays


def npz_bytes(arrays: dict[str, np.ndarray] | None = None, compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **(image_arrays() if arrays is None else arrays))
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- readers


def read_table(paths: dict[str, Path]) -> pd.DataFrame:
    """Reader of the tiny table entry, built from the course's own checks."""
    path = paths["tiny/molecules.csv"]
    frame = readers._read_table(path)
    readers.validate_molecule_table(frame, path, "y", expected_rows=TABLE_ROWS)
    return frame


def read_images(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Reader of the tiny MedMNIST-like entry (no expected split sizes)."""
    path = paths["tiny/images.npz"]
    arrays = readers._load_npz(path)
    readers.validate_image_splits(arrays, path)
    return arrays


def read_pair(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """Reader of the two-member archive entry (SST-2-like: one archive, two files)."""
    tables = {}
    for split in ("train", "dev"):
        path = paths[f"tiny/{split}.csv"]
        frame = readers._read_table(path)
        readers.validate_molecule_table(frame, path, "y", expected_rows=TABLE_ROWS)
        tables[split] = frame
    return tables


def read_anything(paths: dict[str, Path]) -> dict[str, bytes]:
    return {key: Path(path).read_bytes() for key, path in paths.items()}


STAND_IN = pd.DataFrame({"smiles": ["C"], "y": [0.0]})


def synthetic_fallback() -> Fallback:
    return Fallback("synthetic", "one made-up molecule; NOT real data", lambda: STAND_IN.copy())


def bundled_fallback() -> Fallback:
    return Fallback("bundled", "a real but different table", lambda: table_frame(offset=100.0))


def entry(name: str, files: tuple[DataFile, ...], read, fallback: Fallback | None = None) -> DatasetInfo:
    return DatasetInfo(name=name, title=f"Tiny test set {name}", description="test data",
                       licence="CC0", citation="nobody", homepage="http://127.0.0.1/",
                       files=files, read=read, fallback=fallback)


# ----------------------------------------------------------------------------- folder checks


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden and temporary ones included), as sorted relative paths."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def entries_under(folder: Path) -> list[str]:
    """Every file AND folder below ``folder`` (hidden ones included), as sorted relative paths: an
    empty folder or a leftover temporary folder shows up here, unlike in :func:`files_under`."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def snapshot(folder: Path) -> dict[str, tuple]:
    """Listing of ``folder`` with mode, size, mtime and content hash of everything in it."""
    state = {}
    for path in sorted([folder, *folder.rglob("*")]):
        info = path.lstat()
        digest = hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return state
