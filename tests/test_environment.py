"""Paths, the budget knob, the environment report, the pinned versions, and the test isolation itself."""

from __future__ import annotations

import json
import os
import re
import socket

import pytest

from course_lib import environment
from course_lib.environment import budget, scaled

# ============================================================================ budget


@pytest.mark.parametrize("raw, expected", [(None, 1.0), ("", 1.0), ("  ", 1.0), ("2", 2.0), (" 4 ", 4.0),
                                           ("0.5", 0.5), ("1e1", 10.0)])
def test_budget_values(raw, expected, monkeypatch):
    if raw is not None:
        monkeypatch.setenv("COURSE_BUDGET", raw)
    assert budget() == expected


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "nan", "inf", "-inf", "2x", "1,5"])
def test_budget_rejects_invalid_values(raw, monkeypatch):
    monkeypatch.setenv("COURSE_BUDGET", raw)
    with pytest.raises(ValueError, match=f"COURSE_BUDGET must be a positive number such as 1 or 4, got '{raw}'"):
        budget()
    with pytest.raises(ValueError, match="COURSE_BUDGET"):
        scaled(10)


@pytest.mark.parametrize("raw, size, kwargs, expected", [
    (None, 100, {}, 100),
    ("2", 100, {}, 200),
    ("0.5", 100, {}, 50),
    ("0.3", 10, {}, 3),
    ("0.01", 10, {}, 1),               # never below the minimum
    ("0.01", 10, {"minimum": 4}, 4),
    ("8", 100, {"maximum": 500}, 500),  # capped
    ("1", 0, {"minimum": 0}, 0),
    ("1.5", 3, {}, 4),                  # 4.5 rounds to even
])
def test_scaled(raw, size, kwargs, expected, monkeypatch):
    if raw is not None:
        monkeypatch.setenv("COURSE_BUDGET", raw)
    assert scaled(size, **kwargs) == expected


@pytest.mark.parametrize("size, error, message", [
    (10.0, TypeError, "size must be an int, got float"),
    ("10", TypeError, "size must be an int, got str"),
    (True, TypeError, "size must be an int, got bool"),
    (-1, ValueError, "size must be >= 0, got -1"),
])
def test_scaled_rejects_bad_sizes(size, error, message):
    with pytest.raises(error, match=message):
        scaled(size)


# ============================================================================ paths and flags


def test_repository_root_is_this_checkout():
    root = environment.repository_root()
    assert (root / "pyproject.toml").is_file() and (root / "course_lib" / "environment.py").is_file()


def test_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    assert environment.data_dir() == tmp_path / "cache"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert environment.data_dir() == environment.repository_root() / "data"


def test_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path / "r"))
    assert environment.results_dir() == tmp_path / "r"
    monkeypatch.delenv("COURSE_RESULTS_DIR")
    assert environment.results_dir() == environment.repository_root() / "results"


