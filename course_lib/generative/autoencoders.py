"""Two small convolutional autoencoders for 28x28 grey images, their loss and one training loop.

- :class:`ConvAutoencoder` squeezes an image through a ``latent_dim``-number code and rebuilds it:
  encoder ``(N, 1, 28, 28)`` -> 3x3 stride-2 convolution + ReLU -> ``(N, width, 14, 14)`` -> 3x3
  stride-2 convolution + ReLU -> ``(N, 2*width, 7, 7)`` -> linear -> code ``z`` ``(N, latent_dim)``; the
  decoder mirrors it (linear + ReLU -> ``(N, 2*width, 7, 7)`` -> 3x3 stride-2 transposed convolution +
  ReLU -> ``(N, width, 14, 14)`` -> 3x3 stride-2 transposed convolution -> ``(N, 1, 28, 28)``). The
  output is a map of *logits*: ``sigmoid(logits)`` is the reconstructed image in ``[0, 1]``.
- :class:`VariationalAutoencoder` (Kingma & Welling, 2014) has the same body, but the encoder gives a
  Gaussian over codes, a mean and a log-variance ``(N, latent_dim)`` each, and the decoder reads a code
  *drawn* from it (the reparameterisation ``z = mean + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``, so
  gradients flow through the draw). Its loss adds ``beta`` times the KL divergence between that
  Gaussian and the prior ``N(0, I)``, which keeps the codes of all images in one smooth cloud around
  0: decoding a draw from the prior then gives a new image. ``beta > 1`` (the beta-VAE of Higgins et
  al., 2017) trades sharper reconstructions for a smoother, more disentangled code. In evaluation mode
  (``model.eval()``) the VAE decodes the mean instead of a draw, so reconstructions and validation
  losses are deterministic.

Both are small on purpose: with the defaults about 60,000 (autoencoder) and 50,000 (VAE) weights, and
one training epoch over 4,700 images takes about 0.6 s on two CPU cores.

The loss (:func:`autoencoder_loss`) is the binary cross-entropy between the logits and the pixel
values, summed over the 784 pixels and averaged over images (nats per image), plus ``beta * KL`` for
the VAE. Images enter as anything :func:`course_lib.generative.images.as_unit_images` accepts:
``uint8`` ``(N, 28, 28)`` as the data layer gives them, or floats in ``[0, 1]``.

>>> model = ConvAutoencoder(latent_dim=16)                       # doctest: +SKIP
>>> history = train_autoencoder(model, train_images, val_images)  # doctest: +SKIP
>>> rebuilt = reconstruct(model, val_images)   # doctest: +SKIP  ((N, 28, 28) floats in [0, 1])
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.arrays import as_count
from course_lib.generative.images import as_unit_images
from course_lib.training import seed_everything

IMAGE_SIZE = 28
"""Side of the square images, in pixels (the encoders halve it twice: 28 -> 14 -> 7)."""


def _as_float(value, name: str, *, minimum: float = 0.0, inclusive: bool = False) -> float:
    """``value`` as a finite Python float ``> minimum`` (``>=`` with ``inclusive``); clear errors otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < minimum or (value == minimum and not inclusive):
        raise ValueError(f"{name} must be {'at least' if inclusive else 'greater than'} {minimum:g}, got {value:g}")
    return value


def _check_model(model, name: str = "model") -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _check_vae(vae, name: str = "vae") -> "VariationalAutoencoder":
    if not isinstance(vae, VariationalAutoencoder):
        raise TypeError(f"{name} must be a VariationalAutoencoder, got {type(vae).__name__}")
    return vae


def _device_of(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)  # a model without parameters (a test stub) runs on the CPU
    return first.device if first is not None else torch.device("cpu")


