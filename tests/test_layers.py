"""The layers one by one (nn/layers.py): each forward pass against its definition, each backward
pass against finite differences, and a small CNN against PyTorch when it is installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nn.activations import ACTIVATIONS, get_activation
from nn.layers import Conv2D, Dense, Flatten, MaxPool2D, Unflatten, im2col, kernel_rows
from nn.network import Network
from nn.parallel import DataParallel


def check_layer_gradients(layer, X: np.ndarray, rng, samples: int = 40, eps: float = 1e-6) -> None:
    """For the scalar L = sum(G * layer(X)) with a random G: dX and every parameter's gradient
    from backward against central differences, on a sample of entries, in float64."""
    G = rng.normal(size=layer.forward(X).shape)

    def loss() -> float:
        return float(np.sum(G * layer.forward(X)))

    layer.forward(X, train=True)
    dX = layer.backward(G)
    arrays = [("X", X, dX)] + [(name, p, g) for name, p, g in
                               zip(layer.params, layer.parameters(), layer.gradients())]
    for name, array, analytic in arrays:
        flat = array.reshape(-1)
        for index in rng.choice(flat.size, size=min(samples, flat.size), replace=False):
            old = flat[index]
            flat[index] = old + eps
            plus = loss()
            flat[index] = old - eps
            minus = loss()
            flat[index] = old
            numeric = (plus - minus) / (2 * eps)
            assert analytic.reshape(-1)[index] == pytest.approx(numeric, rel=1e-5, abs=1e-7), \
                f"{layer!r} d{name}[{index}]"


def conv_layer(rng, k: int, channels: int, filters: int) -> Conv2D:
    return Conv2D(rng.normal(size=(k, k, channels, filters)), rng.normal(size=filters))


@pytest.mark.parametrize("k, channels, filters, side", [(1, 1, 2, 5), (3, 2, 3, 6), (5, 3, 2, 7), (3, 1, 4, 4),
                                                        (5, 2, 3, 2), (5, 1, 2, 1), (7, 3, 2, 3)])
def test_convolution_gradients_match_finite_differences(k, channels, filters, side):
    rng = np.random.default_rng(k + channels)
    layer = conv_layer(rng, k, channels, filters)
    check_layer_gradients(layer, rng.normal(size=(2, side, side, channels)), rng)


def test_convolution_is_the_sum_over_the_kernel():
    """Y[n, y, x, f] = b[f] + sum over i, j, c of P[n, y + i, x + j, c] W[i, j, c, f], computed
    as the formula says, one output at a time, against im2col's single matrix product."""
    rng = np.random.default_rng(3)
    k, c, f, side = 3, 2, 4, 5
    layer = conv_layer(rng, k, c, f)
    X = rng.normal(size=(2, side, side, c))
    P = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = np.zeros((2, side, side, f))
    for n in range(2):
        for y in range(side):
            for x in range(side):
                for o in range(f):
                    expected[n, y, x, o] = layer.b[o] + np.sum(P[n, y:y + k, x:x + k, :] * layer.W[..., o])
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)


def test_im2col_rows_are_the_patches_in_the_order_of_the_weights():
    X = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4, 1)
    cols = im2col(X, 3)
    assert cols.shape == (4 * 2 * 4, 9)
    P = np.pad(X[..., 0], ((0, 0), (1, 1), (1, 1)))
    y, n, x = 2, 1, 3                                  # rows in the order (y, n, x)
    np.testing.assert_array_equal(cols[y * 8 + n * 4 + x], P[n, y:y + 3, x:x + 3].reshape(-1))


def test_kernel_rows_hold_what_one_kernel_row_sees():
    X = np.arange(2 * 4 * 5 * 3, dtype=np.float64).reshape(2, 4, 5, 3)
    R = kernel_rows(X, 3)
    assert R.shape == (4 + 2, 2 * 5, 3 * 3)
    P = np.pad(X, ((0, 0), (1, 1), (1, 1), (0, 0)))
    for y_, n, x in [(0, 0, 0), (3, 1, 2), (5, 1, 4)]:
        np.testing.assert_array_equal(R[y_, n * 5 + x], P[n, y_, x:x + 3, :].reshape(-1))


