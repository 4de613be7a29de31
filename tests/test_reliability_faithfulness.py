"""Tests of course_lib.reliability.faithfulness: explanations of image models and their sanity checks.

Tiny hand-checkable models (a linear "model" whose logit is a weighted sum of pixels, a small tanh
network) and an untrained narrow CompactCNN; no real data needed, a few seconds on one core.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import ndimage, stats  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.imaging.gradcam import grad_cam, upsample_maps  # noqa: E402
from course_lib.imaging.models import CompactCNN  # noqa: E402
from course_lib.reliability.faithfulness import (  # noqa: E402
    blurred,
    completeness_gap,
    curve_auc,
    curve_table,
    deletion_curve,
    gradcam_maps,
    insertion_curve,
    integrated_gradients_images,
    map_similarity,
    parameter_layers,
    plot_deletion_insertion,
    plot_sanity_check,
    random_maps,
    randomised_copy,
)

torch.set_num_threads(1)


class LinearImage(nn.Module):
    """logit = sum_i w_i x_i + b: the exact contribution of pixel i (from baseline 0) is w_i x_i."""

    def __init__(self, weights: torch.Tensor, bias: float = 0.0):
        super().__init__()
        self.weights = nn.Parameter(weights.clone())
        self.bias = bias

    def forward(self, x):
        return (x[:, 0] * self.weights).sum(dim=(1, 2)) + self.bias


class TinyTanh(nn.Module):
    """A smooth nonlinear network: conv 1->3, tanh, linear over the 8x8x3 maps."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.out = nn.Linear(3 * 8 * 8, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.conv(x)).flatten(1)).squeeze(1)


def small_cnn(seed: int = 0) -> CompactCNN:
    torch.manual_seed(seed)
    return CompactCNN(channels=(4, 8), convs_per_stage=(1, 1)).eval()


