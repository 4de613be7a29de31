"""load_dataset end to end, against the project's own rules rather than pooch's:

- whatever comes back names its provenance (mirror, cache, download, bundled, synthetic) and source;
- a failed download (checksum mismatch, a server dying mid-transfer, a file with the wrong structure,
  a missing or damaged archive member) leaves nothing in the cache: no partial file, no empty or
  temporary folder, and the datasets already cached untouched;
- offline, nothing is requested and the error says how to fix it;
- a mirror is read, never written, and judged by structure, not bytes;
- a corrupt cached copy is reported, deleted and fetched again.

Every dataset here is a tiny one built in the test and served by ``local_http_server`` on 127.0.0.1,
so the real download code (pooch's fetch and unzip) runs without internet.
"""

from __future__ import annotations

import os
import stat
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import course_test_data as td
from course_lib import environment
from course_lib.data import REGISTRY, DataFile, DatasetInfo, DataUnavailableError, LoadedDataset, load_dataset
from course_lib.data import fallbacks, readers

WRONG_MD5 = "md5:" + "0" * 32


@dataclass
class Served:
    """Tiny registry entries whose files the local server serves."""

    server: object
    table: DatasetInfo    # tiny/molecules.csv, a plain file
    images: DatasetInfo   # tiny/images.npz, MedMNIST-like
    pair: DatasetInfo     # tiny/train.csv + tiny/dev.csv, members of one zip archive
    table_url: str
    archive_url: str

    def path(self, url: str) -> str:
        return "/" + url.split("/", 3)[3].split("?")[0]


@pytest.fixture
def served(local_http_server) -> Served:
    root = local_http_server.root
    table = td.write(root / "files" / "molecules.csv", td.table_bytes())
    images = td.write(root / "files" / "images.npz", td.npz_bytes(compressed=True))
    archive = td.write(root / "archives" / "tiny.zip", td.zip_bytes({
        "inner/train.csv": td.table_bytes(),
        "inner/dev.csv": td.table_bytes(td.table_frame(offset=10.0)),
    }))
    table_url = local_http_server.url("files/molecules.csv")
    archive_url = local_http_server.url("archives/tiny.zip") + "?download=1"
    return Served(
        server=local_http_server,
        table=td.entry("tiny_table", (DataFile("tiny/molecules.csv", table_url, td.md5_hash(table)),),
                       td.read_table, td.synthetic_fallback()),
        images=td.entry("tiny_images", (DataFile("tiny/images.npz", local_http_server.url("files/images.npz"),
                                                 td.md5_hash(images)),), td.read_images,
                        td.synthetic_fallback()),
        pair=td.entry("tiny_pair", (
            DataFile("tiny/train.csv", archive_url, td.md5_hash(archive), archive_member="inner/train.csv"),
            DataFile("tiny/dev.csv", archive_url, td.md5_hash(archive), archive_member="inner/dev.csv"),
        ), td.read_pair, td.synthetic_fallback()),
        table_url=table_url,
        archive_url=archive_url,
    )


def with_files(info: DatasetInfo, **changes) -> DatasetInfo:
    """``info`` with every DataFile changed (e.g. another url or known_hash)."""
    return replace(info, files=tuple(replace(f, **changes) for f in info.files))


def load(info, **kwargs) -> LoadedDataset:
    kwargs.setdefault("progressbar", False)
    kwargs.setdefault("timeout", 10)
    return load_dataset(info, **kwargs)


@pytest.fixture
def cache(course_environment) -> Path:
    return environment.data_dir()


# ============================================================================ provenance of a download


