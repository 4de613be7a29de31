"""Unit tests of course_lib.efficiency.distillation (notebook 08). The loss is checked against
formulas written out in NumPy (float64), the two-class special case and the large-temperature limit
of its gradient; training runs on small synthetic tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.efficiency.distillation import TinyCNN, distil, distillation_loss, teacher_logits
from course_lib.imaging.models import CompactCNN

torch.set_num_threads(1)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _toy_binary(seed: int = 0, n: int = 6):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, generator=g, dtype=torch.float64) * 2
    t = torch.randn(n, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(n, generator=g) > 0.5).double()
    return s, t, y


def _toy_multiclass(seed: int = 0, n: int = 5, c: int = 4):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, c, generator=g, dtype=torch.float64) * 2
    t = torch.randn(n, c, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, c, (n,), generator=g)
    return s, t, y


# ------------------------------------------------------------------------------------------ loss


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.5), (2.5, 0.9), (4.0, 1.0), (3.0, 0.0)])
def test_binary_loss_equals_the_formula_by_hand(temperature, alpha):
    s, t, y = _toy_binary()
    sn, tn, yn = s.numpy(), t.numpy(), y.numpy()
    p, q = _sigmoid(tn / temperature), _sigmoid(sn / temperature)
    kl = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))  # KL of two Bernoulli distributions
    hard = -(yn * np.log(_sigmoid(sn)) + (1 - yn) * np.log(1 - _sigmoid(sn)))
    expected = alpha * temperature**2 * kl.mean() + (1 - alpha) * hard.mean()
    got = distillation_loss(s, t, y, temperature=temperature, alpha=alpha)
    # float64 throughout, a handful of terms of size ~1: agreement to ~1e-14; 1e-10 is ample
    assert got.item() == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.5), (2.0, 1.0), (5.0, 0.0)])
def test_multiclass_loss_equals_the_formula_by_hand(temperature, alpha):
    s, t, y = _toy_multiclass()
    sn, tn, yn = s.numpy(), t.numpy(), y.numpy()
    p, q = _softmax(tn / temperature), _softmax(sn / temperature)
    kl = (p * np.log(p / q)).sum(axis=1)
    hard = -np.log(_softmax(sn)[np.arange(len(yn)), yn])
    expected = alpha * temperature**2 * kl.mean() + (1 - alpha) * hard.mean()
    got = distillation_loss(s, t, y, temperature=temperature, alpha=alpha)
    assert got.item() == pytest.approx(expected, abs=1e-10)


def test_binary_logit_is_the_two_class_case():
    s, t, y = _toy_binary(seed=3)
    zeros = torch.zeros_like(s)
    two_s, two_t = torch.stack([zeros, s], 1), torch.stack([zeros, t], 1)
    for alpha in (0.0, 0.3, 1.0):
        binary = distillation_loss(s, t, y, temperature=3.0, alpha=alpha)
        multiclass = distillation_loss(two_s, two_t, y.long(), temperature=3.0, alpha=alpha)
        assert binary.item() == pytest.approx(multiclass.item(), abs=1e-12)


def test_alpha_zero_is_plain_label_training_and_alpha_one_ignores_labels():
    s, t, y = _toy_binary()
    assert torch.equal(distillation_loss(s, t, y, alpha=0.0), F.binary_cross_entropy_with_logits(s, y))
    assert torch.equal(distillation_loss(s, t, y, alpha=1.0), distillation_loss(s, t, 1 - y, alpha=1.0))
    sm, tm, ym = _toy_multiclass()
    assert torch.equal(distillation_loss(sm, tm, ym, alpha=0.0), F.cross_entropy(sm, ym))
    assert torch.equal(distillation_loss(sm, tm, ym, alpha=1.0), distillation_loss(sm, tm, (ym + 1) % 4, alpha=1.0))
    # alpha=0 ignores the teacher
    assert torch.equal(distillation_loss(s, t, y, alpha=0.0), distillation_loss(s, -t, y, alpha=0.0))


@pytest.mark.parametrize("multiclass", [False, True])
def test_soft_term_vanishes_with_zero_gradient_when_the_student_copies_the_teacher(multiclass):
    _, t, y = _toy_multiclass() if multiclass else _toy_binary()
    s = t.clone().requires_grad_(True)
    loss = distillation_loss(s, t, y, temperature=4.0, alpha=1.0)
    loss.backward()
    assert abs(loss.item()) <= 1e-12
    assert s.grad.abs().max().item() <= 1e-12
    # and elsewhere the soft loss is positive (scaled, not shifted: softmax ignores a common shift)
    assert distillation_loss(1.5 * t, t, y, alpha=1.0).item() > 0


def test_temperature_squared_keeps_the_soft_gradient_scale():
    # d/ds [T^2 KL] per sample = T (sigmoid(s/T) - sigmoid(t/T)) -> (s - t)/4 as T grows (Hinton
    # et al.'s argument for the T^2 factor); the batch mean divides by N
    s, t, y = _toy_binary(seed=5)
    n = len(s)
    for temperature in (50.0, 200.0):
        student = s.clone().requires_grad_(True)
        distillation_loss(student, t, y, temperature=temperature, alpha=1.0).backward()
        limit = (s - t) / (4 * n)
        # next term of the expansion is O(|s - t| * max(|s|, |t|)^2 / T^2): < 2 % at T = 50
        np.testing.assert_allclose(student.grad.numpy(), limit.numpy(), rtol=0.02, atol=1e-6)
    # without T^2 the gradient would shrink as 1/T^2: the factor is there
    student = s.clone().requires_grad_(True)
    distillation_loss(student, t, y, temperature=1.0, alpha=1.0).backward()
    exact = (_sigmoid(s.numpy()) - _sigmoid(t.numpy())) / n
    np.testing.assert_allclose(student.grad.numpy(), exact, atol=1e-12)


def test_teacher_logits_are_detached():
    s, t, y = _toy_binary()
    t = t.clone().requires_grad_(True)
    distillation_loss(s.clone().requires_grad_(True), t, y).backward()
    assert t.grad is None


def test_distillation_loss_checks_its_arguments():
    s, t, y = _toy_binary()
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, t, y, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, t, y, temperature=-1)
    with pytest.raises(TypeError, match="temperature"):
        distillation_loss(s, t, y, temperature="4")
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, t, y, alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, t, y, alpha=-0.1)
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation_loss(s, t[:-1], y)
    with pytest.raises(ValueError, match="targets"):
        distillation_loss(s, t, y[:-1])
    with pytest.raises(ValueError, match="targets"):
        distillation_loss(s, t, y + 2)
    with pytest.raises(TypeError, match="student_logits"):
        distillation_loss(s.numpy(), t, y)
    with pytest.raises(ValueError, match="student_logits"):
        distillation_loss(s.reshape(2, 3, 1), t.reshape(2, 3, 1), y[:2])
    sm, tm, ym = _toy_multiclass()
    with pytest.raises(ValueError, match="0..3"):
        distillation_loss(sm, tm, ym + 4)
    with pytest.raises(ValueError, match="whole class"):
        distillation_loss(sm, tm, ym.double() + 0.5)


# --------------------------------------------------------------------------- student and teacher


def test_tiny_cnn_parameter_count_by_hand():
    student = TinyCNN()
    # convolutions without bias (3x3), batch norm (scale, shift), linear 16 -> 1 with bias
    expected = (1 * 4 + 4 * 8 + 8 * 16) * 9 + 2 * (4 + 8 + 16) + 16 + 1
    assert sum(p.numel() for p in student.parameters()) == expected == 1549
    assert sum(p.numel() for p in CompactCNN().parameters()) > 30 * expected
    out = student(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3,)


def test_teacher_logits_match_the_model_in_eval_mode():
    torch.manual_seed(0)
    model = CompactCNN(dropout=0.5).train()
    images = torch.randn(10, 1, 28, 28)
    got = teacher_logits(model, images, batch_size=3)  # batches of 3, 3, 3, 1
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        expected = model(images).numpy()
    assert got.dtype == np.float32 and got.shape == (10,)
    # batch norm in eval mode: per-sample computation, batch size does not matter up to rounding
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_teacher_logits_check_arguments():
    with pytest.raises(TypeError, match="model"):
        teacher_logits(None, torch.zeros(2, 1, 28, 28))
    with pytest.raises(TypeError, match="images"):
        teacher_logits(TinyCNN(), np.zeros((2, 1, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="images"):
        teacher_logits(TinyCNN(), torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="batch_size"):
        teacher_logits(TinyCNN(), torch.zeros(2, 1, 28, 28), batch_size=0)


# ----------------------------------------------------------------------------------------- distil


def _synthetic(seed: int, n: int):
    g = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=g) > 0.5).float()
    images = torch.randn(n, 1, 28, 28, generator=g) * 0.5
    images[:, :, 8:20, 8:20] += (2 * labels - 1)[:, None, None, None]  # a bright or dark square
    logits = 3 * (2 * labels - 1) + torch.randn(n, generator=g)  # a confident, mostly right teacher
    return images, labels, logits.numpy()


def _run(alpha=0.5, temperature=4.0, seed=0, train_labels=None, train_logits=None, epochs=2):
    xt, yt, lt = _synthetic(1, 96)
    xv, yv, lv = _synthetic(2, 48)
    torch.manual_seed(seed)
    student = TinyCNN()
    history = distil(student, xt, yt if train_labels is None else train_labels,
                     lt if train_logits is None else train_logits, xv, yv, lv,
                     temperature=temperature, alpha=alpha, epochs=epochs, lr=1e-2, batch_size=32, seed=seed)
    return student, history


def test_distil_learns_and_repeats_with_the_same_seed():
    student, history = _run(epochs=3)
    assert history.epochs == 3 and history.metric_name == "auc"
    assert history.best_metric > 0.8  # the square is easy to see
    student2, history2 = _run(epochs=3)
    assert history.train_loss == history2.train_loss and history.val_metric == history2.val_metric
    for a, b in zip(student.parameters(), student2.parameters()):
        assert torch.equal(a, b)


def test_distil_alpha_zero_ignores_the_teacher_and_alpha_one_the_labels():
    _, yt, lt = _synthetic(1, 96)
    _, h_a = _run(alpha=0.0)
    _, h_b = _run(alpha=0.0, train_logits=-lt)
    assert h_a.train_loss == h_b.train_loss and h_a.val_metric == h_b.val_metric
    _, h_c = _run(alpha=1.0)
    _, h_d = _run(alpha=1.0, train_labels=1 - yt)
    assert h_c.train_loss == h_d.train_loss
    # and the teacher does matter when alpha > 0
    _, h_e = _run(alpha=1.0, train_logits=-lt)
    assert h_e.train_loss != h_c.train_loss


def test_distil_multiclass_reports_accuracy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (40,), generator=g)
    logits = F.one_hot(y, 3).float() * 4
    torch.manual_seed(0)
    student = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    history = distil(student, x, y.numpy(), logits.numpy(), x, y.numpy(), logits.numpy(), epochs=2,
                     lr=1e-2, batch_size=16)
    assert history.metric_name == "accuracy" and 0.0 <= history.best_metric <= 1.0


def test_distil_checks_its_arguments():
    xt, yt, lt = _synthetic(1, 16)
    student = TinyCNN()
    with pytest.raises(TypeError, match="student"):
        distil("net", xt, yt, lt, xt, yt, lt)
    with pytest.raises(ValueError, match="train_teacher_logits"):
        distil(student, xt, yt, lt[:-1], xt, yt, lt)
    with pytest.raises(ValueError, match="val_labels"):
        distil(student, xt, yt, lt, xt, yt[:-1], lt)
    with pytest.raises(ValueError, match="temperature"):
        distil(student, xt, yt, lt, xt, yt, lt, temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        distil(student, xt, yt, lt, xt, yt, lt, alpha=2)
    with pytest.raises(TypeError, match="train_images"):
        distil(student, xt.numpy(), yt, lt, xt, yt, lt)
    with pytest.raises(ValueError, match="batch_size"):
        distil(student, xt, yt, lt, xt, yt, lt, batch_size=0)
