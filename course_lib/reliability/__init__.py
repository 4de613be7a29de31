"""When deep models fail: the pieces of notebooks 09 and 10, one module per job.

- :mod:`course_lib.reliability.corruptions` — MedMNIST-C's corruptions of PneumoniaMNIST at their
  published severities (severity 0 is the identity; dtype, shape and range are kept).
- :mod:`course_lib.reliability.shift` — robustness curves: AUC, calibration error and accuracy against
  severity, and the share of above-chance skill a severity removes.
- :mod:`course_lib.reliability.ood` — out-of-distribution scores (maximum softmax probability, energy,
  Mahalanobis on features, PCA residual and isolation forest on pixels; higher = more in-distribution),
  AUROC and FPR at 95 % TPR.
- :mod:`course_lib.reliability.far_ood` — far-OOD images from installed packages (scikit-learn's digits,
  scikit-image's bundled pictures).
- :mod:`course_lib.reliability.faithfulness` — image explanations put to the test: integrated gradients,
  Grad-CAM, parameter randomisation (Adebayo et al. 2018), deletion and insertion curves.
- :mod:`course_lib.reliability.fairness` — the arrests task, per-group metrics with fairlearn, gaps with
  bootstrap intervals, thresholds chosen on validation, fairlearn's ThresholdOptimizer.
- :mod:`course_lib.reliability.token_attribution` — a transformer's explanations put to the test:
  attention rollout, layer integrated gradients, their agreement, token deletion curves.
- :mod:`course_lib.reliability.diagrams` — the chapter's schematics.

``faithfulness.curve_auc`` (area over the deleted fraction) and ``token_attribution.curve_auc`` (the
curve's mean height) differ: import each from its module.
"""

from course_lib.reliability.corruptions import CORRUPTIONS, corrupt, corruption_names
from course_lib.reliability.diagrams import (
    draw_detectors,
    draw_fairness_pipeline,
    draw_rollout,
    draw_sanity_check,
    draw_shift_vs_ood,
)
from course_lib.reliability.fairness import (
    TabularTask,
    arrests_models,
    arrests_task,
    bootstrap_gaps,
    choose_threshold_on_validation,
    fairness_gaps,
    group_metrics,
    mitigate_threshold_optimizer,
)
from course_lib.reliability.faithfulness import (
    deletion_curve,
    gradcam_maps,
    insertion_curve,
    integrated_gradients_images,
    map_similarity,
    randomised_copy,
)
from course_lib.reliability.far_ood import far_ood_images
from course_lib.reliability.ood import (
    IsolationForestDetector,
    MahalanobisDetector,
    PCAResidualDetector,
    detector_table,
    energy_score,
    fpr_at_tpr,
    msp_score,
    ood_auroc,
)
from course_lib.reliability.shift import corruption_summary, robustness_curves
from course_lib.reliability.token_attribution import (
    SentimentHead,
    attention_rollout,
    layer_integrated_gradients,
    token_deletion_curve,
    token_rank_agreement,
)

__all__ = [
    "CORRUPTIONS", "corrupt", "corruption_names", "corruption_summary", "robustness_curves",
    "msp_score", "energy_score", "MahalanobisDetector", "PCAResidualDetector", "IsolationForestDetector",
    "ood_auroc", "fpr_at_tpr", "detector_table", "far_ood_images",
    "integrated_gradients_images", "gradcam_maps", "randomised_copy", "map_similarity", "deletion_curve",
    "insertion_curve",
    "TabularTask", "arrests_task", "arrests_models", "group_metrics", "fairness_gaps", "bootstrap_gaps",
    "choose_threshold_on_validation", "mitigate_threshold_optimizer",
    "SentimentHead", "attention_rollout", "layer_integrated_gradients", "token_rank_agreement",
    "token_deletion_curve",
    "draw_shift_vs_ood", "draw_detectors", "draw_fairness_pipeline", "draw_rollout", "draw_sanity_check",
]
