"""Imaging: the pieces of notebook 02 (CNNs on PneumoniaMNIST chest X-rays), one module per job.

- :mod:`course_lib.imaging.data` — PneumoniaMNIST as normalised tensors and DataLoaders, the test split
  sealed (:meth:`ImageSplits.seal`), augmentation written with torch ops, class-imbalance helpers.
- :mod:`course_lib.imaging.features` — hand-crafted features (HOG) for the classical baselines.
- :mod:`course_lib.imaging.convolution` — a 2-D convolution written by hand, receptive fields.
- :mod:`course_lib.imaging.models` — the compact CNN.
- :mod:`course_lib.imaging.calibration` — threshold choice on validation, reliability statistics.
- :mod:`course_lib.imaging.gradcam` — Grad-CAM heat maps.
- :mod:`course_lib.imaging.plots` — image grids, heat-map overlays, reliability diagrams.
- :mod:`course_lib.imaging.diagrams` — the figure of the CNN: feature-map shapes and receptive fields.
"""

from course_lib.imaging.calibration import (
    ThresholdChoice,
    choose_threshold,
    expected_calibration_error,
    reliability_table,
    select_threshold,
)
from course_lib.imaging.convolution import conv2d, conv2d_loops, receptive_field
from course_lib.imaging.diagrams import feature_map_shapes, plot_cnn_architecture
from course_lib.imaging.data import (
    CLASS_NAMES,
    ImageSplits,
    augment_batch,
    balanced_sampler,
    flatten_pixels,
    load_pneumoniamnist,
    make_loader,
    positive_class_weight,
    splits_from_arrays,
    stratified_subset,
)
from course_lib.imaging.features import hog_features
from course_lib.imaging.gradcam import grad_cam, upsample_maps
from course_lib.imaging.models import CompactCNN
from course_lib.imaging.plots import image_grid, overlay_heatmaps, plot_reliability

__all__ = [
    "CLASS_NAMES",
    "CompactCNN",
    "ImageSplits",
    "ThresholdChoice",
    "augment_batch",
    "balanced_sampler",
    "choose_threshold",
    "conv2d",
    "conv2d_loops",
    "expected_calibration_error",
    "feature_map_shapes",
    "flatten_pixels",
    "grad_cam",
    "hog_features",
    "image_grid",
    "load_pneumoniamnist",
    "make_loader",
    "overlay_heatmaps",
    "plot_cnn_architecture",
    "plot_reliability",
    "positive_class_weight",
    "receptive_field",
    "reliability_table",
    "select_threshold",
    "splits_from_arrays",
    "stratified_subset",
    "upsample_maps",
]
