"""Your own data: load a file from your disk through the data layer, with honest provenance.

>>> from course_lib.data import load_local
>>> mine = load_local("my_molecules.csv", "molecules", target_column="active",
...                   task="classification")                      # doctest: +SKIP
>>> mine.provenance, mine.checksum[:16]                              # doctest: +SKIP
('local', '3f0c1a...')

Provenance ``local``: the data is your own file. It counts as real as far as the course can tell
(the course cannot check where it came from; you vouch for it), it is never a stand-in (it is the
very data you named), and the course's quality bars (the ledger tests' "an AUC of at least ...")
do not apply to it: they are calibrated on the course's datasets. The ledger records it as
``provenance: "local"`` with the file's sha256 ``checksum``, so a result can be traced back to the
exact bytes it was computed on; editing the file changes the checksum.

What each ``kind`` returns (the ``data`` of the :class:`~course_lib.data.LoadedDataset`):

- ``"molecules"`` (a CSV or TSV): a ``pandas.DataFrame`` with ``smiles`` (str, surrounding blanks
  stripped; not parsed here, invalid SMILES are the splitter's and featurizer's business),
  ``target`` (``float64`` for ``task="regression"``, ``int64`` 0/1 for ``task="classification"``)
  and the file's other columns untouched, one row per file row, index 0..N-1.
  Options: ``target_column`` (required), ``smiles_column="smiles"``, ``task``, ``sep``.
- ``"prices"`` (a CSV or TSV of daily prices): a ``DataFrame`` indexed by a sorted ``DatetimeIndex``
  named ``"Date"`` with ``float64`` columns ``Open``, ``High``, ``Low``, ``Close`` (plus ``Adj Close``
  and ``Volume`` when the file has them), the layout of ``load_dataset("sp500").data``. File columns
  are matched to these names ignoring case, blanks and punctuation (``close``, ``adj_close``), or
  named with ``columns={"Close": "PX_LAST"}``. Only structure is checked here (columns, dates,
  duplicates, text in number columns; an empty cell stays NaN); the price checks (non-positive,
  High < Low, split-like jumps, gaps) are :mod:`course_lib.finance.data_checks`'s job.
  Options: ``date_column="Date"``, ``date_format`` (e.g. ``"%d/%m/%Y"``), ``sep``.
- ``"sentences"`` (a CSV or TSV): a ``DataFrame`` with ``sentence`` (str, non-empty) and ``label``
  (``int64`` 0/1), the layout of SST-2's frames. Options: ``text_column="sentence"``,
  ``label_column="label"``, ``sep``.
- ``"images"`` (a folder with one sub-folder per class, e.g. ``normal/`` and ``pneumonia/``): a dict
  ``{"images": uint8 (N, size, size), "labels": int64 (N,), "classes": list[str], "files":
  list[str]}``: grayscale (PIL ``convert("L")``), resized to ``size`` x ``size`` pixels (box filter
  when shrinking, bilinear when enlarging; the aspect ratio is not kept), classes in sorted folder
  order (label i = ``classes[i]``), files as relative paths in the order of the arrays. Hidden files
  are ignored; other files that are not images (png, jpg, jpeg, bmp, tif, tiff) are skipped with a
  warning. Option: ``size=28``.

Labels (classification targets, sentence labels) must be 0/1 or booleans (``True``/``False``); any
other values are an error that lists them and says how to map them. Table kinds need at least
:data:`MIN_ROWS` rows. Every problem raises :class:`~course_lib.data.DataValidationError` (a
``ValueError``) naming the file and what is wrong; a missing column lists the file's columns and a
near match. ``load_local`` only reads: a failed load leaves nothing written anywhere.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import io
import os
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from course_lib.data.loading import LoadedDataset
from course_lib.data.readers import DataValidationError, validate_sentiment_table
from course_lib.data.registry import LOCAL, DataFile, DatasetInfo

#: The kinds of file :func:`load_local` reads.
LOCAL_KINDS = ("molecules", "prices", "sentences", "images")
#: Fewest data rows a table kind accepts (fewer cannot be split into train, validation and test).
MIN_ROWS = 10
#: File suffixes read as images (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: The course's names for price columns; the first four are required.
PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")
TASKS = ("regression", "classification")

_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_MISSING_MARKERS = {"na", "nan", "n/a", "#n/a", "null", "none", "-"}  # prices: an empty value, not text
_PRICE_ALIASES = {"Adj Close": ("adjclose", "adjustedclose")}
_SHOWN = 5  # rows and values quoted in an error message

# the options of each kind and their defaults; ``columns`` keys that stand for a column option
_OPTIONS: dict[str, dict[str, Any]] = {
    "molecules": {"smiles_column": "smiles", "target_column": None, "task": "regression", "sep": None},
    "prices": {"date_column": "Date", "date_format": None, "sep": None},
    "sentences": {"text_column": "sentence", "label_column": "label", "sep": None},
    "images": {"size": 28},
}
_COLUMN_KEYS: dict[str, dict[str, str]] = {
    "molecules": {"smiles": "smiles_column", "target": "target_column"},
    "sentences": {"sentence": "text_column", "label": "label_column"},
    "prices": {"Date": "date_column"},
    "images": {},
}


def load_local(
    path: str | os.PathLike,
    kind: str,
    *,
    name: str | None = None,
    columns: Mapping[str, str] | None = None,
    **options: Any,
) -> LoadedDataset:
    """Read your own file (or, for ``kind="images"``, folder) as a :class:`LoadedDataset` with
    provenance ``local``.

    Args:
        path: the file; for ``kind="images"`` the folder holding one sub-folder per class.
        kind: one of :data:`LOCAL_KINDS`; the module docstring lists what each returns.
        name: the dataset's name in the ledger (default: the file's or folder's stem).
        columns: the file's column names for the course's ones, e.g. ``{"smiles": "SMILES",
            "target": "soluble"}`` (molecules), ``{"sentence": "text", "label": "y"}`` (sentences),
            ``{"Close": "PX_LAST", "Date": "day"}`` (prices); the same as the column options.
        **options: the kind's options (module docstring), e.g. ``target_column="pIC50"``.

    Returns:
        a :class:`LoadedDataset` with ``provenance="local"``, ``source="<path> (sha256 <16 hex>)"``,
        ``checksum`` the full sha256 hex digest of the bytes read (for a folder: of the sorted
        ``(relative path, file sha256)`` pairs of the images read) and ``info`` a registry entry
        built for the file (title ``"your file <name>"``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError, ValueError: a bad argument (named), a folder for a table kind or a file for images.
        DataValidationError: the file's content does not have the structure the kind needs.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
    if not isinstance(kind, str) or kind not in LOCAL_KINDS:
        raise ValueError(f"kind must be one of {LOCAL_KINDS}, got {kind!r}")
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise FileNotFoundError(f"no such file or folder: {resolved} (load_local's path {str(path)!r})")
    if name is None:
        name = resolved.stem
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    settings = _settings(kind, columns, options)
    _check_path_kind(resolved, kind)

    data, digest = _READERS[kind](resolved, settings)
    info = DatasetInfo(
        name=name,
        title=f"your file {name}",
        description=f"{kind} from {resolved}, read by course_lib.data.load_local",
        licence="yours (local file)",
        citation="",
        homepage=resolved.as_uri(),
        files=(DataFile(path=resolved.name, url=resolved.as_uri(), known_hash=f"sha256:{digest}"),),
        read=functools.partial(_read_again, kind, resolved.name, settings),
        tags=("local", kind),
    )
    return LoadedDataset(name, data, LOCAL, f"{resolved} (sha256 {digest[:16]})", info, checksum=digest)


#: The note :func:`as_demonstration` puts first on a demonstration file (the results page reads it).
DEMONSTRATION_NOTE = "demonstration file written from"


def as_demonstration(local: LoadedDataset, source: LoadedDataset) -> LoadedDataset:
    """``local`` (a file the notebook wrote from course data, then read with :func:`load_local`) marked
    as a demonstration of ``source`` (the :class:`LoadedDataset` the file was written from).

    A learner's own file never goes through this. The result keeps ``local``'s data, source and checksum
    and takes ``source``'s name, so a result on it is filed under the dataset it really comes from, with
    the note "demonstration file written from ...". Its provenance stays ``local`` when ``source`` is
    real, and becomes ``synthetic`` when ``source`` was a synthetic stand-in (offline, no mirror): every
    "is this real data?" decision downstream (ledger, scoreboard, ledger tests) then sees the truth. A
    real substitute (e.g. a bundled fallback) stays ``local`` and is flagged as a stand-in.
    """
    for label, value in (("local", local), ("source", source)):
        if not isinstance(value, LoadedDataset):
            raise TypeError(f"{label} must be a LoadedDataset, got {type(value).__name__}")
    if local.provenance != LOCAL:
        raise ValueError(f"local must come from load_local (provenance 'local'), got provenance "
                         f"{local.provenance!r}")
    if source.provenance == LOCAL:
        raise ValueError("source must be the course dataset the file was written from, not another local file")
    origin = source.describe().splitlines()[0] if source.is_real and not source.stand_in \
        else f"{source.info.title}: provenance={source.provenance} ({source.source})"
    notes = [*local.notes, f"{DEMONSTRATION_NOTE} {origin}", *source.notes]
    return replace(local, name=source.name, provenance=source.provenance if not source.is_real else LOCAL,
                   notes=notes, stand_in=source.is_stand_in)


def file_checksum(path: str | os.PathLike) -> str:
    """The sha256 hex digest :func:`load_local` records for ``path`` (a file's bytes; for a folder of
    class sub-folders, the digest over the sorted ``(relative path, sha256)`` of its image files)."""
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        return _folder_digest([(rel, hashlib.sha256((path / rel).read_bytes()).hexdigest())
                               for rel in _image_files(path, warn=False)[1]])
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------

def _settings(kind: str, columns: Mapping[str, str] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The kind's options with defaults filled in, ``columns`` folded in, and ``given``: the set of
    options the caller named (an option named explicitly is matched exactly, a default loosely)."""
    defaults = _OPTIONS[kind]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"load_local(kind={kind!r}) got unknown options {unknown}; "
                        f"its options are {sorted(defaults)}")
    settings = {**defaults, **options}
    given = set(options)
    price_map: dict[str, str] = {}
    if columns is not None:
        if kind == "images":
            raise ValueError("columns do not apply to kind='images' (a folder of class sub-folders)")
        if not isinstance(columns, Mapping):
            raise TypeError(f"columns must be a mapping of the course's column names to the file's, "
                            f"got {type(columns).__name__}")
        accepted = list(_COLUMN_KEYS[kind]) + (list(PRICE_COLUMNS) if kind == "prices" else [])
        for key, value in columns.items():
            if key not in accepted:
                raise ValueError(f"columns has the key {key!r}; for kind={kind!r} the keys are {accepted}")
            if not isinstance(value, str) or not value:
                raise TypeError(f"columns[{key!r}] must be a column name (a non-empty str), got {value!r}")
            if key in _COLUMN_KEYS[kind]:
                option = _COLUMN_KEYS[kind][key]
                if option in options and options[option] != value:
                    raise ValueError(f"columns[{key!r}]={value!r} contradicts {option}={options[option]!r}")
                settings[option] = value
                given.add(option)
            else:
                price_map[key] = value
    for option, value in settings.items():
        if option.endswith("_column") and not (value is None and option == "target_column"):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{option} must be a column name (a non-empty str), got {value!r}")
    if "sep" in settings and settings["sep"] is not None:
        if not isinstance(settings["sep"], str) or not settings["sep"]:
            raise TypeError(f"sep must be a str such as ',' or ';' or '\\t', got {settings['sep']!r}")
    if kind == "molecules":
        if settings["target_column"] is None:
            raise TypeError("load_local(kind='molecules') needs target_column= (the column with the "
                            "measured property or the 0/1 label), or columns={'target': ...}")
        if settings["task"] not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {settings['task']!r}")
    if kind == "prices":
        if settings["date_format"] is not None and not isinstance(settings["date_format"], str):
            raise TypeError(f"date_format must be a strftime format such as '%Y-%m-%d', "
                            f"got {settings['date_format']!r}")
        settings["price_columns"] = price_map
    if kind == "images":
        size = settings["size"]
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"size must be an int (pixels per side), got {type(size).__name__}")
        if not 1 <= size <= 4096:
            raise ValueError(f"size must be between 1 and 4096 pixels, got {size}")
        settings["size"] = int(size)
    settings["given"] = frozenset(given)
    return settings


def _check_path_kind(path: Path, kind: str) -> None:
    if kind == "images":
        if not path.is_dir():
            raise ValueError(f"{path} is a file; kind='images' needs a folder with one sub-folder per "
                             f"class (e.g. normal/ and pneumonia/)")
        return
    if path.is_dir():
        tables = sorted(p.name for p in path.iterdir()
                        if p.is_file() and p.suffix.lower() in _TABLE_SUFFIXES and not p.name.startswith("."))
        hint = f"pass the CSV file inside it: {', '.join(tables[:10])}" if tables \
            else "it holds no .csv or .tsv file"
        raise ValueError(f"{path} is a folder; kind={kind!r} reads one table file ({hint})")


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------

def _fail(path: Path, problem: str) -> DataValidationError:
    return DataValidationError(f"{path}: {problem}")


def _norm(text: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def _near(wanted: str, available: list[str]) -> str | None:
    """The available column closest to ``wanted``: same letters ignoring case (and blanks,
    punctuation), else a close spelling; ``None`` when nothing is close."""
    for candidate in available:
        if str(candidate).lower() == wanted.lower():
            return candidate
    for candidate in available:
        if _norm(candidate) and _norm(candidate) == _norm(wanted):
            return candidate
    lowered = {str(c).lower(): c for c in available}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def _no_column(path: Path, frame: pd.DataFrame, wanted: str, role: str, option: str) -> DataValidationError:
    available = [str(c) for c in frame.columns]
    message = f"no column {wanted!r} ({role}); the file's columns are {available}"
    near = _near(wanted, available)
    if near is not None:
        message += f"; did you mean {near!r}? (pass {option}={near!r})"
    if len(available) == 1:
        for sep, shown in ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','")):
            if sep in available[0]:
                message += f"; the header reads as one column: is the separator {shown}? (pass sep={shown})"
                break
    return _fail(path, message)


def _show(value: object) -> str:
    return "<empty>" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(value)


def _rows(mask: np.ndarray, values: pd.Series | None = None) -> str:
    """``"3 rows (rows 2, 5, 9; the first row below the header is row 1; values 'x', <empty>)"``."""
    where = np.flatnonzero(np.asarray(mask))
    shown = ", ".join(str(i + 1) for i in where[:_SHOWN]) + (", ..." if len(where) > _SHOWN else "")
    text = f"{len(where)} row{'s' if len(where) != 1 else ''} (row{'s' if len(where) != 1 else ''} {shown}; " \
           f"the first row below the header is row 1"
    if values is not None:
        examples = list(dict.fromkeys(_show(v) for v in values.to_numpy()[where]))
        text += "; values " + ", ".join(examples[:_SHOWN]) + (", ..." if len(examples) > _SHOWN else "")
    return text + ")"


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------

def _read_bytes(path: Path) -> tuple[bytes, str]:
    raw = path.read_bytes()  # hashed and parsed from the same bytes: the checksum is of what was read
    return raw, hashlib.sha256(raw).hexdigest()


def _table(path: Path, raw: bytes, sep: str | None) -> pd.DataFrame:
    if sep is None:
        if path.suffix.lower() not in _TABLE_SUFFIXES:
            raise ValueError(f"{path}: cannot tell the separator from the suffix {path.suffix!r}; "
                             f"name it .csv or .tsv, or pass sep=',' (or ';', '\\t')")
        sep = _TABLE_SUFFIXES[path.suffix.lower()]
    if not raw.strip():
        raise _fail(path, "is empty")
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep=sep, encoding="utf-8-sig", keep_default_na=False,
                            na_values=[""])
    except UnicodeDecodeError as error:
        raise _fail(path, f"is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8 "
                          f"(in a spreadsheet: 'CSV UTF-8')") from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise _fail(path, f"not a readable table ({str(error).strip()})") from error
    if len(frame) == 0:
        raise _fail(path, f"has a header ({list(map(str, frame.columns))}) but no rows")
    return frame


def _column(path: Path, frame: pd.DataFrame, wanted: str, role: str, option: str) -> str:
    if wanted in frame.columns:
        return wanted
    raise _no_column(path, frame, wanted, role, option)


def _enough_rows(path: Path, frame: pd.DataFrame) -> None:
    if len(frame) < MIN_ROWS:
        raise _fail(path, f"has {len(frame)} rows; at least {MIN_ROWS} are needed to train and test a model")


def _as_binary(value: object) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(value) if value in (0, 1) else None
    if isinstance(value, str):
        return {"0": 0, "1": 1, "true": 1, "false": 0}.get(value.strip().lower())
    return None


def _binary_labels(path: Path, frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    """A 0/1 column as int64; an error listing the values that are neither, and how to map them."""
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise _fail(path, f"column {column!r} ({role}) is empty in {_rows(missing)}")
    mapped = values.map(_as_binary)
    bad = mapped.isna().to_numpy()
    if bad.any():
        counts = values[bad].astype(str).value_counts()
        found = ", ".join(f"{v!r} ({n}x)" for v, n in counts.head(10).items()) + (", ..." if len(counts) > 10 else "")
        distinct = sorted(map(str, values.astype(str).unique()))[:10]
        raise _fail(path, f"column {column!r} ({role}) must hold 0/1 labels (or True/False); found {found} "
                          f"in {_rows(bad)}. Map them to 0/1 first, e.g. with pandas: "
                          f"frame[{column!r}] = (frame[{column!r}] == {distinct[-1]!r}).astype(int) "
                          f"(distinct values: {distinct}), then save the file")
    labels = mapped.to_numpy(dtype=np.int64)
    present = np.unique(labels)
    if present.size < 2:
        raise _fail(path, f"column {column!r} ({role}) holds only the class {int(present[0])} "
                          f"({len(labels)} rows): a classifier needs examples of both 0 and 1")
    return labels


def _read_molecules(path: Path, settings: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    raw, digest = _read_bytes(path)
    frame = _table(path, raw, settings["sep"])
    smiles_col = _column(path, frame, settings["smiles_column"], "the SMILES column", "smiles_column")
    target_col = _column(path, frame, settings["target_column"], "the target column", "target_column")
    if smiles_col == target_col:
        raise ValueError(f"smiles_column and target_column are the same column {smiles_col!r}")
    _enough_rows(path, frame)
    others = [c for c in frame.columns if c not in (smiles_col, target_col)]
    clash = [c for c in others if c in ("smiles", "target")]
    if clash:
        raise _fail(path, f"has a column {clash[0]!r} besides the chosen SMILES column {smiles_col!r} and "
                          f"target column {target_col!r}; the result names those 'smiles' and 'target': "
                          f"rename or drop the other {clash[0]!r} column")
    smiles = frame[smiles_col]
    empty = (smiles.isna() | smiles.astype(str).str.strip().eq("")).to_numpy()
    if empty.any():
        raise _fail(path, f"column {smiles_col!r} (the SMILES column) is empty in {_rows(empty)}")
    if settings["task"] == "classification":
        target = _binary_labels(path, frame, target_col, "the 0/1 target for task='classification'")
    else:
        values = pd.to_numeric(frame[target_col], errors="coerce").astype(np.float64)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            raise _fail(path, f"column {target_col!r} (the target) has missing, non-numeric or infinite "
                              f"values in {_rows(bad, frame[target_col])}")
        target = values.to_numpy()
    result = pd.DataFrame({"smiles": smiles.astype(str).str.strip().to_numpy(), "target": target})
    for column in others:
        result[column] = frame[column].array  # untouched, dtype included
    return result, digest


def _read_sentences(path: Path, settings: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    raw, digest = _read_bytes(path)
    frame = _table(path, raw, settings["sep"])
    text_col = _column(path, frame, settings["text_column"], "the sentence column", "text_column")
    label_col = _column(path, frame, settings["label_column"], "the label column", "label_column")
    if text_col == label_col:
        raise ValueError(f"text_column and label_column are the same column {text_col!r}")
    _enough_rows(path, frame)
    text = frame[text_col]
    empty = (text.isna() | text.astype(str).str.strip().eq("")).to_numpy()
    if empty.any():
        raise _fail(path, f"column {text_col!r} (the sentences) is empty in {_rows(empty)}")
    labels = _binary_labels(path, frame, label_col, "the 0/1 sentence labels")
    result = pd.DataFrame({"sentence": text.astype(str).to_numpy(), "label": labels})
    validate_sentiment_table(result, path)  # the layout of SST-2's frames, checked by the same rule
    return result, digest


def _price_columns(path: Path, frame: pd.DataFrame, settings: Mapping[str, Any]) -> dict[str, str]:
    """``{course name: file column}`` for the price columns the file has (the first four required)."""
    explicit: dict[str, str] = dict(settings["price_columns"])
    for course, column in explicit.items():
        _column(path, frame, column, f"the {course} column", f"columns[{course!r}]")
    used = set(explicit.values())
    found = dict(explicit)
    for course in PRICE_COLUMNS:
        if course in found:
            continue
        keys = {_norm(course), *_PRICE_ALIASES.get(course, ())}
        matches = [c for c in frame.columns if c not in used and _norm(c) in keys]
        if len(matches) > 1:
            raise _fail(path, f"columns {matches} could all be {course!r}; name one with "
                              f"columns={{{course!r}: ...}}")
        if matches:
            found[course] = matches[0]
            used.add(matches[0])
        elif course in PRICE_COLUMNS[:4]:
            raise _no_column(path, frame, course, f"the {course} price, matched ignoring case",
                             f"columns[{course!r}]")
    return {course: found[course] for course in PRICE_COLUMNS if course in found}


def _read_prices(path: Path, settings: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    raw, digest = _read_bytes(path)
    frame = _table(path, raw, settings["sep"])
    wanted = settings["date_column"]
    if wanted not in frame.columns and "date_column" not in settings["given"]:
        loose = [c for c in frame.columns if _norm(c) == _norm(wanted)]
        wanted = loose[0] if len(loose) == 1 else wanted
    date_col = _column(path, frame, wanted, "the dates", "date_column")
    mapping = _price_columns(path, frame, settings)
    if date_col in mapping.values():
        raise ValueError(f"the date column {date_col!r} is also mapped to a price column")
    if len(frame) < 2:
        raise _fail(path, "has 1 row; a price series needs at least 2 days")

    text = frame[date_col].astype("string")
    with warnings.catch_warnings():  # "could not infer format": the NaT it leaves is reported below
        warnings.simplefilter("ignore", UserWarning)
        dates = pd.to_datetime(text, errors="coerce", format=settings["date_format"])
    bad = dates.isna().to_numpy()
    if bad.any():
        hint = f" with date_format={settings['date_format']!r}" if settings["date_format"] else \
            " (pass date_format=, e.g. '%d/%m/%Y', for an unusual format)"
        raise _fail(path, f"column {date_col!r} has missing or unparseable dates{hint} in "
                          f"{_rows(bad, frame[date_col])}")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    repeated = dates.duplicated(keep=False).to_numpy()
    if repeated.any():
        days = list(dict.fromkeys(str(d.date()) for d in dates[repeated]))
        raise _fail(path, f"column {date_col!r} has {len(days)} dates that occur more than once "
                          f"({', '.join(days[:_SHOWN])}{', ...' if len(days) > _SHOWN else ''}) in "
                          f"{_rows(repeated)}: one row per day is expected")

    result = pd.DataFrame(index=pd.DatetimeIndex(dates.to_numpy(), name="Date"))
    for course, column in mapping.items():
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            result[course] = values.astype(np.float64).to_numpy()  # parsed as numbers: no text inside
            continue
        blank = values.isna() | values.astype(str).str.strip().str.lower().isin(_MISSING_MARKERS)
        numbers = pd.to_numeric(values.where(~blank), errors="coerce")
        text_cells = (numbers.isna() & ~blank).to_numpy()
        if text_cells.any():
            raise _fail(path, f"column {column!r} ({course}) has non-numeric values in "
                              f"{_rows(text_cells, values)}")
        result[course] = numbers.astype(np.float64).to_numpy()
    if not result.index.is_monotonic_increasing:
        warnings.warn(f"{path}: the dates are not in increasing order; sorted them (oldest first)",
                      UserWarning, stacklevel=3)
        result = result.sort_index(kind="stable")
    return result, digest


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------

def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def _image_files(folder: Path, *, warn: bool = True) -> tuple[list[str], list[str]]:
    """``(classes, relative image paths)`` of an ImageFolder layout, checked."""
    entries = [p for p in sorted(folder.iterdir()) if not _hidden(p.relative_to(folder))]
    classes = [p.name for p in entries if p.is_dir()]
    loose = [p.name for p in entries if p.is_file()]
    if len(classes) < 2:
        found = f"only {classes}" if classes else "no sub-folder"
        where = f"; the files {loose[:_SHOWN]} lie directly in it" if loose else ""
        raise _fail(folder, f"needs one sub-folder per class, at least 2 (e.g. normal/ and pneumonia/); "
                            f"found {found}{where}")
    files: list[str] = []
    skipped: list[str] = list(loose)
    for label in classes:
        inside = [p for p in sorted((folder / label).rglob("*"))
                  if p.is_file() and not _hidden(p.relative_to(folder))]
        images = [p for p in inside if p.suffix.lower() in IMAGE_SUFFIXES]
        skipped += [p.relative_to(folder).as_posix() for p in inside if p.suffix.lower() not in IMAGE_SUFFIXES]
        if not images:
            raise _fail(folder, f"class folder {label!r} holds no image ({', '.join(IMAGE_SUFFIXES)}); "
                                f"every class needs at least one")
        files += [p.relative_to(folder).as_posix() for p in images]
    if skipped and warn:
        warnings.warn(f"{folder}: skipped {len(skipped)} files that are not images in a class folder: "
                      f"{skipped[:_SHOWN]}{' ...' if len(skipped) > _SHOWN else ''}", UserWarning, stacklevel=4)
    return classes, files


def _folder_digest(pairs: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for relative, file_digest in sorted(pairs):
        digest.update(f"{relative}\0{file_digest}\n".encode())
    return digest.hexdigest()


def _to_gray(image: Any, size: int) -> tuple[np.ndarray, bool]:
    """One PIL image as uint8 ``(size, size)``; True when it was rescaled from a deep bit depth."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)
    rescaled = image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
    if rescaled:  # convert("L") would clip 16-bit values at 255: map the image's own range to 0..255
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")
    else:
        image = image.convert("L")
    shrink = image.width >= size and image.height >= size
    image = image.resize((size, size), Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8), rescaled


def _read_images(folder: Path, settings: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    from PIL import Image

    classes, files = _image_files(folder)
    size = settings["size"]
    images, labels, pairs, deep = [], [], [], 0
    for relative in files:
        path = folder / relative
        raw = path.read_bytes()
        pairs.append((relative, hashlib.sha256(raw).hexdigest()))
        try:
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                pixels, rescaled = _to_gray(image, size)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise _fail(path, f"not a readable image ({type(error).__name__}: {error})") from error
        images.append(pixels)
        labels.append(classes.index(relative.split("/", 1)[0]))
        deep += rescaled
    if deep:
        warnings.warn(f"{folder}: {deep} images have 16-bit or float pixels; each was rescaled from its "
                      f"own min..max to 0..255", UserWarning, stacklevel=3)
    data = {"images": np.stack(images).astype(np.uint8), "labels": np.asarray(labels, dtype=np.int64),
            "classes": classes, "files": files}
    return data, _folder_digest(pairs)


_READERS: dict[str, Callable[[Path, Mapping[str, Any]], tuple[Any, str]]] = {
    "molecules": _read_molecules,
    "prices": _read_prices,
    "sentences": _read_sentences,
    "images": _read_images,
}


def _read_again(kind: str, file_name: str, settings: Mapping[str, Any], paths: Mapping[str, Path]) -> Any:
    """The ``read`` of the registry entry ``load_local`` builds: ``{file name: path} -> data``."""
    return _READERS[kind](Path(paths[file_name]), settings)[0]
