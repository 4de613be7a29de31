"""Unit tests of course_lib.efficiency.pruning (notebook 08): unstructured magnitude pruning with
torch.nn.utils.prune, the mask by hand, and structured channel pruning with torch-pruning. Expected
values come from independent computations (prune.l1_unstructured, counts of weights, closed-form
parameter counts of the pruned architecture)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import DataLoader, TensorDataset

from course_lib.efficiency.pruning import (
    fine_tune,
    layer_sparsity,
    magnitude_mask,
    magnitude_prune,
    make_pruning_permanent,
    prunable_layers,
    sparsity,
    structured_channel_prune,
)
from course_lib.imaging.models import CompactCNN

torch.set_num_threads(1)


def _model(seed: int = 0) -> CompactCNN:
    torch.manual_seed(seed)
    return CompactCNN()


def _conv_weights(model: nn.Module) -> int:
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d))


def _loaders(seed: int = 0, n: int = 64):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=generator)
    y = (x[:, 0, :14].mean(dim=(1, 2)) > 0).float()  # learnable: brightness of the upper half
    train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(x, y), batch_size=32)
    return train, val


# ---------------------------------------------------------------------------------- by-hand mask


@pytest.mark.parametrize("shape", [(7,), (4, 5), (6, 3, 3, 3)])
@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 0.95])
def test_magnitude_mask_equals_torch_l1_unstructured(shape, amount):
    weights = torch.randn(*shape, generator=torch.Generator().manual_seed(len(shape)))
    module = nn.Module()
    module.weight = nn.Parameter(weights.clone())
    prune.l1_unstructured(module, "weight", amount=amount)
    expected = module.weight_mask.numpy().astype(bool)
    got = magnitude_mask(weights, amount)
    assert got.dtype == bool and got.shape == shape
    np.testing.assert_array_equal(got, expected)
    # the same mask from a NumPy array
    np.testing.assert_array_equal(magnitude_mask(weights.numpy(), amount), expected)


def test_magnitude_mask_hand_checked_and_ties_deterministic():
    w = np.array([[0.5, -0.1], [2.0, -3.0]])
    # |w| = 0.5, 0.1, 2, 3: half pruned -> the 0.1 and the 0.5 go
    np.testing.assert_array_equal(magnitude_mask(w, 0.5), [[False, False], [True, True]])
    # ties: |w| all equal -> the lower flat indices are pruned first, every time
    tied = np.array([1.0, -1.0, 1.0, -1.0])
    np.testing.assert_array_equal(magnitude_mask(tied, 0.5), [False, False, True, True])


@pytest.mark.parametrize("bad,error", [(1.0, ValueError), (-0.1, ValueError), ("0.5", TypeError), (True, TypeError)])
def test_magnitude_mask_rejects_bad_sparsity(bad, error):
    with pytest.raises(error, match="sparsity"):
        magnitude_mask(np.ones(4), bad)


def test_magnitude_mask_rejects_bad_weights():
    with pytest.raises(TypeError, match="weights"):
        magnitude_mask(3.0, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        magnitude_mask(np.array([1.0, np.nan]), 0.5)


# ------------------------------------------------------------------------- unstructured pruning


@pytest.mark.parametrize("amount", [0.0, 0.5, 0.75, 0.9, 0.95])
def test_magnitude_prune_reaches_the_requested_sparsity(amount):
    model = magnitude_prune(_model(), amount)
    layers = prunable_layers(model)
    n = sum(m.weight.numel() for m in layers)
    zeros = sum(int((m.weight == 0).sum()) for m in layers)  # counted here, independently of sparsity()
    assert zeros == round(amount * n)
    assert sparsity(model) == pytest.approx(round(amount * n) / n, abs=0)
    # global: one threshold; every kept weight is at least as large as every pruned one
    kept = torch.cat([m.weight_orig[m.weight_mask.bool()].abs() for m in layers])
    dropped = torch.cat([m.weight_orig[~m.weight_mask.bool()].abs() for m in layers])
    if len(dropped) and len(kept):
        assert dropped.max() <= kept.min()


def test_global_pruning_equals_the_mask_by_hand_and_keeps_channels_last():
    model = _model()
    reference = copy.deepcopy(model)
    magnitude_prune(model, 0.8)
    layers = prunable_layers(reference)
    # by hand: one mask over all weights concatenated, cut back into the layers
    flat = torch.cat([m.weight.detach().flatten() for m in layers])
    keep = torch.from_numpy(magnitude_mask(flat, 0.8))
    start = 0
    with torch.no_grad():
        for m in layers:
            n = m.weight.numel()
            m.weight.mul_(keep[start:start + n].reshape(m.weight.shape).float())
            start += n
    for pruned, by_hand in zip(prunable_layers(model), layers):
        assert torch.equal(pruned.weight, by_hand.weight)
        if pruned.weight.dim() == 4:  # CompactCNN keeps its convolutions channels last
            assert pruned.weight_orig.is_contiguous(memory_format=torch.channels_last)
            assert pruned.weight_mask.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    # the same weights, the same kernels: equal outputs
    assert torch.equal(model.eval()(x), reference.eval()(x))


def test_biases_and_batch_norm_are_not_pruned():
    model = magnitude_prune(_model(), 0.9)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d,)):
            assert not prune.is_pruned(module)
            assert (module.weight != 0).all()
        if isinstance(module, nn.Linear):
            assert not hasattr(module, "bias_mask")


def test_layerwise_pruning_gives_each_layer_the_same_fraction():
    model = magnitude_prune(_model(), 0.5, global_=False)
    for m in prunable_layers(model):
        assert int((m.weight == 0).sum()) == round(0.5 * m.weight.numel())
    fractions = layer_sparsity(model)
    assert list(fractions) == ["features.0", "features.4", "features.8", "features.11", "head.3"]
    for name, m in model.named_modules():
        if name in fractions:
            assert fractions[name] == round(0.5 * m.weight.numel()) / m.weight.numel()


def test_global_pruning_hits_the_large_late_layers_hardest():
    # untrained weights scale as 1/sqrt(fan_in): the 64x64x3x3 convolution has the smallest ones
    fractions = layer_sparsity(magnitude_prune(_model(), 0.9))
    assert fractions["features.11"] == 1.0
    assert fractions["features.0"] < 0.5
    with pytest.raises(ValueError, match="layer_types"):
        layer_sparsity(nn.Sequential(nn.ReLU()))


def test_masks_keep_zeros_through_fine_tuning():
    model = magnitude_prune(_model(), 0.75)
    masks = {name: m.weight_mask.clone() for name, m in model.named_modules() if hasattr(m, "weight_mask")}
    before = {name: m.weight_orig.detach().clone() for name, m in model.named_modules() if hasattr(m, "weight_mask")}
    train, val = _loaders()
    history = fine_tune(model, train, val, epochs=2, lr=1e-2, device="cpu")
    assert history.epochs == 2
    for name, m in model.named_modules():
        if name in masks:
            assert torch.equal(m.weight_mask, masks[name])
            # the kept weights were trained ...
            assert not torch.equal(m.weight_orig.detach(), before[name])
    # ... and the effective weights still hold exactly the pruned zeros
    with torch.no_grad():
        model(torch.zeros(2, 1, 28, 28))  # the pre-hook refreshes .weight
    assert sparsity(model) >= 0.75 - 1e-3


def test_make_pruning_permanent_removes_the_reparametrisation():
    model = _model()
    # the memory layout of every weight (channels last; the (16, 1, 3, 3) first convolution is the
    # case where orig * mask comes out with default strides and the convolution runs ~20 % slower)
    layouts = {name: m.weight.stride() for name, m in model.named_modules() if hasattr(m, "weight")}
    magnitude_prune(model, 0.9)
    expected = {name: (m.weight_orig * m.weight_mask).detach().clone()
                for name, m in model.named_modules() if hasattr(m, "weight_mask")}
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    model.eval()
    out_masked = model(x)
    make_pruning_permanent(model)
    keys = model.state_dict().keys()
    assert not any(k.endswith("weight_orig") or k.endswith("weight_mask") for k in keys)
    for name, m in model.named_modules():
        assert not m._forward_pre_hooks
        if name in expected:
            assert isinstance(m.weight, nn.Parameter)
            assert torch.equal(m.weight.detach(), expected[name])
    assert {name: m.weight.stride() for name, m in model.named_modules() if hasattr(m, "weight")} == layouts
    # the same function as before (the same numbers, multiplied the same way)
    assert torch.equal(model(x), out_masked)
    assert sparsity(model) == pytest.approx(0.9, abs=1e-4)
    # and it can be pruned further: the existing zeros are the smallest weights
    magnitude_prune(model, 0.95)
    assert sparsity(model) == pytest.approx(0.95, abs=1e-4)


def test_magnitude_prune_refuses_a_model_that_is_still_masked():
    model = magnitude_prune(_model(), 0.5)
    with pytest.raises(ValueError, match="already pruned"):
        magnitude_prune(model, 0.75)


def test_pruning_checks_its_arguments():
    with pytest.raises(TypeError, match="model"):
        magnitude_prune("net", 0.5)
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_prune(_model(), 1.0)
    with pytest.raises(TypeError, match="global_"):
        magnitude_prune(_model(), 0.5, global_=1)
    with pytest.raises(TypeError, match="layer_types"):
        magnitude_prune(_model(), 0.5, layer_types=("Conv2d",))
    with pytest.raises(ValueError, match="no layers"):
        magnitude_prune(nn.Sequential(nn.ReLU()), 0.5)
    with pytest.raises(TypeError, match="model"):
        sparsity(None)
    with pytest.raises(TypeError, match="model"):
        make_pruning_permanent([1])


# --------------------------------------------------------------------------- structured pruning


def test_structured_prune_really_removes_channels():
    model = _model()
    dense_conv = _conv_weights(model)
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    structured_channel_prune(model, torch.zeros(2, 1, 28, 28), 0.5)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == [w // 2 for w in widths]
    # the next layer's inputs and every batch norm follow
    for previous, conv in zip(convs, convs[1:]):
        assert conv.in_channels == previous.out_channels
    for conv, bn in zip(convs, bns):
        assert bn.num_features == conv.out_channels == bn.running_mean.numel()
    # torch-pruning writes new weights in the default layout; CompactCNN's channels last is restored
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    head = model.head[-1]
    assert head.in_features == convs[-1].out_channels and head.out_features == 1
    # closed form of the pruned convolutions: in * out * 3 * 3 with both halved (not the first input)
    widths_in = [1] + [w // 2 for w in widths[:-1]]
    assert _conv_weights(model) == sum(i * (w // 2) * 9 for i, w in zip(widths_in, widths))
    assert _conv_weights(model) / dense_conv == pytest.approx(0.25, abs=0.01)
    x = torch.randn(5, 1, 28, 28)
    out = model(x)
    assert out.shape == (5,) and torch.isfinite(out).all()


def test_structured_prune_lowers_the_multiply_accumulates():
    import torch_pruning as tp

    model = _model()
    x = torch.zeros(1, 1, 28, 28)
    macs_dense, params_dense = tp.utils.count_ops_and_params(model, x)
    structured_channel_prune(model, x, 0.5)
    macs, params = tp.utils.count_ops_and_params(model, x)
    assert macs < 0.3 * macs_dense and params < 0.3 * params_dense
    assert params == sum(p.numel() for p in model.parameters())


def test_structured_prune_keeps_the_largest_l1_channels():
    model = _model()
    first = model.features[0]
    bn = model.features[1]
    # make three channels of the first convolution clearly the smallest in the whole group
    with torch.no_grad():
        first.weight[[2, 5, 11]] *= 1e-3
        bn.weight[[2, 5, 11]] *= 1e-3
    kept_reference = first.weight.detach().clone()
    structured_channel_prune(model, torch.zeros(1, 1, 28, 28), 0.5)
    # the survivors are among the original channels and none of the three small ones survived
    survivors = model.features[0].weight.detach()
    matches = [int(torch.where((kept_reference == w).flatten(1).all(1))[0][0]) for w in survivors]
    assert not {2, 5, 11} & set(matches)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_structured_prune_model_exports_to_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = structured_channel_prune(_model(), torch.zeros(2, 1, 28, 28), 0.5).eval()
    path = tmp_path / "pruned.onnx"
    # the legacy (TorchScript) exporter: the dynamo exporter failed on this Sequential CNN with a
    # dynamic batch axis (see the chapter design)
    torch.onnx.export(model, (torch.zeros(2, 1, 28, 28),), str(path), input_names=["images"],
                      output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                      dynamo=False)
    onnx.checker.check_model(onnx.load(str(path)))
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 1, 28, 28)
    got = session.run(None, {"images": x.numpy()})[0]
    # float32 through two different kernels: differences ~1e-6 on logits of size ~0.1
    np.testing.assert_allclose(got, model(x).detach().numpy(), atol=1e-4)


def test_structured_prune_checks_its_arguments():
    x = torch.zeros(1, 1, 28, 28)
    with pytest.raises(ValueError, match="ratio"):
        structured_channel_prune(_model(), x, 1.0)
    with pytest.raises(TypeError, match="example_inputs"):
        structured_channel_prune(_model(), np.zeros((1, 1, 28, 28)), 0.5)
    with pytest.raises(ValueError, match="importance"):
        structured_channel_prune(_model(), x, 0.5, importance="taylor")
    with pytest.raises(ValueError, match="make_pruning_permanent"):
        structured_channel_prune(magnitude_prune(_model(), 0.5), x, 0.5)
    with pytest.raises(TypeError, match="model"):
        structured_channel_prune(copy, x, 0.5)
