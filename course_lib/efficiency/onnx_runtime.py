"""Export to ONNX and int8 quantization with ONNX Runtime (ORT), on the CPU.

- :func:`export_onnx` writes a PyTorch model as an ONNX graph (float32, "fp32"); :func:`ort_session`
  and :func:`ort_predict` run it with ORT on a fixed number of threads.
- :func:`quantize_static_int8` (CNNs): weights int8 (per output channel), activations uint8 with
  ranges fixed beforehand from calibration inputs; QDQ format (QuantizeLinear/DequantizeLinear pairs
  around each quantized op, which ORT fuses into integer kernels).
- :func:`quantize_dynamic_int8` (recurrent networks, transformers): weights int8, activations
  quantized on the fly with the range of each batch. ORT quantizes MatMul (and Gemm, which it first
  rewrites as MatMul + Add), Conv, Gather (embedding tables), Attention, EmbedLayerNormalization and
  LSTM (as the fused DynamicQuantizeLSTM). **GRU is not covered**: ORT has no quantized GRU kernel
  (measured with onnxruntime 1.32: only the GRU model's output layer becomes MatMulInteger, the GRU's
  weights stay float32 and the file grows by the added quantization nodes).
- :func:`quantized_op_types` and :func:`initializer_bytes` show what got quantized.
- :func:`affine_quantize`, :func:`affine_dequantize` and :func:`int8_scale_zero_point` are the
  arithmetic by hand (NumPy), the same as ONNX's QuantizeLinear/DequantizeLinear:
  ``q = saturate(round_half_to_even(x / scale) + zero_point)``, ``x ≈ (q - zero_point) * scale``.
- :func:`export_minilm` and :func:`ort_embed`: the sentence encoder all-MiniLM-L6-v2 through ORT,
  mean-pooled like :func:`course_lib.text.pretrained.embed`.

Shapes: images ``(N, 1, 28, 28)`` float32; windows ``(N, L, F)`` float32; token ids and masks
``(N, L)`` int64; sentence embeddings ``(N, 384)`` float32.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from course_lib.arrays import as_array, as_count

#: warnings of the legacy exporter that say nothing about the exported graph
_EXPORT_NOISE = (
    (DeprecationWarning, r"You are using the legacy TorchScript-based ONNX export"),
    (DeprecationWarning, r"The feature will be removed"),
    # shape checks in forward (CompactCNN's input check, transformers' mask padding and is_causal
    # tests) are frozen at tracing time; they are constant for these models, and the tests compare
    # ORT's output with torch's on other batch sizes and lengths than the traced ones
    (torch.jit.TracerWarning, r""),
    (UserWarning, r"Exporting aten::index operator of advanced indexing"),
    # the initial LSTM/GRU state of RecurrentRegressor (no h0 passed) is exported as zeros shaped from
    # the input's batch size, so other batch sizes work (tested with 1 and 64 after tracing with 4)
    (UserWarning, r"Exporting a model to ONNX with a batch_size other than 1"),
)


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Drop the exporter's known noise (:data:`_EXPORT_NOISE`); other warnings still show."""
    with warnings.catch_warnings():
        for category, message in _EXPORT_NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


