"""Generative models and how to judge them: the pieces of notebooks 06 and 07, one module per job.

- :mod:`course_lib.generative.images` — checking and converting image batches to ``(N, 1, 28, 28)`` in [0, 1].
- :mod:`course_lib.generative.autoencoders` — convolutional and variational autoencoders, their loss,
  training with early stopping, reconstructions, prior samples and latent traversals.
- :mod:`course_lib.generative.anomaly` — anomaly scores without labels: reconstruction error and the
  classical one-class scorers (PCA reconstruction, isolation forest, k-NN distance, one-class SVM).
- :mod:`course_lib.generative.classical` — the classical generative baseline: a Gaussian mixture on
  PCA coefficients, sampled and inverted.
- :mod:`course_lib.generative.gan` — a conditional DCGAN for CPU, its training history, sampling and
  a mode-collapse score.
- :mod:`course_lib.generative.features` — penultimate-layer features of a classifier (the space the
  metrics below work in).
- :mod:`course_lib.generative.frechet` — the Fréchet distance between two feature sets (FID's formula,
  in the notebook's own feature space).
- :mod:`course_lib.generative.precision_recall` — k-NN precision and recall (Kynkäänniemi et al. 2019).
- :mod:`course_lib.generative.two_sample` — a classifier two-sample test with a permutation p-value.
- :mod:`course_lib.generative.memorisation` — nearest training neighbours of generated images.
- :mod:`course_lib.generative.diagrams` — the figures of the autoencoder, the VAE and the GAN.
"""

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
    ConvAutoencoder,
    VariationalAutoencoder,
    autoencoder_loss,
    latent_traversal,
    reconstruct,
    sample_prior,
    train_autoencoder,
)
from course_lib.generative.classical import PCAGaussianMixture
from course_lib.generative.features import penultimate_features
from course_lib.generative.frechet import frechet_distance, frechet_distance_from_statistics, gaussian_statistics
from course_lib.generative.gan import Discriminator, Generator, mode_collapse_score, sample, train_gan
from course_lib.generative.images import as_class_labels, as_unit_images
from course_lib.generative.memorisation import memorisation_ratio, nearest_training_neighbours
from course_lib.generative.precision_recall import precision_recall
from course_lib.generative.two_sample import classifier_two_sample_test
