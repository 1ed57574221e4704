"""The network: a list of layers (nn/layers.py) and a loss, built from a list of layer sizes.

Network([784, 128, 10]) is the multilayer perceptron: 784 inputs, one hidden layer of 128 units,
10 outputs. Rows are samples: a batch X is (N, 784). Layer by layer, with A[0] = X:

    Z = A[i] · W[i] + b[i]        W[i]: (n_i, n_i+1),  b[i]: (n_i+1,)
    A[i+1] = g(Z)                 g: the activation; the last layer uses the loss's output
                                  (softmax for cross-entropy, sigmoid for mse)

Backward, starting from the loss's dZ for the last layer (for softmax with cross-entropy,
dZ = (A - Y) / N) and going down one layer at a time:

    dW[i] = A[i]ᵀ · dZ            the weight gradient, (n_i, n_i+1)
    db[i] = sum of dZ's rows      the bias gradient: one entry per unit, not one number
    dA[i] = dZ · W[i]ᵀ            not needed for i = 0: nothing learns the input
    dZ    = dA[i] * g'(Z)         for the layer below

Network([784, 128, 10], conv=[16, 32]) puts convolutions in front: the 784 pixels as a 28x28
image, then for each entry a 5x5 convolution with that many filters, the activation and 2x2
max-pooling (28x28 -> 14x14 -> 7x7), then the pooled maps flattened (7·7·32 = 1568 numbers) into
the dense layers 1568-128-10. The same forward and backward passes run through every layer.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np

from nn.activations import Activation, get_activation
from nn.architecture import (DEFAULT_KERNEL, MAX_PARAMETERS, check_architecture, parameter_count,  # noqa: F401
                           parameter_shapes, shape_name, working_floats)
from nn.dataset import SIDE
from nn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Unflatten
from nn.losses import Loss, get_loss

EVAL_CHUNK = 8192  # at most this many rows per forward pass when predicting many images...
EVAL_BYTES = 256 << 20  # ...and at most about this much working memory for them (a CNN's input copies)


class Network:
    """Layers (dense, or convolutions then dense), one activation, one loss."""

    def __init__(self, sizes: Sequence[int], activation: str = "relu", loss: str = "cross_entropy",
                 dtype: type = np.float32, seed: int | None = 0, conv: Sequence[int] = (),
                 kernel: int = DEFAULT_KERNEL, arrays: Sequence[np.ndarray] | None = None):
        """sizes: [784, hidden..., 10]; conv: filters of each convolution (none: an MLP); kernel:
        their side. The parameters are random (He or Xavier, from `seed`), or `arrays`:
        [W0, b0, W1, b1, ...] as a model file holds them."""
        self.sizes, self.conv, self.kernel = check_architecture(sizes, conv, kernel)
        self.activation: Activation = get_activation(activation)
        self.loss: Loss = get_loss(loss)
        self.dtype = np.dtype(arrays[0].dtype if arrays is not None else dtype)
        if arrays is None:
            arrays = list(initial_parameters(self.sizes, self.conv, self.kernel, self.activation.init,
                                             np.random.default_rng(seed), self.dtype))
        self.layers = build_layers(self.sizes, self.conv, activation, arrays)
        self.first = next(i for i, layer in enumerate(self.layers) if layer.params)

    # -- forward and backward ------------------------------------------------------------------

    def forward(self, X: np.ndarray, y: np.ndarray | None = None,
                train: bool = False) -> tuple[np.ndarray, float]:
        """(A, L): outputs A (N, 10) for inputs X (N, 784), and the mean loss L for labels y.

        With train=True every layer keeps what its backward pass needs.
        """
        A = np.asarray(X, dtype=self.dtype)
        for layer in self.layers:
            A = layer.forward(A, train)        # Z = A · W + b, A = g(Z), ...
        return self.loss.forward(A, y)         # the output layer: softmax (or sigmoid), and L

    def backward(self, A: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Gradients [dW0, db0, dW1, db1, ...] of the mean loss, after forward(..., train=True).

        A is the output of that forward pass.
        """
        dY = self.loss.backward(A, y)          # dZ for the last layer
        for i in range(len(self.layers) - 1, self.first - 1, -1):
            dY = self.layers[i].backward(dY, input_grad=i > self.first)
        return [g for layer in self.layers for g in layer.gradients()]

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """(L, [dW0, db0, ...]): the mean loss on (X, y) and its gradient for every parameter."""
        A, loss = self.forward(X, y, train=True)
        return loss, self.backward(A, y)

    # -- using the network ---------------------------------------------------------------------

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) of each digit for inputs X (N, 784) in [0, 1]."""
        X = np.atleast_2d(X)
        step = self.chunk_rows
        chunks = [self.loss.probabilities(self.forward(X[i:i + step])[0])
                  for i in range(0, len(X), step)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.sizes[-1]), self.dtype)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most likely digit (N,) for inputs X (N, 784)."""
        return self.predict_proba(X).argmax(axis=1)

    @property
    def chunk_rows(self) -> int:
        """Rows per forward pass when predicting many: EVAL_CHUNK, fewer for a big CNN."""
        per_row = working_floats(self.sizes, self.conv, self.kernel, train=False) * self.dtype.itemsize
        return max(1, min(EVAL_CHUNK, EVAL_BYTES // per_row))

    def training_bytes(self, batch: int) -> int:
        """About how much memory one training step on `batch` rows needs."""
        return batch * working_floats(self.sizes, self.conv, self.kernel) * self.dtype.itemsize

    def is_finite(self) -> bool:
        """Whether every weight is finite, and so are the outputs for blank, full and random
        inputs: finite weights can still be so large that the forward pass overflows."""
        if not all(np.isfinite(p).all() for p in self.parameters()):
            return False
        probe = np.vstack([np.zeros(self.sizes[0]), np.ones(self.sizes[0]),
                           np.random.default_rng(0).random((6, self.sizes[0]))]).astype(self.dtype)
        with np.errstate(all="ignore"):
            return bool(np.isfinite(self.predict_proba(probe)).all())

    def replica(self) -> "Network":
        """A network with layers of its own that share this one's parameters (the same arrays):
        it can run a forward and backward pass beside this one, and training moves both."""
        return Network(self.sizes, self.activation.name, self.loss.name, conv=self.conv,
                       kernel=self.kernel, arrays=self.parameters())

    def astype(self, dtype) -> "Network":
        """A copy of the network with its parameters in another floating-point type."""
        return Network(self.sizes, self.activation.name, self.loss.name, conv=self.conv,
                       kernel=self.kernel, arrays=[p.astype(dtype) for p in self.parameters()])

    # -- description ---------------------------------------------------------------------------

    def parameters(self) -> list[np.ndarray]:
        """[W0, b0, W1, b1, ...]: the arrays that training changes in place."""
        return [p for layer in self.layers for p in layer.parameters()]

    @property
    def weights(self) -> list[np.ndarray]:
        return [layer.W for layer in self.layers if layer.params]

    @property
    def biases(self) -> list[np.ndarray]:
        return [layer.b for layer in self.layers if layer.params]

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    @property
    def shape_name(self) -> str:
        return shape_name(self.sizes, self.conv, self.kernel)

    def layer_names(self) -> list[str]:
        """Each layer in order, as it describes itself: Dense(784 -> 256), relu, ..."""
        return [repr(layer) for layer in self.layers]

    def __repr__(self) -> str:
        return (f"Network({self.shape_name}, {self.activation.name}, {self.loss.output} + "
                f"{self.loss.name}, {self.n_parameters:,} parameters, {self.dtype.name})")


def build_layers(sizes: Sequence[int], conv: Sequence[int], activation: str,
                 arrays: Sequence[np.ndarray]) -> list[Layer]:
    """The layers in order, their parameters taken from arrays [W0, b0, W1, b1, ...]."""
    pairs = iter(zip(arrays[0::2], arrays[1::2]))
    layers: list[Layer] = []
    if conv:
        layers.append(Unflatten((SIDE, SIDE, 1)))
        for _ in conv:
            layers += [Conv2D(*next(pairs)), get_activation(activation), MaxPool2D()]
        layers.append(Flatten())
    for i in range(len(sizes) - 1):
        layers.append(Dense(*next(pairs)))
        if i < len(sizes) - 2:
            layers.append(get_activation(activation))
    return layers


def initial_parameters(sizes: Sequence[int], conv: Sequence[int], kernel: int, init: str,
                       rng: np.random.Generator, dtype: np.dtype) -> Iterator[np.ndarray]:
    """W0, b0, W1, b1, ...: random weights, zero biases. The output layer is always Xavier."""
    shapes = parameter_shapes(sizes, conv, kernel)
    for i, (W, b) in enumerate(shapes):
        fan_in = math.prod(W[:-1])                        # what one unit (or filter) adds up
        fan_out = W[-1] * (kernel * kernel if len(W) == 4 else 1)
        yield initial_weights(rng, W, fan_in, fan_out, init if i < len(shapes) - 1 else "xavier").astype(dtype)
        yield np.zeros(b, dtype=dtype)


def initial_weights(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int,
                    init: str) -> np.ndarray:
    """Random weights that keep the signal's scale from layer to layer.

    he:     normal, variance 2 / fan_in: ReLU zeroes half of its inputs, so double the variance.
    xavier: uniform in ±sqrt(6 / (fan_in + fan_out)), variance 2 / (fan_in + fan_out) (Glorot &
            Bengio). fan_in is n_in for a dense layer, k·k·C for a convolution.
    """
    if init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)