class _OrtQuantizationLog(logging.Filter):
    """ORT's quantization tools log through the root logger (``logging.warning(...)``), which also
    installs a stderr handler on the root logger when it has none. This filter holds those records
    back while a quantization runs; warnings and errors come back as Python warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if "onnxruntime" in record.pathname:
            self.records.append(record)
            return False
        return True


@contextlib.contextmanager
def _quiet_quantization() -> Iterator[None]:
    root = logging.getLogger()
    catcher = _OrtQuantizationLog()
    placeholder = logging.NullHandler() if not root.handlers else None  # stops logging.warning's basicConfig
    if placeholder is not None:
        root.addHandler(placeholder)
    root.addFilter(catcher)
    try:
        yield
    finally:
        root.removeFilter(catcher)
        if placeholder is not None:
            root.removeHandler(placeholder)
    for record in catcher.records:
        if record.levelno >= logging.WARNING:
            warnings.warn(f"onnxruntime.quantization: {record.getMessage()}", RuntimeWarning, stacklevel=3)


def _existing_file(path, name: str) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a path (str or Path), got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no ONNX file at {str(path)!r}")
    return path


def _output_path(path, name: str) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a path (str or Path), got {type(path).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _names(values, name: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence) or not values \
            or not all(isinstance(v, str) and v for v in values):
        raise TypeError(f"{name} must be a non-empty list of strings, got {values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated names: {values}")
    return list(values)


# ----------------------------------------------------------------------------------- export and run


def export_onnx(model: nn.Module, example_inputs: tuple | torch.Tensor, path, *, input_names: Sequence[str],
                output_names: Sequence[str], dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
                opset: int = 17) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file at ``path``, check it with ``onnx.checker`` and
    return the path. ``example_inputs`` (one tensor or a tuple) fix the traced shapes except the axes
    named in ``dynamic_axes`` (e.g. ``{"images": {0: "batch"}, "logits": {0: "batch"}}``). The model's
    train/eval mode is restored afterwards.

    Uses the TorchScript ("legacy") exporter, ``dynamo=False``, although torch 2.9+ defaults to the
    torch.export-based one. With torch 2.13 / onnxscript 0.7.2 the dynamo exporter failed on a plain
    Sequential CNN with a dynamic batch axis (found while designing this chapter); for CompactCNN and
    RecurrentRegressor it works (checked: same outputs as torch) but cannot write opset 17 (its version conversion fails with a printed traceback and it keeps
    opset 18), prints progress lines and takes ~5 s instead of ~0.1 s. The legacy exporter writes
    the requested opset quietly; its known, harmless warnings are dropped (see ``_EXPORT_NOISE``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    inputs = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else example_inputs
    if not isinstance(inputs, tuple) or not inputs or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise TypeError("example_inputs must be a tensor or a non-empty tuple of tensors")
    input_names = _names(input_names, "input_names")
    output_names = _names(output_names, "output_names")
    if len(input_names) != len(inputs):
        raise ValueError(f"input_names has {len(input_names)} names for {len(inputs)} example inputs")
    if dynamic_axes is not None:
        if not isinstance(dynamic_axes, Mapping):
            raise TypeError(f"dynamic_axes must be a dict name -> {{axis: label}}, got {type(dynamic_axes).__name__}")
        unknown = set(dynamic_axes) - set(input_names) - set(output_names)
        if unknown:
            raise ValueError(f"dynamic_axes names {sorted(unknown)} are neither inputs nor outputs")
    opset = as_count(opset, "opset", minimum=7)
    path = _output_path(path, "path")
    was_training = model.training
    model.eval()
    try:
        with _quiet_export(), torch.no_grad():
            torch.onnx.export(model, inputs, str(path), input_names=input_names, output_names=output_names,
                              dynamic_axes=dict(dynamic_axes) if dynamic_axes else None,
                              opset_version=opset, dynamo=False)
    finally:
        model.train(was_training)
    onnx.checker.check_model(str(path))  # the path form also works for models over 2 GB
    return path


def ort_session(path, *, threads: int = 1) -> ort.InferenceSession:
    """An ORT session on the CPU (``CPUExecutionProvider``) with ``threads`` threads inside each
    operator (``intra_op_num_threads``), one thread across operators and sequential execution, all
    graph optimisations, and only errors logged. The number of threads is fixed here, for the life of
    the session: build one session per thread count you measure."""
    path = _existing_file(path, "path")
    threads = as_count(threads, "threads")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # 0 verbose ... 3 error
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
              "tensor(bool)": np.bool_}


def ort_predict(session: ort.InferenceSession, inputs: Mapping[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """The first output of ``session`` for ``inputs``: a dict input name -> array, or one array for a
    model with one input. Arrays are converted to the dtype the model expects (e.g. float64 ->
    float32); torch tensors are accepted too."""
    if not isinstance(session, ort.InferenceSession):
        raise TypeError(f"session must be an onnxruntime.InferenceSession, got {type(session).__name__}")
    expected = {i.name: i.type for i in session.get_inputs()}
    if not isinstance(inputs, Mapping):
        if len(expected) != 1:
            raise ValueError(f"the model has inputs {sorted(expected)}: pass inputs as a dict name -> array")
        inputs = {next(iter(expected)): inputs}
    missing, unknown = set(expected) - set(inputs), set(inputs) - set(expected)
    if missing or unknown:
        raise ValueError(f"inputs must have the keys {sorted(expected)}; missing {sorted(missing)}, "
                         f"unknown {sorted(unknown)}")
    feed = {}
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        array = as_array(value, f"inputs[{name!r}]")
        dtype = _ORT_TYPES.get(expected[name])
        feed[name] = np.ascontiguousarray(array if dtype is None else array.astype(dtype, copy=False))
    return session.run(None, feed)[0]


# ------------------------------------------------------------------------------------ quantization


def _preprocess(source: Path, target: Path) -> None:
    """ORT's recommended pre-processing: ONNX shape inference and graph optimisation (batch-norm
    folded into convolutions, constants folded). ORT's symbolic shape inference is skipped: it fails on
    the MiniLM graph ("unsupported broadcast between Min(512, sequence) sequence"), leaving
    ``sym_shape_infer_temp.onnx`` and a 90 MB ``<uuid>.data`` file in the working directory, and
    ONNX's own shape inference is enough for these models."""
    with _quiet_quantization():
        quant_pre_process(str(source), str(target), skip_symbolic_shape=True)