def images(n: int = 6, size: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- integrated gradients


def test_integrated_gradients_of_a_linear_model_is_weight_times_difference():
    generator = torch.Generator().manual_seed(1)
    weights = torch.randn(8, 8, generator=generator)
    model = LinearImage(weights, bias=0.3)
    x = torch.rand(4, 1, 8, 8, generator=generator)
    baseline = 0.25
    attributions, delta = integrated_gradients_images(model, x, baseline=baseline, steps=4, target=1,
                                                      return_delta=True)
    # the gradient is w everywhere on the path, so IG = w (x - b) exactly; float32 products: 1e-5
    expected = weights * (x[:, 0] - baseline)
    assert attributions.shape == (4, 8, 8)
    assert torch.allclose(attributions, expected, atol=1e-5)
    assert delta.abs().max().item() < 1e-4
    # the class-0 score is the negated logit: the map flips sign
    negative = integrated_gradients_images(model, x, baseline=baseline, steps=4, target=0)
    assert torch.allclose(negative, -expected, atol=1e-5)


def test_integrated_gradients_matches_hand_riemann_sum_and_is_complete():
    torch.manual_seed(0)
    model = TinyTanh()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    baseline = torch.zeros_like(x)
    # independent midpoint Riemann sum with 400 points, plain autograd
    alphas = (torch.arange(400) + 0.5) / 400
    path = (baseline[None] + alphas[:, None, None, None, None] * (x - baseline)[None]).reshape(-1, 1, 8, 8)
    path.requires_grad_(True)
    (gradients,) = torch.autograd.grad(model(path).sum(), path)
    by_hand = (gradients.reshape(400, 3, 1, 8, 8).mean(0) * (x - baseline))[:, 0]
    attributions, delta = integrated_gradients_images(model, x, baseline=baseline, steps=64, target=1,
                                                      return_delta=True)
    # both approximate the same integral of a smooth function; the midpoint rule's error at 400 points
    # is ~1e-6 of the attribution scale (~0.1), float32 sums add ~1e-6: 1e-4 is ample, a wrong path
    # or a missing (x - b) factor errs by the attributions' own size
    assert torch.allclose(attributions, by_hand, atol=1e-4)
    with torch.no_grad():
        difference = model(x) - model(baseline)
    assert np.allclose(attributions.sum(dim=(1, 2)).numpy(), difference.numpy(), atol=1e-3)
    gap = completeness_gap(model, x, attributions, baseline=baseline, target=1)
    assert np.allclose(gap, delta.numpy(), atol=1e-4)
    assert np.abs(gap).max() < 1e-3


def test_completeness_gap_is_large_for_a_map_that_is_not_complete():
    model = LinearImage(torch.ones(8, 8))
    x = torch.ones(2, 1, 8, 8)
    gap = completeness_gap(model, x, torch.zeros(2, 8, 8), baseline=0.0, target=1)
    assert np.allclose(gap, -64.0)      # sum 0 minus (64 - 0)


def test_explanations_use_eval_mode_and_restore_training_mode():
    model = small_cnn().train()
    x = images(4)
    with torch.no_grad():
        expected = gradcam_maps(model.eval(), x)
    model.train()
    got = gradcam_maps(model, x)
    assert model.training
    assert torch.allclose(got, expected)


# ---------------------------------------------------------------------------------------- Grad-CAM


def test_gradcam_maps_explain_the_predicted_class_of_each_image():
    model = small_cnn(3)
    x = images(12, seed=4)
    with torch.no_grad():
        logits = model(x)
    model.head[-1].bias.data -= logits.median()        # so that both classes are predicted
    with torch.no_grad():
        predicted = (model(x) > 0).numpy()
    assert 0 < predicted.sum() < len(predicted)
    maps = gradcam_maps(model, x)
    assert maps.shape == (12, 28, 28) and (maps >= 0).all()
    for target in (0, 1):
        reference = upsample_maps(grad_cam(model, model.last_conv, x, target_class=target), (28, 28))
        rows = predicted == target
        assert torch.allclose(maps[rows], reference[rows], atol=1e-6)
        assert torch.allclose(gradcam_maps(model, x, target=target), reference, atol=1e-6)
    # one class per image
    mixed = np.arange(12) % 2
    got = gradcam_maps(model, x, target=mixed)
    assert torch.allclose(got[1::2], upsample_maps(grad_cam(model, model.last_conv, x[1::2]), (28, 28)), atol=1e-6)


# ------------------------------------------------------------------------------ randomisation test


def _distinct_weights(model: nn.Module) -> nn.Module:
    """Give every parameter and running statistic values far from any initialisation."""
    generator = torch.Generator().manual_seed(9)
    for tensor in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
        tensor.data.copy_(torch.randn(tensor.shape, generator=generator) + 5.0)
    return model


def test_parameter_layers_of_compact_cnn_go_from_output_down():
    layers = parameter_layers(CompactCNN())
    assert [names for _, names in layers] == [["head.3"], ["features.11", "features.12"], ["features.8", "features.9"],
                                              ["features.4", "features.5"], ["features.0", "features.1"]]
    assert layers[0][0] == "head.3 (Linear)" and "BatchNorm2d" in layers[1][0]


def test_cascading_randomisation_changes_layers_top_down_and_leaves_original_untouched():
    model = _distinct_weights(small_cnn())
    original = {k: v.clone() for k, v in model.state_dict().items()}
    groups = [names for _, names in parameter_layers(model)]
    cascade = randomised_copy(model, layers="cascade", seed=0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key]), f"the original model's {key} changed"
    assert [label for label, _ in cascade] == [label for label, _ in parameter_layers(model)]
    for step, (_, copy) in enumerate(cascade):
        state = copy.state_dict()
        for depth, names in enumerate(groups):
            for name in names:
                for key in [k for k in state if k.rsplit(".", 1)[0] == name and state[k].is_floating_point()]:
                    same = torch.equal(state[key], original[key])
                    assert same == (depth > step), f"step {step}: {key} {'unchanged' if same else 'changed'}"
        assert copy.features[-1] is not model.features[-1]
    # the fully randomised copy equals the end of the cascade; batch norm statistics are reset
    full = randomised_copy(model, layers="all", seed=0)
    for key, value in full.state_dict().items():
        assert torch.equal(value, cascade[-1][1].state_dict()[key])
    assert torch.equal(full.features[1].running_var, torch.ones(4))


def test_randomisation_is_seeded_and_leaves_the_global_random_state_alone():
    model = _distinct_weights(small_cnn())
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = randomised_copy(model, layers="all", seed=1)
    assert torch.equal(torch.rand(3), expected_next)
    b = randomised_copy(model, layers="all", seed=1)
    c = randomised_copy(model, layers="all", seed=2)
    weight = "features.0.weight"
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])


# ---------------------------------------------------------------------------------- map similarity


