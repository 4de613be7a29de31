"""Notebook 06 (autoencoders and GANs on PneumoniaMNIST): its results ledger, and its own code.

Ledger tests (``@pytest.mark.ledger``, run after the notebooks) read results/06_autoencoders_gans.json:
every model of the three final comparisons over three seeds, each scored once on the test split, with
the verdicts the notebook printed. The quality bars apply only when the data were the real
PneumoniaMNIST; on the synthetic stand-in (offline) they are replaced by the shape of the lesson.

Unit tests (no marker, isolated like every unit test) keep the notebook's own pieces honest: its
from-scratch cells agree with course_lib, the figure module course_lib/generative/diagrams.py reads its
shapes from the models, and the exercise checks' references agree with the library implementations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_lib.results import Ledger, entry_is_stand_in  # noqa: E402

ledger = pytest.mark.ledger

NOTEBOOK = "06_autoencoders_gans"
AE, VAE = "autoencoder (latent 16)", "VAE (latent 8)"
RECONSTRUCTION = ("mean image", "PCA (8 components)", "PCA (16 components)", AE, VAE)
DEEP_DETECTOR = "autoencoder (normal X-rays)"
OTHER_DETECTORS = ("isolation forest", "k-NN distance", "one-class SVM")  # plus "PCA reconstruction (k components)"
GAN, GMM = "conditional DCGAN", "Gaussian mixture on PCA"
REAL, NOISE = "real X-rays (held-out half)", "shuffled-pixel noise"
GENERATIVE = (GAN, GMM, REAL)
GENERATIVE_METRICS = ("frechet", "precision", "recall", "c2st_accuracy", "tstr_auc", "memorisation")
NOISE_METRICS = ("frechet", "precision", "recall", "c2st_accuracy")


def _pca_detector(models) -> str:
    found = [name for name in models if name.startswith("PCA reconstruction (") and name.endswith(" components)")]
    assert len(found) == 1, f"expected one 'PCA reconstruction (k components)' detector, found {found}"
    return found[0]


def _mean(models, model, metric) -> float:
    return models[model]["metrics"][metric]["mean"]


def _real(models) -> bool:
    return not any(entry_is_stand_in(entry) for entry in models.values())


# ================================================================================ the ledger's structure
@ledger
def test_every_model_of_the_three_comparisons_is_recorded_once_on_test_over_three_seeds(models):
    expected = {**{m: ("mse",) for m in RECONSTRUCTION},
                **{m: ("auc",) for m in (*OTHER_DETECTORS, DEEP_DETECTOR, _pca_detector(models))},
                **{m: GENERATIVE_METRICS for m in GENERATIVE}, NOISE: NOISE_METRICS}
    assert sorted(models) == sorted(expected), f"unexpected or missing rows: {sorted(set(models) ^ set(expected))}"
    for name, metrics in expected.items():
        entry = models[name]
        assert entry["dataset"] == "pneumoniamnist" and entry["split"] == "test", name
        assert entry["test_evaluations"] == 1, f"{name}: scored {entry['test_evaluations']} times per seed"
        assert sorted(entry["metrics"]) == sorted(metrics), f"{name}: metrics {sorted(entry['metrics'])}"
        for metric in metrics:
            value = entry["metrics"][metric]
            assert value["n"] >= 3, f"{name} {metric}: only {value['n']} seed(s)"
            assert math.isfinite(value["mean"]) and value["std"] >= 0, f"{name} {metric}: {value}"
        assert isinstance(entry["seconds"], float) and entry["seconds"] >= 0, f"{name}: seconds {entry['seconds']}"
        if name in (REAL, NOISE):
            assert entry["params"] is None, f"{name} is a reference set, not a model: no parameters"
        else:
            assert isinstance(entry["params"], int) and entry["params"] > 0, f"{name}: params {entry['params']}"


@ledger
def test_all_models_share_one_provenance(models):
    assert len({entry["provenance"] for entry in models.values()}) == 1


@ledger
def test_metrics_lie_in_their_ranges_on_any_data(models):
    for name in RECONSTRUCTION:
        assert 0 < _mean(models, name, "mse") < 1, name          # squared error of pixels in [0, 1]
    for name, entry in models.items():
        for metric in ("auc", "precision", "recall", "c2st_accuracy", "tstr_auc"):
            if metric in entry["metrics"]:
                assert 0 <= entry["metrics"][metric]["mean"] <= 1, f"{name} {metric}"
        if "frechet" in entry["metrics"]:
            assert entry["metrics"]["frechet"]["mean"] >= 0, name
    # the held-out half is its own memorisation reference: its ratio is 1 by definition (float64 division
    # of equal medians is exact; 1e-12 only forgives the mean over seeds)
    assert _mean(models, REAL, "memorisation") == pytest.approx(1.0, abs=1e-12)
    # PCA keeps the directions of largest variance of its training images: 16 components rebuild the
    # test X-rays at least as well as 8, and 8 better than none (the mean image). Deterministic.
    assert _mean(models, "PCA (16 components)", "mse") < _mean(models, "PCA (8 components)", "mse") \
        < _mean(models, "mean image", "mse")


#: (model_a, model_b, metric as printed, ledger metric, higher is better, method)
VERDICTS = [
    (AE, "PCA (16 components)", "test reconstruction MSE", "mse", False),
    (VAE, "PCA (8 components)", "test reconstruction MSE", "mse", False),
    (AE, "mean image", "test reconstruction MSE", "mse", False),
    (GAN, GMM, "test Fréchet distance (judge features)", "frechet", False),
    (GAN, GMM, "test TSTR AUC", "tstr_auc", True),
]


@ledger
@pytest.mark.parametrize("a, b, metric, key, higher", VERDICTS, ids=[f"{v[0]} vs {v[1]}: {v[3]}" for v in VERDICTS])
def test_each_asked_verdict_is_recorded_from_the_ledgers_own_means(models, verdicts, a, b, metric, key, higher):
    found = [v for v in verdicts if (v["model_a"], v["model_b"], v["metric"]) == (a, b, metric)]
    assert len(found) == 1, f"no verdict {a} vs {b} on {metric}"
    verdict = found[0]
    assert verdict["method"] == "paired t over 3 seeds" and verdict["higher_is_better"] is higher
    assert verdict["baseline"] == b
    # the same float64 means of 3 per-seed numbers, computed by pandas and by numpy: ~1e-16 relative
    assert verdict["mean_a"] == pytest.approx(_mean(models, a, key), rel=1e-9)
    assert verdict["mean_b"] == pytest.approx(_mean(models, b, key), rel=1e-9)
    assert verdict["low"] - 1e-12 <= verdict["difference"] <= verdict["high"] + 1e-12


@ledger
def test_the_anomaly_verdicts_compare_the_families_best_on_validation(models, verdicts):
    found = [v for v in verdicts if v["metric"] == "test anomaly AUC"]
    assert len(found) == 2, f"expected a seed verdict and a bootstrap verdict, got {[v['method'] for v in found]}"
    seeds = next(v for v in found if v["method"] == "paired t over 3 seeds")
    bootstrap = next(v for v in found if v["method"].startswith("paired bootstrap over"))
    assert seeds["model_a"] == DEEP_DETECTOR and seeds["model_b"] in (*OTHER_DETECTORS, _pca_detector(models))
    assert seeds["mean_a"] == pytest.approx(_mean(models, DEEP_DETECTOR, "auc"), rel=1e-9)
    assert seeds["mean_b"] == pytest.approx(_mean(models, seeds["model_b"], "auc"), rel=1e-9)
    assert bootstrap["model_a"].startswith(DEEP_DETECTOR) and bootstrap["model_b"].startswith(seeds["model_b"])
    assert "test X-rays" in bootstrap["method"]


# ================================================================================ quality bars (real data)
def _skip_unless_real(models):
    if not _real(models):
        provenances = sorted({entry["provenance"] for entry in models.values()})
        pytest.skip(f"quality bars apply to the real PneumoniaMNIST only (provenance {provenances})")


@ledger
def test_reconstruction_bars_on_real_data(models):
    _skip_unless_real(models)
    mean_image = _mean(models, "mean image", "mse")
    # measured (3 seeds, default budget): mean image 0.0165, PCA(16) 0.0031, autoencoder 0.0046 +- 0.0004,
    # VAE 0.0084 +- 0.0013. A network that learnt nothing rebuilds every X-ray as a blur of the mean
    # (error ~ the mean image's) or worse; these bars need it to remove at least half of that error.
    assert _mean(models, AE, "mse") <= 0.5 * mean_image, "the autoencoder barely beats the mean image"
    assert _mean(models, VAE, "mse") <= 0.75 * mean_image, "the VAE barely beats the mean image"
    assert _mean(models, "PCA (16 components)", "mse") <= 0.3 * mean_image


@ledger
def test_anomaly_bars_on_real_data(models):
    _skip_unless_real(models)
    aucs = {name: entry["metrics"]["auc"]["mean"] for name, entry in models.items() if "auc" in entry["metrics"]}
    # measured: isolation forest 0.59 +- 0.02, PCA reconstruction 0.57 (deterministic), one-class SVM 0.55,
    # k-NN 0.52, autoencoder 0.46 +- 0.02 (below chance: the failure Bouman & Heskes warn about). Scores
    # unrelated to the labels give 0.5 +- 0.024 on 234 normal and 390 pneumonia X-rays (the Mann-Whitney
    # standard error): the best detector must stand 2 of those above chance.
    assert max(aucs.values()) >= 0.55, f"no detector ranks pneumonia above normal: {aucs}"
    # a sign error (scores reversed) would turn the best detectors' 0.57-0.59 into 0.41-0.43
    assert aucs["isolation forest"] > 0.5 and aucs[_pca_detector(models)] > 0.5


@ledger
def test_generative_bars_on_real_data(models):
    _skip_unless_real(models)
    fd = {name: _mean(models, name, "frechet") for name in (*GENERATIVE, NOISE)}
    # measured Fréchet distances (judge features, 312 vs 312 X-rays): real held-out half 0.05, Gaussian
    # mixture 0.62 +- 0.03, DCGAN 6.3 +- 5.5 (GAN training varies a lot by seed), shuffled pixels 117 +- 3.
    # A generator that produced noise, or features computed wrongly, would sit near the noise ceiling; real
    # images must be the floor.
    assert fd[REAL] < min(fd[GAN], fd[GMM]), f"a model scores below real X-rays: {fd}"
    assert fd[GAN] <= fd[NOISE] / 5 and fd[GMM] <= fd[NOISE] / 20, fd
    # the two-sample test: real vs real is chance (measured 0.51 +- 0.01), noise is spotted every time (1.00)
    assert 0.4 <= _mean(models, REAL, "c2st_accuracy") <= 0.6
    assert _mean(models, NOISE, "c2st_accuracy") >= 0.95
    # train on synthetic, test on real: the classifier trained on real X-rays reached 0.94, on GMM samples
    # 0.90, on GAN samples 0.87 +- 0.03. Samples whose labels meant nothing would give ~0.5.
    assert _mean(models, REAL, "tstr_auc") >= 0.85
    assert _mean(models, GAN, "tstr_auc") >= 0.7 and _mean(models, GMM, "tstr_auc") >= 0.7
    # no copying: measured memorisation ratios 1.30 (GAN) and 0.94 (GMM); a generator replaying its
    # training X-rays would give ~0
    assert _mean(models, GAN, "memorisation") >= 0.7 and _mean(models, GMM, "memorisation") >= 0.7
    # precision: most generated X-rays fall among real ones (measured GAN 0.86 +- 0.08, GMM 0.86; noise 0.01)
    assert min(_mean(models, GAN, "precision"), _mean(models, GMM, "precision")) >= 0.5
    assert _mean(models, NOISE, "precision") <= 0.2


@ledger
def test_stand_in_keeps_the_lessons_shape(models):
    if _real(models):
        pytest.skip("checks of the synthetic stand-in (the data were real)")
    # on any chest-like images: networks and PCA rebuild better than the mean image; real images are the
    # Fréchet floor and shuffled pixels the ceiling, with every generator in between
    for name in ("PCA (16 components)", AE, VAE):
        assert _mean(models, name, "mse") < _mean(models, "mean image", "mse"), name
    fd = {name: _mean(models, name, "frechet") for name in (*GENERATIVE, NOISE)}
    assert fd[REAL] < min(fd[GAN], fd[GMM]) and max(fd[GAN], fd[GMM]) < fd[NOISE], fd
    assert _mean(models, NOISE, "c2st_accuracy") >= 0.9


# ================================================================================ unit tests: the notebook's code
NOTEBOOK_PATH = Path(__file__).resolve().parent.parent / "notebooks" / f"{NOTEBOOK}.ipynb"


def notebook_cell(marker: str, **namespace) -> dict:
    """Execute the notebook's code cell that starts with ``# from-scratch: <marker>`` in a namespace
    holding ``np``, ``torch``, ``F`` and ``namespace``; return the namespace."""
    cells = json.loads(NOTEBOOK_PATH.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
               and "".join(c["source"]).startswith(f"# from-scratch: {marker}\n")]
    assert len(sources) == 1, f"notebook 06 must have exactly one cell marked '# from-scratch: {marker}'"
    scope = {"np": np, "torch": torch, "F": F, **namespace}
    exec(compile(sources[0], f"{NOTEBOOK_PATH.name}[{marker}]", "exec"), scope)
    return scope


def test_notebook_pca_agrees_with_course_lib():
    from sklearn.decomposition import PCA

    from course_lib.generative.anomaly import pca_reconstruct

    cell = notebook_cell("pca")
    rng = np.random.default_rng(0)
    train = rng.uniform(0, 1, (60, 784)) * rng.uniform(0.2, 1, 784)   # unequal pixel variances
    queries = rng.integers(0, 256, (7, 28, 28)).astype(np.uint8)   # as the notebook's X-rays come
    pixels = (queries.astype(np.float32) / 255).astype(np.float64).reshape(7, -1)   # the notebook's unit()
    ours = cell["pca_rebuild"](pixels, *cell["pca_fit"](train, 5))
    reference = pca_reconstruct(PCA(5, svd_solver="full").fit(train), queries).reshape(7, -1)
    # float64, the same SVD (a direction's sign may differ; the reconstruction does not see it): ~1e-14
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)


def test_notebook_vae_pieces_agree_with_torch_and_course_lib():
    from torch.distributions import Normal, kl_divergence

    from course_lib.generative.autoencoders import kl_to_standard_normal

    cell = notebook_cell("vae")
    generator = torch.Generator().manual_seed(3)
    mean, logvar, eps = (torch.randn(6, 4, generator=generator, dtype=torch.float64) for _ in range(3))
    z = cell["reparameterise"](mean, logvar, eps)
    # the definition of the draw, computed another way: mean + sqrt(variance) * eps (float64, ~1e-16)
    torch.testing.assert_close(z, mean + torch.sqrt(torch.exp(logvar)) * eps, rtol=1e-12, atol=1e-12)
    reference = kl_divergence(Normal(mean, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(cell["kl_to_prior"](mean, logvar), reference, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(cell["kl_to_prior"](mean, logvar), kl_to_standard_normal(mean, logvar),
                               rtol=1e-12, atol=1e-12)


def test_notebook_frechet_agrees_with_course_lib():
    from course_lib.generative.frechet import frechet_distance

    cell = notebook_cell("frechet")
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (200, 5))
    b = rng.normal(0.5, 2, (150, 5)) @ rng.normal(size=(5, 5))
    ours, reference = cell["frechet_by_hand"](a, b), frechet_distance(a, b)
    # float64 5 x 5 matrices: ~1e-13 relative; a missing factor 2 or a transposed product errs by > 1 %
    assert ours == pytest.approx(reference, rel=1e-8)
    assert cell["frechet_by_hand"](a, a) == pytest.approx(0.0, abs=1e-8)


def test_notebook_gan_losses_match_binary_cross_entropy():
    cell = notebook_cell("gan_losses")
    generator = torch.Generator().manual_seed(4)
    real, fake = (4 * torch.randn(32, generator=generator, dtype=torch.float64) for _ in range(2))
    bce = F.binary_cross_entropy_with_logits
    expected_d = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    # float64 log-sigmoids, summed in another order: ~1e-16
    assert cell["discriminator_loss"](real, fake).item() == pytest.approx(expected_d.item(), abs=1e-12)
    assert cell["generator_loss"](fake).item() == pytest.approx(bce(fake, torch.ones_like(fake)).item(), abs=1e-12)


# ---------------------------------------------------------------- course_lib/generative/diagrams.py
def test_autoencoder_blocks_follow_the_model():
    from course_lib.generative.autoencoders import ConvAutoencoder, VariationalAutoencoder
    from course_lib.generative.diagrams import autoencoder_blocks

    blocks = autoencoder_blocks(ConvAutoencoder(latent_dim=5, width=4))
    shapes = [b.shape for b in blocks]
    assert shapes == [(1, 28, 28), (4, 14, 14), (8, 7, 7), (392,), (5,), (392,), (8, 7, 7), (4, 14, 14), (1, 28, 28)]
    assert [b.code for b in blocks].count(True) == 1 and blocks[4].code
    vae_blocks = autoencoder_blocks(VariationalAutoencoder(latent_dim=3, width=4))
    assert [b.shape for b in vae_blocks if b.code] == [(3,), (3,), (3,)]
    assert [b.label for b in vae_blocks if b.code] == ["linear: mean", "linear: log-variance", "z = mean + σ·ε"]


def test_gan_blocks_follow_the_models_and_restore_their_modes():
    from course_lib.generative.diagrams import gan_blocks
    from course_lib.generative.gan import Discriminator, Generator

    generator, discriminator = Generator(latent_dim=6, width=8), Discriminator(width=8)
    generator.train()
    discriminator.eval()
    g_blocks, d_blocks = gan_blocks(generator, discriminator)
    assert [b.shape for b in g_blocks] == [(6,), (6,), (12,), (784,), (16, 7, 7), (8, 14, 14), (1, 28, 28)]
    assert [b.shape for b in d_blocks] == [(1, 28, 28), (8, 14, 14), (16, 7, 7), (784,), (1,)]
    assert g_blocks[-1].label.endswith("tanh") and "BN" in g_blocks[4].label
    assert generator.training and not discriminator.training


@pytest.mark.parametrize("function, arguments, error", [
    ("autoencoder_blocks", ("not a model",), TypeError),
    ("plot_autoencoder", (torch.nn.Linear(2, 2),), TypeError),
    ("gan_blocks", ("generator", "discriminator"), TypeError),
])
def test_diagram_functions_refuse_other_models(function, arguments, error):
    from course_lib.generative import diagrams

    with pytest.raises(error, match="must be"):
        getattr(diagrams, function)(*arguments)


def test_gan_blocks_refuse_a_swapped_pair():
    from course_lib.generative.diagrams import gan_blocks
    from course_lib.generative.gan import Discriminator, Generator

    with pytest.raises(TypeError, match="generator must be a Generator"):
        gan_blocks(Discriminator(), Generator())


def test_figures_are_drawn_and_labelled():
    from course_lib.generative.autoencoders import ConvAutoencoder, VariationalAutoencoder
    from course_lib.generative.diagrams import plot_autoencoder, plot_gan
    from course_lib.generative.gan import Discriminator, Generator

    for figure, expected in ((plot_autoencoder(ConvAutoencoder(latent_dim=16)),
                              ("16", "1 × 28 × 28", "32 × 7 × 7")),
                             (plot_autoencoder(VariationalAutoencoder(latent_dim=8)), ("linear: mean", "8")),
                             (plot_gan(Generator(), Discriminator()), ("noise z", "64 × 7 × 7", "features φ"))):
        try:
            texts = [t.get_text() for t in figure.axes[0].texts]
            for word in expected:
                assert any(word in text for text in texts), f"{word!r} not drawn"
        finally:
            plt.close(figure)


def test_image_rows_share_one_grey_scale_and_check_their_arguments():
    from course_lib.generative.diagrams import plot_image_rows

    rows = [np.zeros((3, 28, 28), dtype=np.uint8), np.full((2, 28, 28), 0.5, dtype=np.float32)]
    figure = plot_image_rows(rows, row_titles=["a", "b"], titles=[["x", "y", "z"], None])
    try:
        shown = [ax.images[0] for ax in figure.axes if ax.images]
        assert len(shown) == 5 and all(im.get_clim() == (0.0, 1.0) for im in shown)
        assert np.allclose(shown[0].get_array(), 0.0) and np.allclose(shown[3].get_array(), 0.5)
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="row_titles must have one entry per row"):
        plot_image_rows(rows, row_titles=["only one"])
    with pytest.raises(ValueError, match=r"titles\[0\] has 2 entries for 3 images"):
        plot_image_rows(rows, titles=[["x", "y"], None])
    with pytest.raises(ValueError, match="non-empty sequence"):
        plot_image_rows([])
    with pytest.raises(ValueError, match=r"rows\[0\]"):
        plot_image_rows([np.full((2, 28, 28), 2.0)])


# ---------------------------------------------------------------- the exercise checks' references
def test_check_references_agree_with_the_library():
    from torch.distributions import Normal, kl_divergence

    from course_lib.checks import generative as checks
    from course_lib.generative.frechet import frechet_distance_from_statistics
    from course_lib.generative.precision_recall import precision_recall

    rng = np.random.default_rng(5)
    mq, lq, mp, lp = (rng.normal(size=(4, 3)) for _ in range(4))
    reference = kl_divergence(Normal(torch.tensor(mq), torch.tensor(np.exp(lq / 2))),
                              Normal(torch.tensor(mp), torch.tensor(np.exp(lp / 2)))).sum(1).numpy()
    # float64 closed forms written differently: ~1e-15
    np.testing.assert_allclose(checks._reference_gaussian_kl(mq, lq, mp, lp), reference, rtol=1e-10, atol=1e-12)
    for mean_a, std_a, mean_b, std_b in checks.FIXED_FRECHET_CASES:
        library = frechet_distance_from_statistics(np.array([mean_a]), np.array([[std_a ** 2]]), np.array([mean_b]),
                                                   np.array([[std_b ** 2]]))
        # scipy's sqrtm of a 1 x 1 matrix: ~1e-15 relative
        assert checks._reference_frechet_1d(mean_a, std_a, mean_b, std_b) == pytest.approx(library, rel=1e-9, abs=1e-12)
    for real, fake, k in (checks._grid_case(), checks._random_case(np.random.default_rng(6))):
        ours = checks._reference_precision_recall(real, fake, k)
        library = precision_recall(real, fake, k=k)
        assert ours == (library.precision, library.recall)      # shares of whole counts: exact
    assert checks._reference_precision_recall(*checks._grid_case()) == (7 / 9, 1.0)
