"""The self-checks of notebook 05's exercises (see :mod:`course_lib.checks` for the protocol).

Each check builds its inputs from :func:`~course_lib.checks._common.fresh_rng` (a new seed on every
run, named in every failure message) plus fixed edge cases that separate the wrong answers learners
are likely to write; ``tests/exercise_cases/molecules.py`` lists those wrong answers.

- :func:`check_mean_readout` — Exercise 1, ``my_mean_readout(h, batch, n_graphs)``.
- :func:`check_seen_fraction` — Exercise 2, ``seen_fraction(train_scaffolds, val_scaffolds)``.
- :func:`check_alkane_predictions` — Exercise 3, ``alkane_predictions(model, n_carbons)``.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code, seed_note

#: Library poolings that compute the mean readout for you (by name: PyG's, torch_scatter's, course_lib's).
MEAN_POOLINGS = ("global_mean_pool", "mean_readout", "scatter_mean", "MeanAggregation", "avg_pool_x")


def _mean_readout_inputs(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, int]:
    """A batch of 3-8 molecules of different sizes (always one single-atom molecule and one of 7+
    atoms, so a division by the wrong count shows), sorted graph ids as PyG makes them."""
    n_graphs = int(rng.integers(3, 9))
    sizes = rng.integers(2, 13, size=n_graphs)
    sizes[rng.integers(n_graphs)] = 1                       # methane-like: one atom, mean = the row itself
    sizes[(np.argmax(sizes == 1) + 1) % n_graphs] = int(rng.integers(7, 13))
    batch = torch.as_tensor(np.repeat(np.arange(n_graphs), sizes), dtype=torch.long)
    width = int(rng.integers(2, 7))
    h = torch.as_tensor(rng.normal(rng.uniform(-2, 2), 1.0, size=(int(sizes.sum()), width)), dtype=torch.float32)
    return h, batch, n_graphs


def check_mean_readout(my_mean_readout, *, seed=None) -> str:
    """Check ``my_mean_readout(h, batch, n_graphs)``: the mean of the rows of ``h`` (n_atoms, F, float32)
    that belong to each graph (``batch[i]`` = graph of atom ``i``), shape (n_graphs, F).

    Known wrong answers it separates: the sum (no division), dividing by the number of graphs or by
    all atoms, an off-by-one count, the mean over the whole batch, changing ``h`` in place, and
    calling a library pooling (PyG's ``global_mean_pool``, course_lib's ``mean_readout``).
    """
    require_own_code(my_mean_readout, *MEAN_POOLINGS)
    rng, seed = fresh_rng(seed)
    h, batch, n_graphs = _mean_readout_inputs(rng)
    before = h.clone()
    answer = my_mean_readout(h, batch, n_graphs)
    if answer is None:
        raise NotImplementedError("my_mean_readout returned None: complete it and re-run")
    expect(torch.equal(h, before), "my_mean_readout changed h in place; compute into a new tensor", seed)
    counts = np.bincount(batch.numpy(), minlength=n_graphs)[:, None]
    expected = np.zeros((n_graphs, h.shape[1]))
    np.add.at(expected, batch.numpy(), h.double().numpy())
    expected /= counts
    # float32 sums of <= 12 rows of O(1) values, in any order, then one division: a few ulps
    # (~1e-7 relative); rtol 1e-5 / atol 1e-6 leave margin, an off-by-one count is off by >= 8 %.
    assert_close(answer, expected, rtol=1e-5, atol=1e-6,
                 what=f"my_mean_readout(h, batch, {n_graphs}) for molecules of {counts.ravel().tolist()} atoms",
                 seed=seed)
    return "it matches the per-molecule mean on a fresh batch."


#: A hand-made case on which every known wrong answer gives another number than the right one (3/5):
#: distinct scaffolds 2/3, acyclic skipped 1/3, acyclic never seen 1/5, roles swapped 3/4, unseen 2/5,
#: divided by the training size 3/4, a percentage 60, a count 3.
FIXED_SCAFFOLDS = (["", "c1ccccc1", "c1ccccc1", "C1CCCCC1"], ["", "", "c1ccccc1", "c1ccncc1", "c1ccncc1"])


def _scaffold_lists(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Training and validation scaffold lists drawn from a pool of ring systems plus acyclic molecules
    (scaffold ``""``), with repeated scaffolds on both sides, so that counting distinct scaffolds,
    skipping acyclic molecules or swapping the two roles each give another number."""
    pool = ["c1ccccc1", "c1ccncc1", "C1CCCCC1", "c1ccc2ccccc2c1", "c1ccsc1", "C1CCOC1", "c1ccc(-c2ccccc2)cc1",
            "O=C1CCCCC1", "c1cc[nH]c1", "C1CCNCC1", "c1ccc2[nH]ccc2c1", "C1CC1"]
    weights = rng.dirichlet(np.full(len(pool), 0.7))
    n_train, n_val = int(rng.integers(30, 60)), int(rng.integers(8, 25))   # never the same size
    train = [pool[i] for i in rng.choice(len(pool), size=n_train, p=weights)]
    val = [pool[i] for i in rng.choice(len(pool), size=n_val, p=weights)]
    unseen = [s for s in pool if s not in train]
    train[: 2] = ["", ""]                          # acyclic molecules train, and ...
    val[: 3] = ["", "", unseen[0] if unseen else "C1CCCCCCCCC1"]  # ... validate: they count as seen
    val.append("C1CCCCCCCC1")                      # a scaffold only the validation part has
    if len(val) % 2 == 0:                          # an odd count: the unseen fraction never equals the seen one
        val.append("")
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def check_seen_fraction(seen_fraction, *, seed=None) -> str:
    """Check ``seen_fraction(train_scaffolds, val_scaffolds)``: the fraction (0-1) of validation
    *molecules* whose scaffold occurs among the training molecules' scaffolds; the empty scaffold
    ``""`` of acyclic molecules counts like any other.

    Known wrong answers it separates: a percentage, counting distinct scaffolds instead of molecules,
    skipping acyclic molecules, the roles of train and validation swapped, the complement (unseen
    fraction), and dividing by the training size.
    """
    require_own_code(seen_fraction, "scaffolds_shared")
    rng, seed = fresh_rng(seed)
    for train, val in (FIXED_SCAFFOLDS, _scaffold_lists(rng)):
        train_copy, val_copy = list(train), list(val)
        answer = seen_fraction(train, val)
        if answer is None:
            raise NotImplementedError("seen_fraction returned None: complete it and re-run")
        expect(train == train_copy and val == val_copy, "seen_fraction changed its input lists", seed)
        expect(np.ndim(answer) == 0, f"return one number (a fraction), got {type(answer).__name__}", seed)
        known = set(train)
        expected = sum(s in known for s in val) / len(val)
        # a ratio of two small integer counts in float64: any correct way of dividing agrees to ~1e-16;
        # 1e-9 allows float32, while the wrong answers differ by more than 1/len(val) >= 0.03.
        assert_close(float(answer), expected, rtol=0, atol=1e-9,
                     what=f"seen_fraction(train_scaffolds={train if len(train) < 6 else f'<{len(train)} scaffolds>'}, "
                          f"val_scaffolds={val if len(val) < 6 else f'<{len(val)} scaffolds>'})", seed=seed)
    return "it counts validation molecules whose scaffold occurs in training."