def test_mirror_dirs_skip_missing_and_blank_entries(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert environment.mirror_dirs() == []
    monkeypatch.setenv("COURSE_DATA_MIRROR", os.pathsep.join([str(a), "", str(tmp_path / "missing"), " ", str(b)]))
    assert environment.mirror_dirs() == [a, b]


@pytest.mark.parametrize("raw, expected", [(None, False), ("", False), ("0", False), ("no", False),
                                           ("1", True), ("true", True), (" Yes ", True), ("ON", True)])
def test_offline_flag(raw, expected, monkeypatch):
    if raw is not None:
        monkeypatch.setenv("COURSE_OFFLINE", raw)
    assert environment.offline() is expected


def test_environment_report_and_print(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_BUDGET", "2")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    report = environment.environment_report()
    assert list(report) == ["cpu", "cores", "ram", "os", "python", "torch", "torch threads", "numpy", "device",
                            "budget", "data cache", "data mirrors", "offline", "on colab"]
    assert (report["budget"], report["offline"], report["data mirrors"]) == ("2", "True", "(none)")
    assert report["data cache"] == str(environment.data_dir())
    assert report["on colab"] == "False" and environment.on_colab() is False
    assert report["device"] == str(environment.select_device())

    environment.print_environment(extra_packages=("pandas", "surely-not-a-package-xyz"))
    lines = capsys.readouterr().out.splitlines()
    import pandas

    keys = [*report, "pandas", "surely-not-a-package-xyz"]
    assert [line.split("  ")[0].strip() for line in lines] == keys
    width = max(len(key) for key in keys)
    assert all(line[width:width + 2] == "  " and line[width + 2] != " " for line in lines)  # aligned
    assert lines[-2].split()[-1] == pandas.__version__
    assert lines[-1].endswith("not installed")


def test_machine_facts_from_their_files():
    assert environment.cpu_model("processor\t: 0\nmodel name\t: Fancy CPU @ 3GHz\n") == "Fancy CPU @ 3GHz"
    assert environment.cpu_model("processor : 0\n")  # falls back to something non-empty
    assert environment.cpu_cores("200000 100000").endswith("(cgroup quota 2 CPUs)")
    assert "quota" not in environment.cpu_cores("max 100000")
    assert environment.memory("1073741824\n").endswith("(cgroup limit 1.0 GiB)")
    assert "limit" not in environment.memory("max\n") and environment.memory("max").endswith("GiB")


def test_select_device_lives_in_environment_and_training_re_exports_it():
    from course_lib import training

    assert training.select_device is environment.select_device
    source = (environment.repository_root() / "course_lib" / "environment.py").read_text()
    assert "course_lib.training" not in source, "environment must not import training"


# ============================================================================ pinned versions


def test_pinned_version_reads_constraints(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# comment\nTorch_Geometric==2.8.1\ntorch==9.9.1  # cpu\nnumpy>=1\n")
    assert environment.pinned_version("torch", constraints) == "9.9.1"
    assert environment.pinned_version("torch-geometric", constraints) == "2.8.1"
    assert environment.pinned_version("numpy", constraints) is None
    assert environment.pinned_version("torch", tmp_path / "missing.txt") is None
    import torch

    assert torch.__version__.split("+")[0] == environment.pinned_version("torch"), "run make install"


def test_the_torch_pin_is_written_only_in_constraints_and_the_yml_files():
    """constraints.txt is the one source; environment.yml files cannot read it, and a test in
    tests/test_tools.py checks they agree. Everything else must read it (pinned_version)."""
    root = environment.repository_root()
    pin = environment.pinned_version("torch")
    major_minor = ".".join(pin.split(".")[:2])
    texts = {"Makefile": (root / "Makefile").read_text()}
    texts.update({str(p.relative_to(root)): p.read_text() for p in sorted((root / "tools").glob("*.py"))})
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        texts[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    found = sorted(name for name, text in texts.items()
                   if re.search(rf"(?<![\d.]){re.escape(major_minor)}(?![\d])", text))
    assert not found, f"the torch pin {pin} is typed in {found}; read environment.pinned_version('torch')"


# ============================================================================ the isolation fixture


def test_isolation_gives_each_test_its_own_cache(course_environment, tmp_path_factory):
    assert environment.data_dir() == course_environment
    assert str(course_environment).startswith(str(tmp_path_factory.getbasetemp()))
    for name in ("COURSE_DATA_MIRROR", "COURSE_OFFLINE", "COURSE_BUDGET"):
        assert name not in os.environ
    results = environment.results_dir()
    assert str(results).startswith(str(tmp_path_factory.getbasetemp()))
    assert results != environment.repository_root() / "results"
    assert os.environ["MPLBACKEND"] == "Agg"


def test_isolation_blocks_the_internet_but_not_loopback(local_http_server):
    with pytest.raises(OSError, match="unit tests must not use the network"):
        socket.create_connection(("example.org", 80), timeout=1)
    with pytest.raises(OSError, match="unit tests must not use the network"):
        socket.socket().connect(("93.184.215.14", 80))
    with pytest.raises(OSError, match="unit tests must not use the network"):
        socket.getaddrinfo("pypi.org", 443)
    socket.create_connection(("127.0.0.1", local_http_server.port), timeout=5).close()
    socket.create_connection(("localhost", local_http_server.port), timeout=5).close()
