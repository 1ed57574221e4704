"""Random distortions of training digits, and the background thread that makes them."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nn.augment import Augmentation, _bilinear, augment, parallel_map


@pytest.fixture(scope="module")
def images(mnist_test):
    return mnist_test.images[:64]


def test_no_distortion_gives_the_inputs(images):
    out = augment(images, np.random.default_rng(0), Augmentation.of(""))
    np.testing.assert_allclose(out, images / np.float32(255), atol=1e-6)
    zero = Augmentation(rotate=0, shear=0, scale=0, shift=0, elastic=True, alpha=0.0, stroke=0)
    np.testing.assert_allclose(augment(images, np.random.default_rng(0), zero), images / np.float32(255),
                               atol=1e-6)


def test_the_elastic_distortion_bends_strokes_without_moving_the_digit(images):
    """A smooth field: each image changes, but its ink stays where it was on the whole."""
    out = augment(images, np.random.default_rng(0), Augmentation.of("elastic")).reshape(-1, 28, 28)
    original = (images / np.float32(255)).reshape(-1, 28, 28)
    assert np.abs(out - original).mean() > 0.02
    rows = np.arange(28)
    for a, b in zip(out, original):
        centre_a = (a.sum(axis=1) * rows).sum() / a.sum()
        centre_b = (b.sum(axis=1) * rows).sum() / b.sum()
        assert abs(centre_a - centre_b) < 3.5  # displacements of about 1.4 pixels, smooth


def test_unknown_distortions_are_refused():
    with pytest.raises(ValueError, match="unknown distortion 'blur'"):
        Augmentation.of("affine,blur")


def test_distortions_are_mild_and_in_range(images):
    out = augment(images, np.random.default_rng(0))
    assert out.shape == (64, 784) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    original = images / np.float32(255)
    assert np.abs(out - original).mean() > 0.02  # they do change
    ink_ratio = out.sum(axis=1) / original.sum(axis=1)
    assert np.all((ink_ratio > 0.5) & (ink_ratio < 2.0))  # still the same digit, not a smear


def test_a_pure_shift_moves_the_centre_of_mass(images):
    settings = Augmentation(rotate=0, shear=0, scale=0, shift=3, stroke=0)
    out = augment(images[:1], np.random.default_rng(5), settings).reshape(28, 28)
    before = images[0].reshape(28, 28).astype(float)
    rows = np.arange(28)
    shift = (out.sum(axis=1) @ rows / out.sum()) - (before.sum(axis=1) @ rows / before.sum())
    assert 0.05 < abs(shift) <= 3.2


def test_same_seed_same_distortions(images):
    a = augment(images, np.random.default_rng(3))
    b = augment(images, np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_parallel_map_keeps_order_and_passes_errors_on():
    assert list(parallel_map(lambda x: x * x, range(100), ahead=3)) == [x * x for x in range(100)]

    def broken(x):
        if x == 5:
            raise ValueError("bad batch")
        return x

    with pytest.raises(ValueError, match="bad batch"):
        list(parallel_map(broken, range(10)))


def test_parallel_map_stops_when_the_consumer_does():
    started = []

    def slow(x):
        started.append(x)
        time.sleep(0.01)
        return x

    def workers():
        return [t for t in threading.enumerate() if t.name.startswith("augment")]

    assert not workers()
    for item in parallel_map(slow, range(10_000), ahead=4):
        if item == 5:
            break
    deadline = time.monotonic() + 10
    while workers() and time.monotonic() < deadline:  # they finish the item in hand, then go
        time.sleep(0.01)
    assert not workers()  # the worker threads are gone
    assert len(started) <= 5 + 4 + 2  # nothing ran far ahead of what was used


def test_the_pen_width_steps_are_scipys_grey_dilation_and_erosion():
    """The thicker and thinner pens are written in NumPy (importing scipy.ndimage cost half a
    second of every run); they must be exactly the 2x2 grey dilation and erosion they replace."""
    from scipy import ndimage

    from nn.augment import _dilate, _erode

    images = np.random.default_rng(0).random((7, 28, 28)).astype(np.float32)
    assert np.array_equal(_dilate(images), ndimage.grey_dilation(images, size=(1, 2, 2)))
    assert np.array_equal(_erode(images), ndimage.grey_erosion(images, size=(1, 2, 2)))


def test_bilinear_reading_is_scipys_map_coordinates():
    """_bilinear reads images at fractional points as scipy.ndimage.map_coordinates (order 1,
    zeros outside) does, near and beyond the edges too."""
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(0)
    x = rng.random((3, 28, 28)).astype(np.float32)
    rows, cols = rng.uniform(-1.5, 28.5, (2, 3, 784))
    rows[0, :28], cols[0, :28] = np.arange(28), 5.0             # whole pixels read as they are
    expected = np.stack([map_coordinates(x[i].astype(np.float64), [rows[i], cols[i]], order=1,
                                         mode="grid-constant", cval=0.0) for i in range(3)])
    np.testing.assert_allclose(_bilinear(x, rows, cols), expected, atol=2e-6)
