"""Run :mod:`course_lib.efficiency.ddp_train` from Python: several processes or one, and compare.

- :func:`write_training_data` saves images and labels as the ``.npz`` file the script reads;
- :func:`run_ddp` starts ``nproc`` processes with torchrun (``python -m torch.distributed.run
  --standalone``, which picks a free port, so several runs can go on at once) and
  :func:`run_single` runs the same script in one process on the whole global batches; both wait,
  then read the results back as a :class:`DDPResult`;
- :func:`max_parameter_difference` is the largest absolute difference between two results'
  parameters: the check that data-parallel training computes what one process computes;
- :func:`launch_command` writes the torchrun line for one machine, several machines or GPUs.

Times are wall-clock seconds of the training loop alone (process start-up, imports and the
rendezvous are not counted); they vary from run to run and between machines.

How equal is "equal"? The two runs differ only in the order in which per-sample gradients are added
(each process averages its half, the all-reduce averages the halves), so each step's gradients differ
by a few units of rounding; training then carries those differences on, and can amplify them. Measured
with torch 2.13 on a CPU (gloo, 2 processes, 40 SGD steps of 64 PneumoniaMNIST X-rays, lr 0.005,
``batchnorm="frozen"``): largest parameter difference 2e-15 in float64 but 3e-2 in float32, where the
rounding (2^-24 ≈ 6e-8 relative) grew step by step; one process that averages the two halves'
gradients by hand drifts away from the whole-batch run by exactly as much, so that is rounding, not
DDP. Prove the equality in float64 (tolerance 1e-6); in float32 it holds to 1e-6 only for short runs
(the tests: 8 steps). With ``batchnorm="per-rank"`` (statistics of each half-batch) the parameters
differ even in float64: not rounding but a different computation.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from course_lib.arrays import as_count
from course_lib.generative.images import as_class_labels, as_unit_images
from course_lib.efficiency.ddp_train import BATCHNORM_MODES

_REPO_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds course_lib/

#: The training script, started as a file (``torchrun ... course_lib/efficiency/ddp_train.py``), not with
#: ``-m``: ``-m course_lib.efficiency.ddp_train`` would first run ``course_lib/efficiency/__init__.py``
#: (ONNX, ONNX Runtime, matplotlib, torch-pruning, ...) in every worker process.
SCRIPT = _REPO_ROOT / "course_lib" / "efficiency" / "ddp_train.py"
#: The same, relative to the repository root, as it appears in the launch lines.
SCRIPT_PATH = "course_lib/efficiency/ddp_train.py"
_BACKENDS = ("gloo", "nccl")


@dataclass
class DDPResult:
    """What one training run left behind.

    Attributes:
        parameters: the final ``state_dict`` as NumPy arrays, name -> array (parameters and the
            batch-norm buffers ``running_mean``, ``running_var``, ``num_batches_tracked``).
        wall_seconds: seconds of the training loop (process 0's clock, between two barriers).
        world_size: number of processes.
        steps: optimiser steps taken.
        threads_per_process: ``torch.set_num_threads`` in each process.
        losses: mean loss of each global batch, ``(steps,)``.
        settings: everything else the script wrote to ``timing.json`` (global_batch, batchnorm, dtype,
            optimizer, lr, seed, backend, device).
        out_dir: the folder with ``parameters.npz`` and ``timing.json``.
    """

    parameters: dict[str, np.ndarray]
    wall_seconds: float
    world_size: int
    steps: int
    threads_per_process: int
    losses: np.ndarray
    settings: dict = field(default_factory=dict)
    out_dir: Path | None = None


def write_training_data(images, labels, path: str | Path) -> Path:
    """Save ``images`` and ``labels`` as the ``.npz`` file that the training script reads; returns the path.

    Args:
        images: ``(N, H, W)`` or ``(N, 1, H, W)``, ``uint8`` (0..255, kept as ``uint8``) or floats in
            [0, 1] (saved as ``float32``).
        labels: ``(N,)`` class labels 0 or 1.
        path: the file to write (``.npz`` is appended by NumPy if missing; the returned path has it).
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    unit = as_unit_images(images, "images", size=None)
    labels = as_class_labels(labels, "labels", length=len(unit)).numpy()
    raw = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    stored = raw.reshape(unit.shape[0], *unit.shape[2:]) if raw.dtype == np.uint8 else unit[:, 0].numpy()
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=stored, labels=labels)
    return path


