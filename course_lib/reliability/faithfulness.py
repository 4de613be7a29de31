"""CNN explanations put to the test: are the maps faithful to the model, or just pretty?

Two explanation methods for a binary image model with one logit output (``CompactCNN``: ``(N, 1, H, W)``
-> ``(N,)`` logits of class 1):

- **Integrated gradients** (Sundararajan et al., ICML 2017) through captum's ``IntegratedGradients``:
  ``IG_i(x) = (x_i - b_i) * mean over the path of d f / d x_i`` from a baseline image ``b`` to ``x``.
  Completeness: ``sum_i IG_i = f(x) - f(b)`` up to the quadrature error (the *completeness gap*, in
  logit units).
- **Grad-CAM** (Selvaraju et al. 2017) through :func:`course_lib.imaging.gradcam.grad_cam`, upsampled
  bilinearly to the image size.

Two tests of faithfulness:

- **Model-parameter randomisation** (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018):
  re-initialise the weights from the output layer downwards (a *cascade*) or all at once; a map that
  explains the model must change when the model is destroyed. Similarity of maps: Spearman rank
  correlation of ``|map|`` per image, SSIM of min-max normalised maps, overlap of the top-k pixels.
- **Deletion and insertion** (Petsiuk et al., "RISE", BMVC 2018): remove the pixels in the order of the
  map, most important first, and follow the probability of the predicted class (deletion: a faithful map
  makes it fall fast, small area under the curve); or start from an image with everything removed and
  put the pixels back in that order (insertion: it should rise fast, large area). A random ranking is
  the control every method must beat.

What a removed pixel becomes: a **blurred copy** of the image by default (Gaussian, ``sigma =
BLUR_SIGMA`` px; the insertion baseline of Petsiuk et al.), or a constant such as the training mean
(``0.0`` for inputs normalised with the training mean and std, as in notebook 02). Black (raw 0) is
out of distribution for chest X-rays, whose frame is never uniformly black: a model's reaction to a
black hole is a reaction to an unfamiliar input, not to missing evidence. A constant mean grey is not
much better when the pixels are removed in scattered order: measured on the course CNN, deleting
*random* pixels to mean grey drove the predicted class's probability to chance so fast (deletion AUC
0.50, versus 0.85 with a blurred copy) that the random control "won" against integrated gradients --
the model reacted to the speckle of grey holes, an unfamiliar texture. A blurred pixel looks like
its neighbours, so partly deleted images stay X-ray-like.

Units: images are the model's inputs (for notebook 02: normalised pixels, ``(x/255 - mean) / std``);
maps have the image's height and width; probabilities are in [0, 1]; fractions are the share of pixels
removed (deletion) or inserted (insertion); areas under the curves are in probability units (the
fraction axis runs from 0 to 1).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Callable, Iterator, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients
from scipy import ndimage, stats
from skimage.metrics import structural_similarity
from torch import nn

from course_lib.arrays import as_count
from course_lib.imaging.gradcam import grad_cam, upsample_maps
from course_lib.plotting import PALETTE

BLUR_SIGMA = 4.0
"""Standard deviation (pixels) of the Gaussian blur that replaces removed pixels by default.

