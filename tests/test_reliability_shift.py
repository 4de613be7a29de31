"""Unit tests of course_lib.reliability.shift (robustness curves under MedMNIST-C corruptions).

The toy "model" reads the mean brightness of constant grey images, so every AUC, accuracy and
calibration error below is checked by hand; sklearn's roc_auc_score checks the rank-sum AUC."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from course_lib.reliability.corruptions import corrupt, corruption_names  # noqa: E402
from course_lib.reliability.shift import (  # noqa: E402
    binary_auc,
    corrupted_test_sets,
    corruption_summary,
    plot_corruption_examples,
    plot_robustness_curves,
    robustness_curves,
)

torch.set_num_threads(1)

GREYS = [100, 120, 140, 150, 170, 200]          # one constant 28 x 28 image per grey level
LABELS = np.array([0, 0, 0, 1, 1, 1])
IMAGES = np.stack([np.full((28, 28), g, np.uint8) for g in GREYS])


def brightness_model(images: np.ndarray) -> np.ndarray:
    """P(class 1) = mean grey level / 255: brighter images are called class 1."""
    return images.reshape(len(images), -1).mean(axis=1) / 255.0


def textured(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class shows in fine texture (class 1 has a checkerboard): blur and pixelation
    wash the evidence out."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    checker = (np.indices((28, 28)).sum(0) % 2) * 2 - 1
    images = 120 + rng.normal(0, 8, (n, 28, 28)) + labels[:, None, None] * 40 * checker
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


def texture_model(images: np.ndarray) -> np.ndarray:
    checker = (np.indices((28, 28)).sum(0) % 2) * 2 - 1
    score = (images.astype(float) * checker).reshape(len(images), -1).mean(1)
    return 1 / (1 + np.exp(-score / 5))


# ------------------------------------------------------------------------------------ hand-checked curves


def test_brightness_model_curves_by_hand():
    names = ["brightness_down", "contrast_down", "gaussian_blur"]
    curves = robustness_curves(brightness_model, IMAGES, LABELS, names=names)
    assert list(curves.columns) == ["corruption", "severity", "auc", "ece", "accuracy", "relative_auc_drop"]
    assert len(curves) == 3 * 6
    # clean: every class-1 image is brighter (AUC 1); only 140 (class 0) lies above 127.5 (accuracy 5/6)
    clean = curves[curves.severity == 0]
    assert np.allclose(clean.auc, 1.0) and np.allclose(clean.accuracy, 5 / 6)
    # contrast about the image's own mean and a blur leave a constant image as it is: flat curves
    for name in ("contrast_down", "gaussian_blur"):
        rows = curves[curves.corruption == name]
        assert np.allclose(rows.auc, 1.0) and np.allclose(rows.accuracy, 5 / 6)
        assert np.allclose(rows.ece, clean.ece.iloc[0])
    # brightness x0.5 (severity 5): greys 50 60 70 75 85 100, order kept (AUC 1), all called class 0
    worst = curves[(curves.corruption == "brightness_down") & (curves.severity == 5)].iloc[0]
    assert worst.auc == 1.0 and worst.accuracy == pytest.approx(0.5)
    assert worst.relative_auc_drop == 0.0
    # ECE, 10 bins (0.1, 0.2], (0.2, 0.3], (0.3, 0.4]: {50 (y 0)}, {60, 70 (y 0), 75 (y 1)}, {85, 100 (y 1)}
    gaps = [abs(0 - 50 / 255), 3 * abs(1 / 3 - (60 + 70 + 75) / 3 / 255), 2 * abs(1 - (85 + 100) / 2 / 255)]
    assert worst.ece == pytest.approx(sum(gaps) / 6, abs=1e-12)


def test_accuracy_calls_class_one_at_exactly_one_half():
    undecided = robustness_curves(lambda x: np.full(len(x), 0.5), IMAGES, [0, 0, 1, 1, 1, 1], names=["pixelate"])
    assert np.allclose(undecided.accuracy, 4 / 6) and np.allclose(undecided.auc, 0.5)   # 4 of 6 are class 1
    assert undecided.relative_auc_drop.isna().all()                                      # no skill to lose


def test_clean_images_are_scored_once_and_shared():
    calls = []

    def counting(images):
        calls.append(images.copy())
        return brightness_model(images)

    names = ["pixelate", "gamma_corr_up"]
    curves = robustness_curves(counting, IMAGES, LABELS, names=names, severities=(0, 2, 5))
    assert len(calls) == 1 + len(names) * 2
    assert np.array_equal(calls[0], IMAGES) and calls[0].dtype == np.uint8 and calls[0].shape == (6, 28, 28)
    assert curves[curves.severity == 0].drop(columns="corruption").nunique().max() == 1


def test_auc_drops_when_blur_washes_out_the_texture_and_matches_sklearn():
    images, labels = textured()
    curves = robustness_curves(texture_model, images, labels, names=["gaussian_blur"])
    auc = curves.set_index("severity").auc
    assert auc[0] == 1.0 and auc[5] < 0.8
    for s in range(1, 6):
        expected = roc_auc_score(labels, texture_model(corrupt(images, "gaussian_blur", s)))
        assert auc[s] == pytest.approx(expected, abs=1e-12)
        drop = curves.set_index("severity").relative_auc_drop[s]
        assert drop == pytest.approx((1.0 - expected) / 0.5, abs=1e-12)


def test_rank_sum_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(5):
        y = rng.integers(0, 2, 200)
        y[:2] = [0, 1]
        p = np.round(rng.random(200), 1)                         # many ties
        assert binary_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_shared_corrupted_sets_give_the_same_curves_and_are_seeded():
    images, labels = textured(20)
    names = ["gaussian_noise", "impulse_noise", "pixelate"]
    shared = corrupted_test_sets(images, names=names, seed=4)
    assert set(shared) == {(n, s) for n in names for s in range(1, 6)}
    own = robustness_curves(texture_model, images, labels, names=names, seed=4)
    pd.testing.assert_frame_equal(robustness_curves(texture_model, images, labels, names=names, corrupted=shared), own)
    pd.testing.assert_frame_equal(robustness_curves(texture_model, images, labels, names=names, seed=4), own)
    other = robustness_curves(texture_model, images, labels, names=["gaussian_noise"], seed=5, metrics=("ece",))
    assert not np.allclose(other.ece[1:], own[own.corruption == "gaussian_noise"].ece[1:])


def test_metrics_selection_and_float_images():
    curves = robustness_curves(brightness_model, IMAGES / 255.0, LABELS, names=["brightness_up"], metrics=("accuracy",))
    assert list(curves.columns) == ["corruption", "severity", "accuracy"]
    # brightness x1.5: greys 150 180 210 225 255 255, all called class 1
    assert curves.accuracy.tolist()[-1] == pytest.approx(0.5)


# ------------------------------------------------------------------------------------ summary


def hand_curves() -> pd.DataFrame:
    return pd.DataFrame({
        "corruption": ["a", "a", "a", "b", "b", "b"],
        "severity": [0, 1, 2, 0, 1, 2],
        "auc": [0.9, 0.7, 0.5, 0.9, 0.9, 0.8],
        "ece": [0.1, 0.2, 0.3, 0.1, 0.1, 0.1],
    })


def test_summary_means_and_relative_drop_by_hand():
    summary = corruption_summary(hand_curves()).set_index("severity")
    assert summary.auc.tolist() == pytest.approx([0.9, 0.8, 0.65])
    assert summary.ece.tolist() == pytest.approx([0.1, 0.15, 0.2])
    # a: (0.9 - 0.7) / 0.4 = 0.5 and (0.9 - 0.5) / 0.4 = 1; b: 0 and 0.25
    assert summary.relative_auc_drop.tolist() == pytest.approx([0.0, 0.25, 0.625])
    assert summary.worst_auc.tolist() == pytest.approx([0.9, 0.7, 0.5])
    assert summary.worst_corruption.tolist()[1:] == ["a", "a"]


def test_relative_drop_is_undefined_without_skill():
    frame = hand_curves().assign(auc=[0.5, 0.4, 0.45, 0.45, 0.5, 0.5])
    assert corruption_summary(frame).relative_auc_drop.isna().all()


def test_summary_refuses_bad_curves():
    with pytest.raises(TypeError, match="curves"):
        corruption_summary({"auc": [0.5]})
    with pytest.raises(ValueError, match="columns"):
        corruption_summary(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="severity-0"):
        corruption_summary(hand_curves().query("severity > 0"))


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"names": ["fog"]}, ValueError, "name must be one of"),
    ({"names": "pixelate"}, TypeError, "names"),
    ({"names": []}, TypeError, "names"),
    ({"names": ["pixelate", "pixelate"]}, ValueError, "twice"),
    ({"severities": (0, 6)}, ValueError, "severity"),
    ({"severities": (0, 2.5)}, TypeError, "severity"),
    ({"severities": (1, 1)}, ValueError, "twice"),
    ({"metrics": ("f1",)}, ValueError, "metrics"),
    ({"metrics": "auc"}, TypeError, "metrics"),
    ({"corrupted": {}}, ValueError, "corrupted lacks"),
    ({"corrupted": [1]}, TypeError, "corrupted"),
    ({"seed": -2}, ValueError, "seed"),
])
def test_bad_options_are_refused(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        robustness_curves(brightness_model, IMAGES, LABELS, **{"names": ["gaussian_noise"], **kwargs})


def test_bad_model_images_and_labels_are_refused():
    with pytest.raises(TypeError, match="predict_proba"):
        robustness_curves("model", IMAGES, LABELS)
    with pytest.raises(ValueError, match=r"predict_proba must return P\(class 1\) of shape \(6,\)"):
        robustness_curves(lambda x: np.zeros((len(x), 2)), IMAGES, LABELS)
    with pytest.raises(ValueError, match="probabilities in"):
        robustness_curves(lambda x: brightness_model(x) * 3, IMAGES, LABELS)
    with pytest.raises(ValueError, match="labels has 5 entries"):
        robustness_curves(brightness_model, IMAGES, LABELS[:5])
    with pytest.raises(ValueError, match="only 0 and 1"):
        robustness_curves(brightness_model, IMAGES, LABELS * 2)
    with pytest.raises(ValueError, match="both classes"):
        robustness_curves(brightness_model, IMAGES, np.zeros(6))
    with pytest.raises(TypeError, match="images must be uint8"):
        robustness_curves(brightness_model, IMAGES.astype(np.int32), LABELS)
    bad = {("gaussian_noise", s): IMAGES[:3] for s in range(1, 6)}
    with pytest.raises(ValueError, match="shape"):
        robustness_curves(brightness_model, IMAGES, LABELS, names=["gaussian_noise"], corrupted=bad)


# ------------------------------------------------------------------------------------ figures


def test_corruption_examples_mosaic_holds_the_corrupted_tiles():
    image = textured(1)[0][0]
    names = ["pixelate", "gaussian_noise"]
    ax = plot_corruption_examples(image, names, (0, 3, 5), seed=2)
    mosaic = ax.get_images()[0].get_array()
    assert mosaic.shape == (2 * 30 - 2, 3 * 30 - 2)
    np.testing.assert_allclose(mosaic[:28, :28], image / 255.0)                       # clean, top left
    np.testing.assert_allclose(mosaic[30:58, 60:88], corrupt(image[None], "gaussian_noise", 5, seed=2)[0] / 255.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pixelate", "gaussian noise"]
    plt.close("all")
    with pytest.raises(ValueError, match="single image"):
        plot_corruption_examples(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(TypeError, match="ax"):
        plot_corruption_examples(image, names, ax="axes")


def test_robustness_curves_plot_means_and_seed_band():
    a, b = hand_curves(), hand_curves().assign(auc=lambda f: f.auc - 0.1)
    ax = plot_robustness_curves({"one seed": a, "two seeds": [a, b]}, metric="auc")
    lines = [line for line in ax.get_lines() if line.get_label() in ("one seed", "two seeds (n=2)")]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.9, 0.8, 0.65])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.85, 0.75, 0.6])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1                                                             # one band: seeds b..a
    y = bands[0].get_paths()[0].vertices[:, 1]
    assert y.min() == pytest.approx(0.55) and y.max() == pytest.approx(0.9)
    plt.close("all")
    with pytest.raises(ValueError, match="non-empty"):
        plot_robustness_curves({})
    with pytest.raises(ValueError, match="metric"):
        plot_robustness_curves({"m": a}, metric="f1")
    ax = plot_robustness_curves({"m": a}, metric="relative_auc_drop")                  # from the auc column
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.0, 0.25, 0.625])
    plt.close("all")
    with pytest.raises(ValueError, match="no column 'relative_auc_drop'"):
        plot_robustness_curves({"m": a.drop(columns="auc")}, metric="relative_auc_drop")


def test_all_names_default():
    assert len(corrupted_test_sets(IMAGES[:2], severities=(0, 5))) == len(corruption_names())
