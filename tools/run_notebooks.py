"""Execute the course notebooks one by one, measure each, and print the scoreboard.

    python tools/run_notebooks.py --out build/executed notebooks/*.ipynb          # make course
    python tools/run_notebooks.py --out build/executed --bench docs/benchmarks.md notebooks/*.ipynb
                                                                                  # make bench
    python tools/run_notebooks.py --update-readme      # refresh the README's generated tables only

Every notebook runs in its own ``jupyter nbconvert --execute`` subprocess (the kernel starts in the
notebook's folder, as in JupyterLab); the executed copy goes to ``--out``. While it runs, the whole
process tree (nbconvert + kernel + anything the kernel starts) is sampled with psutil every 0.1 s
for its resident memory (RSS). A failing notebook does not stop the others; the exit status is 1
when any failed (and, with ``--bench``, when any broke the 5-minute / 2-GB budget).

With ``--bench`` the run also writes the benchmark page, ``docs/benchmarks.json`` (the same numbers,
machine-readable) and the README blocks between ``<!-- notebooks-table:start/end -->`` and
``<!-- data-licences:start/end -->``. Nothing in those files is typed by hand.

The notebooks' descriptive metadata (domain, architecture, dataset) lives in
:data:`course_lib.catalogue.NOTEBOOKS`, and nowhere else.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_meta import ROOT, binder_url, colab_url  # noqa: E402

from course_lib.catalogue import NOTEBOOKS, NotebookMeta  # noqa: E402,F401
from course_lib.report import BENCH_RECORD  # noqa: E402

BUDGET_SECONDS = 300.0  # the course's promise: every notebook within 5 minutes...
BUDGET_MIB = 2048.0  # ...and 2 GB (2 GiB) of RAM, on 2 CPU cores
SAMPLE_INTERVAL_S = 0.1
MIB = 1024 * 1024

DEFAULT_README = ROOT / "README.md"
DEFAULT_BENCH_JSON = ROOT / BENCH_RECORD  # committed: each notebook's results cell reads it
DEFAULT_SCOREBOARD = ROOT / "build" / "scoreboard.md"


def notebook_meta(stem: str, table: Sequence[NotebookMeta] = NOTEBOOKS) -> NotebookMeta | None:
    return next((meta for meta in table if meta.stem == stem), None)


# --------------------------------------------------------------------------------------------------
# Memory of a process tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcInfo:
    """One process in a sample: ids, resident set size in bytes, command line."""

    pid: int
    ppid: int
    rss: int
    cmdline: tuple[str, ...] = ()


@dataclass(frozen=True)
class TreeRSS:
    """Resident memory of one sample, in bytes: the whole tree and the kernel's subtree."""

    total: int
    kernel: int
    processes: int
    kernels: int


def is_kernel(cmdline: Sequence[str]) -> bool:
    """True for a Jupyter Python kernel's command line (``python -m ipykernel_launcher -f ...``)."""
    return any("ipykernel" in part for part in cmdline)


def tree_rss(processes: Iterable[ProcInfo],
             kernel_match: Callable[[Sequence[str]], bool] = is_kernel) -> TreeRSS:
    """Sum RSS over a sampled process tree and over the kernels' subtrees (kernel + its children,
    e.g. DataLoader workers).

    Summed RSS counts pages shared between processes more than once, so both numbers are upper
    bounds of the memory actually in use.
    """
    processes = list(processes)
    children: dict[int, list[ProcInfo]] = {}
    for proc in processes:
        children.setdefault(proc.ppid, []).append(proc)
    kernel_pids: set[int] = set()
    stack = [proc for proc in processes if kernel_match(proc.cmdline)]
    kernels = len(stack)
    while stack:
        proc = stack.pop()
        if proc.pid not in kernel_pids:
            kernel_pids.add(proc.pid)
            stack.extend(children.get(proc.pid, []))
    return TreeRSS(
        total=sum(proc.rss for proc in processes),
        kernel=sum(proc.rss for proc in processes if proc.pid in kernel_pids),
        processes=len(processes),
        kernels=kernels,
    )


@dataclass
class Peaks:
    """Running maxima over samples (bytes)."""

    total: int = 0
    kernel: int = 0
    samples: int = 0
    kernel_seen: bool = False

    def update(self, sample: TreeRSS) -> None:
        self.samples += 1
        self.total = max(self.total, sample.total)
        self.kernel = max(self.kernel, sample.kernel)
        self.kernel_seen = self.kernel_seen or sample.kernels > 0


