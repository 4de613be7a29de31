"""A small conditional DCGAN for 28x28 grey images that trains on a CPU in seconds.

Shapes and units:

- noise ``z``: float ``(N, latent_dim)``, standard normal; class ``labels``: int64 ``(N,)`` in
  ``0..n_classes-1``.
- :class:`Generator` maps ``(z, labels)`` to images ``(N, 1, 28, 28)`` in ``[-1, 1]`` (``tanh``).
- :class:`Discriminator` maps images in ``[-1, 1]`` and their labels to logits ``(N,)`` (apply a
  sigmoid for "probability that the image is real").
- :func:`train_gan` takes images as ``uint8`` ``0..255`` or floats in ``[0, 1]`` (see
  :func:`~course_lib.generative.images.as_unit_images`) and rescales them to ``[-1, 1]`` itself.
- :func:`sample` returns NumPy images ``(n, 28, 28)`` back in ``[0, 1]``.

The architecture follows DCGAN (Radford, Metz & Chintala 2016: strided (transposed) convolutions
instead of pooling, batch norm, ReLU in the generator, LeakyReLU(0.2) in the discriminator, Adam with
``lr=2e-4, betas=(0.5, 0.999)``, weights drawn from N(0, 0.02)). The class enters the generator as a
learned embedding concatenated with the noise (Mirza & Osindero 2014) and the discriminator through a
projection, ``logit = w . phi(x) + b + embed(y) . phi(x)`` (Miyato & Koyama 2018).

Training (:func:`train_gan`) uses the non-saturating loss: the discriminator minimises
``BCE(D(x, y), 1) + BCE(D(G(z, y), y), 0)`` and the generator minimises ``BCE(D(G(z, y), y), 1)``.

Speed (one epoch of 4,700 images, batch 64, ``torch.set_num_threads(2)``, measured on 2 otherwise idle
cores of an Intel Xeon server, torch 2.11): 2.7 s with the default widths (2.6 s with spectral norm),
1.8 s with ``width=24``, 1.3 s with ``width=16``; 4.5 s on 1 thread. ``d_steps=5`` or ``g_steps=5``
costs about 3x as much per epoch. On a loaded machine (other processes busy on the same 2 cores) two
threads wait on each other at every small operation: one epoch took 118 s with 2 threads against 6.5 s
with 1, so use ``torch.set_num_threads(1)`` when the cores are shared.

Ten epochs of PneumoniaMNIST (730 steps) give recognisable chest X-rays for each of seeds 0, 1, 2:
dark lung fields, bright mediastinum and spine (:func:`mode_collapse_score` per class 0.53-0.71 for
"normal", the smaller class, 0.84-0.95 for "pneumonia"). Width 24 looked alike (seed 0: 0.56 and 0.96).
BreastMNIST (546 images, 8 steps an epoch, about 0.3 s an epoch) needs more epochs: after 10-30 its
samples were nearly alike within each class (per-class score 0.18-0.25, seeds 0-2), after 60 (480
steps) 0.52-0.91 and varied; show the failure modes on PneumoniaMNIST, where the balanced run is diverse.

Spectral norm (``Discriminator(spectral_norm=True)``) was measured and is off by default: at this
budget it did not make training more stable, it made it slower to learn: after 10 epochs of
PneumoniaMNIST its samples were blurred and nearly alike within each class (per-class
:func:`mode_collapse_score` 0.15-0.34 against 0.53-0.95 without it, seeds 0-2).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.arrays import as_count
from course_lib.generative.images import as_class_labels, as_unit_images

IMAGE_SIZE = 28  # pixels; the networks are built for 28x28 (7 -> 14 -> 28)
MAX_SCORE_IMAGES = 500  # mode_collapse_score compares at most this many images of each set


# --------------------------------------------------------------------------------- argument checks


def _positive_int(value, name: str) -> int:
    return as_count(value, name, minimum=1)


def _positive_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _seed(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(value).__name__}")
    if not 0 <= value < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {value}")
    return int(value)


def _check_labels_tensor(labels, n: int, n_classes: int) -> torch.Tensor:
    """``labels`` inside ``forward``: a tensor of ``n`` class indices (cheap checks, no copies)."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor of class indices, got {type(labels).__name__}")
    if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"labels must hold integer class indices, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one per image, got {tuple(labels.shape)}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return labels.long()


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv and linear weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "weight_orig", module.weight)  # the raw weight under spectral norm
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# -------------------------------------------------------------------------------------- the networks


