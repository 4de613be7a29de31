"""Unit tests of course_lib.generative.autoencoders, .anomaly and .classical: tiny synthetic images only.

The toy data: dark 28x28 images with one bright 8x8 square at a random position ("normal"); their
inversion (a bright image with one dark square) is the obvious outlier.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from torch import nn

from course_lib.generative.anomaly import (
    IsolationForestScorer,
    KNNDistanceScorer,
    OneClassSVMScorer,
    PCAReconstructionScorer,
    classical_scorers,
    pca_reconstruct,
    reconstruction_error,
)
from course_lib.generative.autoencoders import (
    AutoencoderHistory,
    ConvAutoencoder,
    VariationalAutoencoder,
    autoencoder_loss,
    kl_to_standard_normal,
    latent_traversal,
    reconstruct,
    sample_prior,
    train_autoencoder,
)
from course_lib.generative.classical import PCAGaussianMixture
from course_lib.training import seed_everything

torch.set_num_threads(1)


def squares(n: int, seed: int, side: int = 8) -> np.ndarray:
    """``n`` uint8 images ``(n, 28, 28)``: black, with one white ``side`` x ``side`` square at a random place."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for image, (row, col) in zip(images, rng.integers(0, 28 - side + 1, size=(n, 2))):
        image[row:row + side, col:col + side] = 255
    return images


def soft_squares(n: int, seed: int) -> np.ndarray:
    """Float images in (0, 1): squares blurred with uniform noise, so no pixel sits at 0 or 1."""
    rng = np.random.default_rng(seed + 1)
    return (0.1 + 0.8 * squares(n, seed) / 255 + rng.uniform(-0.05, 0.05, (n, 28, 28))).astype(np.float32)


class LogitOf(nn.Module):
    """A stub 'autoencoder' whose logits are the logit of its input: a perfect reconstruction."""

    def forward(self, x):
        return torch.logit(x)


