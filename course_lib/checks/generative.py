"""The self-checks of notebook 06's exercises (see :mod:`course_lib.checks` for the protocol).

Each check draws fresh random inputs (:func:`~course_lib.checks._common.fresh_rng`; pass ``seed=`` to
reproduce a reported failure) and adds fixed cases that separate the wrong answers learners are known
to write (listed in each docstring and proved in ``tests/exercise_cases/06_autoencoders_gans.py``).

- Exercise 1, :func:`check_gaussian_kl` — the KL divergence between two diagonal Gaussians, written
  by hand: ``gaussian_kl(mean_q, logvar_q, mean_p, logvar_p) -> (N,)`` in nats.
- Exercise 2, :func:`check_frechet_1d` — the (squared) Fréchet distance between two 1-D Gaussians:
  ``frechet_1d(mean_a, std_a, mean_b, std_b) -> float``.
- Exercise 3, :func:`check_knn_precision_recall` — the improved precision and recall of Kynkäänniemi
  et al. (2019) with k-NN balls: ``knn_precision_recall(real, fake, k) -> (precision, recall)``.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code, seed_note

#: Library functions that compute a Gaussian KL divergence for you (by name: every alias is refused).
KL_LIBRARY = ("kl_divergence", "kl_to_standard_normal", "autoencoder_loss", "Normal", "MultivariateNormal",
              "Independent", "kl_div")
#: Library functions that compute a Fréchet distance for you.
FRECHET_LIBRARY = ("frechet_distance", "frechet_distance_from_statistics", "gaussian_statistics", "sqrtm",
                   "wasserstein_distance")
#: Library functions that compute k-NN precision and recall (or the radii) for you.
PRECISION_RECALL_LIBRARY = ("precision_recall", "knn_radii", "inside_manifold", "NearestNeighbors",
                            "KNeighborsClassifier")


# ------------------------------------------------------------------ Exercise 1: Gaussian KL divergence
def _reference_gaussian_kl(mean_q, logvar_q, mean_p, logvar_p) -> np.ndarray:
    """KL(N(mean_q, exp(logvar_q)) || N(mean_p, exp(logvar_p))), diagonal, summed over the last axis, float64."""
    mean_q, logvar_q, mean_p, logvar_p = (np.asarray(a, dtype=np.float64) for a in (mean_q, logvar_q, mean_p, logvar_p))
    ratio = np.exp(logvar_q - logvar_p)
    return 0.5 * np.sum(logvar_p - logvar_q + ratio + (mean_q - mean_p) ** 2 / np.exp(logvar_p) - 1.0, axis=-1)


def _gaussian_inputs(rng: np.random.Generator) -> list[tuple[str, tuple[torch.Tensor, ...]]]:
    """Random diagonal Gaussians q and p ``(N, D)`` (float64), with N != D so a sum over the wrong axis
    changes the shape, plus two fixed cases: p the standard normal, and q == p (KL exactly 0)."""
    n = int(rng.integers(3, 7))
    d = n + int(rng.integers(1, 4))
    def tensor(values):
        return torch.from_numpy(np.asarray(values, dtype=np.float64))
    mean_q, mean_p = tensor(rng.normal(0, 1.5, (n, d))), tensor(rng.normal(0, 1.5, (n, d)))
    logvar_q, logvar_p = tensor(rng.uniform(-2.0, 1.5, (n, d))), tensor(rng.uniform(-1.5, 1.5, (n, d)))
    standard = (tensor(np.zeros((n, d))), tensor(np.zeros((n, d))))
    return [(f"random q and p of shape ({n}, {d})", (mean_q, logvar_q, mean_p, logvar_p)),
            (f"random q against the standard normal p = N(0, I), shape ({n}, {d})", (mean_q, logvar_q, *standard)),
            ("q equal to p (the KL divergence must be exactly 0)", (mean_p, logvar_p, mean_p, logvar_p))]


def check_gaussian_kl(gaussian_kl, *, seed=None) -> str:
    """Check ``gaussian_kl(mean_q, logvar_q, mean_p, logvar_p)``: for diagonal Gaussians
    ``q = N(mean_q, exp(logvar_q))`` and ``p = N(mean_p, exp(logvar_p))``, given as float64 tensors
    ``(N, D)``, return ``KL(q || p)`` for each of the N rows, shape ``(N,)``, in nats::

        KL = 0.5 * sum_d [ logvar_p - logvar_q + (exp(logvar_q) + (mean_q - mean_p)**2) / exp(logvar_p) - 1 ]

    Inputs: random q and p (N != D), q against the standard normal, and q == p (exactly 0). Known wrong
    answers it separates: the arguments' roles swapped (KL(p || q)), exp(logvar) read as the standard
    deviation, a missing 0.5 or - 1, the mean over the latent coordinates instead of the sum, the sum
    over the batch too (a scalar), p's variance or mean ignored (the KL to N(0, I) whatever p is),
    changing an input in place, and torch.distributions / course_lib's kl_to_standard_normal (refused).
    """
    require_own_code(gaussian_kl, *KL_LIBRARY)
    rng, seed = fresh_rng(seed)
    for name, inputs in _gaussian_inputs(rng):
        before = [t.clone() for t in inputs]
        answer = gaussian_kl(*inputs)
        if answer is None:
            raise NotImplementedError("gaussian_kl returned None: complete it and re-run")
        expect(all(torch.equal(a, b) for a, b in zip(inputs, before)),
               "gaussian_kl changed one of its inputs; compute into new tensors", seed)
        expect(isinstance(answer, torch.Tensor), f"gaussian_kl for {name}: return a torch tensor, got "
               f"{type(answer).__name__}", seed)
        # float64 sums of <= 10 terms of size <= ~30: rounding ~1e-14; 1e-9 leaves margin, while every
        # known slip changes the result by far more than that (it is exactly 0 only for q == p)
        assert_close(answer, _reference_gaussian_kl(*inputs), rtol=1e-9, atol=1e-9,
                     what=f"gaussian_kl(...) for {name}", seed=seed)
    return "it matches the closed form on fresh Gaussians (and gives 0 for q == p)."


# ------------------------------------------------------------------ Exercise 2: 1-D Fréchet distance
def _reference_frechet_1d(mean_a: float, std_a: float, mean_b: float, std_b: float) -> float:
    """(m_a - m_b)^2 + var_a + var_b - 2 sqrt(var_a var_b) = (m_a - m_b)^2 + (s_a - s_b)^2."""
    return (mean_a - mean_b) ** 2 + (std_a - std_b) ** 2


#: (mean_a, std_a, mean_b, std_b) cases every known slip gets wrong (worked out in the docstring).
FIXED_FRECHET_CASES = ((0.0, 1.0, 3.0, 1.0), (1.0, 2.0, 1.0, 0.5), (-1.0, 0.25, 2.0, 4.0), (0.5, 3.0, -0.5, 0.2))


def check_frechet_1d(frechet_1d, *, seed=None) -> str:
    """Check ``frechet_1d(mean_a, std_a, mean_b, std_b)``: the squared Fréchet (2-Wasserstein) distance
    between ``N(mean_a, std_a**2)`` and ``N(mean_b, std_b**2)`` — the 1-D case of the FID formula
    ``||m_a - m_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))`` — returned as one float.

    Inputs: fixed cases (equal spreads, equal means, spreads below and above 1) and random ones.
    Known wrong answers it separates: the square root of the result (the distance, not its square),
    ``|mean_a - mean_b|`` without the square, the cross term ``- 2 sqrt(C_a C_b)`` left out, the
    standard deviations used as if they were variances, the difference of variances squared, and
    calling course_lib's ``frechet_distance_from_statistics`` (refused).
    """
    require_own_code(frechet_1d, *FRECHET_LIBRARY)
    rng, seed = fresh_rng(seed)
    drawn = [(float(rng.normal(0, 2)), float(rng.uniform(0.1, 3)), float(rng.normal(0, 2)), float(rng.uniform(0.1, 3)))
             for _ in range(6)]
    for mean_a, std_a, mean_b, std_b in FIXED_FRECHET_CASES + tuple(drawn):
        where = f"frechet_1d({mean_a:.4g}, {std_a:.4g}, {mean_b:.4g}, {std_b:.4g})"
        answer = frechet_1d(mean_a, std_a, mean_b, std_b)
        if answer is None:
            raise NotImplementedError("frechet_1d returned None: complete it and re-run")
        try:
            value = float(answer)
        except (TypeError, ValueError):
            raise AssertionError(f"{where}: return one number, got {type(answer).__name__} {seed_note(seed)}") from None
        expected = _reference_frechet_1d(mean_a, std_a, mean_b, std_b)
        # float64 arithmetic on a handful of numbers of size <= 10: ~1e-15 relative; 1e-9 leaves margin,
        # every known slip is off by > 0.05 on the fixed cases
        expect(abs(value - expected) <= 1e-9 * max(1.0, abs(expected)),
               f"{where}: expected {expected:.6g}, got {value:.6g}", seed)
    return "it matches the closed form (m_a - m_b)^2 + (s_a - s_b)^2 on fixed and fresh cases."


# ------------------------------------------------------------------ Exercise 3: k-NN precision and recall
def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(len(a), len(b))``, float64, by broadcasting (no library neighbour search)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def _reference_precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Kynkäänniemi et al. (2019): radius = distance to the k-th nearest *other* point of the same set."""
    def radii(points):
        return np.sort(_distances(points, points), axis=1)[:, k]          # column 0 is the point itself
    def covered(queries, centres):
        return np.any(_distances(queries, centres) <= radii(centres)[None, :], axis=1)
    return float(covered(fake, real).mean()), float(covered(real, fake).mean())