def test_map_similarity_with_itself_is_perfect_and_ignores_sign_and_scale():
    maps = random_maps((5, 28, 28), seed=0) - 0.5
    for other in (maps, -maps):
        result = map_similarity(maps, other)
        assert result["spearman"] == pytest.approx(1.0) and result["top_k_overlap"] == 1.0
        assert result["undefined"] == 0 and result["ssim"] == pytest.approx(1.0)
    positive = np.abs(maps)
    assert map_similarity(positive, 3 * positive + 2)["ssim"] == pytest.approx(1.0)   # min-max scaled


def test_spearman_matches_scipy_image_by_image():
    a = random_maps((4, 12, 12), seed=1) - 0.5
    b = a + 0.5 * (random_maps((4, 12, 12), seed=2) - 0.5)
    b[0, :3] = 0.0                                       # ties: average ranks, as scipy
    got = map_similarity(a, b, reduce="none")["spearman"]
    expected = [stats.spearmanr(np.abs(a[i]).ravel(), np.abs(b[i]).ravel()).statistic for i in range(4)]
    assert np.allclose(got, expected, atol=1e-12)
    assert 0.2 < got.mean() < 0.99                       # related, not identical


def test_map_similarity_counts_constant_maps_as_undefined_and_top_k_by_hand():
    a = np.zeros((2, 10, 10))
    a[:, 0, :] = np.arange(10, 0, -1)                    # top 10 pixels: the first row
    b = np.zeros((2, 10, 10))
    b[0, -1, :] = 1.0 + np.arange(10)                    # image 0: top 10 = the last row
    result = map_similarity(a, b, top_fraction=0.1, reduce="none")
    assert result["top_k_overlap"][0] == 0.0
    assert np.isnan(result["spearman"][1])               # b[1] is constant
    mean = map_similarity(a, b, top_fraction=0.1)
    assert mean["undefined"] == 1 and mean["spearman"] == pytest.approx(result["spearman"][0])


def test_random_maps_are_seeded():
    assert np.array_equal(random_maps((2, 5, 5), seed=3), random_maps((2, 5, 5), seed=3))
    assert not np.array_equal(random_maps((2, 5, 5), seed=3), random_maps((2, 5, 5), seed=4))


# ------------------------------------------------------------------------------ deletion/insertion


def _sum_model(shift: float):
    return lambda x: torch.sigmoid(x.sum(dim=(1, 2, 3)) - shift)


def test_deletion_and_insertion_curves_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    ranking = np.array([[[0.1, 0.4], [0.3, 0.2]]])      # order: 2, 3, 4, 1
    sigmoid = lambda z: 1 / (1 + np.exp(-np.asarray(z, dtype=float)))  # noqa: E731
    fractions, deleted = deletion_curve(_sum_model(5.0), x, ranking, steps=4, baseline=0.0)
    assert np.allclose(fractions, [0, 0.25, 0.5, 0.75, 1])
    # pixel sums 10, 8, 5, 1, 0 minus 5; the clean image is predicted class 1
    assert np.allclose(deleted[0], sigmoid([5, 3, 0, -4, -5]))
    _, inserted = insertion_curve(_sum_model(5.0), x, ranking, steps=4, baseline=0.0)
    assert np.allclose(inserted[0], sigmoid([-5, -3, 0, 4, 5]))
    _, class0 = deletion_curve(_sum_model(5.0), x, ranking, steps=4, baseline=0.0, target=0)
    assert np.allclose(class0, 1 - deleted)
    # a tensor baseline: removed pixels take its values
    _, toward_one = deletion_curve(_sum_model(5.0), x, ranking, steps=2, baseline=torch.ones(1, 1, 2, 2))
    assert np.allclose(toward_one[0], sigmoid([5, 5 - 1 - 2, -1]))   # 2 pixels (2, 3) -> 1 each, then all


