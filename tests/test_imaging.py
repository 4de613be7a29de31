"""Unit tests of course_lib.imaging (notebook 02): fast, no real data needed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from course_test_data import image_arrays  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.data import DataUnavailableError, DataValidationError, fallbacks  # noqa: E402
from course_lib.data.readers import PNEUMONIAMNIST_SIZES, validate_image_splits  # noqa: E402
from course_lib.holdout import SealedSplit, TestSplitReuseWarning  # noqa: E402
from course_lib.imaging import (  # noqa: E402
    CompactCNN,
    augment_batch,
    balanced_sampler,
    choose_threshold,
    conv2d,
    conv2d_loops,
    expected_calibration_error,
    flatten_pixels,
    grad_cam,
    hog_features,
    load_pneumoniamnist,
    make_loader,
    positive_class_weight,
    receptive_field,
    reliability_table,
    select_threshold,
    splits_from_arrays,
    upsample_maps,
)
from course_lib.imaging.data import stratified_subset  # noqa: E402
from course_lib.imaging.plots import image_grid, overlay_heatmaps, plot_reliability  # noqa: E402

# ------------------------------------------------------------------------------------ convolution


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), ((2, 1), (0, 2))])
@pytest.mark.parametrize("implementation", [conv2d, conv2d_loops])
def test_hand_written_convolution_matches_torch(implementation, stride, padding):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 8, generator=generator)
    weight = torch.randn(4, 3, 3, 2, generator=generator)
    bias = torch.randn(4, generator=generator)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    got = implementation(x, weight, bias, stride=stride, padding=padding)
    assert got.shape == expected.shape
    # float32 sums of 3*3*2 = 18 products of N(0, 1) numbers (outputs of size ~5-15) in another order
    # than PyTorch's kernels: rounding differences of ~1e-6; 1e-4 leaves margin for any CPU's SIMD
    # kernels and thread count, while a wrong index or a flipped kernel errs by ~1.
    assert (got - expected).abs().max().item() <= 1e-4


def test_convolution_is_cross_correlation_not_flipped():
    # a kernel that is not symmetric: flipping it must change the result
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    kernel = torch.tensor([[[[1.0, 0.0], [0.0, -2.0]]]])
    # integers below 2**24 in float32: every product and sum is exact, the default tolerance is ample
    assert torch.allclose(conv2d(x, kernel), F.conv2d(x, kernel))
    assert not torch.allclose(conv2d(x, kernel.flip(2, 3)), F.conv2d(x, kernel))


@pytest.mark.parametrize("bad_weight,message", [(torch.zeros(4, 2, 3, 3), "input channels"),
                                                (torch.zeros(4, 3, 3), "weight must be"),
                                                (torch.zeros(1, 3, 9, 9), "larger than")])
def test_convolution_rejects_bad_shapes(bad_weight, message):
    with pytest.raises(ValueError, match=message):
        conv2d(torch.zeros(1, 3, 5, 5), bad_weight)


def test_receptive_field_formula_matches_the_gradient_footprint():
    layers = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1), (3, 1)]
    sizes = receptive_field(layers)
    assert sizes == [3, 4, 8, 10, 18, 26]
    modules = []
    for kernel, stride in layers:
        modules.append(nn.Conv2d(1, 1, kernel, stride=stride) if stride == 1 else nn.MaxPool2d(kernel, stride))
    net = nn.Sequential(*modules)
    for module in net:
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, 1.0)
    x = torch.rand(1, 1, 40, 40, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    # max pooling routes the gradient to one pixel per window, so the footprint can be smaller
    # than the receptive field, never larger
    assert 1 < rows.max() - rows.min() + 1 <= sizes[-1]
    conv_only = nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)])
    for module in conv_only:
        nn.init.constant_(module.weight, 1.0)
    x = torch.rand(1, 1, 20, 20, requires_grad=True)
    conv_only(x)[0, 0, 5, 5].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert rows.max() - rows.min() + 1 == receptive_field([(3, 1)] * 3)[-1] == 7


def test_receptive_field_rejects_bad_layers():
    with pytest.raises(ValueError, match="kernel and stride"):
        receptive_field([(3, 0)])
    with pytest.raises(TypeError):
        receptive_field("3x3")


# ------------------------------------------------------------------------------------ data


def test_splits_from_arrays_normalises_with_training_statistics():
    data = splits_from_arrays(image_arrays(), provenance="synthetic")
    x, y = data.tensors("train")
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (6,) and set(y.tolist()) <= {0.0, 1.0}
    # statistics fitted in float64, applied in float32 to 4,704 pixels: mean and std come out within
    # ~1e-6 of 0 and 1 (float32 rounding of values ~1, summed); 1e-5 / 1e-4 leave margin
    assert abs(x.mean().item()) < 1e-5 and abs(x.std(unbiased=False).item() - 1) < 1e-4
    x_test, _ = data.tensors("test")
    raw = image_arrays()["test_images"].astype(np.float64) / 255
    # float32 vs float64 of values within ±2: float32 rounding is ~2e-7; atol 1e-5 leaves margin
    assert np.allclose(x_test[:, 0].numpy(), (raw - data.mean) / data.std, atol=1e-5)
    assert data.pixels("val").shape == (3, 784) and data.pixels("val").max() <= 1
    assert data.class_counts()["train"].tolist() == [3, 3]
    with pytest.raises(ValueError, match="split must be one of"):
        data.tensors("validation")


def test_sealing_the_test_split_hands_it_out_only_through_the_sealed_split():
    arrays = image_arrays()
    data = splits_from_arrays(arrays, provenance="synthetic")
    x_train, _ = data.tensors("train")
    test = data.seal("test")
    assert isinstance(test, SealedSplit) and test.name == "test" and data.splits == ("train", "val")
    assert set(data.class_counts()) == {"train", "val"}
    for reach in (lambda: data.tensors("test"), lambda: data.pixels("test"), lambda: data.seal("test")):
        with pytest.raises(ValueError, match="test split is sealed"):
            reach()
    assert test.evaluations("CNN") == 0
    images, labels = test.open("CNN", seed=0)
    np.testing.assert_array_equal(images, arrays["test_images"])                 # uint8: exact
    np.testing.assert_array_equal(labels, arrays["test_labels"].reshape(-1))
    assert test.evaluations("CNN") == 1
    with pytest.warns(TestSplitReuseWarning):
        test.open("CNN", seed=0)
    # the same transform as the training tensors (same code path, same process: exact)
    assert torch.equal(data.normalise(arrays["train_images"]), x_train)
    assert np.array_equal(flatten_pixels(arrays["val_images"]), data.pixels("val"))
    with pytest.raises(ValueError, match="training split cannot be sealed"):
        data.seal("train")
    with pytest.raises(ValueError, match="uint8"):
        data.normalise(arrays["val_images"].astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        flatten_pixels(arrays["val_images"][0])


@pytest.mark.parametrize("corrupt,message", [
    (lambda a: a.pop("val_labels"), "missing keys"),
    (lambda a: a.update(train_images=a["train_images"].astype(np.float32)), "dtype float32, expected uint8"),
    (lambda a: a.update(test_labels=a["test_labels"] + 1), r"values \[2\] outside 0..1"),
    (lambda a: a.update(train_images=a["train_images"][:, :27]), "shape"),
])
def test_splits_from_arrays_rejects_bad_arrays(corrupt, message):
    arrays = image_arrays()
    corrupt(arrays)
    with pytest.raises(DataValidationError, match=message):
        splits_from_arrays(arrays)


def _write_mirror(folder, arrays):
    target = folder / "medmnist" / "pneumoniamnist.npz"
    target.parent.mkdir(parents=True)
    np.savez(target, **arrays)
    return folder


@pytest.mark.parametrize("corrupt,message", [
    (lambda a: a.pop("train_labels"), "missing keys"),
    (lambda a: a.update(val_images=a["val_images"].astype(np.int16)), "dtype int16"),
    (lambda a: a.update(train_labels=np.full_like(a["train_labels"], 3)), "outside 0..1"),
])
def test_loader_rejects_a_bad_mirror_file_with_a_clear_error(tmp_path, corrupt, message):
    arrays = image_arrays(PNEUMONIAMNIST_SIZES)
    corrupt(arrays)
    mirror = _write_mirror(tmp_path / "mirror", arrays)
    with pytest.warns(UserWarning, match="ignoring mirror copy"):
        with pytest.raises(DataUnavailableError, match=message):
            load_pneumoniamnist(allow_fallback=False, mirrors=[mirror], cache_dir=tmp_path / "cache",
                                offline=True)


def test_loader_reads_a_valid_mirror_and_falls_back_to_labelled_synthetic_data(tmp_path):
    mirror = _write_mirror(tmp_path / "mirror", image_arrays(PNEUMONIAMNIST_SIZES))
    loaded, data = load_pneumoniamnist(mirrors=[mirror], cache_dir=tmp_path / "cache", offline=True)
    assert loaded.provenance == data.provenance == "mirror"
    assert data.tensors("train")[0].shape == (4708, 1, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded, data = load_pneumoniamnist(mirrors=[], cache_dir=tmp_path / "empty", offline=True)
    assert loaded.provenance == data.provenance == "synthetic"
    assert "SYNTHETIC" in str(loaded)


def test_stratified_subset_keeps_the_class_mix():
    labels = np.array([0] * 30 + [1] * 70)
    rows = stratified_subset(labels, 0.1, seed=0)
    assert np.bincount(labels[rows]).tolist() == [3, 7]
    assert np.array_equal(rows, stratified_subset(labels, 0.1, seed=0))
    assert not np.array_equal(rows, stratified_subset(labels, 0.1, seed=1))
    with pytest.raises(ValueError, match="fraction"):
        stratified_subset(labels, 0.0, seed=0)


def test_augmentation_is_identity_at_zero_strength_and_repeatable():
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    zero = dict(max_shift=0, max_rotation=0, max_zoom=0, max_contrast=0, max_brightness=0)
    # identity grid in float32: bilinear weights off by ~1e-7, values |x| < 5 -> errors ~1e-6;
    # atol 1e-5 allows for other CPUs' grid_sample kernels, a real shift changes pixels by ~1
    assert torch.allclose(augment_batch(x, torch.Generator().manual_seed(1), **zero), x, atol=1e-5)
    a = augment_batch(x, torch.Generator().manual_seed(1))
    b = augment_batch(x, torch.Generator().manual_seed(1))
    c = augment_batch(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.allclose(a, c)
    assert not torch.allclose(a, x, atol=1e-2)
    with pytest.raises(ValueError, match="max_rotation"):
        augment_batch(x, max_rotation=-1)
    with pytest.raises(ValueError, match="shape"):
        augment_batch(x[:, 0])


def test_augmentation_shift_moves_the_image():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 14, 14] = 1.0
    only_shift = dict(max_rotation=0, max_zoom=0, max_contrast=0, max_brightness=0)
    moved = augment_batch(x, torch.Generator().manual_seed(0), max_shift=0.1, **only_shift)
    peak = divmod(int(moved.argmax()), 28)
    assert peak != (14, 14) and max(abs(peak[0] - 14), abs(peak[1] - 14)) <= 3


def test_make_loader_shuffles_repeatably_and_augments_only_when_asked():
    x = torch.randn(50, 1, 28, 28)
    y = (torch.arange(50) % 2).float()
    plain = make_loader(x, y, batch_size=16)
    assert len(plain) == 4 and torch.equal(next(iter(plain))[0], x[:16])
    first = [b[1] for b in make_loader(x, y, batch_size=16, shuffle=True, augment=True, seed=3)]
    again = [b[1] for b in make_loader(x, y, batch_size=16, shuffle=True, augment=True, seed=3)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    xb, _ = next(iter(make_loader(x, y, batch_size=16, augment=True)))
    assert xb.shape == (16, 1, 28, 28) and not torch.allclose(xb, x[:16])
    with pytest.raises(ValueError, match="rows"):
        make_loader(x, y[:10])
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(x, y, batch_size=0)


def test_class_imbalance_helpers():
    labels = np.array([0] * 20 + [1] * 80)
    assert positive_class_weight(labels) == pytest.approx(0.25)  # 20 / 80 in float64: exact up to rounding
    with pytest.raises(ValueError, match="both classes"):
        positive_class_weight(np.ones(5))
    drawn = labels[list(balanced_sampler(labels, seed=0))]
    assert len(drawn) == 100 and 0.35 < drawn.mean() < 0.65  # ~half instead of 0.8


# ------------------------------------------------------------------------------------ synthetic stand-in


@pytest.fixture(scope="module")
def stand_in():
    return fallbacks.synthetic_xrays()   # the default sizes, as the notebook gets them offline


def test_synthetic_stand_in_has_the_pneumoniamnist_structure(stand_in):
    validate_image_splits(stand_in, "synthetic", image_shape=(28, 28), n_classes=2)
    for split in ("train", "val", "test"):
        images, labels = stand_in[f"{split}_images"], stand_in[f"{split}_labels"]
        assert images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28)
        assert labels.dtype == np.int64 and labels.shape == (len(images),) and set(np.unique(labels)) == {0, 1}
        # imbalanced towards pneumonia like PneumoniaMNIST (74 % of training images)
        assert 0.6 < labels.mean() < 0.8, f"{split}: share of pneumonia {labels.mean():.2f}"
        assert images.std() > 20, "grey values should span a chest-like range, not a flat image"
    assert len(stand_in["train_labels"]) > len(stand_in["val_labels"]) >= 300
    again = fallbacks.synthetic_xrays(n_train=30, n_val=5, n_test=5, seed=7)
    np.testing.assert_array_equal(again["train_images"], fallbacks.synthetic_xrays(30, 5, 5, seed=7)["train_images"])
    assert not np.array_equal(again["train_images"], fallbacks.synthetic_xrays(30, 5, 5, seed=8)["train_images"])
    with pytest.raises(ValueError, match="n_val must be a positive int"):
        fallbacks.synthetic_xrays(n_val=0)


def _auc_on_val_and_test(model, features, stand_in):
    from sklearn.metrics import roc_auc_score

    model.fit(features("train"), stand_in["train_labels"])
    return [roc_auc_score(stand_in[f"{s}_labels"], model.decision_function(features(s))) for s in ("val", "test")]


def test_synthetic_stand_in_is_not_separable_by_mean_brightness(stand_in):
    from sklearn.linear_model import LogisticRegression

    def brightness(split):
        return stand_in[f"{split}_images"].reshape(len(stand_in[f"{split}_images"]), -1).mean(1, keepdims=True)
    aucs = _auc_on_val_and_test(LogisticRegression(), brightness, stand_in)
    # AUC is symmetric around 0.5: a cue that ranks the classes the wrong way round is a cue too
    assert all(abs(auc - 0.5) < 0.15 for auc in aucs), f"mean brightness separates the classes: AUC {aucs}"


def test_synthetic_stand_in_is_hard_for_a_linear_model_of_the_pixels(stand_in):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000, tol=1e-3))
    aucs = _auc_on_val_and_test(model, lambda s: flatten_pixels(stand_in[f"{s}_images"]), stand_in)
    # the lesson's shape: the faint hazy lungs give a linear model of the pixels some signal, but the
    # small lesions at random places do not add up linearly - far from AUC 1
    assert all(0.55 < auc < 0.85 for auc in aucs), f"logistic regression on pixels: AUC {aucs}"


def test_synthetic_stand_in_is_labelled_loudly(tmp_path):
    with pytest.warns(UserWarning, match="stand-in"):
        loaded, data = load_pneumoniamnist(mirrors=[], cache_dir=tmp_path / "empty", offline=True)
    assert loaded.provenance == data.provenance == "synthetic"
    assert "SYNTHETIC" in str(loaded) and "!!" in str(loaded)


# ------------------------------------------------------------------------------------ model, Grad-CAM


def test_compact_cnn_shapes_and_errors():
    model = CompactCNN(channels=(4, 8), convs_per_stage=(1, 2), dropout=0.1)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3,)
    assert model.features(torch.randn(2, 1, 28, 28)).shape == (2, 8, 14, 14)
    expected = (9 * 4 + 8) + (4 * 9 * 8 + 16) + (8 * 9 * 8 + 16) + (8 + 1)
    assert sum(p.numel() for p in model.parameters()) == expected
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(3, 28, 28))
    with pytest.raises(ValueError, match="equally long"):
        CompactCNN(channels=(4, 8), convs_per_stage=(1,))


@pytest.mark.parametrize("target_class", [1, 0])
def test_grad_cam_matches_captum(target_class):
    from captum.attr import LayerGradCam

    torch.manual_seed(0)
    model = CompactCNN(channels=(4, 8), convs_per_stage=(1, 1)).eval()
    images = torch.randn(4, 1, 28, 28)
    ours = grad_cam(model, model.last_conv, images, target_class=target_class)
    forward = model if target_class == 1 else (lambda x: -model(x))
    theirs = LayerGradCam(forward, model.last_conv).attribute(images, relu_attributions=True)
    assert ours.shape == (4, 14, 14) and theirs.shape == (4, 1, 14, 14)
    assert theirs.abs().max() > 0
    # float32: the same gradients, reduced (mean over positions, sum over channels) possibly in another
    # order: a few ulps of the map values; rtol 1e-4 plus atol 1e-6 for values near 0 holds on any CPU
    # and thread count, while a wrong weighting or a missing ReLU changes maps by about their size
    assert torch.allclose(ours, theirs[:, 0], rtol=1e-4, atol=1e-6)
    assert upsample_maps(ours, (28, 28)).shape == (4, 28, 28)
    with pytest.raises(ValueError, match="not part of model"):
        grad_cam(model, nn.ReLU(), images)


# ------------------------------------------------------------------------------------ calibration


def test_youden_threshold_ignores_the_class_mix_but_accuracy_does_not():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.beta(2, 5, 200), rng.beta(5, 2, 200)])
    labels = np.repeat([0, 1], 200)
    youden = choose_threshold(labels, scores, "youden")
    assert 0.3 < youden < 0.7
    many_negatives = np.concatenate([labels, np.zeros(800, int)])
    repeated = np.concatenate([scores, np.tile(scores[:200], 4)])
    # the same candidate midpoints in float64: equal up to rounding (pytest.approx, rel 1e-6)
    assert choose_threshold(many_negatives, repeated, "youden") == pytest.approx(youden)
    assert choose_threshold(many_negatives, repeated, "accuracy") > youden
    separable = choose_threshold([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9])
    assert 0.2 < separable < 0.7
    with pytest.raises(ValueError, match="both classes"):
        choose_threshold([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="rule"):
        choose_threshold([0, 1], [0.2, 0.3], rule="auc")


def test_equal_error_threshold_balances_sensitivity_and_specificity():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [100, 300])
    scores = np.where(labels == 1, rng.normal(0.65, 0.1, 400), rng.normal(0.4, 0.1, 400)).clip(0, 1)
    threshold = choose_threshold(labels, scores, "equal_error")
    sensitivity = (scores[labels == 1] >= threshold).mean()
    specificity = (scores[labels == 0] < threshold).mean()
    assert abs(sensitivity - specificity) <= 0.02
    assert 0.45 < threshold < 0.6


def test_select_threshold_rejects_a_default_that_does_not_generalise():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [120, 360])
    # every score is above 0.5: the default threshold calls everything positive
    scores = np.where(labels == 1, rng.uniform(0.7, 0.95, 480), rng.uniform(0.55, 0.75, 480))
    choice = select_threshold(labels, scores, seed=0)
    assert choice.rule != "default" and 0.6 < choice.threshold < 0.8
    # every score is above 0.5: sensitivity 1, specificity 0 in every half, a mean of exact 0.5s
    assert choice.scores["default"] == pytest.approx(0.5)
    assert choice.scores[choice.rule] > 0.85
    assert select_threshold(labels, scores, seed=0) == choice
    # a fixed threshold is not tuned: its held-out score is its balanced accuracy on all the data
    centred = np.where(labels == 1, rng.uniform(0.45, 1.0, 480), rng.uniform(0.0, 0.55, 480))
    only_default = select_threshold(labels, centred, rules=("default",), seed=0)
    assert only_default.rule == "default" and only_default.threshold == 0.5
    full = 0.5 * ((centred[labels == 1] >= 0.5).mean() + (centred[labels == 0] < 0.5).mean())
    # sampling noise, not rounding: half splits of 480 items vary the balanced accuracy by ~0.02 each,
    # and the mean of 50 of them by ~0.003
    assert only_default.scores["default"] == pytest.approx(full, abs=0.01)
    with pytest.raises(ValueError, match="rules"):
        select_threshold(labels, scores, rules=("median",))
    with pytest.raises(ValueError, match="at least 4"):
        select_threshold([0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.7, 0.8])


def test_reliability_table_and_calibration_error():
    rng = np.random.default_rng(0)
    probs = rng.random(20000)
    calibrated = (rng.random(20000) < probs).astype(int)
    table = reliability_table(calibrated, probs, n_bins=5)
    assert len(table) == 5 and table["count"].sum() == 20000
    # sampling noise: ~4,000 Bernoulli draws per bin give an observed share within ~0.008 (1 std)
    assert np.allclose(table["observed"], table["mean_predicted"], atol=0.03)
    assert expected_calibration_error(calibrated, probs) < 0.02
    overconfident = np.where(probs > 0.5, 0.99, 0.01)
    assert expected_calibration_error(calibrated, overconfident) > 0.2
    with pytest.raises(ValueError, match="probabilities"):
        reliability_table([0, 1], [0.5, 1.5])



def test_calibration_error_by_hand():
    # two bins, [0, 0.5] and (0.5, 1]:
    #   lower: p = 0.1, 0.3, 0.35 -> mean 0.25; labels 0, 1, 1 -> observed 2/3; gap 5/12; weight 3/5
    #   upper: p = 0.8, 0.9       -> mean 0.85; labels 0, 1    -> observed 1/2; gap 0.35; weight 2/5
    #   ECE = 3/5 * 5/12 + 2/5 * 0.35 = 0.25 + 0.14 = 0.39
    labels, probs = [0, 1, 1, 0, 1], [0.1, 0.3, 0.35, 0.8, 0.9]
    table = reliability_table(labels, probs, n_bins=2)
    assert table["count"].tolist() == [3, 2] and table["upper"].tolist() == [0.5, 1.0]
    assert np.allclose(table["mean_predicted"], [0.25, 0.85]) and np.allclose(table["observed"], [2 / 3, 0.5])
    assert expected_calibration_error(labels, probs, n_bins=2) == pytest.approx(0.39)
    # empty bins are left out; a probability on an edge counts in the bin below it, 0 and 1 in the end bins
    edges = reliability_table([0, 1, 1, 0], [0.0, 0.5, 0.5, 1.0], n_bins=4)
    assert edges[["lower", "upper", "count"]].values.tolist() == [[0.0, 0.25, 1], [0.25, 0.5, 2], [0.75, 1.0, 1]]
    assert edges["mean_predicted"].tolist() == [0.0, 0.5, 1.0] and edges["observed"].tolist() == [0.0, 1.0, 0.0]


def _calibration_error_by_loop(labels, probs, n_bins):
    # the course's earlier hand-written binning, kept as a reference: bins [a, b), the last one [a, 1]
    edges = np.linspace(0, 1, n_bins + 1)
    index = np.clip(np.digitize(probs, edges[1:-1]), 0, n_bins - 1)
    return sum(abs(labels[index == b].mean() - probs[index == b].mean()) * (index == b).mean()
               for b in range(n_bins) if (index == b).any())


@pytest.mark.parametrize("n_bins", [1, 3, 10, 40])
def test_calibration_error_matches_the_earlier_binning_on_random_data(n_bins):
    # random floats never lie exactly on an edge, where the two binning rules differ
    rng = np.random.default_rng(n_bins)
    probs = rng.beta(0.5, 2, 500)  # skewed: with 40 bins some are empty
    labels = (rng.random(500) < probs ** 0.7).astype(int)
    assert expected_calibration_error(labels, probs, n_bins) == pytest.approx(
        _calibration_error_by_loop(labels, probs, n_bins), abs=1e-12)
    assert reliability_table(labels, probs, n_bins)["count"].sum() == 500

# ------------------------------------------------------------------------------------ features, plots


def test_hog_features_shape_and_errors():
    images = image_arrays()["train_images"]
    features = hog_features(images)
    assert features.shape == (6, 1296) and np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])
    with pytest.raises(ValueError, match="shape"):
        hog_features(images[0])


def test_plots_draw_and_validate():
    images = np.random.default_rng(0).random((5, 28, 28))
    fig = image_grid(images, titles=list("abcde"), ncols=3)
    assert sum(len(ax.images) for ax in fig.axes) == 5
    fig = overlay_heatmaps(images, images, ncols=5)
    assert sum(len(ax.images) for ax in fig.axes) == 10
    with pytest.raises(ValueError, match="same shape"):
        overlay_heatmaps(images, images[:, :14])
    ax = plot_reliability({"model": ([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3])})
    assert len(ax.lines) == 2
    plt.close("all")


# ------------------------------------------------------------------ the architecture figure (issue 13)
def test_feature_map_shapes_follow_the_compact_cnn():
    from course_lib.imaging.diagrams import feature_map_shapes

    model = CompactCNN()
    model.train()
    stages = feature_map_shapes(model)
    assert model.training, "feature_map_shapes must restore the model's mode"
    assert [s.shape for s in stages] == [(1, 28, 28), (16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 7, 7),
                                         (64, 7, 7), (64, 7, 7), (64,), (1,)]
    # the receptive fields are receptive_field()'s for conv-pool-conv-pool-conv-conv (integers: exact)
    assert [s.receptive_field for s in stages[1:7]] == receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1),
                                                                        (3, 1)])
    assert stages[-2].label == "global average pooling" and stages[-2].receptive_field is None
    # the shapes are those of a real forward pass, for another input size too
    small = feature_map_shapes(CompactCNN(channels=(8, 4), convs_per_stage=(1, 1)), input_shape=(1, 12, 12))
    assert [s.shape for s in small] == [(1, 12, 12), (8, 12, 12), (8, 6, 6), (4, 6, 6), (4,), (1,)]
    with pytest.raises(TypeError, match="features"):
        feature_map_shapes(nn.Linear(3, 1))


def test_architecture_figure_has_its_labelled_parts():
    from course_lib.imaging.diagrams import plot_cnn_architecture

    figure = plot_cnn_architecture(CompactCNN())
    try:
        assert isinstance(figure, matplotlib.figure.Figure)
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        for shape in ("1 × 28 × 28", "16 × 28 × 28", "16 × 14 × 14", "32 × 7 × 7", "64 × 7 × 7", "64", "1"):
            assert shape in texts, f"no label {shape!r} in {texts}"
        assert sum("max pool 2×2" in t for t in texts) == 2
        assert sum(t.startswith("conv 3×3") for t in texts) == 4
        assert any("pooling" in t for t in texts) and any("linear" in t for t in texts)
        assert [t for t in texts if t.startswith("RF ")] == ["RF 3 px", "RF 4 px", "RF 8 px", "RF 10 px",
                                                               "RF 18 px", "RF 26 px"]
        legend = figure.axes[1].get_legend()
        assert legend is not None and "receptive field" in legend.get_title().get_text()
        assert [t.get_text() for t in legend.get_texts()] == ["3 px", "4 px", "8 px", "10 px", "18 px", "26 px"]
    finally:
        plt.close(figure)


# ------------------------------------------------------------------ the notebook's from-scratch cells (issue 13)
# Notebook 02 writes convolution, Grad-CAM and the Youden threshold rule in readable code, checks them
# against the libraries and then imports course_lib's versions. These tests run the notebook's cells
# (found by their first line, "# from-scratch: <name>") and keep them in agreement with course_lib.
NOTEBOOK_02 = Path(__file__).resolve().parent.parent / "notebooks" / "02_cnn_medical_imaging.ipynb"


def notebook_from_scratch(*markers: str) -> dict:
    """Execute the notebook's code cells marked ``# from-scratch: <marker>`` (in notebook order) in a
    namespace with the notebook's basic imports; return the namespace."""
    cells = json.loads(NOTEBOOK_02.read_text(encoding="utf-8"))["cells"]
    namespace = {"np": np, "torch": torch, "F": F}
    for marker in markers:
        sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"
                   and "".join(cell["source"]).startswith(f"# from-scratch: {marker}\n")]
        assert len(sources) == 1, f"notebook 02 must have exactly one cell marked '# from-scratch: {marker}'"
        exec(compile(sources[0], f"{NOTEBOOK_02.name}[{marker}]", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_notebook_convolutions_agree_with_course_lib(stride, padding):
    cells = notebook_from_scratch("conv2d", "conv2d_unfold")
    generator = torch.Generator().manual_seed(stride * 10 + padding)
    x = torch.randn(2, 3, 9, 11, generator=generator, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, generator=generator, dtype=torch.float64)
    bias = torch.randn(4, generator=generator, dtype=torch.float64)
    reference = conv2d(x, weight, bias, stride=stride, padding=padding)
    for name in ("conv2d_loops", "conv2d_unfold"):
        ours = cells[name](x, weight, bias, stride=stride, padding=padding)
        assert ours.shape == reference.shape, name
        # float64, 27 products per output summed in different orders: ~1e-15 relative; 1e-10 leaves
        # margin on any CPU, while a wrong index or a flipped kernel errs by ~1
        torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10, msg=name)
    assert torch.equal(cells["conv2d_loops"](x, weight), cells["conv2d_loops"](x, weight))  # no hidden state


@pytest.mark.parametrize("seed", [0, 1])
def test_notebook_grad_cam_agrees_with_course_lib(seed):
    cells = notebook_from_scratch("grad_cam")
    torch.manual_seed(seed)
    model = CompactCNN().double().eval()
    images = torch.randn(5, 1, 28, 28, dtype=torch.float64)
    ours = cells["grad_cam_by_hand"](model, model.last_conv, images)
    reference = grad_cam(model, model.last_conv, images, target_class=1)
    assert ours.shape == reference.shape == (5, 7, 7)
    assert not ours.requires_grad and (ours >= 0).all()
    # float64, the same gradients and sums in the same order up to reduction order: ~1e-15 relative;
    # 1e-9 absolute on maps of size ~1 leaves margin, while a wrong weight or a missing ReLU errs by ~1
    torch.testing.assert_close(ours, reference, rtol=1e-9, atol=1e-9)
    assert not model.last_conv._forward_hooks, "the notebook's Grad-CAM must remove its forward hook"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_notebook_youden_threshold_agrees_with_course_lib(seed):
    from sklearn.metrics import roc_curve

    cells = notebook_from_scratch("youden_threshold")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=200)
    p = np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1), 2)       # ties, like real scores
    threshold, balanced = cells["youden_threshold"](y, p)
    # float64, the same candidates and ratios: equal up to rounding (~1e-16); 1e-12 leaves margin, and one
    # image more or less on either side changes the balanced accuracy by >= 1/200
    assert abs(threshold - choose_threshold(y, p, "youden")) <= 1e-12
    fpr, tpr, _ = roc_curve(y, p)
    assert abs((2 * balanced - 1) - (tpr - fpr).max()) <= 1e-12
    predicted = p >= threshold
    assert abs(balanced - 0.5 * (predicted[y == 1].mean() + (~predicted[y == 0]).mean())) <= 1e-12


def test_output_size_reference_of_the_exercise_check_matches_torch():
    from course_lib.checks.cnn import EXACT_CASES, NOT_EXACT_CASES, _reference_output_size

    for n, kernel, stride, padding in NOT_EXACT_CASES + EXACT_CASES:
        shape = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, kernel, kernel), stride=stride,
                         padding=padding).shape[-1]
        assert _reference_output_size(n, kernel, stride, padding) == shape   # ints: exact
    # the non-exact cases are what catches the formula without the floor
    assert all((n + 2 * p - k) % s for n, k, s, p in NOT_EXACT_CASES)
