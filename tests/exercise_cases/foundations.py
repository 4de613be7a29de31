"""Wrong answers for notebook 01's exercises (format: tests/exercise_cases/__init__.py).

The answers are written as a learner would write them in the notebook: they use the notebook's own
NumPy ``sigmoid`` and ``relu`` (section 3), here imported from course_lib with the same definitions.
"""

import numpy as np
import torch

from course_lib import foundations
from course_lib.checks.foundations import check_output_layer_step, check_penalty_gradient, check_sigmoid_derivative
from course_lib.foundations import sigmoid
from exercise_cases import ExerciseCase


# ------------------------------------------------------------------ Exercise 1: sigmoid_derivative
def autograd_derivative(z):  # "let PyTorch do it": refused
    z_t = torch.tensor(z, requires_grad=True)
    torch.sigmoid(z_t).sum().backward()
    return z_t.grad.numpy()


def flattened(z):
    s = sigmoid(z)
    return (s * (1 - s)).ravel()


SIGMOID_WRONG = {
    "z(1 - z) instead of sigmoid(z)(1 - sigmoid(z))": lambda z: z * (1 - z),
    "sigmoid itself": lambda z: sigmoid(z),
    "1 - sigmoid(z)": lambda z: 1 - sigmoid(z),
    "1 - sigmoid(z)^2 (tanh's rule)": lambda z: 1 - sigmoid(z) ** 2,
    "sigmoid(z)(1 + sigmoid(z))": lambda z: sigmoid(z) * (1 + sigmoid(z)),
    "exp(-z) / (1 + exp(-z)) (missing square)": lambda z: np.exp(-z) / (1 + np.exp(-z)),
    "flattened result": flattened,
    "autograd": autograd_derivative,
    "forgot to return": lambda z: None,
}


# ------------------------------------------------------------------ Exercise 2: penalty_gradient
def autograd_penalty(W, alpha, lam):
    W_t = torch.tensor(W, requires_grad=True)
    (alpha * W_t.abs().sum() + lam / 2 * (W_t ** 2).sum()).backward()
    return W_t.grad.numpy()


def clipped_in_place(W, alpha, lam):
    W *= lam  # modifies the caller's weights
    return W + alpha * np.sign(W)


PENALTY_WRONG = {
    "L1 term missing": lambda W, alpha, lam: lam * W,
    "L2 term missing": lambda W, alpha, lam: alpha * np.sign(W),
    "L2 term halved (lam/2 * W)": lambda W, alpha, lam: alpha * np.sign(W) + lam / 2 * W,
    "L2 term doubled (2 lam W)": lambda W, alpha, lam: alpha * np.sign(W) + 2 * lam * W,
    "alpha instead of alpha * sign(W)": lambda W, alpha, lam: alpha + lam * W,
    "alpha * W instead of alpha * sign(W)": lambda W, alpha, lam: alpha * W + lam * W,
    "alpha * |W|": lambda W, alpha, lam: alpha * np.abs(W) + lam * W,
    "the penalty's value, summed": lambda W, alpha, lam: alpha * np.abs(W).sum() + lam / 2 * (W ** 2).sum(),
    "changes W in place": clipped_in_place,
    "autograd": autograd_penalty,
}


# ------------------------------------------------------------------ Exercise 3: output_layer_step
def _delta(A1, W2, b2, y):
    return ((sigmoid((A1 @ W2 + b2)[:, 0]) - y) / len(y))[:, None]


def no_mean(A1, W2, b2, y, lr):  # the gradient of the summed loss
    d = _delta(A1, W2, b2, y) * len(y)
    return W2 - lr * A1.T @ d, b2 - lr * d.sum(axis=0)


def ascent(A1, W2, b2, y, lr):  # + instead of -
    d = _delta(A1, W2, b2, y)
    return W2 + lr * A1.T @ d, b2 + lr * d.sum(axis=0)


def y_minus_p(A1, W2, b2, y, lr):
    d = -_delta(A1, W2, b2, y)
    return W2 - lr * A1.T @ d, b2 - lr * d.sum(axis=0)


def no_sigmoid(A1, W2, b2, y, lr):  # logits used as probabilities
    d = (((A1 @ W2 + b2)[:, 0] - y) / len(y))[:, None]
    return W2 - lr * A1.T @ d, b2 - lr * d.sum(axis=0)


def returns_gradients(A1, W2, b2, y, lr):
    d = _delta(A1, W2, b2, y)
    return A1.T @ d, d.sum(axis=0)


def bias_not_updated(A1, W2, b2, y, lr):
    return W2 - lr * A1.T @ _delta(A1, W2, b2, y), b2


def no_learning_rate(A1, W2, b2, y, lr):
    d = _delta(A1, W2, b2, y)
    return W2 - A1.T @ d, b2 - d.sum(axis=0)


def scalar_bias(A1, W2, b2, y, lr):
    d = _delta(A1, W2, b2, y)
    return W2 - lr * A1.T @ d, float((b2 - lr * d.sum(axis=0))[0])


def course_lib_backward(A1, W2, b2, y, lr):  # course_lib's backward pass on a "network" with no hidden layer
    params = {"W1": W2, "b1": b2}
    _, cache = foundations.forward(params, A1)
    grads = foundations.backward(params, cache, y)
    return W2 - lr * grads["W1"], b2 - lr * grads["b1"]


def autograd_step(A1, W2, b2, y, lr):
    W2_t, b2_t = torch.tensor(W2, requires_grad=True), torch.tensor(b2, requires_grad=True)
    logits = (torch.tensor(A1) @ W2_t + b2_t)[:, 0]
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(y)).backward()
    return W2 - lr * W2_t.grad.numpy(), b2 - lr * b2_t.grad.numpy()


STEP_WRONG = {
    "sum instead of mean (no 1/N)": no_mean,
    "gradient ascent (+ instead of -)": ascent,
    "y - p instead of p - y": y_minus_p,
    "no sigmoid": no_sigmoid,
    "returns the gradients": returns_gradients,
    "bias not updated": bias_not_updated,
    "learning rate ignored": no_learning_rate,
    "unchanged weights": lambda A1, W2, b2, y, lr: (W2, b2),
    "bias returned as a float": scalar_bias,
    "a single array": lambda A1, W2, b2, y, lr: W2,
    "course_lib.foundations.backward": course_lib_backward,
    "autograd": autograd_step,
}

CASES = [
    ExerciseCase(notebook="01_foundations", exercise="Exercise 1", check=check_sigmoid_derivative,
                 solution_name="sigmoid_derivative", wrong=SIGMOID_WRONG),
    ExerciseCase(notebook="01_foundations", exercise="Exercise 2", check=check_penalty_gradient,
                 solution_name="penalty_gradient", wrong=PENALTY_WRONG),
    ExerciseCase(notebook="01_foundations", exercise="Exercise 3", check=check_output_layer_step,
                 solution_name="output_layer_step", wrong=STEP_WRONG),
]