def _quantization_paths(fp32_path, int8_path, per_channel) -> tuple[Path, Path]:
    """The checked source and target files of a quantizer (and its ``per_channel`` flag)."""
    source = _existing_file(fp32_path, "fp32_path")
    target = _output_path(int8_path, "int8_path")
    if source.resolve() == target.resolve():
        raise ValueError("int8_path must differ from fp32_path")
    if not isinstance(per_channel, bool):
        raise TypeError(f"per_channel must be a bool, got {type(per_channel).__name__}")
    return source, target


def quantize_dynamic_int8(fp32_path, int8_path, *, per_channel: bool = True) -> Path:
    """Dynamic int8 quantization of the ONNX model at ``fp32_path``, written to ``int8_path``.

    Weights become int8, one scale per output channel (``per_channel=True``) or one per weight
    tensor; activations are quantized to uint8 on the fly with each batch's own range (no
    calibration). Ops covered by ORT 1.32: MatMul and Gemm (as MatMulInteger), Conv (ConvInteger),
    Gather (embedding tables, stored as uint8), Attention, EmbedLayerNormalization and LSTM
    (DynamicQuantizeLSTM); not GRU, and not LayerNormalization, Softmax or element-wise ops, which stay
    float32 (see the module docstring and :func:`quantized_op_types`). The model is pre-processed
    first (shape inference and graph optimisation).

    Per channel is the default because per tensor hurts MiniLM (measured on 7 SST-2 sentences:
    cosine similarity to the fp32 embeddings min 0.90 / mean 0.95 per tensor, 0.98 / 0.99 per
    channel, for 0.1 MB more); its attention and feed-forward matrices have a few columns of much
    larger weights, which a single scale per matrix resolves badly.
    """
    source, target = _quantization_paths(fp32_path, int8_path, per_channel)
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / "preprocessed.onnx"
        _preprocess(source, prepared)
        with _quiet_quantization():
            quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8, per_channel=per_channel)
    onnx.checker.check_model(str(target))
    return target


def _model_inputs(path: Path) -> dict[str, np.dtype]:
    """Graph inputs (that are not weights) of an ONNX file and their NumPy dtypes."""
    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {w.name for w in graph.initializer}
    return {i.name: np.dtype(onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type))
            for i in graph.input if i.name not in weights}


