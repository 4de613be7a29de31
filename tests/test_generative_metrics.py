"""Unit tests of the metrics for generative models (course_lib.generative: frechet, precision_recall,
two_sample, memorisation, features). Every expected value comes from a closed form, a hand-checkable
toy case or an independent computation (scikit-learn, eigendecompositions, brute-force loops)."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist
from sklearn.linear_model import LogisticRegression
from torch import nn

from course_lib.generative.features import penultimate_features
from course_lib.generative.frechet import frechet_distance, frechet_distance_from_statistics, gaussian_statistics
from course_lib.generative.memorisation import memorisation_ratio, nearest_training_neighbours
from course_lib.generative.precision_recall import PrecisionRecall, precision_recall
from course_lib.generative.two_sample import classifier_two_sample_test, fit_logistic

# the module, not the function of the same name that course_lib.generative exports
pr_module = importlib.import_module("course_lib.generative.precision_recall")

torch.set_num_threads(1)


def _gaussian(seed: int, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _frechet_symmetric_form(a: np.ndarray, b: np.ndarray) -> float:
    """Independent route: Tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2) by eigendecompositions only."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    cross = _psd_sqrt(root_a @ cov_b @ root_a)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross))


# ------------------------------------------------------------------------------------ Fréchet distance


def test_frechet_one_dimensional_closed_form_by_hand():
    # (1 - (-2))^2 + 4 + 9 - 2 sqrt(4 * 9) = 9 + 13 - 12 = 10
    assert frechet_distance_from_statistics([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(10.0, rel=1e-12)


def test_frechet_distance_of_one_dimensional_samples_matches_closed_form():
    a, b = _gaussian(0, 300, 1), _gaussian(1, 200, 1, shift=1.5) * 2.0
    m1, m2, s1, s2 = a.mean(), b.mean(), a.var(ddof=1), b.var(ddof=1)
    expected = (m1 - m2) ** 2 + s1 + s2 - 2 * np.sqrt(s1 * s2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_diagonal_covariances_closed_form():
    means_a, means_b = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 3.0])
    vars_a, vars_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((means_a - means_b) ** 2 + vars_a + vars_b - 2 * np.sqrt(vars_a * vars_b))
    got = frechet_distance_from_statistics(means_a, np.diag(vars_a), means_b, np.diag(vars_b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_gaussian_statistics_match_numpy():
    features = _gaussian(2, 50, 4)
    mean, cov = gaussian_statistics(features)
    np.testing.assert_allclose(mean, features.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(features.T), rtol=1e-12)
    assert gaussian_statistics(features[:, :1])[1].shape == (1, 1)


def test_frechet_general_covariances_match_symmetric_form():
    mixing = np.random.default_rng(3).normal(size=(6, 6))
    a, b = _gaussian(4, 400, 6) @ mixing, _gaussian(5, 300, 6, shift=0.3) @ mixing.T
    assert frechet_distance(a, b) == pytest.approx(_frechet_symmetric_form(a, b), rel=1e-6)


def test_frechet_singular_covariances_fewer_samples_than_features():
    a, b = _gaussian(6, 5, 10), _gaussian(7, 8, 10, shift=0.5)
    got = frechet_distance(a, b)
    # the EPS = 1e-6 diagonal fix moves the value by ~sqrt(EPS) at most per null direction
    assert np.isfinite(got) and got == pytest.approx(_frechet_symmetric_form(a, b), abs=1e-2)


def test_frechet_zero_for_identical_samples_and_symmetric():
    a, b = _gaussian(8, 500, 16), _gaussian(9, 400, 16, shift=0.2)
    # float64 traces of ~16 cancel to ~1e-13; 1e-8 leaves a wide margin
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-8)


def test_frechet_grows_with_a_mean_shift_by_exactly_its_squared_length():
    a = _gaussian(10, 300, 5)
    values = [frechet_distance(a, a + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] < values[1]
    # same covariance: only ||shift||^2 = 5 * shift^2 is left
    np.testing.assert_allclose(values[1:], [5 * 0.25, 5 * 1.0, 5 * 4.0], rtol=1e-7)


@pytest.mark.parametrize("call, error, words", [
    (lambda: frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))), ValueError, "features_a has 3"),
    (lambda: frechet_distance(np.zeros((1, 3)), np.zeros((5, 3))), ValueError, "features_a needs at least 2"),
    (lambda: frechet_distance("abc", np.zeros((5, 3))), TypeError, "features_a"),
    (lambda: frechet_distance(np.full((4, 2), np.nan), np.zeros((4, 2))), ValueError, "NaN"),
    (lambda: frechet_distance(np.zeros(5), np.zeros((5, 1))), ValueError, "features_a must be a matrix"),
    (lambda: gaussian_statistics(np.zeros((1, 3))), ValueError, "features needs at least 2"),
    (lambda: frechet_distance_from_statistics([0, 0], np.eye(2), [0, 0, 0], np.eye(3)), ValueError, "mean_a has 2"),
    (lambda: frechet_distance_from_statistics([0, 0], np.eye(3), [0, 0], np.eye(2)), ValueError, "cov_a must be (2, 2)"),
    (lambda: frechet_distance_from_statistics([0, 0], [[1, 1], [0, 1]], [0, 0], np.eye(2)), ValueError,
     "cov_a must be symmetric"),
    (lambda: frechet_distance_from_statistics([0.0], [[1.0]], [0.0], [[-1.0]]), ValueError, "imaginary"),
    (lambda: frechet_distance_from_statistics(None, [[1.0]], [0.0], [[1.0]]), TypeError, "mean_a"),
])
def test_frechet_rejects_bad_input(call, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        call()


# ------------------------------------------------------------------------------ precision and recall


def _brute_force_precision_recall(real, fake, k):
    def radii(points):
        return np.sort(cdist(points, points), axis=1)[:, k]

    def share_inside(queries, centres):
        return float(np.mean([any(np.linalg.norm(q - c) <= r for c, r in zip(centres, radii(centres)))
                              for q in queries]))

    return share_inside(fake, real), share_inside(real, fake)


def test_precision_recall_identical_sets_and_far_away_set():
    real = _gaussian(11, 200, 8)
    assert precision_recall(real, real.copy(), k=3) == PrecisionRecall(1.0, 1.0, 3)
    far = precision_recall(real, real + 1000.0, k=3)
    assert (far.precision, far.recall) == (0.0, 0.0)


def test_precision_recall_collapsed_fake_set():
    real = _gaussian(12, 200, 8)
    fake = np.repeat(real[7:8], 50, axis=0)           # every sample is the same real image
    result = precision_recall(real, fake, k=3)
    # all fake samples sit on a real sample; the fake manifold is one point of radius 0: only real[7]
    assert result.precision == 1.0
    assert result.recall == pytest.approx(1 / 200)


def test_precision_recall_one_dimensional_toy_case_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])   # k=1 radii: 1, 1, 1, 1, 7
    fake = np.array([[0.4], [0.6], [5.0], [20.0]])          # k=1 radii: 0.2, 0.2, 4.4, 15
    # precision: 0.4, 0.6 (near 0), 5.0 (within 7 of 10) in; 20 (10 from 10 > 7) out -> 3/4
    # recall: 1 (4 from 5.0 <= 4.4), 2, 3, 10 (10 from 20 <= 15) in; 0 (0.4 > 0.2, 5 > 4.4) out -> 4/5
    result = precision_recall(real, fake, k=1)
    assert (result.precision, result.recall, result.k) == (pytest.approx(0.75), pytest.approx(0.8), 1)


