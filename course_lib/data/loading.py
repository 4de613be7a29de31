"""Find a dataset: read-only mirror, then cache, then a checksummed download, then (if allowed) a
labelled stand-in. Whatever is returned says where it came from.

Order of resolution for a dataset with files:

1. every mirror folder in ``$COURSE_DATA_MIRROR``: used when all files are there and pass the
   structural checks (the registry entry's reader). Mirrors are only ever read.
2. the cache (``$COURSE_DATA_DIR``, default ``data/``): same checks; a corrupt or truncated cached
   file is reported, deleted and fetched again.
3. a download, unless ``$COURSE_OFFLINE`` is set. :meth:`pooch.Pooch.fetch` does the transfer (progress
   bar, checksum, a temporary file moved into place only when it matches) and :class:`pooch.Unzip`
   takes members out of an archive. All of it happens in a temporary folder inside the cache; the
   files move to their places only after they pass the structural checks, so a failed download
   leaves nothing behind: no partial file, no empty folder.
4. the registry's fallback (bundled real data, else synthetic) when the caller passes
   ``allow_fallback=True``; otherwise :class:`DataUnavailableError` explains how to fix it.

A learner's own file goes through :func:`course_lib.data.load_local` instead (provenance ``local``,
see :mod:`course_lib.data.local`); it comes back as the same :class:`LoadedDataset`.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib import environment
from course_lib.data.readers import DataValidationError
from course_lib.data.registry import LOCAL, DataFile, DatasetInfo, get_dataset_info, is_real_provenance


class DataUnavailableError(RuntimeError):
    """No usable copy of a dataset could be found or downloaded."""


@dataclass
class LoadedDataset:
    """Data plus where it came from.

    Attributes:
        name: registry name (for a learner's own file: the name given to ``load_local``).
        data: the parsed data (see the registry entry's reader for its type and shapes).
        provenance: one of ``download``, ``mirror``, ``cache``, ``bundled``, ``synthetic``, or
            ``local`` (a learner's own file: real as far as the course can tell, never a stand-in).
        source: the folder, package or description the data came from.
        info: the registry entry (for a local file, one built on the fly by ``load_local``).
        checksum: the full sha256 hex digest of a local file (of a folder: over its files' digests);
            empty for registry data, whose files the registry's checksums and readers vouch for.
    """

    name: str
    data: Any
    provenance: str
    source: str
    info: DatasetInfo = field(repr=False)
    notes: list[str] = field(default_factory=list, repr=False)
    stand_in: bool = False
    checksum: str = ""

    @property
    def is_real(self) -> bool:
        """True unless the data is a synthetic stand-in."""
        return is_real_provenance(self.provenance)

    @property
    def is_stand_in(self) -> bool:
        """True when this is not the dataset the registry names: its fallback was used, or the data
        is synthetic (generated data never is the named dataset). A local file never is a stand-in:
        it is the very data the learner named."""
        return self.stand_in or not self.is_real

    def describe(self) -> str:
        """One line (or a loud banner for stand-ins) saying which data this is."""
        line = f"{self.info.title}: provenance={self.provenance} ({self.source})"
        if self.provenance == LOCAL and not self.stand_in:
            if self.notes:  # a demonstration file the notebook wrote (course_lib.data.local.as_demonstration)
                return "\n".join([line, *[f"  {note}" for note in self.notes]])
            return (f"{line}; your own file: real as far as the course can tell, not a stand-in; "
                    "the course's quality bars do not apply")
        if not self.is_real or self.stand_in:
            bar = "!" * min(100, max(60, len(line)))
            what = "SYNTHETIC STAND-IN, NOT THE REAL DATASET" if not self.is_real \
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
            data = _download(info, cache, progressbar=progressbar, timeout=timeout)
            return LoadedDataset(info.name, data, "download", _urls(info), info)
        except DataValidationError as error:
            problems.append(f"download from {_urls(info)} gave an unexpected file: {error}")
        except Exception as error:  # noqa: BLE001 - any transport or checksum failure
            problems.append(f"download from {_urls(info)} failed: {type(error).__name__}: {error}")

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


def _download(info: DatasetInfo, cache: Path, *, progressbar: bool, timeout: float) -> Any:
    """Fetch every file of ``info``, check it with the entry's reader, then move it to ``cache``.

    Returns what the reader returned. Raises pooch's or requests' error for a failed transfer or a
    checksum mismatch, :class:`DataValidationError` for a file with the wrong structure; either way
    the temporary folder goes, with whatever it held, and the cache is as it was.
    """
    import pooch

    names = {f.path: _fetch_name(f) for f in info.files}
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as staging:
        fetcher = pooch.create(path=staging, base_url="",
                               registry={names[f.path]: f.known_hash for f in info.files},
                               urls={names[f.path]: f.url for f in info.files})
        staged = {}
        for f in info.files:
            if f.archive_member is None:
                staged[f.path] = Path(fetcher.fetch(names[f.path], downloader=downloader))
            else:  # an archive is fetched (and verified) once, however many of its members we need
                members = fetcher.fetch(names[f.path], downloader=downloader,
                                        processor=pooch.Unzip(members=[f.archive_member]))
                staged[f.path] = _member(members, f)
        data = info.read(staged)
        for relative, path in staged.items():
            (cache / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, cache / relative)
    return data


def _fetch_name(file: DataFile) -> str:
    """The name under which pooch fetches ``file``: its own path, or the archive it comes in."""
    if file.archive_member is None:
        return file.path
    return "_archives/" + file.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _member(extracted: list[str], file: DataFile) -> Path:
    """The path :class:`pooch.Unzip` extracted ``file.archive_member`` to (it returns every path
    that starts with the member's name)."""
    for path in map(Path, extracted):
        if path.as_posix().endswith("/" + file.archive_member):
            return path
    raise DataValidationError(f"{file.url}: archive has no member {file.archive_member!r}")


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
                provenance, source, stand_in = loaded.provenance, loaded.source, loaded.is_stand_in
            except DataUnavailableError:
                provenance, source, stand_in = "unavailable", "no mirror, cache or fallback", False
        note = "stand-in: online, the real data would be downloaded" if stand_in else ""
        rows.append({"dataset": name, "title": info.title, "provenance": provenance,
                     "source": source, "note": note, "licence": info.licence})
    return pd.DataFrame(rows)
