# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 05 Graph neural networks for molecules
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.molecules`, so CI proves each one passes.
#
# ## Exercise 1 — `my_mean_readout`
#
# The readout is the same scatter as message passing, with the graph id of every atom as the index:
# `index_add_` sums the rows of each molecule into its own row of the output. The mean divides that sum
# by the number of atoms of *each* molecule — counted with the same scatter, adding a 1 per atom — not
# by the number of molecules or of all atoms. Every molecule has at least one atom, so the division is
# safe; `clamp(min=1)` keeps it safe for an empty slot too. A new tensor is filled, `h` stays untouched.

# %%
import torch


def my_mean_readout(h, batch, n_graphs):
    sums = torch.zeros(n_graphs, h.shape[1], dtype=h.dtype).index_add_(0, batch, h)        # (n_graphs, F)
    counts = torch.zeros(n_graphs, dtype=h.dtype).index_add_(0, batch, torch.ones(len(batch), dtype=h.dtype))
    return sums / counts.clamp(min=1).unsqueeze(1)                                        # one row per molecule


# %% [markdown]
# ## Exercise 2 — `seen_fraction`
#
# The question is about *molecules*: for every validation molecule, is its scaffold among the training
# scaffolds? A `set` of the training scaffolds makes each lookup cheap. Two details decide the number:
# duplicates count (three validation molecules with the benzene scaffold count three times), and the
# empty scaffold `""` of acyclic molecules is a scaffold like any other — an acyclic validation molecule
# next to acyclic training molecules is exactly the kind of near-copy a random split leaks. The answer is
# a fraction between 0 and 1, not a percentage.

# %%
def seen_fraction(train_scaffolds, val_scaffolds):
    known = set(train_scaffolds)
    return sum(scaffold in known for scaffold in val_scaffolds) / len(val_scaffolds)


# %% [markdown]
# ## Exercise 3 — `alkane_predictions`
#
# A straight-chain alkane with n carbons is the SMILES `"C" * n` (methane `C`, ethane `CC`, ...;
# hydrogens are implicit). `featurize` turns the SMILES into graphs — methane is a graph with one atom
# and no bonds, which the network handles like any other — and `predict_graphs` puts the model in
# evaluation mode (dropout off, BatchNorm using its stored statistics) and predicts a batch. Use the
# `model` argument, not a global, keep the lengths in the order given, and do not train.

# %%
from course_lib.molecules import featurize, predict_graphs


def alkane_predictions(model, n_carbons):
    graphs = featurize(["C" * n for n in n_carbons], verbose=False).graphs
    return predict_graphs(model, graphs)
