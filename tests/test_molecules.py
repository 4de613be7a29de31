"""Unit tests of course_lib.molecules (notebook 05): featurization, splits, the scratch layer, models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GINEConv, global_add_pool, global_mean_pool

from course_lib.molecules import (
    ATOM_DIM,
    ATOM_FEATURES,
    BOND_DIM,
    MoleculeGNN,
    ScratchGINEConv,
    attach_descriptors,
    attribution_image,
    featurize,
    integrated_gradients,
    mean_readout,
    molecule_grid,
    morgan_fingerprints,
    murcko_scaffold,
    predict_graphs,
    random_split,
    rdkit_descriptors,
    scaffold_split,
    scaffolds_shared,
    smiles_and_target,
    smiles_to_graph,
    sum_readout,
    train_gnn,
)
from course_lib.molecules.featurize import parse_smiles

SMILES = [
    "CCO", "c1ccccc1O", "c1ccccc1C", "c1ccccc1Cl", "c1ccc2ccccc2c1", "c1ccc2ccccc2c1O", "C1CCCCC1",
    "C1CCCCC1N", "c1ccncc1", "c1ccncc1C", "CC(=O)O", "CCCCCC", "O=C1CCCCC1", "c1ccc(-c2ccccc2)cc1",
    "c1ccc(-c2ccccc2)cc1Cl", "C1CCOC1", "CC#N", "c1ccsc1", "c1ccsc1C", "CCN(CC)CC", "OC1CCCC1",
    "C1CCC1", "c1cc[nH]c1", "CC(C)(C)O",
]


def test_graph_has_atom_and_bond_features_in_both_directions():
    graph = smiles_to_graph("CC=O", y=-0.5)  # acetaldehyde: 3 heavy atoms, 2 bonds
    assert graph.x.shape == (3, ATOM_DIM) and graph.edge_index.shape == (2, 4)
    assert graph.edge_attr.shape == (4, BOND_DIM) and graph.y.shape == (1,)
    assert torch.all(graph.x[:, :10].sum(1) == 1), "exactly one element slot per atom"
    oxygen = ATOM_FEATURES.index("element=O")
    assert graph.x[2, oxygen] == 1 and graph.x[0, oxygen] == 0
    pairs = set(map(tuple, graph.edge_index.t().tolist()))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1)}
    double = graph.edge_attr[graph.edge_index[0] == 2][0]
    assert double[1] == 1 and double[0] == 0, "the C=O bond is typed double"
    aromatic = smiles_to_graph("c1ccccc1")
    assert torch.all(aromatic.x[:, ATOM_FEATURES.index("aromatic")] == 1)
    assert torch.all(aromatic.edge_attr[:, 3] == 1) and torch.all(aromatic.edge_attr[:, 5] == 1)


def test_single_atom_molecule_is_a_graph_without_edges():
    graph = smiles_to_graph("C")
    assert graph.x.shape == (1, ATOM_DIM) and graph.edge_index.shape == (2, 0)
    assert graph.edge_attr.shape == (0, BOND_DIM)


def test_invalid_smiles_are_reported_and_dropped_not_emptied(capsys):
    result = featurize(["CCO", "not a smiles", "C1CC", "c1ccccc1", ""], targets=[1.0, 2.0, 3.0, 4.0, 5.0])
    assert len(result.graphs) == 2 and result.index.tolist() == [0, 3]
    assert [s for _, s in result.invalid] == ["not a smiles", "C1CC", ""]
    assert all(g.num_nodes > 0 for g in result.graphs)
    assert [float(g.y) for g in result.graphs] == [1.0, 4.0]
    printed = capsys.readouterr().out
    assert "featurized 2 of 5 molecules" in printed and "dropped 3 invalid SMILES" in printed
    assert "'not a smiles'" in printed
    with pytest.raises(ValueError, match="invalid SMILES 'C1CC'"):
        smiles_to_graph("C1CC")
    with pytest.raises(ValueError, match="none of the 2 SMILES"):
        featurize(["xx", "C1CC"], verbose=False)


def test_featurize_rejects_bad_arguments():
    with pytest.raises(TypeError, match="not a single string"):
        featurize("CCO")
    with pytest.raises(ValueError, match="targets must have shape"):
        featurize(["CCO", "CC"], targets=[1.0])
    with pytest.raises(ValueError, match="NaN"):
        featurize(["CCO"], targets=[float("nan")])


def test_smiles_and_target_checks_columns():
    frame = pd.DataFrame({"smiles": ["CCO", "CC"], "measured log solubility in mols per litre": [0.1, -1.0]})
    smiles, y = smiles_and_target(frame)
    assert smiles == ["CCO", "CC"] and y.tolist() == [0.1, -1.0]
    with pytest.raises(ValueError, match="lacks column"):
        smiles_and_target(frame.drop(columns="smiles"))


def test_random_split_is_seeded_and_disjoint():
    a, b, c = random_split(100, seed=1), random_split(100, seed=1), random_split(100, seed=2)
    assert a.sizes == (80, 10, 10)
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)
    assert sorted(np.concatenate([a.train, a.val, a.test]).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="fractions"):
        random_split(100, fractions=(0.5, 0.5, 0.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scaffold_split_never_puts_a_scaffold_in_two_parts(seed):
    mols = [parse_smiles(s) for s in SMILES]
    split = scaffold_split(mols, fractions=(0.6, 0.2, 0.2), seed=seed)
    scaffolds = [murcko_scaffold(m) for m in mols]
    assert scaffolds_shared(split, scaffolds) == set()
    assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(len(SMILES)))
    # the detector itself works: a random split of these molecules shares scaffolds
    assert scaffolds_shared(random_split(len(SMILES), (0.6, 0.2, 0.2), seed=seed), scaffolds)


def test_murcko_scaffold_strips_side_chains():
    assert murcko_scaffold("c1ccccc1CCO") == "c1ccccc1"
    assert murcko_scaffold("CCCC") == ""
    with pytest.raises(ValueError, match="invalid SMILES"):
        murcko_scaffold("C1CC")


def test_fingerprints_and_descriptors_have_the_promised_shapes():
    mols = [parse_smiles(s) for s in SMILES[:4]]
    fp = morgan_fingerprints(mols, n_bits=512)
    assert fp.shape == (4, 512) and fp.dtype == np.uint8 and set(np.unique(fp)) <= {0, 1}
    assert not np.array_equal(fp[1], fp[2])
    desc = rdkit_descriptors(mols)
    assert desc.shape[0] == 4 and "MolLogP" in desc.columns and np.isfinite(desc.to_numpy()).all()
    assert desc.loc[3, "NumHDonors"] == 0 and desc.loc[1, "NumHDonors"] == 1
    with pytest.raises(TypeError, match="RDKit Mol"):
        morgan_fingerprints(["CCO"])


def _random_graph_batch(seed: int = 0) -> Batch:
    graphs = [smiles_to_graph(s) for s in SMILES[:6]]
    return Batch.from_data_list(graphs)


def test_scratch_gine_layer_matches_pyg():
    torch.manual_seed(0)
    batch = _random_graph_batch()
    hidden = 16
    x = torch.randn(batch.num_nodes, hidden)
    mlp = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 8))
    pyg = GINEConv(mlp, edge_dim=BOND_DIM, train_eps=True)
    with torch.no_grad():
        pyg.eps.fill_(0.37)
    scratch = ScratchGINEConv.from_pyg(pyg)
    expected = pyg(x, batch.edge_index, batch.edge_attr)
    got = scratch(x, batch.edge_index, batch.edge_attr)
    assert got.shape == (batch.num_nodes, 8)
    assert torch.allclose(got, expected, atol=1e-5)
    # the check can fail: dropping the bond term changes the result
    with torch.no_grad():
        scratch.edge_lin.weight.add_(1.0)
    assert not torch.allclose(scratch(x, batch.edge_index, batch.edge_attr), expected, atol=1e-3)


def test_scratch_readouts_match_pyg_pooling():
    batch = _random_graph_batch()
    h = torch.randn(batch.num_nodes, 5)
    n = batch.num_graphs
    assert torch.allclose(sum_readout(h, batch.batch, n), global_add_pool(h, batch.batch, n), atol=1e-5)
    assert torch.allclose(mean_readout(h, batch.batch, n), global_mean_pool(h, batch.batch, n), atol=1e-5)


def test_scratch_layer_rejects_bad_graphs():
    layer = ScratchGINEConv(torch.nn.Identity(), 4, BOND_DIM)
    with pytest.raises(ValueError, match="outside x"):
        layer(torch.zeros(2, 4), torch.tensor([[0], [5]]), torch.zeros(1, BOND_DIM))
    with pytest.raises(TypeError, match="int64"):
        layer(torch.zeros(2, 4), torch.tensor([[0.0], [1.0]]), torch.zeros(1, BOND_DIM))


@pytest.mark.parametrize("kind,n_descriptors", [("gcn", 0), ("gine", 0), ("gine", 3)])
def test_models_train_deterministically_and_outputs_are_per_graph(kind, n_descriptors):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    result = featurize(SMILES, targets=rng.normal(-2, 1, len(SMILES)), verbose=False)
    graphs = result.graphs
    stats = None
    if n_descriptors:
        desc = rng.normal(size=(len(graphs), n_descriptors))
        graphs = attach_descriptors(graphs, desc)
        stats = (desc[:16].mean(0), desc[:16].std(0))
    runs = [train_gnn(kind, graphs[:16], graphs[16:20], seed=3, epochs=3, batch_size=8, hidden=16, layers=2,
                      n_descriptors=n_descriptors, descriptor_stats=stats) for _ in range(2)]
    first, second = (predict_graphs(model, graphs[20:]) for model, _ in runs)
    assert first.shape == (4,) and np.all(np.isfinite(first))
    assert np.array_equal(first, second), "same seed must give the same model"
    assert runs[0][1].epochs == 3 and np.isfinite(runs[0][1].val_metric).all()


def test_model_rejects_bad_configuration():
    with pytest.raises(ValueError, match="kind"):
        MoleculeGNN("transformer")
    with pytest.raises(ValueError, match="descriptor_mean"):
        MoleculeGNN("gine", n_descriptors=4)


def test_integrated_gradients_are_complete_and_drawable():
    torch.manual_seed(0)
    model = MoleculeGNN("gine", hidden=16, layers=2).eval()
    graph = smiles_to_graph("c1ccccc1CCO")
    attributions, prediction, baseline = integrated_gradients(model, graph, steps=64)
    assert attributions.shape == (graph.num_nodes,)
    # completeness: attributions add up to the change of the prediction from the baseline
    assert abs(attributions.sum() - (prediction - baseline)) < 0.05 * max(1.0, abs(prediction - baseline))
    image = attribution_image(parse_smiles("c1ccccc1CCO"), attributions, legend="test")
    assert image.size == (300, 260)
    with pytest.raises(ValueError, match="shape"):
        attribution_image(parse_smiles("CCO"), attributions)
    assert molecule_grid([parse_smiles(s) for s in SMILES[:3]], legends=["a", "b", "c"], per_row=3).size == (660, 180)
