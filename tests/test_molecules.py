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
    assert [float(g.y) for g in result.graphs] == [1.0, 4.0]  # exact: small integers are exact in float32
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
    # float32, from-scratch GINE vs PyG: the same <= 4 messages per atom are summed, possibly in
    # another order (scatter-add order can change with the thread count and SIMD kernel), then the
    # same MLP: a few ulps (~1e-7 relative); 1e-5 of the output scale leaves a wide margin
    assert torch.allclose(got, expected, rtol=0, atol=1e-5 * max(1.0, expected.abs().max().item()))
    # the check can fail: dropping the bond term changes the result
    with torch.no_grad():
        scratch.edge_lin.weight.add_(1.0)
    assert not torch.allclose(scratch(x, batch.edge_index, batch.edge_attr), expected, atol=1e-3)


def test_scratch_readouts_match_pyg_pooling():
    batch = _random_graph_batch()
    h = torch.randn(batch.num_nodes, 5)
    n = batch.num_graphs
    # float32 sums of <= 12 rows of randn, possibly in another order: ~1e-6 absolute at most
    assert torch.allclose(sum_readout(h, batch.batch, n), global_add_pool(h, batch.batch, n), atol=1e-5)
    assert torch.allclose(mean_readout(h, batch.batch, n), global_mean_pool(h, batch.batch, n), atol=1e-5)


def test_scratch_layer_rejects_bad_graphs():
    layer = ScratchGINEConv(torch.nn.Identity(), 4, BOND_DIM)
    with pytest.raises(ValueError, match="outside x"):
        layer(torch.zeros(2, 4), torch.tensor([[0], [5]]), torch.zeros(1, BOND_DIM))
    with pytest.raises(TypeError, match="int64"):
        layer(torch.zeros(2, 4), torch.tensor([[0.0], [1.0]]), torch.zeros(1, BOND_DIM))


@pytest.mark.parametrize("kind,n_descriptors", [("gcn", 0), ("gine", 0), ("gine", 3)])
def test_models_train_deterministically_and_outputs_are_per_graph(kind, n_descriptors, one_torch_thread):
    rng = np.random.default_rng(0)
    result = featurize(SMILES, targets=rng.normal(-2, 1, len(SMILES)), verbose=False)
    graphs = result.graphs
    stats = None
    if n_descriptors:
        desc = rng.normal(size=(len(graphs), n_descriptors))
        graphs = attach_descriptors(graphs, desc)
        stats = (desc[:16].mean(0), desc[:16].std(0))
    runs = [train_gnn(kind, graphs[:16], graphs[16:20], seed=seed, epochs=3, batch_size=8, hidden=16, layers=2,
                      n_descriptors=n_descriptors, descriptor_stats=stats) for seed in (3, 3, 4)]
    first, second, other_seed = (predict_graphs(model, graphs[20:]) for model, _ in runs)
    assert first.shape == (4,) and np.all(np.isfinite(first))
    # Same seed, same code path, same thread count, one process: bitwise equal (torch's CPU kernels
    # are deterministic at a fixed thread count). Across thread counts or CPUs the float32 summation
    # order changes and training amplifies it (up to ~1e-2 after these 3 epochs), so no test
    # compares trained numbers across processes.
    assert np.array_equal(first, second), "same seed must give the same model"
    # ...and the seed matters: another seed moves the predictions by 0.1-0.6 here, far above that noise
    assert np.abs(first - other_seed).max() > 0.05
    assert runs[0][1].epochs == 3 and np.isfinite(runs[0][1].val_metric).all()


def test_model_rejects_bad_configuration():
    with pytest.raises(ValueError, match="kind"):
        MoleculeGNN("transformer")
    with pytest.raises(ValueError, match="descriptor_mean"):
        MoleculeGNN("gine", n_descriptors=4)


class _LinearGraphModel(torch.nn.Module):
    """Sum over atoms of a linear map of the atom features: F(α) is linear, so IG is exact."""

    n_descriptors = 0

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(ATOM_DIM, 1)

    def forward(self, x, edge_index, edge_attr, batch, descriptors=None):
        return global_add_pool(self.lin(x), batch).squeeze(1)


