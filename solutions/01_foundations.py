# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 01 Foundations
#
# Try each exercise first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.foundations` (fresh random inputs, five times), so
# CI proves each one passes. The notebook's section 3 defines `sigmoid` and `relu`; they are repeated
# here so this file runs on its own.

# %%
import numpy as np


def relu(z):
    return np.maximum(z, 0.0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# %% [markdown]
# ## Exercise 1 — the sigmoid's derivative
#
# Write $\sigma(z) = (1 + e^{-z})^{-1}$ and differentiate with the chain rule:
# $\sigma'(z) = e^{-z} / (1 + e^{-z})^2$. Split the fraction:
# $\frac{1}{1 + e^{-z}} \cdot \frac{e^{-z}}{1 + e^{-z}} = \sigma(z)\,(1 - \sigma(z))$, because
# $\frac{e^{-z}}{1 + e^{-z}} = 1 - \frac{1}{1 + e^{-z}}$. So the derivative is computed from the
# sigmoid itself — which backpropagation already has from the forward pass. Elementwise NumPy
# operations keep the shape of `z`. (A common slip is `z * (1 - z)`: the formula applies to
# $\sigma(z)$, not to $z$.)

# %%
def sigmoid_derivative(z):
    s = sigmoid(np.asarray(z, dtype=float))
    return s * (1.0 - s)


# %% [markdown]
# ## Exercise 2 — the gradient of a penalty
#
# The penalty is a sum over entries, so each entry's derivative involves only that entry:
# $\partial(\alpha|w|)/\partial w = \alpha\,\mathrm{sign}(w)$ (for $w \neq 0$) and
# $\partial(\tfrac{\lambda}{2} w^2)/\partial w = \lambda w$ — the $\tfrac12$ is there precisely so
# that the 2 from the square cancels. The gradient has the shape of `W`.

# %%
def penalty_gradient(W, alpha, lam):
    W = np.asarray(W, dtype=float)
    return alpha * np.sign(W) + lam * W


# %% [markdown]
# ## Exercise 3 — one gradient-descent step on the output layer
#
# Section 4's table: for the mean binary cross-entropy of $\sigma(\mathbf z_2)$ with
# $\mathbf z_2 = A_1 W_2 + b_2$, the gradient with respect to each logit is
# $\delta_i = (p_i - y_i)/N$ — the $1/N$ comes from the *mean*. Then
# $\partial L/\partial W_2 = A_1^\top \delta$ ($H \times 1$, the shape of $W_2$) and
# $\partial L/\partial b_2 = \sum_i \delta_i$ (shape $(1,)$). A step of gradient *descent* subtracts
# the learning rate times the gradient. New arrays are returned; the inputs stay untouched.

# %%
def output_layer_step(A1, W2, b2, y, lr):
    p = sigmoid((A1 @ W2 + b2)[:, 0])          # (N,) predicted probabilities
    delta = ((p - y) / len(y))[:, None]         # (N, 1) dL/dz2 for the mean loss
    W2_new = W2 - lr * (A1.T @ delta)           # (H, 1)
    b2_new = b2 - lr * delta.sum(axis=0)        # (1,)
    return W2_new, b2_new