def test_perfect_ranking_of_a_linear_model_beats_every_random_ranking():
    generator = torch.Generator().manual_seed(5)
    weights = torch.randn(8, 8, generator=generator)
    model = LinearImage(weights, bias=0.0)
    x = torch.rand(10, 1, 8, 8, generator=generator)
    with torch.no_grad():
        model.bias = -float(model(x).mean())             # both classes predicted
        sign = torch.where(model(x) > 0, 1.0, -1.0)
    perfect = (sign[:, None, None] * weights * x[:, 0]).numpy()   # contribution to the predicted class
    fractions, best = deletion_curve(model, x, perfect, steps=64, baseline=0.0)
    _, best_in = insertion_curve(model, x, perfect, steps=64, baseline=0.0)
    for seed in range(10):
        control = random_maps((10, 8, 8), seed=seed)
        _, other = deletion_curve(model, x, control, steps=64, baseline=0.0)
        _, other_in = insertion_curve(model, x, control, steps=64, baseline=0.0)
        # removing the k largest contributions lowers the logit most, for every k (greedy is optimal)
        assert np.all(best <= other + 1e-6) and np.all(best_in >= other_in - 1e-6)
        assert curve_auc(fractions, best).mean() < curve_auc(fractions, other).mean() - 0.02
    # an IG map of the linear model is exactly that ranking
    ig = integrated_gradients_images(model, x, baseline=0.0, steps=4).numpy()
    assert np.allclose(ig, perfect, atol=1e-5)


def test_tied_maps_are_ranked_at_random_but_reproducibly():
    model = small_cnn()
    x = images(3)
    flat = np.zeros((3, 28, 28))
    _, a = deletion_curve(model, x, flat, steps=7, seed=0)
    _, b = deletion_curve(model, x, flat, steps=7, seed=0)
    _, c = deletion_curve(model, x, flat, steps=7, seed=1)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert np.allclose(a[:, 0], c[:, 0]) and np.allclose(a[:, -1], c[:, -1])   # clean and fully removed


def test_blur_baseline_is_a_gaussian_filter_of_each_image():
    x = images(2, size=12)
    expected = np.stack([ndimage.gaussian_filter(x[i, 0].double().numpy(), 2.0, mode="reflect") for i in range(2)])
    assert np.allclose(blurred(x, 2.0)[:, 0].numpy(), expected, atol=1e-6)
    flat = torch.full((1, 1, 12, 12), 0.7)
    assert torch.allclose(blurred(flat), flat)
    # the default deletion baseline is this blur: deleting every pixel gives the blurred image
    model = small_cnn()
    x = images(2)
    _, curve = deletion_curve(model, x, random_maps((2, 28, 28)), steps=4)
    with torch.no_grad():
        p = torch.sigmoid(model(blurred(x))).numpy()
        p_clean = torch.sigmoid(model(x)).numpy()
    assert np.allclose(curve[:, -1], np.where(p_clean >= 0.5, p, 1 - p), atol=1e-6)


def test_curve_auc_and_table_by_hand():
    fractions = np.array([0.0, 0.5, 1.0])
    assert curve_auc(fractions, [1.0, 0.5, 0.0]) == pytest.approx(0.5)
    assert np.allclose(curve_auc(fractions, [[1, 1, 1], [1, 0, 0]]), [1.0, 0.25])
    table = curve_table({"deletion": {"m": (fractions, np.array([[1, 1, 1], [1, 0, 0]]))}})
    assert table.loc[0, "auc"] == pytest.approx(0.625)
    assert table.loc[0, "se"] == pytest.approx(np.std([1.0, 0.25], ddof=1) / np.sqrt(2))


# -------------------------------------------------------------------------------------------- plots


def test_plots_return_their_axes():
    fractions = np.linspace(0, 1, 5)
    curves = {"deletion": {"a": (fractions, np.tile(np.linspace(1, 0, 5), (3, 1)))},
              "insertion": {"a": (fractions, np.tile(np.linspace(0, 1, 5), (3, 1)))}}
    axes = plot_deletion_insertion(curves)
    assert len(axes) == 2 and len(axes[0].lines) == 1 and "AUC 0.500" in axes[0].get_legend().get_texts()[0].get_text()
    axes = plot_sanity_check(np.zeros((28, 28)), {"trained": np.ones((28, 28)), "random": np.zeros((1, 28, 28))})
    assert len(axes) == 3 and all(len(ax.images) == 1 for ax in axes)
    plt.close("all")


