"""Execute one notebook headless, measured, and describe the run as a JSON-ready record.

The notebook runs in its own ``jupyter nbconvert --execute`` subprocess (the kernel starts in the
notebook's folder, as in JupyterLab); the executed copy and the log go to ``out_dir``. The record
says whether it ran, how long it took (wall time and first-cell-to-last-cell time, in seconds), its
peak memory (MiB) from :mod:`measure`, what went wrong if it failed, and the ledger it wrote during
this run (read by :func:`course_lib.results.read_ledger`).
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from measure import run_measured

from course_lib.environment import repository_root
from course_lib.results import read_ledger

MIB = 1024 * 1024


def nbconvert_command(notebook: Path, out_dir: Path, timeout: int) -> list[str]:
    """The command that executes ``notebook`` into ``out_dir``, ``timeout`` seconds per cell."""
    return [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
            "--output-dir", str(out_dir), f"--ExecutePreprocessor.timeout={timeout}", str(notebook)]


def cells_seconds(executed: Path) -> float | None:
    """Seconds from the first code cell's start to the last one's reply, from the timing metadata
    nbclient records in the executed notebook (None when not available)."""
    try:
        content = json.loads(executed.read_text())
    except (OSError, ValueError):
        return None
    starts, ends = [], []
    for cell in content.get("cells", []):
        timing = cell.get("metadata", {}).get("execution", {})
        start = timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started")
        end = timing.get("shell.execute_reply")
        if start and end:
            starts.append(datetime.fromisoformat(start.replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(end.replace("Z", "+00:00")))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failure_excerpt(log_text: str, lines: int = 30) -> str:
    """What went wrong, from an nbconvert log: the failing cell and its traceback when the log has
    a ``CellExecutionError`` (nbconvert's own stack above it is noise), else the end of the log;
    at most ``lines`` lines, without terminal colour codes."""
    clean = _ANSI.sub("", log_text).rstrip().splitlines()
    marker = [i for i, line in enumerate(clean) if "CellExecutionError" in line]
    if marker:
        clean = clean[marker[-1]:]
        clean = [line for i, line in enumerate(clean) if line.strip() or (i and clean[i - 1].strip())]
    return "\n".join(clean[-lines:])


def display_path(path: Path) -> str:
    """``path`` relative to the repository root when it is inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(repository_root()))
    except ValueError:
        return str(path)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def run_notebook(notebook: Path, out_dir: Path, *, results: Path, timeout: int = 900,
                 log_dir: Path | None = None) -> dict:
    """Execute one notebook, measured. Returns the JSON-ready record used by the bench page:
    notebook, path, ok, returncode, wall_s, cells_s, peak_kernel_mib, peak_tree_mib,
    rusage_max_mib, samples, log, executed, error, ledger (``results/<stem>.json`` if this run
    wrote it, else None)."""
    log_dir = log_dir or out_dir
    log_path = log_dir / f"{notebook.stem}.log"
    executed = out_dir / notebook.name
    executed.unlink(missing_ok=True)
    since = time.time()
    measured = run_measured(nbconvert_command(notebook, out_dir, timeout), log_path=log_path)
    ok = measured.returncode == 0 and executed.is_file()
    peaks = measured.peaks
    return {
        "notebook": notebook.stem,
        "path": display_path(notebook),
        "ok": ok,
        "returncode": measured.returncode,
        "wall_s": round(measured.wall_s, 2),
        "cells_s": None if not ok else _round(cells_seconds(executed), 2),
        "peak_kernel_mib": round(peaks.kernel / MIB, 1) if peaks.kernel_seen else None,
        "peak_tree_mib": round(peaks.total / MIB, 1),
        "rusage_max_mib": None if measured.rusage_maxrss is None else round(measured.rusage_maxrss / MIB, 1),
        "samples": peaks.samples,
        "log": display_path(log_path),
        "executed": display_path(executed) if ok else None,
        "error": None if ok else failure_excerpt(log_path.read_text(errors="replace")),
        "ledger": read_ledger(results / f"{notebook.stem}.json", since=since),
    }