class ConstantLogits(nn.Module):
    """A stub 'autoencoder' that predicts probability ``p`` for every pixel of every image."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        return torch.full_like(x, math.log(self.p / (1 - self.p)))


# ------------------------------------------------------------------------------------ models


def test_model_shapes():
    x = torch.rand(5, 1, 28, 28)
    ae = ConvAutoencoder(latent_dim=6, width=4)
    assert ae.encode(x).shape == (5, 6)
    assert ae.decode(torch.zeros(3, 6)).shape == (3, 1, 28, 28)
    assert ae(x).shape == (5, 1, 28, 28)
    vae = VariationalAutoencoder(latent_dim=3, width=4)
    logits, mean, logvar = vae(x)
    assert logits.shape == (5, 1, 28, 28) and mean.shape == logvar.shape == (5, 3)
    assert vae.encode(x).shape == (5, 3)
    vae.eval()  # evaluation mode decodes the mean: the logits equal decode(encode(x))
    assert torch.equal(vae(x)[0], vae.decode(vae.encode(x)))


def test_vae_draws_codes_in_training_mode_only():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4)
    x = torch.rand(4, 1, 28, 28)
    vae.train()
    assert not torch.equal(vae(x)[0], vae(x)[0])
    vae.eval()
    assert torch.equal(vae(x)[0], vae(x)[0])


def test_models_reject_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim"):
        ConvAutoencoder(latent_dim=0)
    with pytest.raises(TypeError, match="width"):
        VariationalAutoencoder(width=2.5)
    ae = ConvAutoencoder(latent_dim=4, width=4)
    with pytest.raises(ValueError, match="shape"):
        ae(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 4\)"):
        ae.decode(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        ae.encode(np.zeros((1, 1, 28, 28)))


# ------------------------------------------------------------------------------------ loss


def test_kl_term_by_hand():
    assert torch.equal(kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2 per coordinate:
    # m = (1, 2), s^2 = (1, 2): (1 + 1 - 1 - 0 + 4 + 2 - 1 - log 2) / 2 = (6 - log 2) / 2
    kl = kl_to_standard_normal(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, math.log(2.0)]]))
    assert kl.item() == pytest.approx((6 - math.log(2)) / 2, rel=1e-6)  # float32 of numbers ~3


def test_autoencoder_loss_bce_matches_torch_on_a_hand_case():
    x = np.zeros((2, 28, 28), dtype=np.float32)
    x[:, :14] = 1.0  # half of each image's pixels are 1
    loss, parts = autoencoder_loss(ConstantLogits(0.25), x)
    target = torch.from_numpy(x)[:, None]
    expected = F.binary_cross_entropy(torch.full_like(target, 0.25), target, reduction="sum") / 2
    by_hand = -(392 * math.log(0.25) + 392 * math.log(0.75))  # per image: 392 ones, 392 zeros
    # float32 sums of 784 terms ~1: relative rounding ~1e-6
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() == pytest.approx(by_hand, rel=1e-5)
    assert parts["reconstruction"] == pytest.approx(by_hand, rel=1e-5) and parts["kl"] == 0.0
    assert parts["loss"] == pytest.approx(loss.item())


def test_vae_loss_adds_beta_times_kl_and_kl_vanishes_at_the_prior():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4).eval()
    x = soft_squares(6, seed=0)
    for layer in (vae.to_mean, vae.to_logvar):  # mean = 0 and logvar = 0 for every image
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    loss, parts = autoencoder_loss(vae, x, beta=4.0)
    assert parts["kl"] == 0.0 and loss.item() == pytest.approx(parts["reconstruction"], rel=1e-6)
    torch.manual_seed(1)
    vae = VariationalAutoencoder(latent_dim=3, width=4).eval()
    logits, mean, logvar = vae(torch.from_numpy(x)[:, None])
    kl = (0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(1)).mean().item()
    bce = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(x)[:, None], reduction="sum").item() / 6
    loss, parts = autoencoder_loss(vae, x, beta=2.5)
    assert parts["kl"] == pytest.approx(kl, rel=1e-5) and parts["reconstruction"] == pytest.approx(bce, rel=1e-5)
    assert loss.item() == pytest.approx(bce + 2.5 * kl, rel=1e-5)
    loss.backward()  # the loss is differentiable
    assert vae.to_mean.weight.grad is not None


def test_autoencoder_loss_rejects_bad_arguments():
    ae = ConvAutoencoder(latent_dim=2, width=2)
    with pytest.raises(TypeError, match="model"):
        autoencoder_loss("model", squares(2, 0))
    with pytest.raises(ValueError, match="beta"):
        autoencoder_loss(ae, squares(2, 0), beta=-1)
    with pytest.raises(ValueError, match="batch"):
        autoencoder_loss(ae, np.full((2, 28, 28), 2.0))
    with pytest.raises(ValueError, match="batch must be 28x28"):
        autoencoder_loss(ae, np.zeros((2, 14, 14), dtype=np.uint8))


# ------------------------------------------------------------------------------------ training


def _train(cls, seed=0, **kwargs):
    seed_everything(seed)
    model = cls(latent_dim=4, width=4)
    history = train_autoencoder(model, squares(200, seed=1), squares(50, seed=2), batch_size=32, **kwargs)
    return model, history


def test_autoencoder_learns_and_keeps_its_best_epoch():
    model, history = _train(ConvAutoencoder, epochs=4, patience=None)
    assert isinstance(history, AutoencoderHistory)
    assert len(history.train_loss) == len(history.val_loss) == history.epochs == 4
    assert history.best_epoch > 0 and history.val_loss[history.best_epoch] < history.val_loss[0]
    assert history.best_epoch == int(np.argmin(history.val_loss)) and history.seconds > 0
    assert not model.training  # handed back in evaluation mode


def test_early_stopping_restores_the_best_weights():
    # a huge learning rate (Adam steps of ~1 per weight) makes the validation loss jump about (it
    # stopped early for each of 6 seeds tried), so patience 1 stops the run after an epoch worse than
    # the best one: the restored weights must be the best epoch's, not the last epoch's
    model, history = _train(ConvAutoencoder, epochs=8, patience=1, lr=1.0)
    assert history.stopped_early and history.epochs < 8
    assert history.best_epoch == history.epochs - 2
    best = history.best_val_loss
    assert history.val_loss[-1] > best * (1 + 1e-3)  # the last epoch is measurably worse
    loss, _ = autoencoder_loss(model.eval(), squares(50, seed=2))
    # float32 means of per-image sums ~200 in another batching order: ~1e-6 relative; 1e-4 leaves margin
    # and is still 10 times finer than the gap to the last epoch's loss checked above
    assert loss.item() == pytest.approx(best, rel=1e-4)


def test_training_repeats_with_the_same_seed():
    _, first = _train(VariationalAutoencoder, epochs=2, beta=2.0)
    _, second = _train(VariationalAutoencoder, epochs=2, beta=2.0)
    assert first.train_loss == second.train_loss and first.val_loss == second.val_loss
    _, other = _train(VariationalAutoencoder, seed=1, epochs=2, beta=2.0)
    assert other.train_loss != first.train_loss


def test_train_autoencoder_rejects_bad_arguments():
    ae = ConvAutoencoder(latent_dim=2, width=2)
    images = squares(4, 0)
    with pytest.raises(TypeError, match="model"):
        train_autoencoder(None, images, images)
    with pytest.raises(ValueError, match="epochs"):
        train_autoencoder(ae, images, images, epochs=0)
    with pytest.raises(TypeError, match="batch_size"):
        train_autoencoder(ae, images, images, batch_size=3.0)
    with pytest.raises(ValueError, match="lr"):
        train_autoencoder(ae, images, images, lr=0)
    with pytest.raises(ValueError, match="patience"):
        train_autoencoder(ae, images, images, patience=0)
    with pytest.raises(ValueError, match="val_images"):
        train_autoencoder(ae, images, np.zeros((4, 28, 27)))
    with pytest.raises(ValueError, match="seed"):
        train_autoencoder(ae, images, images, seed=-1)


# ------------------------------------------------------------------------------------ using a model


def test_reconstruct_shapes_ranges_and_mode():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4).train()
    images = squares(7, 0)
    rebuilt = reconstruct(vae, images, batch_size=3)
    assert rebuilt.shape == (7, 28, 28) and rebuilt.dtype == np.float32
    assert rebuilt.min() >= 0 and rebuilt.max() <= 1
    assert vae.training  # the caller's mode is restored
    with torch.no_grad():  # independent: decode the mean code of the whole batch at once
        x = torch.from_numpy(images).float()[:, None] / 255
        expected = torch.sigmoid(vae.decode(vae.to_mean(vae.encoder(x))))[:, 0].numpy()
    assert np.allclose(rebuilt, expected, atol=1e-6)  # float32 probabilities, batching order only
    with pytest.raises(ValueError, match="batch_size"):
        reconstruct(vae, images, batch_size=0)
    with pytest.raises(TypeError, match="model"):
        reconstruct(lambda x: x, images)


def test_sample_prior_is_seeded_and_in_range():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4)
    samples = sample_prior(vae, 5, seed=3)
    assert samples.shape == (5, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    assert np.array_equal(samples, sample_prior(vae, 5, seed=3))
    assert not np.array_equal(samples, sample_prior(vae, 5, seed=4))
    with torch.no_grad():  # independent: the same prior draw decoded by hand
        z = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
        expected = torch.sigmoid(vae.eval().decode(z))[:, 0].numpy()
    assert np.allclose(samples, expected, atol=1e-6)
    with pytest.raises(TypeError, match="VariationalAutoencoder"):
        sample_prior(ConvAutoencoder(), 5, seed=0)
    with pytest.raises(ValueError, match="n must be at least 1"):
        sample_prior(vae, 0, seed=0)


def test_latent_traversal_varies_only_along_its_row():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4).eval()
    image = soft_squares(1, seed=0)[0]
    grid = latent_traversal(vae, image, dims=(0, 2), steps=5, span=2.0)
    assert grid.shape == (2, 5, 28, 28) and grid.min() >= 0 and grid.max() <= 1
    with torch.no_grad():  # independent: the codes built by hand
        mean = vae.encode(torch.from_numpy(image)[None, None])[0]
        for row, dim in enumerate((0, 2)):
            codes = mean.repeat(5, 1)
            codes[:, dim] = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
            assert np.allclose(grid[row], torch.sigmoid(vae.decode(codes))[:, 0].numpy(), atol=1e-6)

    # a decoder that reads coordinate 0 only: the row of coordinate 1 must not change along the row
    with torch.no_grad():
        vae.decoder.body[0].weight[:, 1:] = 0.0
    grid = latent_traversal(vae, image[None], dims=(0, 1), steps=4)
    assert np.ptp(grid[1], axis=0).max() == 0.0
    assert np.ptp(grid[0], axis=0).max() > 1e-3


def test_latent_traversal_rejects_bad_arguments():
    vae = VariationalAutoencoder(latent_dim=3, width=4)
    image = squares(1, 0)[0]
    with pytest.raises(ValueError, match="dims must lie in 0..2"):
        latent_traversal(vae, image, dims=(0, 3))
    with pytest.raises(TypeError, match="dims"):
        latent_traversal(vae, image, dims=0)
    with pytest.raises(ValueError, match="dims is empty"):
        latent_traversal(vae, image, dims=())
    with pytest.raises(ValueError, match="steps"):
        latent_traversal(vae, image, steps=1)
    with pytest.raises(ValueError, match="span"):
        latent_traversal(vae, image, span=0.0)
    with pytest.raises(ValueError, match="one image"):
        latent_traversal(vae, squares(2, 0))
    with pytest.raises(TypeError, match="VariationalAutoencoder"):
        latent_traversal(ConvAutoencoder(), image)


# ------------------------------------------------------------------------------------ anomaly scores


def test_reconstruction_error_of_a_perfect_and_a_constant_reconstruction():
    x = soft_squares(10, seed=0)
    # sigmoid(logit(x)) in float32 is x within a few 1e-8; squared: < 1e-12
    assert np.abs(reconstruction_error(LogitOf(), x)).max() < 1e-12
    errors = reconstruction_error(ConstantLogits(0.5), x)
    assert errors.shape == (10,)
    assert np.allclose(errors, ((x.astype(np.float64) - 0.5) ** 2).mean(axis=(1, 2)), rtol=1e-6)
    uint8 = squares(3, 0)  # uint8 images are scaled to [0, 1] first: squares are 64 / 784 white pixels
    assert np.allclose(reconstruction_error(ConstantLogits(0.5), uint8), 0.25, rtol=1e-6)
    with pytest.raises(TypeError, match="model"):
        reconstruction_error(None, x)


def test_reconstruction_error_of_a_vae_uses_the_decoded_mean():
    torch.manual_seed(0)
    vae = VariationalAutoencoder(latent_dim=3, width=4).train()
    x = soft_squares(4, seed=0)
    with torch.no_grad():
        t = torch.from_numpy(x)[:, None]
        rebuilt = torch.sigmoid(vae.decode(vae.posterior(t)[0]))[:, 0].numpy().astype(np.float64)
    assert np.allclose(reconstruction_error(vae, x), ((x - rebuilt) ** 2).mean(axis=(1, 2)), rtol=1e-5)


def test_pca_reconstruct_with_all_components_is_the_identity():
    x = soft_squares(60, seed=0).reshape(60, -1).astype(np.float64)
    pca = PCA().fit(x)  # 60 components: every training image lies in their span
    # float64 SVD of a 60 x 784 matrix with entries ~1: rounding ~1e-13
    assert np.allclose(pca_reconstruct(pca, x.reshape(60, 28, 28)), x.reshape(60, 28, 28), atol=1e-9)
    few = PCA(n_components=5).fit(x)
    v = few.components_
    by_hand = np.clip(few.mean_ + (x - few.mean_) @ v.T @ v, 0, 1).reshape(60, 28, 28)
    assert np.allclose(pca_reconstruct(few, x), by_hand, atol=1e-9)
    with pytest.raises(TypeError, match="PCA"):
        pca_reconstruct("pca", x)
    with pytest.raises(ValueError, match="not fitted"):
        pca_reconstruct(PCA(3), x)
    with pytest.raises(ValueError, match="784"):
        pca_reconstruct(PCA(2).fit(np.random.default_rng(0).random((5, 10))), x)


@pytest.mark.parametrize("scorer", [PCAReconstructionScorer(10), IsolationForestScorer(seed=0),
                                    KNNDistanceScorer(k=5), OneClassSVMScorer()], ids=lambda s: s.name)
def test_classical_scorers_rank_inverted_images_above_normals(scorer):
    normals = squares(200, seed=0)
    test_normals, outliers = squares(40, seed=1), 255 - squares(40, seed=2)
    scores = scorer.fit(normals).score(np.concatenate([test_normals, outliers]))
    assert scores.shape == (80,) and scores.dtype == np.float64 and np.all(np.isfinite(scores))
    assert roc_auc_score(np.r_[np.zeros(40), np.ones(40)], scores) > 0.9


def test_pca_and_knn_scores_match_independent_computations():
    normals = soft_squares(80, seed=0)
    test = soft_squares(10, seed=5)
    flat_normals, flat_test = normals.reshape(80, -1).astype(np.float64), test.reshape(10, -1).astype(np.float64)
    pca = PCA(n_components=6, svd_solver="full").fit(flat_normals)  # exact, as the scorer
    rebuilt = np.clip(pca.inverse_transform(pca.transform(flat_test)), 0, 1)
    expected = ((flat_test - rebuilt) ** 2).mean(axis=1)
    assert np.allclose(PCAReconstructionScorer(6).fit(normals).score(test), expected, rtol=1e-6)
    distances = np.sqrt(((flat_test[:, None] - flat_normals[None]) ** 2).sum(-1))
    expected = np.sort(distances, axis=1)[:, :3].mean(axis=1)
    assert np.allclose(KNNDistanceScorer(k=3).fit(normals).score(test), expected, rtol=1e-6)


def test_classical_scorers_dictionary_and_bad_arguments():
    scorers = classical_scorers(12, seed=3)
    assert list(scorers) == ["PCA reconstruction", "isolation forest", "k-NN distance", "one-class SVM"]
    assert scorers["PCA reconstruction"].n_components == 12 and scorers["isolation forest"].seed == 3
    with pytest.raises(ValueError, match="not fitted"):
        KNNDistanceScorer().score(squares(2, 0))
    with pytest.raises(ValueError, match="at least 5 images"):
        KNNDistanceScorer(k=5).fit(squares(3, 0))
    with pytest.raises(ValueError, match="n_components must be at most 784"):
        PCAReconstructionScorer(1000)
    with pytest.raises(TypeError, match="n_components"):
        classical_scorers(2.5)
    with pytest.raises(ValueError, match="nu"):
        OneClassSVMScorer(nu=1.5)
    with pytest.raises(ValueError, match="gamma"):
        OneClassSVMScorer(gamma="wide")
    with pytest.raises(ValueError, match="normal_images"):
        IsolationForestScorer().fit(np.zeros((5, 28, 28)) - 1)


# ------------------------------------------------------------------------------------ classical baseline


def two_classes(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: grey images with a lighter square on the left half; class 1: darker, square on the right."""
    rng = np.random.default_rng(seed)
    images = np.empty((2 * n_per_class, 28, 28))
    labels = np.repeat([0, 1], n_per_class)
    for image, label in zip(images, labels):
        image[:] = 0.3 if label == 0 else 0.45
        row, col = rng.integers(0, 21), rng.integers(0, 7) + (14 * label)
        image[row:row + 8, col:col + 8] = 0.7
        image += rng.normal(0, 0.03, (28, 28))
    return np.clip(images, 0, 1), labels


