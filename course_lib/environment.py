"""Where things live, how big a run is, which device to use, and what machine we are on.

Environment variables (all optional):

``COURSE_BUDGET``
    The one budget knob: a factor (default ``1``) that notebooks multiply their data sizes and
    epoch counts by through :func:`scaled`. ``1`` is the laptop/CI setting that keeps every notebook
    within 5 minutes on 2 CPU cores; learners with a GPU (Colab) may set e.g. ``COURSE_BUDGET=8``.
    It changes sizes only, never the code path.
``COURSE_DATA_DIR``
    The writable download cache (default: ``data/`` in the repository).
``COURSE_DATA_MIRROR``
    Read-only mirror folder(s), separated by ``os.pathsep``, checked before any download.
``COURSE_OFFLINE``
    ``1`` forbids any network access (mirror, cache or fallback only).
``COURSE_RESULTS_DIR``
    Where notebooks write their results ledger (default: ``results/`` in the repository).
``COURSE_DEVICE``
    Forces the device :func:`select_device` returns, e.g. ``cpu``.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BUDGET_ENV = "COURSE_BUDGET"
DATA_DIR_ENV = "COURSE_DATA_DIR"
MIRROR_ENV = "COURSE_DATA_MIRROR"
OFFLINE_ENV = "COURSE_OFFLINE"
RESULTS_DIR_ENV = "COURSE_RESULTS_DIR"
DEVICE_ENV = "COURSE_DEVICE"
CONSTRAINTS_FILE = "constraints.txt"

_PACKAGE_DIR = Path(__file__).resolve().parent


def repository_root() -> Path:
    """The course repository's root when course_lib runs from a checkout, else the working folder."""
    candidate = _PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
        return candidate
    return Path.cwd()


def data_dir() -> Path:
    """The writable dataset cache (``$COURSE_DATA_DIR`` or ``<repo>/data``)."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else repository_root() / "data"


def mirror_dirs() -> list[Path]:
    """Read-only mirror folders named by ``$COURSE_DATA_MIRROR`` (missing folders are skipped)."""
    configured = os.environ.get(MIRROR_ENV, "")
    folders = [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    return [folder for folder in folders if folder.is_dir()]


def offline() -> bool:
    """True when ``$COURSE_OFFLINE`` forbids network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def results_dir() -> Path:
    """Where the results ledger is written (``$COURSE_RESULTS_DIR`` or ``<repo>/results``)."""
    configured = os.environ.get(RESULTS_DIR_ENV)
    return Path(configured).expanduser() if configured else repository_root() / "results"


def budget() -> float:
    """The budget factor from ``$COURSE_BUDGET`` (default 1.0; must be a positive number)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{BUDGET_ENV} must be a positive number such as 1 or 4, got {raw!r}") from None
    if not 0 < value < float("inf"):  # also rejects nan, and inf (which would make scaled() overflow)
        raise ValueError(f"{BUDGET_ENV} must be a positive number such as 1 or 4, got {raw!r}")
    return value


def scaled(size: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """``size`` multiplied by the budget factor, rounded, clipped to ``[minimum, maximum]``.

    >>> scaled(100)  # with COURSE_BUDGET unset
    100
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an int, got {type(size).__name__}")
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    value = max(minimum, round(size * budget()))
    return min(value, maximum) if maximum is not None else value


def on_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def select_device(preferred: str | None = None) -> torch.device:
    """The best available :class:`torch.device`: ``cuda``, then ``mps``, then ``cpu``.

    ``preferred`` (or ``$COURSE_DEVICE``) forces one, e.g. ``"cpu"``; asking for a device that is not
    available raises ``ValueError``.
    """
    import torch

    choice = preferred if preferred is not None else os.environ.get(DEVICE_ENV)
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()}
    if choice:
        if not isinstance(choice, str):
            raise TypeError(f"device must be a str such as 'cpu', got {type(choice).__name__}")
        kind = choice.split(":")[0]
        if kind not in available:
            raise ValueError(f"unknown device {choice!r}; use one of {sorted(available)}")
        if not available[kind]:
            raise ValueError(f"device {choice!r} is not available on this machine")
        try:
            return torch.device(choice)
        except RuntimeError:
            raise ValueError(f"invalid device {choice!r}; use e.g. 'cpu', 'cuda' or 'cuda:0'") from None
    for kind in ("cuda", "mps"):
        if available[kind]:
            return torch.device(kind)
    return torch.device("cpu")


