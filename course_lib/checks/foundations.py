"""Self-checks of notebook 01's exercises (see :mod:`course_lib.checks` for the design).

Each check draws fresh inputs (shapes, values, hyperparameters) from
:func:`~course_lib.checks._common.fresh_rng`, adds fixed edge cases that separate the wrong answers
learners are known to write (tests/exercise_cases/foundations.py lists them), compares with a
float64 reference written out here, and refuses answers that let a library differentiate for them.
"""

from __future__ import annotations

import numpy as np

from course_lib import foundations
from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code

#: Ways to let a library do the differentiation the exercises ask for (by name: autograd entry points).
AUTOGRAD = ("backward", "grad", "jacobian", "vjp")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # the two branches avoid exp overflow for large |z|; float64 throughout
    positive = z >= 0
    out = np.empty_like(z)
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def _returns_pair(answer, seed: int) -> tuple:
    expect(answer is not None, "your function returned None: did it forget to `return (W2_new, b2_new)`?", seed)
    expect(isinstance(answer, (tuple, list)) and len(answer) == 2,
           f"return a tuple (W2_new, b2_new), got {type(answer).__name__}", seed)
    return tuple(answer)


def check_sigmoid_derivative(sigmoid_derivative, *, seed=None) -> None:
    """Exercise 1: ``sigmoid_derivative(z)`` = σ'(z) = σ(z)(1 − σ(z)) elementwise, for ``z`` of any shape.

    Inputs: a float64 array of a fresh random shape (2–3 axes) with values in [−8, 8], plus the fixed
    points 0 (σ' = 1/4) and ±2 — which separate σ(z)(1 − σ(z)) from z(1 − z), σ(z), 1 − σ(z)² and the
    other near-misses. Refuses answers that call autograd (``backward``, ``torch.autograd.grad``...).
    """
    require_own_code(sigmoid_derivative, *AUTOGRAD)
    rng, seed = fresh_rng(seed)
    # 2 or 3 axes (a flattened answer then has the wrong shape), at least 3 entries for the fixed points
    shape = tuple(int(n) for n in rng.integers(2, 6, size=int(rng.integers(2, 4))))
    z = rng.uniform(-8.0, 8.0, size=shape)
    z.flat[:3] = (0.0, 2.0, -2.0)  # fixed edge cases inside the random array
    given = z.copy()
    answer = sigmoid_derivative(z)
    expect(np.array_equal(z, given), "sigmoid_derivative changed its input z; compute a new array instead", seed)
    s = _sigmoid(given)
    # float64: a correct formula (in any algebraic form) agrees with this reference to ~1e-12 relative
    # (1 − σ(z) loses ~3 of 16 digits to cancellation at |z| = 8); rtol=1e-6 also accepts float32
    # arithmetic (~1e-7), while every wrong formula listed above is off by 1e-2 or more at z = 0 or ±2.
    assert_close(answer, s * (1.0 - s), rtol=1e-6, atol=1e-12, what=f"sigmoid_derivative(z) for z of shape {shape}",
                 seed=seed)


def check_penalty_gradient(penalty_gradient, *, seed=None) -> None:
    """Exercise 2: ``penalty_gradient(W, alpha, lam)`` = ∂/∂W [α Σ|W| + (λ/2) Σ W²] = α·sign(W) + λ·W.

    Inputs: ``W`` of a fresh random shape (no entry exactly 0), and α, λ drawn fresh — once with
    α = 0, once with λ = 0 and once with both non-zero, so a missing or mis-scaled term of either
    penalty is caught. Refuses answers that call autograd.
    """
    require_own_code(penalty_gradient, *AUTOGRAD)
    rng, seed = fresh_rng(seed)
    shape = (int(rng.integers(2, 7)), int(rng.integers(2, 7)))
    W = rng.normal(size=shape)
    W[np.abs(W) < 1e-3] = 0.5  # the exercise assumes no entry is exactly 0 (sign is undefined there)
    W.flat[0], W.flat[1] = -abs(W.flat[0]), abs(W.flat[1])  # both signs present: sign(W) is not a constant
    settings = [(0.0, float(rng.uniform(0.05, 0.5))), (float(rng.uniform(0.01, 0.1)), 0.0),
                (float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.05, 0.5)))]
    for alpha, lam in settings:
        given = W.copy()
        answer = penalty_gradient(W, alpha, lam)
        expect(np.array_equal(W, given), "penalty_gradient changed its input W; compute a new array instead", seed)
        # float64: one multiply-add per entry, exact to ~1e-16 relative; rtol=1e-7 also accepts float32, while a
        # missing, halved or doubled term is off by at least α ≥ 0.01 or λ|W| (relative 0.5 or more)
        assert_close(answer, alpha * np.sign(given) + lam * given, rtol=1e-7, atol=1e-12,
                     what=f"penalty_gradient(W, alpha={alpha:.4g}, lam={lam:.4g}) for W of shape {shape}", seed=seed)


def check_output_layer_step(output_layer_step, *, seed=None) -> None:
    """Exercise 3: one gradient-descent step on the output layer,
    ``output_layer_step(A1, W2, b2, y, lr) -> (W2 − lr·A1ᵀδ, b2 − lr·Σδ)`` with δ = (σ(A1 W2 + b2) − y) / N,
    the gradient of the *mean* binary cross-entropy.

    Inputs: fresh random N (not a power of 2), H, activations (non-negative, as after ReLU), weights,
    labels with both classes and learning rate; shapes ``A1 (N, H)``, ``W2 (H, 1)``, ``b2 (1,)``,
    ``y (N,)``. Separates a missing 1/N, a flipped sign, a missing sigmoid, returning the gradient
    instead of the updated weights and a transposed product. Refuses autograd and course_lib's own
    backward pass.
    """
    require_own_code(output_layer_step, *AUTOGRAD, foundations.backward, foundations.loss_and_gradients,
                     foundations.gradient_descent_step)
    rng, seed = fresh_rng(seed)
    N, H = int(rng.choice([7, 11, 13, 19, 23, 29])), int(rng.integers(2, 9))
    A1 = np.maximum(rng.normal(size=(N, H)), 0.0)
    W2, b2 = rng.normal(size=(H, 1)), rng.normal(size=1)
    y = rng.permutation(np.r_[np.zeros(N // 2), np.ones(N - N // 2)])  # both classes present
    lr = float(rng.uniform(0.1, 0.9))
    delta = ((_sigmoid((A1 @ W2 + b2)[:, 0]) - y) / N)[:, None]  # (N, 1)
    W2_expected, b2_expected = W2 - lr * (A1.T @ delta), b2 - lr * delta.sum(axis=0)
    W2_new, b2_new = _returns_pair(output_layer_step(A1.copy(), W2.copy(), b2.copy(), y.copy(), lr), seed)
    where = f"N={N}, H={H}, lr={lr:.3g}"
    # float64: a correct step agrees with this reference to ~1e-15 relative (sums over N rows in another order);
    # rtol=1e-7 also accepts float32 arithmetic, while a missing 1/N (factor N ≥ 7), a flipped sign, a missing
    # sigmoid or an unchanged parameter is off by 1e-2 or more
    assert_close(W2_new, W2_expected, rtol=1e-7, atol=1e-10, what=f"W2_new ({where})", seed=seed)
    assert_close(b2_new, b2_expected, rtol=1e-7, atol=1e-10, what=f"b2_new ({where})", seed=seed)
