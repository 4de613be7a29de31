"""LSTM and GRU regressors for next-day log variance, trained with the course ``fit`` loop.

Inputs are windows of the last ``length`` days of [log rv, ret] (standardised with statistics of the
training rows only); the output is the log variance of the next day. Training minimises one of the
two evaluation losses directly on the variance exp(ŷ): QLIKE, ``rv · exp(−ŷ) + ŷ − ln rv − 1``
(the default), or MSE, ``(rv − exp(ŷ))²``; both are minimised by the conditional mean of ``rv``, so
the network forecasts the variance itself (not its median, as a squared error on logs would).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.finance.losses import mse, qlike
from course_lib.finance.splits import Fold
from course_lib.finance.windows import Standardizer, make_windows
from course_lib.training import count_parameters, fit, predict, seed_everything


class RecurrentRegressor(nn.Module):
    """A one-layer LSTM or GRU reading (B, L, F) windows and returning (B,) log variances.

    ``out_shift`` and ``out_scale`` (the training targets' mean and std of log rv) are buffers, so
    the network itself works on standardised numbers.
    """

    def __init__(self, input_size: int, hidden_size: int = 32, cell: str = "lstm", num_layers: int = 1,
                 out_shift: float = 0.0, out_scale: float = 1.0):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not out_scale > 0:
            raise ValueError(f"out_scale must be > 0, got {out_scale}")
        recurrent = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell = cell
        self.rnn = recurrent(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        self.register_buffer("out_shift", torch.tensor(float(out_shift)))
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"expected input of shape (batch, length, features), got {tuple(x.shape)}")
        output, _ = self.rnn(x)
        return self.out_shift + self.out_scale * self.head(output[:, -1]).squeeze(-1)


def qlike_loss(log_variance: torch.Tensor, proxy: torch.Tensor) -> torch.Tensor:
    """Mean QLIKE of forecasts exp(log_variance) against ``proxy`` (both (B,), proxy > 0)."""
    return (proxy * torch.exp(-log_variance) + log_variance - torch.log(proxy) - 1).mean()


def mse_loss(log_variance: torch.Tensor, proxy: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Mean squared error of forecasts exp(log_variance) against ``proxy`` (both (B,)), divided by
    ``scale²``. A constant ``scale`` (the training proxies' mean) does not move the minimiser; it keeps
    the loss near 1 so that gradient clipping acts as it does for QLIKE."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return ((proxy - torch.exp(log_variance)) ** 2).mean() / scale ** 2


LOSSES = ("qlike", "mse")


def input_matrix(features: pd.DataFrame) -> np.ndarray:
    """The raw per-day inputs [log rv, ret], shape (N, 2)."""
    return np.column_stack([np.log(features["rv"].to_numpy(float)), features["ret"].to_numpy(float)])


def train_and_forecast(features: pd.DataFrame, train_days, val_days, test_days, *, scaler_days=None,
                       cell: str = "lstm", seed: int = 0, length: int = 22, hidden_size: int = 32,
                       epochs: int = 15, batch_size: int = 64, lr: float = 3e-3, patience: int = 4,
                       grad_clip: float = 1.0, loss: str = "qlike", progress: bool = False) -> dict:
    """Train on windows of ``train_days``, early-stop on ``val_days``, forecast ``test_days``.

    ``loss`` (``"qlike"`` or ``"mse"``) is both the training loss and the validation metric that
    early stopping watches.

    ``scaler_days`` are the rows whose inputs fit the standardiser (default: ``train_days``; the
    leakage demonstration passes every day). Returns ``{"forecast": (len(test_days),) variances in
    percent², "history", "params", "seconds", "model"}``.
    """
    if not isinstance(features, pd.DataFrame) or not {"ret", "rv"} <= set(features.columns):
        raise TypeError("features must be the DataFrame of make_features (columns 'ret' and 'rv')")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    days = {name: np.asarray(d, dtype=np.int64) for name, d in
            (("train", train_days), ("val", val_days), ("test", test_days))}
    for name, d in days.items():
        if d.ndim != 1 or d.size == 0:
            raise ValueError(f"{name}_days must be a non-empty 1-D array of row positions")
    scaler_days = days["train"] if scaler_days is None else np.asarray(scaler_days, dtype=np.int64)
    raw = input_matrix(features)
    rv = features["rv"].to_numpy(np.float32)
    scaler = Standardizer().fit(raw[scaler_days])
    inputs = scaler.transform(raw)
    log_target = np.log(rv[days["train"]])

    seed_everything(seed)
    model = RecurrentRegressor(inputs.shape[1], hidden_size, cell,
                               out_shift=float(log_target.mean()), out_scale=float(log_target.std()))
    loaders = {}
    for name, d in days.items():
        dataset = TensorDataset(torch.from_numpy(make_windows(inputs, d, length)), torch.from_numpy(rv[d]))
        generator = torch.Generator().manual_seed(seed)
        loaders[name] = DataLoader(dataset, batch_size=batch_size if name == "train" else 1024,
                                   shuffle=name == "train", generator=generator)
    start = time.perf_counter()
    if loss == "qlike":
        loss_fn, metric = qlike_loss, (lambda y, out: qlike(y, np.exp(out)))
    else:
        scale = float(rv[days["train"]].mean())
        loss_fn = lambda out, y: mse_loss(out, y, scale)  # noqa: E731
        metric = lambda y, out: mse(y, np.exp(out))  # noqa: E731
    history = fit(model, loaders["train"], loaders["val"], loss_fn=loss_fn,
                  optimizer=torch.optim.Adam(model.parameters(), lr=lr), epochs=epochs,
                  metric=metric, metric_name=loss, mode="min",
                  patience=patience, grad_clip=grad_clip, device="cpu", progress=progress)
    seconds = time.perf_counter() - start
    log_forecast, _ = predict(model, loaders["test"], device="cpu")
    return {"forecast": np.exp(log_forecast.astype(np.float64)), "history": history,
            "params": count_parameters(model), "seconds": seconds, "model": model}


def neural_forecast(features: pd.DataFrame, fold: Fold, *, length: int = 22, return_info: bool = False,
                    **kwargs):
    """Walk-forward forecaster: train on ``fold.train`` (days with a full window), early-stop on
    ``fold.val``, forecast ``fold.test``; shape (len(test),). Keyword arguments go to
    :func:`train_and_forecast`. With ``return_info`` returns ``(forecast, info)``."""
    if not isinstance(fold, Fold):
        raise TypeError(f"fold must be a Fold, got {type(fold).__name__}")
    if fold.test[1] > len(features):
        raise ValueError(f"fold test window {fold.test} runs past the {len(features)} rows")
    train = fold.days("train")
    train = train[train >= length]
    if len(train) < 10:
        raise ValueError(f"fold.train holds only {len(train)} days with a full {length}-day window")
    info = train_and_forecast(features, train, fold.days("val"), fold.days("test"), length=length, **kwargs)
    return (info["forecast"], info) if return_info else info["forecast"]