def _script_args(data_path, out_dir, *, steps, global_batch, seed, lr, optimizer, batchnorm, dtype,
                 threads) -> list[str]:
    """Check the training settings and turn them into the script's command-line arguments."""
    data_path = Path(data_path)
    if not data_path.is_file():
        raise ValueError(f"data_path {str(data_path)!r} is not a file (write one with write_training_data)")
    as_count(steps, "steps")
    as_count(global_batch, "global_batch")
    as_count(seed, "seed", minimum=0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if batchnorm not in BATCHNORM_MODES:
        raise ValueError(f"batchnorm must be one of {BATCHNORM_MODES}, got {batchnorm!r}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    args = ["--data", str(data_path.resolve()), "--out", str(Path(out_dir).resolve()), "--steps", str(steps),
            "--global-batch", str(global_batch), "--seed", str(seed), "--lr", repr(float(lr)),
            "--optimizer", optimizer, "--batchnorm", batchnorm, "--dtype", dtype]
    if threads is not None:
        args += ["--threads", str(as_count(threads, "threads"))]
    return args


def _run(command: list[str], out_dir: Path, timeout: float, threads: int | None) -> DDPResult:
    """Run ``command`` with ``course_lib`` importable, wait at most ``timeout`` s, read the results."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("OMP_NUM_THREADS", str(threads or 1))  # torchrun would set 1 and print a warning
    # a new session, so that on a timeout torchrun *and* its worker processes can be stopped together
    process = subprocess.Popen(command, cwd=_REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise RuntimeError(f"training did not finish within {timeout} s: {shlex.join(command)}\n"
                           f"--- end of its error output ---\n{stderr[-3000:]}") from None
    if process.returncode != 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "stderr.log").write_text(stderr)
        raise RuntimeError(f"training failed (exit status {process.returncode}): {shlex.join(command)}\n"
                           f"{_worker_errors(stderr)}--- end of its error output (all of it in "
                           f"{out_dir / 'stderr.log'}) ---\n{stderr[-3000:]}")
    return read_result(out_dir)


def _worker_errors(stderr: str) -> str:
    """The exception lines of the worker processes (torchrun prints its own summary after them)."""
    found = re.findall(r"^(?:\[rank\d+\]: )?((?:\w+\.)*\w*(?:Error|Exception)\b.*)$", stderr, flags=re.M)
    unique = [line for i, line in enumerate(found) if line not in found[:i] and "ChildFailedError" not in line]
    return "".join(f"worker error: {line}\n" for line in unique[-5:])


def read_result(out_dir: str | Path) -> DDPResult:
    """The :class:`DDPResult` in a folder written by the training script."""
    out_dir = Path(out_dir)
    if not (out_dir / "parameters.npz").is_file() or not (out_dir / "timing.json").is_file():
        raise ValueError(f"{out_dir} does not hold parameters.npz and timing.json from the training script")
    with np.load(out_dir / "parameters.npz") as stored:
        parameters = {name: stored[name] for name in stored.files}
    timing = json.loads((out_dir / "timing.json").read_text())
    settings = {k: v for k, v in timing.items()
                if k not in ("wall_seconds", "world_size", "steps", "threads_per_process", "losses")}
    return DDPResult(parameters=parameters, wall_seconds=float(timing["wall_seconds"]),
                     world_size=int(timing["world_size"]), steps=int(timing["steps"]),
                     threads_per_process=int(timing["threads_per_process"]),
                     losses=np.asarray(timing["losses"], dtype=np.float64), settings=settings, out_dir=out_dir)


def _out_dir(out_dir, prefix: str) -> Path:
    if out_dir is None:
        return Path(tempfile.mkdtemp(prefix=prefix))
    if not isinstance(out_dir, (str, Path)):
        raise TypeError(f"out_dir must be a str, Path or None, got {type(out_dir).__name__}")
    return Path(out_dir)


def run_ddp(data_path: str | Path, *, nproc: int = 2, steps: int = 40, global_batch: int = 64, seed: int = 0,
            lr: float = 0.005, optimizer: str = "sgd", batchnorm: str = "frozen", dtype: str = "float32",
            threads: int | None = None, out_dir: str | Path | None = None, timeout: float = 300.0) -> DDPResult:
    """Train with ``nproc`` processes on one machine (torchrun, backend gloo) and return the result.

    Runs ``python -m torch.distributed.run --standalone --nproc_per_node=NPROC course_lib/efficiency/ddp_train.py``
    (the script as a file, so that each worker imports only NumPy, torch and the CNN's file).

    Each process takes ``global_batch // nproc`` consecutive samples of every global batch;
    ``threads`` per process defaults to ``cores // nproc`` (at least 1). ``out_dir`` (default: a new
    temporary folder) receives ``parameters.npz`` and ``timing.json``. Raises RuntimeError with the
    end of the processes' error output if training fails or takes longer than ``timeout`` seconds.
    See :mod:`course_lib.efficiency.ddp_train` for ``batchnorm``, ``optimizer`` and ``dtype``.
    """
    nproc = as_count(nproc, "nproc")
    if isinstance(global_batch, (int, np.integer)) and not isinstance(global_batch, bool) and global_batch % nproc:
        raise ValueError(f"global_batch ({global_batch}) must be divisible by nproc ({nproc})")
    out = _out_dir(out_dir, "ddp_")
    args = _script_args(data_path, out, steps=steps, global_batch=global_batch, seed=seed, lr=lr,
                        optimizer=optimizer, batchnorm=batchnorm, dtype=dtype, threads=threads)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
               str(SCRIPT)] + args
    return _run(command, out, timeout, threads)


def run_single(data_path: str | Path, *, steps: int = 40, global_batch: int = 64, seed: int = 0, lr: float = 0.005,
               optimizer: str = "sgd", batchnorm: str = "frozen", dtype: str = "float32", threads: int | None = None,
               out_dir: str | Path | None = None, timeout: float = 300.0) -> DDPResult:
    """The reference: the same script in one process (``python course_lib/efficiency/ddp_train.py --single``)
    on the whole global batches.

    Arguments as in :func:`run_ddp`; ``threads`` defaults to all cores.
    """
    out = _out_dir(out_dir, "single_")
    args = _script_args(data_path, out, steps=steps, global_batch=global_batch, seed=seed, lr=lr,
                        optimizer=optimizer, batchnorm=batchnorm, dtype=dtype, threads=threads)
    return _run([sys.executable, str(SCRIPT), "--single"] + args, out, timeout, threads)


def _parameter_dict(value, name: str) -> dict[str, np.ndarray]:
    if isinstance(value, DDPResult):
        value = value.parameters
    if not isinstance(value, dict) or not value:
        raise TypeError(f"{name} must be a DDPResult or a non-empty dict of name -> array, got {type(value).__name__}")
    return {key: np.asarray(array) for key, array in value.items()}


def max_parameter_difference(a, b, *, include_buffers: bool = True) -> float:
    """The largest ``|a[name] - b[name]|`` over all entries (compared in float64).

    ``a`` and ``b`` are :class:`DDPResult` objects or dicts name -> array with the same names and
    shapes. ``include_buffers=False`` skips the batch-norm buffers (``running_mean``, ``running_var``,
    ``num_batches_tracked``) and compares the trained parameters only.
    """
    first, second = _parameter_dict(a, "a"), _parameter_dict(b, "b")
    if set(first) != set(second):
        raise ValueError(f"a and b hold different names: only in a {sorted(set(first) - set(second))}, "
                         f"only in b {sorted(set(second) - set(first))}")
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    largest = 0.0
    for name in sorted(first):
        if not include_buffers and name.rsplit(".", 1)[-1] in buffers:
            continue
        x, y = first[name], second[name]
        if x.shape != y.shape:
            raise ValueError(f"{name!r} has shape {x.shape} in a but {y.shape} in b")
        if x.size:
            largest = max(largest, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
    return largest


def launch_command(*, nnodes: int = 1, nproc_per_node: int = 2, rdzv_endpoint: str | None = None,
                   backend: str = "gloo", rdzv_id: str = "course08", script: str = SCRIPT_PATH,
                   script_args: str | Sequence[str] = ("--data", "train.npz", "--out", "runs/ddp")) -> str:
    """The torchrun command line that starts data-parallel training.

    - one machine (``nnodes=1`` and no ``rdzv_endpoint``): ``torchrun --standalone --nproc_per_node=2 ...``;
    - several machines: run the returned line on each of them; ``rdzv_endpoint="host:port"`` is a
      machine all of them can reach (required when ``nnodes > 1``), ``rdzv_id`` names the job;
    - GPUs: ``backend="nccl"`` adds ``--device cuda`` to the script's arguments; ``nproc_per_node`` is
      then the number of GPUs per machine.

    ``script`` is a path ending in ``.py`` (default: the course's script, relative to the repository
    root, where the line is meant to run) or a module name (then started with ``-m``, which also runs
    its packages' ``__init__`` in every process); ``script_args`` is appended (a string as it is, a
    sequence quoted for the shell).
    """
    nnodes = as_count(nnodes, "nnodes")
    nproc_per_node = as_count(nproc_per_node, "nproc_per_node")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    if not isinstance(script, str) or not script.strip():
        raise TypeError(f"script must be a module name or a path to a .py file, got {script!r}")
    if not isinstance(rdzv_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", rdzv_id):
        raise ValueError(f"rdzv_id must be a non-empty name of letters, digits, '_', '.', '-', got {rdzv_id!r}")
    if isinstance(script_args, str):
        extra = script_args.strip()
    elif isinstance(script_args, Sequence) and all(isinstance(a, str) for a in script_args):
        extra = shlex.join(script_args)
    else:
        raise TypeError("script_args must be a string or a sequence of strings")
    parts = ["torchrun"]
    if rdzv_endpoint is None:
        if nnodes > 1:
            raise ValueError(f"rdzv_endpoint ('host:port' of one of the machines) is needed for nnodes={nnodes}")
        parts += ["--standalone", f"--nproc_per_node={nproc_per_node}"]
    else:
        if not isinstance(rdzv_endpoint, str):
            raise TypeError(f"rdzv_endpoint must be a 'host:port' string, got {type(rdzv_endpoint).__name__}")
        match = re.fullmatch(r"([A-Za-z0-9_.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})", rdzv_endpoint)
        if match is None or not 1 <= int(match.group(2)) <= 65535:
            raise ValueError(f"rdzv_endpoint must look like 'host:port' with a port in 1..65535, got {rdzv_endpoint!r}")
        parts += [f"--nnodes={nnodes}", f"--nproc_per_node={nproc_per_node}", "--rdzv-backend=c10d",
                  f"--rdzv-endpoint={rdzv_endpoint}", f"--rdzv-id={rdzv_id}"]
    parts += [shlex.quote(script)] if script.endswith(".py") else ["-m", shlex.quote(script)]
    if backend == "nccl":
        parts += ["--device", "cuda"]
    if extra:
        parts.append(extra)
    return " ".join(parts)
