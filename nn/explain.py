"""How the network reached its answer for one input: each hidden layer's activations, and how much
each pixel pushed each digit's score up or down (the evidence map).

For a ReLU network the evidence is exact. With the units that are active for this input held as
they are, every layer is linear, so the output layer's scores Z (the logits, before softmax) are

    Z = x · M + c        M = W0 · S1 · W1 · S2 ··· W_L          (784, 10): the effective weights
                         c = ((b0 · S1 · W1 + b1) · S2 · W2 + b2) ···    (10,): the biases' share

where S_l is diagonal, one entry per unit of hidden layer l: 1 if the unit is active for this
input and 0 if not (for leaky ReLU, 1 or alpha). Digit k's evidence map is

    e_i = x_i · M[i, k]     for each of the 784 pixels: sum_i e_i = Z_k - c_k exactly

positive where a pixel's ink pushed toward k, negative where it pushed against. For sigmoid, tanh
and ELU, g(z) is not its slope times z, so there is no such identity: the map is then gradient x
input, e_i = x_i · dZ_k/dx_i (the same product with S_l = g'(Z_l)), an approximation, and says so.

Everything here is computed in float64, so the identity holds to ~1e-12, whatever the network's type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network

# g(z) = g'(z) z holds for these, which makes the decomposition exact.
PIECEWISE_LINEAR = ("relu", "leaky_relu")


@dataclass
class Inside:
    """What happens inside the network for one input x (784,)."""

    x: np.ndarray  # (784,) the input, float64
    hidden: list[np.ndarray]  # A_l, the activations of each hidden layer: (n_1,), (n_2,), ...
    slopes: list[np.ndarray]  # S_l: g'(Z_l) for each hidden layer (0/1 for ReLU)
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
    """The network's weights in float64, kept for explaining input after input."""

    def __init__(self, net: Network):
        self.net = net
        self.weights = [W.astype(np.float64) for W in net.weights]
        self.biases = [b.astype(np.float64) for b in net.biases]
        self.exact = net.activation.name in PIECEWISE_LINEAR

    def inside(self, x: np.ndarray) -> Inside:
        """The forward pass for one input x (784,) in [0, 1], keeping every hidden layer."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        ink = np.flatnonzero(x)  # most pixels are 0: the first product needs only the inked rows
        hidden, slopes = [], []
        last = len(self.weights) - 1
        A = x
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = (x[ink] @ W[ink] if i == 0 else A @ W) + b     # Z = A · W + b
            if i == last:
                return Inside(x, hidden, slopes, Z, self.exact)
            A = self.net.activation.forward(Z)                  # A = g(Z)
            hidden.append(A)
            slopes.append(self.net.activation.backward(np.ones_like(A), A))  # S = g'(Z)
        raise AssertionError("unreachable: a network has an output layer")

    def evidence(self, inside: Inside, digit: int) -> Evidence:
        """Digit `digit`'s evidence map: e = x * M[:, digit], going down from the output."""
        v = self.weights[-1][:, digit]                          # M[:, k] for the top layer...
        for W, S in zip(reversed(self.weights[1:-1]), reversed(inside.slopes[1:])):
            v = W @ (S * v)                                     # ...one layer down: W · S · v
        # the last step down, to the pixels: only inked pixels have evidence (e = x · M[:, k])
        ink = np.flatnonzero(inside.x)
        pixels = np.zeros_like(inside.x)
        if inside.slopes:
            v = self.weights[0][ink] @ (inside.slopes[0] * v)
        else:  # no hidden layer: W0 is the output layer, and v its column already
            v = v[ink]
        pixels[ink] = inside.x[ink] * v
        c = self.biases[0]
        for W, b, S in zip(self.weights[1:], self.biases[1:], inside.slopes):
            c = (c * S) @ W + b                                 # the biases, carried up the same way
        score = float(inside.scores[digit])
        bias = float(c[digit]) if self.exact else score - float(pixels.sum())
        return Evidence(digit, pixels, bias, score, self.exact)


def unit_grid(activations: np.ndarray) -> np.ndarray:
    """One hidden layer's activations (n,) laid out as a near-square grid (rows, columns), row by
    row, padded with NaN: 256 units as 16x16, 512 as 23x23 (the last row part empty)."""
    n = len(activations)
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.full(rows * columns, np.nan)
    grid[:n] = activations
    return grid.reshape(rows, columns)
