"""course_lib.foundations: hand-written backpropagation against torch.autograd, and input checks."""

import numpy as np
import pytest
import torch

from course_lib import foundations as F


def _data(n=40, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.5).astype(np.int64)
    return X, y


def _autograd(params, X, y, l2=0.0):
    """Loss and gradients of the same network computed by torch.autograd in float64."""
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    count = len(params) // 2
    A = torch.tensor(X, dtype=torch.float64)
    for i in range(1, count + 1):
        Z = A @ tensors[f"W{i}"] + tensors[f"b{i}"]
        A = torch.relu(Z) if i < count else Z
    targets = torch.tensor(y, dtype=torch.float64)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(A[:, 0], targets)
    loss = loss + 0.5 * l2 * sum((t ** 2).sum() for k, t in tensors.items() if k.startswith("W"))
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in tensors.items()}


@pytest.mark.parametrize("sizes, l2", [((7, 1), 0.0), ((7, 16, 1), 0.0), ((7, 5, 4, 1), 0.0), ((7, 6, 1), 0.3)])
def test_gradients_match_autograd(sizes, l2):
    X, y = _data()
    params = F.init_mlp(sizes, seed=1)
    # move the biases away from 0 so every term of the backward pass is exercised
    params = {k: v + 0.1 if k.startswith("b") else v for k, v in params.items()}
    loss, grads = F.loss_and_gradients(params, X, y, l2=l2)
    expected_loss, expected = _autograd(params, X, y, l2=l2)
    # Both sides are float64 with sums of <= 40 terms in different orders/BLAS kernels: they agree to
    # ~1e-15 (measured <= 7e-16 with OpenBLAS Haswell/Zen/Prescott kernels, 1 or 2 threads). rel 1e-10
    # and the usual gradient-check bound 1e-6 leave a wide margin on any CPU and still catch a wrong
    # term, which is off by ~1e-2 or more (see test_wrong_gradient_is_detected).
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    assert set(grads) == set(params)
    for key in params:
        assert grads[key].shape == params[key].shape
        assert F.relative_error(grads[key], expected[key]) <= 1e-6, key


def test_wrong_gradient_is_detected():
    X, y = _data()
    params = F.init_mlp((7, 5, 1), seed=0)
    _, expected = _autograd(params, X, y)
    wrong = expected["W1"].copy()
    wrong[0, 0] += 1e-2 * np.abs(wrong).max() + 1e-3
    assert F.relative_error(wrong, expected["W1"]) > 1e-6


def test_finite_differences_agree_with_backprop():
    X, y = _data(seed=3)
    params = F.init_mlp((7, 5, 1), seed=2)
    _, grads = F.loss_and_gradients(params, X, y, l2=0.1)
    # float64 central differences with eps 1e-6: truncation ~eps^2 = 1e-12, rounding ~eps64 * loss / eps
    # ~ 1e-10 (measured <= 1.5e-10 across BLAS kernels). The smallest gradient checked is 2.7e-3, so
    # rel 1e-5 allows >= 2.7e-8, 100x the rounding; a wrong gradient (e.g. no l2 term) is off by >1e-2.
    for key, index in (("W1", (2, 3)), ("b1", (1,)), ("W2", (4, 0)), ("b2", (0,))):
        numeric = F.numerical_gradient(params, X, y, key, index, l2=0.1)
        assert numeric == pytest.approx(grads[key][index], rel=1e-5, abs=1e-9)


def test_forward_shapes_and_probabilities():
    X, y = _data(n=12)
    params = F.init_mlp((7, 3, 1))
    logits, cache = F.forward(params, X)
    assert logits.shape == (12,)
    assert cache["Z1"].shape == (12, 3) and cache["A1"].shape == (12, 3)
    p = F.predict_proba(params, X)
    assert p.shape == (12,) and np.all((p >= 0) & (p <= 1))


def test_sigmoid_and_loss_are_stable_for_large_logits():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise"):
        s = F.sigmoid(z)
        loss = F.binary_cross_entropy_with_logits(z, np.array([0, 0, 1, 1, 1]))
    # exact in IEEE float64 on any CPU: exp(-1000) underflows to 0, so these are 0/(1+0), 1/(1+0), 1/(1+1)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    assert np.isfinite(loss)


def test_training_is_deterministic_and_lowers_the_loss():
    X, y = _data(n=80, seed=4)
    first = F.train_mlp(F.init_mlp((7, 8, 1), seed=0), X, y, epochs=30, lr=0.1, batch_size=16, seed=5)
    second = F.train_mlp(F.init_mlp((7, 8, 1), seed=0), X, y, epochs=30, lr=0.1, batch_size=16, seed=5)
    # exact: the same seeds and data in one process, same BLAS kernels and threads -> bit-identical
    assert first[1]["train_loss"] == second[1]["train_loss"]
    assert first[1]["train_loss"][-1] < F.loss(F.init_mlp((7, 8, 1), seed=0), X, y)  # 0.58 < 0.78


