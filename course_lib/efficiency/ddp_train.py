"""Train the compact CNN with several processes (data parallelism) — a script you can copy.

Every process holds a full copy (replica) of the model. At each step the same *global* batch is cut
into equal contiguous parts, process ``r`` takes part ``r``, computes the gradient of its part's mean
loss, and :class:`~torch.nn.parallel.DistributedDataParallel` (DDP) averages the gradients of all
processes (an *all-reduce*) before the optimiser steps. Every replica therefore takes the same step,
the one that one process would take on the whole global batch.

Launch it as a file, from the repository root (torchrun's usual form; the script imports only the
standard library, NumPy, torch and the file ``course_lib/imaging/models.py``, see
:func:`_compact_cnn_class`, which keeps each worker process small).

One machine, 2 processes on the CPU (backend gloo)::

    torchrun --standalone --nproc_per_node=2 course_lib/efficiency/ddp_train.py \\
        --data train.npz --out runs/ddp --steps 40 --global-batch 64

The same training in one process, the reference (no torchrun needed)::

    python course_lib/efficiency/ddp_train.py --single --data train.npz --out runs/single --steps 40

Several machines (here 2, each with 2 processes): run the same line on every machine; ``HOST`` is
the address of one of them that the others can reach, port 29400 open there::

    torchrun --nnodes=2 --nproc_per_node=2 --rdzv-backend=c10d --rdzv-endpoint=HOST:29400 \\
        --rdzv-id=course08 course_lib/efficiency/ddp_train.py --data train.npz --out runs/ddp

GPUs (backend nccl): one process per GPU, ``--device cuda``::

    torchrun --standalone --nproc_per_node=NUMBER_OF_GPUS course_lib/efficiency/ddp_train.py \\
        --device cuda --data train.npz --out runs/gpu

The data file is an ``.npz`` with ``images`` ``(N, H, W)`` (``uint8`` 0..255 or floats in [0, 1]) and
``labels`` ``(N,)`` (0 or 1); :func:`course_lib.efficiency.distributed.write_training_data` writes one.
The sequence of global batches is fixed by ``--seed`` (consecutive slices of shuffled copies of the
data, see :func:`global_batches`), so every launch sees the same batches in the same order.

Outputs (written by process 0 into ``--out``):

- ``parameters.npz``: the final ``state_dict`` (parameters and batch-norm buffers) as NumPy arrays;
- ``timing.json``: ``wall_seconds`` (the training loop only, from a barrier before the first step
  to a barrier after the last), ``steps``, ``world_size``, ``threads_per_process``,
  ``global_batch``, ``batchnorm``, ``dtype``, ``optimizer``, ``backend`` and ``losses`` (the mean
  loss of each global batch, gathered once after the loop).

Batch normalisation (``--batchnorm``): a BN layer in training mode normalises with the statistics
of the batch it sees, and under DDP each process sees only its part, so by default (``per-rank``)
the processes do *not* compute what one process on the global batch computes.

- ``frozen`` (default): the running statistics are first set to those of the training data
  (:func:`set_batchnorm_statistics`, the same in every process), then BN layers normalise with them
  and never update them (BN in evaluation mode; a per-channel scale and shift that are still
  trained). Each sample's loss then depends on that sample alone, and the DDP run equals the
  one-process run up to floating-point rounding.
- ``per-rank``: plain BN in training mode, what DDP does unless told otherwise.
- ``sync``: :class:`torch.nn.SyncBatchNorm`, whose statistics are computed over the whole global
  batch. In torch 2.13 it only runs on GPUs (on the CPU its forward raises "SyncBatchNorm expected
  input tensor to be on GPU ..."); use it with ``--device cuda``.

Dropout draws its random masks separately in each process, so it can never match the one-process
run; ``--dropout`` is 0 unless you set it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__" and sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    # run as a file, Python puts this folder first on the path: its other modules (distributed.py,
    # measure.py, ...) must not shadow top-level modules of the same name
    del sys.path[0]

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

BATCHNORM_MODES = ("frozen", "per-rank", "sync")


def _compact_cnn_class() -> type:
    """``CompactCNN`` from ``course_lib/imaging/models.py``, without running ``course_lib/imaging/__init__.py``.

    Every worker process imports this script. ``import course_lib.imaging.models`` would first run the
    package's ``__init__``, which pulls scikit-learn, scikit-image and matplotlib (about 200 MiB per
    process) into processes that need none of them; ``models.py`` itself imports only torch. So the
    file is loaded on its own (or the module reused where it was imported already, e.g. in a notebook).
    """
    loaded = sys.modules.get("course_lib.imaging.models")
    if loaded is not None:
        return loaded.CompactCNN
    path = Path(__file__).resolve().parents[1] / "imaging" / "models.py"
    spec = importlib.util.spec_from_file_location("_ddp_train_imaging_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CompactCNN


def available_cores() -> int:
    """CPU cores this process may use (respects a CPU affinity mask, e.g. in a container)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def global_batches(n_samples: int, steps: int, global_batch: int, seed: int) -> np.ndarray:
    """The row indices of every global batch, shape ``(steps, global_batch)``.

    The data are shuffled with ``numpy.random.default_rng(seed)``, cut into consecutive batches, and
    shuffled again when they run out (batches never straddle two shuffles). The same arguments give
    the same array in every process, which is what makes all processes agree on the batches.
    """
    if global_batch > n_samples:
        raise ValueError(f"global batch {global_batch} is larger than the data ({n_samples} samples)")
    rng = np.random.default_rng(seed)
    per_shuffle = n_samples // global_batch
    batches = []
    while len(batches) < steps:
        order = rng.permutation(n_samples)
        batches += [order[i * global_batch:(i + 1) * global_batch] for i in range(per_shuffle)]
    return np.stack(batches[:steps])


