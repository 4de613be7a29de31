"""Tests of course_lib.reliability.diagrams: each schematic draws on the given Axes with its labels,
renders, keeps its texts apart, shows computed (not typed-in) toy numbers, and refuses bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from course_lib.reliability.diagrams import (draw_detectors, draw_fairness_pipeline, draw_rollout,  # noqa: E402
                                             draw_sanity_check, draw_shift_vs_ood)

DRAWINGS = [
    (draw_shift_vs_ood, ["training distribution", "shifted distribution", "out-of-distribution", "class 0"]),
    (draw_detectors, ["MSP", "energy", "Mahalanobis", "PCA residual", "isolation forest", "ID score"]),
    (draw_fairness_pipeline, ["group A", "threshold", "per group", "selection rate", "TPR", "bootstrap",
                              "validation"]),
    (draw_rollout, ["[CLS]", "layer 1", "layer 2", "A'_1", "R = A'_2 · A'_1", "0.5 · I"]),
    (draw_sanity_check, ["trained model", "randomised copy", "(random)", "Spearman", "SSIM", "head"]),
]


@pytest.fixture
def ax():
    fig, axes = plt.subplots(figsize=(11, 3.8))
    yield axes
    plt.close(fig)


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


@pytest.mark.parametrize("draw, expected", DRAWINGS)
def test_schematics_draw_their_labels(ax, draw, expected):
    assert draw(ax) is ax
    text = _texts(ax)
    for word in expected:
        assert word in text, word
    assert len(ax.patches) + len(ax.lines) + len(ax.collections) + len(ax.images) > 5
    assert not ax.axison and ax.get_title()
    ax.figure.canvas.draw()                                           # renders without error


@pytest.mark.parametrize("draw", [d for d, _ in DRAWINGS])
def test_schematic_texts_do_not_overlap(ax, draw):
    """No two text labels' rendered boxes intersect (at the figure size the notebooks use), and every
    label stays inside the figure."""
    draw(ax)
    renderer = ax.figure.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text().strip()]
    figure_box = ax.figure.bbox
    for text, box in boxes:
        assert box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1, f"{text!r} leaves the figure"
    for i, (text_a, a) in enumerate(boxes):
        for text_b, b in boxes[i + 1:]:
            assert not a.overlaps(b), f"{text_a!r} overlaps {text_b!r}"


@pytest.mark.parametrize("draw", [draw_detectors, draw_fairness_pipeline, draw_sanity_check])  # the ones with boxes
def test_box_texts_fit_inside_their_boxes(ax, draw):
    """Each rounded box's centred text lies within the box as rendered (1 px slack)."""
    draw(ax)
    renderer = ax.figure.canvas.get_renderer()
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert boxes
    for patch in boxes:
        x, y, w, h = patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()
        inside = [t for t in ax.texts if np.allclose(t.get_position(), (x + w / 2, y + h / 2))]
        assert len(inside) == 1
        text, frame = inside[0].get_window_extent(renderer), patch.get_window_extent(renderer)
        assert frame.x0 - 1 <= text.x0 and text.x1 <= frame.x1 + 1, f"{inside[0].get_text()!r} is too wide"
        assert frame.y0 - 1 <= text.y0 and text.y1 <= frame.y1 + 1, f"{inside[0].get_text()!r} is too tall"


def test_title_can_be_replaced_or_dropped(ax):
    draw_detectors(ax, title=None)
    assert ax.get_title() == ""
    draw_rollout(ax, title="my title")
    assert ax.get_title() == "my title"


def test_rollout_shows_the_product_of_the_mixed_attentions(ax):
    draw_rollout(ax, seed=3)
    a2, a1, product = (np.asarray(image.get_array()) for image in ax.images)
    identity = np.eye(len(a1))
    for matrix in (a1, a2):
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-12)        # rows are distributions
        assert np.all(np.diag(matrix) >= 0.5 - 1e-12)                           # at least the residual half
    np.testing.assert_allclose(product, a2 @ a1, rtol=1e-12)
    assert not np.allclose(product, identity)


def test_seeded_drawings_are_reproducible():
    def offsets(seed):
        fig, ax = plt.subplots()
        draw_shift_vs_ood(ax, seed=seed)
        points = np.concatenate([np.asarray(c.get_offsets()) for c in ax.collections])
        plt.close(fig)
        return points
    np.testing.assert_array_equal(offsets(0), offsets(0))
    assert not np.array_equal(offsets(0), offsets(1))


def test_sanity_check_marks_the_top_layers_random(ax):
    draw_sanity_check(ax, layers=("conv 1", "conv 2", "conv 3", "conv 4", "head", "out"))
    text = _texts(ax)
    assert "head\n(random)" in text and "out\n(random)" in text and "conv 4\n(random)" in text
    assert "conv 3\n(random)" not in text


@pytest.mark.parametrize("call, error, match", [
    (lambda: draw_shift_vs_ood("axes"), TypeError, "ax"),
    (lambda: draw_detectors(None), TypeError, "ax"),
    (lambda: draw_fairness_pipeline(plt.figure()), TypeError, "ax"),
    (lambda: draw_rollout(plt.gca(), tokens=("only",)), ValueError, "tokens"),
    (lambda: draw_rollout(plt.gca(), tokens="a b c"), ValueError, "tokens"),
    (lambda: draw_rollout(plt.gca(), seed=-1), ValueError, "seed"),
    (lambda: draw_sanity_check(plt.gca(), layers=("a",)), ValueError, "layers"),
    (lambda: draw_shift_vs_ood(plt.gca(), seed=1.5), TypeError, "seed"),
    (lambda: draw_detectors(plt.gca(), title=3), TypeError, "title"),
])
def test_schematics_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
    plt.close("all")