class ArrayCalibrationReader(CalibrationDataReader):
    """Feeds calibration inputs to ORT's static quantizer: ``arrays`` maps each model input name to an
    array whose first axis runs over examples (all of the same length); ``get_next`` returns the next
    batch of ``batch_size`` examples as a dict, then None when all are used; ``rewind`` starts again.
    Floating arrays are converted to float32."""

    def __init__(self, arrays: Mapping[str, np.ndarray], batch_size: int = 32):
        if not isinstance(arrays, Mapping) or not arrays:
            raise TypeError("arrays must be a non-empty dict input name -> array")
        self.batch_size = as_count(batch_size, "batch_size")
        self.arrays = {}
        for name, values in arrays.items():
            if not isinstance(name, str):
                raise TypeError(f"arrays keys must be input names (str), got {name!r}")
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu().numpy()
            array = as_array(values, f"arrays[{name!r}]")
            if array.ndim < 1:
                raise ValueError(f"arrays[{name!r}] must have an example axis first, got a scalar")
            self.arrays[name] = array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array
        lengths = {name: len(a) for name, a in self.arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"arrays must all hold the same number of examples, got {lengths}")
        self.n_examples = next(iter(lengths.values()))
        self.position = 0

    def __len__(self) -> int:
        """Number of batches."""
        return -(-self.n_examples // self.batch_size)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= self.n_examples:
            return None
        stop = self.position + self.batch_size
        batch = {name: np.ascontiguousarray(a[self.position:stop]) for name, a in self.arrays.items()}
        self.position = stop
        return batch

    def rewind(self) -> None:
        self.position = 0


def quantize_static_int8(fp32_path, int8_path, calibration: Mapping[str, np.ndarray] | np.ndarray, *,
                         batch_size: int = 32, per_channel: bool = True) -> Path:
    """Static int8 quantization of the ONNX model at ``fp32_path``, written to ``int8_path``.

    The model is pre-processed (shape inference; batch norm folded into the convolutions), then run
    on ``calibration`` (a dict input name -> array, or one array for a one-input model, e.g. 256
    training images ``(N, 1, 28, 28)``) in batches of ``batch_size``; each activation's range is the
    minimum and maximum seen (MinMax calibration). Weights: int8, symmetric, per output channel
    (``per_channel=True``) or per tensor; activations: uint8, asymmetric. QDQ format.
    """
    source, target = _quantization_paths(fp32_path, int8_path, per_channel)
    expected = _model_inputs(source)
    if not isinstance(calibration, Mapping):
        if len(expected) != 1:
            raise ValueError(f"the model has inputs {sorted(expected)}: pass calibration as a dict name -> array")
        calibration = {next(iter(expected)): calibration}
    if set(calibration) != set(expected):
        raise ValueError(f"calibration must have the keys {sorted(expected)}, got {sorted(calibration)}")
    reader = ArrayCalibrationReader(calibration, batch_size)
    for name, dtype in expected.items():  # e.g. int64 token ids stay int64, images become float32
        reader.arrays[name] = reader.arrays[name].astype(dtype, copy=False)
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / "preprocessed.onnx"
        _preprocess(source, prepared)
        with _quiet_quantization():
            quantize_static(str(prepared), str(target), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=per_channel, calibrate_method=CalibrationMethod.MinMax)
    onnx.checker.check_model(str(target))
    return target


def quantized_op_types(path) -> collections.Counter:
    """How often each operator type occurs in the main graph of an ONNX file. Quantized parts show
    as QuantizeLinear/DequantizeLinear (static, QDQ), DynamicQuantizeLinear + MatMulInteger/ConvInteger
    or DynamicQuantizeLSTM (dynamic); float ops keep their names (Conv, MatMul, GRU, ...)."""
    path = _existing_file(path, "path")
    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def initializer_bytes(path) -> dict[str, int]:
    """Bytes of the stored weights (initializers) of an ONNX file by dtype, e.g.
    ``{"float32": 1200, "int8": 94000}``: how much of the model is really int8."""
    path = _existing_file(path, "path")
    totals: dict[str, int] = collections.defaultdict(int)
    for tensor in onnx.load(str(path)).graph.initializer:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
        totals[dtype.name] += int(np.prod(tensor.dims, dtype=np.int64)) * dtype.itemsize
    return dict(totals)


# --------------------------------------------------------------------------- affine int8 by hand

_INTEGER_TYPES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _integer_type(dtype) -> tuple[np.dtype, int, int]:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be np.int8 or np.uint8, got {dtype!r}") from None
    if dtype not in _INTEGER_TYPES:
        raise ValueError(f"dtype must be np.int8 or np.uint8, got {dtype}")
    return (dtype, *_INTEGER_TYPES[dtype])


def _scale(scale) -> np.float32:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"scale must be a number, got {type(scale).__name__}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale}")
    return np.float32(scale)


