"""Unit tests of course_lib.imaging.transfer (notebook 07): fast, no real data needed."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from course_test_data import image_arrays  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.data.readers import BREASTMNIST_SIZES  # noqa: E402
from course_lib.imaging import CompactCNN, make_loader  # noqa: E402
from course_lib.imaging.transfer import (  # noqa: E402
    BREAST_CLASS_NAMES,
    curve_epochs,
    load_breastmnist,
    penultimate_features,
    plot_learning_curve,
    plot_transfer_diagram,
    set_trainable,
    train_for_epochs,
    transfer_weights,
)

torch.set_num_threads(1)
NOTEBOOK_07 = Path(__file__).resolve().parent.parent / "notebooks" / "07_small_data.ipynb"


def _trained_like(seed: int) -> CompactCNN:
    """A CompactCNN whose every parameter and batch-norm buffer differs from a fresh one's."""
    torch.manual_seed(seed)
    model = CompactCNN()
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.add_(torch.rand_like(value) + 0.5)   # shift every entry by 0.5..1.5
            else:
                value.add_(7)                              # num_batches_tracked
    return model


# ------------------------------------------------------------------------------------ loading
def _write_mirror(folder: Path, arrays: dict) -> Path:
    (folder / "medmnist").mkdir(parents=True)
    np.savez(folder / "medmnist" / "breastmnist.npz", **arrays)
    return folder


def test_load_breastmnist_reads_a_mirror_and_falls_back_to_a_labelled_stand_in(tmp_path):
    mirror = _write_mirror(tmp_path / "mirror", image_arrays(BREASTMNIST_SIZES))
    loaded, data = load_breastmnist(mirrors=[mirror], cache_dir=tmp_path / "cache", offline=True)
    assert loaded.name == "breastmnist" and loaded.provenance == data.provenance == "mirror"
    assert {s: len(data.labels[s]) for s in data.splits} == BREASTMNIST_SIZES
    x, y = data.tensors("train")
    assert x.shape == (546, 1, 28, 28) and y.shape == (546,)
    # normalised with the training statistics: mean 0, std 1 over the training pixels (float32 sums of
    # 428k values: ~1e-6 relative; 1e-4 leaves margin, a wrong statistic is off by ~0.1 or more)
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded, data = load_breastmnist(mirrors=[], cache_dir=tmp_path / "empty", offline=True)
    assert loaded.provenance == data.provenance == "synthetic" and loaded.is_stand_in
    assert "SYNTHETIC" in str(loaded)
    assert {s: len(data.labels[s]) for s in data.splits} == BREASTMNIST_SIZES
    assert BREAST_CLASS_NAMES == ("malignant", "normal or benign")


def test_load_breastmnist_refuses_without_data_unless_allowed(tmp_path):
    from course_lib.data import DataUnavailableError

    with pytest.raises(DataUnavailableError, match="breastmnist"):
        load_breastmnist(allow_fallback=False, mirrors=[], cache_dir=tmp_path / "empty", offline=True)
    with pytest.raises(TypeError, match="allow_fallback"):
        load_breastmnist(allow_fallback="yes")


# ------------------------------------------------------------------------------------ transfer
def test_transfer_weights_copies_everything_but_the_head():
    source = _trained_like(0)
    before = {k: v.clone() for k, v in source.state_dict().items()}
    torch.manual_seed(1)
    target = CompactCNN()
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    copied = transfer_weights(source, target)
    # independent list: every state-dict entry outside the head, in order
    assert copied == [k for k in fresh if not k.startswith("head.")]
    assert any(k.endswith("running_mean") for k in copied) and any(k.endswith("num_batches_tracked") for k in copied)
    after = target.state_dict()
    for key in fresh:
        expected = before[key] if key in copied else fresh[key]
        assert torch.equal(after[key], expected), key          # a copy is exact
    assert all(torch.equal(v, before[k]) for k, v in source.state_dict().items()), "the source was changed"
    # the copy is not shared: training the target leaves the source alone
    with torch.no_grad():
        target.features[0].weight.add_(1.0)
    assert torch.equal(source.features[0].weight, before["features.0.weight"])


