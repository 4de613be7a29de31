"""Molecules case study (notebook 05): predicting aqueous solubility (ESOL) with graph neural networks;
yes/no molecular properties and your own files of molecules (notebook 11).

One module per job:

- :mod:`~course_lib.molecules.data` — ESOL through the dataset registry, SMILES and target; your own
  CSV of molecules through ``course_lib.data.load_local`` (:func:`load_molecule_file`).
- :mod:`~course_lib.molecules.standardize` — salt stripping: the largest organic fragment of each
  SMILES, with a report of what was stripped and what did not parse.
- :mod:`~course_lib.molecules.featurize` — SMILES to PyG graphs (atom and bond features); invalid
  SMILES reported and dropped.
- :mod:`~course_lib.molecules.splits` — random and Bemis–Murcko scaffold splits (invalid SMILES are
  dropped and listed, silently for RDKit's logger).
- :mod:`~course_lib.molecules.baselines` — Morgan/ECFP4 fingerprints and RDKit descriptors with
  random forests and gradient boosting, as regressors and as class-weighted classifiers.
- :mod:`~course_lib.molecules.message_passing` — a GINE layer and readouts in plain torch.
- :mod:`~course_lib.molecules.models` — GCN, GINE and the descriptor hybrid; training with the
  course ``fit`` loop, for regression or (class-weighted, chosen by validation ROC-AUC) classification.
- :mod:`~course_lib.molecules.classification` — 0/1 labels from a threshold (:func:`binarize`) and
  ROC-AUC / PR-AUC from probabilities (:func:`classification_scores`).
- :mod:`~course_lib.molecules.attribution` — integrated gradients over atom features (graph fixed),
  with the quadrature's error bound and a forward function for captum.
- :mod:`~course_lib.molecules.plots` — molecule grids and atom-attribution drawings.
- :mod:`~course_lib.molecules.diagrams` — the architecture figure: one message-passing layer on a graph.
"""

from course_lib.molecules.attribution import (
    AtomAttributions,
    fixed_graph_forward,
    integrated_gradients,
    path_nodes,
)
from course_lib.molecules.baselines import (
    descriptor_names,
    gradient_boosting,
    gradient_boosting_classifier,
    morgan_fingerprints,
    random_forest,
    random_forest_classifier,
    rdkit_descriptors,
)
from course_lib.molecules.classification import binarize, classification_scores
from course_lib.molecules.data import TARGET, load_esol, load_molecule_file, smiles_and_target
from course_lib.molecules.diagrams import message_passing_figure
from course_lib.molecules.featurize import (
    ATOM_DIM,
    ATOM_FEATURES,
    BOND_DIM,
    BOND_FEATURES,
    FeaturizedSet,
    featurize,
    mol_to_graph,
    parse_smiles,
    smiles_to_graph,
)
from course_lib.molecules.message_passing import ScratchGINEConv, mean_readout, scatter_sum, sum_readout
from course_lib.molecules.models import (
    MoleculeGNN,
    attach_descriptors,
    class_weighted_bce,
    graph_forward,
    predict_graphs,
    predict_proba_graphs,
    train_gnn,
)
from course_lib.molecules.plots import attribution_image, molecule_grid, plot_attributions, show_image
from course_lib.molecules.splits import Split, murcko_scaffold, random_split, scaffold_split, scaffolds_shared
from course_lib.molecules.standardize import StandardizedSmiles, largest_fragment

__all__ = [
    "ATOM_DIM", "ATOM_FEATURES", "AtomAttributions", "BOND_DIM", "BOND_FEATURES", "FeaturizedSet",
    "MoleculeGNN", "ScratchGINEConv", "Split", "StandardizedSmiles", "TARGET", "attach_descriptors",
    "attribution_image", "binarize", "class_weighted_bce", "classification_scores", "descriptor_names",
    "featurize", "fixed_graph_forward", "gradient_boosting", "gradient_boosting_classifier", "graph_forward",
    "integrated_gradients", "largest_fragment", "load_esol", "load_molecule_file", "mean_readout",
    "message_passing_figure", "mol_to_graph", "molecule_grid", "morgan_fingerprints", "murcko_scaffold",
    "parse_smiles", "path_nodes", "plot_attributions", "predict_graphs", "predict_proba_graphs",
    "random_forest", "random_forest_classifier", "random_split", "rdkit_descriptors", "scaffold_split",
    "scaffolds_shared", "scatter_sum", "show_image", "smiles_and_target", "smiles_to_graph", "sum_readout",
    "train_gnn",
]