def snapshot(root) -> list[ProcInfo]:
    """``root`` (a :class:`psutil.Process`) and all its descendants, as :class:`ProcInfo`.
    Processes that exit while being read are skipped."""
    import psutil

    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    found = []
    for proc in members:
        try:
            with proc.oneshot():
                found.append(ProcInfo(proc.pid, proc.ppid(), proc.memory_info().rss,
                                      tuple(proc.cmdline())))
        except psutil.Error:  # gone, zombie or not ours
            continue
    return found


@dataclass
class Measured:
    """What :func:`run_measured` saw: exit code, seconds, peaks in bytes."""

    returncode: int
    wall_s: float
    peaks: Peaks
    rusage_maxrss: int | None  # largest single process (ru_maxrss of the child, in bytes)


def run_measured(command: Sequence[str], *, log_path: Path, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, interval: float = SAMPLE_INTERVAL_S,
                 kernel_match: Callable[[Sequence[str]], bool] = is_kernel) -> Measured:
    """Run ``command`` with stdout+stderr into ``log_path``, sampling its process tree's RSS every
    ``interval`` seconds until it exits (POSIX only: uses ``os.wait4`` for the child's rusage)."""
    import psutil

    log_path.parent.mkdir(parents=True, exist_ok=True)
    peaks = Peaks()
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT,
                                 cwd=cwd, env=None if env is None else dict(env))
        root = psutil.Process(child.pid)
        try:
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                peaks.update(tree_rss(snapshot(root), kernel_match))
                time.sleep(interval)
        except BaseException:  # Ctrl-C: do not leave a kernel behind
            for proc in reversed([root, *root.children(recursive=True)]):
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            child.wait()
            raise
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux and covers the child and every descendant it waited for.
    scale = 1 if sys.platform == "darwin" else 1024
    return Measured(child.returncode, wall, peaks, usage.ru_maxrss * scale if usage else None)


# --------------------------------------------------------------------------------------------------
# Running notebooks
# --------------------------------------------------------------------------------------------------


def nbconvert_command(notebook: Path, out_dir: Path, timeout: int) -> list[str]:
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


def fresh_ledger(stem: str, results: Path, since: float) -> dict | None:
    """``results/<stem>.json`` if this run wrote it (modified at or after ``since``, epoch seconds),
    else None: a ledger left over from an earlier run is never reported as this run's."""
    path = results / f"{stem}.json"
    try:
        if path.stat().st_mtime < since - 1.0:  # 1 s of slack for coarse file-system clocks
            return None
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) and isinstance(content.get("models"), dict) else None


def run_notebook(notebook: Path, out_dir: Path, *, results: Path, timeout: int = 900,
                 log_dir: Path | None = None) -> dict:
    """Execute one notebook, measured. Returns the JSON-ready record used by the bench page."""
    log_dir = log_dir or out_dir
    log_path = log_dir / f"{notebook.stem}.log"
    executed = out_dir / notebook.name
    executed.unlink(missing_ok=True)
    since = time.time()
    measured = run_measured(nbconvert_command(notebook, out_dir, timeout), log_path=log_path)
    ok = measured.returncode == 0 and executed.is_file()
    record = {
        "notebook": notebook.stem,
        "path": _display_path(notebook),
        "ok": ok,
        "returncode": measured.returncode,
        "wall_s": round(measured.wall_s, 2),
        "cells_s": None if not ok else _round(cells_seconds(executed), 2),
        "peak_kernel_mib": round(measured.peaks.kernel / MIB, 1) if measured.peaks.kernel_seen else None,
        "peak_tree_mib": round(measured.peaks.total / MIB, 1),
        "rusage_max_mib": None if measured.rusage_maxrss is None else round(measured.rusage_maxrss / MIB, 1),
        "samples": measured.peaks.samples,
        "log": _display_path(log_path),
        "executed": _display_path(executed) if ok else None,
        "error": None if ok else failure_excerpt(log_path.read_text(errors="replace")),
        "ledger": fresh_ledger(notebook.stem, results, since),
    }
    return record


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------------
# Budget verdict and Markdown
# --------------------------------------------------------------------------------------------------


