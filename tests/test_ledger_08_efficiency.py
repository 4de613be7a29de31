"""Bars for notebook 08 (deep learning without powerful hardware), read from results/08_efficiency.json.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. The structure (every model and variant scored once on its task's test
split, with provenance; sizes, latency ratios and the verdicts the notebook promises) is checked on any
data. The bars on size, latency and the equality of the two-process training hold on any data (they
do not depend on what the images or sentences show); the quality bars apply only to real data.

Latency ratios are medians of calls timed interleaved with their reference in the same run
(course_lib.efficiency.latency_grid.paired_latency), so a change of the machine's load hits both;
still, every latency bar sits far from the measured value and is placed at a setting where the effect
is large (a batch rather than a single example where the per-call overhead dominates).
"""

from __future__ import annotations

import math

import pytest

from ledger_bars import mean_of, single_verdict, skip_unless_real

pytestmark = pytest.mark.ledger

NOTEBOOK = "08_efficiency"
CNN, LR, HOG = "CNN fp32", "logistic regression (pixels)", "HOG + linear SVM"
CNN_INT8 = "CNN int8 (ONNX Runtime, static)"
SPARSE, CHANNELS = "CNN magnitude-pruned", "CNN channel-pruned (half the channels)"
HARD, SOFT = "tiny CNN, hard labels", "tiny CNN, distilled from the CNN"
DDP_2, DDP_1 = "CNN, 40 SGD steps, 2 processes (DDP)", "CNN, 40 SGD steps, 1 process"
LSTM, GRU, HAR = "LSTM fp32", "GRU fp32", "HAR"
LSTM_INT8, GRU_INT8 = "LSTM int8 (ONNX Runtime, dynamic)", "GRU int8 (ONNX Runtime, dynamic)"
MINILM, MINILM_INT8, TFIDF = "MiniLM + LR fp32", "MiniLM int8 (ONNX Runtime, dynamic) + LR", "TF-IDF + LR"

XRAYS = (CNN, LR, HOG, CNN_INT8, SPARSE, CHANNELS, HARD, SOFT, DDP_2, DDP_1)
SERIES = (LSTM, GRU, HAR, LSTM_INT8, GRU_INT8)
SENTENCES = (MINILM, MINILM_INT8, TFIDF)
SEEDED = (CNN, CNN_INT8, SPARSE, CHANNELS, HARD, SOFT, LSTM, GRU, LSTM_INT8, GRU_INT8, MINILM, MINILM_INT8)
VARIANTS = (CNN_INT8, SPARSE, CHANNELS, HARD, SOFT, LSTM_INT8, GRU_INT8, MINILM_INT8)   # timed against a reference
SETTINGS = ("b1_t1", "b1_t2", "batch_t1", "batch_t2")
#: CompactCNN counted by hand (notebook 07's ledger test): convolutions 60,048, batch norm 352, output 65.
CNN_PARAMS = 60_048 + 352 + 65
#: TinyCNN (4-8-16 channels, one convolution each): convolutions 1*4*9 + 4*8*9 + 8*16*9 = 1,476, batch
#: norm 2*(4 + 8 + 16) = 56, output layer 16 + 1 = 17.
STUDENT_PARAMS = 1_476 + 56 + 17

# ----------------------------------------------------------------------------------- size bars
# int8 stores a weight in 1 byte instead of 4; measured size ratios (int8 ONNX file / fp32 ONNX file):
# CNN 0.31 (scales, zero points and the few float32 biases stay), MiniLM 0.25, LSTM 0.52 (a 19 kB
# file, where the graph's own bytes weigh). The bar "at least 2x smaller" for CNN and MiniLM;
# a broken quantization (nothing converted) stays near 1.
INT8_MAX_SIZE_RATIO = {CNN_INT8: 0.5, MINILM_INT8: 0.5, LSTM_INT8: 0.7}
# ORT 1.32 has no integer GRU kernel: only the output layer is quantized and the file grows (measured
# 1.08). The notebook says so in words; if this fails, ORT learned to quantize GRUs: update the text.
GRU_INT8_MIN_SIZE_RATIO = 0.9
# Removing half of the channels leaves about a quarter of the convolution weights: measured 0.28 of
# the bytes and 15,257 of 60,465 parameters. Pruned zeros are still stored: the magnitude-pruned file
# has the unpruned size (ratio 1, exactly the same tensors).
CHANNELS_MAX_SIZE_RATIO = 0.35
STUDENT_MAX_SIZE_RATIO = 0.1          # measured 0.053 (1,549 parameters against 60,465)

