"""The network's math: gradients against finite differences, stable softmax, shapes, init."""

from __future__ import annotations

import numpy as np
import pytest

from nn.activations import ACTIVATIONS, get_activation
from nn.errors import UsageError
from nn.losses import LOSSES, SoftmaxCrossEntropy, get_loss, log_softmax
from nn.network import Network


def numerical_gradient(net: Network, X, y, param: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (L(p + eps) - L(p - eps)) / 2 eps, one entry at a time."""
    grad = np.zeros_like(param)
    for index in np.ndindex(param.shape):
        old = param[index]
        param[index] = old + eps
        plus = net.forward(X, y)[1]
        param[index] = old - eps
        minus = net.forward(X, y)[1]
        param[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradients_match_finite_differences(activation, loss):
    rng = np.random.default_rng(7)
    X = rng.random((6, 13))
    y = rng.integers(0, 10, 6)
    net = Network([13, 9, 7, 10], activation, loss, dtype=np.float64, seed=3)
    # Spread the biases so no ReLU unit sits exactly at its kink.
    for b in net.biases:
        b[:] = rng.normal(0, 0.3, b.shape)
    _, grads = net.gradients(X, y)
    names = [f"{kind}{i}" for i in range(3) for kind in ("W", "b")]
    for name, param, analytic in zip(names, net.parameters(), grads):
        numeric = numerical_gradient(net, X, y, param)
        error = np.linalg.norm(numeric - analytic) / (np.linalg.norm(numeric) + np.linalg.norm(analytic))
        assert error < 1e-6, f"{activation}/{loss} {name}: relative error {error:.2e}"


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_label_smoothing_s_gradients_match_finite_differences(smoothing):
    """L = -1/N sum Y log A with Y = (1 - e) one-hot + e / 10, and dZ = (A - Y) / N."""
    rng = np.random.default_rng(8)
    X, y = rng.random((6, 13)), rng.integers(0, 10, 6)
    net = Network([13, 9, 10], "tanh", dtype=np.float64, seed=4)
    net.loss.smoothing = smoothing
    A, loss = net.forward(X, y)
    Y = (1 - smoothing) * np.eye(10)[y] + smoothing / 10
    assert loss == pytest.approx(-(Y * np.log(A)).sum() / 6)
    _, grads = net.gradients(X, y)
    for param, analytic in zip(net.parameters(), grads):
        numeric = numerical_gradient(net, X, y, param)
        assert np.linalg.norm(numeric - analytic) / (np.linalg.norm(numeric) + np.linalg.norm(analytic)) < 1e-6


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_float32_stays_float32_and_backward_leaves_its_inputs_alone(activation, loss):
    """A float32 network computes in float32 throughout (a float64 step would double the cost),
    and backward does not write into the outputs its caller holds."""
    rng = np.random.default_rng(1)
    X = rng.random((8, 13), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    net = Network([13, 9, 10], activation, loss, seed=0)
    A, _ = net.forward(X, y, train=True)
    kept = A.copy()
    grads = net.backward(A, y)
    assert A.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_array_equal(A, kept)
    g = get_activation(activation)
    Z = rng.normal(size=(4, 9)).astype(np.float32)
    dA = np.ones_like(Z)
    out = g.forward(Z, train=True)
    assert out.dtype == np.float32 and g.backward(dA).dtype == np.float32
    assert (dA == 1).all()


def test_bias_gradient_is_one_entry_per_unit():
    """db sums dZ over the rows only: the classic slip sums all of dZ into one number."""
    net = Network([4, 3, 10], dtype=np.float64, seed=0)
    _, grads = net.gradients(np.ones((5, 4)), np.arange(5))
    assert [g.shape for g in grads] == [(4, 3), (3,), (3, 10), (10,)]
    assert not np.allclose(grads[3], grads[3][0])


def test_softmax_is_stable_for_huge_logits():
    Z = np.array([[1e4, 0.0, -1e4] + [0.0] * 7, [5e3, 5e3] + [-1e4] * 8], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        A, loss = SoftmaxCrossEntropy().forward(Z, np.array([2, 0]))
    assert np.isfinite(A).all() and np.isfinite(loss)
    np.testing.assert_allclose(A[0, 0], 1.0)
    np.testing.assert_allclose(A[1, :2], [0.5, 0.5])
    # The true class of row 0 is 1e4 below the winner: loss (1e4 + 1e4 ... ) / 2 exactly.
    np.testing.assert_allclose(loss, (2e4 + np.log(2)) / 2, rtol=1e-6)
    logp = log_softmax(Z.astype(np.float64))
    assert np.isfinite(logp).all()
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0)


def test_softmax_matches_the_definition_for_ordinary_logits():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(4, 10))
    A, _ = SoftmaxCrossEntropy().forward(Z)
    np.testing.assert_allclose(A, np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_activations_survive_extreme_inputs(activation):
    g = get_activation(activation)
    Z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = g.forward(Z)
    assert np.isfinite(A).all()


def test_sigmoid_and_elu_values():
    Z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(get_activation("sigmoid").forward(Z), 1 / (1 + np.exp(-Z)))
    np.testing.assert_allclose(get_activation("elu").forward(Z), [[np.expm1(-2), 0, 3]])
    np.testing.assert_allclose(get_activation("leaky_relu").forward(Z), [[-0.02, 0, 3]])


def test_mse_loss_value():
    net = Network([2, 10], loss="mse", dtype=np.float64, seed=0)
    net.weights[0][:] = 0
    A, loss = net.forward(np.zeros((1, 2)), np.array([3]))
    np.testing.assert_allclose(A, 0.5)  # sigmoid(0)
    np.testing.assert_allclose(loss, 0.5 * (9 * 0.25 + 0.25))
    np.testing.assert_allclose(net.predict_proba(np.zeros((1, 2))).sum(), 1.0)


def test_layer_sizes_and_description():
    net = Network([784, 16, 16, 10])
    assert [W.shape for W in net.weights] == [(784, 16), (16, 16), (16, 10)]
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.n_parameters == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert repr(net) == ("Network(784-16-16-10, relu, softmax + cross_entropy, "
                         "13,002 parameters, float32)")
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    P = net.predict_proba(X)
    assert P.shape == (5, 10) and P.dtype == np.float32
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    assert net.predict(X).shape == (5,)


def test_initialization_scale():
    he = Network([784, 1000, 10], "relu", seed=0).weights[0]
    assert abs(he.std() - np.sqrt(2 / 784)) < 0.01 * np.sqrt(2 / 784) * 5
    xavier = Network([784, 1000, 10], "tanh", seed=0).weights[0]
    assert abs(xavier.std() - np.sqrt(2 / 1784)) < 0.05 * np.sqrt(2 / 1784)
    assert np.array_equal(he, Network([784, 1000, 10], "relu", seed=0).weights[0])


def test_predict_handles_many_rows_in_chunks():
    net = Network([784, 8, 10], seed=1)
    X = np.random.default_rng(0).random((20_000, 784), dtype=np.float32)
    P = net.predict_proba(X)
    np.testing.assert_allclose(P[-5:], net.predict_proba(X[-5:]), rtol=1e-5)


@pytest.mark.parametrize("maker, name", [(get_activation, "swish"), (get_loss, "hinge")])
def test_unknown_names(maker, name):
    with pytest.raises(UsageError, match=f"unknown .* {name!r}"):
        maker(name)


def test_zero_sized_layer_is_refused():
    with pytest.raises(UsageError, match="at least 1"):
        Network([784, 0, 10])