def budget_verdict(record: Mapping) -> str:
    """``within budget``, ``OVER BUDGET: ...`` or ``failed``. Memory is judged on the peak RSS of
    the whole tree (kernel + runner): the stricter of the two numbers."""
    if not record["ok"]:
        return "failed (not judged)"
    problems = []
    if record["wall_s"] > BUDGET_SECONDS:
        problems.append(f"{record['wall_s']:.0f} s > {BUDGET_SECONDS:.0f} s")
    if record["peak_tree_mib"] > BUDGET_MIB:
        problems.append(f"{record['peak_tree_mib']:.0f} MiB > {BUDGET_MIB:.0f} MiB")
    return "OVER BUDGET: " + ", ".join(problems) if problems else "within budget"


def _fmt(value: float | None, spec: str = ".1f", missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


def _provenances(ledger: Mapping | None) -> list[str]:
    if not ledger:
        return []
    return sorted({entry.get("provenance", "?") for entry in ledger["models"].values()})


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def ledger_table(ledger: Mapping, digits: int = 3) -> str:
    """One notebook's ledger as Markdown: a row per model, metrics as mean ± std (n seeds)."""
    lines = ["| model | dataset (provenance) | split (times scored) | metrics: mean ± std (n) | train s | params |",
             "|---|---|---|---|---:|---:|"]
    for model, entry in ledger["models"].items():
        metrics = "; ".join(
            f"{name} {value['mean']:.{digits}f} ± {value.get('std', 0.0):.{digits}f} (n={value.get('n', 1)})"
            for name, value in entry.get("metrics", {}).items())
        seconds = _fmt(entry.get("seconds"), ".1f", "")
        params = "" if entry.get("params") is None else f"{int(entry['params']):,}"
        lines.append(f"| {_cell(model)} | {_cell(entry.get('dataset', '?'))} "
                     f"({_cell(entry.get('provenance', '?'))}) | {_cell(entry.get('split', ''))} "
                     f"({entry.get('test_evaluations', '?')}×) | "
                     f"{_cell(metrics)} | {seconds} | {params} |")
    return "\n".join(lines)


def render_bench_markdown(report: Mapping) -> str:
    """docs/benchmarks.md from a bench report (the content of docs/benchmarks.json)."""
    produced, machine, records = report["produced"], report["machine"], report["notebooks"]
    dirty = " with uncommitted changes" if produced["dirty"] else ""
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (tools/run_notebooks.py). Do not edit: rerun `make bench`. -->",
        "",
        f"Every number on this page was measured by `make bench` on {produced['date_utc']} UTC at "
        f"commit `{produced['commit']}`{dirty}, with `{produced['command']}`. The same numbers are "
        f"in `{produced.get('bench_json', 'docs/benchmarks.json')}`.",
        "",
        f"The course promises that each notebook runs end to end in at most {BUDGET_SECONDS / 60:g} "
        f"minutes with at most 2 GB ({BUDGET_MIB:.0f} MiB) of RAM on 2 CPU cores at "
        "`COURSE_BUDGET=1`.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {_cell(key)} | {_cell(value)} |" for key, value in machine.items()]
    lines += [
        "",
        "## Notebooks",
        "",
        f"| notebook | result | wall time (s) | cells (s) | peak kernel RSS (MiB) | peak tree RSS (MiB) "
        f"| largest process, rusage (MiB) | data provenance | budget (≤ {BUDGET_SECONDS:.0f} s, "
        f"≤ {BUDGET_MIB:.0f} MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for record in records:
        lines.append(
            f"| {record['notebook']} | {'pass' if record['ok'] else '**FAIL**'} | "
            f"{record['wall_s']:.1f} | {_fmt(record['cells_s'])} | {_fmt(record['peak_kernel_mib'])} | "
            f"{record['peak_tree_mib']:.1f} | {_fmt(record['rusage_max_mib'])} | "
            f"{', '.join(_provenances(record['ledger'])) or '—'} | {budget_verdict(record)} |")
    lines += [
        "",
        "How these are measured: *wall time* covers the whole headless run (`jupyter nbconvert "
        "--execute`, kernel start-up included); *cells* is first cell start to last cell reply. "
        f"RSS is sampled every {SAMPLE_INTERVAL_S:g} s with psutil over the process tree: *kernel* is "
        "the notebook's Python kernel and its children, *tree* adds the nbconvert runner; the budget "
        "verdict uses the tree. Summed RSS counts shared pages more than once, so both are upper "
        "bounds; a peak shorter than the sampling interval can be missed, which the *rusage* column "
        "(the largest single process's maximum RSS, reported by the kernel when it exits) guards "
        "against.",
        "",
        "## Results per notebook",
        "",
        "Read from each notebook's ledger, `results/<notebook>.json`, written during this run.",
    ]
    for record in records:
        lines += ["", f"### {record['notebook']}", ""]
        if not record["ok"]:
            lines += [f"**Failed** (exit status {record['returncode']}); end of `{record['log']}`:", "",
                      "```text", record["error"] or "(empty log)", "```"]
            if record["ledger"]:
                lines += ["", "Results it recorded before failing:", "", ledger_table(record["ledger"])]
        elif record["ledger"] and record["ledger"]["models"]:
            lines.append(ledger_table(record["ledger"]))
            verdicts = record["ledger"].get("verdicts", [])
            if verdicts:
                lines += ["", "Verdicts (computed in the run):", ""]
                lines += [f"- {_cell(v['sentence'])}" for v in verdicts]
        else:
            lines.append("_No results ledger written by this notebook._")
    return "\n".join(lines) + "\n"


PLACEHOLDER = "not yet measured"


def render_notebook_table(table: Sequence[NotebookMeta], bench: Mapping | None = None,
                          root: Path = ROOT) -> str:
    """The README's notebook table. Runtime and peak RAM come from ``bench`` (a bench report);
    a notebook whose file is missing is listed as coming, one the bench did not run as not yet
    measured."""
    measured = {r["notebook"]: r for r in (bench or {}).get("notebooks", [])}
    lines = ["| # | notebook | domain | architecture | dataset | classical baseline | runtime | "
             "peak RAM | open |",
             "|---|---|---|---|---|---|---:|---:|---|"]
    for meta in table:
        number = meta.stem.split("_", 1)[0]
        if not (root / meta.path).is_file():
            lines.append(f"| {number} | {meta.title} _(coming)_ | {meta.domain} | {meta.architecture} "
                         f"| {meta.dataset} | {meta.baseline or '—'} | coming | coming | — |")
            continue
        record = measured.get(meta.stem)
        if record is None:
            runtime = ram = PLACEHOLDER
        elif not record["ok"]:
            runtime = ram = "failed in last bench"
        else:
            runtime = f"{record['wall_s']:.0f} s"
            ram = f"{record['peak_tree_mib']:.0f} MiB"
        badges = (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                  f"({colab_url(meta.path)}) "
                  f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(meta.path)})")
        lines.append(f"| {number} | [{meta.title}]({meta.path}) | {meta.domain} | {meta.architecture} "
                     f"| {meta.dataset} | {meta.baseline or '—'} | {runtime} | {ram} | {badges} |")
    lines.append("")
    if bench:
        produced, machine = bench["produced"], bench["machine"]
        lines.append(
            f"_Runtime (wall time of a headless run) and peak RAM (peak RSS of the notebook's process "
            f"tree) measured by `make bench` on {produced['date_utc'][:10]} at commit "
            f"`{produced['commit']}` on {machine.get('CPU', 'unknown CPU')}, "
            f"{machine.get('cores', '?')} cores; details in [docs/benchmarks.md](docs/benchmarks.md)._")
    else:
        lines.append("_Runtime and peak RAM are filled in by `make bench` (see "
                     "[docs/benchmarks.md](docs/benchmarks.md))._")
    return "\n".join(lines)