def test_integrated_gradients_of_a_linear_model_are_exact():
    torch.manual_seed(0)
    model = _LinearGraphModel()
    graph = smiles_to_graph("c1ccccc1CCO")
    result = integrated_gradients(model, graph, steps=3)
    assert result.atoms.shape == (graph.num_nodes,)
    # float64 and F' constant along the path: any rule is exact up to rounding of a few dozen terms (~1e-15)
    assert abs(result.completeness_error) <= 1e-9 * max(1.0, abs(result.gap))
    assert result.error_bound <= 1e-9
    # each atom gets exactly w·x_atom (the bias is in the baseline's prediction too)
    per_atom = (graph.x.double() @ model.lin.weight.detach().double().T).squeeze(1).numpy()
    assert np.allclose(result.atoms, per_atom, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["riemann_middle", "gausslegendre"])
@pytest.mark.parametrize("smiles", ["c1ccccc1CCO", "CC(=O)Nc1ccc(O)cc1", "ClC(Cl)(Cl)Cl"])
def test_integrated_gradients_match_captum_and_are_complete_within_the_bound(method, smiles):
    from captum.attr import IntegratedGradients

    from course_lib.molecules import fixed_graph_forward

    torch.manual_seed(0)
    model = MoleculeGNN("gine", hidden=16, layers=2).eval()
    graph = smiles_to_graph(smiles)
    ours = integrated_gradients(model, graph, steps=64, method=method)
    assert ours.atoms.shape == (graph.num_nodes,) and ours.features.shape == tuple(graph.x.shape)
    assert ours.steps == 64 and np.isclose(ours.weights.sum(), 1.0, rtol=0, atol=1e-12)
    x = graph.x.double().unsqueeze(0)
    theirs = IntegratedGradients(fixed_graph_forward(model, graph)).attribute(
        x, baselines=torch.zeros_like(x), n_steps=64, method=method, internal_batch_size=64)
    scale = max(1.0, float(np.abs(ours.features).max()))
    # both float64 on the same nodes; captum rounds its quadrature weights (and midpoint nodes) to
    # float32, ~6e-8 relative each: 1e-6 of the attribution scale leaves margin
    assert np.abs(theirs[0].detach().numpy() - ours.features).max() <= 1e-6 * scale
    # completeness within the rule's own error bound: (h/2)·TV(F') for the midpoint rule on a piecewise
    # linear path, doubled for variation between samples (see course_lib.molecules.attribution)
    assert abs(ours.completeness_error) <= ours.error_bound + 1e-9 * max(1.0, abs(ours.gap))
    # the check can fail: attributions without the (x - baseline) factor do not add up
    assert abs(ours.features.sum() / 2 - ours.gap) > ours.error_bound


def test_integrated_gradients_converge_with_more_steps_and_leave_the_model_alone():
    torch.manual_seed(1)
    model = MoleculeGNN("gine", hidden=16, layers=2).eval()
    before = [p.detach().clone() for p in model.parameters()]
    graph = smiles_to_graph("CC(=O)Nc1ccc(O)cc1")
    coarse, fine = (integrated_gradients(model, graph, steps=n) for n in (4, 512))
    assert fine.error_bound < coarse.error_bound
    assert abs(fine.completeness_error) <= fine.error_bound + 1e-9
    assert all(p.dtype == torch.float32 and torch.equal(p, q) for p, q in zip(model.parameters(), before))
    # the float64 copy predicts what the float32 model predicts, up to float32 rounding (~1e-6 relative)
    assert abs(fine.prediction - float(predict_graphs(model, [graph])[0])) <= 1e-4 * max(1.0, abs(fine.prediction))