class Generator(nn.Module):
    """Noise and a class label in, a 28x28 grey image in ``[-1, 1]`` out.

    ``z`` (N, latent_dim) is concatenated with a learned class embedding (N, latent_dim), projected
    by a linear layer to ``2*width`` maps of 7x7, then two transposed convolutions (kernel 4, stride 2)
    double the size 7 -> 14 -> 28: batch norm and ReLU after the projection and the first one,
    ``tanh`` after the last.

    Args:
        latent_dim: length of the noise vector ``z``.
        n_classes: number of class labels.
        width: channels of the 14x14 maps (the 7x7 maps have ``2 * width``).

    ``forward(z, labels)``: ``z`` float ``(N, latent_dim)``, ``labels`` int ``(N,)`` ->
    ``(N, 1, 28, 28)`` in ``[-1, 1]``.
    """

    def __init__(self, latent_dim: int = 32, n_classes: int = 2, width: int = 32):
        super().__init__()
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        self.n_classes = as_count(n_classes, "n_classes", minimum=2)
        self.width = _positive_int(width, "width")
        self.embed = nn.Embedding(self.n_classes, self.latent_dim)
        # no bias before batch norm: its shift does that job
        self.project = nn.Linear(2 * self.latent_dim, 2 * width * 7 * 7, bias=False)
        self.body = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),  # 14 -> 28
            nn.Tanh(),
        )
        self.apply(_dcgan_init)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)  # on the scale of z

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be a tensor of shape (N, {self.latent_dim}), got "
                             f"{tuple(getattr(z, 'shape', ())) or type(z).__name__}")
        labels = _check_labels_tensor(labels, z.shape[0], self.n_classes)
        hidden = self.project(torch.cat([z, self.embed(labels)], dim=1))
        return self.body(hidden.view(-1, 2 * self.width, 7, 7))


class Discriminator(nn.Module):
    """A 28x28 grey image in ``[-1, 1]`` and its class label in, one logit "real" out.

    Two convolutions (kernel 4, stride 2, LeakyReLU(0.2)) halve the size 28 -> 14 -> 7 into ``2*width``
    maps, flattened to the features ``phi(x)`` of length ``2 * width * 49``. The logit is
    ``linear(phi) + <embed(label), phi>`` (the projection discriminator): the label picks a direction in
    feature space, so "real for class 1" and "real for class 0" are judged by different features.

    Args:
        n_classes: number of class labels.
        width: channels of the 14x14 maps (the 7x7 maps have ``2 * width``).
        spectral_norm: ``False`` (default, DCGAN): batch norm after the second convolution.
            ``True``: every layer (convolutions, linear, embedding) spectrally normalised (Miyato et
            al. 2018) and no batch norm, which bounds how steeply the logit can change with the
            image. Measured here it learned more slowly at the 10-epoch budget and blunted the
            failure recipes of :func:`train_gan` (see the module docstring).

    ``forward(images, labels)``: images ``(N, 1, 28, 28)`` in ``[-1, 1]``, labels int ``(N,)`` ->
    logits ``(N,)``. ``features(images)`` returns ``phi`` ``(N, 2 * width * 49)``.
    """

    def __init__(self, n_classes: int = 2, width: int = 32, spectral_norm: bool = False):
        super().__init__()
        self.n_classes = as_count(n_classes, "n_classes", minimum=2)
        self.width = _positive_int(width, "width")
        if not isinstance(spectral_norm, bool):
            raise TypeError(f"spectral_norm must be True or False, got {type(spectral_norm).__name__}")
        self.spectral_norm = spectral_norm
        self.n_features = 2 * width * 7 * 7
        norm = nn.utils.spectral_norm if spectral_norm else (lambda layer: layer)
        conv1 = norm(nn.Conv2d(1, width, 4, stride=2, padding=1))  # 28 -> 14
        conv2 = norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=spectral_norm))  # 14 -> 7
        middle = [] if spectral_norm else [nn.BatchNorm2d(2 * width)]
        self.body = nn.Sequential(conv1, nn.LeakyReLU(0.2), conv2, *middle, nn.LeakyReLU(0.2), nn.Flatten())
        self.linear = norm(nn.Linear(self.n_features, 1))
        self.embed = nn.Embedding(self.n_classes, self.n_features)
        self.apply(_dcgan_init)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:
            self.embed = nn.utils.spectral_norm(self.embed)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``phi(images)``: ``(N, 1, 28, 28)`` -> ``(N, 2 * width * 49)``."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
            raise ValueError(f"images must be a tensor of shape (N, 1, 28, 28), got "
                             f"{tuple(getattr(images, 'shape', ())) or type(images).__name__}")
        return self.body(images)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        phi = self.features(images)
        labels = _check_labels_tensor(labels, images.shape[0], self.n_classes)
        return self.linear(phi).squeeze(1) + (self.embed(labels) * phi).sum(dim=1)


