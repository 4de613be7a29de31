"""Integrated gradients over a molecule's atom features, with the graph held fixed.

Integrated gradients (Sundararajan et al., 2017) attribute a prediction ``f(x)`` to the inputs by
integrating the gradient along the straight path from a baseline ``x'`` to ``x``::

    IG_i = (x_i - x'_i) * ∫_0^1 ∂f/∂x_i (x' + α (x - x')) dα

Here the inputs are the atom features ``x`` (n_atoms, ATOM_DIM) of one molecule; the baseline is the
same graph with every atom feature zero ("no atom information"). The bonds (``edge_index``,
``edge_attr``) and, for the hybrid, the descriptor vector stay at their real values all along the path:
the attributions answer "which atoms' features moved the prediction", not "which bonds".

**Completeness.** The attributions add up to ``f(x) - f(x')`` exactly; a quadrature rule with
``steps`` nodes approximates the integral. Along the path, ``F(α) = f(x' + α (x - x'))`` is
continuous and *piecewise linear* for these networks (ReLU, eval-mode BatchNorm, sums and means are
all piecewise linear), so its derivative ``F'`` is piecewise constant with a jump at every point where
some ReLU switches — hundreds to thousands of them for a trained 4-layer network. For such an integrand
Gauss–Legendre's high order buys nothing; the midpoint rule has a clean bound: on a cell of width
``h`` the error is at most ``h/2`` times the variation of ``F'`` inside the cell, so

    |sum of attributions - (f(x) - f(x'))|  <=  (h / 2) * TV(F')

where TV is the total variation of ``F'`` on [0, 1]. :attr:`AtomAttributions.error_bound` estimates
it from the sampled ``F'(α_k)`` (``V̂ = Σ |F'(α_{k+1}) - F'(α_k)|``, a lower estimate of TV) and
doubles it for the variation between samples: ``error_bound = max(weights) * V̂`` (= ``h V̂`` for the
midpoint rule). Everything is computed in float64, so the bound is about the quadrature, not about
float32 rounding.

The same computation with :class:`captum.attr.IntegratedGradients` needs a forward function of the
atom features alone: :func:`fixed_graph_forward`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data

METHODS = ("riemann_middle", "gausslegendre")
"""Quadrature rules, named as in captum: the midpoint rule and Gauss–Legendre."""


def path_nodes(steps: int, method: str = "riemann_middle") -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alphas`` in (0, 1) and weights (summing to 1) of a ``steps``-point rule, float64, shape (steps,)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    if method == "riemann_middle":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(int(steps))
        return 0.5 * (nodes + 1.0), 0.5 * weights
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


@dataclass(frozen=True)
class AtomAttributions:
    """Integrated gradients of one molecule's prediction (target units, e.g. log10 mol/L).

    Attributes:
        atoms: per-atom attribution, shape (n_atoms,): ``features`` summed over the feature axis.
        features: per atom and feature, shape (n_atoms, n_features).
        prediction: ``f(x)``; baseline: ``f(x')`` with all atom features zero (same bonds).
        alphas, weights: the quadrature nodes and weights, shape (steps,).
        path_derivative: ``F'(α_k)`` at every node, shape (steps,): the gradient at the path point
            dotted with ``x - x'``.
        method: ``"riemann_middle"`` or ``"gausslegendre"``.
    """

    atoms: np.ndarray
    features: np.ndarray
    prediction: float
    baseline: float
    alphas: np.ndarray
    weights: np.ndarray
    path_derivative: np.ndarray
    method: str

    @property
    def gap(self) -> float:
        """``prediction - baseline``: what the attributions must add up to."""
        return self.prediction - self.baseline

    @property
    def completeness_error(self) -> float:
        """``sum(atoms) - gap``: the quadrature error (plus float64 rounding)."""
        return float(self.atoms.sum() - self.gap)

    @property
    def error_bound(self) -> float:
        """``max(weights) * Σ_k |F'(α_{k+1}) - F'(α_k)|``: twice the midpoint rule's bound
        ``(h/2) TV(F')`` with TV estimated from the samples (see the module docstring)."""
        variation = float(np.abs(np.diff(self.path_derivative)).sum())
        return float(self.weights.max()) * variation

    @property
    def steps(self) -> int:
        return len(self.alphas)


def _float64_copy(model: nn.Module) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch Module, got {type(model).__name__}")
    return copy.deepcopy(model).double().eval()


def _check_graph(graph: Data) -> None:
    if not isinstance(graph, Data) or getattr(graph, "x", None) is None or graph.x.dim() != 2:
        raise TypeError("graph must be a torch_geometric Data with atom features x of shape (n_atoms, F)")
    if graph.num_nodes == 0:
        raise ValueError("graph has no atoms")


def _descriptors(model: nn.Module, graph: Data, copies: int) -> torch.Tensor | None:
    if not getattr(model, "n_descriptors", 0):
        return None
    descriptors = getattr(graph, "descriptors", None)
    if descriptors is None:
        raise ValueError("the hybrid model needs a graph carrying `descriptors` (see attach_descriptors)")
    return descriptors.to(torch.float64).reshape(1, -1).expand(copies, -1)


def fixed_graph_forward(model: nn.Module, graph: Data) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function of the atom features alone, for captum: ``forward(x)`` with ``x`` of shape
    (k, n_atoms, n_features) returns the predictions for ``k`` copies of ``graph`` whose atom features
    are ``x[0], ..., x[k-1]``, shape (k,). Bonds and descriptors stay fixed; the model runs on a
    float64 copy (pass float64 ``x``)."""
    _check_graph(graph)
    model64 = _float64_copy(model)
    n_atoms = graph.num_nodes
    edge_index, edge_attr = graph.edge_index, graph.edge_attr.to(torch.float64)

    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != n_atoms:
            raise ValueError(f"x must have shape (k, {n_atoms}, n_features), got {tuple(x.shape)}")
        k = x.shape[0]
        offsets = (torch.arange(k) * n_atoms).repeat_interleave(edge_index.shape[1])
        batch_edges = edge_index.repeat(1, k) + offsets
        batch = torch.arange(k).repeat_interleave(n_atoms)
        return model64(x.reshape(k * n_atoms, -1), batch_edges, edge_attr.repeat(k, 1), batch,
                       _descriptors(model64, graph, k))

    return forward


def integrated_gradients(model: nn.Module, graph: Data, steps: int = 256,
                         method: str = "riemann_middle") -> AtomAttributions:
    """Integrated gradients of ``model``'s prediction for one molecule over its atom features.

    Args:
        model: a :class:`~course_lib.molecules.models.MoleculeGNN` (or any module with its
            ``forward(x, edge_index, edge_attr, batch, descriptors)``); it is not changed — a float64
            copy in eval mode does the work.
        graph: the molecule (``x`` (n_atoms, F), ``edge_index``, ``edge_attr``; ``descriptors`` for the
            hybrid). The baseline is ``x' = 0`` with the same bonds and descriptors.
        steps: quadrature nodes (all evaluated in one batch of graph copies).
        method: ``"riemann_middle"`` (midpoint rule, the default: it has the error bound of the
            module docstring) or ``"gausslegendre"`` (captum's default).

    Returns:
        :class:`AtomAttributions`; ``atoms`` (n_atoms,) add up to ``prediction - baseline`` within
        ``error_bound``.
    """
    _check_graph(graph)
    alphas, weights = path_nodes(steps, method)
    x = graph.x.to(torch.float64)
    baseline_x = torch.zeros_like(x)
    forward = fixed_graph_forward(model, graph)
    alpha = torch.as_tensor(alphas, dtype=torch.float64).reshape(-1, 1, 1)
    path = (baseline_x + alpha * (x - baseline_x)).requires_grad_(True)       # (steps, n_atoms, F)
    (gradients,) = torch.autograd.grad(forward(path).sum(), path)              # ∂f/∂x at every node
    delta = (x - baseline_x).unsqueeze(0)
    path_derivative = (gradients * delta).sum(dim=(1, 2))                      # F'(α_k), (steps,)
    w = torch.as_tensor(weights, dtype=torch.float64).reshape(-1, 1, 1)
    features = ((gradients * w).sum(0) * (x - baseline_x)).detach()            # (n_atoms, F)
    with torch.no_grad():
        ends = forward(torch.stack([x, baseline_x]))
    return AtomAttributions(atoms=features.sum(1).numpy(), features=features.numpy(), prediction=float(ends[0]),
                            baseline=float(ends[1]), alphas=alphas, weights=weights,
                            path_derivative=path_derivative.detach().numpy(), method=method)
