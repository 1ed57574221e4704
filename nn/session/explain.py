"""How the network reached its answer for one input: each hidden layer's activations, each
convolution's feature maps, and how much each pixel pushed each digit's score up or down (the
evidence map).

For a ReLU network the evidence is exact. With the units that are active for this input held as
they are (and, in a CNN, the position each 2x2 max-pool picked), every layer is linear, so the
output layer's scores Z (the logits, before softmax) are

    Z = x · M + c        M: (784, 10), the effective weights; c: (10,), the biases' share

For an MLP, M = W0 · S1 · W1 · S2 ··· W_L, where S_l is diagonal, one entry per unit of hidden
layer l: 1 if the unit is active for this input and 0 if not (for leaky ReLU, 1 or alpha). M's
column k is the gradient dZ_k/dx, which the backward pass computes for any network, the
convolutions and pools included: start from dZ = 1 for digit k (0 for the others) and go down
through every layer, the first one too. Digit k's evidence map is

    e_i = x_i · M[i, k]     for each of the 784 pixels: sum_i e_i = Z_k - c_k exactly

positive where a pixel's ink pushed toward k, negative where it pushed against. The same backward
pass gives each bias's gradient db, and c_k = sum over the layers of b · db: what the biases add,
carried through the same active units. For sigmoid, tanh and ELU, g(z) is not its slope times z,
so there is no such identity: the map is then gradient x input, e_i = x_i · dZ_k/dx_i, an
approximation, and says so.

Everything here is computed in float64, so the identity holds to ~1e-12, whatever the network's type.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from nn.activations import Activation
from nn.layers import Conv2D, Dense
from nn.network import Network

# g(z) = g'(z) z holds for these (and max-pooling picks one input), which makes the decomposition exact.
PIECEWISE_LINEAR = ("relu", "leaky_relu")


@dataclass
class Inside:
    """What happens inside the network for one input x (784,)."""

    x: np.ndarray  # (784,) the input, float64
    hidden: list[np.ndarray]  # A_l, the activations of each hidden dense layer: (n_1,), (n_2,), ...
    slopes: list[np.ndarray]  # S_l: g'(Z_l) for each hidden dense layer (0/1 for ReLU)
    maps: list[np.ndarray]  # each convolution's feature maps after the activation: (H, W, filters)
    scores: np.ndarray  # Z of the output layer (10,): the logits
    exact: bool  # whether the evidence maps are exact (ReLU, leaky ReLU) or gradient x input


@dataclass
class Evidence:
    """Digit k's evidence map: pixels (784,) with sum(pixels) + bias = score when exact."""

    digit: int
    pixels: np.ndarray  # (784,): x_i · M[i, k]
    bias: float  # c_k, what the biases contribute whatever the input
    score: float  # Z_k
    exact: bool


class Explainer:
    """A float64 copy of the network, kept for explaining input after input. Its layers keep their
    forward pass for the backward one, so one explanation runs at a time (the web page's requests
    take turns here)."""

    def __init__(self, net: Network):
        self.net = net.astype(np.float64)
        self.exact = net.activation.name in PIECEWISE_LINEAR
        self._lock = threading.Lock()

    def inside(self, x: np.ndarray) -> Inside:
        """The forward pass for one input x (784,) in [0, 1], keeping every hidden layer."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        hidden, slopes, maps = [], [], []
        A, below = x[None, :], None
        for layer in self.net.layers:
            A = layer.forward(A)
            if isinstance(layer, Activation) and isinstance(below, Dense):
                hidden.append(A[0])
                slopes.append(np.asarray(layer.slope(A[0]), dtype=np.float64))  # S = g'(Z)
            elif isinstance(layer, Activation) and isinstance(below, Conv2D):
                maps.append(A[0])
            below = layer
        return Inside(x, hidden, slopes, maps, A[0], self.exact)

    def evidence(self, inside: Inside, digit: int) -> Evidence:
        """Digit `digit`'s evidence map: e = x * dZ_k/dx, from one backward pass of dZ = one-hot k."""
        with self._lock:
            net = self.net
            A = inside.x[None, :]
            for layer in net.layers:
                A = layer.forward(A, train=True)
            dY = np.zeros_like(A)
            dY[0, digit] = 1.0                                   # dZ: 1 for digit k, 0 for the rest
            for layer in reversed(net.layers):
                dY = layer.backward(dY, input_grad=True)
            gradient = dY[0]                                     # M[:, k] = dZ_k/dx
            bias_share = sum(float(layer.b @ layer.db) for layer in net.layers if layer.params)
        pixels = inside.x * gradient
        score = float(A[0, digit])
        bias = bias_share if self.exact else score - float(pixels.sum())
        return Evidence(digit, pixels, bias, score, self.exact)
