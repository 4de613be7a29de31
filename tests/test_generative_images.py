"""The argument checks every generative module relies on: course_lib.arrays and generative.images."""

import numpy as np
import pytest
import torch

from course_lib.arrays import as_array, as_count, as_matrix, as_matrix_pair
from course_lib.generative.images import as_class_labels, as_unit_images


def test_uint8_images_are_scaled_and_get_a_channel_axis():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = as_unit_images(images, size=2)
    assert out.dtype == torch.float32 and out.shape == (1, 1, 2, 2)
    assert torch.allclose(out[0, 0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))


def test_unit_float_images_pass_unchanged_and_tensors_are_accepted():
    images = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    assert torch.equal(as_unit_images(images), torch.from_numpy(images))
    assert torch.equal(as_unit_images(torch.from_numpy(images)), torch.from_numpy(images))


@pytest.mark.parametrize("images, words", [
    (np.zeros((2, 3, 28, 28)), "grey images"),
    (np.zeros((2, 28)), "grey images"),
    (np.zeros((2, 14, 14)), "28x28"),
    (np.full((2, 28, 28), 2.0), r"floats in \[0, 1\]"),
    (np.full((2, 28, 28), np.nan), "NaN"),
    (np.zeros((0, 28, 28)), "empty"),
])
def test_bad_images_are_refused_naming_the_problem(images, words):
    with pytest.raises(ValueError, match=words):
        as_unit_images(images, "train_images")


def test_strings_and_none_are_not_images():
    for value in ("abc", None, 3):
        with pytest.raises(TypeError, match="train_images"):
            as_unit_images(value, "train_images")


def test_class_labels():
    assert as_class_labels([0, 1, 1.0]).tolist() == [0, 1, 1]
    assert as_class_labels(np.array([[1], [0]])).dtype == torch.int64
    with pytest.raises(ValueError, match="whole class indices"):
        as_class_labels([0, 0.5])
    with pytest.raises(ValueError, match=r"0\.\.1"):
        as_class_labels([0, 2])
    with pytest.raises(ValueError, match="3 images"):
        as_class_labels([0, 1], length=3)


def test_matrices():
    assert as_matrix(np.zeros((4, 2, 3)), "x").shape == (4, 6)
    with pytest.raises(ValueError, match="matrix"):
        as_matrix([1.0, 2.0], "x")
    with pytest.raises(ValueError, match="at least 3 rows"):
        as_matrix(np.zeros((2, 2)), "x", min_rows=3)
    with pytest.raises(ValueError, match="real has 2 features .* fake has 3"):
        as_matrix_pair(np.zeros((2, 2)), np.zeros((2, 3)), ("real", "fake"))
    with pytest.raises(ValueError, match="infinity"):
        as_array([1.0, np.inf], "x")
    with pytest.raises(TypeError, match="x must hold"):
        as_array(np.array(["a", "b"]), "x")


def test_counts():
    assert as_count(np.int64(3), "k") == 3
    for bad, error in ((True, TypeError), (2.0, TypeError), ("3", TypeError), (0, ValueError)):
        with pytest.raises(error, match="k must"):
            as_count(bad, "k")