def test_pca_gaussian_mixture_samples_look_like_their_class():
    images, labels = two_classes(150, seed=0)
    model = PCAGaussianMixture(n_components=16, n_mixture=3, seed=0).fit(images, labels)
    assert model.classes_ == (0, 1) and model.conditional_
    means = [images[labels == c].mean(axis=0) for c in (0, 1)]
    for label in (0, 1):
        samples = model.sample(600, label=label, seed=1)
        assert samples.shape == (600, 28, 28) and samples.dtype == np.float32
        assert samples.min() >= 0 and samples.max() <= 1
        # the mixture's mean is the class mean of the coefficients; Monte Carlo error of a pixel mean over
        # 600 draws with spread <= 0.25 is <= 0.01, so 0.05 leaves margin, while the two class means
        # differ by 0.15 (background) to 0.4 (squares)
        gap = np.abs(samples.mean(axis=0) - means[label]).max()
        assert gap < 0.05 < np.abs(samples.mean(axis=0) - means[1 - label]).max()
    assert np.array_equal(model.sample(4, label=1, seed=7), model.sample(4, label=1, seed=7))
    assert not np.array_equal(model.sample(4, label=1, seed=7), model.sample(4, label=1, seed=8))

    balanced, balanced_labels = model.sample_balanced(7, seed=2)
    assert balanced.shape == (7, 28, 28) and balanced_labels.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert balanced_labels.dtype == np.int64
    left, right = balanced[:, :, :14].mean(axis=(1, 2)), balanced[:, :, 14:].mean(axis=(1, 2))
    # class 0's square is on the left on a darker background: left half brighter than right
    assert np.all((left > right)[:4]) and np.all((left < right)[4:])