def test_dense_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    layer = Dense(rng.normal(size=(7, 5)), rng.normal(size=5))
    check_layer_gradients(layer, rng.normal(size=(4, 7)), rng)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_layers_match_finite_differences(name):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 4, 4, 2))
    X[np.abs(X) < 0.01] = 0.5  # nothing at ReLU's kink, where there is no derivative
    check_layer_gradients(get_activation(name), X, rng)


@pytest.mark.parametrize("side", [4, 5, 7])
def test_max_pooling_gradients_match_finite_differences(side):
    """Random values have no ties: the derivative exists and is 1 at each window's largest."""
    rng = np.random.default_rng(side)
    X = rng.normal(size=(2, side, side, 3))
    pool = MaxPool2D()
    assert pool.forward(X).shape == (2, side // 2, side // 2, 3)
    check_layer_gradients(pool, X, rng)


def test_max_pooling_gives_a_tie_s_gradient_to_its_first_entry_only():
    """Blank stretches of an image give windows of equal values: the output is one input's value,
    so one input gets the gradient (PyTorch picks the first too), not each of the four."""
    X = np.zeros((1, 4, 4, 2))
    X[0, 2:, 2:, 1] = [[3.0, 5.0], [5.0, 5.0]]  # a tie between three entries of one window
    pool = MaxPool2D()
    np.testing.assert_array_equal(pool.forward(X, train=True)[0, :, :, 1], [[0, 0], [0, 5]])
    dX = pool.backward(np.ones((1, 2, 2, 2)))
    assert dX.shape == X.shape and dX.sum() == 8  # one entry of each window: 4 windows x 2 channels
    np.testing.assert_array_equal(dX[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(dX[0, 2:, 2:, 1], [[0, 1], [0, 0]])


def test_flatten_and_unflatten_are_each_other_s_inverse():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 784))
    images = Unflatten((28, 28, 1)).forward(X)
    assert images.shape == (3, 28, 28, 1) and images[1, 2, 5, 0] == X[1, 2 * 28 + 5]
    flat = Flatten()
    assert np.array_equal(flat.forward(images, train=True), X)
    assert flat.backward(X).shape == images.shape
    check_layer_gradients(Flatten(), rng.normal(size=(2, 3, 3, 2)), rng)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_a_whole_cnn_s_gradients_match_finite_differences(activation, loss):
    rng = np.random.default_rng(5)
    net = Network([784, 6, 10], activation, loss, dtype=np.float64, seed=2, conv=[2, 3], kernel=3)
    for b in net.biases:
        b[:] = rng.normal(0, 0.3, b.shape)
    X, y = rng.random((3, 784)), rng.integers(0, 10, 3)
    _, grads = net.gradients(X, y)
    for p, analytic in zip(net.parameters(), grads):
        flat = p.reshape(-1)
        for index in rng.choice(flat.size, size=min(12, flat.size), replace=False):
            old = flat[index]
            flat[index] = old + 1e-6
            plus = net.forward(X, y)[1]
            flat[index] = old - 1e-6
            minus = net.forward(X, y)[1]
            flat[index] = old
            assert analytic.reshape(-1)[index] == pytest.approx((plus - minus) / 2e-6, rel=1e-5, abs=1e-8)


def test_two_halves_at_once_give_the_whole_batch_s_loss_and_gradients():
    rng = np.random.default_rng(0)
    net = Network([784, 12, 10], dtype=np.float64, seed=1, conv=[3, 4], kernel=3)
    X, y = rng.random((37, 784)), rng.integers(0, 10, 37)  # an odd batch: halves of 18 and 19
    A, loss = net.forward(X, y, train=True)
    whole = [g.copy() for g in net.backward(A, y)]
    parallel = DataParallel(net)
    try:
        A2, loss2 = parallel.forward(X, y, train=True)
        halves = parallel.backward(A2, y)
    finally:
        parallel.close()
    np.testing.assert_allclose(A2, A, rtol=1e-12)
    assert loss2 == pytest.approx(loss, rel=1e-12)
    for g, h in zip(whole, halves):
        np.testing.assert_allclose(h, g, rtol=1e-10, atol=1e-14)


torch_missing = importlib.util.find_spec("torch") is None


@pytest.mark.skipif(torch_missing, reason="PyTorch is not installed (pip install torch==2.13.0 for "
                                          "this cross-check; it is not a requirement)")
@pytest.mark.slow  # imports PyTorch, when it is installed
def test_a_small_cnn_matches_pytorch():
    """The same weights in PyTorch's Conv2d/MaxPool2d/Linear: the same outputs, loss and gradients.
    PyTorch keeps images as (N, C, H, W) and kernels as (F, C, k, k): the weights are transposed
    on the way, and the flattened maps reordered from (H, W, C) to (C, H, W)."""
    import torch

    rng = np.random.default_rng(0)
    net = Network([784, 16, 10], dtype=np.float64, seed=4, conv=[4, 6], kernel=5)
    for b in net.biases:
        b[:] = rng.normal(0, 0.2, b.shape)
    X, y = rng.random((5, 784)), rng.integers(0, 10, 5)
    A, loss = net.forward(X, y, train=True)
    grads = net.backward(A, y)

    nn_ = torch.nn
    model = nn_.Sequential(nn_.Conv2d(1, 4, 5, padding=2), nn_.ReLU(), nn_.MaxPool2d(2),
                           nn_.Conv2d(4, 6, 5, padding=2), nn_.ReLU(), nn_.MaxPool2d(2), nn_.Flatten(),
                           nn_.Linear(294, 16), nn_.ReLU(), nn_.Linear(16, 10)).double()
    W0, b0, W1, b1, W2, b2, W3, b3 = net.parameters()
    # Dense rows are in (h, w, c) order here, (c, h, w) in PyTorch
    hwc_to_chw = np.arange(7 * 7 * 6).reshape(7, 7, 6).transpose(2, 0, 1).reshape(-1)
    with torch.no_grad():
        for layer, W, b in ((model[0], W0, b0), (model[3], W1, b1)):
            layer.weight.copy_(torch.from_numpy(W.transpose(3, 2, 0, 1)))
            layer.bias.copy_(torch.from_numpy(b))
        model[7].weight.copy_(torch.from_numpy(W2[hwc_to_chw].T))
        model[7].bias.copy_(torch.from_numpy(b2))
        model[9].weight.copy_(torch.from_numpy(W3.T))
        model[9].bias.copy_(torch.from_numpy(b3))
    logits = model(torch.from_numpy(X).reshape(5, 1, 28, 28))
    torch_loss = nn_.functional.cross_entropy(logits, torch.from_numpy(y))
    torch_loss.backward()
    np.testing.assert_allclose(A, torch.softmax(logits, 1).detach().numpy(), rtol=1e-9, atol=1e-12)
    assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    theirs = [model[0].weight.grad.numpy().transpose(2, 3, 1, 0), model[0].bias.grad.numpy(),
              model[3].weight.grad.numpy().transpose(2, 3, 1, 0), model[3].bias.grad.numpy(),
              model[7].weight.grad.numpy().T[np.argsort(hwc_to_chw)], model[7].bias.grad.numpy(),
              model[9].weight.grad.numpy().T, model[9].bias.grad.numpy()]
    for ours, reference in zip(grads, theirs):
        np.testing.assert_allclose(ours, reference, rtol=1e-8, atol=1e-12)