# -------------------------------------------------------------------------------- latency bars
# int8 MiniLM at batch 1 on 1 thread against fp32 MiniLM in ONNX Runtime: measured 0.47-0.51 (the issue:
# "faster at batch 1 on 1 thread"). A bar at 1 leaves a margin of about 2x for noise.
MINILM_INT8_MAX_RATIO_B1_T1 = 1.0
# The int8 CNN at a batch of 64 on 1 thread: measured 0.44-0.66 (at batch 1 the call overhead of
# ONNX Runtime dominates: measured 0.9, too close to 1 for a bar).
CNN_INT8_MAX_RATIO_BATCH_T1 = 1.0
# Half the channels: measured 0.45-0.48 at batch 64 on 1 thread ("a measured speed-up"; at batch 1 the
# per-call overhead of PyTorch dominates: 0.79-0.98, so no bar there).
CHANNELS_MAX_RATIO_BATCH_T1 = 0.8
# Zeros in dense kernels buy nothing: measured 0.88-1.0 at batch 64 on 1 thread. A kernel that skipped
# 75 % zeros would run at about a quarter of the time; the bar [0.7, 1.4] separates the two and leaves
# room for noise.
SPARSE_RATIO_BATCH_T1 = (0.7, 1.4)

# --------------------------------------------------------------------------------- DDP
# float64 training of 40 steps: the two runs differ only by the summation order of the all-reduce,
# ~1e-16 relative per step (measured 2e-16); the tolerance 1e-6.
DDP_TOLERANCE = 1e-6

# -------------------------------------------------------------------------------- quality bars
# Real data only. Measured (test, 3 seeds): CNN fp32 AUC 0.962 ± 0.002 (3 short epochs; notebook 02's
# 16-epoch CNN: 0.978), int8 0.962, magnitude-pruned 0.956-0.962, channel-pruned 0.949-0.953, students
# 0.941-0.946, HOG + SVM 0.947, logistic regression 0.927. A broken pipeline (labels misaligned, no
# training, a wrong normalisation) lands near AUC 0.5. Each bar sits 2-3 test-draw standard errors (an
# AUC near 0.95 on 624 X-rays: ~0.008) below the measurement.
BARS_AUC = {CNN: 0.94, CNN_INT8: 0.94, SPARSE: 0.92, CHANNELS: 0.91, HARD: 0.90, SOFT: 0.90, LR: 0.90, HOG: 0.92}
# Quantization within noise (the issue): the computed verdicts of int8 against fp32 may not name fp32
# the winner by more than a margin — 0.005 AUC, about 0.6 of one test-draw standard error (measured
# difference -0.0002); and MiniLM's dev accuracy within 1 point of fp32 (measured +0.002).
QUANTIZATION_MAX_AUC_LOSS = 0.005
MINILM_INT8_MAX_ACCURACY_LOSS = 0.01
# QLIKE (lower is better) on the 1,006 test days of 2015-2018: LSTM 0.453-0.457, GRU 0.418-0.423, HAR
# 0.467; a network that learned nothing (a constant forecast) scores about 0.8 (naive, notebook 03).
# int8 within 2 % of fp32 (measured within 0.1 %).
MAX_QLIKE = {LSTM: 0.55, GRU: 0.55, HAR: 0.55, LSTM_INT8: 0.55, GRU_INT8: 0.55}
INT8_MAX_QLIKE_INCREASE = 0.02
# Dev accuracy: MiniLM (900 sentences per seed, frozen) 0.807 ± 0.01, TF-IDF on all phrases 0.807; the
# majority class scores 0.51.
MIN_ACCURACY = {MINILM: 0.75, MINILM_INT8: 0.75, TFIDF: 0.75}


# ------------------------------------------------------------------------------------------ structure
def test_only_the_planned_models_are_recorded(models):
    assert sorted(models) == sorted(XRAYS + SERIES + SENTENCES), sorted(set(models) ^ set(XRAYS + SERIES + SENTENCES))