The blur must take the evidence away without making an unfamiliar image. Measured on a CompactCNN
trained 4 epochs on PneumoniaMNIST (val AUC 0.99), 100 test images: how well the model's output on the
*fully* blurred image still ranks its own clean predictions (AUC): sigma 1.5 px: 0.97, 2: 0.95,
3: 0.87, 4: 0.75, 5: 0.63 (pneumonia is a low-frequency opacity, so mild blur keeps it). At 4 px
the fine structure (ribs, texture of opacities) is gone and the coarse layout of a chest (two darker
lungs in a brighter frame) stays. The areas under the curves depend on this choice, and so can the
order of two methods: report the sigma with the results."""

TOP_FRACTION = 0.1
"""Share of the pixels that :func:`map_similarity` compares in its top-k overlap (k = 78 of 784)."""

_IG_METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right")
_NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)

# ------------------------------------------------------------------------------------------ checks


def _check_model(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _as_images(images, name: str = "images") -> torch.Tensor:
    """``images`` as a float32 tensor ``(N, 1, H, W)`` of finite numbers (any range: model inputs)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or array of shape (N, 1, H, W), got {type(images).__name__}")
    if images.dtype == torch.bool or not (images.is_floating_point() or images.dtype == torch.uint8):
        raise TypeError(f"{name} must hold floats (model inputs), got dtype {images.dtype}")
    images = images.detach().float()
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, 1, H, W) or (N, H, W) with N >= 1, got {tuple(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} holds NaN or infinity")
    return images


def _as_maps(maps, name: str, shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """``maps`` as a float64 array ``(N, H, W)``; ``shape`` checks it against the images."""
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().cpu().numpy()
    if not isinstance(maps, np.ndarray):
        raise TypeError(f"{name} must be a tensor or array of shape (N, H, W), got {type(maps).__name__}")
    if not (np.issubdtype(maps.dtype, np.floating) or np.issubdtype(maps.dtype, np.integer)):
        raise TypeError(f"{name} must hold numbers, got dtype {maps.dtype}")
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.ndim != 3 or maps.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, H, W) with N >= 1, got {maps.shape}")
    if shape is not None and maps.shape != shape:
        raise ValueError(f"{name} has shape {maps.shape} but the images need {shape}")
    maps = maps.astype(np.float64)
    if not np.all(np.isfinite(maps)):
        raise ValueError(f"{name} holds NaN or infinity")
    return maps


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (batch norm with running statistics, no dropout) for the duration, then the old mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _logits(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        logits = model(images)
    if logits.shape != (images.shape[0],):
        raise ValueError(f"model must return (N,) logits of class 1, got shape {tuple(logits.shape)}")
    return logits.float()


def _target_classes(target, n: int, predicted: np.ndarray) -> np.ndarray:
    """The explained class of each image: ``"predicted"``, ``0``, ``1`` or ``(N,)`` classes in {0, 1}."""
    if isinstance(target, str):
        if target != "predicted":
            raise ValueError(f"target must be 'predicted', 0, 1 or (N,) classes in {{0, 1}}, got {target!r}")
        return predicted.astype(np.int64)
    if isinstance(target, (bool, np.bool_)):
        raise ValueError(f"target must be 'predicted', 0, 1 or (N,) classes in {{0, 1}}, got {target!r}")
    if isinstance(target, (int, np.integer)):
        if target not in (0, 1):
            raise ValueError(f"target must be 'predicted', 0, 1 or (N,) classes in {{0, 1}}, got {target!r}")
        return np.full(n, int(target))
    if isinstance(target, torch.Tensor):
        target = target.detach().cpu().numpy()
    if not isinstance(target, (np.ndarray, list, tuple)):
        raise TypeError(f"target must be 'predicted', 0, 1 or (N,) classes, got {type(target).__name__}")
    classes = np.asarray(target)
    if classes.shape != (n,):
        raise ValueError(f"target must hold one class per image, shape ({n},), got {classes.shape}")
    if not np.all((classes == 0) | (classes == 1)):
        raise ValueError("target classes must be 0 or 1")
    return classes.astype(np.int64)


def _target_signs(logits: torch.Tensor, target) -> torch.Tensor:
    """+1 where the explained class is 1, -1 where it is 0 (the class-0 score is the negated logit)."""
    classes = _target_classes(target, len(logits), (logits > 0).numpy())
    return torch.from_numpy(np.where(classes == 1, 1.0, -1.0)).float()


def _baseline_tensor(baseline, images: torch.Tensor, name: str = "baseline") -> torch.Tensor:
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float, np.ndarray, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor broadcastable to the images, "
                        f"got {type(baseline).__name__}")
    value = torch.as_tensor(baseline, dtype=torch.float32)
    try:
        value = torch.broadcast_to(value, images.shape).clone()
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(value.shape)} does not broadcast to images "
                         f"{tuple(images.shape)}") from None
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or infinity")
    return value


# ---------------------------------------------------------------------------------- explanations


