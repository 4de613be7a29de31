"""Tests of course_lib.reliability.ood and .far_ood: scores against their formulas (computed here
independently), Mahalanobis against scipy, metrics on hand-checked toy cases, detectors deterministic,
far-OOD images loaded offline, and clear errors on bad input."""

from __future__ import annotations

import socket

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy.spatial.distance import mahalanobis  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from course_lib.reliability.far_ood import SKIMAGE_SOURCES, available_sources, far_ood_images  # noqa: E402
from course_lib.reliability.ood import (IsolationForestDetector, MahalanobisDetector,  # noqa: E402
                                        PCAResidualDetector, confident_mistakes, detector_table, energy_score,
                                        fpr_at_tpr, msp_score, ood_auroc, plot_score_histograms,
                                        threshold_at_tpr)

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------ scores

def test_msp_binary_is_the_larger_class_probability():
    z = np.array([-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 40.0])
    p = 1 / (1 + np.exp(-z))
    expected = np.maximum(p, 1 - p)
    np.testing.assert_allclose(msp_score(z), expected, rtol=1e-12)      # float64 throughout
    np.testing.assert_allclose(msp_score(z[:, None]), expected, rtol=1e-12)   # an (N, 1) column
    np.testing.assert_allclose(msp_score(torch.tensor(z)), expected, rtol=1e-12)
    assert msp_score(np.array([0.0]))[0] == 0.5


def test_msp_multiclass_is_max_softmax_and_agrees_with_binary_as_two_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20, 4))
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(msp_score(logits), softmax.max(1), rtol=1e-12)
    z = rng.normal(0, 3, size=20)
    np.testing.assert_allclose(msp_score(np.stack([np.zeros(20), z], 1)), msp_score(z), rtol=1e-12)


def test_energy_binary_is_softplus_and_equals_two_class_logsumexp():
    z = np.array([-5.0, -1.0, 0.0, 0.3, 2.0, 8.0])
    np.testing.assert_allclose(energy_score(z), np.log(1 + np.exp(z)), rtol=1e-12)
    assert energy_score(np.array([0.0]))[0] == pytest.approx(np.log(2), rel=1e-15)
    for t in (0.5, 1.0, 3.0):
        np.testing.assert_allclose(energy_score(z, t), t * np.log(1 + np.exp(z / t)), rtol=1e-12)
        np.testing.assert_allclose(energy_score(np.stack([np.zeros_like(z), z], 1), t), energy_score(z, t),
                                   rtol=1e-12)


