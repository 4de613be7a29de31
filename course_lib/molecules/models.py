"""Graph neural networks for molecular property regression and yes/no classification, and how to train
them with the course loop.

:class:`MoleculeGNN` is one small architecture with three variants:

- ``"gcn"``: graph convolutions (Kipf & Welling) on atom features only (GCNConv ignores bond types);
- ``"gine"``: GIN layers that add bond features to each message (GINE, Hu et al. 2020);
- ``"gine"`` with ``n_descriptors > 0``: the *hybrid*, which also feeds a vector of global RDKit
  descriptors (standardized with training statistics) into the readout.

Readout is the concatenation of sum pooling (extensive: grows with molecule size, like solubility's
dependence on size) and mean pooling (intensive: composition), followed by an MLP. The output is in the
target's units: the network predicts a standardized value that is rescaled with the training targets'
mean and standard deviation stored as buffers.

With ``task="classification"`` the same network outputs one *logit* per molecule (no rescaling) for
0/1 labels: :func:`train_gnn` then minimizes a class-weighted binary cross-entropy
(``pos_weight = n_negative / n_positive`` of the training labels) and keeps the epoch with the best
validation ROC-AUC; :func:`predict_proba_graphs` turns logits into probabilities of class 1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv, GINEConv, global_add_pool, global_mean_pool
from sklearn.metrics import roc_auc_score

from course_lib.molecules.featurize import ATOM_DIM, BOND_DIM
from course_lib.training import History, fit, seed_everything

KINDS = ("gcn", "gine")
TASKS = ("regression", "classification")


def _mlp(width_in: int, hidden: int, width_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, width_out))


class MoleculeGNN(nn.Module):
    """A message-passing network that maps a batch of molecular graphs to one number per molecule:
    a prediction in the target's units (``task="regression"``) or a logit (``task="classification"``).

    Args:
        kind: ``"gcn"`` or ``"gine"``.
        atom_dim: node feature width (``featurize.ATOM_DIM``).
        bond_dim: edge feature width (``featurize.BOND_DIM``; used by ``"gine"`` only).
        hidden: width of the node embeddings.
        layers: number of message-passing layers.
        dropout: dropout before the final layer of the readout MLP.
        n_descriptors: width of the global descriptor vector for the hybrid (0: none).
        target_mean, target_std: the training targets' mean and std (outputs are rescaled with them).
        descriptor_mean, descriptor_std: per-descriptor training statistics, shape (n_descriptors,).
        task: ``"regression"`` or ``"classification"`` (outputs are logits; ``target_mean`` and
            ``target_std`` must stay 0 and 1; the buffer ``pos_weight`` records the class weight
            :func:`train_gnn` used, 1 until then).
    """

    def __init__(self, kind: str = "gine", atom_dim: int = ATOM_DIM, bond_dim: int = BOND_DIM, hidden: int = 64,
                 layers: int = 4, dropout: float = 0.1, n_descriptors: int = 0, target_mean: float = 0.0,
                 target_std: float = 1.0, descriptor_mean: np.ndarray | None = None,
                 descriptor_std: np.ndarray | None = None, task: str = "regression"):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if task == "classification" and (float(target_mean) != 0.0 or float(target_std) != 1.0):
            raise ValueError("a classifier outputs logits: target_mean and target_std must stay 0 and 1, "
                             f"got {target_mean} and {target_std}")
        for name, value in (("atom_dim", atom_dim), ("bond_dim", bond_dim), ("hidden", hidden), ("layers", layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not target_std > 0:
            raise ValueError(f"target_std must be > 0, got {target_std}")
        self.kind, self.n_descriptors, self.task = kind, int(n_descriptors), task
        self.embed = nn.Linear(atom_dim, hidden)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(layers):
            if kind == "gcn":
                self.convs.append(GCNConv(hidden, hidden))
            else:
                self.convs.append(GINEConv(_mlp(hidden, hidden, hidden), edge_dim=bond_dim, train_eps=True))
            self.norms.append(nn.BatchNorm1d(hidden))
        readout = 2 * hidden
        if self.n_descriptors:
            if descriptor_mean is None or descriptor_std is None:
                raise ValueError("the hybrid needs descriptor_mean and descriptor_std from the training rows")
            mean = torch.as_tensor(np.asarray(descriptor_mean), dtype=torch.float32)
            std = torch.as_tensor(np.asarray(descriptor_std), dtype=torch.float32)
            if mean.shape != (self.n_descriptors,) or std.shape != (self.n_descriptors,):
                raise ValueError(f"descriptor_mean/std must have shape ({self.n_descriptors},)")
            self.register_buffer("descriptor_mean", mean)
            self.register_buffer("descriptor_std", torch.where(std > 1e-8, std, torch.ones_like(std)))
            self.descriptor_net = nn.Sequential(nn.Dropout(0.1), nn.Linear(self.n_descriptors, hidden), nn.ReLU())
            readout += hidden
        self.head = nn.Sequential(nn.Linear(readout, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))
        if task == "classification":
            self.register_buffer("pos_weight", torch.tensor(1.0))

    def node_embeddings(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """Atom embeddings after message passing, shape (n_atoms, hidden)."""
        h = self.embed(x)
        for conv, norm in zip(self.convs, self.norms):
            update = conv(h, edge_index) if self.kind == "gcn" else conv(h, edge_index, edge_attr)
            h = h + torch.relu(norm(update))  # residual: deeper stacks train as easily as shallow ones
        return h

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor, batch: torch.Tensor,
                descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions in the target's units (a regressor) or logits (a classifier), shape (n_graphs,).

        Args:
            x: atom features (n_atoms, atom_dim); edge_index: (2, n_edges) int64; edge_attr: (n_edges,
            bond_dim); batch: graph id of every atom (n_atoms,) int64; descriptors: raw global
            descriptors (n_graphs, n_descriptors), required by the hybrid.
        """
        h = self.node_embeddings(x, edge_index, edge_attr)
        n_graphs = int(batch.max()) + 1 if batch.numel() else 0
        pooled = [global_add_pool(h, batch, n_graphs), global_mean_pool(h, batch, n_graphs)]
        if self.n_descriptors:
            if descriptors is None or descriptors.shape != (n_graphs, self.n_descriptors):
                raise ValueError(f"the hybrid needs descriptors of shape ({n_graphs}, {self.n_descriptors})")
            scaled = ((descriptors - self.descriptor_mean) / self.descriptor_std).clamp(-6, 6)
            pooled.append(self.descriptor_net(scaled))
        out = self.head(torch.cat(pooled, dim=1)).squeeze(1)
        if self.task == "classification":
            return out
        return out * self.target_std + self.target_mean