def _unit_images(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` ``(N, H, W)`` or ``(N, 1, H, W)``, uint8 0..255 or floats in [0, 1], as float64 ``(N, 1, H, W)``.

    (The checks of ``course_lib.generative.images.as_unit_images``, written out here so that the
    worker processes do not import that package.)
    """
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be (N, H, W) or (N, 1, H, W) grey images with N >= 1, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 (0..255) or floats in [0, 1], got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"{name} must be uint8 (0..255) or floats in [0, 1], got values in [{low:.3g}, {high:.3g}]")
    return np.clip(array, 0.0, 1.0)


def _binary_labels(array: np.ndarray, name: str, length: int) -> np.ndarray:
    """``array`` ``(length,)`` of 0s and 1s (ints, bools or whole floats) as float64."""
    if array.ndim != 1 or len(array) != length:
        raise ValueError(f"{name} must have shape ({length},), one label per image, got {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numbers 0 or 1, got dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(f"{name} must be 0 or 1, got values {np.unique(values[(values != 0) & (values != 1)])[:5]}")
    return values


def load_data(path: str | Path, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 1, H, W)`` in [0, 1] and labels ``(N,)`` (0./1.) from an ``.npz`` file, as ``dtype``."""
    with np.load(path) as data:
        if "images" not in data or "labels" not in data:
            raise ValueError(f"{path} must hold arrays 'images' and 'labels', has {sorted(data.keys())}")
        images = _unit_images(data["images"], "images")
        labels = _binary_labels(data["labels"], "labels", length=len(images))
    return torch.from_numpy(images).to(dtype), torch.from_numpy(labels).to(dtype)


def build_model(args: argparse.Namespace) -> nn.Module:
    """The compact CNN, initialised from ``args.seed`` (the same weights in every process)."""
    torch.manual_seed(args.seed)
    model = _compact_cnn_class()(dropout=args.dropout)
    if args.batchnorm == "sync":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model.to(dtype=getattr(torch, args.dtype))


def set_batchnorm_statistics(model: nn.Module, images: torch.Tensor, chunk: int = 256) -> None:
    """Set every batch-norm layer's running statistics to those of ``images`` ``(N, C, H, W)``.

    The images pass through the model (training mode, no gradients) in consecutive chunks of ``chunk``;
    each layer's ``running_mean`` / ``running_var`` become the average over the chunks of the chunk's
    per-channel mean / unbiased variance (``momentum=None``, PyTorch's cumulative average). The
    weights are unchanged. With ``--batchnorm frozen`` the script does this once before training,
    identically in every process: a new network's statistics (mean 0, variance 1) do not fit grey values
    in [0, 1] nor the layers after the first, and with them frozen there 40 SGD steps learned nothing
    (a nearly constant output, test AUC 0.5).
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [layer.momentum for layer in layers]
    was_training = model.training
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    model.train()
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(images), chunk):
            model(images[start:start + chunk].to(device))
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    model.train(was_training)


def set_training_mode(model: nn.Module, batchnorm: str) -> None:
    """``model.train()``; with ``batchnorm='frozen'`` the batch-norm layers are put back in eval mode
    (normalise with the stored running statistics and leave them unchanged)."""
    model.train()
    if batchnorm == "frozen":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def make_optimizer(model: nn.Module, args: argparse.Namespace) -> torch.optim.Optimizer:
    if args.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=args.lr)


def train(args: argparse.Namespace) -> bool:
    """Run the training that ``args`` describe; returns whether it ran as one of several processes."""
    # -- 1. who am I? torchrun sets RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR/PORT) ------------
    distributed = not args.single and "WORLD_SIZE" in os.environ
    world_size = int(os.environ["WORLD_SIZE"]) if distributed else 1
    if args.global_batch % world_size:
        raise ValueError(f"--global-batch {args.global_batch} must be divisible by the {world_size} processes")
    threads = args.threads or max(1, available_cores() // world_size)
    torch.set_num_threads(threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but CUDA is not available")
    backend = args.backend or ("nccl" if args.device == "cuda" else "gloo")
    if distributed:
        local_rank = int(os.environ["LOCAL_RANK"])
        device = torch.device("cuda", local_rank) if args.device == "cuda" else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)  # reads the rendezvous from the environment
        rank = dist.get_rank()
    else:
        rank, device = 0, torch.device(args.device)

    # -- 2. the same model, data and batch sequence in every process -------------------------------
    dtype = getattr(torch, args.dtype)
    images, labels = load_data(args.data, dtype)
    batches = global_batches(len(images), args.steps, args.global_batch, args.seed)
    local = args.global_batch // world_size
    model = build_model(args).to(device)
    if args.batchnorm == "frozen":
        set_batchnorm_statistics(model, images)  # the statistics of the training data, then frozen
    if distributed:
        # broadcasts rank 0's weights, then averages gradients during backward()
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(model, args)
    loss_fn = nn.BCEWithLogitsLoss()  # mean over this process's part of the batch
    set_training_mode(model, args.batchnorm)

    # -- 3. the training loop: process `rank` takes rows [rank*local, (rank+1)*local) of each batch --
    losses = []
    if distributed:
        dist.barrier()
    start = time.perf_counter()
    for step in range(args.steps):
        rows = batches[step, rank * local:(rank + 1) * local]
        x, y = images[rows].to(device), labels[rows].to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()  # DDP: gradients are averaged over the processes here
        optimizer.step()
        losses.append(loss.detach())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if distributed:
        dist.barrier()
    wall_seconds = time.perf_counter() - start

    # -- 4. the mean loss of each global batch (one all-reduce after the loop), results by rank 0 ---
    losses = torch.stack(losses) if losses else torch.zeros(0, dtype=dtype, device=device)
    if distributed:
        dist.all_reduce(losses)  # sum over processes of equal-sized parts ...
        losses /= world_size     # ... divided by their number = mean over the global batch
    if rank == 0:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        module = model.module if distributed else model
        state = {name: tensor.detach().cpu().numpy() for name, tensor in module.state_dict().items()}
        np.savez(out / "parameters.npz", **state)
        timing = {"wall_seconds": wall_seconds, "steps": args.steps, "world_size": world_size,
                  "threads_per_process": threads, "global_batch": args.global_batch,
                  "batchnorm": args.batchnorm, "dtype": args.dtype, "optimizer": args.optimizer,
                  "lr": args.lr, "seed": args.seed, "backend": backend if distributed else None,
                  "device": args.device, "losses": [float(v) for v in losses.cpu()]}
        (out / "timing.json").write_text(json.dumps(timing, indent=2))
    if distributed:
        # leave together: wait for rank 0's files, let DDP go before its process group does
        dist.barrier()
        del model, optimizer
        dist.destroy_process_group()
    return distributed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help=".npz with 'images' (N, H, W) and 'labels' (N,)")
    parser.add_argument("--out", required=True, help="folder for parameters.npz and timing.json")
    parser.add_argument("--steps", type=int, default=40, help="optimiser steps (default 40)")
    parser.add_argument("--global-batch", type=int, default=64,
                        help="samples per step over all processes (default 64)")
    parser.add_argument("--lr", type=float, default=0.005, help="learning rate (default 0.005)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="sgd (momentum 0.9, the default) or adam")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights and the batch order")
    parser.add_argument("--batchnorm", choices=BATCHNORM_MODES, default="frozen",
                        help="frozen (default; exact), per-rank (plain DDP) or sync (GPU only)")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout before the output (default 0)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per process (default: cores // number of processes, at least 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default=None,
                        help="default: nccl with --device cuda, gloo otherwise")
    parser.add_argument("--single", action="store_true",
                        help="one process on whole global batches (the reference), even under torchrun")
    args = parser.parse_args(argv)
    for name in ("steps", "global_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.threads < 0:
        parser.error("--threads must be at least 1 (or 0 for the default)")
    if args.lr <= 0:
        parser.error("--lr must be positive")
    if args.single and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        parser.error("--single runs one process; launch it with python, not torchrun with several processes")
    return args


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    if train(parse_args(sys.argv[1:])):
        # torch 2.13 with gloo: now and then (about 1 run in 20 here) a worker process was killed by
        # "terminate called without an active exception" (SIGABRT) during the interpreter's clean-up,
        # after all its work was done and the files written. Leaving at once skips that clean-up.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