@pytest.mark.parametrize("model", XRAYS + SERIES + SENTENCES)
def test_model_recorded_with_its_tasks_data_and_scored_once(models, model):
    entry = models[model]
    dataset, metrics = (("pneumoniamnist", ("auc", "accuracy")) if model in XRAYS else
                        ("sp500", ("qlike", "mse")) if model in SERIES else ("sst2", ("accuracy",)))
    assert entry["dataset"] == dataset, entry["dataset"]
    assert entry["test_evaluations"] == 1, f"{model}: scored {entry['test_evaluations']} times"
    assert entry["split"] == ("dev" if model in SENTENCES else entry["split"])
    assert entry["provenance"] != "synthetic" or entry["stand_in"], "synthetic data must be marked as a stand-in"
    for metric in metrics:
        value = entry["metrics"][metric]
        assert value["n"] == (3 if model in SEEDED else 1), f"{model} {metric}: n={value['n']}"
        assert math.isfinite(value["mean"]) and value["std"] >= 0, (model, metric, value)
    assert isinstance(entry["params"], int) and entry["params"] > 0


@pytest.mark.parametrize("model", VARIANTS)
def test_variants_record_size_and_latency_ratios(models, model):
    metrics = models[model]["metrics"]
    for setting in SETTINGS:
        ratio = metrics[f"latency_ratio_{setting}"]["mean"]
        assert 0 < ratio < 100, f"{model}: latency ratio {setting} = {ratio}"
    assert metrics["size_ratio"]["mean"] > 0 and metrics["size_bytes"]["mean"] > 0
    assert "timed interleaved" in models[model]["notes"], models[model]["notes"]


def test_parameters_are_counted_by_hand(models):
    for name in (CNN, CNN_INT8, SPARSE, DDP_2, DDP_1):
        assert models[name]["params"] == CNN_PARAMS, (name, models[name]["params"])
    for name in (HARD, SOFT):
        assert models[name]["params"] == STUDENT_PARAMS, (name, models[name]["params"])
    assert models[LR]["params"] == 28 * 28 + 1 and models[HAR]["params"] == 4
    assert models[CHANNELS]["params"] < 0.3 * CNN_PARAMS


@pytest.mark.parametrize("model_a, model_b, metric", [
    (CNN_INT8, CNN, "test AUC"), (CNN_INT8, CNN, "test AUC, seed 0"), (LSTM_INT8, LSTM, "test QLIKE"),
    (GRU_INT8, GRU, "test QLIKE"), (MINILM_INT8, MINILM, "dev accuracy"), (MINILM_INT8, MINILM, "dev accuracy, seed 0"),
    (SPARSE, CNN, "test AUC"), (CHANNELS, CNN, "test AUC"), (SOFT, HARD, "test AUC"), (SOFT, CNN, "test AUC"),
    (LSTM, HAR, "test QLIKE, seed 0"), (GRU, HAR, "test QLIKE, seed 0"), (MINILM, TFIDF, "dev accuracy, seed 0"),
])
def test_the_planned_comparisons_have_verdicts(verdicts, model_a, model_b, metric):
    verdict = single_verdict(verdicts, model_a, model_b, metric)
    assert verdict["method"].startswith("paired t over 3 seeds" if "seed 0" not in metric else "paired bootstrap")


# ---------------------------------------------------------------------------------- size and speed
@pytest.mark.parametrize("model", list(INT8_MAX_SIZE_RATIO))
def test_int8_models_are_smaller(models, model):
    ratio = models[model]["metrics"]["size_ratio"]["mean"]
    assert ratio <= INT8_MAX_SIZE_RATIO[model], f"{model}: int8 file / fp32 file = {ratio:.3f}"


def test_the_gru_is_not_quantized_by_this_onnx_runtime(models):
    ratio = models[GRU_INT8]["metrics"]["size_ratio"]["mean"]
    assert ratio >= GRU_INT8_MIN_SIZE_RATIO, f"GRU int8 / fp32 = {ratio:.3f}: ORT now quantizes GRUs, update the notebook"


def test_pruning_and_distillation_sizes(models):
    assert models[SPARSE]["metrics"]["size_ratio"]["mean"] == 1.0, "zeros are stored like any other weight"
    assert 0.5 <= models[SPARSE]["metrics"]["sparsity"]["mean"] <= 0.95, models[SPARSE]["metrics"]["sparsity"]
    assert models[CHANNELS]["metrics"]["size_ratio"]["mean"] <= CHANNELS_MAX_SIZE_RATIO
    for name in (HARD, SOFT):
        assert models[name]["metrics"]["size_ratio"]["mean"] <= STUDENT_MAX_SIZE_RATIO