#: The tiny network the alkane check predicts with (fast; BatchNorm and dropout make train mode differ).
_CHECK_MODEL = dict(kind="gine", hidden=8, layers=2, dropout=0.5)


#: Chain lengths the check may ask for, and the smallest gap between neighbouring lengths' predictions
#: that lets a chain one carbon short fail the 1e-4 tolerance below by a wide margin.
_CHAIN_LENGTHS = range(1, 13)
_MIN_GAP = 1e-2


def _distinguishing_model(rng: np.random.Generator, seed: int):
    """A small random GINE network (seeded by ``seed``) whose predictions differ by at least ``_MIN_GAP``
    between every two neighbouring chain lengths. Some initialisations have dead ReLUs and predict the
    same value for a run of lengths (seed 766: constant from 5 to 11 carbons), which would let a chain one
    carbon short pass; such a draw is replaced by the next one, so the result is still fixed by ``seed``."""
    from course_lib.molecules import MoleculeGNN, featurize, predict_graphs

    chains = featurize(["C" * n for n in _CHAIN_LENGTHS], verbose=False).graphs
    for attempt in range(100):
        with torch.random.fork_rng(devices=[]):          # leave the notebook's torch RNG untouched
            torch.manual_seed(seed + 1_000_003 * attempt)
            model = MoleculeGNN(**_CHECK_MODEL, target_mean=float(rng.uniform(-4, 0)), target_std=2.0)
        if np.min(np.abs(np.diff(predict_graphs(model, chains)))) >= _MIN_GAP:
            return model
    raise RuntimeError(f"no random check model separates neighbouring chain lengths (seed {seed}); "
                       "report this as a bug in course_lib.checks.molecules")


