"""Deep learning without powerful hardware: the pieces of notebook 08, one module per job.

- :mod:`course_lib.efficiency.measure` — what a model costs: parameters, size on disk, latency (median
  and 95th percentile, warm-up excluded, at a fixed thread count), ratios against fp32, the cost table
  and its Pareto front.
- :mod:`course_lib.efficiency.latency_grid` — latency over batch sizes and thread counts, and a variant
  timed interleaved with its reference so that their ratio survives a change in the machine's load
  (import its functions from the module: a package-level ``latency_grid`` would hide the module).
- :mod:`course_lib.efficiency.onnx_runtime` — export to ONNX and int8 quantization with ONNX Runtime
  (static with a calibration set, dynamic), affine quantization written out by hand, MiniLM through
  ONNX Runtime.
- :mod:`course_lib.efficiency.pruning` — magnitude pruning with ``torch.nn.utils.prune`` (zeros in dense
  kernels) and structured channel pruning with torch-pruning (smaller layers).
- :mod:`course_lib.efficiency.distillation` — the soft-label loss, a tiny student CNN and its training.
- :mod:`course_lib.efficiency.distributed` — run :mod:`course_lib.efficiency.ddp_train` (a ``torchrun``
  script with DistributedDataParallel) on two processes and on one, compare their parameters, and
  write the launch lines for several machines and for GPUs.
- :mod:`course_lib.efficiency.diagrams` — the chapter's figures.
"""

from course_lib.efficiency.diagrams import (
    draw_ddp,
    draw_distillation,
    draw_pruning,
    draw_quantization,
    plot_pareto,
    plot_sparsity_curve,
)
from course_lib.efficiency.distillation import TinyCNN, distil, distillation_loss, teacher_logits
from course_lib.efficiency.distributed import (
    DDPResult,
    launch_command,
    max_parameter_difference,
    read_result,
    run_ddp,
    run_single,
    write_training_data,
)
from course_lib.efficiency.measure import (
    Latency,
    cost_row,
    cost_table,
    latency_ratio,
    measure_latency,
    parameter_count,
    pareto_front,
    resident_memory_mib,
    size_on_disk,
)
from course_lib.efficiency.onnx_runtime import (
    affine_dequantize,
    affine_quantize,
    export_minilm,
    export_onnx,
    int8_scale_zero_point,
    ort_embed,
    ort_predict,
    ort_session,
    quantize_dynamic_int8,
    quantize_static_int8,
    quantized_op_types,
)
from course_lib.efficiency.pruning import (
    fine_tune,
    magnitude_mask,
    magnitude_prune,
    make_pruning_permanent,
    sparsity,
    structured_channel_prune,
)

__all__ = [
    "DDPResult", "Latency", "TinyCNN", "affine_dequantize", "affine_quantize", "cost_row", "cost_table",
    "distil", "distillation_loss", "draw_ddp", "draw_distillation", "draw_pruning", "draw_quantization",
    "export_minilm", "export_onnx", "fine_tune", "int8_scale_zero_point", "latency_ratio", "launch_command",
    "magnitude_mask", "magnitude_prune", "make_pruning_permanent", "max_parameter_difference",
    "measure_latency", "ort_embed", "ort_predict", "ort_session", "parameter_count", "pareto_front",
    "plot_pareto", "plot_sparsity_curve", "quantize_dynamic_int8", "quantize_static_int8",
    "quantized_op_types", "read_result", "resident_memory_mib", "run_ddp", "run_single", "size_on_disk", "sparsity",
    "structured_channel_prune", "teacher_logits", "write_training_data",
]
