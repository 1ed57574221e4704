"""The network: a multilayer perceptron built from a list of layer sizes.

Network([784, 128, 10]) has 784 inputs, one hidden layer of 128 units and 10 outputs. Rows are
samples: a batch X is (N, 784). Layer i (counting from 0) maps A[i] to A[i+1], with A[0] = X:

    Z = A[i] · W[i] + b[i]        W[i]: (n_i, n_i+1),  b[i]: (n_i+1,)
    A[i+1] = g(Z)                 g: the activation; the last layer uses the loss's output
                                  (softmax for cross-entropy, sigmoid for mse)

Backward, starting from the loss's dZ for the last layer (for softmax with cross-entropy,
dZ = (A - Y) / N) and going down one layer at a time:

    dW[i] = A[i]ᵀ · dZ            the weight gradient, (n_i, n_i+1)
    db[i] = sum of dZ's rows      the bias gradient: one entry per unit, not one number
    dA[i] = dZ · W[i]ᵀ            not needed for i = 0: nothing learns the input
    dZ    = dA[i] * g'(Z)         for the layer below
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import Activation, get_activation
from .errors import UsageError
from .losses import Loss, get_loss

EVAL_CHUNK = 8192  # rows per forward pass when predicting many images
# Far beyond anything that helps on 28x28 digits (784-4096-4096-10 has 20 million), and small
# enough to fit in memory: a network with more parameters is refused before any is allocated.
MAX_PARAMETERS = 50_000_000


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of a network with these layer sizes: sum of (n_in + 1) n_out."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def check_sizes(sizes: Sequence[int]) -> list[int]:
    """The layer sizes as ints, or a UsageError saying why no such network is built."""
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise UsageError(f"layer sizes must be at least 1, got {'-'.join(map(str, sizes))}")
    if parameter_count(sizes) > MAX_PARAMETERS:
        shown = "-".join(str(n) if n < 10**9 else f"{n:.3g}" for n in sizes)
        raise UsageError(f"a {shown} network has {parameter_count(sizes):.3g} parameters, more than "
                         f"the {MAX_PARAMETERS:,} this program trains (and more than digits need)")
    return sizes


class Network:
    """A multilayer perceptron: weights W[i], biases b[i], one activation, one loss."""

    def __init__(self, sizes: Sequence[int], activation: str = "relu", loss: str = "cross_entropy",
                 dtype: type = np.float32, seed: int | None = 0):
        sizes = check_sizes(sizes)
        self.sizes = sizes
        self.activation: Activation = get_activation(activation)
        self.loss: Loss = get_loss(loss)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            init = self.activation.init if hidden else "xavier"
            self.weights.append(initial_weights(rng, n_in, n_out, init).astype(self.dtype))
            self.biases.append(np.zeros(n_out, dtype=self.dtype))
        self._layer_outputs: list[np.ndarray] = []

    @classmethod
    def from_arrays(cls, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                    activation: str = "relu", loss: str = "cross_entropy") -> "Network":
        """A network with the given parameters (as loaded from a model file)."""
        sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
        net = cls(sizes, activation, loss, dtype=weights[0].dtype, seed=None)
        net.weights = [np.ascontiguousarray(W) for W in weights]
        net.biases = [np.ascontiguousarray(b) for b in biases]
        return net

    # -- forward and backward ------------------------------------------------------------------

    def forward(self, X: np.ndarray, y: np.ndarray | None = None,
                train: bool = False) -> tuple[np.ndarray, float]:
        """(A, L): outputs A (N, 10) for inputs X (N, 784), and the mean loss L for labels y.

        With train=True the layer outputs are kept for `backward`.
        """
        X = np.asarray(X, dtype=self.dtype)
        outputs = [X]
        A = X
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = A @ W + b
            if i < last:
                A = self.activation.forward(Z)  # A = g(Z)
                outputs.append(A)
        A, loss = self.loss.forward(Z, y)      # the output layer: softmax (or sigmoid), and L
        if train:
            self._layer_outputs = outputs
        return A, loss

    def backward(self, A: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Gradients [dW0, db0, dW1, db1, ...] of the mean loss, after forward(..., train=True).

        A is the output of that forward pass.
        """
        outputs = self._layer_outputs
        grads: list[np.ndarray] = []
        dZ = self.loss.backward(A, y)              # dZ for the last layer
        for i in range(len(self.weights) - 1, -1, -1):
            A_below = outputs[i]
            grads.append(dZ.sum(axis=0))          # db = sum of dZ's rows
            grads.append(A_below.T @ dZ)          # dW = Aᵀ · dZ
            if i > 0:
                dA = dZ @ self.weights[i].T       # dA = dZ · Wᵀ
                dZ = self.activation.backward(dA, A_below)  # dZ = dA * g'(Z)
        self._layer_outputs = []
        grads.reverse()                           # to [dW0, db0, dW1, db1, ...]
        return grads

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """(L, [dW0, db0, ...]): the mean loss on (X, y) and its gradient for every parameter."""
        A, loss = self.forward(X, y, train=True)
        return loss, self.backward(A, y)

    # -- using the network ---------------------------------------------------------------------

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) of each digit for inputs X (N, 784) in [0, 1]."""
        X = np.atleast_2d(X)
        chunks = [self.loss.probabilities(self.forward(X[i:i + EVAL_CHUNK])[0])
                  for i in range(0, len(X), EVAL_CHUNK)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.sizes[-1]), self.dtype)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most likely digit (N,) for inputs X (N, 784)."""
        return self.predict_proba(X).argmax(axis=1)

    def is_finite(self) -> bool:
        """Whether every weight is finite, and so are the outputs for blank, full and random
        inputs: finite weights can still be so large that the forward pass overflows."""
        if not all(np.isfinite(p).all() for p in self.parameters()):
            return False
        probe = np.vstack([np.zeros(self.sizes[0]), np.ones(self.sizes[0]),
                           np.random.default_rng(0).random((6, self.sizes[0]))]).astype(self.dtype)
        with np.errstate(all="ignore"):
            return bool(np.isfinite(self.predict_proba(probe)).all())

    # -- description ---------------------------------------------------------------------------

    def parameters(self) -> list[np.ndarray]:
        """[W0, b0, W1, b1, ...]: the arrays that training changes in place."""
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    @property
    def shape_name(self) -> str:
        return "-".join(str(n) for n in self.sizes)

    def __repr__(self) -> str:
        return (f"Network({self.shape_name}, {self.activation.name}, {self.loss.output} + "
                f"{self.loss.name}, {self.n_parameters:,} parameters, {self.dtype.name})")


def initial_weights(rng: np.random.Generator, n_in: int, n_out: int, init: str) -> np.ndarray:
    """Random weights (n_in, n_out) that keep the signal's scale from layer to layer.

    he:     normal, variance 2 / n_in: ReLU zeroes half of its inputs, so double the variance.
    xavier: uniform in ±sqrt(6 / (n_in + n_out)), variance 2 / (n_in + n_out) (Glorot & Bengio).
    """
    if init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))