def check_alkane_predictions(alkane_predictions, *, seed=None) -> str:
    """Check ``alkane_predictions(model, n_carbons)``: the predictions of ``model`` for the straight-chain
    alkanes with the given numbers of carbons (1 = methane ``"C"``, 2 = ethane ``"CC"``, ...), in the
    order given, as a 1-D array; the model must be left as it was (no training).

    The check builds its own small, randomly initialised GINE network (seeded) and random chain lengths,
    including methane (a one-atom graph without bonds) and lengths out of order, and compares with
    :func:`course_lib.molecules.predict_graphs`. It judges the learner's code, not the model: whether a
    *trained* model's predictions fall with chain length is what the notebook then shows.

    Known wrong answers it separates: chains one carbon short, lengths sorted instead of in the given
    order, predicting in training mode (dropout and BatchNorm active), using a global ``model``
    instead of the argument, and returning a list of tensors of the wrong shape.
    """
    from course_lib.molecules import featurize, predict_graphs

    rng, seed = fresh_rng(seed)
    model = _distinguishing_model(rng, seed)
    longer = rng.choice(np.arange(2, _CHAIN_LENGTHS.stop), size=int(rng.integers(3, 7)), replace=False)
    n_carbons = [1] + [int(n) for n in longer]
    rng.shuffle(n_carbons)
    if n_carbons == sorted(n_carbons):
        n_carbons.reverse()
    expected = predict_graphs(model, featurize(["C" * n for n in n_carbons], verbose=False).graphs)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()                                        # as a model fresh from training would be
    answer = alkane_predictions(model, list(n_carbons))
    if answer is None:
        raise NotImplementedError("alkane_predictions returned None: complete it and re-run")
    expect(all(torch.equal(state[k], v) for k, v in model.state_dict().items()),
           "alkane_predictions changed the model's weights or statistics; only predict", seed)
    if isinstance(answer, (list, tuple)):
        try:                                             # a list of floats or one-number tensors is fine
            answer = [float(p) for p in answer]
        except (TypeError, ValueError, RuntimeError):
            raise AssertionError(f"return one number per alkane, got a {type(answer).__name__} of "
                                 f"{type(answer[0]).__name__} {seed_note(seed)}") from None
    # float32 forward passes of the same network in evaluation mode; another batching of the molecules
    # changes only the order of the float32 sums (~1e-7 relative of outputs of size ~5); 1e-4 leaves
    # margin, while training mode or a chain one carbon short moves the predictions by far more.
    assert_close(answer, expected, rtol=0, atol=1e-4, what=f"alkane_predictions(model, {n_carbons})", seed=seed)
    return f"it predicts the alkanes with {n_carbons} carbons in the given order with the model it is given."
