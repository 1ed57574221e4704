"""Hidden-layer activations: A = g(Z), and the backward step dZ = dA * g'(Z).

Every derivative is written in terms of the output A = g(Z), not Z. The forward pass can then
overwrite Z with A in place, and the backward pass needs only what it already keeps.
    relu        g(z) = max(0, z)                       g'(z) = 1 if a > 0 else 0
    leaky_relu  g(z) = z if z > 0 else 0.01 z          g'(z) = 1 if a > 0 else 0.01
    elu         g(z) = z if z > 0 else e^z - 1         g'(z) = 1 if a > 0 else a + 1
    sigmoid     g(z) = 1 / (1 + e^-z)                  g'(z) = a (1 - a)
    tanh        g(z) = tanh(z)                         g'(z) = 1 - a^2
`init` names the weight initialization that keeps signals at a steady scale through the layers:
He (variance 2 / n_in) for the ReLU family, Xavier/Glorot (variance 2 / (n_in + n_out)) for the
saturating sigmoid and tanh.
"""

from __future__ import annotations

import numpy as np


class Activation:
    name = ""
    init = "he"

    def forward(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A = g(Z), same shape as Z. `out=Z` computes it in place."""
        raise NotImplementedError

    def backward(self, dA: np.ndarray, A: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """dZ = dA * g'(Z), where A = g(Z). `out=dA` computes it in place."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class ReLU(Activation):
    name, init = "relu", "he"

    def forward(self, Z, out=None):
        return np.maximum(Z, 0, out=out)

    def backward(self, dA, A, out=None):
        return np.multiply(dA, A > 0, out=out)


class LeakyReLU(Activation):
    name, init = "leaky_relu", "he"
    alpha = 0.01

    def forward(self, Z, out=None):
        # max(z, alpha z) is z for z > 0 and alpha z otherwise, because 0 < alpha < 1.
        return np.maximum(Z, Z * Z.dtype.type(self.alpha), out=out)

    def backward(self, dA, A, out=None):
        slope = np.where(A > 0, A.dtype.type(1), A.dtype.type(self.alpha))
        return np.multiply(dA, slope, out=out)


class ELU(Activation):
    name, init = "elu", "he"

    def forward(self, Z, out=None):
        # max(z, 0) + (e^min(z, 0) - 1): z for z > 0, e^z - 1 otherwise, and exp never overflows.
        negative_part = np.expm1(np.minimum(Z, 0))
        A = np.maximum(Z, 0, out=out)
        A += negative_part
        return A

    def backward(self, dA, A, out=None):
        slope = np.where(A > 0, A.dtype.type(1), A + A.dtype.type(1))
        return np.multiply(dA, slope, out=out)


class Sigmoid(Activation):
    name, init = "sigmoid", "xavier"

    def forward(self, Z, out=None):
        return sigmoid(Z, out=out)

    def backward(self, dA, A, out=None):
        return np.multiply(dA, A * (1 - A), out=out)


class Tanh(Activation):
    name, init = "tanh", "xavier"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def backward(self, dA, A, out=None):
        return np.multiply(dA, 1 - A * A, out=out)


def sigmoid(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + e^-z), computed as (1 + tanh(z / 2)) / 2, which never overflows."""
    half = Z.dtype.type(0.5)
    A = np.multiply(Z, half, out=out)
    np.tanh(A, out=A)
    A += 1
    A *= half
    return A


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (ReLU, LeakyReLU, ELU, Sigmoid, Tanh)
}


def get_activation(name: str) -> Activation:
    """The activation called `name` (relu, leaky_relu, elu, sigmoid, tanh)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        from .errors import UsageError

        raise UsageError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None