def test_transferred_network_computes_the_source_features():
    source = _trained_like(2).eval()
    target = CompactCNN()
    transfer_weights(source, target)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    # the same weights and the same operations in the same order: bit-identical features
    assert np.array_equal(penultimate_features(source, x), penultimate_features(target, x))


def test_transfer_weights_with_more_exclusions_and_errors():
    source, target = _trained_like(3), CompactCNN()
    fresh_first = target.features[0].weight.clone()
    copied = transfer_weights(source, target, exclude=("head.", "features.0."))
    assert not any(k.startswith("features.0.") for k in copied)
    assert torch.equal(target.features[0].weight, fresh_first)
    with pytest.raises(ValueError, match="shape"):
        transfer_weights(CompactCNN(channels=(8, 32, 64)), CompactCNN())
    with pytest.raises(ValueError, match="architectures differ"):
        transfer_weights(CompactCNN(convs_per_stage=(1, 1, 1)), CompactCNN())
    with pytest.raises(ValueError, match="nothing to copy"):
        transfer_weights(source, CompactCNN(), exclude=("",))
    with pytest.raises(TypeError, match="source"):
        transfer_weights("model", CompactCNN())
    with pytest.raises(TypeError, match="target"):
        transfer_weights(CompactCNN(), None)
    with pytest.raises(TypeError, match="exclude"):
        transfer_weights(source, CompactCNN(), exclude="head.")


def test_set_trainable_freezes_a_part_and_counts_its_numbers():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    # by hand: 3 * 2 + 2 = 8 numbers in the first layer, 2 + 1 = 3 in the last
    assert set_trainable(model[0], False) == 8
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    model(torch.ones(5, 3)).sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    assert set_trainable(model, True) == 11
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(TypeError, match="trainable"):
        set_trainable(model, 0)
    with pytest.raises(TypeError, match="module"):
        set_trainable([model], False)


# ------------------------------------------------------------------------------------ training
def _toy_problem(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 2, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).float()
    return x, y


def _toy_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))


def test_train_for_epochs_keeps_the_last_weights_and_matches_a_hand_loop():
    x, y = _toy_problem()
    loss_fn = nn.BCEWithLogitsLoss()
    model = _toy_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loader = make_loader(x, y, batch_size=16, shuffle=True, seed=3)
    val_loader = make_loader(x[:20], y[:20], batch_size=20)
    history = train_for_epochs(model, loader, loss_fn=loss_fn, optimizer=optimizer, epochs=6,
                               val_loader=val_loader, device="cpu")
    assert history.epochs == 6 and len(history.val_loss) == 6 and history.best_epoch == 5
    assert history.train_loss[-1] < history.train_loss[0] and history.seconds > 0
    # the same loop written out, same seed and same batches: the same final weights
    hand = _toy_model()
    hand_optimizer = torch.optim.SGD(hand.parameters(), lr=0.5)
    hand_loader = make_loader(x, y, batch_size=16, shuffle=True, seed=3)   # a fresh loader: the same shuffles
    for _ in range(6):
        for xb, yb in hand_loader:
            loss = loss_fn(hand(xb), yb)
            hand_optimizer.zero_grad()
            loss.backward()
            hand_optimizer.step()
    for ours, theirs in zip(model.parameters(), hand.parameters()):
        assert torch.equal(ours, theirs)
    # the recorded validation loss is the loss of the final weights on the validation images
    with torch.no_grad():
        final = float(loss_fn(model(x[:20]), y[:20]))
    assert math.isclose(history.val_loss[-1], final, rel_tol=1e-6)   # float32: one sum in another order


def test_train_for_epochs_steps_the_scheduler_every_batch():
    x, y = _toy_problem()
    model = _toy_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    loader = make_loader(x, y, batch_size=16)                        # 4 batches per epoch
    history = train_for_epochs(model, loader, loss_fn=nn.BCEWithLogitsLoss(), optimizer=optimizer, epochs=2,
                               scheduler=scheduler, device="cpu")
    assert history.val_loss == [] and math.isnan(history.best_metric)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 8)   # 2 epochs x 4 batches


