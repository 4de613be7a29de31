"""Wrong answers for notebook 05's exercises (format: tests/exercise_cases/__init__.py)."""

import numpy as np
import torch
from torch_geometric.nn import global_mean_pool

from course_lib.checks.molecules import check_alkane_predictions, check_mean_readout, check_seen_fraction
from course_lib.molecules import MoleculeGNN, featurize, mean_readout, predict_graphs
from exercise_cases import ExerciseCase

NOTEBOOK = "05_gnn_molecules"


# ----------------------------------------------------------------------------- Exercise 1: mean readout
def _sums(h, batch, n_graphs):
    return torch.zeros(n_graphs, h.shape[1], dtype=h.dtype).index_add_(0, batch, h)


def _counts(batch, n_graphs, dtype=torch.float32):
    return torch.zeros(n_graphs, dtype=dtype).index_add_(0, batch, torch.ones(len(batch), dtype=dtype))


def readout_sum(h, batch, n_graphs):
    return _sums(h, batch, n_graphs)


def readout_by_n_graphs(h, batch, n_graphs):
    return _sums(h, batch, n_graphs) / n_graphs


def readout_by_all_atoms(h, batch, n_graphs):
    return _sums(h, batch, n_graphs) / len(batch)


def readout_count_plus_one(h, batch, n_graphs):
    return _sums(h, batch, n_graphs) / (_counts(batch, n_graphs) + 1).unsqueeze(1)


def readout_whole_batch(h, batch, n_graphs):
    return h.mean(0, keepdim=True).expand(n_graphs, -1)


def readout_by_largest_molecule(h, batch, n_graphs):
    return _sums(h, batch, n_graphs) / _counts(batch, n_graphs).max()


def readout_in_place(h, batch, n_graphs):
    counts = _counts(batch, n_graphs)
    h /= counts[batch].unsqueeze(1)                     # changes the caller's tensor
    return _sums(h, batch, n_graphs)


def readout_pyg(h, batch, n_graphs):
    return global_mean_pool(h, batch, n_graphs)


def readout_course_lib(h, batch, n_graphs):
    return mean_readout(h, batch, n_graphs)


def readout_transposed(h, batch, n_graphs):
    return (_sums(h, batch, n_graphs) / _counts(batch, n_graphs).unsqueeze(1)).T


# ----------------------------------------------------------------------------- Exercise 2: seen fraction
def seen_percent(train, val):
    known = set(train)
    return 100 * sum(s in known for s in val) / len(val)


def seen_distinct(train, val):
    return len(set(val) & set(train)) / len(set(val))


def seen_skipping_acyclic(train, val):
    known = set(train) - {""}
    rings = [s for s in val if s]
    return sum(s in known for s in rings) / len(rings)


def seen_acyclic_never_seen(train, val):
    known = set(train) - {""}
    return sum(s in known for s in val) / len(val)


def seen_swapped(train, val):
    known = set(val)
    return sum(s in known for s in train) / len(train)


def unseen_fraction(train, val):
    known = set(train)
    return sum(s not in known for s in val) / len(val)


def seen_over_train_size(train, val):
    known = set(train)
    return sum(s in known for s in val) / len(train)


def seen_count(train, val):
    known = set(train)
    return sum(s in known for s in val)


# ----------------------------------------------------------------------------- Exercise 3: alkanes
def _alkanes(n_carbons):
    return featurize(["C" * n for n in n_carbons], verbose=False).graphs


def alkanes_one_short(model, n_carbons):
    return predict_graphs(model, _alkanes([max(n - 1, 1) for n in n_carbons]))


def alkanes_sorted(model, n_carbons):
    return predict_graphs(model, _alkanes(sorted(n_carbons)))


def alkanes_training_mode(model, n_carbons):
    from torch_geometric.data import Batch
    batch = Batch.from_data_list(_alkanes(n_carbons))
    return model(batch.x, batch.edge_index, batch.edge_attr, batch.batch).detach().numpy()


GLOBAL_MODEL = MoleculeGNN(kind="gine", hidden=8, layers=2)   # a notebook's trained `model`, not the argument


def alkanes_global_model(model, n_carbons):
    return predict_graphs(GLOBAL_MODEL, _alkanes(n_carbons))


def alkanes_from_ethane(model, n_carbons):
    return predict_graphs(model, _alkanes(range(2, 2 + len(n_carbons))))


def alkanes_column(model, n_carbons):
    return predict_graphs(model, _alkanes(n_carbons))[:, None]


def alkanes_after_a_training_step(model, n_carbons):
    from torch_geometric.data import Batch
    batch = Batch.from_data_list(_alkanes(n_carbons))
    loss = model(batch.x, batch.edge_index, batch.edge_attr, batch.batch).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    return predict_graphs(model, _alkanes(n_carbons))


CASES = [
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 1", check=check_mean_readout, solution_name="my_mean_readout",
        wrong={
            "sum, not mean": readout_sum,
            "divided by the number of molecules": readout_by_n_graphs,
            "divided by all atoms of the batch": readout_by_all_atoms,
            "count off by one": readout_count_plus_one,
            "mean over the whole batch": readout_whole_batch,
            "divided by the largest molecule": readout_by_largest_molecule,
            "changes h in place": readout_in_place,
            "PyG's global_mean_pool": readout_pyg,
            "course_lib's mean_readout": readout_course_lib,
            "transposed result": readout_transposed,
            "forgot to return": lambda h, batch, n_graphs: None,
        },
    ),
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 2", check=check_seen_fraction, solution_name="seen_fraction",
        wrong={
            "a percentage": seen_percent,
            "distinct scaffolds, not molecules": seen_distinct,
            "acyclic molecules skipped": seen_skipping_acyclic,
            "acyclic molecules never seen": seen_acyclic_never_seen,
            "train and validation swapped": seen_swapped,
            "the unseen fraction": unseen_fraction,
            "divided by the training size": seen_over_train_size,
            "a count, not a fraction": seen_count,
            "forgot to return": lambda train, val: None,
        },
    ),
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 3", check=check_alkane_predictions,
        solution_name="alkane_predictions",
        wrong={
            "chains one carbon short": alkanes_one_short,
            "lengths sorted": alkanes_sorted,
            "predicts in training mode": alkanes_training_mode,
            "uses a global model": alkanes_global_model,
            "always from ethane upwards": alkanes_from_ethane,
            "a column, not a vector": alkanes_column,
            "trains the model": alkanes_after_a_training_step,
            "forgot to return": lambda model, n_carbons: None,
        },
    ),
]
