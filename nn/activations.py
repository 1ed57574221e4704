"""Hidden-layer activations: A = g(Z), and the backward step dZ = dA * g'(Z).

Every derivative is written in terms of the output A = g(Z), not Z: the backward pass needs only
the layer outputs the forward pass kept.
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

from nn.errors import UsageError
from nn.layers import Layer


class Activation(Layer):
    """A layer that applies g to every entry: A = g(Z), dZ = dA * g'(Z)."""

    name = ""
    init = "he"

    def g(self, Z: np.ndarray) -> np.ndarray:
        """A = g(Z), same shape as Z."""
        raise NotImplementedError

    def slope(self, A: np.ndarray) -> np.ndarray:
        """g'(Z), from A = g(Z)."""
        raise NotImplementedError

    def forward(self, Z, train=False):
        A = self.g(Z)
        if train:
            self.A = A
        return A

    def backward(self, dA, input_grad=True):
        dZ = dA * self.slope(self.A)  # dZ = dA * g'(Z)
        self.A = None
        return dZ

    def __repr__(self) -> str:
        return self.name


class ReLU(Activation):
    name, init = "relu", "he"

    def g(self, Z):
        return np.maximum(Z, 0)

    def slope(self, A):
        return A > 0


class LeakyReLU(Activation):
    name, init = "leaky_relu", "he"
    alpha = 0.01

    def g(self, Z):
        return np.where(Z > 0, Z, self.alpha * Z)

    def slope(self, A):
        return np.where(A > 0, 1, self.alpha).astype(A.dtype)


class ELU(Activation):
    name, init = "elu", "he"

    def g(self, Z):
        # e^min(z, 0) - 1 rather than e^z - 1: the same where it is used, and exp never overflows
        return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0)))

    def slope(self, A):
        return np.where(A > 0, 1, A + 1)


class Sigmoid(Activation):
    name, init = "sigmoid", "xavier"

    def g(self, Z):
        return sigmoid(Z)

    def slope(self, A):
        return A * (1 - A)


class Tanh(Activation):
    name, init = "tanh", "xavier"

    def g(self, Z):
        return np.tanh(Z)

    def slope(self, A):
        return 1 - A * A


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), computed as (1 + tanh(z / 2)) / 2, which never overflows."""
    return (1 + np.tanh(Z / 2)) / 2


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (ReLU, LeakyReLU, ELU, Sigmoid, Tanh)
}


def get_activation(name: str) -> Activation:
    """The activation called `name` (relu, leaky_relu, elu, sigmoid, tanh), as a new layer."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise UsageError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None