def test_train_for_epochs_rejects_bad_arguments():
    x, y = _toy_problem()
    model = _toy_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = make_loader(x, y, batch_size=16)
    with pytest.raises(ValueError, match="epochs"):
        train_for_epochs(model, loader, loss_fn=nn.BCEWithLogitsLoss(), optimizer=optimizer, epochs=0)
    with pytest.raises(TypeError, match="optimizer"):
        train_for_epochs(model, loader, loss_fn=nn.BCEWithLogitsLoss(), optimizer="adam", epochs=1)
    with pytest.raises(TypeError, match="loss_fn"):
        train_for_epochs(model, loader, loss_fn=None, optimizer=optimizer, epochs=1)
    with pytest.raises(TypeError, match="model"):
        train_for_epochs("model", loader, loss_fn=nn.BCEWithLogitsLoss(), optimizer=optimizer, epochs=1)
    with pytest.raises(ValueError, match="no batches"):
        train_for_epochs(model, [], loss_fn=nn.BCEWithLogitsLoss(), optimizer=optimizer, epochs=1, device="cpu")


# ------------------------------------------------------------------------------------ features
def test_penultimate_features_feed_the_output_layer():
    model = _trained_like(4).train()
    x = torch.randn(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    features = penultimate_features(model, x, batch_size=3)           # three batches: 3 + 3 + 1
    assert features.shape == (7, 64) and features.dtype == np.float32
    assert model.training, "the model's mode must be restored"
    model.eval()
    with torch.no_grad():
        logits = model(x).numpy()
    linear = model.head[-1]
    by_hand = features @ linear.weight.detach().numpy().T + linear.bias.detach().numpy()
    # float32 dot products of 64 terms of size ~1-10 in another order: ~1e-5 absolute
    np.testing.assert_allclose(by_hand[:, 0], logits, rtol=1e-4, atol=1e-4)
    with pytest.raises(TypeError, match="features"):
        penultimate_features(nn.Linear(3, 1), x)
    with pytest.raises(ValueError, match="x must be"):
        penultimate_features(model, x.numpy())
    with pytest.raises(ValueError, match="batch_size"):
        penultimate_features(model, x, batch_size=0)


@pytest.mark.parametrize("epochs, fraction, expected", [(20, 1.0, 20), (20, 0.5, 28), (20, 0.25, 40),
                                                        (20, 0.1, 63), (1, 0.01, 10)])
def test_curve_epochs(epochs, fraction, expected):
    # by hand: 20 / sqrt(0.5) = 28.28, 20 / 0.5 = 40, 20 / sqrt(0.1) = 63.2, 1 / 0.1 = 10
    assert curve_epochs(epochs, fraction) == expected


@pytest.mark.parametrize("epochs, fraction, name", [(0, 0.5, "epochs"), (2.5, 0.5, "epochs"), (True, 0.5, "epochs"),
                                                    (10, 0.0, "fraction"), (10, 1.5, "fraction"),
                                                    (10, "half", "fraction")])
def test_curve_epochs_rejects_bad_arguments(epochs, fraction, name):
    with pytest.raises(ValueError, match=name):
        curve_epochs(epochs, fraction)


# ------------------------------------------------------------------------------------ figures
def test_transfer_diagram_marks_copied_blocks_and_the_new_head():
    figure = plot_transfer_diagram(CompactCNN(), source="chest X-rays", target="ultrasound")
    try:
        (ax,) = figure.axes
        texts = [t.get_text() for t in ax.texts]
        assert "chest X-rays" in texts and "ultrasound" in texts
        assert sum(t.startswith("conv 3×3") for t in texts) == 8          # 4 blocks, drawn in both rows
        assert any("new output layer" in t for t in texts)
        for shape in ("1 × 28 × 28", "16 × 28 × 28", "32 × 14 × 14", "64 × 7 × 7", "64", "1"):
            assert shape in texts, shape
        # arrows: 9 stages per row (input, 4 conv blocks, 2 pools, pooling, output) -> 8 between stages
        # in each row, plus one down-arrow per copied conv block
        arrows = [p for p in ax.patches if p.__class__.__name__ == "FancyArrowPatch"]
        assert len(arrows) == 2 * 8 + 4
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="source"):
        plot_transfer_diagram(CompactCNN(), source=" ")
    with pytest.raises(TypeError, match="model"):
        plot_transfer_diagram("cnn")