class TestDownload:
    def test_download_lands_in_cache_with_its_provenance(self, served, cache):
        loaded = load(served.table)

        assert loaded.provenance == "download"
        assert loaded.source == served.table_url
        assert loaded.is_real and not loaded.is_stand_in
        pd.testing.assert_frame_equal(loaded.data, td.table_frame())
        assert td.md5_hash(cache / "tiny" / "molecules.csv") == served.table.files[0].known_hash
        assert td.entries_under(cache) == ["tiny", "tiny/molecules.csv"]  # no temporary file or folder
        assert served.server.requests == ["/files/molecules.csv"]

    def test_second_load_comes_from_cache_without_network(self, served, cache):
        first = load(served.table)
        served.server.stop()  # any network attempt now fails

        second = load(served.table)

        assert (first.provenance, second.provenance) == ("download", "cache")
        assert second.source == str(cache)
        pd.testing.assert_frame_equal(second.data, first.data)
        assert served.server.requests == ["/files/molecules.csv"]

    def test_cache_dir_argument_overrides_environment(self, served, cache, tmp_path):
        elsewhere = tmp_path / "elsewhere"
        loaded = load(served.table, cache_dir=elsewhere)
        assert loaded.provenance == "download"
        assert td.files_under(elsewhere) == ["tiny/molecules.csv"]
        assert td.entries_under(cache) == []

    def test_npz_download_round_trips_arrays(self, served, cache):
        loaded = load(served.images)
        assert loaded.provenance == "download"
        expected = td.image_arrays()
        assert sorted(loaded.data) == sorted(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(loaded.data[key], value)

    def test_archive_members_from_one_download_and_only_they_are_kept(self, served, cache):
        loaded = load(served.pair)

        assert (loaded.provenance, loaded.source) == ("download", served.archive_url)
        pd.testing.assert_frame_equal(loaded.data["train"], td.table_frame())
        pd.testing.assert_frame_equal(loaded.data["dev"], td.table_frame(offset=10.0))
        assert served.server.requests == ["/archives/tiny.zip"]  # fetched once for both members
        # the cache has the mirror's layout: the registry's paths, not the archive or its unpacked folder
        assert td.entries_under(cache) == ["tiny", "tiny/dev.csv", "tiny/train.csv"]

        served.server.stop()
        assert load(served.pair).provenance == "cache"


# ============================================================================ a failed download


def _damaged_member_archive(served) -> DatasetInfo:
    """An archive that matches its checksum but whose one member (larger than zipfile's copy chunk,
    so part of it is written before the bad CRC is noticed) has a damaged last line."""
    big = b"smiles,y\n" + b"C,1.0\n" * 400_000
    archive = bytearray(td.zip_bytes({"inner/big.csv": big}, compression=zipfile.ZIP_STORED))
    position = archive.rindex(b"C,1.0\n", 0, archive.index(b"PK\x01\x02"))
    archive[position] = ord("X")
    td.write(served.server.root / "archives" / "big.zip", bytes(archive))
    return td.entry("tiny_big", (DataFile("tiny/big.csv", served.server.url("archives/big.zip"),
                                          td.md5_hash(bytes(archive)), archive_member="inner/big.csv"),),
                    td.read_anything)


def _wrong_structure(served) -> DatasetInfo:
    bad = td.write(served.server.root / "files" / "bad.csv", td.table_bytes(td.table_frame(rows=3)))
    return with_files(served.table, url=served.server.url("files/bad.csv"), known_hash=td.md5_hash(bad))


def _cut_short(served, path: str, n_bytes: int, info: DatasetInfo) -> DatasetInfo:
    """``info``, with the server announcing the whole file at ``path`` but dying after ``n_bytes``."""
    served.server.truncate[path] = n_bytes
    return info


FAILURES = {  # how the download fails -> (the entry to load, what the error must say)
    "checksum mismatch": (lambda s: with_files(s.table, known_hash=WRONG_MD5),
                          r"(?s)download from .* failed: ValueError: .*hash"),
    "archive checksum mismatch": (lambda s: with_files(s.pair, known_hash=WRONG_MD5),
                                  r"(?s)download from .* failed: ValueError: .*hash"),
    "server dies mid-file": (lambda s: _cut_short(s, "/files/molecules.csv", 12, s.table),
                             "download from .* failed"),
    "server dies mid-archive": (lambda s: _cut_short(s, "/archives/tiny.zip", 40, s.pair),
                                "download from .* failed"),
    "downloaded file has the wrong structure": (_wrong_structure,
                                                r"unexpected file.*has 3 rows, expected 5"),
    "archive lacks a member": (lambda s: replace(s.pair, files=(
        replace(s.pair.files[0], archive_member="inner/nope.csv"), s.pair.files[1])),
        "no member 'inner/nope.csv'"),
    "member damaged mid-extraction": (_damaged_member_archive, "(?i)crc"),
}


class TestFailedDownloadLeavesNothing:
    @pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
    def test_no_file_and_no_folder_is_left(self, served, cache, failure):
        make_entry, message = failure
        info = make_entry(served)
        with pytest.raises(DataUnavailableError, match=message):
            load(info)
        assert len(served.server.requests) == 1  # it did fetch, then refused what it got
        assert td.entries_under(cache) == []  # no partial file, no empty or temporary folder

    @pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
    def test_datasets_already_cached_are_untouched(self, served, cache, failure):
        load(served.images)
        before = td.snapshot(cache)
        make_entry, message = failure
        with pytest.raises(DataUnavailableError, match=message):
            load(make_entry(served))
        after = td.snapshot(cache)
        del before["."], after["."]  # the cache folder's own mtime moves: the temporary folder came and went
        assert after == before

    def test_fallback_when_allowed_and_still_no_file(self, served, cache):
        info = with_files(served.table, known_hash=WRONG_MD5)
        with pytest.warns(UserWarning, match="synthetic stand-in"):
            loaded = load(info, allow_fallback=True)
        assert loaded.provenance == "synthetic" and loaded.is_stand_in
        pd.testing.assert_frame_equal(loaded.data, td.STAND_IN)
        assert td.entries_under(cache) == []


# ============================================================================ offline


class TestOffline:
    def test_unreachable_server_without_mirror_explains_the_fix(self, served, cache, closed_port_url):
        url = f"{closed_port_url}/files/molecules.csv"
        info = with_files(served.table, url=url)
        with pytest.raises(DataUnavailableError) as caught:
            load(info)
        message = str(caught.value)
        for needed in ("tiny_table", url, "COURSE_DATA_MIRROR", "tiny/molecules.csv", str(cache),
                       "allow_fallback=True", "ConnectionError"):
            assert needed in message, f"{needed!r} missing from:\n{message}"
        assert td.entries_under(cache) == []

    def test_unreachable_server_with_fallback_is_loudly_labelled(self, served, cache, closed_port_url):
        info = with_files(served.table, url=f"{closed_port_url}/files/molecules.csv")
        with pytest.warns(UserWarning, match="tiny_table: using a synthetic stand-in"):
            loaded = load(info, allow_fallback=True)

        assert loaded.provenance == "synthetic"
        assert not loaded.is_real and loaded.is_stand_in
        pd.testing.assert_frame_equal(loaded.data, td.STAND_IN)
        banner = loaded.describe()
        assert banner.count("!" * 60) == 2
        assert "SYNTHETIC STAND-IN, NOT THE REAL DATASET" in banner
        assert "provenance=synthetic" in banner
        assert closed_port_url in banner  # the note says why the real data was unavailable
        assert str(loaded) == banner
        assert td.entries_under(cache) == []

    def test_bundled_fallback_is_labelled_as_a_stand_in(self, served, closed_port_url):
        info = replace(with_files(served.table, url=f"{closed_port_url}/x.csv"), fallback=td.bundled_fallback())
        with pytest.warns(UserWarning, match="bundled stand-in"):
            loaded = load(info, allow_fallback=True)
        assert loaded.provenance == "bundled"
        assert loaded.is_real and loaded.is_stand_in
        pd.testing.assert_frame_equal(loaded.data, td.table_frame(offset=100.0))
        assert "STAND-IN: REAL DATA, BUT NOT THE DATASET THE NOTEBOOK NAMES" in loaded.describe()

    def test_fallback_needs_permission(self, served, closed_port_url):
        info = with_files(served.table, url=f"{closed_port_url}/x.csv")
        with pytest.raises(DataUnavailableError):
            load(info)  # allow_fallback defaults to False: no silent stand-in

    def test_entry_without_fallback_raises_even_when_allowed(self, served, closed_port_url):
        info = replace(with_files(served.table, url=f"{closed_port_url}/x.csv"), fallback=None)
        with pytest.raises(DataUnavailableError, match="no usable copy of dataset 'tiny_table'"):
            load(info, allow_fallback=True)

    @pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
    def test_course_offline_makes_no_network_attempt(self, served, cache, monkeypatch, value):
        monkeypatch.setenv("COURSE_OFFLINE", value)
        with pytest.raises(DataUnavailableError, match=r"offline mode \(\$COURSE_OFFLINE is set\)"):
            load(served.table)
        with pytest.warns(UserWarning, match="stand-in"):
            loaded = load(served.table, allow_fallback=True)
        assert loaded.provenance == "synthetic"
        assert served.server.requests == []  # the server is up: nobody asked it
        assert td.entries_under(cache) == []

    def test_offline_argument_overrides_environment(self, served, monkeypatch):
        with pytest.raises(DataUnavailableError, match="offline mode"):
            load(served.table, offline=True)
        assert served.server.requests == []
        monkeypatch.setenv("COURSE_OFFLINE", "1")
        assert load(served.table, offline=False).provenance == "download"
        assert served.server.requests == ["/files/molecules.csv"]

    def test_offline_still_uses_a_valid_cache(self, served, cache, monkeypatch):
        td.write(cache / "tiny" / "molecules.csv", td.table_bytes())
        monkeypatch.setenv("COURSE_OFFLINE", "1")
        loaded = load(served.table)
        assert loaded.provenance == "cache"
        assert served.server.requests == []


# ============================================================================ mirrors


def make_mirror(folder: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        td.write(folder / relative, data)
    return folder


class TestMirror:
    def test_env_mirror_comes_before_cache_and_network(self, served, cache, tmp_path, monkeypatch):
        mirror = make_mirror(tmp_path / "mirror", {"tiny/molecules.csv": td.table_bytes()})
        td.write(cache / "tiny" / "molecules.csv", td.table_bytes())
        cache_before = td.snapshot(cache)
        monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))

        loaded = load(served.table)

        assert loaded.provenance == "mirror"
        assert loaded.source == str(mirror)
        pd.testing.assert_frame_equal(loaded.data, td.table_frame())
        assert served.server.requests == []
        assert td.snapshot(cache) == cache_before  # the mirror copy is not duplicated into the cache

    def test_mirrors_argument_overrides_environment(self, served, cache, tmp_path, monkeypatch):
        empty = (tmp_path / "empty_mirror")
        empty.mkdir()
        monkeypatch.setenv("COURSE_DATA_MIRROR", str(empty))
        mirror = make_mirror(tmp_path / "mirror", {"tiny/molecules.csv": td.table_bytes()})

        loaded = load(served.table, mirrors=[mirror])

        assert (loaded.provenance, loaded.source) == ("mirror", str(mirror))
        assert served.server.requests == []
        assert td.entries_under(cache) == []

    def test_later_mirror_used_when_first_lacks_the_files(self, served, tmp_path, monkeypatch):
        first = (tmp_path / "first")
        first.mkdir()
        second = make_mirror(tmp_path / "second", {"tiny/molecules.csv": td.table_bytes()})
        monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(tmp_path / "missing"), str(first),
                                                                  str(second)]))
        loaded = load(served.table)
        assert (loaded.provenance, loaded.source) == ("mirror", str(second))
        assert served.server.requests == []

    def test_mirror_copy_is_judged_by_structure_not_bytes(self, served, tmp_path):
        crlf = td.table_bytes(line_end="\r\n")  # same table, other bytes: md5 differs from the download
        assert td.md5_hash(crlf) != served.table.files[0].known_hash
        mirror = make_mirror(tmp_path / "mirror", {"tiny/molecules.csv": crlf})
        loaded = load(served.table, mirrors=[mirror])
        assert loaded.provenance == "mirror"
        pd.testing.assert_frame_equal(loaded.data, td.table_frame())

    def test_incomplete_mirror_is_skipped(self, served, tmp_path):
        mirror = make_mirror(tmp_path / "mirror", {"tiny/train.csv": td.table_bytes()})
        before = td.snapshot(mirror)
        loaded = load(served.pair, mirrors=[mirror])
        assert loaded.provenance == "download"
        assert td.snapshot(mirror) == before

    def test_invalid_mirror_copy_is_skipped_with_warning_and_kept(self, served, cache, tmp_path):
        bad = td.table_bytes(td.table_frame().rename(columns={"y": "value"}))
        mirror = make_mirror(tmp_path / "mirror", {"tiny/molecules.csv": bad})
        before = td.snapshot(mirror)

        with pytest.warns(UserWarning, match=r"ignoring mirror copy of tiny_table: .*missing columns \['y'\]"):
            loaded = load(served.table, mirrors=[mirror])

        assert loaded.provenance == "download"
        assert td.snapshot(mirror) == before
        assert (mirror / "tiny" / "molecules.csv").read_bytes() == bad
        assert td.md5_hash(cache / "tiny" / "molecules.csv") == served.table.files[0].known_hash

    def test_read_only_mirror_is_never_written(self, served, cache, tmp_path):
        mirror = make_mirror(tmp_path / "mirror", {
            "tiny/molecules.csv": td.table_bytes(),
            "tiny/images.npz": td.npz_bytes(),
            # an invalid copy of the archive entry: must be skipped, not repaired or removed
            "tiny/train.csv": td.table_bytes(td.table_frame(rows=2)),
            "tiny/dev.csv": b"",
        })
        for path in sorted(mirror.rglob("*"), reverse=True):
            path.chmod(0o444 if path.is_file() else 0o555)
        mirror.chmod(0o555)
        before = td.snapshot(mirror)
        try:
            assert load(served.table, mirrors=[mirror]).provenance == "mirror"
            assert load(served.images, mirrors=[mirror]).provenance == "mirror"
            with pytest.warns(UserWarning, match="ignoring mirror copy"):
                assert load(served.pair, mirrors=[mirror]).provenance == "download"
            # and once more with the copies now in the cache: the mirror still wins, untouched
            assert load(served.table, mirrors=[mirror]).provenance == "mirror"
            after = td.snapshot(mirror)
        finally:
            for path in [mirror, *mirror.rglob("*")]:
                path.chmod(stat.S_IRWXU)
        assert after == before  # listing, modes, sizes, mtimes and content hashes
        assert served.server.requests == ["/archives/tiny.zip"]


