"""The inside view's math (nn/session/explain.py): the evidence map of a ReLU network sums exactly to the
score minus the biases' share, and for other activations it is gradient x input."""

from __future__ import annotations

import numpy as np
import pytest

from nn.session.explain import Explainer
from nn.session.pictures import map_mosaic, unit_grid
from nn.network import Network


@pytest.fixture(scope="module")
def inputs(mnist_test):
    return mnist_test.images[:5] / np.float32(255)


def network(sizes, activation, seed=1):
    net = Network(sizes, activation, seed=seed)
    rng = np.random.default_rng(seed)
    for b in net.biases:
        b += rng.normal(0, 0.2, b.shape).astype(b.dtype)  # biases that matter
    return net


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("sizes", [[784, 10], [784, 64, 10], [784, 48, 32, 16, 10]])
def test_relu_evidence_sums_to_the_score_minus_the_biases_share(inputs, activation, sizes):
    net = network(sizes, activation)
    explainer = Explainer(net)
    for x in inputs:
        inside = explainer.inside(x)
        logits = x.reshape(1, -1)
        for W, b in zip(net.weights[:-1], net.biases[:-1]):
            logits = net.activation.forward(logits @ W + b)
        logits = (logits @ net.weights[-1] + net.biases[-1])[0]  # the float32 network's own scores
        for digit in range(10):
            evidence = explainer.evidence(inside, digit)
            assert evidence.exact
            assert evidence.pixels.sum() + evidence.bias == pytest.approx(evidence.score, abs=1e-9)
            assert evidence.score == pytest.approx(float(logits[digit]), abs=1e-4)
            assert np.all(evidence.pixels[x == 0] == 0)  # a pixel without ink has no say


def test_the_biases_share_is_the_score_of_a_blank_input_when_the_same_units_are_active(inputs):
    """c is what the biases alone give through the active units: checked by an independent route,
    the network's own forward pass with the first layer's input set to zero and the units of
    every hidden layer forced to the pattern of the real input."""
    net = network([784, 40, 20, 10], "relu")
    explainer = Explainer(net)
    x = inputs[0].astype(np.float64)
    inside = explainer.inside(x)
    weights = [W.astype(np.float64) for W in net.weights]
    biases = [b.astype(np.float64) for b in net.biases]
    A = np.zeros(784)
    for W, b, S in zip(weights[:-1], biases[:-1], inside.slopes):
        A = (A @ W + b) * S  # the same units on, with their linear pieces
    c = A @ weights[-1] + biases[-1]
    for digit in range(10):
        assert explainer.evidence(inside, digit).bias == pytest.approx(c[digit], abs=1e-12)


@pytest.mark.parametrize("activation", ["elu", "tanh", "sigmoid"])
def test_other_activations_give_gradient_times_input(inputs, activation):
    net = network([784, 24, 16, 10], activation)
    explainer = Explainer(net)
    x = inputs[1].astype(np.float64)
    inside = explainer.inside(x)
    digit = 4
    evidence = explainer.evidence(inside, digit)
    assert not evidence.exact
    inked = np.flatnonzero(x)[::15]  # a sample of the inked pixels, by finite differences
    h = 1e-6
    for i in inked:
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        gradient = (explainer.inside(up).scores[digit] - explainer.inside(down).scores[digit]) / (2 * h)
        assert evidence.pixels[i] == pytest.approx(x[i] * gradient, rel=1e-5, abs=1e-9)


def test_hidden_activations_are_the_network_s(inputs):
    net = network([784, 30, 10], "relu")
    inside = Explainer(net).inside(inputs[2])
    expected = np.maximum(inputs[2] @ net.weights[0] + net.biases[0], 0)
    assert len(inside.hidden) == 1 and np.allclose(inside.hidden[0], expected, atol=1e-5)
    assert set(np.unique(inside.slopes[0])) <= {0.0, 1.0}


@pytest.mark.parametrize("units, shape", [(256, (16, 16)), (512, (23, 23)), (10, (3, 4)), (1, (1, 1))])
def test_units_are_laid_out_in_a_near_square_grid(units, shape):
    grid = unit_grid(np.arange(units, dtype=float))
    assert grid.shape == shape
    assert np.array_equal(grid.reshape(-1)[:units], np.arange(units))
    assert np.isnan(grid.reshape(-1)[units:]).all()


def cnn(activation="relu", seed=2):
    net = Network([784, 20, 10], activation, seed=seed, conv=[4, 6], kernel=5)
    rng = np.random.default_rng(seed)
    for b in net.biases:
        b += rng.normal(0, 0.2, b.shape).astype(b.dtype)
    return net


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_cnn_s_evidence_is_exact_too(inputs, activation):
    """With the active units and each pool's chosen entry held fixed, a CNN is linear in its
    input: the evidence sums to the score minus the biases' share (computed from the biases'
    own gradients), and it is the score's change when the ink is scaled a little."""
    net = cnn(activation)
    explainer = Explainer(net)
    for x in inputs[:3].astype(np.float64):
        inside = explainer.inside(x)
        own = net.forward(x[None].astype(np.float32))[0]  # softmax outputs of the float32 network
        np.testing.assert_allclose(np.exp(inside.scores) / np.exp(inside.scores).sum(), own[0], atol=1e-5)
        for digit in (0, 3, 7):
            evidence = explainer.evidence(inside, digit)
            assert evidence.exact
            assert evidence.pixels.sum() + evidence.bias == pytest.approx(evidence.score, abs=1e-9)
            assert np.all(evidence.pixels[x == 0] == 0)
            h = 1e-6  # no unit or pool changes its mind for so small a change
            change = explainer.inside(x * (1 + h)).scores[digit] - explainer.inside(x * (1 - h)).scores[digit]
            assert change / (2 * h) == pytest.approx(evidence.pixels.sum(), rel=1e-5, abs=1e-8)


def test_a_cnn_s_feature_maps_are_its_convolutions_outputs(inputs):
    net = cnn()
    inside = Explainer(net).inside(inputs[0])
    assert [m.shape for m in inside.maps] == [(28, 28, 4), (14, 14, 6)]
    assert len(inside.hidden) == 1 and inside.hidden[0].shape == (20,)
    first = net.layers[1].forward(inputs[0].reshape(1, 28, 28, 1).astype(np.float32))  # Conv2D
    np.testing.assert_allclose(inside.maps[0], np.maximum(first[0], 0), atol=1e-5)
    mosaic = map_mosaic(inside.maps[1])
    assert mosaic.shape == (2 * 15 - 1, 3 * 15 - 1)  # 6 maps: 2 rows of 3
    np.testing.assert_array_equal(mosaic[15:29, 0:14], inside.maps[1][:, :, 3])
    assert np.isnan(mosaic[14]).all() and np.isnan(mosaic[:, 29]).all()
    assert map_mosaic(inside.maps[0][:, :, :3]).shape == (2 * 29 - 1, 2 * 29 - 1)
    assert np.isnan(map_mosaic(inside.maps[0][:, :, :3])[29:, 29:]).all()  # 3 maps: one cell empty
