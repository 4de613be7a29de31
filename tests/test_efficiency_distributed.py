"""Tests of course_lib.efficiency.distributed and the training script ddp_train.

The central test starts the real thing: torchrun with 2 processes (gloo, CPU) for 8 steps, and the
same script in one process, on the same global batches; the final parameters must agree to 1e-6.
Why 1e-6 in float32: the only difference between the runs is the order in which the per-sample
gradients are summed (two halves averaged by the all-reduce vs one mean over the whole batch), which
changes the gradient by a few units of float32 rounding (2^-24 ≈ 6e-8 relative); over these 8 short
steps on 128 images the parameters stay within a few such units (longer training amplifies them: over
40 steps on X-rays they reach 3e-2 in float32, 2e-15 in float64, hence the notebook's float64). A bug
(wrong rows, per-rank batch norm, no gradient averaging) moves them by 1e-3 or more. The one-process
run is itself checked against a training loop written here.
"""

from __future__ import annotations

import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.efficiency import ddp_train
from course_lib.efficiency.distributed import (DDPResult, launch_command, max_parameter_difference, read_result,
                                               run_ddp, run_single, write_training_data)
from course_lib.imaging.models import CompactCNN

torch.set_num_threads(1)

N_SAMPLES, STEPS, GLOBAL_BATCH, SEED, LR = 128, 8, 32, 3, 0.005


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(N_SAMPLES, 28, 28), dtype=np.uint8)
    labels = (images[:, 10:18, 10:18].mean(axis=(1, 2)) > 127).astype(np.int64)  # learnable: bright centre
    return write_training_data(images, labels, tmp_path_factory.mktemp("ddp_data") / "train.npz")


@pytest.fixture(scope="module")
def runs(data_file, tmp_path_factory):
    """One 2-process run and one 1-process run, started side by side (each ~10 s, mostly start-up)."""
    folder = tmp_path_factory.mktemp("ddp_runs")
    settings = dict(steps=STEPS, global_batch=GLOBAL_BATCH, seed=SEED, lr=LR, threads=1, timeout=240)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ddp = pool.submit(run_ddp, data_file, nproc=2, out_dir=folder / "ddp", **settings)
        single = pool.submit(run_single, data_file, out_dir=folder / "single", **settings)
        return ddp.result(), single.result()


# ----------------------------------------------------------------------------- the two-process check

def test_two_processes_train_the_same_parameters_as_one(runs):
    ddp, single = runs
    assert isinstance(ddp, DDPResult) and isinstance(single, DDPResult)
    assert (ddp.world_size, single.world_size) == (2, 1)
    assert ddp.steps == single.steps == STEPS
    assert ddp.threads_per_process == single.threads_per_process == 1
    assert ddp.settings["backend"] == "gloo" and single.settings["backend"] is None
    assert ddp.wall_seconds > 0 and single.wall_seconds > 0
    assert set(ddp.parameters) == set(single.parameters)
    assert max_parameter_difference(ddp, single) < 1e-6
    # the mean loss of each global batch, gathered from both processes, is the one-process loss
    np.testing.assert_allclose(ddp.losses, single.losses, rtol=0, atol=1e-6)


def test_the_equality_is_not_vacuous(runs, data_file):
    """Training moved the weights far more than the tolerance, and the loss went down."""
    _, single = runs
    torch.manual_seed(SEED)
    initial = {k: v.numpy() for k, v in CompactCNN(dropout=0.0).state_dict().items()}
    assert max_parameter_difference(single, initial, include_buffers=False) > 1e-3
    assert single.losses[-2:].mean() < single.losses[:2].mean()
    # frozen batch norm: the running statistics are those of the training data (all 128 images, one
    # chunk), here for the first layer straight from its convolution, with the initial weights
    with np.load(data_file) as data:
        images = torch.from_numpy(data["images"]).double().div(255).unsqueeze(1)
    conv = nn.functional.conv2d(images, torch.from_numpy(initial["features.0.weight"]).double(), padding=1)
    np.testing.assert_allclose(single.parameters["features.1.running_mean"], conv.mean(dim=(0, 2, 3)).numpy(),
                               rtol=1e-5, atol=1e-6)   # float32 sums of 100,352 values: ~1e-6 relative
    np.testing.assert_allclose(single.parameters["features.1.running_var"], conv.var(dim=(0, 2, 3)).numpy(),
                               rtol=1e-5, atol=1e-6)


