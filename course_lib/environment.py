"""Where things live, how big a run is, and what machine we are on.

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
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

BUDGET_ENV = "COURSE_BUDGET"
DATA_DIR_ENV = "COURSE_DATA_DIR"
MIRROR_ENV = "COURSE_DATA_MIRROR"
OFFLINE_ENV = "COURSE_OFFLINE"
RESULTS_DIR_ENV = "COURSE_RESULTS_DIR"

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


def environment_report() -> dict[str, str]:
    """Versions, hardware and settings that matter for reproducing a notebook's numbers."""
    import numpy
    import torch

    from course_lib.training import select_device

    report = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu cores": str(os.cpu_count()),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "torch threads": str(torch.get_num_threads()),
        "device": str(select_device()),
        "budget": f"{budget():g}",
        "data cache": str(data_dir()),
        "data mirrors": os.pathsep.join(str(p) for p in mirror_dirs()) or "(none)",
        "offline": str(offline()),
        "on colab": str(on_colab()),
    }
    return report


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