def integrated_gradients_images(model: nn.Module, images, *, baseline=0.0, steps: int = 32,
                                target="predicted", method: str = "gausslegendre",
                                internal_batch_size: int = 1024, return_delta: bool = False):
    """Integrated-gradients maps of a one-logit image model, via captum's ``IntegratedGradients``.

    Args:
        model: ``(N, 1, H, W)`` -> ``(N,)`` logits of class 1; run in eval mode here (its mode is
            restored afterwards).
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` model inputs.
        baseline: the reference image, in model-input units: a number (every pixel) or a tensor
            broadcastable to ``images``. For notebook 02's normalised inputs ``0.0`` is the training-mean
            grey image and ``-data.mean / data.std`` is black.
        steps: points on the path from the baseline to the image (captum's ``n_steps``).
        target: ``"predicted"`` explains each image's predicted class, ``1`` the logit, ``0`` the negated
            logit (evidence for class 0), or ``(N,)`` classes, one per image (e.g. the trained model's
            predictions, to explain the same class with a randomised copy). IG is linear in the
            explained score, so the class-0 map is minus the class-1 map.
        method: captum's quadrature rule (``"gausslegendre"``, ``"riemann_trapezoid"``,
            ``"riemann_middle"``, ``"riemann_left"``, ``"riemann_right"``).
        internal_batch_size: how many path images go through the model at once (memory bound).
        return_delta: also return the completeness gap.

    Returns:
        ``(N, H, W)`` float32 attributions in logit units (positive = evidence for the explained class);
        with ``return_delta``, also the completeness gap ``(N,)``: ``sum(attributions) - (s(x) - s(b))``
        where ``s`` is the explained score.
    """
    _check_model(model)
    images = _as_images(images)
    steps = as_count(steps, "steps", minimum=2)
    if method not in _IG_METHODS:
        raise ValueError(f"method must be one of {_IG_METHODS}, got {method!r}")
    internal_batch_size = as_count(internal_batch_size, "internal_batch_size")
    base = _baseline_tensor(baseline, images)
    with _evaluating(model):
        signs = _target_signs(_logits(model, images), target)
        attributions, delta = IntegratedGradients(model).attribute(
            images, baselines=base, n_steps=steps, method=method,
            internal_batch_size=max(internal_batch_size, images.shape[0]), return_convergence_delta=True)
    attributions = attributions.detach()[:, 0] * signs[:, None, None]
    if return_delta:
        return attributions, (delta.detach().float() * signs)
    return attributions


def completeness_gap(model: nn.Module, images, attributions, *, baseline=0.0, target="predicted") -> np.ndarray:
    """``sum(attributions) - (s(x) - s(baseline))`` per image (logit units), for any attribution maps.

    Integrated gradients satisfy completeness exactly in the limit of many steps; the gap measures the
    quadrature error (and is large for methods that do not satisfy completeness at all).
    """
    _check_model(model)
    images = _as_images(images)
    attributions = _as_maps(attributions, "attributions", (images.shape[0], *images.shape[2:]))
    base = _baseline_tensor(baseline, images)
    with _evaluating(model):
        logits = _logits(model, images)
        signs = _target_signs(logits, target)
        difference = (signs * (logits - _logits(model, base))).double().numpy()
    return attributions.sum(axis=(1, 2)) - difference


def gradcam_maps(model: nn.Module, images, *, layer: nn.Module | None = None, target="predicted",
                 size: tuple[int, int] | None = None) -> torch.Tensor:
    """Grad-CAM maps (:func:`course_lib.imaging.gradcam.grad_cam`) upsampled to the image size.

    Args:
        layer: the convolutional layer to explain from; default ``model.last_conv`` (CompactCNN).
        target: ``"predicted"``, ``0``, ``1`` or ``(N,)`` classes (see :func:`integrated_gradients_images`). Grad-CAM
            before its ReLU is linear in the explained score, so the class-0 map is ``ReLU(-cam)``.
        size: output ``(H, W)``; default the images' size (28x28 for PneumoniaMNIST).

    Returns:
        ``(N, H, W)`` float32 maps, non-negative (bilinear upsampling of a ReLU map stays >= 0).
    """
    _check_model(model)
    images = _as_images(images)
    if layer is None:
        layer = getattr(model, "last_conv", None)
        if not isinstance(layer, nn.Module):
            raise ValueError("model has no last_conv attribute: pass the layer to explain from")
    size = tuple(images.shape[2:]) if size is None else size
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size)):
        raise ValueError(f"size must be a pair of positive ints (H, W), got {size!r}")
    with _evaluating(model):
        signs = _target_signs(_logits(model, images), target)
        cam = grad_cam(model, layer, images, target_class=1, relu=False)
    return upsample_maps(torch.relu(cam * signs[:, None, None]), tuple(size))