def test_precision_recall_matches_brute_force_across_chunks(monkeypatch):
    monkeypatch.setattr(pr_module, "CHUNK", 7)         # several blocks of rows, one of them partial
    real, fake = _gaussian(13, 40, 3), _gaussian(14, 30, 3, shift=0.7)
    result = precision_recall(real, fake, k=2)
    assert (result.precision, result.recall) == pytest.approx(_brute_force_precision_recall(real, fake, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.k = 5


@pytest.mark.parametrize("k, n_fake, error, words", [
    (10, 10, ValueError, "k must be smaller"), (5, 5, ValueError, "k must be smaller"),
    (0, 20, ValueError, "k must be at least 1"), (True, 20, TypeError, "k must be an integer"),
    (2.0, 20, TypeError, "k must be an integer"),
])
def test_precision_recall_rejects_bad_k(k, n_fake, error, words):
    with pytest.raises(error, match=words):
        precision_recall(_gaussian(0, 20, 2), _gaussian(1, n_fake, 2), k=k)


def test_precision_recall_rejects_mismatched_sets():
    with pytest.raises(ValueError, match="real_features has 2 features"):
        precision_recall(_gaussian(0, 20, 2), _gaussian(1, 20, 3))
    with pytest.raises(TypeError, match="fake_features"):
        precision_recall(_gaussian(0, 20, 2), None)


# -------------------------------------------------------------------------- classifier two-sample test


def test_fit_logistic_matches_scikit_learn():
    features = np.vstack([_gaussian(15, 150, 4, shift=0.4), _gaussian(16, 150, 4)])
    labels = np.repeat([1.0, 0.0], 150)
    weights = fit_logistic(features, labels[:, None])[:, 0]
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(features, labels)
    # both converge to the same optimum; fit_logistic stops when no weight moves by 1e-6
    np.testing.assert_allclose(weights[:-1], reference.coef_[0], atol=1e-4)
    assert weights[-1] == pytest.approx(reference.intercept_[0], abs=1e-4)


def test_two_sample_same_distribution_is_not_rejected():
    results = [classifier_two_sample_test(_gaussian(seed, 200, 10), _gaussian(seed + 100, 200, 10),
                                          seed=seed, n_permutations=100) for seed in range(5)]
    # under the null p is (nearly) uniform: P(p <= 0.05) = 0.05 per seed
    assert sum(result.p_value > 0.05 for result in results) >= 4
    assert all(abs(result.accuracy - 0.5) < 0.1 for result in results)
    for result in results:   # p = (1 + count) / (1 + 100): a whole number of 1/101
        assert result.p_value * 101 == pytest.approx(round(result.p_value * 101))


def test_two_sample_shifted_distribution_is_detected_and_balanced():
    result = classifier_two_sample_test(_gaussian(20, 300, 10, shift=0.8), _gaussian(21, 200, 10), seed=0)
    assert result.accuracy > 0.8
    assert result.p_value == pytest.approx(1 / 201)     # no permutation reaches the observed accuracy
    assert result.p_value < 0.05 and result.n_per_set == 200


def test_two_sample_is_deterministic_with_seed():
    real, fake = _gaussian(22, 120, 5, shift=0.2), _gaussian(23, 150, 5)
    first = classifier_two_sample_test(real, fake, seed=3, n_permutations=50)
    assert first == classifier_two_sample_test(real, fake, seed=3, n_permutations=50)
    assert first.n_per_set == 120


@pytest.mark.parametrize("kwargs, error, words", [
    ({"n_splits": 1}, ValueError, "n_splits must be at least 2"),
    ({"n_permutations": 0}, ValueError, "n_permutations must be at least 1"),
    ({"seed": -1}, ValueError, "seed must be at least 0"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"n_splits": 8}, ValueError, "at least n_splits=8"),
])
def test_two_sample_rejects_bad_settings(kwargs, error, words):
    with pytest.raises(error, match=words):
        classifier_two_sample_test(_gaussian(0, 7, 2), _gaussian(1, 9, 2), **kwargs)


def test_two_sample_rejects_bad_features():
    with pytest.raises(ValueError, match="real_features has 2 features"):
        classifier_two_sample_test(_gaussian(0, 20, 2), _gaussian(1, 20, 3))
    with pytest.raises(ValueError, match="NaN"):
        classifier_two_sample_test(np.full((20, 2), np.nan), _gaussian(1, 20, 2))


# ---------------------------------------------------------------------------------------- memorisation


def test_exact_training_copies_have_distance_zero_and_the_right_index():
    training = _gaussian(30, 100, 20)
    chosen = [5, 17, 3, 99]
    neighbours = nearest_training_neighbours(training[chosen], training)
    assert neighbours.indices.shape == neighbours.distances.shape == (4, 1)
    np.testing.assert_array_equal(neighbours.indices[:, 0], chosen)
    np.testing.assert_array_equal(neighbours.distances, 0.0)


def test_nearest_training_neighbours_match_brute_force_and_accept_images():
    training = np.random.default_rng(31).integers(0, 256, size=(80, 6, 6), dtype=np.uint8)
    samples = np.random.default_rng(32).integers(0, 256, size=(15, 6, 6), dtype=np.uint8)
    neighbours = nearest_training_neighbours(samples, training, k=3)
    distances = cdist(samples.reshape(15, -1).astype(float), training.reshape(80, -1).astype(float))
    np.testing.assert_array_equal(neighbours.indices, np.argsort(distances, axis=1)[:, :3])
    np.testing.assert_allclose(neighbours.distances, np.sort(distances, axis=1)[:, :3], rtol=1e-12)


def test_memorisation_ratio_zero_for_copies_and_near_one_for_independent_samples():
    training, reference = _gaussian(33, 500, 5), _gaussian(34, 500, 5)
    assert memorisation_ratio(training[:200], training, reference) == 0.0
    ratio = memorisation_ratio(_gaussian(35, 500, 5), training, reference)
    # medians of 500 nearest-neighbour distances each: a few per cent of sampling noise
    assert 0.85 < ratio < 1.15
    noisy_copies = training[:200] + 0.05 * _gaussian(36, 200, 5)
    assert memorisation_ratio(noisy_copies, training, reference) < 0.2


def test_memorisation_rejects_bad_input():
    training = _gaussian(0, 10, 3)
    with pytest.raises(ValueError, match="k=11 is more than the 10 training rows"):
        nearest_training_neighbours(training, training, k=11)
    with pytest.raises(ValueError, match="k must be at least 1"):
        nearest_training_neighbours(training, training, k=0)
    with pytest.raises(ValueError, match="samples has 2 features"):
        nearest_training_neighbours(_gaussian(1, 4, 2), training)
    with pytest.raises(ValueError, match="reference has 4 features"):
        memorisation_ratio(training, training, _gaussian(1, 4, 4))
    with pytest.raises(ValueError, match="reference must be held-out"):
        memorisation_ratio(_gaussian(1, 4, 3), training, training)
    with pytest.raises(TypeError, match="reference"):
        memorisation_ratio(training, training, "images")


# -------------------------------------------------------------------------------------------- features


def _tiny_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def _images(n: int = 10) -> torch.Tensor:
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(1))