def pinned_version(package: str, constraints: str | os.PathLike | None = None) -> str | None:
    """The version of ``package`` the course is tested with, from ``constraints.txt`` (the one place
    versions are pinned; ``make lock`` writes it), or None when it is not pinned there or the file
    is absent (an installed copy of course_lib without its repository)."""
    path = Path(constraints) if constraints is not None else repository_root() / CONSTRAINTS_FILE
    wanted = _canonical(package)
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, separator, version = line.split("#", 1)[0].partition("==")
        if separator and _canonical(name) == wanted:
            return version.strip()
    return None


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).strip().lower()


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (or ``cpuinfo``), else what :mod:`platform` says."""
    text = cpuinfo if cpuinfo is not None else _read("/proc/cpuinfo")
    for key in ("model name", "Model", "Hardware", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, flags=re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_cores(cpu_max: str | None = None) -> str:
    """Cores this process may use: the affinity mask, of how many, and a cgroup CPU quota
    (``cpu_max``: the text of ``/sys/fs/cgroup/cpu.max``, e.g. ``"200000 100000"`` = 2 CPUs)."""
    total = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    text = f"{usable}" + (f" usable of {total}" if usable != total else "")
    quota = (cpu_max if cpu_max is not None else _read("/sys/fs/cgroup/cpu.max")).split()
    if len(quota) == 2 and quota[0] != "max":
        text += f" (cgroup quota {int(quota[0]) / int(quota[1]):g} CPUs)"
    return text


def memory(memory_max: str | None = None) -> str:
    """Physical RAM in GiB, with the cgroup limit when one is set (``memory_max``: the text of
    ``/sys/fs/cgroup/memory.max``, a number of bytes or ``max``)."""
    try:
        text = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.1f} GiB"
    except (ValueError, OSError, AttributeError):  # not POSIX
        text = "unknown"
    limit = (memory_max if memory_max is not None else _read("/sys/fs/cgroup/memory.max")).strip()
    if limit.isdigit():
        text += f" (cgroup limit {int(limit) / 1024**3:.1f} GiB)"
    return text


def operating_system() -> str:
    """``platform.platform()`` plus the distribution's name from ``/etc/os-release`` when there is one."""
    release = re.search(r'^PRETTY_NAME="?([^"\n]+)', _read("/etc/os-release"), re.MULTILINE)
    return platform.platform() + (f" ({release.group(1)})" if release else "")


def environment_report() -> dict[str, str]:
    """Versions, hardware and settings that matter for reproducing a notebook's numbers, as
    label -> text. The one report: notebooks print it, and the bench page extends it."""
    import numpy
    import torch

    return {
        "cpu": cpu_model(),
        "cores": cpu_cores(),
        "ram": memory(),
        "os": operating_system(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch threads": str(torch.get_num_threads()),
        "numpy": numpy.__version__,
        "device": str(select_device()),
        "budget": f"{budget():g}",
        "data cache": str(data_dir()),
        "data mirrors": os.pathsep.join(str(p) for p in mirror_dirs()) or "(none)",
        "offline": str(offline()),
        "on colab": str(on_colab()),
    }


def print_environment(extra_packages: tuple[str, ...] = ()) -> None:
    """Print :func:`environment_report` plus the versions of ``extra_packages``."""
    from importlib.metadata import PackageNotFoundError, version

    report = environment_report()
    for package in extra_packages:
        try:
            report[package] = version(package)
        except PackageNotFoundError:
            report[package] = "not installed"
    width = max(len(key) for key in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