# ------------------------------------------------------------------------------------------ training


@dataclass
class GANHistory:
    """What happened during :func:`train_gan`: one entry per step (one batch of real images).

    ``d_loss`` is the discriminator's loss ``BCE(real, 1) + BCE(fake, 0)`` (``2 log 2 = 1.386`` when
    it cannot tell real from fake), ``g_loss`` the generator's non-saturating loss ``BCE(fake, 1)``
    (``log 2 = 0.693`` at that point), ``d_real`` and ``d_fake`` the mean ``sigmoid(D)`` on the real and
    on the generated batch (both ``0.5`` at that point; a winning discriminator drives ``d_fake`` to 0).
    The ``d_*`` numbers are from the step's last discriminator update (before it), ``g_loss`` from its
    last generator update, all in training mode. ``epoch`` is the 0-based epoch of each step;
    ``seconds`` the wall time of the whole run.
    """

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    steps_per_epoch: int = 0
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return (self.epoch[-1] + 1) if self.epoch else 0

    def per_epoch(self, name: str) -> np.ndarray:
        """Mean of the per-step series ``name`` (``"d_loss"``, ``"g_loss"``, ``"d_real"``, ``"d_fake"``)
        over each epoch: shape ``(epochs,)``."""
        if name not in ("d_loss", "g_loss", "d_real", "d_fake"):
            raise ValueError(f"name must be one of 'd_loss', 'g_loss', 'd_real', 'd_fake', got {name!r}")
        values, epochs = np.asarray(getattr(self, name), dtype=float), np.asarray(self.epoch)
        return np.array([values[epochs == e].mean() for e in range(self.epochs)])