def _zero_point(zero_point, low: int, high: int) -> int:
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):
        raise TypeError(f"zero_point must be an integer, got {type(zero_point).__name__}")
    if not low <= zero_point <= high:
        raise ValueError(f"zero_point must lie in [{low}, {high}], got {zero_point}")
    return int(zero_point)


def affine_quantize(x, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """``q = clip(round(x / scale) + zero_point, qmin, qmax)`` as ``dtype`` (int8: [-128, 127],
    uint8: [0, 255]), computed in float32 with ties rounded to the even integer (2.5 -> 2, 3.5 -> 4),
    as ONNX QuantizeLinear does. Values beyond the range saturate at its ends."""
    dtype, low, high = _integer_type(dtype)
    values = as_array(x, "x").astype(np.float32)
    scaled = np.rint(values / _scale(scale))  # np.rint rounds half to even
    return np.clip(scaled + _zero_point(zero_point, low, high), low, high).astype(dtype)


def affine_dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32: the real number each integer code stands for."""
    values = as_array(q, "q")
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"q must hold integers (int8 or uint8 codes), got dtype {values.dtype}")
    difference = values.astype(np.int32) - _zero_point(zero_point, -(2 ** 31), 2 ** 31 - 1)
    return difference.astype(np.float32) * _scale(scale)


def int8_scale_zero_point(x_min: float, x_max: float, symmetric: bool, dtype=np.int8) -> tuple[float, int]:
    """Scale and zero point that map the real range [x_min, x_max] onto the integer range, as ORT's
    quantizer chooses them. The range is first widened to contain 0 (so that 0 is exactly
    representable: padding and ReLU zeros stay exact).

    - symmetric (weights): [-a, a] with a = max(|x_min|, |x_max|) onto [-127, 127] (int8; ORT leaves
      -128 unused so the range is symmetric), zero point 0 (128 for uint8 on [0, 255]);
      scale = 2a / 254.
    - asymmetric (activations): scale = (x_max - x_min) / (qmax - qmin), zero point
      round(qmin - x_min / scale); for int8 [-128, 127], for uint8 [0, 255].

    A range of width 0 (all values 0) gives scale 1 and zero point 0, as in ORT.
    """
    dtype, low, high = _integer_type(dtype)
    bounds = []
    for name, value in (("x_min", x_min), ("x_max", x_max)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        bounds.append(float(value))
    if bounds[0] > bounds[1]:
        raise ValueError(f"x_min must be <= x_max, got {bounds[0]} > {bounds[1]}")
    if not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be a bool, got {type(symmetric).__name__}")
    lo, hi = min(bounds[0], 0.0), max(bounds[1], 0.0)
    if symmetric:
        if dtype == np.int8:
            low = -127
        hi = max(-lo, hi)
        lo = -hi
    scale = (hi - lo) / (high - low)
    if np.float32(scale) < np.finfo(np.float32).tiny:
        return 1.0, 0  # as ORT does for an empty range
    if symmetric:
        zero_point = int(np.round((low + high) / 2.0))
    else:
        zero_point = int(np.clip(np.round(low - lo / scale), low, high))
    return float(np.float32(scale)), zero_point


# ---------------------------------------------------------------------------------------- MiniLM


class _LastHiddenState(nn.Module):
    """A BERT-style encoder as a function (input_ids, attention_mask) -> last_hidden_state (B, L, H)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]