def graph_forward(model: nn.Module, batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``forward=`` for :func:`course_lib.training.fit` on PyG batches: ``(predictions, batch.y)``,
    both of shape (n_graphs,)."""
    batch = batch.to(device)
    descriptors = getattr(batch, "descriptors", None) if getattr(model, "n_descriptors", 0) else None
    return model(batch.x, batch.edge_index, batch.edge_attr, batch.batch, descriptors), batch.y


def attach_descriptors(graphs: Sequence[Data], descriptors: np.ndarray) -> list[Data]:
    """Copies of ``graphs`` carrying one row of raw ``descriptors`` (N, D) each as ``descriptors`` (1, D)."""
    descriptors = np.asarray(descriptors, dtype=np.float32)
    if descriptors.ndim != 2 or len(descriptors) != len(graphs):
        raise ValueError(f"descriptors must have shape ({len(graphs)}, D), got {descriptors.shape}")
    out = []
    for graph, row in zip(graphs, descriptors):
        copy_ = graph.clone()
        copy_.descriptors = torch.from_numpy(row).unsqueeze(0)
        out.append(copy_)
    return out


def _tensors_only(graph: Data) -> Data:
    # strings such as `smiles` make every collation several times slower; training needs tensors only
    keep = {k: graph[k] for k in ("x", "edge_index", "edge_attr", "y", "descriptors") if k in graph}
    return Data(**keep)


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def _roc_auc_of_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    probabilities = torch.sigmoid(torch.as_tensor(np.asarray(logits), dtype=torch.float64)).numpy()
    return float(roc_auc_score(np.asarray(y_true).astype(np.int64), probabilities))


def _binary_labels(graphs: Sequence[Data], name: str) -> np.ndarray:
    """The 0/1 labels of ``graphs`` (int64, (N,)); both classes must be present."""
    y = torch.cat([g.y.reshape(-1) for g in graphs]).double().numpy()
    outside = ~np.isin(y, (0.0, 1.0))
    if outside.any():
        raise ValueError(f"task='classification' needs 0/1 labels; {name} has {int(outside.sum())} other values, "
                         f"e.g. {np.unique(y[outside])[:5].tolist()} (use binarize(...) for a measured property)")
    labels = y.astype(np.int64)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{name} hold only class {int(labels[0])}: a classifier needs both 0 and 1 in {name} "
                         "(validation AUC is undefined otherwise); use another split seed or more data")
    return labels


def class_weighted_bce(labels) -> nn.BCEWithLogitsLoss:
    """``BCEWithLogitsLoss(pos_weight = n_negative / n_positive)`` for 0/1 ``labels`` (N,): each class
    then carries the same total weight in the loss, however rare the positives are."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if y.size == 0 or not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("labels must be a non-empty array of 0/1 values")
    n_positive = int(y.sum())
    n_negative = int(y.size - n_positive)
    if n_positive == 0 or n_negative == 0:
        raise ValueError("labels must contain both classes to weight them")
    return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(n_negative / n_positive, dtype=torch.float32))