def _independent_batches(n: int, steps: int, batch: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches += [order[i:i + batch] for i in range(0, n - batch + 1, batch)]
    return batches[:steps]


def test_single_run_equals_a_training_loop_written_here(runs, data_file):
    """The script's one-process path: batch-norm statistics of the data, then plain SGD (momentum 0.9)
    on the global batches with BN in eval mode."""
    _, single = runs
    with np.load(data_file) as data:
        images = torch.from_numpy(data["images"]).float().div(255).unsqueeze(1)
        labels = torch.from_numpy(data["labels"]).float()
    torch.manual_seed(SEED)
    model = CompactCNN(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    model.train()
    bns = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    for module in bns:
        module.momentum = 1.0   # one batch (all 128 images): running statistics := its statistics
    with torch.no_grad():
        model(images)
    for module in bns:
        module.eval()
    for rows in _independent_batches(N_SAMPLES, STEPS, GLOBAL_BATCH, SEED):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(images[rows]), labels[rows]).backward()
        optimizer.step()
    mine = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    assert max_parameter_difference(single, mine) < 1e-6


def test_read_result_round_trip(runs):
    ddp, _ = runs
    again = read_result(ddp.out_dir)
    assert max_parameter_difference(again, ddp) == 0.0
    assert again.wall_seconds == ddp.wall_seconds


# ----------------------------------------------------------------------------- the script's pieces

def test_global_batches_are_seeded_shuffles_without_repeats():
    batches = ddp_train.global_batches(10, 7, 3, seed=1)
    assert batches.shape == (7, 3)
    assert np.array_equal(batches, ddp_train.global_batches(10, 7, 3, seed=1))
    assert not np.array_equal(batches, ddp_train.global_batches(10, 7, 3, seed=2))
    # 3 batches per shuffle of 10 samples: within a shuffle no sample repeats
    for start in (0, 3):
        chunk = batches[start:start + 3].ravel()
        assert len(set(chunk.tolist())) == 9
    assert all(np.array_equal(a, b) for a, b in zip(batches, _independent_batches(10, 7, 3, 1)))
    with pytest.raises(ValueError, match="larger than the data"):
        ddp_train.global_batches(4, 2, 5, seed=0)


def test_sync_batchnorm_is_refused_on_the_cpu():
    """torch 2.13: DDP refuses SyncBatchNorm on CPU modules (hence the 'frozen' mode of the script)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
        with pytest.raises(ValueError, match="SyncBatchNorm layers only work with GPU modules"):
            nn.parallel.DistributedDataParallel(model)
    finally:
        dist.destroy_process_group()


def test_script_arguments(monkeypatch):
    args = ddp_train.parse_args(["--data", "d.npz", "--out", "o"])
    assert (args.steps, args.global_batch, args.batchnorm, args.dropout, args.dtype) == (40, 64, "frozen", 0.0,
                                                                                         "float32")
    for bad in (["--steps", "0"], ["--global-batch", "-1"], ["--lr", "0"], ["--batchnorm", "global"]):
        with pytest.raises(SystemExit):
            ddp_train.parse_args(["--data", "d.npz", "--out", "o"] + bad)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit):
        ddp_train.parse_args(["--data", "d.npz", "--out", "o", "--single"])


# ----------------------------------------------------------------------------- failures are reported

def test_the_script_refuses_a_file_without_labels(tmp_path):
    broken = tmp_path / "broken.npz"
    np.savez(broken, images=np.zeros((4, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="'labels'"):
        ddp_train.load_data(broken, torch.float32)


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 0]), "labels must be 0 or 1"),
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0.5, 0]), "labels must be 0 or 1"),
    (np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 1]), r"labels must have shape \(4,\)"),
    (np.zeros((4, 28, 28), np.uint8), np.array(["a", "b", "a", "b"]), "labels must be numbers"),
    (np.zeros((4, 3, 28, 28), np.uint8), np.array([0, 1, 1, 0]), "images must be"),
    (np.zeros((4, 28), np.uint8), np.array([0, 1, 1, 0]), "images must be"),
    (np.full((4, 28, 28), 2.0), np.array([0, 1, 1, 0]), r"images must be uint8 .* got values in \[2, 2\]"),
    (np.full((4, 28, 28), np.nan), np.array([0, 1, 1, 0]), "images holds NaN"),
    (np.zeros((4, 28, 28), np.int64), np.array([0, 1, 1, 0]), "images must be uint8"),
])
def test_the_script_checks_its_data(tmp_path, images, labels, match):
    np.savez(tmp_path / "bad.npz", images=images, labels=labels)
    with pytest.raises(ValueError, match=match):
        ddp_train.load_data(tmp_path / "bad.npz", torch.float32)


def test_the_script_loads_uint8_and_float_images_alike(tmp_path):
    pixels = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    np.savez(tmp_path / "u8.npz", images=pixels.astype(np.uint8), labels=np.array([1, 0]))
    np.savez(tmp_path / "f.npz", images=pixels / 255.0, labels=np.array([True, False]))
    (a, ya), (b, yb) = (ddp_train.load_data(tmp_path / name, torch.float64) for name in ("u8.npz", "f.npz"))
    assert a.shape == (2, 1, 28, 28) and a.dtype == torch.float64
    assert torch.equal(a, b) and ya.tolist() == yb.tolist() == [1.0, 0.0]


def test_the_script_as_a_file_imports_no_course_package(data_file):
    """What each worker imports: run as a file, the script must not run course_lib's package __init__s
    (course_lib/imaging pulls scikit-learn, scikit-image, matplotlib; course_lib/efficiency ONNX ...)."""
    import subprocess
    from course_lib.efficiency.distributed import SCRIPT

    code = (f"import runpy, sys\nnamespace = runpy.run_path({str(SCRIPT)!r})\n"
            f"namespace['load_data']({str(data_file)!r}, namespace['torch'].float32)\n"
            "namespace['_compact_cnn_class']()(dropout=0.0)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('course_lib', 'sklearn', 'skimage', "
            "'matplotlib', 'onnx', 'onnxruntime', 'torch_pruning', 'pandas')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_failed_training_raises_with_the_workers_error(tmp_path):
    """A failing command (a stand-in for the script, which would take seconds to import torch)."""
    from course_lib.efficiency import distributed

    crash = [sys.executable, "-c", "import sys; sys.stderr.write('[rank1]: ValueError: bad labels\\nmore\\n'); "
                                   "sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"(?s)exit status 3.*worker error: ValueError: bad labels\n.*more"):
        distributed._run(crash, tmp_path / "out", timeout=60, threads=1)
    assert "bad labels" in (tmp_path / "out" / "stderr.log").read_text()


def test_timeout_stops_the_run(data_file, tmp_path):
    with pytest.raises(RuntimeError, match="did not finish within 0.2 s"):
        run_single(data_file, steps=1, global_batch=4, out_dir=tmp_path / "out", timeout=0.2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(nproc=0), ValueError, "nproc"),
    (dict(nproc=1.5), TypeError, "nproc"),
    (dict(nproc=3, global_batch=64), ValueError, "divisible"),
    (dict(steps=0), ValueError, "steps"),
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(batchnorm="sync-cpu"), ValueError, "batchnorm"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
    (dict(dtype="float16"), ValueError, "dtype"),
    (dict(threads=0), ValueError, "threads"),
    (dict(timeout=0), ValueError, "timeout"),
    (dict(out_dir=3), TypeError, "out_dir"),
])
def test_run_ddp_rejects_bad_arguments(data_file, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_ddp(data_file, **kwargs)


def test_run_single_rejects_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="data_path"):
        run_single(tmp_path / "nothing.npz")


# ----------------------------------------------------------------------------- data and comparison

def test_write_training_data_round_trip(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = write_training_data(images, [0, 1], tmp_path / "a")
    assert path.name == "a.npz"
    with np.load(path) as data:
        assert data["images"].dtype == np.uint8 and np.array_equal(data["images"], images)
        assert data["labels"].tolist() == [0, 1]
    floats = np.full((3, 1, 28, 28), 0.5, dtype=np.float64)
    with np.load(write_training_data(floats, np.array([1, 1, 0]), tmp_path / "b.npz")) as data:
        assert data["images"].shape == (3, 28, 28) and data["images"].dtype == np.float32
    with pytest.raises(ValueError, match="labels"):
        write_training_data(images, [0, 2], tmp_path / "c.npz")
    with pytest.raises(ValueError, match="labels"):
        write_training_data(images, [0, 1, 1], tmp_path / "c.npz")
    with pytest.raises(ValueError, match="images"):
        write_training_data(np.full((2, 28, 28), 3.0), [0, 1], tmp_path / "c.npz")
    with pytest.raises(TypeError, match="path"):
        write_training_data(images, [0, 1], 5)


def test_max_parameter_difference_on_a_toy_case():
    a = {"w": np.array([1.0, 2.0]), "bn.running_mean": np.array([[0.0]])}
    b = {"w": np.array([1.0, 2.5]), "bn.running_mean": np.array([[-1.0]])}
    assert max_parameter_difference(a, b) == 1.0
    assert max_parameter_difference(a, b, include_buffers=False) == 0.5
    assert max_parameter_difference(a, a) == 0.0
    with pytest.raises(ValueError, match="different names"):
        max_parameter_difference(a, {"w": a["w"]})
    with pytest.raises(ValueError, match="shape"):
        max_parameter_difference(a, {"w": np.zeros(3), "bn.running_mean": np.zeros((1, 1))})
    with pytest.raises(TypeError, match="a must be"):
        max_parameter_difference([1.0], b)
    with pytest.raises(TypeError, match="b must be"):
        max_parameter_difference(a, {})


# ----------------------------------------------------------------------------- launch lines

def _torchrun_args(line: str):
    """Parse a launch line with torchrun's own argument parser."""
    from torch.distributed.run import get_args_parser

    words = shlex.split(line)
    assert words[0] == "torchrun"
    return get_args_parser().parse_args(words[1:])


def test_launch_command_one_machine():
    line = launch_command(nproc_per_node=2, script_args=["--data", "my data.npz", "--out", "runs/x"])
    args = _torchrun_args(line)
    assert args.standalone and args.nproc_per_node == "2" and not args.module
    assert args.training_script == "course_lib/efficiency/ddp_train.py"
    script = ddp_train.parse_args(args.training_script_args)
    assert script.data == "my data.npz" and script.device == "cpu"


def test_launch_command_several_machines_and_gpus():
    line = launch_command(nnodes=3, nproc_per_node=4, rdzv_endpoint="node0.example:29400", backend="nccl",
                          rdzv_id="job7", script="train.py", script_args="--steps 10")
    args = _torchrun_args(line)
    assert not args.standalone
    assert (args.nnodes, args.nproc_per_node) == ("3", "4")
    assert (args.rdzv_backend, args.rdzv_endpoint, args.rdzv_id) == ("c10d", "node0.example:29400", "job7")
    assert args.training_script == "train.py" and not args.module
    assert args.training_script_args == ["--device", "cuda", "--steps", "10"]
    # one machine with an explicit endpoint is allowed too
    assert "--rdzv-endpoint=localhost:29500" in launch_command(rdzv_endpoint="localhost:29500")
    # a module name is started with -m
    args = _torchrun_args(launch_command(script="my_pkg.train"))
    assert args.module and args.training_script == "my_pkg.train"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(nnodes=0), ValueError, "nnodes"),
    (dict(nnodes=2), ValueError, "rdzv_endpoint"),
    (dict(nnodes=2, rdzv_endpoint="node0"), ValueError, "host:port"),
    (dict(nnodes=2, rdzv_endpoint="node0:99999"), ValueError, "host:port"),
    (dict(nnodes=2, rdzv_endpoint=29400), TypeError, "rdzv_endpoint"),
    (dict(nproc_per_node=0), ValueError, "nproc_per_node"),
    (dict(nproc_per_node="gpu"), TypeError, "nproc_per_node"),
    (dict(backend="mpi"), ValueError, "backend"),
    (dict(rdzv_id="my job"), ValueError, "rdzv_id"),
    (dict(script=""), TypeError, "script"),
    (dict(script_args=[1, 2]), TypeError, "script_args"),
])
def test_launch_command_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        launch_command(**kwargs)