def _grid_case() -> tuple[np.ndarray, np.ndarray, int]:
    """Points on a line, where several fake points lie *exactly* on the edge of a real ball (integer and
    half-integer coordinates: the distances are exact in float64), so ``<`` and ``<=`` give different
    answers; the fake point 15.5 lies outside the ball of the real point 10 (radius 5, its nearest
    neighbour) but inside a ball as wide as its second neighbour (6), which catches an off-by-one in k;
    and the two sets differ in spread, so precision (7/9) != recall (1)."""
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [10.0]])
    fake = np.array([[-1.0], [2.0], [6.0], [7.0], [8.0], [9.0], [15.0], [15.5], [20.0]])
    return real, fake, 1


def _random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """A real cloud and a shifted, narrower fake cloud with different sizes, so precision and recall differ."""
    d = int(rng.integers(2, 6))
    n_real, n_fake = int(rng.integers(40, 80)), int(rng.integers(25, 60))
    real = rng.normal(0.0, 1.0, (n_real, d))
    fake = rng.normal(rng.uniform(0.5, 1.0), rng.uniform(0.3, 0.6), (n_fake, d))
    return real, fake, int(rng.integers(2, 6))


def check_knn_precision_recall(knn_precision_recall, *, seed=None) -> str:
    """Check ``knn_precision_recall(real, fake, k)``: real ``(N_r, D)`` and fake ``(N_f, D)`` float64
    feature arrays -> ``(precision, recall)``, two floats in ``[0, 1]``:

    - each point's ball has the radius of the distance to its ``k``-th nearest *other* point of its own set;
    - precision = share of fake points inside at least one real ball (distance ``<=`` radius);
    - recall = share of real points inside at least one fake ball.

    Inputs: a fixed 1-D case with points exactly on a ball's edge (integer distances, exact in float64)
    and random clouds of different sizes and spreads. Known wrong answers it separates: counting the
    point itself as its own first neighbour, the (k+1)-th neighbour, ``<`` instead of ``<=``, precision
    and recall swapped, the balls drawn around the wrong set, the mean of the k distances as the
    radius, changing an input in place, and course_lib's ``precision_recall`` or scikit-learn's
    ``NearestNeighbors`` (refused).
    """
    require_own_code(knn_precision_recall, *PRECISION_RECALL_LIBRARY)
    rng, seed = fresh_rng(seed)
    for name, (real, fake, k) in (("a fixed 1-D case with points on the edge of a ball", _grid_case()),
                                  ("random feature clouds", _random_case(rng)),
                                  ("random feature clouds", _random_case(rng))):
        before = (real.copy(), fake.copy())
        answer = knn_precision_recall(real, fake, k)
        if answer is None:
            raise NotImplementedError("knn_precision_recall returned None: complete it and re-run")
        expect(np.array_equal(real, before[0]) and np.array_equal(fake, before[1]),
               "knn_precision_recall changed real or fake in place; compute new arrays instead", seed)
        where = f"knn_precision_recall(real {real.shape}, fake {fake.shape}, k={k}) on {name}"
        expect(isinstance(answer, (tuple, list)) and len(answer) == 2,
               f"{where}: return a pair (precision, recall), got {type(answer).__name__}", seed)
        try:
            precision, recall = float(answer[0]), float(answer[1])
        except (TypeError, ValueError):
            raise AssertionError(f"{where}: precision and recall must be numbers {seed_note(seed)}") from None
        expected = _reference_precision_recall(real, fake, k)
        # shares of whole counts: exact; 1e-12 only forgives a float conversion (one point = >= 1/80)
        expect(abs(precision - expected[0]) <= 1e-12 and abs(recall - expected[1]) <= 1e-12,
               f"{where}: expected precision {expected[0]:.4f} and recall {expected[1]:.4f}, got "
               f"{precision:.4f} and {recall:.4f}", seed)
    return "it matches Kynkäänniemi et al.'s definition on a fixed edge case and fresh clouds."