def render_data_licences(table: Sequence[NotebookMeta] = NOTEBOOKS) -> str:
    """The README's data table, from the dataset registry: source, licence, citation, stand-in."""
    from course_lib.data import REGISTRY

    used_in: dict[str, list[str]] = {}
    for meta in table:
        for name in meta.datasets:
            used_in.setdefault(name, []).append(meta.stem.split("_", 1)[0])
    lines = ["| dataset (`load_dataset` name) | used in | source | licence | cite | if unreachable |",
             "|---|---|---|---|---|---|"]
    for name in sorted(REGISTRY):
        info = REGISTRY[name]
        if info.files:
            urls = list(dict.fromkeys(f.url for f in info.files))
            source = "download: " + ", ".join(f"<{url}>" for url in urls) + " (checksum verified)"
        else:
            source = f"bundled in {info.bundled_source}"
        fallback = (f"{info.fallback.provenance}: {info.fallback.description}" if info.fallback
                    else "— (always available)" if info.bundled else "clear error")
        lines.append(f"| [{_cell(info.title)}]({info.homepage}) (`{name}`) | "
                     f"{', '.join(used_in.get(name, [])) or '—'} | {_cell(source)} | {_cell(info.licence)} | "
                     f"{_cell(info.citation)} | {_cell(fallback)} |")
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    """Replace what lies between ``<!-- {name}:start -->`` and ``<!-- {name}:end -->`` with
    ``body``, keeping the markers. Raises ValueError unless each marker occurs exactly once, in
    order."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    counts = text.count(start), text.count(end)
    if counts != (1, 1):
        raise ValueError(f"expected the markers {start} and {end} exactly once each, "
                         f"found them {counts[0]} and {counts[1]} times")
    if text.index(end) < text.index(start):
        raise ValueError(f"{end} comes before {start}")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def read_block(text: str, name: str) -> str:
    """The content between a block's markers, stripped (ValueError if the markers are missing)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def update_readme(readme: Path, table: Sequence[NotebookMeta], bench: Mapping | None) -> bool:
    """Rewrite the README's generated blocks (notebook paths are relative to the README's folder);
    True when the file changed."""
    text = readme.read_text()
    new = replace_block(text, "notebooks-table", render_notebook_table(table, bench, readme.parent))
    new = replace_block(new, "data-licences", render_data_licences(table))
    if new != text:
        readme.write_text(new)
    return new != text


