"""The generated results cell that ends every notebook: the comparison table, the verdicts and the
notebook's measured runtime and peak RAM — all read from files the run and ``make bench`` wrote.

    from course_lib.report import show_results
    show_results(ledger)

Nothing here is typed by the author: a reader who has not run the notebook sees the same numbers in
the rendered course, and a rerun on other data says what that data says.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

from course_lib import environment
from course_lib.results import Ledger, ledger_markdown

#: The machine-readable record of the last ``make bench`` (relative to the repository root).
BENCH_RECORD = Path("docs") / "benchmarks.json"


def bench_record_path() -> Path:
    return environment.repository_root() / BENCH_RECORD


def benchmark_record(notebook: str, path: str | os.PathLike | None = None) -> dict | None:
    """What the last ``make bench`` measured for ``notebook``, with its machine and date, or ``None``.

    Returns ``{"wall_s", "peak_tree_mib", "ok", "date_utc", "commit", "cpu", "cores",
    "budget_seconds", "budget_mib"}`` (seconds and MiB).
    """
    path = Path(path) if path is not None else bench_record_path()
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    record = next((r for r in report.get("notebooks", []) if r.get("notebook") == notebook), None)
    if record is None:
        return None
    produced, machine, budget = report.get("produced", {}), report.get("machine", {}), report.get("budget", {})
    return {"wall_s": record.get("wall_s"), "peak_tree_mib": record.get("peak_tree_mib"), "ok": record.get("ok"),
            "date_utc": produced.get("date_utc"), "commit": produced.get("commit"), "cpu": machine.get("cpu"),
            "cores": machine.get("cores"), "budget_seconds": budget.get("seconds"), "budget_mib": budget.get("mib")}


def _peak_rss_mib() -> float | None:
    """Peak resident memory of this process so far, in MiB (``None`` where the OS does not say)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def results_markdown(ledger: Ledger | str, *, bench_path: str | os.PathLike | None = None) -> str:
    """The results of ``ledger``'s notebook as Markdown: models, verdicts, runtime and RAM."""
    if isinstance(ledger, str):
        ledger = Ledger(ledger)
    if not isinstance(ledger, Ledger):
        raise TypeError(f"ledger must be a Ledger or a notebook name, got {type(ledger).__name__}")
    lines = [f"### Results of this run ({ledger.notebook})", "", ledger_markdown(ledger.read())]
    bench = benchmark_record(ledger.notebook, bench_path)
    if bench is None:
        lines.append("**Runtime and memory:** not measured yet for this notebook: run `make bench`.")
    else:
        lines.append(f"**Runtime and memory** (last `make bench`, {bench['date_utc']} UTC, commit `{bench['commit']}`, "
                     f"{bench['cpu']}, {bench['cores']} cores): {bench['wall_s']:.0f} s wall time, "
                     f"{bench['peak_tree_mib']:.0f} MiB peak RAM (budget {bench['budget_seconds']:.0f} s, "
                     f"{bench['budget_mib']:.0f} MiB).")
    peak = _peak_rss_mib()
    if peak is not None:
        lines.append(f"This kernel's own peak RAM in this run so far: {peak:.0f} MiB.")
    return "\n".join(lines) + "\n"


def show_results(ledger: Ledger | str, *, bench_path: str | os.PathLike | None = None) -> None:
    """Display :func:`results_markdown` (rendered in Jupyter, plain text elsewhere)."""
    text = results_markdown(ledger, bench_path=bench_path)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython ships with the course
        print(text)
        return
    if get_ipython() is not None:
        display(Markdown(text))
    else:
        print(text)