def test_learning_curve_plot_draws_one_line_per_model():
    summary = pd.DataFrame({"model": ["a", "a", "b", "b"], "images": [55, 546, 55, 546],
                            "mean": [0.7, 0.9, 0.75, 0.8], "std": [0.05, 0.01, 0.02, 0.0]})
    ax = plot_learning_curve(summary, title="curve")
    try:
        assert ax.get_xscale() == "log" and ax.get_title() == "curve"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["55", "546"]
        data_lines = [container.lines[0] for container in ax.containers]   # one errorbar container per model
        assert [list(line.get_xdata()) for line in data_lines] == [[55, 546], [55, 546]]
        assert [list(line.get_ydata()) for line in data_lines] == [[0.7, 0.9], [0.75, 0.8]]
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="images"):
        plot_learning_curve(summary.drop(columns="images"))
    with pytest.raises(ValueError, match="no rows"):
        plot_learning_curve(summary.iloc[:0])
    with pytest.raises(TypeError, match="DataFrame"):
        plot_learning_curve(summary.to_dict())


# ------------------------------------------------------------------ the notebook's from-scratch cell
def _notebook_cell(marker: str) -> dict:
    """Execute notebook 07's code cell that starts with ``# from-scratch: <marker>``; its namespace."""
    cells = json.loads(NOTEBOOK_07.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells
               if c["cell_type"] == "code" and "".join(c["source"]).startswith(f"# from-scratch: {marker}\n")]
    assert len(sources) == 1, f"notebook 07 must have exactly one cell marked '# from-scratch: {marker}'"
    namespace = {"torch": torch, "nn": nn, "np": np}
    exec(compile(sources[0], f"{NOTEBOOK_07.name}[{marker}]", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not NOTEBOOK_07.is_file(), reason="notebook 07 not written yet")
def test_notebook_transfer_by_hand_agrees_with_course_lib():
    copy_by_hand = _notebook_cell("transfer_weights")["copy_weights_by_hand"]
    source = _trained_like(5)
    torch.manual_seed(6)
    ours, library = CompactCNN(), CompactCNN()
    library.load_state_dict(ours.state_dict())
    copied_by_hand = copy_by_hand(source, ours)
    copied = transfer_weights(source, library)
    assert sorted(copied_by_hand) == sorted(copied)
    for key, value in library.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key          # copies are exact


# ------------------------------------------------------------------ notebook 07's exercise checks: their references
def test_the_verdict_reference_of_exercise_2_agrees_with_course_lib():
    from course_lib.checks.small_data import reference_verdict
    from course_lib.verdicts import seed_verdict

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(3, 7))
        b = rng.uniform(0.7, 0.9, size=n)
        a = b + rng.normal(rng.normal(0, 0.01), rng.uniform(0.001, 0.02), size=n)
        expected = seed_verdict("a", a, "b", b, metric="AUC").winner or "no clear winner"
        assert reference_verdict(a, b) == expected


def test_the_paired_cases_of_exercise_2_have_the_t_statistic_they_promise():
    from course_lib.checks.small_data import _paired_case

    rng = np.random.default_rng(1)
    for target in (-3.0, 0.5, 2.7, 4.0):
        a, b = _paired_case(rng, 3, target)
        d = a - b
        t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
        assert t == pytest.approx(target, rel=1e-9)                # float64 arithmetic of 3 numbers
        assert np.std(b) > 3 * d.std(ddof=1), "the shared seed effect must dwarf the differences"


def test_the_labels_of_exercise_3_make_floor_and_minimum_matter():
    from course_lib.checks.small_data import _expected_counts, _labels_case

    rng = np.random.default_rng(2)
    for _ in range(100):
        labels, fraction = _labels_case(rng)
        sizes = np.bincount(labels)
        assert round(fraction * sizes[-1]) == 0 and _expected_counts(labels, fraction)[len(sizes) - 1] == 1
        assert any(round(fraction * n) != math.floor(fraction * n) for n in sizes)