def test_energy_multiclass_and_stability():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, size=(10, 3))
    np.testing.assert_allclose(energy_score(logits), np.log(np.exp(logits).sum(1)), rtol=1e-12)
    huge = np.array([1000.0, -1000.0])                   # exp(1000) overflows a naive formula
    out = energy_score(huge)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [1000.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(msp_score(huge), [1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(energy_score(np.array([[1000.0, 1000.0]])), [1000.0 + np.log(2)], rtol=1e-14)


@pytest.mark.parametrize("function", [msp_score, energy_score])
@pytest.mark.parametrize("bad, error", [
    (np.array([1.0, np.nan]), ValueError),
    (np.array([np.inf]), ValueError),
    (np.zeros((2, 3, 4)), ValueError),
    (np.array([]), ValueError),
    ("logits", TypeError),
    (None, TypeError),
    (3.0, TypeError),
])
def test_scores_refuse_bad_logits(function, bad, error):
    with pytest.raises(error, match="logits"):
        function(bad)


@pytest.mark.parametrize("temperature, error", [(0, ValueError), (-1.0, ValueError), (np.inf, ValueError),
                                                 (True, TypeError), ("1", TypeError)])
def test_energy_refuses_bad_temperature(temperature, error):
    with pytest.raises(error, match="temperature"):
        energy_score(np.zeros(3), temperature)


# ------------------------------------------------------------------------------------ Mahalanobis

def _class_data(seed=0, n=60, d=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    means = rng.normal(0, 3, size=(3, d))
    mixing = rng.normal(size=(d, d))
    features = means[labels] + rng.normal(size=(n, d)) @ mixing
    return features, labels


@pytest.mark.parametrize("covariance", ["empirical", "ledoit_wolf"])
def test_mahalanobis_matches_scipy(covariance):
    features, labels = _class_data()
    detector = MahalanobisDetector(covariance).fit(features, labels)
    # independent computation: pooled within-class covariance (1/N), its inverse, scipy's distance
    means = np.stack([features[labels == c].mean(0) for c in range(3)])
    centred = features - means[labels]
    covariance_matrix = centred.T @ centred / len(features)
    if covariance == "ledoit_wolf":          # sklearn's shrinkage: (1 - s) S + s * mu * I
        from sklearn.covariance import ledoit_wolf
        covariance_matrix, _ = ledoit_wolf(centred, assume_centered=True)
    precision = np.linalg.inv(covariance_matrix)
    queries = np.random.default_rng(5).normal(0, 4, size=(7, 5))
    expected = -np.array([min(mahalanobis(q, m, precision) ** 2 for m in means) for q in queries])
    # float64; the einsum and scipy sum the same products in another order: relative error ~1e-12
    np.testing.assert_allclose(detector.score(queries), expected, rtol=1e-9)
    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    assert detector.score(means).max() == pytest.approx(0.0, abs=1e-9)     # a class mean scores 0


def test_mahalanobis_shrinkage_is_used_and_copes_with_a_constant_feature():
    features, labels = _class_data(n=40)
    features = np.column_stack([features, np.ones(len(features))])       # a dead ReLU channel
    shrunk = MahalanobisDetector("ledoit_wolf").fit(features, labels)
    plain = MahalanobisDetector("empirical").fit(features, labels)
    assert np.all(np.isfinite(shrunk.score(features))) and np.all(np.isfinite(plain.score(features)))
    assert not np.allclose(shrunk.precision_, plain.precision_)


def test_mahalanobis_ranks_far_points_as_ood_and_takes_one_class():
    features, _ = _class_data()
    detector = MahalanobisDetector().fit(features)            # labels None: one class
    near, far = features[:10], features[:10] + 50.0
    assert ood_auroc(detector.score(near), detector.score(far)) == 1.0


@pytest.mark.parametrize("call, error, match", [
    (lambda: MahalanobisDetector("robust"), ValueError, "covariance"),
    (lambda: MahalanobisDetector().fit(np.ones(5), np.zeros(5)), ValueError, "features"),
    (lambda: MahalanobisDetector().fit(np.ones((5, 2)), np.zeros(4)), ValueError, "labels"),
    (lambda: MahalanobisDetector().fit(np.full((5, 2), np.nan), np.zeros(5)), ValueError, "features"),
    (lambda: MahalanobisDetector().fit(np.ones((3, 2)), np.arange(3)), ValueError, "classes"),
    (lambda: MahalanobisDetector().score(np.ones((3, 2))), RuntimeError, "fit"),
    (lambda: MahalanobisDetector().fit(*_class_data()).score(np.ones((3, 4))), ValueError, "columns"),
])
def test_mahalanobis_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------------ pixel detectors

def _smooth_images(n, seed):
    """Smooth blobs, uint8 (n, 28, 28): a low-dimensional family, like the training images of a detector."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    centres = rng.uniform(9, 19, size=(n, 2))
    widths = rng.uniform(3, 6, size=n)
    images = np.exp(-((yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2)
                    / (2 * widths[:, None, None] ** 2))
    return np.rint(255 * images).astype(np.uint8)


def test_pca_residual_against_a_hand_projection_and_separates_noise():
    train = _smooth_images(200, 0)
    detector = PCAResidualDetector(0.95).fit(train)
    x = train.reshape(200, -1) / 255.0
    mean = x.mean(0)
    with threadpool_limits(limits=1, user_api="blas"):      # a busy 2-core machine: threads fight
        _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    basis = vt[:detector.n_components_]
    queries = _smooth_images(10, 1).reshape(10, -1) / 255.0
    reconstruction = (queries - mean) @ basis.T @ basis + mean
    np.testing.assert_allclose(detector.score(queries), -np.mean((queries - reconstruction) ** 2, 1),
                               rtol=1e-8, atol=1e-12)
    assert 1 <= detector.n_components_ < 784
    noise = np.random.default_rng(2).integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    assert ood_auroc(detector.score(_smooth_images(50, 3)), detector.score(noise)) == 1.0
    # uint8 and the same images as floats in [0, 1] give the same score
    np.testing.assert_allclose(detector.score(_smooth_images(5, 4)), detector.score(_smooth_images(5, 4) / 255.0))


def test_isolation_forest_is_deterministic_per_seed_and_separates_noise():
    train = _smooth_images(150, 0)
    test = np.concatenate([_smooth_images(30, 5), np.random.default_rng(6).integers(0, 256, (30, 28, 28),
                                                                                    dtype=np.uint8)])
    a = IsolationForestDetector(50, seed=0).fit(train).score(test)
    b = IsolationForestDetector(50, seed=0).fit(train).score(test)
    c = IsolationForestDetector(50, seed=1).fit(train).score(test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert ood_auroc(a[:30], a[30:]) > 0.95


@pytest.mark.parametrize("call, error, match", [
    (lambda: PCAResidualDetector(1.0), ValueError, "variance"),
    (lambda: PCAResidualDetector("0.9"), TypeError, "variance"),
    (lambda: PCAResidualDetector().fit(np.zeros((1, 28, 28))), ValueError, "2 samples"),
    (lambda: PCAResidualDetector().score(np.zeros((2, 28, 28))), RuntimeError, "fit"),
    (lambda: PCAResidualDetector().fit(_smooth_images(10, 0)).score(np.zeros((2, 14, 14))), ValueError, "pixels"),
    (lambda: IsolationForestDetector(0), ValueError, "n_estimators"),
    (lambda: IsolationForestDetector(seed=-1), ValueError, "seed"),
    (lambda: IsolationForestDetector().fit(np.zeros(10)), ValueError, "images"),
    (lambda: IsolationForestDetector().fit([[np.nan, 1.0], [1.0, 2.0]]), ValueError, "images"),
])
def test_pixel_detectors_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------------ metrics

def test_auroc_separable_identical_and_reversed():
    assert ood_auroc([3, 4, 5], [0, 1, 2]) == 1.0
    assert ood_auroc([0, 1, 2], [3, 4, 5]) == 0.0
    same = np.random.default_rng(0).normal(size=50)
    assert ood_auroc(same, same) == 0.5
    # hand count over the 6 (id, ood) pairs: id > ood for (2, 1) (3, 1) (3, 2) (3, 2.5); the tie (2, 2)
    # counts 1/2; (2, 2.5) counts 0 -> 4.5 / 6
    assert ood_auroc([2, 3], [1, 2, 2.5]) == pytest.approx(4.5 / 6, abs=1e-15)


def test_fpr_at_tpr_hand_example():
    id_scores = np.arange(1, 21, dtype=float)          # 1..20: the 95 % threshold keeps 19 of 20 -> t = 2
    assert threshold_at_tpr(id_scores, 0.95) == 2.0
    assert np.mean(id_scores >= 2.0) == 0.95
    ood = np.array([0.5, 1.5, 2.0, 3.0, 10.0, -4.0, 1.0, 0.0])   # accepted: 2.0 (a tie), 3.0, 10.0
    assert fpr_at_tpr(id_scores, ood, 0.95) == 3 / 8
    assert threshold_at_tpr(id_scores, 0.5) == 11.0    # floor(20 * 0.5) = 10 -> the 11th smallest
    assert fpr_at_tpr(id_scores, ood, 0.5) == 0.0
    assert fpr_at_tpr([5, 6, 7], [1, 2], 0.95) == 0.0    # n=3: floor(0.15) = 0 -> threshold = minimum


def test_fpr_at_tpr_with_ties_keeps_at_least_tpr():
    id_scores = np.array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2], dtype=float)
    t = threshold_at_tpr(id_scores, 0.95)
    assert t == 1.0 and np.mean(id_scores >= t) == 1.0
    assert threshold_at_tpr(id_scores, 0.6) == 2.0 and np.mean(id_scores >= 2.0) == 0.6


def test_detector_table_rows_and_values():
    rng = np.random.default_rng(0)
    ids = {"msp": rng.normal(1, 1, 100), "energy": rng.normal(2, 1, 100)}
    far = {"msp": rng.normal(-2, 1, 80), "energy": rng.normal(-1, 1, 80)}
    near = {"msp": rng.normal(0.5, 1, 60)}
    table = detector_table(ids, {"far": far, "near": near})
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["detector", "ood_set", "auroc", "fpr_at_tpr", "tpr", "n_id", "n_ood"]
    assert list(zip(table.detector, table.ood_set)) == [("msp", "far"), ("energy", "far"), ("msp", "near")]
    row = table.iloc[2]
    assert row.auroc == ood_auroc(ids["msp"], near["msp"]) and row.fpr_at_tpr == fpr_at_tpr(ids["msp"], near["msp"])
    assert row.n_id == 100 and row.n_ood == 60
    assert table.iloc[0].auroc > table.iloc[2].auroc


@pytest.mark.parametrize("call, error, match", [
    (lambda: ood_auroc([], [1.0]), ValueError, "id_scores"),
    (lambda: ood_auroc([1.0, np.nan], [1.0]), ValueError, "id_scores"),
    (lambda: ood_auroc([1.0], np.ones((2, 2))), ValueError, "ood_scores"),
    (lambda: ood_auroc("abc", [1.0]), TypeError, "id_scores"),
    (lambda: fpr_at_tpr([1, 2], [1], tpr=1.0), ValueError, "tpr"),
    (lambda: fpr_at_tpr([1, 2], [1], tpr=0.0), ValueError, "tpr"),
    (lambda: fpr_at_tpr([1, 2], [1], tpr=95), ValueError, "tpr"),
    (lambda: fpr_at_tpr([1, 2], [np.inf], tpr=0.9), ValueError, "ood_scores"),
    (lambda: threshold_at_tpr([1, 2], tpr="0.9"), TypeError, "tpr"),
    (lambda: detector_table({}, {"a": {"m": [1]}}), TypeError, "id_scores"),
    (lambda: detector_table({"m": [1]}, {"a": {"other": [1]}}), ValueError, "other"),
    (lambda: detector_table({"m": [1]}, {"a": [1, 2]}), TypeError, "ood_sets"),
    (lambda: confident_mistakes([0.2, 1.5], 1), ValueError, "ood_probs"),
    (lambda: confident_mistakes([0.2, 0.5], 3), ValueError, "k"),
    (lambda: confident_mistakes([0.2, 0.5], 0), ValueError, "k"),
    (lambda: confident_mistakes([0.2, 0.5], 1.0), TypeError, "k"),
])
def test_metrics_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_confident_mistakes_binary_and_multiclass():
    # confidences: .6 .99 .5 .9 .99 -> most confident first, ties in the original order
    np.testing.assert_array_equal(confident_mistakes([0.4, 0.01, 0.5, 0.9, 0.99], 3), [1, 4, 3])
    probs = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.1, 0.7, 0.2]])
    np.testing.assert_array_equal(confident_mistakes(probs, 2), [1, 2])


def test_plot_score_histograms_draws_each_set_with_its_auroc():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots()
    ids = rng.normal(1, 1, 200)
    sets = {"breastmnist": rng.normal(0, 1, 100), "digits + photos": rng.normal(-3, 1, 100)}
    assert plot_score_histograms(ids, sets, ax=ax, title="MSP") is ax
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(labels) == 3 and f"AUROC {ood_auroc(ids, sets['breastmnist']):.3f}" in labels[1]
    assert ax.get_title() == "MSP"
    with pytest.raises(TypeError, match="ood_sets"):
        plot_score_histograms(ids, [1, 2], ax=ax)
    with pytest.raises(TypeError, match="ax"):
        plot_score_histograms(ids, sets, ax="ax")
    plt.close(fig)


# ------------------------------------------------------------------------------------ far-OOD images

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_listed_sample_picture_ships_in_the_wheel(no_network):
    from course_lib.reliability import far_ood

    assert available_sources() == list(SKIMAGE_SOURCES)
    far_ood._grey_picture.cache_clear()
    for name in SKIMAGE_SOURCES:
        picture = far_ood._grey_picture(name)
        assert picture.ndim == 2 and min(picture.shape) >= 64
        assert 0.0 <= picture.min() and picture.max() <= 1.0 and picture.std() > 0.02


def test_far_ood_images_are_deterministic_uint8_and_half_digits(no_network):
    images, sources = far_ood_images(41, seed=3)
    assert images.shape == (41, 28, 28) and images.dtype == np.uint8
    assert len(sources) == 41
    assert all(s.startswith("sklearn digits") for s in sources[:20])
    assert all(s.startswith("skimage ") for s in sources[20:])
    again, sources_again = far_ood_images(41, seed=3)
    np.testing.assert_array_equal(images, again)
    assert sources == sources_again
    other, _ = far_ood_images(41, seed=4)
    assert not np.array_equal(images, other)
    assert far_ood_images(6, seed=0, size=32)[0].shape == (6, 32, 32)


def test_far_ood_digit_matches_an_independent_resize():
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    images, sources = far_ood_images(4, seed=0)
    row = int(sources[0].split("#")[1].split(" ")[0])
    digit = load_digits().images[row]
    expected = np.rint(255 * resize(digit / 16.0, (28, 28), order=1, anti_aliasing=True, mode="edge"))
    assert np.abs(images[0].astype(int) - expected.astype(int)).max() <= 1      # rounding at .5
    assert f"(a {load_digits().target[row]})" in sources[0]
    assert images[0].max() > 150 and images[0].min() < 30                       # a dark digit canvas, bright strokes


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, "n"), ({"n": 2.0}, TypeError, "n"), ({"n": 4, "seed": -1}, ValueError, "seed"),
    ({"n": 4, "size": 4}, ValueError, "size"), ({"n": True}, TypeError, "n"),
])
def test_far_ood_images_refuse_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        far_ood_images(**kwargs)
