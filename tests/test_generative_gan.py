"""Unit tests of course_lib.generative.gan (the conditional DCGAN of notebook 06): fast, synthetic data.

The data are 256 white shapes on black, 28x28: class 0 squares, class 1 discs (random centre and size).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import pdist

from course_lib.generative.gan import (
    Discriminator,
    GANHistory,
    Generator,
    mode_collapse_score,
    sample,
    train_gan,
)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def squares_and_discs(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images (N, 28, 28): white squares (label 0) and discs (label 1) on black, alternating."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.zeros((n, 28, 28), np.uint8)
    labels = np.arange(n) % 2
    for i in range(n):
        radius = rng.uniform(5, 8)
        centre_row, centre_col = rng.uniform(9, 19, size=2)
        if labels[i] == 0:
            mask = (np.abs(rows - centre_row) <= radius) & (np.abs(cols - centre_col) <= radius)
        else:
            mask = (rows - centre_row) ** 2 + (cols - centre_col) ** 2 <= radius**2
        images[i][mask] = 255
    return images, labels


@pytest.fixture(scope="module")
def shapes():
    return squares_and_discs()


def fresh_pair(seed: int = 0, **discriminator_options) -> tuple[Generator, Discriminator]:
    torch.manual_seed(seed)
    return Generator(), Discriminator(**discriminator_options)


# ------------------------------------------------------------------------------------------ networks


def test_generator_output_shape_and_range():
    generator = Generator(latent_dim=8, n_classes=3, width=4)
    images = generator(torch.randn(10, 8), torch.arange(10) % 3).detach()
    assert images.shape == (10, 1, 28, 28)
    assert images.dtype == torch.float32
    with torch.no_grad():
        generator.body[-2].weight.mul_(1000.0)  # drive the last layer's tanh into saturation
        saturated = generator(torch.randn(10, 8), torch.arange(10) % 3)
    assert float(saturated.min()) >= -1.0 and float(saturated.max()) <= 1.0
    assert float(saturated.abs().max()) > 0.99  # really saturating, so the bound above was tested


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_output_shape(spectral_norm):
    discriminator = Discriminator(n_classes=3, width=4, spectral_norm=spectral_norm)
    logits = discriminator(torch.rand(5, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 0, 1]))
    assert logits.shape == (5,)
    assert torch.isfinite(logits).all()
    assert discriminator.features(torch.zeros(2, 1, 28, 28)).shape == (2, 2 * 4 * 7 * 7)


def test_generator_output_depends_on_the_label():
    generator = Generator().eval()
    z = torch.randn(6, generator.latent_dim)
    zeros, ones = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    with torch.no_grad():
        first, again, other = generator(z, zeros), generator(z, zeros), generator(z, ones)
    assert torch.equal(first, again)  # same z and label: the same image
    # a different label moves every image (the embedding enters before the first layer)
    assert ((first - other).abs().flatten(1).max(dim=1).values > 1e-4).all()


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_is_a_projection(spectral_norm):
    """logit(x, y) = w . phi(x) + b + embed[y] . phi(x), recomputed here from the parts."""
    torch.manual_seed(1)
    discriminator = Discriminator(spectral_norm=spectral_norm).eval()
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        logits = {c: discriminator(images, torch.full((8,), c)) for c in (0, 1)}
        phi = discriminator.features(images)
        embed = discriminator.embed.weight  # spectrally normalised when spectral_norm=True
        linear = discriminator.linear
        expected = {c: phi @ linear.weight[0] + linear.bias[0] + phi @ embed[c] for c in (0, 1)}
    for c in (0, 1):
        # float32 sums of 3,136 products each side: agree to ~1e-6 of the summands' scale
        torch.testing.assert_close(logits[c], expected[c], rtol=1e-4, atol=1e-5)
    # the label changes the logit by <embed[1] - embed[0], phi>, and that is not negligible
    difference = logits[1] - logits[0]
    torch.testing.assert_close(difference, phi @ (embed[1] - embed[0]), rtol=1e-4, atol=1e-5)
    assert float(difference.abs().min()) > 1e-3


# ------------------------------------------------------------------------------------------ training


def discriminator_loss(discriminator, real, fake, labels) -> float:
    ones, zeros = torch.ones(len(real)), torch.zeros(len(fake))
    with torch.no_grad():
        return float(F.binary_cross_entropy_with_logits(discriminator(real, labels), ones)
                     + F.binary_cross_entropy_with_logits(discriminator(fake, labels), zeros))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_step_lowers_the_discriminator_loss_on_its_batch(shapes, seed):
    """With 64 images and batch_size 64, one epoch is one step: the discriminator takes one Adam step
    on exactly these real images (and fresh fakes from the same generator), so its loss on them falls."""
    images, labels = shapes[0][:64], shapes[1][:64]
    generator, discriminator = fresh_pair(seed)
    real = torch.from_numpy(images).float()[:, None] / 127.5 - 1.0
    y = torch.from_numpy(labels)
    z = torch.randn(64, generator.latent_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        fake = generator(z, y)  # training mode, as the discriminator sees fakes during training
    before = discriminator_loss(copy.deepcopy(discriminator), real, fake, y)
    history = train_gan(copy.deepcopy(generator), discriminator, images, labels, epochs=1, batch_size=64,
                        lr=1e-3, seed=seed)
    after = discriminator_loss(copy.deepcopy(discriminator), real, fake, y)
    assert len(history.d_loss) == 1
    assert after < before - 0.05, (before, after)


def test_history_matches_the_schedule(shapes):
    images, labels = shapes[0][:250], shapes[1][:250]
    history = train_gan(*fresh_pair(), images, labels, epochs=2, batch_size=64)
    steps = 250 // 64  # the incomplete last batch (58 images) is dropped
    assert history.steps_per_epoch == steps == 3
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(getattr(history, name)) == 2 * steps
    assert history.epoch == [0, 0, 0, 1, 1, 1]
    assert history.epochs == 2
    assert history.seconds > 0
    assert all(0 <= p <= 1 for p in history.d_real + history.d_fake)
    np.testing.assert_allclose(history.per_epoch("d_loss"),
                               [np.mean(history.d_loss[:3]), np.mean(history.d_loss[3:])], rtol=1e-12)


def test_recorded_numbers_are_the_non_saturating_losses(shapes):
    """A generator whose output ignores z and the label (zero projection) makes one constant fake
    image, so the first step's numbers can be recomputed here: with 64 images and batch_size 64 the
    real batch is all the images (order does not matter: batch norm and the means are symmetric)."""
    images, labels = shapes[0][:64], shapes[1][:64]
    generator, discriminator = fresh_pair()
    with torch.no_grad():
        generator.project.weight.zero_()
    real = torch.from_numpy(images).float()[:, None] / 127.5 - 1.0
    y = torch.from_numpy(labels)
    fake = torch.full((64, 1, 28, 28), float(torch.tanh(generator.body[-2].bias[0].detach())))
    before = copy.deepcopy(discriminator).train()
    with torch.no_grad():
        real_logits, fake_logits = before(real, y), before(fake, y)
    history = train_gan(generator, discriminator, images, labels, epochs=1, batch_size=64)
    expected_d_loss = -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())
    assert history.d_loss[0] == pytest.approx(float(expected_d_loss), rel=1e-5)  # float32 means of 64
    assert history.d_real[0] == pytest.approx(float(torch.sigmoid(real_logits).mean()), rel=1e-5)
    assert history.d_fake[0] == pytest.approx(float(torch.sigmoid(fake_logits).mean()), rel=1e-5)
    # the generator's loss is -log D(fake) under the discriminator after its update (its final state:
    # the generator's update does not change the discriminator's weights)
    with torch.no_grad():
        after_logits = discriminator.train()(fake, y)
    assert history.g_loss[0] == pytest.approx(float(-F.logsigmoid(after_logits).mean()), rel=1e-5)


def test_same_seed_same_history_and_weights(shapes):
    generator, discriminator = fresh_pair()
    runs = []
    for seed in (3, 3, 4):
        g, d = copy.deepcopy(generator), copy.deepcopy(discriminator)
        runs.append((train_gan(g, d, *shapes, epochs=1, batch_size=64, seed=seed), g))
    (first, g_first), (second, g_second), (other, _) = runs
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert getattr(first, name) == getattr(second, name)
    for p, q in zip(g_first.parameters(), g_second.parameters()):
        assert torch.equal(p, q)
    assert first.d_loss != other.d_loss


def test_training_leaves_the_global_random_state_alone(shapes):
    torch.manual_seed(123)
    expected = torch.rand(3)
    generator, discriminator = Generator(width=4), Discriminator(width=4)
    torch.manual_seed(123)
    train_gan(generator, discriminator, *shapes, epochs=1, batch_size=128)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


@pytest.mark.parametrize("recipe", [dict(d_lr_multiplier=10.0), dict(g_lr_multiplier=0.1)])
def test_the_discriminator_winning_recipes(shapes, recipe):
    """The documented failure recipes in miniature: a 10x faster discriminator, or a 10x slower
    generator, drive the discriminator's verdict on fakes, D(G(z)), far below the balanced run's over
    the last epoch, and the generator's loss up. (Measured on these data for seeds 0-4: last-epoch
    d_fake 0.61-0.66 balanced, at most 0.003 and 0.051 with the two recipes.)"""
    generator, discriminator = fresh_pair()
    runs = {}
    for name, options in (("balanced", {}), ("recipe", recipe)):
        runs[name] = train_gan(copy.deepcopy(generator), copy.deepcopy(discriminator), *shapes, epochs=3,
                               batch_size=32, **options)
    assert runs["recipe"].per_epoch("d_fake")[-1] < runs["balanced"].per_epoch("d_fake")[-1] - 0.3
    assert runs["recipe"].per_epoch("g_loss")[-1] > runs["balanced"].per_epoch("g_loss")[-1] + 1.0


# ------------------------------------------------------------------------------------------ sampling


def test_sample_shapes_ranges_and_labels():
    generator = Generator(width=4).train()
    images, labels = sample(generator, 7)
    assert images.shape == (7, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(labels, [0, 1, 0, 1, 0, 1, 0])
    assert generator.training  # mode restored
    chosen, chosen_labels = sample(generator, 3, labels=[1, 1, 0])
    np.testing.assert_array_equal(chosen_labels, [1, 1, 0])
    again, _ = sample(generator, 7)
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, sample(generator, 7, seed=1)[0])


def test_sample_uses_evaluation_mode():
    """In evaluation mode the images do not depend on the batch they are drawn with (batch norm uses
    running statistics): the first 4 of 8 samples equal 4 samples drawn alone with the same noise."""
    generator = Generator()
    z = torch.randn(8, generator.latent_dim, generator=torch.Generator().manual_seed(0))
    images, labels = sample(generator, 8, seed=0)
    with torch.no_grad():
        expected = (generator.eval()(z[:4], torch.from_numpy(labels[:4]))[:, 0] + 1) / 2
    np.testing.assert_allclose(images[:4], expected.numpy(), atol=1e-6)


# --------------------------------------------------------------------------------------- mode collapse


def test_mode_collapse_score_extremes():
    rng = np.random.default_rng(0)
    reference = rng.random((300, 28, 28))
    assert mode_collapse_score(reference, reference) == pytest.approx(1.0, abs=1e-12)
    collapsed = np.repeat(reference[:1], 50, axis=0)
    assert mode_collapse_score(collapsed, reference) == pytest.approx(0.0, abs=1e-6)
    # another draw from the same distribution: as diverse as the reference
    assert mode_collapse_score(rng.random((300, 28, 28)), reference) == pytest.approx(1.0, abs=0.02)
    # two modes only: the distance between them over the reference's typical distance
    two = np.concatenate([np.repeat(reference[:1], 20, 0), np.repeat(reference[1:2], 20, 0)])
    assert 0.2 < mode_collapse_score(two, reference) < 0.8


def test_mode_collapse_score_matches_scipy_and_rescales_uint8():
    rng = np.random.default_rng(1)
    samples, reference = rng.random((40, 1, 28, 28)), rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    expected = pdist(samples.reshape(40, -1)).mean() / pdist(reference.reshape(60, -1) / 255.0).mean()
    # the images pass through float32 (as_unit_images): agreement to ~1e-7 relative
    assert mode_collapse_score(samples, reference) == pytest.approx(expected, rel=1e-6)


def test_mode_collapse_score_subsamples_large_sets():
    rng = np.random.default_rng(2)
    reference = rng.random((1200, 28, 28))
    # 1,200 images are cut to 500: the ratio is still ~1 and the function stays fast
    assert mode_collapse_score(reference[:700], reference) == pytest.approx(1.0, abs=0.02)
    # the 500 are drawn at random, not the first 500: 600 copies of one image followed by 600
    # distinct ones score about like an even mix (pairs of two distinct images: 1 - 0.5^2 = 3/4 of
    # the pairs, at ~the reference's distance), where the first 500 alone would score 0
    mixed = np.concatenate([np.repeat(reference[:1], 600, axis=0), reference[600:]])
    assert mode_collapse_score(mixed, reference) == pytest.approx(0.75, abs=0.08)


def test_mode_collapse_score_on_real_samples(shapes):
    images, _ = sample(Generator(width=4), 64)
    score = mode_collapse_score(images, shapes[0])
    assert np.isfinite(score) and score >= 0


# --------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(latent_dim=0), ValueError, "latent_dim"),
    (dict(latent_dim=2.5), TypeError, "latent_dim"),
    (dict(n_classes=1), ValueError, "n_classes"),
    (dict(width=True), TypeError, "width"),
])
def test_generator_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        Generator(**kwargs)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(n_classes=0), ValueError, "n_classes"),
    (dict(width=-1), ValueError, "width"),
    (dict(spectral_norm="yes"), TypeError, "spectral_norm"),
])
def test_discriminator_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        Discriminator(**kwargs)


def test_forward_passes_reject_bad_inputs():
    generator, discriminator = Generator(width=4), Discriminator(width=4)
    with pytest.raises(ValueError, match="z must be"):
        generator(torch.randn(3, 5), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        generator(torch.randn(3, 32), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="labels must hold integer"):
        generator(torch.randn(3, 32), torch.zeros(3))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        generator(torch.randn(3, 32), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="images must be a tensor of shape"):
        discriminator(torch.zeros(3, 28, 28), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="labels must be a torch.Tensor"):
        discriminator(torch.zeros(3, 1, 28, 28), [0, 0, 0])


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(batch_size=1), ValueError, "batch_size"),
    (dict(batch_size=1000), ValueError, "batch_size"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(betas=(0.5,)), TypeError, "betas"),
    (dict(betas=(0.5, 1.0)), ValueError, "betas"),
    (dict(d_steps=0), ValueError, "d_steps"),
    (dict(g_steps=1.5), TypeError, "g_steps"),
    (dict(d_lr_multiplier=0.0), ValueError, "d_lr_multiplier"),
    (dict(g_lr_multiplier=float("nan")), ValueError, "g_lr_multiplier"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=None), TypeError, "seed"),
])
def test_train_gan_rejects_bad_settings(shapes, kwargs, error, match):
    with pytest.raises(error, match=match):
        train_gan(Generator(width=4), Discriminator(width=4), *shapes, **kwargs)


def test_train_gan_rejects_bad_data_and_networks(shapes):
    images, labels = shapes
    generator, discriminator = Generator(width=4), Discriminator(width=4)
    with pytest.raises(TypeError, match="generator must be a Generator"):
        train_gan(discriminator, discriminator, images, labels)
    with pytest.raises(TypeError, match="discriminator must be a Discriminator"):
        train_gan(generator, generator, images, labels)
    with pytest.raises(ValueError, match="classes"):
        train_gan(generator, Discriminator(n_classes=3, width=4), images, labels)
    with pytest.raises(ValueError, match="images must be 28x28"):
        train_gan(generator, discriminator, images[:, :14, :14], labels)
    with pytest.raises(ValueError, match="images must be uint8"):
        train_gan(generator, discriminator, images / 127.5 - 1.0, labels)  # already in [-1, 1]
    with pytest.raises(ValueError, match="labels has 255 entries"):
        train_gan(generator, discriminator, images, labels[:-1])
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        train_gan(generator, discriminator, images, labels + 1)


def test_sample_and_history_reject_bad_arguments():
    generator = Generator(width=4)
    with pytest.raises(TypeError, match="generator must be a Generator"):
        sample(Discriminator(width=4), 4)
    with pytest.raises(ValueError, match="n must be at least 1"):
        sample(generator, 0)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        sample(generator, 3, labels=[0, 1])
    with pytest.raises(ValueError, match="name must be one of"):
        GANHistory().per_epoch("loss")


def test_mode_collapse_score_rejects_bad_arguments():
    images = np.random.default_rng(0).random((10, 28, 28))
    with pytest.raises(ValueError, match="samples needs at least 2 images"):
        mode_collapse_score(images[:1], images)
    with pytest.raises(ValueError, match="reference are"):
        mode_collapse_score(images, images[:, :14, :14])
    with pytest.raises(ValueError, match="all identical"):
        mode_collapse_score(images, np.zeros((5, 28, 28)))
    with pytest.raises(ValueError, match="samples must be uint8"):
        mode_collapse_score(images * 2 - 1, images)
    with pytest.raises(TypeError, match="reference"):
        mode_collapse_score(images, None)