def train_gan(generator: Generator, discriminator: Discriminator, images, labels, *, epochs: int = 10,
              batch_size: int = 64, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
              d_steps: int = 1, g_steps: int = 1, d_lr_multiplier: float = 1.0, g_lr_multiplier: float = 1.0,
              seed: int = 0) -> GANHistory:
    """Train ``generator`` and ``discriminator`` in place with the non-saturating GAN loss.

    Args:
        generator, discriminator: the two networks (same ``n_classes``); changed in place and left in
            training mode.
        images: ``(N, 28, 28)`` or ``(N, 1, 28, 28)``, ``uint8`` or floats in ``[0, 1]``; rescaled to
            ``[-1, 1]`` here.
        labels: ``(N,)`` class indices in ``0..n_classes-1``.
        epochs: passes over the images; each has ``N // batch_size`` steps (the incomplete last batch
            is dropped, so batch norm always sees full batches); needs ``batch_size <= N``.
        batch_size: real images per step (and as many generated ones, with the same labels).
        lr, betas: Adam's settings for both networks (DCGAN: ``2e-4``, ``(0.5, 0.999)``).
        d_steps, g_steps: discriminator and generator updates per step. Every discriminator update
            uses the step's real batch and fresh noise; the generator's first update reuses the fake
            batch of the last discriminator update (as PyTorch's DCGAN example does: one generator
            forward pass saved), each further one draws fresh noise.
        d_lr_multiplier, g_lr_multiplier: the discriminator's and the generator's learning rates are
            ``lr`` times these.
        seed: seeds the shuffling and the noise (a private ``torch.Generator``; the global random
            state is not touched). The same seed and the same initial weights give the same history.

    Returns:
        A :class:`GANHistory` with ``epochs * (N // batch_size)`` entries per series.

    Failure modes for the notebook, measured on PneumoniaMNIST (4,708 images, 73 steps an epoch),
    default networks and settings otherwise, seeds 0-2 (``torch.manual_seed(seed)`` before building
    the networks, ``seed=seed`` here); numbers are means over an epoch's last 10 steps, "balanced" is
    the default run at the same epoch:

    - **The discriminator wins**: ``g_lr_multiplier=0.1`` (the generator learns 10x slower), 3 epochs
      (about 8 s on 2 cores). ``d_fake`` is 0.006-0.02 in every epoch from the first on (balanced:
      0.27-0.35 in those epochs), ``d_real`` 0.96-0.99, ``g_loss`` 4.3-6.0 (balanced 1.6-2.2); the
      samples stay grey noise around a faint chest outline (also seed 3, and up to 5 epochs). At the
      normal cost per epoch too, ``d_lr_multiplier=10`` keeps ``d_fake`` at 0.08-0.18 in the first
      epoch, but the generator catches up (0.17-0.28 in epochs 2-5; ``g_loss`` still 3.7-7.8).
      ``d_steps=5`` keeps ``d_fake`` at 0.01-0.03 for 2 epochs (``g_loss`` 4.7-5.2) at 3x the cost per
      epoch. Spectral norm blunts ``d_lr_multiplier=10`` (``d_fake`` 0.24-0.43).
    - **Mode collapse**: ``g_lr_multiplier=10``, 3 epochs (about 8 s on 2 cores). Within each class the
      samples become nearly one picture, which fools the discriminator (``d_fake`` 0.95 in the first
      epoch): :func:`mode_collapse_score` per class 0.07-0.09 after 3 epochs
      (balanced: 0.27-0.45 then, 0.53-0.95 after 10 epochs). Score each class separately: pooled over
      both classes the score is still 0.66-0.81, because the distance between the two collapsed class
      images counts as diversity. ``g_lr_multiplier=5, g_steps=3`` collapses further (0.03-0.06 per
      class after 3 epochs) at 2.4x the cost per epoch; ``g_steps=5`` gives 0.05-0.10 at 3x.
    """
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a Generator, got {type(generator).__name__}")
    if not isinstance(discriminator, Discriminator):
        raise TypeError(f"discriminator must be a Discriminator, got {type(discriminator).__name__}")
    if generator.n_classes != discriminator.n_classes:
        raise ValueError(f"generator has {generator.n_classes} classes but discriminator has "
                         f"{discriminator.n_classes}")
    images = as_unit_images(images, "images", size=IMAGE_SIZE) * 2.0 - 1.0
    labels = as_class_labels(labels, "labels", n_classes=generator.n_classes, length=len(images))
    epochs = _positive_int(epochs, "epochs")
    batch_size = as_count(batch_size, "batch_size", minimum=2)
    if batch_size > len(images):
        raise ValueError(f"batch_size ({batch_size}) must not exceed the number of images ({len(images)})")
    lr = _positive_float(lr, "lr")
    if (not isinstance(betas, (tuple, list)) or len(betas) != 2
            or any(isinstance(b, bool) or not isinstance(b, (int, float)) for b in betas)):
        raise TypeError(f"betas must be a pair of floats, got {betas!r}")
    if not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must both lie in [0, 1), got {tuple(betas)}")
    d_steps, g_steps = _positive_int(d_steps, "d_steps"), _positive_int(g_steps, "g_steps")
    d_lr = lr * _positive_float(d_lr_multiplier, "d_lr_multiplier")
    g_lr = lr * _positive_float(g_lr_multiplier, "g_lr_multiplier")
    rng = torch.Generator().manual_seed(_seed(seed))

    d_optimiser = torch.optim.Adam(discriminator.parameters(), lr=d_lr, betas=tuple(betas))
    g_optimiser = torch.optim.Adam(generator.parameters(), lr=g_lr, betas=tuple(betas))
    generator.train()
    discriminator.train()
    steps = len(images) // batch_size
    history = GANHistory(steps_per_epoch=steps)
    ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=rng)
        for step in range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            real, y = images[index], labels[index]
            for d_step in range(d_steps):
                z = torch.randn(batch_size, generator.latent_dim, generator=rng)
                last = d_step == d_steps - 1
                with torch.set_grad_enabled(last):  # the last fake batch is reused by the generator
                    fake = generator(z, y)
                real_logits, fake_logits = discriminator(real, y), discriminator(fake.detach(), y)
                d_loss = (F.binary_cross_entropy_with_logits(real_logits, ones)
                          + F.binary_cross_entropy_with_logits(fake_logits, zeros))
                d_optimiser.zero_grad(set_to_none=True)
                d_loss.backward()
                d_optimiser.step()
            discriminator.requires_grad_(False)  # the generator's updates need no grads of D's weights
            try:
                for g_step in range(g_steps):
                    if g_step > 0:
                        z = torch.randn(batch_size, generator.latent_dim, generator=rng)
                        fake = generator(z, y)
                    g_loss = F.binary_cross_entropy_with_logits(discriminator(fake, y), ones)
                    g_optimiser.zero_grad(set_to_none=True)
                    g_loss.backward()
                    g_optimiser.step()
            finally:
                discriminator.requires_grad_(True)
            history.d_loss.append(float(d_loss.detach()))
            history.g_loss.append(float(g_loss.detach()))
            history.d_real.append(float(torch.sigmoid(real_logits.detach()).mean()))
            history.d_fake.append(float(torch.sigmoid(fake_logits.detach()).mean()))
            history.epoch.append(epoch)
    history.seconds = time.perf_counter() - start
    return history