# --------------------------------------------------------------------------------------------------
# Machine and provenance of a bench run
# --------------------------------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), *args],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> dict:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    status = _git("status", "--porcelain")
    return {"commit": commit, "dirty": bool(status) if status is not None else True}


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def cpu_model(cpuinfo: str | None = None) -> str:
    text = cpuinfo if cpuinfo is not None else _read("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, flags=re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine() or "unknown"


def machine_report(results: Path, records: Sequence[Mapping]) -> dict[str, str]:
    """The facts that matter to reproduce the timings, as label -> text."""
    import psutil

    from course_lib import environment

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = f"{usable}" + (f" usable of {os.cpu_count()}" if usable != os.cpu_count() else "")
    quota = (_read("/sys/fs/cgroup/cpu.max") or "").split()
    if len(quota) == 2 and quota[0] != "max":
        cores += f" (cgroup quota {int(quota[0]) / int(quota[1]):g} CPUs)"
    ram = f"{psutil.virtual_memory().total / 1024**3:.1f} GiB"
    limit = (_read("/sys/fs/cgroup/memory.max") or "").strip()
    if limit.isdigit():
        ram += f" (cgroup limit {int(limit) / 1024**3:.1f} GiB)"
    os_release = re.search(r'^PRETTY_NAME="?([^"\n]+)', _read("/etc/os-release") or "", re.MULTILINE)
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__); "
                            "print(torch.get_num_threads())"], capture_output=True, text=True)
    torch_info = (", ".join([probe.stdout.split()[0], f"{probe.stdout.split()[1]} threads"])
                  if probe.returncode == 0 else "not importable")
    mirrors = environment.mirror_dirs()
    mirror_users = [r["notebook"] for r in records if "mirror" in _provenances(r["ledger"])]
    if mirrors:
        mirror = f"{os.pathsep.join(map(str, mirrors))}; read by: {', '.join(mirror_users) or 'none'}"
    else:
        mirror = "not set (COURSE_DATA_MIRROR)"
    return {
        "CPU": cpu_model(),
        "cores": cores,
        "RAM": ram,
        "OS": platform.platform() + (f" ({os_release.group(1)})" if os_release else ""),
        "Python": platform.python_version(),
        "torch": torch_info,
        "COURSE_BUDGET": f"{environment.budget():g}",
        "data mirror": mirror,
        "offline (COURSE_OFFLINE)": str(environment.offline()),
        "results ledgers": _display_path(results),
    }


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute, in order")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "executed",
                        help="folder for the executed copies and logs (default: build/executed)")
    parser.add_argument("--bench", type=Path, metavar="FILE",
                        help="also write this benchmark page, docs/benchmarks.json and the README tables")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    parser.add_argument("--readme", type=Path, default=DEFAULT_README, help=argparse.SUPPRESS)
    parser.add_argument("--bench-json", type=Path, default=DEFAULT_BENCH_JSON, help=argparse.SUPPRESS)
    parser.add_argument("--scoreboard", type=Path, default=DEFAULT_SCOREBOARD, help=argparse.SUPPRESS)
    parser.add_argument("--update-readme", action="store_true",
                        help="only refresh the README's generated tables (measurements from "
                             "docs/benchmarks.json if it exists) and exit")
    return parser


