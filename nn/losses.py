"""The output layer and its loss, for N samples with labels y (N,) and one-hot targets Y (N, 10).

cross_entropy (default): the output is a softmax, the loss the mean negative log-probability of
the true digit:
    A = softmax(Z),  A_k = e^(Z_k - max Z) / sum_j e^(Z_j - max Z)
    L = -1/N sum_i log A[i, y_i],   log A = Z - max Z - log sum_j e^(Z_j - max Z)
    dZ = (A - Y) / N         with label smoothing e: Y = (1 - e) one-hot + e / 10 (Szegedy et al., 2016)
Subtracting the row maximum keeps e^z from overflowing even with logits of 1e4, and the loss is
taken from the log-softmax, never from log(A), which would be log(0) for a confident mistake.

mse: the quadratic cost of the 3Blue1Brown series and Nielsen's book, on sigmoid outputs:
    A = sigmoid(Z),  L = 1/(2N) sum_i ||A_i - Y_i||^2,  dZ = (A - Y) * A (1 - A) / N
"""

from __future__ import annotations

import functools

import numpy as np

from nn.activations import sigmoid
from nn.errors import UsageError


class Loss:
    name = ""
    output = ""  # what the output layer computes

    def forward(self, Z: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """(A, L): the outputs A (N, 10) for the output logits Z, and the mean loss (nan without y)."""
        raise NotImplementedError

    def backward(self, A: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dZ (N, 10), the gradient of the mean loss with respect to the logits."""
        raise NotImplementedError

    def probabilities(self, A: np.ndarray) -> np.ndarray:
        """The outputs as probabilities that sum to 1 in each row."""
        return A

    def __repr__(self) -> str:
        return self.name


class SoftmaxCrossEntropy(Loss):
    name, output = "cross_entropy", "softmax"
    smoothing = 0.0  # e: label smoothing (train.py --label-smoothing), set while training only

    def forward(self, Z, y=None):
        log_A = log_softmax(Z)
        # No probability below e^-60 = 9e-27, so none is subnormal (slow on many CPUs), nor are the
        # gradients made from them. The loss is taken from log A itself, unfloored.
        A = np.exp(np.maximum(log_A, Z.dtype.type(-60)))
        if y is None:
            return A, float("nan")
        if self.smoothing:  # L = -1/N sum Y log A
            return A, -float((self.targets(y, A) * log_A).sum(dtype=np.float64)) / len(Z)
        return A, -float(log_A[rows(len(Z)), y].mean(dtype=np.float64))

    def backward(self, A, y):
        return (A - self.targets(y, A)) / len(A)  # dZ = (A - Y) / N

    def targets(self, y, like):  # Y = (1 - e) one_hot(y) + e / 10
        return one_hot(y, like) * (1 - self.smoothing) + self.smoothing / like.shape[1]


class MeanSquaredError(Loss):
    name, output = "mse", "sigmoid"

    def forward(self, Z, y=None):
        A = sigmoid(Z)
        if y is None:
            return A, float("nan")
        error = A - one_hot(y, A)
        return A, 0.5 * float(np.einsum("ij,ij->", error, error, dtype=np.float64)) / len(A)

    def backward(self, A, y):
        return (A - one_hot(y, A)) * A * (1 - A) / len(A)  # dZ = (A - Y) * sigmoid'(Z) / N

    def probabilities(self, A):
        # Sigmoid outputs are ten separate scores; scale them to sum to 1 for display.
        return A / np.maximum(A.sum(axis=1, keepdims=True), np.finfo(A.dtype).tiny)


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """log softmax(Z) row by row, stable for any finite logits: Z - max Z - log sum e^(Z - max Z)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def one_hot(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Y (N, 10): row i is all 0 but a 1 at column y_i; the shape and type of `like`."""
    Y = np.zeros_like(like)
    Y[rows(len(y)), y] = 1
    return Y


@functools.lru_cache(maxsize=8)
def rows(n: int) -> np.ndarray:
    """0, 1, ..., n-1: with the labels y, A[rows(n), y] picks each row's true-digit entry."""
    index = np.arange(n)
    index.flags.writeable = False
    return index


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (SoftmaxCrossEntropy, MeanSquaredError)}


def get_loss(name: str) -> Loss:
    """The loss called `name` (cross_entropy or mse)."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise UsageError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}") from None