# ============================================================================ corrupt cache


def _npz_with(**changes) -> bytes:
    arrays = td.image_arrays()
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return td.npz_bytes(arrays)


def _flipped(data: bytes) -> bytes:
    damaged = bytearray(data)
    for position in range(len(damaged) // 3, len(damaged) // 3 + 64):
        damaged[position] ^= 0xA5
    return bytes(damaged)


CORRUPT_TABLES = {
    "missing column": td.table_bytes(td.table_frame().drop(columns="y")),
    "too few rows": td.table_bytes(td.table_frame(rows=3)),
    "truncated mid-line": td.table_bytes()[:-7],
    "non-numeric target": td.table_bytes().replace(b"1.0", b"abc"),
    "empty file": b"",
    "binary garbage": bytes(range(256)) * 4,
}
CORRUPT_IMAGES = {
    "truncated archive": td.npz_bytes()[:5000],
    "damaged compressed archive": _flipped(td.npz_bytes(compressed=True)),
    "labels out of range": _npz_with(val_labels=np.array([[0], [2], [1]])),
    "negative labels": _npz_with(test_labels=np.array([[0], [-1], [1]])),
    "float images": _npz_with(train_images=td.image_arrays()["train_images"].astype(np.float32)),
    "wrong image shape": _npz_with(test_images=np.zeros((3, 28, 27), np.uint8)),
    "missing key": _npz_with(val_labels=None),
    "label count mismatch": _npz_with(train_labels=np.zeros((5, 1), np.int64)),
}


class TestCorruptCache:
    @pytest.mark.parametrize("content", CORRUPT_TABLES.values(), ids=CORRUPT_TABLES.keys())
    def test_corrupt_cached_table_is_replaced_by_a_download(self, served, cache, content):
        self._check_refetched(served, served.table, cache / "tiny" / "molecules.csv", content)

    @pytest.mark.parametrize("content", CORRUPT_IMAGES.values(), ids=CORRUPT_IMAGES.keys())
    def test_corrupt_cached_npz_is_replaced_by_a_download(self, served, cache, content):
        self._check_refetched(served, served.images, cache / "tiny" / "images.npz", content)

    @staticmethod
    def _check_refetched(served, info, cached, content):
        td.write(cached, content)
        with pytest.warns(UserWarning, match=f"cached copy of {info.name} is corrupt and will be fetched again"):
            loaded = load(info)
        assert loaded.provenance == "download"
        assert served.server.requests == [served.path(info.files[0].url)]
        assert td.md5_hash(cached) == info.files[0].known_hash

    def test_corrupt_archive_member_is_extracted_again(self, served, cache):
        load(served.pair)
        td.write(cache / "tiny" / "dev.csv", b"smiles,y\nC,1\n")
        with pytest.warns(UserWarning, match="corrupt"):
            loaded = load(served.pair)
        assert loaded.provenance == "download"
        pd.testing.assert_frame_equal(loaded.data["dev"], td.table_frame(offset=10.0))

    def test_corrupt_cache_that_cannot_be_refetched_is_reported_and_removed(self, served, cache,
                                                                           closed_port_url):
        info = with_files(served.table, url=f"{closed_port_url}/files/molecules.csv")
        cached = td.write(cache / "tiny" / "molecules.csv", CORRUPT_TABLES["missing column"])
        with pytest.warns(UserWarning, match="corrupt"), pytest.raises(DataUnavailableError) as caught:
            load(info)
        message = str(caught.value)
        assert f"cache {cache}" in message and "missing columns ['y']" in message
        assert f"download from {closed_port_url}/files/molecules.csv failed" in message
        assert not cached.exists()

    def test_corrupt_cache_while_offline_is_reported_and_removed(self, served, cache, monkeypatch):
        monkeypatch.setenv("COURSE_OFFLINE", "1")
        cached = td.write(cache / "tiny" / "images.npz", CORRUPT_IMAGES["truncated archive"])
        with pytest.warns(UserWarning, match="corrupt"), \
                pytest.raises(DataUnavailableError, match=r"(?s)not a readable \.npz archive.*offline mode"):
            load(served.images)
        assert not cached.exists()
        assert served.server.requests == []


# ============================================================================ BreastMNIST's own entry


BREAST_PATH = "medmnist/breastmnist.npz"
BREAST_URL = "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1"
BREAST_MD5 = "md5:750601b1f35ba3300ea97c75c52ff8f6"  # published in the medmnist package's INFO table


def breast_npz(label_shape: str = "column", **changes) -> bytes:
    """A BreastMNIST-shaped archive: official split sizes, labels (N, 1) like the Zenodo file
    (``"column"``) or (N,) like the offline mirror's re-saved copy (``"flat"``)."""
    arrays = td.image_arrays(readers.BREASTMNIST_SIZES)
    if label_shape == "flat":
        arrays = {k: (v.reshape(-1) if k.endswith("_labels") else v) for k, v in arrays.items()}
    arrays.update(changes)
    return td.npz_bytes(arrays, compressed=True)


@dataclass
class ServedBreast:
    server: object
    info: DatasetInfo  # the registry's entry, its URL and checksum pointed at the local server
    content: bytes
    url_path: str = "/records/10519652/files/breastmnist.npz"


def serve_breast(server, content: bytes) -> ServedBreast:
    """The registry's ``breastmnist`` entry (its reader, fallback, path) with the URL moved to the
    local server and the checksum of what that server sends, as for the tiny entries above."""
    td.write(server.root / "records" / "10519652" / "files" / "breastmnist.npz", content)
    url = server.url("records/10519652/files/breastmnist.npz") + "?download=1"
    info = with_files(REGISTRY["breastmnist"], url=url, known_hash=td.md5_hash(content))
    return ServedBreast(server, info, content)


class TestBreastMNIST:
    def test_entry_downloads_the_zenodo_file_with_the_published_md5(self):
        info = REGISTRY["breastmnist"]
        assert info.files == (DataFile(BREAST_PATH, BREAST_URL, BREAST_MD5),)
        assert info.read is readers.read_breastmnist
        assert info.fallback.provenance == "synthetic" and info.fallback.load is fallbacks.synthetic_ultrasound
        assert "Al-Dhabyani" in info.citation and "MedMNIST v2" in info.citation and info.licence == "CC BY 4.0"

    @pytest.mark.parametrize("label_shape", ["column", "flat"])
    def test_download_is_verified_cached_and_flattened(self, local_http_server, cache, label_shape):
        served = serve_breast(local_http_server, breast_npz(label_shape))

        loaded = load(served.info)

        assert (loaded.provenance, loaded.source) == ("download", served.info.files[0].url)
        assert loaded.is_real and not loaded.is_stand_in
        expected = td.image_arrays(readers.BREASTMNIST_SIZES)
        for split, n in readers.BREASTMNIST_SIZES.items():
            np.testing.assert_array_equal(loaded.data[f"{split}_images"], expected[f"{split}_images"])
            assert loaded.data[f"{split}_labels"].shape == (n,) and loaded.data[f"{split}_labels"].dtype == np.int64
            np.testing.assert_array_equal(loaded.data[f"{split}_labels"], expected[f"{split}_labels"].ravel())
        assert td.entries_under(cache) == ["medmnist", "medmnist/breastmnist.npz"]  # no temporary leftovers
        assert (cache / BREAST_PATH).read_bytes() == served.content
        assert local_http_server.requests == [served.url_path]

        local_http_server.stop()
        assert load(served.info).provenance == "cache"

    def test_checksum_mismatch_leaves_nothing_half_written(self, local_http_server, cache):
        # the published md5 against a file that is not the published one
        served = serve_breast(local_http_server, breast_npz())
        info = with_files(served.info, known_hash=BREAST_MD5)
        with pytest.raises(DataUnavailableError, match=r"(?s)download from .* failed: ValueError: .*hash"):
            load(info)
        assert local_http_server.requests == [served.url_path]  # it did fetch, then refused what it got
        assert td.entries_under(cache) == []

        with pytest.warns(UserWarning, match="breastmnist: using a synthetic stand-in"):
            loaded = load(info, allow_fallback=True)
        assert loaded.provenance == "synthetic" and "SYNTHETIC STAND-IN" in loaded.describe()
        assert td.entries_under(cache) == []

    def test_checksum_mismatch_keeps_what_is_already_cached(self, local_http_server, cache):
        td.write(cache / "medmnist" / "pneumoniamnist.npz", b"somebody else's file")
        before = td.snapshot(cache)
        served = serve_breast(local_http_server, breast_npz())
        with pytest.raises(DataUnavailableError, match="hash"):
            load(with_files(served.info, known_hash=td.md5_hash(served.content + b"x")))
        after = td.snapshot(cache)
        del before["."], after["."]
        assert after == before

    def test_server_dying_mid_file_leaves_nothing(self, local_http_server, cache):
        served = serve_breast(local_http_server, breast_npz())
        local_http_server.truncate[served.url_path] = 4000
        with pytest.raises(DataUnavailableError, match="download from .* failed"):
            load(served.info)
        assert td.entries_under(cache) == []

    @pytest.mark.parametrize("changes, problem", [
        (dict(train_labels=np.full((546, 1), 2)), r"train_labels has values \[2\] outside 0..1"),
        (dict(val_labels=np.zeros((78, 2), np.int64)), r"val_labels has shape \(78, 2\)"),
        (dict(test_images=np.zeros((156, 28, 28, 3), np.uint8)), r"test_images has shape \(156, 28, 28, 3\)"),
    ], ids=["third class", "two label columns", "RGB images"])
    def test_download_of_the_wrong_structure_is_refused(self, local_http_server, cache, changes, problem):
        served = serve_breast(local_http_server, breast_npz(**changes))  # its checksum matches
        with pytest.raises(DataUnavailableError, match=f"(?s)unexpected file.*breastmnist.npz: {problem}"):
            load(served.info)
        assert td.entries_under(cache) == []

    def test_mirror_copy_with_flat_labels_is_used_without_network(self, local_http_server, cache, tmp_path,
                                                                  monkeypatch):
        served = serve_breast(local_http_server, breast_npz("column"))
        mirror = make_mirror(tmp_path / "mirror", {BREAST_PATH: breast_npz("flat")})
        assert td.md5_hash(mirror / BREAST_PATH) != served.info.files[0].known_hash  # other bytes, same content
        before = td.snapshot(mirror)
        monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))

        loaded = load(served.info)

        assert (loaded.provenance, loaded.source) == ("mirror", str(mirror))
        assert loaded.data["train_labels"].shape == (546,)
        assert local_http_server.requests == []
        assert td.snapshot(mirror) == before and td.entries_under(cache) == []

    def test_invalid_mirror_copy_is_skipped_for_the_download(self, local_http_server, cache, tmp_path):
        served = serve_breast(local_http_server, breast_npz())
        mirror = make_mirror(tmp_path / "mirror", {BREAST_PATH: breast_npz(train_labels=np.zeros((546, 2), np.int64))})
        warning = r"ignoring mirror copy of breastmnist: .*train_labels has shape \(546, 2\)"
        with pytest.warns(UserWarning, match=warning):
            loaded = load(served.info, mirrors=[mirror])
        assert loaded.provenance == "download"
        assert td.files_under(cache) == [BREAST_PATH]

    def test_offline_without_mirror_is_the_loud_stand_in_and_asks_nothing(self, local_http_server, cache,
                                                                           monkeypatch):
        served = serve_breast(local_http_server, breast_npz())
        monkeypatch.setenv("COURSE_OFFLINE", "1")
        with pytest.raises(DataUnavailableError, match=r"(?s)offline mode.*medmnist/breastmnist.npz"):
            load(served.info)
        with pytest.warns(UserWarning, match="breastmnist: using a synthetic stand-in"):
            loaded = load(served.info, allow_fallback=True)
        assert loaded.provenance == "synthetic" and not loaded.is_real and loaded.is_stand_in
        banner = str(loaded)
        assert "SYNTHETIC STAND-IN, NOT THE REAL DATASET" in banner and "NOT real data" in banner
        assert loaded.data["train_images"].shape == (546, 28, 28)
        assert local_http_server.requests == [] and td.entries_under(cache) == []