def main(argv: Sequence[str] | None = None, table: Sequence[NotebookMeta] = NOTEBOOKS) -> int:
    args = _parser().parse_args(argv)
    if args.update_readme:
        bench = json.loads(args.bench_json.read_text()) if args.bench_json.is_file() else None
        changed = update_readme(args.readme, table, bench)
        print(f"{_display_path(args.readme)}: {'updated' if changed else 'already current'}")
        return 0
    if not args.notebooks:
        print("run_notebooks: no notebooks given (is notebooks/ empty?)", file=sys.stderr)
        return 2
    bad = [str(p) for p in args.notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        print(f"run_notebooks: not a notebook file: {', '.join(bad)}", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("run_notebooks: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    unlisted = [p.stem for p in args.notebooks if notebook_meta(p.stem, table) is None]
    if args.bench and unlisted:
        print(f"run_notebooks: {', '.join(unlisted)} not in NOTEBOOKS (course_lib/catalogue.py); "
              "add a row there so the README can list it", file=sys.stderr)
        return 2

    from course_lib import environment
    from course_lib.results import scoreboard_markdown

    results = environment.results_dir()
    started = datetime.now(timezone.utc)
    git = git_state() if args.bench else None  # before this run writes README / docs
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    records = []
    for index, notebook in enumerate(args.notebooks, start=1):
        print(f"[{index}/{len(args.notebooks)}] {notebook} ...", flush=True)
        record = run_notebook(notebook.resolve(), out_dir, results=results, timeout=args.timeout)
        records.append(record)
        status = "ok" if record["ok"] else f"FAILED (exit {record['returncode']}, log {record['log']})"
        print(f"      {status}: {record['wall_s']:.1f} s, peak RSS kernel "
              f"{_fmt(record['peak_kernel_mib'], '.0f')} MiB, tree {record['peak_tree_mib']:.0f} MiB",
              flush=True)

    board = scoreboard_markdown(results)
    args.scoreboard.parent.mkdir(parents=True, exist_ok=True)
    args.scoreboard.write_text(f"# Scoreboard\n\nFrom the ledgers in `{_display_path(results)}`.\n\n{board}")
    print(f"\nScoreboard (ledgers in {_display_path(results)}; also in {_display_path(args.scoreboard)}):\n")
    print(board)

    over = []
    if args.bench:
        report = {
            "produced": {"date_utc": started.strftime("%Y-%m-%d %H:%M"), **git,
                         "bench_json": _display_path(args.bench_json),
                         "command": "python tools/run_notebooks.py "
                                    + shlex.join(argv if argv is not None else sys.argv[1:])},
            "machine": machine_report(results, records),
            "budget": {"seconds": BUDGET_SECONDS, "mib": BUDGET_MIB},
            "notebooks": records,
        }
        args.bench_json.parent.mkdir(parents=True, exist_ok=True)
        args.bench_json.write_text(json.dumps(report, indent=2) + "\n")
        args.bench.parent.mkdir(parents=True, exist_ok=True)
        args.bench.write_text(render_bench_markdown(report))
        update_readme(args.readme, table, report)
        print(f"wrote {_display_path(args.bench)}, {_display_path(args.bench_json)} and the tables "
              f"in {_display_path(args.readme)}")
        over = [r for r in records if r["ok"] and budget_verdict(r) != "within budget"]
        for record in over:
            print(f"{record['notebook']}: {budget_verdict(record)}", file=sys.stderr)

    failed = [r for r in records if not r["ok"]]
    if failed:
        print(f"\n{len(failed)} of {len(records)} notebook(s) FAILED:", file=sys.stderr)
        for record in failed:
            print(f"\n--- {record['path']} (exit {record['returncode']}; full log {record['log']}) ---\n"
                  f"{record['error']}", file=sys.stderr)
    else:
        print(f"all {len(records)} notebook(s) ran; executed copies in {_display_path(out_dir)}")
    return 1 if failed or over else 0


if __name__ == "__main__":
    sys.exit(main())
