# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 06 Autoencoders and GANs for chest X-rays
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.generative`, so CI proves each one passes.
#
# ## Exercise 1 — the KL divergence between two diagonal Gaussians
#
# For one coordinate, with $q = \mathcal{N}(\mu_q, \sigma_q^2)$ and $p = \mathcal{N}(\mu_p, \sigma_p^2)$,
#
# $$\mathrm{KL}(q \,\|\, p) = \log\frac{\sigma_p}{\sigma_q} + \frac{\sigma_q^2 + (\mu_q - \mu_p)^2}{2\sigma_p^2} - \frac12 .$$
#
# With log-variances $\ell = \log \sigma^2$, $\log(\sigma_p / \sigma_q) = (\ell_p - \ell_q)/2$ and
# $\sigma^2 = e^{\ell}$, so the whole term is
# $\tfrac12\,[\ell_p - \ell_q + (e^{\ell_q} + (\mu_q - \mu_p)^2)/e^{\ell_p} - 1]$. A diagonal Gaussian is
# a product of independent coordinates, and the KL divergence of products is the **sum** over the
# coordinates (not the mean); each image (row) keeps its own number. With $p = \mathcal{N}(0, 1)$
# ($\mu_p = 0$, $\ell_p = 0$) it becomes the VAE's term $\tfrac12 \sum (\mu^2 + e^{\ell} - 1 - \ell)$.
# The order matters: $\mathrm{KL}(q \| p) \neq \mathrm{KL}(p \| q)$.

# %%
import numpy as np
import torch


def gaussian_kl(mean_q, logvar_q, mean_p, logvar_p):
    per_coordinate = 0.5 * (logvar_p - logvar_q
                            + (torch.exp(logvar_q) + (mean_q - mean_p) ** 2) / torch.exp(logvar_p) - 1.0)
    return per_coordinate.sum(dim=-1)          # (N,): one KL divergence per row


# %% [markdown]
# ## Exercise 2 — the Fréchet distance of two 1-D Gaussians
#
# In one dimension the covariances are numbers, $C_a = \sigma_a^2$ and $C_b = \sigma_b^2$, and the
# matrix square root is the ordinary one: $(C_a C_b)^{1/2} = \sigma_a \sigma_b$ (both positive). So
#
# $$d^2 = (\mu_a - \mu_b)^2 + \sigma_a^2 + \sigma_b^2 - 2\sigma_a\sigma_b = (\mu_a - \mu_b)^2 + (\sigma_a - \sigma_b)^2 .$$
#
# Like FID, it is the *squared* distance: no square root at the end. The arguments are standard
# deviations, so they enter squared in the variances.

# %%
def frechet_1d(mean_a, std_a, mean_b, std_b):
    return float((mean_a - mean_b) ** 2 + (std_a - std_b) ** 2)


# %% [markdown]
# ## Exercise 3 — k-NN precision and recall
#
# Kynkäänniemi et al. (2019) estimate each set's manifold as a union of balls: around every point, a
# ball whose radius is the distance to its $k$-th nearest **other** point of the same set. In a sorted
# row of distances from a point to its own set, entry 0 is the point itself (distance 0), so the
# radius is entry $k$. Precision asks how many fake points fall inside some real ball (distance
# $\le$ that ball's radius); recall swaps the roles: how many real points fall inside some fake ball.

# %%
def knn_precision_recall(real, fake, k=3):
    def distances(a, b):                       # (len(a), len(b)) Euclidean distances
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))

    def radii(points):                         # distance to the k-th nearest other point
        return np.sort(distances(points, points), axis=1)[:, k]

    def share_inside(queries, centres):        # share of queries inside at least one ball
        return float(np.mean(np.any(distances(queries, centres) <= radii(centres)[None, :], axis=1)))

    return share_inside(fake, real), share_inside(real, fake)
