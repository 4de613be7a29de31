"""The sandbox one submission runs in: bubblewrap namespaces plus resource limits.

What the student's code can see and do inside (everything else of the machine is not there):

- read-only: the operating system's ``/usr``, the Python installation and the course's virtual
  environment, ``course_lib``, ``worker.py`` + ``channel.py`` (at ``/opt/grader``) and its own
  notebook with the *public* tests (at ``/submission``). No dataset files: the mirror holds the
  held-out splits the hidden tests score on, so the notebook's own data cells get the stand-ins and
  the tests send the data they need;
- read-write: a size-capped, memory-backed ``/home/student`` (its working folder) and ``/tmp``,
  thrown away when it ends;
- no network (its own empty network namespace), its own process-id namespace (it cannot see or signal
  the grader's processes, and every process it starts dies with it), no new user namespaces, no
  capabilities, a new terminal session, an environment holding only the variables listed in
  :func:`sandbox_environment` (none of the grader's);
- limits (``setrlimit``, inherited by all its processes): address space, CPU seconds, processes, size
  of any file it writes, open files, no core dumps. The kernel does not count processes against
  ``RLIMIT_NPROC`` for root, so when the grader runs as root the process limit is a ``pids`` cgroup
  (cgroup v1 ``/sys/fs/cgroup/pids`` or a writable cgroup v2 with the ``pids`` controller); without
  one, grading as root has no process limit and the log says so. Its standard output and error are kept up to
  :attr:`Limits.output_bytes`; the rest is counted and dropped.

Requires Linux and bubblewrap (``apt install bubblewrap``).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from channel import MAX_REPLY_BYTES, PipeTransport

TOOLS = Path(__file__).resolve().parent
SANDBOX_HOME = "/home/student"
SANDBOX_GRADER = "/opt/grader"
SANDBOX_SUBMISSION = "/submission"
#: environment variables copied from the grader into the sandbox (data, not secrets)
PASSED_THROUGH = ("COURSE_BUDGET", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (all its processes together share the scratch space; the
    rlimits apply per process, the process count per sandbox user)."""

    memory_bytes: int = 3 * 2**30       # address space of each process (RLIMIT_AS)
    cpu_seconds: int = 600              # CPU time of each process (RLIMIT_CPU)
    processes: int = 64                 # processes and threads at once (RLIMIT_NPROC)
    file_bytes: int = 64 * 2**20        # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 512               # RLIMIT_NOFILE
    scratch_bytes: int = 512 * 2**20    # size of /home/student and of /tmp (tmpfs)
    output_bytes: int = 2**20           # standard output + error kept in the log

    def __post_init__(self):
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


def bubblewrap() -> str:
    """The ``bwrap`` executable, or :class:`SandboxUnavailable` saying how to get it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable("grading runs each submission in a bubblewrap sandbox and `bwrap` is not "
                                 "installed: `sudo apt install bubblewrap` (Linux only)")
    return path


def _python_paths() -> list[Path]:
    """The folders the worker's Python needs: the installation, the venv and course_lib."""
    import course_lib

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(course_lib.__file__).resolve().parent}
    return sorted(p for p in paths if not str(p).startswith("/usr/"))


def sandbox_environment() -> dict[str, str]:
    """The whole environment of the sandboxed process."""
    env = {
        "HOME": SANDBOX_HOME, "USER": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
        "PATH": f"{Path(sys.prefix).resolve() / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": SANDBOX_GRADER,
        "COURSE_OFFLINE": "1", "COURSE_DATA_DIR": f"{SANDBOX_HOME}/data",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    for name in PASSED_THROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def bwrap_command(staging: Path, notebook_name: str, read_fd: int, write_fd: int, limits: Limits) -> list[str]:
    """The bubblewrap command line that runs ``worker.py`` on ``staging/notebook_name``."""
    cmd = [bubblewrap(), "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
           "--new-session", "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534",
           "--hostname", "sandbox", "--clearenv"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / top
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives"):
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # the scratch folders first: bubblewrap mounts in order, and the Python installation or the
    # repository may themselves live under /tmp or /home (a clone in /tmp must not be hidden)
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.scratch_bytes), "--tmpfs", "/tmp",
            "--size", str(limits.scratch_bytes), "--tmpfs", SANDBOX_HOME]
    for path in _python_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--ro-bind", str(TOOLS / "worker.py"), f"{SANDBOX_GRADER}/worker.py",
            "--ro-bind", str(TOOLS / "channel.py"), f"{SANDBOX_GRADER}/channel.py",
            "--ro-bind", str(staging), SANDBOX_SUBMISSION,
            "--remount-ro", "/",  # the folders bwrap made for the mount points are not scratch space
            "--chdir", SANDBOX_HOME]
    for key, value in sandbox_environment().items():
        cmd += ["--setenv", key, value]
    cmd += [str(Path(sys.prefix).resolve() / "bin" / "python"), f"{SANDBOX_GRADER}/worker.py",
            SANDBOX_SUBMISSION, notebook_name, str(read_fd), str(write_fd)]
    return cmd