def train_gnn(kind: str, train_graphs: Sequence[Data], val_graphs: Sequence[Data], *, seed: int = 0,
              epochs: int = 60, batch_size: int = 64, lr: float = 3e-3, weight_decay: float = 1e-5,
              hidden: int = 64, layers: int = 4, dropout: float = 0.1, n_descriptors: int = 0,
              descriptor_stats: tuple[np.ndarray, np.ndarray] | None = None, patience: int | None = None,
              progress: bool = False, task: str = "regression") -> tuple[MoleculeGNN, History]:
    """Build a :class:`MoleculeGNN` and train it with :func:`course_lib.training.fit`.

    Adam with a one-cycle learning-rate schedule (warm-up, then cosine decay) stepped per batch.
    ``task="regression"``: mean squared error; the validation RMSE (log mol/L for ESOL) chooses the
    epoch whose weights are kept. ``task="classification"``: every graph's ``y`` must be 0 or 1 with
    both classes in the training and in the validation graphs; the loss is :func:`class_weighted_bce`
    of the training labels (the model's ``pos_weight`` buffer records the weight) and the epoch with the
    highest validation ROC-AUC of the sigmoid probabilities is kept (``history.metric_name`` is
    ``"roc_auc"``). Same seed -> same model.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not train_graphs or not val_graphs:
        raise ValueError("train_graphs and val_graphs must be non-empty")
    if any(getattr(g, "y", None) is None for g in list(train_graphs) + list(val_graphs)):
        raise ValueError("every graph needs a target y")
    if task == "classification":
        train_labels = _binary_labels(train_graphs, "train_graphs")
        _binary_labels(val_graphs, "val_graphs")
    seed_everything(seed)
    y = torch.cat([g.y for g in train_graphs]).numpy()
    first = train_graphs[0]
    stats = descriptor_stats if n_descriptors else (None, None)
    target_mean, target_std = (0.0, 1.0) if task == "classification" else (float(y.mean()), float(y.std()))
    model = MoleculeGNN(kind, atom_dim=first.x.shape[1], bond_dim=first.edge_attr.shape[1], hidden=hidden,
                        layers=layers, dropout=dropout, n_descriptors=n_descriptors,
                        target_mean=target_mean, target_std=target_std,
                        descriptor_mean=stats[0], descriptor_std=stats[1], task=task)
    generator = torch.Generator().manual_seed(seed)
    # drop_last: a final batch of one graph would break BatchNorm's batch statistics
    train_graphs = [_tensors_only(g) for g in train_graphs]
    val_graphs = [_tensors_only(g) for g in val_graphs]
    train_loader = DataLoader(train_graphs, batch_size=batch_size, shuffle=True, generator=generator,
                              drop_last=len(train_graphs) > batch_size)
    val_loader = [Batch.from_data_list(val_graphs)]  # one batch, collated once
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                                    steps_per_epoch=len(train_loader), pct_start=0.1)
    if task == "classification":
        loss_fn = class_weighted_bce(train_labels)
        model.pos_weight.fill_(float(loss_fn.pos_weight))
        metric, metric_name, mode = _roc_auc_of_logits, "roc_auc", "max"
    else:
        loss_fn, metric, metric_name, mode = nn.functional.mse_loss, _rmse, "rmse", "min"
    history = fit(model, train_loader, val_loader, loss_fn=loss_fn, optimizer=optimizer,
                  epochs=epochs, metric=metric, metric_name=metric_name, mode=mode, patience=patience,
                  scheduler=scheduler, scheduler_step="batch", forward=graph_forward,
                  device="cpu", progress=progress)
    return model, history


@torch.no_grad()
def predict_graphs(model: MoleculeGNN, graphs: Sequence[Data]) -> np.ndarray:
    """Raw outputs for ``graphs``, shape (len(graphs),): predictions in the target's units for a
    regressor, logits for a classifier (probabilities: :func:`predict_proba_graphs`)."""
    model.eval()
    batch = Batch.from_data_list([_tensors_only(g) for g in graphs])
    return graph_forward(model, batch, torch.device("cpu"))[0].numpy()


def predict_proba_graphs(model: MoleculeGNN, graphs: Sequence[Data]) -> np.ndarray:
    """Probabilities of class 1 from a classifier (``task="classification"``): the sigmoid of its
    logits, float64 of shape (len(graphs),) with values in [0, 1]."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a MoleculeGNN, got {type(model).__name__}")
    if getattr(model, "task", "regression") != "classification":
        raise ValueError("predict_proba_graphs needs a classifier (task='classification'); this model is a "
                         "regressor: use predict_graphs for predictions in the target's units")
    logits = predict_graphs(model, graphs)
    return torch.sigmoid(torch.as_tensor(logits, dtype=torch.float64)).numpy()