def test_int8_minilm_is_faster_at_batch_1_on_1_thread(models):
    ratio = models[MINILM_INT8]["metrics"]["latency_ratio_b1_t1"]["mean"]
    assert ratio < MINILM_INT8_MAX_RATIO_B1_T1, f"int8 / fp32 MiniLM latency (batch 1, 1 thread) = {ratio:.3f}"


def test_int8_cnn_is_faster_on_a_batch(models):
    ratio = models[CNN_INT8]["metrics"]["latency_ratio_batch_t1"]["mean"]
    assert ratio < CNN_INT8_MAX_RATIO_BATCH_T1, f"int8 / fp32 CNN latency (64 X-rays, 1 thread) = {ratio:.3f}"


def test_structured_pruning_gives_a_measured_speed_up(models):
    ratio = models[CHANNELS]["metrics"]["latency_ratio_batch_t1"]["mean"]
    assert ratio < CHANNELS_MAX_RATIO_BATCH_T1, f"channel-pruned / unpruned latency (64 X-rays, 1 thread) = {ratio:.3f}"


def test_zeros_in_dense_kernels_buy_no_speed(models):
    ratio = models[SPARSE]["metrics"]["latency_ratio_batch_t1"]["mean"]
    low, high = SPARSE_RATIO_BATCH_T1
    assert low <= ratio <= high, f"magnitude-pruned / unpruned latency (64 X-rays, 1 thread) = {ratio:.3f}"


def test_two_processes_compute_what_one_process_computes(models):
    for name in (DDP_2, DDP_1):
        gap = models[name]["metrics"]["max_parameter_difference"]["mean"]
        assert gap <= DDP_TOLERANCE, f"max |parameter difference| 2 processes vs 1 = {gap:.2e}"
        assert models[name]["metrics"]["training_loop_seconds"]["mean"] > 0
    # the same parameters give the same test scores (float32 evaluation of the same float64 weights)
    assert abs(mean_of(models, DDP_2, "auc") - mean_of(models, DDP_1, "auc")) < 1e-6


# ------------------------------------------------------------------------------------------ quality
@pytest.mark.parametrize("model", list(BARS_AUC))
def test_xray_quality_bars(models, model):
    skip_unless_real(models, model)
    assert mean_of(models, model, "auc") >= BARS_AUC[model], f"{model}: test AUC {mean_of(models, model, 'auc'):.4f}"


def test_int8_cnn_is_within_noise_of_fp32(models, verdicts):
    skip_unless_real(models, CNN, CNN_INT8)
    for metric in ("test AUC", "test AUC, seed 0"):
        verdict = single_verdict(verdicts, CNN_INT8, CNN, metric)
        assert verdict["winner"] != CNN or -verdict["difference"] <= QUANTIZATION_MAX_AUC_LOSS, verdict["sentence"]
    assert mean_of(models, CNN_INT8, "auc") >= mean_of(models, CNN, "auc") - QUANTIZATION_MAX_AUC_LOSS


def test_int8_minilm_is_within_one_point(models):
    skip_unless_real(models, MINILM, MINILM_INT8)
    loss = mean_of(models, MINILM, "accuracy") - mean_of(models, MINILM_INT8, "accuracy")
    assert loss <= MINILM_INT8_MAX_ACCURACY_LOSS, f"int8 MiniLM loses {loss:.4f} dev accuracy"


@pytest.mark.parametrize("model", list(MAX_QLIKE))
def test_volatility_quality_bars(models, model):
    # the S&P 500 ships with arch: real in every run
    assert mean_of(models, model, "qlike") <= MAX_QLIKE[model], f"{model}: test QLIKE {mean_of(models, model, 'qlike'):.4f}"


@pytest.mark.parametrize("int8, fp32", [(LSTM_INT8, LSTM), (GRU_INT8, GRU)])
def test_int8_recurrent_networks_keep_their_qlike(models, int8, fp32):
    increase = mean_of(models, int8, "qlike") / mean_of(models, fp32, "qlike") - 1
    assert increase <= INT8_MAX_QLIKE_INCREASE, f"{int8}: QLIKE {increase:+.2%} against fp32"


@pytest.mark.parametrize("model", list(MIN_ACCURACY))
def test_sentiment_quality_bars(models, model):
    skip_unless_real(models, model)
    assert mean_of(models, model, "accuracy") >= MIN_ACCURACY[model], f"{model}: dev accuracy {mean_of(models, model, 'accuracy'):.4f}"