def test_gradient_descent_step_does_not_modify_inputs():
    params = F.init_mlp((3, 2, 1))
    before = {k: v.copy() for k, v in params.items()}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    new = F.gradient_descent_step(params, grads, lr=0.5)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    # p - 0.5 * 1.0 is the same single float64 subtraction on both sides (equal in fact); allclose's
    # defaults (rtol 1e-5, atol 1e-8) are far below the 0.5 a wrong step would be off by
    assert all(np.allclose(new[k], before[k] - 0.5) for k in params)


@pytest.mark.parametrize("sizes", [[30], [30, 4, 2], [30, 0, 1], [30.0, 4, 1], "abc"])
def test_init_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="size"):
        F.init_mlp(sizes)


def test_bad_inputs_raise_clear_errors():
    X, y = _data()
    params = F.init_mlp((7, 4, 1))
    with pytest.raises(ValueError, match="features"):
        F.forward(params, X[:, :5])
    with pytest.raises(ValueError, match="2-D"):
        F.forward(params, X[0])
    with pytest.raises(TypeError, match="array"):
        F.forward(params, "not an array")
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        F.forward(params, bad)
    with pytest.raises(ValueError, match="only 0 and 1"):
        F.loss_and_gradients(params, X, y * 2)
    with pytest.raises(ValueError, match="labels"):
        F.loss_and_gradients(params, X, y[:-1])
    with pytest.raises(ValueError, match="keys"):
        F.forward({"W1": params["W1"], "b1": params["b1"], "W3": params["W2"], "b3": params["b2"]}, X)
    with pytest.raises(TypeError, match="dict"):
        F.forward([params["W1"]], X)
    with pytest.raises(ValueError, match="inputs"):
        F.forward({**params, "W2": np.zeros((5, 1))}, X)
    with pytest.raises(ValueError, match="lr"):
        F.gradient_descent_step(params, params, lr=-1)
    with pytest.raises(ValueError, match="l2"):
        F.loss_and_gradients(params, X, y, l2=-0.1)
    with pytest.raises(ValueError, match="epochs"):
        F.train_mlp(params, X, y, epochs=0, lr=0.1)
    with pytest.raises(ValueError, match="X_val"):
        F.train_mlp(params, X, y, epochs=1, lr=0.1, X_val=X)
    with pytest.raises(ValueError, match="shapes"):
        F.relative_error(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="unknown parameter"):
        F.numerical_gradient(params, X, y, "W9", (0, 0))
    with pytest.raises(ValueError, match="outside"):
        F.numerical_gradient(params, X, y, "W1", (7, 0))


# ------------------------------------------------------------------ notebook 01's from-scratch cells agree with course_lib
def _notebook_functions(*markers):
    """The functions defined in notebook 01's cells that start with ``markers`` (only the defs are run:
    the rest of a cell needs the notebook's data)."""
    import ast
    import json

    from course_lib.environment import repository_root

    cells = json.loads((repository_root() / "notebooks" / "01_foundations.ipynb").read_text(encoding="utf-8"))["cells"]
    namespace = {"np": np}
    for marker in markers:
        (source,) = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
                     and "".join(c["source"]).startswith(f"# from-scratch: {marker}")]
        tree = ast.parse(source)
        tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        exec(compile(tree, "01_foundations.ipynb", "exec"), namespace)
    return namespace


def test_the_notebooks_from_scratch_mlp_agrees_with_course_lib():
    nb = _notebook_functions("activations", "forward and backward pass")
    X, y = _data(n=37, d=30, seed=3)
    z = np.linspace(-30, 30, 121)
    # float64: for z < 0 course_lib computes e^z / (1 + e^z) (no overflow) where the notebook computes
    # 1 / (1 + e^-z): a few ulp apart (~1e-16 relative, exp itself may differ by 1 ulp across libms);
    # 1e-13 relative leaves a wide margin, a wrong formula is off by far more
    assert np.allclose(nb["sigmoid"](z), F.sigmoid(z), rtol=1e-13, atol=1e-300)
    assert np.array_equal(nb["relu"](z), F.relu(z))  # max(z, 0): exact
    params = nb["init_params"](30, 16, seed=5)
    lib = F.init_mlp([30, 16, 1], seed=5)
    assert all(np.array_equal(params[k], lib[k]) for k in lib)  # the same draws in the same order: exact
    p_nb, cache = nb["forward_np"](params, X)
    grads_nb = nb["backward_np"](params, cache, y)
    loss_lib, grads_lib = F.loss_and_gradients(lib, X, y)
    # float64, the same operations in the same order: equal to the last bit or a few ulp if BLAS picks
    # another kernel; 1e-12 relative allows that, any real difference (a missing 1/N, a mask) is ≥ 1e-2
    assert np.isclose(nb["bce_from_logits"](cache["z2"], y), loss_lib, rtol=1e-12, atol=0)
    assert np.allclose(p_nb, F.predict_proba(lib, X), rtol=1e-12, atol=1e-15)
    assert all(F.relative_error(grads_nb[k], grads_lib[k]) < 1e-12 for k in lib)