class _Encoder(nn.Module):
    """``(N, 1, 28, 28)`` -> ``(N, 2*width*7*7)`` features: two stride-2 3x3 convolutions with ReLU."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU(),           # 28 -> 14
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),   # 14 -> 7
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _Decoder(nn.Module):
    """Code ``(N, latent_dim)`` -> logits ``(N, 1, 28, 28)``; the mirror image of :class:`_Encoder`.

    Each 3x3 transposed convolution with stride 2, padding 1 and ``output_padding=1`` maps back to the
    shape the matching encoder convolution came from (7 -> 14 -> 28). (4x4 kernels would overlap more
    evenly but cost a fifth more time per epoch on a CPU.)
    """

    def __init__(self, latent_dim: int, width: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(width, 1, 3, stride=2, padding=1, output_padding=1),                     # 14 -> 28
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.body(z)


def _check_input(x, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 1, 28, 28), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
    return x


class ConvAutoencoder(nn.Module):
    """A deterministic convolutional autoencoder (see the module docstring for the layers).

    Args:
        latent_dim: length of the code ``z``.
        width: channels of the first convolution (the second has ``2 * width``).

    ``forward(x)``: images ``(N, 1, 28, 28)`` in ``[0, 1]`` -> logits ``(N, 1, 28, 28)``;
    ``encode(x)`` -> codes ``(N, latent_dim)``; ``decode(z)`` -> logits ``(N, 1, 28, 28)``.
    """

    def __init__(self, latent_dim: int = 16, width: int = 16):
        super().__init__()
        self.latent_dim = as_count(latent_dim, "latent_dim")
        self.width = as_count(width, "width")
        self.encoder = _Encoder(self.width)
        self.to_code = nn.Linear(2 * self.width * 7 * 7, self.latent_dim)
        self.decoder = _Decoder(self.latent_dim, self.width)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(_check_input(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VariationalAutoencoder(nn.Module):
    """A variational autoencoder with the body of :class:`ConvAutoencoder`.

    Args:
        latent_dim: length of the code ``z`` (the prior is ``N(0, I)`` in ``latent_dim`` dimensions).
        width: channels of the first convolution (the second has ``2 * width``).

    ``forward(x)`` -> ``(logits, mean, logvar)``: logits ``(N, 1, 28, 28)``, ``mean`` and ``logvar``
    ``(N, latent_dim)``. In training mode the logits decode a reparameterised draw
    ``z = mean + exp(logvar / 2) * eps``; in evaluation mode they decode ``mean`` (deterministic).
    ``encode(x)`` -> ``mean`` ``(N, latent_dim)``; ``decode(z)`` -> logits ``(N, 1, 28, 28)``.
    """

    def __init__(self, latent_dim: int = 8, width: int = 16):
        super().__init__()
        self.latent_dim = as_count(latent_dim, "latent_dim")
        self.width = as_count(width, "width")
        self.encoder = _Encoder(self.width)
        features = 2 * self.width * 7 * 7
        self.to_mean = nn.Linear(features, self.latent_dim)
        self.to_logvar = nn.Linear(features, self.latent_dim)
        self.decoder = _Decoder(self.latent_dim, self.width)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, logvar)`` of the Gaussian over codes for images ``x``; each ``(N, latent_dim)``."""
        features = self.encoder(_check_input(x))
        return self.to_mean(features), self.to_logvar(features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @staticmethod
    def reparameterise(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """A draw ``mean + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (torch's global generator)."""
        return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, logvar = self.posterior(x)
        z = self.reparameterise(mean, logvar) if self.training else mean
        return self.decode(z), mean, logvar


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence from ``N(mean, exp(logvar))`` (diagonal) to ``N(0, I)``, per image ``(N,)``, in nats:
    ``0.5 * sum(mean**2 + exp(logvar) - 1 - logvar)`` over the latent coordinates."""
    return 0.5 * torch.sum(mean.pow(2) + logvar.exp() - 1.0 - logvar, dim=1)


def _loss(model: nn.Module, x: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, reconstruction, kl)`` means over the images of ``x`` (already checked, on the model's device)."""
    output = model(x)
    logits = output[0] if isinstance(output, tuple) else output
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
    if isinstance(output, tuple):
        kl = kl_to_standard_normal(output[1], output[2]).mean()
    else:
        kl = torch.zeros((), device=x.device)
    return reconstruction + beta * kl, reconstruction, kl


def autoencoder_loss(model: nn.Module, batch, beta: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss of an autoencoder on ``batch``, averaged over its images.

    ``loss = BCE + beta * KL``: BCE is the binary cross-entropy between ``model``'s logits and the
    pixel values, summed over the pixels of each image; KL (:func:`kl_to_standard_normal`) is there only
    for a :class:`VariationalAutoencoder` (its negative ELBO when ``beta = 1``). Both in nats per image.

    Args:
        model: a :class:`ConvAutoencoder` or :class:`VariationalAutoencoder` (in whatever mode it is).
        batch: images ``(N, 28, 28)`` or ``(N, 1, 28, 28)``, ``uint8`` or floats in ``[0, 1]``.
        beta: weight of the KL term (``>= 0``; ignored by the plain autoencoder).

    Returns:
        ``(loss, parts)``: ``loss`` a scalar tensor to call ``.backward()`` on; ``parts`` the floats
        ``{"loss", "reconstruction", "kl"}`` (``kl`` is 0.0 for the plain autoencoder).
    """
    _check_model(model)
    beta = _as_float(beta, "beta", inclusive=True)
    x = as_unit_images(batch, "batch").to(_device_of(model))
    loss, reconstruction, kl = _loss(model, x, beta)
    return loss, {"loss": float(loss.detach()), "reconstruction": float(reconstruction.detach()),
                  "kl": float(kl.detach())}


@torch.no_grad()
def _logits(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits ``(N, 1, 28, 28)`` of ``model`` in evaluation mode (its mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    device = _device_of(model)
    try:
        parts = []
        for start in range(0, len(images), batch_size):
            output = model(images[start:start + batch_size].to(device))
            parts.append((output[0] if isinstance(output, tuple) else output).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts)


def reconstruct(model: nn.Module, images, batch_size: int = 512) -> np.ndarray:
    """``model``'s reconstructions of ``images``: float32 ``(N, 28, 28)`` in ``[0, 1]``.

    The sigmoid of the logits, computed in evaluation mode without gradients (a VAE decodes its mean
    code). ``images`` as for :func:`autoencoder_loss`; ``batch_size`` images go through at a time.
    """
    _check_model(model)
    batch_size = as_count(batch_size, "batch_size")
    x = as_unit_images(images)
    return torch.sigmoid(_logits(model, x, batch_size))[:, 0].numpy()


def sample_prior(vae: VariationalAutoencoder, n: int, seed: int = 0) -> np.ndarray:
    """``n`` new images from ``vae``: decode codes drawn from the prior ``N(0, I)``.

    Returns float32 ``(n, 28, 28)`` in ``[0, 1]``: the decoder's pixel probabilities (the mean image of
    each draw, not a 0/1 Bernoulli sample). The codes come from a generator seeded with ``seed``, so
    the same seed gives the same images and the global random state is left alone.
    """
    _check_vae(vae)
    n = as_count(n, "n")
    seed = as_count(seed, "seed", minimum=0)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, vae.latent_dim, generator=generator)
    was_training = vae.training
    vae.eval()
    try:
        with torch.no_grad():
            logits = vae.decode(z.to(_device_of(vae))).float().cpu()
    finally:
        vae.train(was_training)
    return torch.sigmoid(logits)[:, 0].numpy()


def latent_traversal(vae: VariationalAutoencoder, image, dims=(0, 1), steps: int = 7,
                     span: float = 2.5) -> np.ndarray:
    """Decode the mean code of one image with one latent coordinate swept at a time.

    Row ``r`` sets coordinate ``dims[r]`` of the image's mean code to ``steps`` evenly spaced values
    from ``-span`` to ``+span`` (prior standard deviations: the prior is ``N(0, 1)`` in each coordinate)
    and keeps the other coordinates at the image's values, as in Higgins et al. (2017).

    Args:
        image: one image ``(28, 28)`` or ``(1, 28, 28)`` (or a batch holding exactly one image).
        dims: the latent coordinates to sweep, one row each (ints in ``0..latent_dim-1``).
        steps: images per row (at least 2).
        span: the sweep covers ``[-span, span]`` (``> 0``).

    Returns:
        float32 ``(len(dims), steps, 28, 28)`` in ``[0, 1]``.
    """
    _check_vae(vae)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    array = np.asarray(image) if hasattr(image, "__len__") and not isinstance(image, (str, bytes)) else None
    if array is None:
        raise TypeError(f"image must be an array of pixel values, got {type(image).__name__}")
    if array.ndim == 2:
        array = array[None]
    x = as_unit_images(array, "image")
    if len(x) != 1:
        raise ValueError(f"image must be one image, got a batch of {len(x)}")
    if isinstance(dims, (int, np.integer)) or not hasattr(dims, "__len__") or isinstance(dims, (str, bytes)):
        raise TypeError(f"dims must be a sequence of latent coordinates, got {type(dims).__name__}")
    dims = [as_count(d, "dims entry", minimum=0) for d in dims]
    if not dims:
        raise ValueError("dims is empty")
    if max(dims) >= vae.latent_dim:
        raise ValueError(f"dims must lie in 0..{vae.latent_dim - 1} (latent_dim = {vae.latent_dim}), got {max(dims)}")
    steps = as_count(steps, "steps", minimum=2)
    span = _as_float(span, "span")

    was_training = vae.training
    vae.eval()
    device = _device_of(vae)
    try:
        with torch.no_grad():
            mean = vae.encode(x.to(device)).float().cpu()[0]
            values = torch.linspace(-span, span, steps)
            codes = mean.repeat(len(dims), steps, 1)                # (rows, steps, latent_dim)
            for row, dim in enumerate(dims):
                codes[row, :, dim] = values
            logits = vae.decode(codes.reshape(-1, vae.latent_dim).to(device)).float().cpu()
    finally:
        vae.train(was_training)
    return torch.sigmoid(logits).reshape(len(dims), steps, IMAGE_SIZE, IMAGE_SIZE).numpy()


@dataclass
class AutoencoderHistory:
    """What happened in :func:`train_autoencoder`, one entry per epoch (losses in nats per image).

    ``train_loss`` is the mean batch loss during the epoch (training mode, weights still changing);
    ``val_loss`` is computed after the epoch in evaluation mode. ``best_epoch`` is a 0-based index into
    these lists: the epoch whose weights the model holds afterwards. ``seconds``: wall-clock time.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.train_loss)

    @property
    def best_val_loss(self) -> float:
        """The validation loss of the restored weights."""
        return self.val_loss[self.best_epoch] if self.val_loss else float("nan")


@torch.no_grad()
def _mean_loss(model: nn.Module, x: torch.Tensor, beta: float, batch_size: int, device: torch.device) -> float:
    """Mean loss per image over ``x`` in evaluation mode."""
    model.eval()
    total = 0.0
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size].to(device)
        total += float(_loss(model, batch, beta)[0]) * len(batch)
    return total / len(x)