MINILM_INPUTS = ("input_ids", "attention_mask")


def export_minilm(encoder: nn.Module, tokenizer, path, *, max_length: int = 64) -> Path:
    """Export a BERT-style ``encoder`` (all-MiniLM-L6-v2 from
    :func:`course_lib.text.pretrained.load_pretrained`) as ONNX: inputs ``input_ids`` and
    ``attention_mask`` (int64, (batch, sequence)), output ``last_hidden_state`` (float32, (batch,
    sequence, 384)), batch and sequence axes dynamic (up to the model's 512 positions).

    The example batch (two sentences of different lengths, padded, cut to ``max_length`` tokens)
    holds padding, so the traced graph keeps the attention-mask path.
    """
    if not isinstance(encoder, nn.Module) or not hasattr(encoder, "config"):
        raise TypeError(f"encoder must be a transformers encoder (nn.Module with .config), got {type(encoder).__name__}")
    if not callable(tokenizer) or getattr(tokenizer, "pad_token_id", None) is None:
        raise TypeError("tokenizer must be the encoder's transformers tokenizer (callable, with pad_token_id)")
    max_length = as_count(max_length, "max_length", minimum=8)
    example = tokenizer(["a short example", "a longer example sentence, so that the first one is padded"],
                        padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in (*MINILM_INPUTS, "last_hidden_state")}
    return export_onnx(_LastHiddenState(encoder), tuple(example[name] for name in MINILM_INPUTS), path,
                       input_names=list(MINILM_INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes)


def ort_embed(session: ort.InferenceSession, tokenizer, sentences: Sequence[str], *, batch_size: int = 64,
              max_length: int = 64) -> np.ndarray:
    """Mean-pooled sentence embeddings ``(N, 384)`` float32 from an ORT session of
    :func:`export_minilm` (fp32 or int8), batched and padded exactly like
    :func:`course_lib.text.pretrained.embed` (length buckets, each batch padded to its longest
    sentence), in the order of ``sentences``."""
    from course_lib.text.data import in_dataset_order, token_loader
    from course_lib.text.pretrained import tokenize

    if not isinstance(session, ort.InferenceSession):
        raise TypeError(f"session must be an onnxruntime.InferenceSession, got {type(session).__name__}")
    if sorted(i.name for i in session.get_inputs()) != sorted(MINILM_INPUTS):
        raise ValueError(f"session must take the inputs {list(MINILM_INPUTS)} (a model of export_minilm)")
    if isinstance(sentences, str) or not isinstance(sentences, Sequence) or len(sentences) == 0 \
            or not all(isinstance(s, str) for s in sentences):
        raise TypeError("sentences must be a non-empty list of strings")
    batch_size = as_count(batch_size, "batch_size")
    max_length = as_count(max_length, "max_length", minimum=2)
    ids = tokenize(tokenizer, sentences, max_length)
    loader = token_loader(ids, np.zeros(len(ids), dtype=np.int64), batch_size=batch_size,
                          pad_id=tokenizer.pad_token_id)
    pieces = []
    for inputs, _ in loader:
        feed = {name: inputs[name].numpy().astype(np.int64) for name in MINILM_INPUTS}
        hidden = session.run(None, feed)[0]
        weights = feed["attention_mask"].astype(np.float32)[:, :, None]
        pieces.append((hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9))
    return in_dataset_order(np.concatenate(pieces).astype(np.float32), loader)
