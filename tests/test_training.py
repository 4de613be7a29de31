"""Seeds, devices, parameter counts, predict and the fit loop (on tiny CPU problems)."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.training import History, count_parameters, fit, predict, seed_everything, select_device

N_TRAIN, N_VAL, BATCH = 42, 16, 8  # 42 = 5 full batches + one of 2: batch sizes differ


def regression_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=generator)
    return x, y


def loaders(shuffle: bool = False) -> tuple[DataLoader, DataLoader]:
    train = TensorDataset(*regression_data(N_TRAIN, 0))
    val = TensorDataset(*regression_data(N_VAL, 1))
    return DataLoader(train, batch_size=BATCH, shuffle=shuffle), DataLoader(val, batch_size=BATCH)


class Regressor(nn.Module):
    """(N, 3) -> (N,)"""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(outputs, targets)


class ScriptedMetric:
    """A validation 'metric' that returns a fixed sequence and snapshots the weights it was
    computed on, so the test knows exactly which epoch was best and what its weights were."""

    def __init__(self, model: nn.Module, values: list[float]):
        self.model, self.values, self.snapshots = model, values, []

    def __call__(self, y_true, outputs) -> float:
        assert isinstance(y_true, np.ndarray) and isinstance(outputs, np.ndarray)
        assert outputs.shape == (N_VAL,) and y_true.shape == (N_VAL,)
        self.snapshots.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
        return self.values[len(self.snapshots) - 1]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def train(values, *, mode="max", epochs=None, lr=0.05, **kwargs):
    torch.manual_seed(0)
    model = Regressor()
    metric = ScriptedMetric(model, values)
    train_loader, val_loader = loaders()
    history = fit(model, train_loader, val_loader, loss_fn=mse, optimizer=torch.optim.SGD(model.parameters(), lr=lr),
                  epochs=epochs or len(values), metric=metric, metric_name="score", mode=mode, progress=False,
                  device="cpu", **kwargs)
    return model, metric, history


# ============================================================================ seeds


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()

    assert seed_everything(7) == 7
    first = draw()
    seed_everything(7)
    assert draw() == first  # exact: the same generators replayed from the same seed in one process
    seed_everything(8)
    assert draw() != first


def _seeded_run(seed: int):
    seed_everything(seed)
    model = Regressor(dropout=0.3)  # init, dropout masks and shuffling all draw random numbers
    train_loader, val_loader = loaders(shuffle=True)
    history = fit(model, train_loader, val_loader, loss_fn=mse, optimizer=torch.optim.Adam(model.parameters(), 1e-2),
                  epochs=3, progress=False, device="cpu")
    return model.state_dict(), history


def test_same_seed_gives_identical_training_runs():
    weights_a, history_a = _seeded_run(0)
    weights_b, history_b = _seeded_run(0)
    weights_c, history_c = _seeded_run(1)
    # exact (torch.equal, == on float lists): two runs in this process, with the same seed, data, thread
    # count and kernels, do the same float operations in the same order, so they are bit-identical
    assert same_weights(weights_a, weights_b)
    assert history_a.train_loss == history_b.train_loss and history_a.val_loss == history_b.val_loss
    assert not same_weights(weights_a, weights_c)
    assert history_a.train_loss != history_c.train_loss


def test_seed_everything_accepts_numpy_integers_and_sets_hash_seed():
    import os

    assert seed_everything(np.int64(5)) == 5 and type(seed_everything(np.int64(5))) is int
    assert os.environ["PYTHONHASHSEED"] == "5"
    assert seed_everything(2**32 - 1) == 2**32 - 1


@pytest.mark.parametrize("seed, error, message", [
    (-1, ValueError, r"seed must be in \[0, 2\*\*32\), got -1"),
    (2**32, ValueError, r"seed must be in \[0, 2\*\*32\)"),
    (1.5, TypeError, "seed must be an int, got float"),
    ("0", TypeError, "seed must be an int, got str"),
    (True, TypeError, "seed must be an int, got bool"),
    (None, TypeError, "seed must be an int, got NoneType"),
])
def test_seed_everything_rejects_bad_seeds(seed, error, message):
    with pytest.raises(error, match=message):
        seed_everything(seed)


# ============================================================================ devices and sizes


def test_select_device_cpu(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("cpu:0") == torch.device("cpu:0")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert select_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_select_device_defaults_to_cpu_without_accelerator(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="device 'cuda' is not available on this machine"):
        select_device("cuda")


def test_select_device_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device() == torch.device("cuda")


@pytest.mark.parametrize("name, error, message", [
    ("gpu", ValueError, r"unknown device 'gpu'; use one of \['cpu', 'cuda', 'mps'\]"),
    ("tpu:0", ValueError, "unknown device 'tpu:0'"),
    ("cpu:first", ValueError, "invalid device 'cpu:first'"),
    (5, TypeError, "device must be a str such as 'cpu', got int"),
])
def test_select_device_rejects_bad_names(name, error, message, monkeypatch):
    with pytest.raises(error, match=message):
        select_device(name)
    monkeypatch.setenv("COURSE_DEVICE", "gpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        select_device()


def test_count_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))  # 3*4+4 + 4*1+1
    assert count_parameters(model) == 21
    model[0].requires_grad_(False)
    assert count_parameters(model) == 5
    assert count_parameters(model, trainable_only=False) == 21
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got list"):
        count_parameters([nn.Linear(1, 1)])


# ============================================================================ predict


def test_predict_concatenates_outputs_and_targets_in_order():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = regression_data(N_TRAIN, 0)
    outputs, targets = predict(model, DataLoader(TensorDataset(x, y), batch_size=BATCH))
    assert isinstance(outputs, np.ndarray) and outputs.shape == (N_TRAIN, 2) and outputs.dtype == np.float32
    assert targets.shape == (N_TRAIN,)
    # Batches of 8 rows and one matmul over all 42 rows may run different float32 SIMD/blocking kernels
    # (AMD vs Intel, ATEN_CPU_CAPABILITY, thread count), so compare with a float64 reference. Each output
    # is 3 products + a bias, with cancellation (|output| down to 0.015, sum of |terms| <= 2.2): float32
    # error <= ~4 * eps32 (1.2e-7) * 2.2 = 1e-6 absolute but up to ~1e-5 relative, so the tolerance is
    # absolute. A row out of order or a lost batch is off by >= 2.4e-2, 2000x atol.
    expected = (x.double() @ model.weight.detach().double().T + model.bias.detach().double()).numpy()
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(targets, y.numpy())  # exact: targets are copied, not computed


def test_predict_runs_in_eval_mode():
    torch.manual_seed(0)
    model = Regressor(dropout=0.5)
    _, val_loader = loaders()
    first, _ = predict(model, val_loader)
    second, _ = predict(model, val_loader)
    assert not model.training
    # exact: the same model on the same batches twice in one process is bit-identical unless dropout,
    # the only randomness, is still on
    np.testing.assert_array_equal(first, second)


def test_predict_with_custom_forward_and_parameterless_model():
    batches = [{"x": torch.ones(2, 3), "y": torch.zeros(2)}, {"x": 2 * torch.ones(1, 3), "y": torch.ones(1)}]
    outputs, targets = predict(nn.Identity(), batches, forward=lambda m, b, d: (m(b["x"].to(d)), b["y"].to(d)))
    assert outputs.shape == (3, 3) and outputs[2].tolist() == [2, 2, 2]  # exact: Identity copies the 2.0s
    assert targets.tolist() == [0, 0, 1]


def test_predict_rejects_bad_input():
    with pytest.raises(ValueError, match="loader produced no batches"):
        predict(nn.Linear(3, 1), [])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        predict("model", [])
    with pytest.raises(TypeError, match=r"expects \(inputs, targets\) batches; pass forward="):
        predict(nn.Linear(3, 1), [{"x": torch.ones(1, 3)}])


# ============================================================================ fit


def test_fit_restores_a_copy_of_the_best_epochs_weights():
    model, metric, history = train([0.2, 0.9, 0.5, 0.3])

    # exact: the scripted metric values are stored as given, with no arithmetic on them
    assert history.best_epoch == 1 and history.best_metric == 0.9
    assert history.val_metric == [0.2, 0.9, 0.5, 0.3]
    snapshots = metric.snapshots
    assert not same_weights(snapshots[1], snapshots[3])  # training kept changing the weights
    assert same_weights(model.state_dict(), snapshots[1])

    # the stored numbers belong to the restored weights
    _, val_loader = loaders()
    outputs, targets = predict(model, val_loader)
    # fit computes val_loss with this same predict + mse on bit-identical (restored) weights, so today the
    # two are equal; rel 1e-5 would also absorb a float32 re-summation of the 16-term mean (~16 * eps32 =
    # 2e-6) should fit reduce differently. Another epoch's val_loss (2.45, 0.41) is >50% off 0.90.
    expected = float(mse(torch.from_numpy(outputs), torch.from_numpy(targets)))
    assert history.val_loss[1] == pytest.approx(expected, rel=1e-5)


def test_fit_mode_min_picks_the_smallest_metric():
    model, metric, history = train([0.5, 0.2, 0.4, 0.6], mode="min")
    assert (history.best_epoch, history.best_metric) == (1, 0.2)
    assert same_weights(model.state_dict(), metric.snapshots[1])


def test_fit_keeps_the_last_epoch_when_it_is_best():
    model, metric, history = train([0.1, 0.2, 0.3])
    assert history.best_epoch == 2
    assert same_weights(model.state_dict(), metric.snapshots[2])


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_fit_stops_after_patience_epochs_without_improvement(patience):
    values = [0.5, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0]
    model, metric, history = train(values, patience=patience)
    assert history.stopped_early
    assert history.epochs == 2 + patience == len(metric.snapshots)
    assert history.best_epoch == 1
    assert same_weights(model.state_dict(), metric.snapshots[1])


def test_fit_improvement_resets_patience():
    # never two epochs in a row without improvement until the end: epochs 5 and 6 stop it
    _, _, history = train([0.5, 0.4, 0.6, 0.5, 0.7, 0.6, 0.5, 0.4], patience=2)
    assert history.epochs == 7 and history.stopped_early and history.best_epoch == 4


def test_fit_without_patience_runs_every_epoch():
    _, _, history = train([0.9, 0.8, 0.7, 0.6, 0.5])
    assert history.epochs == 5 and not history.stopped_early and history.best_epoch == 0


def test_fit_min_delta():
    values = [0.5, 0.55, 0.58, 0.52]
    assert train(values)[2].best_epoch == 2
    assert train(values, min_delta=0.1)[2].best_epoch == 0


def test_fit_history_records_sample_weighted_losses():
    # lr = 0: the weights never change, so every epoch's losses equal the losses computed by hand
    model, _, history = train([0.1, 0.2], lr=0.0)
    x, y = regression_data(N_TRAIN, 0)
    xv, yv = regression_data(N_VAL, 1)
    # The reference is float64 on all rows at once; fit runs float32 batches of 8 (+ 2) whose kernels
    # vary by CPU and thread count. The outputs then carry ~1e-6 absolute error (eps32 times the sum of
    # |terms| of a 3-8-1 net), which moves a mean of squared residuals (rms ~2) by ~1e-6 relative at most:
    # rel 1e-5. Not weighting the batch losses by batch size (8 vs 2) is off by 8.5e-2.
    reference = copy.deepcopy(model).double()
    with torch.no_grad():
        train_loss = float(mse(reference(x.double()), y.double()))
        val_loss = float(mse(reference(xv.double()), yv.double()))
    assert history.train_loss == pytest.approx([train_loss] * 2, rel=1e-5)
    assert history.val_loss == pytest.approx([val_loss] * 2, rel=1e-5)
    assert isinstance(history, History) and history.metric_name == "score" and history.seconds > 0
    assert history.as_dict() == {"train_loss": history.train_loss, "val_loss": history.val_loss,
                                 "val_score": [0.1, 0.2]}
    assert history.best_metric == history.val_metric[history.best_epoch]  # exact: the same stored value


def test_fit_without_metric_minimises_validation_loss():
    torch.manual_seed(0)
    model = Regressor()
    train_loader, val_loader = loaders()
    history = fit(model, train_loader, val_loader, loss_fn=mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                  epochs=4, mode="max", progress=False, device="cpu")
    assert history.metric_name == "loss"
    assert history.val_metric == history.val_loss
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert history.val_loss[-1] < history.val_loss[0]  # it learns
    assert all(np.isfinite(history.train_loss))


class CountingScheduler:
    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1


@pytest.mark.parametrize("when, expected", [("batch", 3 * 6), ("epoch", 3)])
def test_fit_steps_the_scheduler_per_batch_or_per_epoch(when, expected):
    scheduler = CountingScheduler()
    train([0.1, 0.2, 0.3], scheduler=scheduler, scheduler_step=when)
    assert scheduler.steps == expected


def test_fit_with_a_real_scheduler():
    torch.manual_seed(0)
    model = Regressor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    train_loader, val_loader = loaders()
    fit(model, train_loader, val_loader, loss_fn=mse, optimizer=optimizer, epochs=3, scheduler=scheduler,
        progress=False, device="cpu")
    # float64, and halving is exact in binary, so default approx (rel 1e-6) has a huge margin; one step
    # too many or too few is off by a factor of 2
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)


def _one_step_change(grad_clip):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    before = torch.cat([p.detach().clone().ravel() for p in model.parameters()])
    batch = [(torch.ones(4, 3), torch.full((4, 1), 1000.0))]
    fit(model, batch, batch, loss_fn=mse, optimizer=torch.optim.SGD(model.parameters(), lr=1.0), epochs=1,
        grad_clip=grad_clip, progress=False, device="cpu")
    after = torch.cat([p.detach().ravel() for p in model.parameters()])
    return float(torch.linalg.norm(after - before))


def test_fit_clips_the_gradient_norm():
    assert _one_step_change(None) > 100
    # lr 1 x clipped norm 0.01. The change is after - before of float32 weights ~0.5 that moved by
    # ~5e-3: eps32 * 0.5 / 5e-3 ~ 1e-5 relative per weight (measured 8e-7); rel 1e-4 covers any kernel,
    # and no clipping is off by a factor > 1e4
    assert _one_step_change(0.01) == pytest.approx(0.01, rel=1e-4)


def test_fit_with_custom_forward_and_progress_bar(capsys):
    batches = [{"features": torch.randn(4, 3), "target": torch.randn(4)} for _ in range(3)]
    torch.manual_seed(0)
    model = Regressor()
    history = fit(model, batches, batches, loss_fn=mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                  epochs=2, forward=lambda m, b, d: (m(b["features"].to(d)), b["target"].to(d)),
                  metric=lambda y, out: float(np.mean(np.abs(y - out))), metric_name="mae", mode="min",
                  device="cpu")
    assert history.epochs == 2
    err = capsys.readouterr().err
    assert "epochs" in err and "val_mae" in err


def test_fit_needs_a_forward_for_non_tuple_batches():
    batches = [{"features": torch.randn(4, 3), "target": torch.randn(4)}]
    with pytest.raises(TypeError, match="pass forward=... to fit"):
        fit(Regressor(), batches, batches, loss_fn=mse, optimizer=torch.optim.SGD(Regressor().parameters(), lr=0.1),
            epochs=1, progress=False, device="cpu")


@pytest.mark.parametrize("changes, error, message", [
    (dict(epochs=0), ValueError, "epochs must be a positive int, got 0"),
    (dict(epochs=-2), ValueError, "epochs must be a positive int, got -2"),
    (dict(epochs=2.5), ValueError, "epochs must be a positive int, got 2.5"),
    (dict(epochs=True), ValueError, "epochs must be a positive int, got True"),
    (dict(mode="maximum"), ValueError, "mode must be 'max' or 'min', got 'maximum'"),
    (dict(patience=0), ValueError, "patience must be a positive int or None, got 0"),
    (dict(patience=1.5), ValueError, "patience must be a positive int or None, got 1.5"),
    (dict(scheduler_step="step"), ValueError, "scheduler_step must be 'batch' or 'epoch', got 'step'"),
    (dict(model="net"), TypeError, "model must be a torch.nn.Module, got str"),
])
def test_fit_rejects_bad_arguments(changes, error, message):
    model = Regressor()
    train_loader, val_loader = loaders()
    kwargs = dict(model=model, train_loader=train_loader, val_loader=val_loader, loss_fn=mse,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=False,
                  device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=message):
        fit(**{**kwargs, **changes})
    assert same_weights(model.state_dict(), before)  # rejected before any training