def train_autoencoder(model: nn.Module, train_images, val_images, *, epochs: int = 20, batch_size: int = 128,
                      lr: float = 2e-3, beta: float = 1.0, patience: int | None = 3,
                      seed: int = 0) -> AutoencoderHistory:
    """Train ``model`` with Adam on :func:`autoencoder_loss`; keep the weights of its best validation epoch.

    Args:
        model: a :class:`ConvAutoencoder` or :class:`VariationalAutoencoder`; trained in place on the
            device its parameters are on.
        train_images, val_images: ``(N, 28, 28)`` ``uint8`` or floats in ``[0, 1]`` (see
            :func:`course_lib.generative.images.as_unit_images`).
        epochs: at most this many passes over ``train_images`` (shuffled each epoch).
        batch_size: images per Adam step.
        lr: Adam's learning rate.
        beta: weight of the KL term (VAE only).
        patience: stop after this many epochs without a lower validation loss (``None``: never stop).
        seed: seeds everything (:func:`course_lib.training.seed_everything`) before training, so the
            shuffling and the VAE's draws repeat. The initial weights are drawn when the model is
            built: call ``seed_everything`` before building it too for a run that repeats exactly.

    Returns:
        An :class:`AutoencoderHistory`; ``model`` holds the weights of ``history.best_epoch``, in
        evaluation mode.
    """
    _check_model(model)
    if next(model.parameters(), None) is None:
        raise ValueError("model has no parameters to train")
    epochs = as_count(epochs, "epochs")
    batch_size = as_count(batch_size, "batch_size")
    lr = _as_float(lr, "lr")
    beta = _as_float(beta, "beta", inclusive=True)
    if patience is not None:
        patience = as_count(patience, "patience")
    seed = seed_everything(seed)
    x_train = as_unit_images(train_images, "train_images")
    x_val = as_unit_images(val_images, "val_images")

    device = _device_of(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shuffler = torch.Generator().manual_seed(seed)
    history = AutoencoderHistory()
    best_state = None
    waited = 0
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for index in torch.randperm(len(x_train), generator=shuffler).split(batch_size):
            batch = x_train[index].to(device)
            loss = _loss(model, batch, beta)[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        history.train_loss.append(total / len(x_train))
        history.val_loss.append(_mean_loss(model, x_val, beta, 512, device))
        if best_state is None or history.val_loss[-1] < history.val_loss[history.best_epoch]:
            history.best_epoch, waited = epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
    model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history
