"""A multilayer perceptron in NumPy, forward and backward written by hand (notebook 01).

The network maps inputs ``X`` of shape ``(N, D)`` through hidden layers of ReLU units to one logit
per example, shape ``(N,)``; ``sigmoid(logit)`` is the predicted probability of class 1 and the loss
is the mean binary cross-entropy (in nats). Parameters live in a dict with one weight matrix and one
bias vector per layer::

    {"W1": (D, H1), "b1": (H1,), "W2": (H1, H2), "b2": (H2,), ..., "WL": (H_{L-1}, 1), "bL": (1,)}

Notebook 01 derives the backward pass for one hidden layer and checks it against
``torch.autograd``; this module is the same code for any number of layers, imported by later
notebooks and the assignments.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from course_lib.arrays import as_vector

Params = dict[str, np.ndarray]


# --- input checks -----------------------------------------------------------------------------

def _check_inputs(X, name: str = "X") -> np.ndarray:
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise TypeError(f"{name} must be a 2-D array of numbers, got {type(X).__name__}")
    array = np.asarray(X)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N examples, D features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_targets(y, n: int, name: str = "y") -> np.ndarray:
    array = as_vector(y, name, holding="0/1 labels")
    if len(array) != n:
        raise ValueError(f"X has {n} rows but {name} has {len(array)} labels")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold 0/1 numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold only 0 and 1")
    return array


def n_layers(params: Params) -> int:
    """Number of affine layers in ``params`` (checked: W1/b1 ... WL/bL with matching shapes)."""
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict such as init_mlp(...) returns")
    count = len(params) // 2
    expected = {f"{kind}{i}" for i in range(1, count + 1) for kind in "Wb"}
    if len(params) % 2 or set(params) != expected:
        raise ValueError(f"params must have keys W1, b1, ..., WL, bL; got {sorted(params)}")
    for i in range(1, count + 1):
        W, b = np.asarray(params[f"W{i}"]), np.asarray(params[f"b{i}"])
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"layer {i}: W{i} must be (fan_in, fan_out) and b{i} (fan_out,), "
                             f"got {W.shape} and {b.shape}")
        if i > 1 and W.shape[0] != params[f"W{i - 1}"].shape[1]:
            raise ValueError(f"layer {i}: W{i} expects {W.shape[0]} inputs but layer {i - 1} "
                             f"gives {params[f'W{i - 1}'].shape[1]}")
    if params[f"W{count}"].shape[1] != 1:
        raise ValueError(f"the last layer must have one output (a logit), got {params[f'W{count}'].shape[1]}")
    return count


# --- building blocks --------------------------------------------------------------------------

def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0), elementwise (any shape)."""
    return np.maximum(z, 0.0)


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """1 where z > 0, else 0 (the derivative at the kink z = 0 is taken as 0, as PyTorch does)."""
    return (np.asarray(z) > 0).astype(np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise, without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def binary_cross_entropy_with_logits(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy (nats) of logits ``(N,)`` against labels ``(N,)`` in {0, 1}.

    Written as ``max(z, 0) - z*y + log(1 + exp(-|z|))``, which equals
    ``-[y log sigmoid(z) + (1-y) log(1 - sigmoid(z))]`` but never takes the log of 0.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = _check_targets(y, len(z))
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


# --- the network ------------------------------------------------------------------------------

def init_mlp(layer_sizes: Sequence[int], seed: int = 0) -> Params:
    """He-initialised weights and zero biases for layer sizes ``(D, H1, ..., 1)``.

    ``W_i`` is drawn from N(0, 2 / fan_in) with ``numpy.random.default_rng(seed)``, layer by layer,
    so the same seed gives the same network.
    """
    sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else None
    if sizes is None or len(sizes) < 2:
        raise ValueError(f"layer_sizes must list at least an input and an output size, got {layer_sizes!r}")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"layer sizes must be positive ints, got {layer_sizes!r}")
    if sizes[-1] != 1:
        raise ValueError(f"the output size must be 1 (one logit for a binary problem), got {sizes[-1]}")
    rng = np.random.default_rng(seed)
    params: Params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return params


def forward(params: Params, X) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logits ``(N,)`` for inputs ``X`` ``(N, D)``, and the cache the backward pass needs.

    The cache holds ``A0 = X`` and, for every layer i, ``Z{i}`` (pre-activations, ``(N, H_i)``) and
    ``A{i} = relu(Z{i})`` for the hidden layers.
    """
    count = n_layers(params)
    A = _check_inputs(X)
    if A.shape[1] != params["W1"].shape[0]:
        raise ValueError(f"X has {A.shape[1]} features but W1 expects {params['W1'].shape[0]}")
    cache = {"A0": A}
    for i in range(1, count + 1):
        Z = A @ params[f"W{i}"] + params[f"b{i}"]
        cache[f"Z{i}"] = Z
        if i < count:
            A = relu(Z)
            cache[f"A{i}"] = A
    return cache[f"Z{count}"][:, 0], cache


def backward(params: Params, cache: dict[str, np.ndarray], y) -> Params:
    """Gradients of the mean binary cross-entropy with respect to every parameter.

    Args:
        params: the parameters used in :func:`forward`.
        cache: the cache :func:`forward` returned.
        y: labels ``(N,)`` in {0, 1}.

    Returns:
        ``{"W1": dL/dW1, "b1": dL/db1, ...}``, each with its parameter's shape.
    """
    count = n_layers(params)
    Z_out = cache[f"Z{count}"]
    y = _check_targets(y, Z_out.shape[0])
    n = Z_out.shape[0]
    dZ = ((sigmoid(Z_out[:, 0]) - y) / n)[:, None]  # dL/dlogit for sigmoid + BCE, (N, 1)
    grads: Params = {}
    for i in range(count, 0, -1):
        grads[f"W{i}"] = cache[f"A{i - 1}"].T @ dZ
        grads[f"b{i}"] = dZ.sum(axis=0)
        if i > 1:
            dZ = (dZ @ params[f"W{i}"].T) * relu_derivative(cache[f"Z{i - 1}"])
    return {key: grads[key] for key in params}


def _check_l2(l2) -> float:
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 >= 0:
        raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
    return float(l2)


def loss(params: Params, X, y, l2: float = 0.0) -> float:
    """Mean BCE (nats) plus ``l2 / 2 * sum ||W_i||^2`` (weights only, not biases)."""
    l2 = _check_l2(l2)
    value = binary_cross_entropy_with_logits(forward(params, X)[0], y)
    return value + 0.5 * l2 * sum(float(np.sum(v ** 2)) for k, v in params.items() if k.startswith("W"))


def loss_and_gradients(params: Params, X, y, l2: float = 0.0) -> tuple[float, Params]:
    """:func:`loss` and its gradients ``{"W1": (D, H1), "b1": (H1,), ...}``."""
    l2 = _check_l2(l2)
    logits, cache = forward(params, X)
    loss = binary_cross_entropy_with_logits(logits, y)
    grads = backward(params, cache, y)
    if l2:
        for key in params:
            if key.startswith("W"):
                loss += 0.5 * l2 * float(np.sum(params[key] ** 2))
                grads[key] = grads[key] + l2 * params[key]
    return loss, grads


def predict_proba(params: Params, X) -> np.ndarray:
    """Predicted probability of class 1, shape ``(N,)``."""
    return sigmoid(forward(params, X)[0])


def gradient_descent_step(params: Params, grads: Params, lr: float) -> Params:
    """New parameters ``p - lr * grad`` (the inputs are not modified)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if set(grads) != set(params):
        raise ValueError(f"grads must have the keys of params {sorted(params)}, got {sorted(grads)}")
    return {key: params[key] - lr * grads[key] for key in params}


def train_mlp(
    params: Params, X, y, *, epochs: int, lr: float, batch_size: int = 32, l2: float = 0.0,
    seed: int = 0, X_val=None, y_val=None,
) -> tuple[Params, dict[str, list[float]]]:
    """Mini-batch gradient descent; returns the final parameters and per-epoch losses.

    Each epoch visits the training rows in the order ``numpy.random.default_rng(seed)`` draws
    (a new permutation per epoch) in batches of ``batch_size``. The history has ``train_loss``
    (mean BCE over the training set after the epoch) and, when ``X_val``/``y_val`` are given,
    ``val_loss``; both exclude the L2 term.
    """
    X = _check_inputs(X)
    y = _check_targets(y, X.shape[0])
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither")
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"train_loss": []}
    if X_val is not None:
        history["val_loss"] = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            _, grads = loss_and_gradients(params, X[rows], y[rows], l2=l2)
            params = gradient_descent_step(params, grads, lr)
        history["train_loss"].append(binary_cross_entropy_with_logits(forward(params, X)[0], y))
        if X_val is not None:
            history["val_loss"].append(binary_cross_entropy_with_logits(forward(params, X_val)[0], y_val))
    return params, history


# --- checking gradients -----------------------------------------------------------------------

def relative_error(a, b) -> float:
    """``||a - b|| / max(||a||, ||b||)`` (Euclidean norms; 0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def numerical_gradient(params: Params, X, y, key: str, index: tuple[int, ...], eps: float = 1e-6,
                       l2: float = 0.0) -> float:
    """Central finite difference ``(L(p + eps) - L(p - eps)) / (2 eps)`` for one parameter entry."""
    if key not in params:
        raise ValueError(f"unknown parameter {key!r}; have {sorted(params)}")
    index = tuple(index)
    if len(index) != params[key].ndim or any(not 0 <= i < s for i, s in zip(index, params[key].shape)):
        raise ValueError(f"index {index} is outside {key} of shape {params[key].shape}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    values = []
    for sign in (1.0, -1.0):
        shifted = {k: v.copy() for k, v in params.items()}
        shifted[key][index] += sign * eps
        values.append(loss(shifted, X, y, l2=l2))
    return (values[0] - values[1]) / (2 * eps)