def test_integrated_gradients_of_the_hybrid_keep_descriptors_fixed():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = MoleculeGNN("gine", hidden=16, layers=2, n_descriptors=3, descriptor_mean=np.zeros(3),
                        descriptor_std=np.ones(3)).eval()
    graph = attach_descriptors([smiles_to_graph("c1ccccc1O")], rng.normal(size=(1, 3)))[0]
    result = integrated_gradients(model, graph, steps=128)
    assert abs(result.completeness_error) <= result.error_bound + 1e-9
    with pytest.raises(ValueError, match="descriptors"):
        integrated_gradients(model, smiles_to_graph("c1ccccc1O"), steps=8)


def test_integrated_gradients_reject_bad_arguments():
    model = MoleculeGNN("gine", hidden=8, layers=1)
    graph = smiles_to_graph("CCO")
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(model, graph, steps=1)
    with pytest.raises(ValueError, match="method"):
        integrated_gradients(model, graph, method="simpson")
    with pytest.raises(TypeError, match="Data"):
        integrated_gradients(model, graph.x)


def test_attributions_are_drawable():
    torch.manual_seed(0)
    model = MoleculeGNN("gine", hidden=16, layers=2).eval()
    attributions = integrated_gradients(model, smiles_to_graph("c1ccccc1CCO"), steps=16).atoms
    image = attribution_image(parse_smiles("c1ccccc1CCO"), attributions, legend="test")
    assert image.size == (300, 260)
    with pytest.raises(ValueError, match="shape"):
        attribution_image(parse_smiles("CCO"), attributions)
    grid = molecule_grid([parse_smiles(s) for s in SMILES[:3]], legends=["a", "b", "c"], per_row=3)
    assert grid.size == (660, 180)


# ------------------------------------------------------------------ notebook 05's from-scratch cells and figure
def _notebook_cell(marker: str) -> dict:
    """Execute the notebook 05 code cell that starts with ``marker`` and return its namespace."""
    import nbformat

    from course_lib.environment import repository_root

    notebook = nbformat.read(repository_root() / "notebooks" / "05_gnn_molecules.ipynb", as_version=4)
    sources = [cell.source for cell in notebook.cells
               if cell.cell_type == "code" and cell.source.lstrip().startswith(marker)]
    assert len(sources) == 1, f"exactly one notebook cell must start with {marker!r}"
    namespace: dict = {}
    exec(compile(sources[0], f"05_gnn_molecules:{marker}", "exec"), namespace)
    return namespace


def test_the_notebooks_message_passing_layer_agrees_with_course_lib_and_pyg():
    from torch_geometric.nn import GraphConv

    from course_lib.molecules import scatter_sum

    layer = _notebook_cell("# from-scratch: message passing")["message_passing_layer"]
    torch.manual_seed(0)
    batch = _random_graph_batch()
    h = torch.randn(batch.num_nodes, 5)
    W_self, W_neigh, b = torch.randn(5, 3), torch.randn(5, 3), torch.randn(3)
    got, m = layer(h, batch.edge_index, W_self, W_neigh, b)
    source, target = batch.edge_index
    aggregated = scatter_sum(h[source], target, batch.num_nodes)
    conv = GraphConv(5, 3, aggr="add")
    with torch.no_grad():
        conv.lin_root.weight.copy_(W_self.T)
        conv.lin_rel.weight.copy_(W_neigh.T)
        conv.lin_rel.bias.copy_(b)
    # float32: <= 4 neighbours summed in possibly another order, then 5-term products: a few ulps
    # (~1e-7 relative); 1e-5 of the output scale leaves a wide margin for other CPUs' kernels
    tolerance = 1e-5 * max(1.0, got.abs().max().item())
    assert torch.allclose(m, aggregated, rtol=0, atol=tolerance)
    assert torch.allclose(got, torch.relu(h @ W_self + aggregated @ W_neigh + b), rtol=0, atol=tolerance)
    assert torch.allclose(got, torch.relu(conv(h, batch.edge_index)), rtol=0, atol=tolerance)
    # the comparison can fail: a mean instead of a sum is far off
    degree = scatter_sum(torch.ones(len(target), 1), target, batch.num_nodes).clamp(min=1)
    assert not torch.allclose(got, torch.relu(h @ W_self + aggregated / degree @ W_neigh + b), atol=1e-3)


