"""Find a dataset: read-only mirror, then cache, then a checksummed download, then (if allowed) a
labelled stand-in. Whatever is returned says where it came from.

Order of resolution for a dataset with files:

1. every mirror folder in ``$COURSE_DATA_MIRROR``: used when all files are there and pass the
   structural checks. Mirrors are only ever read.
2. the cache (``$COURSE_DATA_DIR``, default ``data/``): same checks; a corrupt or truncated cached
   file is reported, deleted and fetched again.
3. a download with :func:`pooch.retrieve` (progress bar, checksum, written to a temporary file and
   moved into place only when complete), unless ``$COURSE_OFFLINE`` is set.
4. the registry's fallback (bundled real data, else synthetic) when the caller passes
   ``allow_fallback=True``; otherwise :class:`DataUnavailableError` explains how to fix it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib import environment
from course_lib.data.readers import DataValidationError
from course_lib.data.registry import DataFile, DatasetInfo, get_dataset_info


class DataUnavailableError(RuntimeError):
    """No usable copy of a dataset could be found or downloaded."""


@dataclass
class LoadedDataset:
    """Data plus where it came from.

    Attributes:
        name: registry name.
        data: the parsed data (see the registry entry's reader for its type and shapes).
        provenance: one of ``download``, ``mirror``, ``cache``, ``bundled``, ``synthetic``.
        source: the folder, package or description the data came from.
        info: the registry entry.
    """

    name: str
    data: Any
    provenance: str
    source: str
    info: DatasetInfo = field(repr=False)
    notes: list[str] = field(default_factory=list, repr=False)
    stand_in: bool = False

    @property
    def is_real(self) -> bool:
        """True unless the data is a synthetic stand-in."""
        return self.provenance != "synthetic"

    @property
    def is_stand_in(self) -> bool:
        """True when this is not the dataset the registry names (its fallback was used)."""
        return self.stand_in

    def describe(self) -> str:
        """One line (or a loud banner for stand-ins) saying which data this is."""
        line = f"{self.info.title}: provenance={self.provenance} ({self.source})"
        if self.provenance == "synthetic" or self.stand_in:
            bar = "!" * min(100, max(60, len(line)))
            what = "SYNTHETIC STAND-IN, NOT THE REAL DATASET" if self.provenance == "synthetic" \
                else "STAND-IN: REAL DATA, BUT NOT THE DATASET THE NOTEBOOK NAMES"
            body = [bar, f"!! {what}", f"!! {line}", *[f"!! {note}" for note in self.notes],
                    "!! Numbers below are not comparable with published results.", bar]
            return "\n".join(body)
        return line

    def __str__(self) -> str:
        return self.describe()


def load_dataset(
    name: str | DatasetInfo,
    *,
    allow_fallback: bool = False,
    cache_dir: str | os.PathLike | None = None,
    mirrors: list[str | os.PathLike] | None = None,
    offline: bool | None = None,
    progressbar: bool = True,
    timeout: float = 60.0,
) -> LoadedDataset:
    """Load a registered dataset (or a :class:`DatasetInfo` you built) and record its provenance.

    Args:
        name: a name from :func:`course_lib.data.dataset_names` or a registry entry.
        allow_fallback: when no real copy is reachable, return the entry's stand-in (with a loud
            banner) instead of raising :class:`DataUnavailableError`. Notebooks pass ``True``.
        cache_dir, mirrors, offline: override ``$COURSE_DATA_DIR``, ``$COURSE_DATA_MIRROR`` and
            ``$COURSE_OFFLINE``.
        progressbar: show pooch's download progress bar.
        timeout: seconds to wait for the server before a download counts as failed.
    """
    info = name if isinstance(name, DatasetInfo) else get_dataset_info(name)
    if not isinstance(allow_fallback, bool):
        raise TypeError(f"allow_fallback must be True or False, got {allow_fallback!r}")
    if info.bundled is not None:
        return LoadedDataset(info.name, info.bundled(), "bundled", info.bundled_source, info)

    if isinstance(mirrors, (str, bytes, os.PathLike)):
        raise TypeError(f"mirrors must be a list of folders, got the single path {mirrors!r}; "
                        f"pass [{mirrors!r}]")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else environment.data_dir()
    mirror_folders = [Path(m).expanduser() for m in mirrors] if mirrors is not None \
        else environment.mirror_dirs()
    no_network = environment.offline() if offline is None else offline
    problems: list[str] = []

    for mirror in mirror_folders:
        paths = {f.path: mirror / f.path for f in info.files}
        if not all(p.is_file() for p in paths.values()):
            problems.append(f"mirror {mirror}: not all of {sorted(paths)} are there")
            continue
        try:
            return LoadedDataset(info.name, info.read(paths), "mirror", str(mirror), info)
        except DataValidationError as error:
            warnings.warn(f"ignoring mirror copy of {info.name}: {error}", stacklevel=2)
            problems.append(f"mirror {mirror}: {error}")

    cached = {f.path: cache / f.path for f in info.files}
    if all(p.is_file() for p in cached.values()):
        try:
            return LoadedDataset(info.name, info.read(cached), "cache", str(cache), info)
        except DataValidationError as error:
            warnings.warn(f"cached copy of {info.name} is corrupt and will be fetched again: {error}",
                          stacklevel=2)
            problems.append(f"cache {cache}: {error}")
            for path in cached.values():
                path.unlink(missing_ok=True)

    if no_network:
        problems.append("download skipped: offline mode ($COURSE_OFFLINE is set)")
    else:
        try:
            paths = {f.path: _download(f, cache, progressbar=progressbar, timeout=timeout)
                     for f in info.files}
            return LoadedDataset(info.name, info.read(paths), "download", _urls(info), info)
        except DataValidationError as error:
            for f in info.files:
                (cache / f.path).unlink(missing_ok=True)
            problems.append(f"download from {_urls(info)} gave an unexpected file: {error}")
        except Exception as error:  # noqa: BLE001 - any transport or checksum failure
            problems.append(f"download from {_urls(info)} failed: {type(error).__name__}: {error}")
        _remove_empty_folders(cache, info)

    if allow_fallback and info.fallback is not None:
        fallback = info.fallback
        loaded = LoadedDataset(info.name, fallback.load(), fallback.provenance, fallback.description,
                               info, notes=[f"real data unavailable: {p}" for p in problems[-2:]],
                               stand_in=True)
        warnings.warn(f"{info.name}: using a {fallback.provenance} stand-in ({fallback.description})",
                      stacklevel=2)
        return loaded
    raise DataUnavailableError(_how_to_fix(info, cache, problems))


def _urls(info: DatasetInfo) -> str:
    return ", ".join(dict.fromkeys(f.url for f in info.files))


def _how_to_fix(info: DatasetInfo, cache: Path, problems: list[str]) -> str:
    lines = [f"no usable copy of dataset {info.name!r} ({info.title}).", "Tried:"]
    lines += [f"  - {p}" for p in problems]
    lines += [
        "To fix it, do one of:",
        f"  - connect to the internet and run again (it downloads {_urls(info)});",
        f"  - point ${environment.MIRROR_ENV} at a folder that holds "
        + ", ".join(f.path for f in info.files) + ";",
        f"  - download the files yourself and place them under {cache} with those relative paths;",
        "  - pass allow_fallback=True to continue with a labelled stand-in.",
    ]
    return "\n".join(lines)


def _download(file: DataFile, cache: Path, *, progressbar: bool, timeout: float) -> Path:
    """Fetch ``file`` into ``cache / file.path`` with a verified checksum; returns that path."""
    import pooch

    target = cache / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)
    if file.archive_member is None:
        fetched = pooch.retrieve(file.url, known_hash=file.known_hash, fname=target.name,
                                 path=target.parent, downloader=downloader, progressbar=progressbar)
        return Path(fetched)
    archive_dir = cache / "_archives"
    archive = Path(pooch.retrieve(file.url, known_hash=file.known_hash,
                                  fname=Path(file.url.split("?")[0]).name, path=archive_dir,
                                  downloader=downloader, progressbar=progressbar))
    _extract_member(archive, file.archive_member, target)
    return target


def _remove_empty_folders(cache: Path, info: DatasetInfo) -> None:
    """Remove the folders a failed download created and left empty (never non-empty ones)."""
    for folder in {(cache / f.path).parent for f in info.files} | {cache / "_archives"}:
        while folder != cache and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _extract_member(archive: Path, member: str, target: Path) -> None:
    """Copy one member of a zip archive to ``target`` atomically (a temporary file, then a rename)."""
    with zipfile.ZipFile(archive) as zipped:
        try:
            source = zipped.open(member)
        except KeyError:
            raise DataValidationError(f"{archive}: archive has no member {member!r}") from None
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".part")
        try:
            with source, os.fdopen(handle, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def dataset_status(names: list[str] | None = None) -> "Any":
    """A table of where each dataset would come from right now, without downloading anything.

    Returns a pandas DataFrame with columns ``dataset``, ``title``, ``provenance``, ``source``,
    ``note``, ``licence``.
    """
    import pandas as pd

    from course_lib.data.registry import dataset_names

    rows = []
    for name in names if names is not None else dataset_names():
        info = get_dataset_info(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loaded = load_dataset(info, offline=True, allow_fallback=True, progressbar=False)
                provenance, source = loaded.provenance, loaded.source
            except DataUnavailableError:
                provenance, source = "unavailable", "no mirror, cache or fallback"
        note = "stand-in: online, the real data would be downloaded" \
            if provenance in ("bundled", "synthetic") and info.files else ""
        rows.append({"dataset": name, "title": info.title, "provenance": provenance,
                     "source": source, "note": note, "licence": info.licence})
    return pd.DataFrame(rows)