# ------------------------------------------------------------------------------ sampling and judging


def sample(generator: Generator, n: int, labels=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images from ``generator`` in evaluation mode (batch norm uses its running statistics),
    without gradients; the generator's mode is restored afterwards.

    Args:
        generator: a :class:`Generator`.
        n: number of images.
        labels: ``(n,)`` class indices, or ``None`` for balanced classes ``0, 1, ..., 0, 1, ...``.
        seed: seeds the noise (a private ``torch.Generator``).

    Returns:
        ``(images, labels)``: float32 ``(n, 28, 28)`` in ``[0, 1]`` and int64 ``(n,)``.
    """
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a Generator, got {type(generator).__name__}")
    n = _positive_int(n, "n")
    if labels is None:
        labels = torch.arange(n) % generator.n_classes
    else:
        labels = as_class_labels(labels, "labels", n_classes=generator.n_classes, length=n)
    rng = torch.Generator().manual_seed(_seed(seed))
    z = torch.randn(n, generator.latent_dim, generator=rng)
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            images = generator(z, labels)
    finally:
        generator.train(was_training)
    images = ((images[:, 0] + 1.0) / 2.0).clamp(0.0, 1.0)
    return images.numpy().astype(np.float32), labels.numpy()


def _mean_pairwise_distance(matrix: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs ``i < j`` of the rows of ``matrix`` (float64)."""
    squared = (matrix**2).sum(1)
    gram = matrix @ matrix.T
    distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2.0 * gram, 0.0, None))
    upper = np.triu_indices(len(matrix), k=1)
    return float(distances[upper].mean())


def mode_collapse_score(samples, reference) -> float:
    """Diversity of ``samples`` relative to ``reference``: mean pairwise pixel distance among the
    samples divided by that among the reference images.

    About 1 when the samples vary as much as real images do, near 0 when the generator has collapsed
    onto a few images (it says nothing about whether the samples look real). Both sets are images
    ``(N, H, W)`` or ``(N, 1, H, W)`` of the same size, ``uint8`` or floats in ``[0, 1]`` (so
    :func:`sample`'s output and the raw data compare on one scale), with at least 2 images each; at
    most 500 of each, drawn with a fixed seed, are used. Distances are Euclidean over the flattened
    pixels in ``[0, 1]``, computed in float64.

    For a conditional generator, score each class against the real images of that class
    (``mode_collapse_score(images[labels == c], real[real_labels == c])``): pooled over classes, a
    generator that draws one picture per class still scores high, since the distance between the
    classes' pictures counts as diversity.
    """
    sample_images = as_unit_images(samples, "samples", size=None)
    reference_images = as_unit_images(reference, "reference", size=None)
    if sample_images.shape[1:] != reference_images.shape[1:]:
        raise ValueError(f"samples are {tuple(sample_images.shape[2:])} images but reference are "
                         f"{tuple(reference_images.shape[2:])}")
    means = []
    for name, batch in (("samples", sample_images), ("reference", reference_images)):
        if len(batch) < 2:
            raise ValueError(f"{name} needs at least 2 images, got {len(batch)}")
        matrix = batch.reshape(len(batch), -1).numpy().astype(np.float64)
        if len(matrix) > MAX_SCORE_IMAGES:
            keep = np.random.default_rng(0).choice(len(matrix), MAX_SCORE_IMAGES, replace=False)
            matrix = matrix[np.sort(keep)]
        means.append(_mean_pairwise_distance(matrix))
    if means[1] == 0:
        raise ValueError("reference images are all identical: their mean pairwise distance is 0")
    return means[0] / means[1]
