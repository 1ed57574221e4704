"""Optimizer updates against their formulas, and the learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nn.errors import UsageError
from nn.optim import Adam, Momentum, SGD, learning_rate, make_optimizer


def params_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    return [W, b], [rng.normal(size=(3, 2)), rng.normal(size=2)]


def test_sgd():
    params, grads = params_and_grads()
    expected = [p - 0.1 * g for p, g in zip(params, grads)]
    SGD(params).step([g.copy() for g in grads], 0.1)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e)


def test_momentum_two_steps():
    params, grads = params_and_grads()
    W0 = params[0].copy()
    opt = Momentum(params, momentum=0.9)
    opt.step([g.copy() for g in grads], 0.1)
    opt.step([g.copy() for g in grads], 0.1)
    # V1 = g, V2 = 0.9 g + g; W = W0 - 0.1 (V1 + V2)
    np.testing.assert_allclose(params[0], W0 - 0.1 * (grads[0] + 1.9 * grads[0]))


def test_adam_matches_the_textbook_formula():
    params, grads = params_and_grads()
    W = params[0].copy()
    opt = Adam(params)
    m = v = 0
    for t in range(1, 4):
        g = grads[0] * t
        opt.step([g.copy(), grads[1].copy()], 0.01)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        W = W - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(params[0], W, rtol=1e-10)


def test_weight_decay_touches_weights_not_biases():
    params = [np.ones((2, 2)), np.ones(2)]
    SGD(params, weight_decay=0.5).step([np.zeros((2, 2)), np.zeros(2)], 0.1)
    np.testing.assert_allclose(params[0], 1 - 0.1 * 0.5)
    np.testing.assert_allclose(params[1], 1)


def test_float32_parameters_stay_float32():
    params = [np.ones((2, 2), np.float32), np.ones(2, np.float32)]
    for name in ("sgd", "momentum", "adam"):
        make_optimizer(name, params, 1e-4).step([np.ones((2, 2), np.float32), np.ones(2, np.float32)], 0.1)
        assert all(p.dtype == np.float32 for p in params)


def test_schedules():
    assert learning_rate("constant", 0.5, 99, 100) == 0.5
    assert learning_rate("cosine", 0.5, 0, 100) == 0.5
    assert learning_rate("cosine", 0.5, 50, 100) == pytest.approx(0.25)
    assert learning_rate("cosine", 0.5, 100, 100) == pytest.approx(0.0)
    assert learning_rate("cosine", 0.5, 0, 100, warmup=10) == pytest.approx(0.05)
    assert learning_rate("cosine", 0.5, 9, 100, warmup=10) == pytest.approx(0.5)
    assert learning_rate("cosine", 0.5, 10, 100, warmup=10) == pytest.approx(0.5)
    decreasing = [learning_rate("cosine", 1, s, 50) for s in range(51)]
    assert all(a >= b for a, b in zip(decreasing, decreasing[1:]))
    assert math.isclose(decreasing[25], 0.5)


def test_unknown_names():
    with pytest.raises(UsageError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", [])
    with pytest.raises(UsageError, match="schedule 'step'"):
        learning_rate("step", 0.1, 0, 10)


def train_with_a_fading_border(name: str, steps: int = 1200):
    """Columns 200-299 have ink in the first rows only, which the first ten steps use and no step
    after: their weights' momentum then only decays, by 0.9 a step (0.9 ** 1200 = 1e-55)."""
    from nn.network import Network
    from nn.optim import make_optimizer

    rng = np.random.default_rng(0)
    X = rng.random((256, 784)).astype(np.float32)
    X[:, :300] = 0
    X[:16, 200:300] = 1
    y = rng.integers(0, 10, 256)
    net = Network([784, 32, 10], seed=0)
    optimizer = make_optimizer(name, net.parameters(), momentum=0.9)
    for step in range(steps):
        rows = np.arange(16) if step < 10 else rng.integers(16, 256, 16)
        loss, grads = net.gradients(X[rows], y[rows])
        yield step, grads, optimizer
        optimizer.step(grads, 0.01)


def subnormal(array: np.ndarray) -> bool:
    return bool(np.any((array != 0) & (np.abs(array) < np.finfo(np.float32).tiny)))


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_the_state_never_holds_subnormal_numbers(name):
    """Left alone, decaying momentum reaches the subnormal range (very slow on many Intel CPUs)
    within two epochs; the optimizer flushes it to 0 before it gets there."""
    for step, grads, optimizer in train_with_a_fading_border(name):
        assert not any(subnormal(g) for g in grads), step
        assert not any(subnormal(state) for state in optimizer.state()), step
    assert np.all(optimizer.state()[0][200:300] == 0)  # what decayed is now exactly 0


def test_without_the_flush_the_state_would_hold_subnormals(monkeypatch):
    """The test above is not empty: the same run without the flush does make them."""
    import nn.optim

    monkeypatch.setattr(nn.optim, "FLUSH_EVERY", 10**9)
    found = False
    for step, grads, optimizer in train_with_a_fading_border("momentum"):
        found = found or subnormal(optimizer.state()[0])
    assert found