def test_unconditional_pca_gaussian_mixture():
    images, _ = two_classes(60, seed=0)
    model = PCAGaussianMixture(n_components=8, n_mixture=2).fit((images * 255).astype(np.uint8))
    assert not model.conditional_ and model.classes_ == (None,)
    samples = model.sample(500, seed=0)
    assert samples.shape == (500, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    # the mean of the mixture is the mean of all images (uint8 rounding: 1/255); Monte Carlo error < 0.01
    assert np.abs(samples.mean(axis=0) - images.mean(axis=0)).max() < 0.05
    with pytest.raises(ValueError, match="without labels"):
        model.sample(3, label=0)
    with pytest.raises(ValueError, match="fitted with labels"):
        model.sample_balanced(4, seed=0)


def test_pca_gaussian_mixture_rejects_bad_arguments():
    images, labels = two_classes(10, seed=0)
    with pytest.raises(ValueError, match="n_components"):
        PCAGaussianMixture(n_components=0)
    with pytest.raises(TypeError, match="n_mixture"):
        PCAGaussianMixture(n_mixture=2.0)
    with pytest.raises(ValueError, match="not fitted"):
        PCAGaussianMixture().sample(3)
    with pytest.raises(ValueError, match="at least n_components = 32"):
        PCAGaussianMixture().fit(images, labels)
    with pytest.raises(ValueError, match="class 1 has 10"):
        PCAGaussianMixture(n_components=4, n_mixture=11).fit(np.r_[images, images[:2]], np.r_[labels, 0, 0])
    with pytest.raises(ValueError, match="labels has 19 entries"):
        PCAGaussianMixture(n_components=4, n_mixture=2).fit(images, labels[:-1])
    with pytest.raises(ValueError, match="whole class indices"):
        PCAGaussianMixture(n_components=4, n_mixture=2).fit(images, labels + 0.5)
    model = PCAGaussianMixture(n_components=4, n_mixture=2).fit(images, labels)
    with pytest.raises(ValueError, match="pass label="):
        model.sample(3)
    with pytest.raises(ValueError, match=r"one of the fitted classes \(0, 1\)"):
        model.sample(3, label=2)
    with pytest.raises(TypeError, match="label must be an int"):
        model.sample(3, label="pneumonia")
    with pytest.raises(ValueError, match="n must be at least 1"):
        model.sample_balanced(0)