def test_the_notebooks_acetic_acid_numbers_are_what_a_hand_computation_gives():
    layer = _notebook_cell("# from-scratch: message passing")["message_passing_layer"]
    toy = smiles_to_graph("CC(=O)O")
    h = torch.tensor([[1, 0, 3], [1, 0, 0], [0, 1, 0], [0, 1, 1]], dtype=torch.float32)  # C0 C1 O2 O3
    new, m = layer(h, toy.edge_index, torch.eye(3), 0.5 * torch.eye(3), torch.tensor([0.0, 0.0, -0.5]))
    # exact: every value is a multiple of 1/2, which float32 represents exactly
    assert torch.equal(m, torch.tensor([[1.0, 0, 0], [1, 2, 4], [1, 0, 0], [1, 0, 0]]))
    assert torch.equal(new, torch.tensor([[1.5, 0, 2.5], [1.5, 1, 1.5], [0.5, 1, 0], [0.5, 1, 0.5]]))


def test_the_notebooks_gine_layer_agrees_with_course_lib_and_pyg():
    import copy

    gine_layer = _notebook_cell("# from-scratch: GINE")["gine_layer"]
    torch.manual_seed(1)
    batch = _random_graph_batch()
    h = torch.randn(batch.num_nodes, 8)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6))
    pyg = GINEConv(mlp, edge_dim=BOND_DIM, train_eps=True)
    with torch.no_grad():
        pyg.eps.fill_(-0.2)
    library = ScratchGINEConv.from_pyg(pyg)
    edge_lin = torch.nn.Linear(BOND_DIM, 8)
    edge_lin.load_state_dict(pyg.lin.state_dict())
    got = gine_layer(h, batch.edge_index, batch.edge_attr, edge_lin, copy.deepcopy(pyg.nn), pyg.eps.item())
    expected = library(h, batch.edge_index, batch.edge_attr)
    # float32, the same operations in possibly another summation order: a few ulps; 1e-5 of the scale
    tolerance = 1e-5 * max(1.0, expected.abs().max().item())
    assert got.shape == (batch.num_nodes, 6)
    assert torch.allclose(got, expected, rtol=0, atol=tolerance)
    assert torch.allclose(got, pyg(h, batch.edge_index, batch.edge_attr), rtol=0, atol=tolerance)


def test_message_passing_figure_draws_atoms_messages_and_the_aggregated_sum():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyArrowPatch

    from course_lib.molecules import message_passing_figure

    features = np.array([[1, 0, 3], [1, 0, 0], [0, 1, 0], [0, 1, 1]])
    fig = message_passing_figure("CC(=O)O", features=features, receiver=1)
    try:
        assert isinstance(fig, Figure) and len(fig.axes) == 3
        messages, aggregation, update = fig.axes
        texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]
        for label in ("C0", "C1", "O2", "O3"):
            assert label in texts, f"atom {label} is not labelled"
        arrows = lambda ax: [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows(messages)) == 6, "3 bonds, one message arrow per direction"
        assert len(arrows(aggregation)) == 3, "C1 receives 3 messages"
        assert sum(isinstance(p, Circle) for p in messages.patches) == 4
        joined = "\n".join(texts)
        assert "m1 = h0 + h2 + h3" in joined and "[1, 2, 4]" in joined, "the aggregated sum is written out"
        assert "messages" in joined and "aggregation" in joined and "update" in joined
    finally:
        plt.close(fig)
    default = message_passing_figure("c1ccccc1O")           # receiver: the ring carbon with three neighbours
    try:
        assert "aggregation at C5" in default.axes[1].get_title()
    finally:
        plt.close(default)
    with pytest.raises(ValueError, match="at least two atoms"):
        message_passing_figure("C")
    with pytest.raises(ValueError, match="features must have shape"):
        message_passing_figure("CCO", features=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="receiver"):
        message_passing_figure("CCO", receiver=3)