def random_maps(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Uniform random maps of ``shape`` ``(N, H, W)``: the ranking every explanation must beat."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"shape must be (N, H, W), got {shape!r}")
    shape = tuple(as_count(s, "shape") for s in shape)
    return np.random.default_rng(as_count(seed, "seed", minimum=0)).random(shape)


# ---------------------------------------------------------------------- parameter randomisation


def parameter_layers(model: nn.Module) -> list[tuple[str, list[str]]]:
    """The model's weight layers from the output down, as ``(label, [module names])``.

    Every module with its own parameters is a layer, except that a normalisation layer (batch norm)
    goes with the weight layer before it (``features.9`` conv + ``features.10`` batch norm is one
    step). CompactCNN gives 5: the linear output, then the 4 convolutions from the last to the first.
    """
    _check_model(model)
    groups: list[tuple[list[str], list[str]]] = []          # (module names, type names)
    for name, module in model.named_modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        if isinstance(module, _NORM_LAYERS) and groups:
            groups[-1][0].append(name)
            groups[-1][1].append(type(module).__name__)
        else:
            groups.append(([name], [type(module).__name__]))
    if not groups:
        raise ValueError("model has no parameters to randomise")
    return [(f"{names[0]} ({' + '.join(types)})", names) for names, types in reversed(groups)]


def _reinitialise(model: nn.Module, names: list[str], seed: int) -> None:
    modules = dict(model.named_modules())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in names:
            module = modules[name]
            if not hasattr(module, "reset_parameters"):
                raise ValueError(f"module {name} ({type(module).__name__}) has no reset_parameters()")
            module.reset_parameters()           # batch norm: also running mean 0, running variance 1


def randomised_copy(model: nn.Module, *, layers: str = "cascade", seed: int = 0):
    """Copies of ``model`` with re-initialised weights (Adebayo et al. 2018); ``model`` is untouched.

    Args:
        layers: ``"cascade"``: one copy per layer of :func:`parameter_layers`, from the output layer
            down, each randomising one more layer than the one before (the last copy has every layer
            randomised); ``"all"``: one fully randomised copy (the same weights as the cascade's end).
        seed: layer ``j`` (counted from the top) is re-initialised with ``torch.manual_seed(seed * 1000 + j)``
            by its own ``reset_parameters()`` (PyTorch's default initialisation); the global random
            state is left as it was.

    Returns:
        ``"cascade"``: a list of ``(label, model)`` pairs, top to bottom; ``"all"``: one model.
    """
    _check_model(model)
    seed = as_count(seed, "seed", minimum=0)
    if layers not in ("cascade", "all"):
        raise ValueError(f"layers must be 'cascade' or 'all', got {layers!r}")
    steps = parameter_layers(model)
    current = copy.deepcopy(model)
    cascade = []
    for index, (label, names) in enumerate(steps):
        current = copy.deepcopy(current)
        _reinitialise(current, names, seed * 1000 + index)
        cascade.append((label, current))
    return cascade if layers == "cascade" else cascade[-1][1]


# ------------------------------------------------------------------------------- map similarity


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` with the same row of ``b`` (NaN for a constant row)."""
    ra = stats.rankdata(a, axis=1)
    rb = stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denominator = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(axis=1) / np.where(denominator > 0, denominator, 1.0), np.nan)


def _unit_range(maps: np.ndarray) -> np.ndarray:
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


def map_similarity(a, b, *, top_fraction: float = TOP_FRACTION, reduce: str = "mean") -> dict:
    """How alike two sets of maps ``(N, H, W)`` are, image by image.

    - ``spearman``: Spearman rank correlation of ``|a|`` and ``|b|`` over the pixels (Adebayo et al.
      compare absolute values: a map whose sign flips still points at the same pixels). Undefined (NaN)
      where a map is constant, e.g. a Grad-CAM map that the ReLU set to zero everywhere; the mean skips
      those and ``undefined`` counts them.
    - ``ssim``: structural similarity (``skimage.metrics.structural_similarity``, 7x7 window,
      ``data_range=1``) of ``|a|`` and ``|b|`` min-max scaled to [0, 1] each (a constant map becomes all
      zeros). Absolute values here too, so that the three measures agree on what "the same map" is: a
      map whose sign flips everywhere (e.g. a randomised output layer with a negative weight) still
      points at the same pixels.
    - ``top_k_overlap``: share of the ``k = round(top_fraction * H * W)`` pixels with the largest ``|a|``
      that are also among the ``k`` largest ``|b|`` (ties by pixel order); ``top_fraction`` for random maps.

    Returns:
        ``reduce="mean"``: floats (means over images) plus ``undefined`` (int); ``reduce="none"``:
        arrays ``(N,)`` per image.
    """
    a = _as_maps(a, "a")
    b = _as_maps(b, "b", a.shape)
    if isinstance(top_fraction, bool) or not isinstance(top_fraction, (int, float)) or not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction!r}")
    if reduce not in ("mean", "none"):
        raise ValueError(f"reduce must be 'mean' or 'none', got {reduce!r}")
    n, height, width = a.shape
    if min(height, width) < 7:
        raise ValueError(f"maps must be at least 7x7 pixels for SSIM's 7x7 window, got {height}x{width}")
    flat_a, flat_b = np.abs(a).reshape(n, -1), np.abs(b).reshape(n, -1)
    spearman = _spearman_rows(flat_a, flat_b)
    unit_a, unit_b = _unit_range(np.abs(a)), _unit_range(np.abs(b))
    ssim = np.array([structural_similarity(unit_a[i], unit_b[i], data_range=1.0) for i in range(n)])
    k = max(1, int(round(top_fraction * height * width)))
    top_a = np.argsort(-flat_a, axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-flat_b, axis=1, kind="stable")[:, :k]
    overlap = np.array([len(np.intersect1d(top_a[i], top_b[i])) / k for i in range(n)])
    if reduce == "none":
        return {"spearman": spearman, "ssim": ssim, "top_k_overlap": overlap}
    undefined = int(np.isnan(spearman).sum())
    return {"spearman": float(np.nanmean(spearman)) if undefined < n else float("nan"),
            "ssim": float(ssim.mean()), "top_k_overlap": float(overlap.mean()), "undefined": undefined}


# ---------------------------------------------------------------------------- deletion/insertion


def _probability_function(predict_prob) -> Callable[[torch.Tensor], np.ndarray]:
    if isinstance(predict_prob, nn.Module):
        model = predict_prob

        def probabilities(x: torch.Tensor) -> np.ndarray:
            with _evaluating(model):
                return torch.sigmoid(_logits(model, x)).double().numpy()
        return probabilities
    if not callable(predict_prob):
        raise TypeError(f"predict_prob must be a model or a callable, got {type(predict_prob).__name__}")

    def probabilities(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            p = predict_prob(x)
        p = np.asarray(p.detach().cpu().numpy() if isinstance(p, torch.Tensor) else p, dtype=np.float64)
        if p.shape != (x.shape[0],):
            raise ValueError(f"predict_prob must return (N,) probabilities of class 1, got shape {p.shape}")
        if not np.all((p >= 0) & (p <= 1)):
            raise ValueError("predict_prob must return probabilities in [0, 1]")
        return p
    return probabilities


def blurred(images, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """A Gaussian-blurred copy of ``(N, 1, H, W)`` images (``scipy.ndimage.gaussian_filter`` over H and W,
    ``sigma`` in pixels, reflected edges): the default value of removed pixels."""
    images = _as_images(images)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    out = ndimage.gaussian_filter(images.numpy().astype(np.float64), sigma=(0, 0, sigma, sigma), mode="reflect")
    return torch.from_numpy(out.astype(np.float32))


def _perturbation_curve(kind: str, predict_prob, images, maps, steps, baseline, target, seed, batch_size):
    probability = _probability_function(predict_prob)
    images = _as_images(images)
    n, _, height, width = images.shape
    maps = _as_maps(maps, "maps", (n, height, width))
    steps = as_count(steps, "steps")
    pixels = height * width
    if steps > pixels:
        raise ValueError(f"steps must be at most the number of pixels ({pixels}), got {steps}")
    batch_size = as_count(batch_size, "batch_size")
    if isinstance(baseline, str):
        if baseline != "blur":
            raise ValueError(f"baseline must be 'blur', a number or a tensor, got {baseline!r}")
        base = blurred(images)
    else:
        base = _baseline_tensor(baseline, images)
    classes = _target_classes(target, n, probability(images) >= 0.5)
    # rank pixels by map value, largest first; ties (e.g. the zeros of a Grad-CAM map) in random order
    rng = np.random.default_rng(as_count(seed, "seed", minimum=0))
    flat = maps.reshape(n, pixels)
    order = np.lexsort((rng.random((n, pixels)), -flat), axis=1)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(pixels)[None].repeat(n, 0), axis=1)
    counts = np.round(np.linspace(0, pixels, steps + 1)).astype(np.int64)
    changed = torch.from_numpy(position[:, None, :] < counts[None, :, None])   # (N, steps+1, pixels)
    source, fill = (base, images) if kind == "insertion" else (images, base)
    source = source.reshape(n, 1, pixels)
    fill = fill.reshape(n, 1, pixels)
    perturbed = torch.where(changed, fill, source).reshape(n * (steps + 1), 1, height, width)
    p = np.concatenate([probability(perturbed[i:i + batch_size]) for i in range(0, len(perturbed), batch_size)])
    p = p.reshape(n, steps + 1)
    return counts / pixels, np.where(classes[:, None] == 1, p, 1.0 - p)


def deletion_curve(predict_prob, images, maps, *, steps: int = 14, baseline="blur", target="predicted",
                   seed: int = 0, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Deletion curve (Petsiuk et al. 2018): the target-class probability as the pixels are removed in
    the order of ``maps``, largest value first.

    Args:
        predict_prob: a one-logit model (sigmoid of its logit is used, in eval mode) or a callable
            ``(M, 1, H, W)`` tensor -> ``(M,)`` probabilities of class 1.
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` model inputs.
        maps: ``(N, H, W)`` attributions for the explained (here: target) class, larger = more important.
            Ties are ranked in random order (``seed``), so a map that is zero on half the image ranks
            that half like the random control does.
        steps: the curve has ``steps + 1`` points, removing ``round(k * H * W / steps)`` pixels at step ``k``.
        baseline: what a removed pixel becomes: ``"blur"`` (:func:`blurred`, sigma ``BLUR_SIGMA``), a
            number (e.g. ``0.0`` = training mean for normalised inputs) or a tensor broadcastable to images.
        target: ``"predicted"`` (the class each clean image is predicted as, at probability 0.5: a
            faithful deletion makes its probability fall), ``0``, ``1`` or ``(N,)`` classes.

    Returns:
        ``fractions`` ``(steps + 1,)`` from 0 to 1 and ``probabilities`` ``(N, steps + 1)`` of the target
        class; column 0 is the clean image, the last column the fully removed one.
    """
    return _perturbation_curve("deletion", predict_prob, images, maps, steps, baseline, target, seed, batch_size)


def insertion_curve(predict_prob, images, maps, *, steps: int = 14, baseline="blur", target="predicted",
                    seed: int = 0, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Insertion curve: start from the baseline (everything removed) and put the pixels of each image
    back in the order of ``maps``; a faithful map makes the target probability rise fast. Arguments and
    returns as :func:`deletion_curve` (the target class is still the one predicted on the clean image;
    column 0 is the baseline, the last column the clean image)."""
    return _perturbation_curve("insertion", predict_prob, images, maps, steps, baseline, target, seed, batch_size)


def curve_auc(fractions, probabilities) -> np.ndarray | float:
    """Area under deletion/insertion curves by the trapezoid rule over the fraction axis: ``(N,)`` for
    ``(N, steps + 1)`` curves, a float for one curve ``(steps + 1,)``. Deletion: smaller is better;
    insertion: larger is better."""
    fractions = np.asarray(fractions, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or not np.all(np.diff(fractions) > 0):
        raise ValueError(f"fractions must be an increasing vector of at least 2 values, got {fractions!r}")
    if probabilities.ndim not in (1, 2) or probabilities.shape[-1] != len(fractions):
        raise ValueError(f"probabilities must be (steps + 1,) or (N, steps + 1) with steps + 1 = {len(fractions)}, "
                         f"got shape {probabilities.shape}")
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities holds NaN or infinity")
    area = np.trapezoid(probabilities, fractions, axis=-1)
    return float(area) if probabilities.ndim == 1 else area


def curve_table(curves: Mapping[str, Mapping[str, tuple]]) -> pd.DataFrame:
    """Mean area under each curve and its standard error over images.

    ``curves``: ``{"deletion": {method: (fractions, probabilities)}, "insertion": {...}}`` (either key may
    be missing). Returns columns curve, method, auc (mean), se, images.
    """
    rows = []
    for kind, methods in _check_curves(curves).items():
        for method, (fractions, probabilities) in methods.items():
            area = np.atleast_1d(curve_auc(fractions, probabilities))
            rows.append({"curve": kind, "method": method, "auc": area.mean(),
                         "se": area.std(ddof=1) / np.sqrt(len(area)) if len(area) > 1 else np.nan,
                         "images": len(area)})
    return pd.DataFrame(rows)


def _check_curves(curves) -> dict:
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict "
                        "{'deletion' or 'insertion': {method: (fractions, probabilities)}}")
    unknown = set(curves) - {"deletion", "insertion"}
    if unknown:
        raise ValueError(f"curves keys must be 'deletion' and/or 'insertion', got {sorted(unknown)}")
    for kind, methods in curves.items():
        if not isinstance(methods, Mapping) or not methods:
            raise ValueError(f"curves[{kind!r}] must be a non-empty dict {{method: (fractions, probabilities)}}")
    return {kind: curves[kind] for kind in ("deletion", "insertion") if kind in curves}


# ------------------------------------------------------------------------------------------ plots


def plot_sanity_check(image, maps_by_model: Mapping[str, object], ax=None, *, title: str | None = None) -> np.ndarray:
    """The image, then one map per model (e.g. trained, then each cascade step), each scaled to its own
    range of ``|map|``. ``ax``: ``len(maps_by_model) + 1`` Axes, or None for a new row of panels.
    Returns the Axes."""
    picture = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    picture = np.squeeze(picture)
    if picture.ndim != 2:
        raise ValueError(f"image must be one (H, W) or (1, H, W) image, got shape {np.shape(image)}")
    if not isinstance(maps_by_model, Mapping) or not maps_by_model:
        raise ValueError("maps_by_model must be a non-empty dict {model name: (H, W) map}")
    maps = {}
    for name, heat in maps_by_model.items():
        heat = np.asarray(heat.detach().cpu() if isinstance(heat, torch.Tensor) else heat)
        maps[name] = _as_maps(heat[None], f"maps_by_model[{name!r}]", (1, *picture.shape))[0]
    if ax is None:
        _, ax = plt.subplots(1, len(maps) + 1, figsize=(1.6 * (len(maps) + 1), 2.0), layout="constrained")
    axes = np.asarray(ax, dtype=object).ravel()
    if len(axes) != len(maps) + 1:
        raise ValueError(f"ax must hold {len(maps) + 1} Axes (the image and {len(maps)} maps), got {len(axes)}")
    axes[0].imshow(picture, cmap="gray")
    axes[0].set_title("image", fontsize=8, fontweight="normal")
    for panel, (name, heat) in zip(axes[1:], maps.items()):
        heat = np.abs(heat)
        peak = heat.max()
        panel.imshow(heat / peak if peak > 0 else heat, cmap="jet", vmin=0, vmax=1)
        panel.set_title(name, fontsize=7, fontweight="normal")
    for panel in axes:
        panel.axis("off")
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_deletion_insertion(curves: Mapping[str, Mapping[str, tuple]], ax=None) -> np.ndarray:
    """Mean deletion and/or insertion curve of each method, with a band of +-1 standard error over
    images; the legend gives the mean area under the curve. ``curves`` as in :func:`curve_table`;
    ``ax``: one Axes per curve kind, or None. Returns the Axes."""
    curves = _check_curves(curves)
    if ax is None:
        _, ax = plt.subplots(1, len(curves), figsize=(4.4 * len(curves), 3.4), layout="constrained")
    axes = np.asarray(ax, dtype=object).ravel()
    if len(axes) != len(curves):
        raise ValueError(f"ax must hold {len(curves)} Axes (one per curve kind), got {len(axes)}")
    for panel, (kind, methods) in zip(axes, curves.items()):
        for index, (method, (fractions, probabilities)) in enumerate(methods.items()):
            probabilities = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
            area = np.atleast_1d(curve_auc(fractions, probabilities))
            mean = probabilities.mean(axis=0)
            se = probabilities.std(axis=0, ddof=1) / np.sqrt(len(probabilities)) if len(probabilities) > 1 else 0 * mean
            color = PALETTE[index % len(PALETTE)]
            panel.plot(fractions, mean, color=color, marker="o", markersize=3,
                       label=f"{method} (AUC {area.mean():.3f})")
            panel.fill_between(fractions, mean - se, mean + se, color=color, alpha=0.2, linewidth=0)
        better = "lower" if kind == "deletion" else "higher"
        panel.set_xlabel(f"share of pixels {'removed' if kind == 'deletion' else 'inserted'}")
        panel.set_ylabel("probability of the predicted class")
        panel.set_title(f"{kind} ({better} area is better)")
        panel.set_xlim(0, 1)
        panel.set_ylim(0, 1.02)
        panel.legend(loc="best", fontsize=8)
    return axes