# ============================================================================ the API itself


class TestLoadDatasetInput:
    def test_unknown_name_lists_the_known_ones(self):
        with pytest.raises(ValueError,
                           match=r"unknown dataset 'mnist'; known datasets: arrests, breast_cancer, breastmnist, esol"):
            load_dataset("mnist")

    @pytest.mark.parametrize("name", [None, 3, ["sst2"]])
    def test_name_of_wrong_type(self, name):
        with pytest.raises(TypeError, match="dataset name must be a str"):
            load_dataset(name)

    @pytest.mark.parametrize("flag", ["yes", 1, None])
    def test_allow_fallback_must_be_bool(self, served, flag):
        with pytest.raises(TypeError, match="allow_fallback must be True or False"):
            load_dataset(served.table, allow_fallback=flag)

    def test_mirrors_must_be_a_list_of_folders(self, served, tmp_path):
        mirror = make_mirror(tmp_path / "mirror", {"tiny/molecules.csv": td.table_bytes()})
        with pytest.raises(TypeError, match="mirrors must be a list of folders"):
            load_dataset(served.table, mirrors=str(mirror))
        assert served.server.requests == []

    def test_describe_of_real_data_is_one_quiet_line(self, served):
        loaded = load(served.table)
        assert loaded.describe() == f"Tiny test set tiny_table: provenance=download ({served.table_url})"
        assert loaded.is_real and not loaded.is_stand_in

    def test_no_warning_on_a_clean_download(self, served):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert load(served.table).provenance == "download"