def pids_cgroup(limit: int) -> Path | None:
    """A fresh ``pids`` cgroup allowing ``limit`` processes, or ``None`` where none can be made."""
    name = f"course-grader-{os.getpid()}-{time.monotonic_ns()}"
    candidates = [Path("/sys/fs/cgroup/pids")]
    unified = Path("/sys/fs/cgroup")
    try:
        if "pids" in (unified / "cgroup.subtree_control").read_text().split():
            candidates.append(unified)
    except OSError:
        pass
    for parent in candidates:
        group = parent / name
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            group.rmdir()
    return None


def _apply_limits(limits: Limits, cgroup_procs: str | None) -> None:
    """Runs in the child between fork and exec: the limits every sandboxed process inherits."""
    if cgroup_procs is not None:
        with open(cgroup_procs, "w") as handle:
            handle.write("0")  # this process, so bwrap and all it starts
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_seconds),
                        (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                        (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, limits.processes)):
        resource.setrlimit(kind, (value, value))


def _remove_cgroup(group: Path) -> None:
    """Kill whatever is left in ``group`` and remove it (a cgroup with processes cannot be removed)."""
    for _ in range(100):
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            group.rmdir()
            return
        except OSError:
            time.sleep(0.05)


class Sandbox:
    """One running sandboxed worker. Use as a context manager; leaving it kills every process the
    submission started and writes the kept output to ``log_path``.

    ``transport`` is the grader's end of the channel (a :class:`channel.PipeTransport`)."""

    def __init__(self, staging: Path, notebook_name: str, log_path: Path, limits: Limits = Limits()):
        self.staging, self.notebook_name, self.log_path = Path(staging), notebook_name, Path(log_path)
        self.limits = limits
        self.cgroup: Path | None = None
        self.process: subprocess.Popen | None = None
        self.transport: PipeTransport | None = None
        self._kept, self._dropped = bytearray(), 0

    def __enter__(self) -> "Sandbox":
        to_worker_r, to_worker_w = os.pipe()
        to_grader_r, to_grader_w = os.pipe()
        cmd = bwrap_command(self.staging, self.notebook_name, to_worker_r, to_grader_w, self.limits)
        self.cgroup = pids_cgroup(self.limits.processes) if os.geteuid() == 0 else None
        procs = None if self.cgroup is None else str(self.cgroup / "cgroup.procs")
        try:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(to_worker_r, to_grader_w), start_new_session=True, env={"PATH": "/usr/bin:/bin"},
                preexec_fn=lambda: _apply_limits(self.limits, procs))
        finally:
            os.close(to_worker_r)
            os.close(to_grader_w)
        self.transport = PipeTransport(to_grader_r, to_worker_w, max_bytes=MAX_REPLY_BYTES)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        stream = self.process.stdout
        while True:
            chunk = stream.read1(1 << 16)
            if not chunk:
                return
            room = self.limits.output_bytes - len(self._kept)
            self._kept += chunk[:max(room, 0)]
            self._dropped += max(len(chunk) - max(room, 0), 0)

    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, 9)  # bwrap; its pid namespace dies with it
            except ProcessLookupError:
                pass
            self.process.wait()
            self._reader.join(timeout=10)
        if self.transport is not None:
            for fd in (self.transport.read_fd, self.transport.write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
        text = bytes(self._kept).decode("utf-8", errors="replace")
        if os.geteuid() == 0 and self.cgroup is None:
            text = "[grader: running as root without a pids cgroup: no process limit]\n" + text
        if self._dropped:
            text += f"\n[... {self._dropped} more bytes of output dropped]\n"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text(text)