# -------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("call,error,message", [
    (lambda m, x: integrated_gradients_images("model", x), TypeError, "model"),
    (lambda m, x: integrated_gradients_images(m, x[0, 0]), ValueError, "images"),
    (lambda m, x: integrated_gradients_images(m, torch.zeros(2, 3, 28, 28)), ValueError, "images"),
    (lambda m, x: integrated_gradients_images(m, [[1.0]]), TypeError, "images"),
    (lambda m, x: integrated_gradients_images(m, x * float("nan")), ValueError, "images"),
    (lambda m, x: integrated_gradients_images(m, x, steps=1), ValueError, "steps"),
    (lambda m, x: integrated_gradients_images(m, x, steps=2.5), TypeError, "steps"),
    (lambda m, x: integrated_gradients_images(m, x, target=2), ValueError, "target"),
    (lambda m, x: integrated_gradients_images(m, x, target="label"), ValueError, "target"),
    (lambda m, x: integrated_gradients_images(m, x, target=[0, 1, 2]), ValueError, "target"),
    (lambda m, x: integrated_gradients_images(m, x, baseline="black"), TypeError, "baseline"),
    (lambda m, x: integrated_gradients_images(m, x, baseline=torch.zeros(5, 1, 28, 28)), ValueError, "baseline"),
    (lambda m, x: completeness_gap(m, x, torch.zeros(2, 28, 28)), ValueError, "attributions"),
    (lambda m, x: gradcam_maps(TinyTanh(), x), ValueError, "last_conv"),
    (lambda m, x: gradcam_maps(m, x, size=(28,)), ValueError, "size"),
    (lambda m, x: randomised_copy(m, layers="bottom"), ValueError, "layers"),
    (lambda m, x: randomised_copy(m, seed=-1), ValueError, "seed"),
    (lambda m, x: parameter_layers(nn.ReLU()), ValueError, "no parameters"),
    (lambda m, x: random_maps((3, 28)), ValueError, "shape"),
    (lambda m, x: map_similarity(np.zeros((3, 28, 28)), np.zeros((3, 27, 28))), ValueError, "b has shape"),
    (lambda m, x: map_similarity(np.zeros((3, 5, 5)), np.zeros((3, 5, 5))), ValueError, "7x7"),
    (lambda m, x: map_similarity(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)), top_fraction=0), ValueError, "top_fraction"),
    (lambda m, x: map_similarity(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)), reduce="sum"), ValueError, "reduce"),
    (lambda m, x: map_similarity("a", np.zeros((3, 8, 8))), TypeError, "a must"),
    (lambda m, x: deletion_curve(m, x, np.zeros((2, 28, 28))), ValueError, "maps"),
    (lambda m, x: deletion_curve(m, x, np.zeros((3, 28, 28))[:, None].repeat(2, 1)), ValueError, "maps"),
    (lambda m, x: deletion_curve(m, x, np.zeros((3, 28, 28)), steps=0), ValueError, "steps"),
    (lambda m, x: deletion_curve(m, x, np.zeros((3, 28, 28)), steps=1000), ValueError, "steps"),
    (lambda m, x: deletion_curve(m, x, np.zeros((3, 28, 28)), baseline="black"), ValueError, "baseline"),
    (lambda m, x: insertion_curve(m, x, np.zeros((3, 28, 28)), target=True), ValueError, "target"),
    (lambda m, x: insertion_curve("m", x, np.zeros((3, 28, 28))), TypeError, "predict_prob"),
    (lambda m, x: insertion_curve(lambda z: np.zeros((len(z), 2)), x, np.zeros((3, 28, 28))), ValueError,
     "predict_prob"),
    (lambda m, x: insertion_curve(lambda z: np.full(len(z), 2.0), x, np.zeros((3, 28, 28))), ValueError,
     "probabilities"),
    (lambda m, x: integrated_gradients_images(m, x, method="simpson"), ValueError, "method"),
    (lambda m, x: blurred(x, sigma=0), ValueError, "sigma"),
    (lambda m, x: curve_auc([0, 1, 0.5], [1, 0, 1]), ValueError, "fractions"),
    (lambda m, x: curve_auc([0, 1], [[1, 0, 1]]), ValueError, "probabilities"),
    (lambda m, x: curve_table({"deletion": {}}), ValueError, "deletion"),
    (lambda m, x: curve_table({"sufficiency": {"a": ([0, 1], [1, 0])}}), ValueError, "keys"),
    (lambda m, x: plot_deletion_insertion({}), TypeError, "curves"),
    (lambda m, x: plot_sanity_check(np.zeros((2, 28, 28)), {"a": np.zeros((28, 28))}), ValueError, "image"),
    (lambda m, x: plot_sanity_check(np.zeros((28, 28)), {"a": np.zeros((14, 14))}), ValueError, "maps_by_model"),
])
def test_bad_inputs_raise_clear_errors(call, error, message):
    model = small_cnn()
    x = images(3)
    with pytest.raises(error, match=message):
        call(model, x)
