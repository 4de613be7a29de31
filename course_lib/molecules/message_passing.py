"""One message-passing layer and the readouts written in plain torch, to check against PyG.

A GINE layer (Hu et al., 2020; GIN of Xu et al., 2019, with bond features) updates every atom ``i`` as

    h_i' = MLP( (1 + eps) * h_i  +  sum over bonds j->i of ReLU(h_j + W e_ji + b) )

Three steps: *gather* the sender's embedding for every directed edge (``x[source]``), *message*
(add the projected bond features, ReLU), *scatter-add* the messages onto their receivers
(``index_add_``). The readout pools atom embeddings into one vector per molecule the same way, with
the graph id of every atom as the scatter index.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GINEConv


def _check_graph(x: torch.Tensor, edge_index: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a 2-D tensor (n_nodes, features), got {getattr(x, 'shape', type(x))}")
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, n_edges), got {getattr(edge_index, 'shape', type(edge_index))}")
    if edge_index.dtype != torch.long:
        raise TypeError(f"edge_index must be int64, got {edge_index.dtype}")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= x.shape[0]):
        raise ValueError("edge_index refers to nodes outside x")


def scatter_sum(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Sum the rows of ``values`` (E, F) into ``size`` buckets given by ``index`` (E,): shape (size, F)."""
    if index.shape[0] != values.shape[0]:
        raise ValueError(f"index has {index.shape[0]} entries for {values.shape[0]} rows")
    out = torch.zeros(size, *values.shape[1:], dtype=values.dtype, device=values.device)
    return out.index_add_(0, index, values)


class ScratchGINEConv(nn.Module):
    """GINE in plain torch: the same computation as :class:`torch_geometric.nn.GINEConv`.

    Args:
        mlp: the update network applied after aggregation (width in = ``channels``).
        channels: node embedding width.
        edge_dim: bond feature width; a linear layer maps bond features to ``channels``.
        eps: the self-loop weight's offset.
    """

    def __init__(self, mlp: nn.Module, channels: int, edge_dim: int, eps: float = 0.0):
        super().__init__()
        self.mlp = mlp
        self.edge_lin = nn.Linear(edge_dim, channels)
        self.eps = nn.Parameter(torch.tensor(float(eps)))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """x: (n_atoms, channels); edge_index: (2, n_edges) sender row 0, receiver row 1;
        edge_attr: (n_edges, edge_dim). Returns (n_atoms, mlp's output width)."""
        _check_graph(x, edge_index)
        if edge_attr.shape[0] != edge_index.shape[1]:
            raise ValueError(f"edge_attr has {edge_attr.shape[0]} rows for {edge_index.shape[1]} edges")
        source, target = edge_index
        messages = torch.relu(x[source] + self.edge_lin(edge_attr))   # gather + message, (n_edges, channels)
        aggregated = scatter_sum(messages, target, x.shape[0])        # scatter-add onto receivers
        return self.mlp((1 + self.eps) * x + aggregated)

    @classmethod
    def from_pyg(cls, conv: GINEConv) -> "ScratchGINEConv":
        """A scratch layer holding copies of the weights of a PyG ``GINEConv`` built with ``edge_dim``."""
        import copy

        if not isinstance(conv, GINEConv) or not hasattr(conv, "lin") or conv.lin is None:
            raise TypeError("conv must be a torch_geometric GINEConv built with edge_dim=...")
        channels, edge_dim = conv.lin.weight.shape  # PyG's Linear stores weight as (out, in) too
        layer = cls(copy.deepcopy(conv.nn), channels, edge_dim, float(conv.eps.detach()))
        with torch.no_grad():
            layer.edge_lin.weight.copy_(conv.lin.weight)
            layer.edge_lin.bias.copy_(conv.lin.bias)
        return layer


def sum_readout(h: torch.Tensor, batch: torch.Tensor, n_graphs: int) -> torch.Tensor:
    """Sum of the atom embeddings of each molecule: h (n_atoms, F), batch (n_atoms,) -> (n_graphs, F)."""
    return scatter_sum(h, batch, n_graphs)


def mean_readout(h: torch.Tensor, batch: torch.Tensor, n_graphs: int) -> torch.Tensor:
    """Mean of the atom embeddings of each molecule, shape (n_graphs, F)."""
    counts = scatter_sum(torch.ones(h.shape[0], 1, dtype=h.dtype, device=h.device), batch, n_graphs)
    return sum_readout(h, batch, n_graphs) / counts.clamp(min=1)
