"""Peak memory of a process tree: run a command and sample the resident memory (RSS) of it and
every process it starts, with psutil, every :data:`SAMPLE_INTERVAL_S` seconds until it exits.

Used by ``tools/execute.py`` to measure a notebook's ``jupyter nbconvert --execute`` run: the
*kernel* numbers cover the notebook's Python kernel and its children (e.g. DataLoader workers), the
*total* numbers add the runner. All sizes are in bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

SAMPLE_INTERVAL_S = 0.1


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