def test_penultimate_features_equal_direct_computation_in_eval_mode():
    model, images = _tiny_model(), _images()
    model.train()
    model[1].eval()                                      # a mixed state must come back as it was
    features = penultimate_features(model, images, layer=model[3], batch_size=3)
    expected = F.relu(images.reshape(10, 16) @ model[1].weight.T + model[1].bias)   # dropout off
    assert features.shape == (10, 8) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert [m.training for m in model] == [True, False, True, True, True]
    assert not model[3]._forward_hooks


def test_penultimate_features_apply_transform_and_accept_uint8_and_conv_maps():
    conv = nn.Conv2d(1, 2, 3)
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(8, 1))
    raw = np.random.default_rng(2).integers(0, 256, size=(5, 4, 4), dtype=np.uint8)
    normalise = lambda batch: (batch - 0.5) / 0.25    # noqa: E731
    features = penultimate_features(model, raw, layer=conv, transform=normalise)
    pixels = torch.from_numpy(raw).float()[:, None] / 255
    expected = F.conv2d(normalise(pixels), conv.weight, conv.bias).reshape(5, -1)
    np.testing.assert_allclose(features, expected.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_penultimate_features_remove_hook_and_restore_mode_on_error():
    model = _tiny_model()
    model.train()

    def broken(batch):
        raise RuntimeError("transform failed")

    with pytest.raises(RuntimeError, match="transform failed"):
        penultimate_features(model, _images(), layer=model[2], transform=broken)
    assert not model[2]._forward_hooks and all(m.training for m in model.modules())


class _PairOutput(nn.Module):
    def forward(self, x):
        return x, x


class _WithSpare(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.spare = _tiny_model(), nn.Linear(2, 2)    # forward never reaches spare

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize("make_call, error, words", [
    (lambda m: penultimate_features("model", _images(), layer=m[2]), TypeError, "model must be a torch.nn.Module"),
    (lambda m: penultimate_features(m, _images(), layer="2"), TypeError, "layer must be a torch.nn.Module"),
    (lambda m: penultimate_features(m, _images(), layer=nn.ReLU()), ValueError, "layer must be a submodule"),
    (lambda m: penultimate_features(m, _images(), layer=m[2], transform=3), TypeError, "transform must be callable"),
    (lambda m: penultimate_features(m, _images(), layer=m[2], batch_size=0), ValueError, "batch_size"),
    (lambda m: penultimate_features(m, _images() * 3, layer=m[2]), ValueError, "images must be uint8"),
    (lambda m: penultimate_features(m, np.zeros((2, 3, 4, 4)), layer=m[2]), ValueError, "images must be"),
])
def test_penultimate_features_reject_bad_arguments(make_call, error, words):
    model = _tiny_model()
    with pytest.raises(error, match=words):
        make_call(model)
    assert not model[2]._forward_hooks


def test_penultimate_features_reject_unused_and_tuple_layers():
    model = _WithSpare()
    with pytest.raises(ValueError, match="layer ran 0 times"):
        penultimate_features(model, _images(), layer=model.spare)
    pair = nn.Sequential(_PairOutput())
    with pytest.raises(TypeError, match="layer must output a tensor"):
        penultimate_features(pair, _images(), layer=pair[0])
    assert not pair[0]._forward_hooks
