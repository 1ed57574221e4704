"""One step of learning on one drawing, with every number of it; a hidden unit's sum written out;
and what the network thinks each digit looks like.

A learning step is plain gradient descent on the drawing alone, on a float64 copy of the network
(the model in use does not change), so that it can be checked by hand. For one drawing x with the
right digit y (N = 1), softmax and cross-entropy:

    L  = -log p_y                           the loss before
    dZ = A - Y                              the output error: ten signed numbers, -(1 - p_y) at y
    dA = dZ · Wᵀ, dZ = dA * g'(Z)           passed back, layer by layer, to the first hidden layer
    dW = Aᵀ · dZ, db = dZ                   for the first layer: dW = xᵀ · dZ, the drawing times
                                            each unit's error (a picture of the drawing, per unit)
    P -= lr · dP                            every parameter; then the loss and probabilities again

`dream` finds, for each digit, the input that most raises its score: gradient ascent on the
drawing itself from a blank grid, kept in [0, 1], with a small penalty on the ink so it stays a
picture (class model visualisation, Simonyan, Vedaldi and Zisserman, 2013).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nn.activations import Activation
from nn.dataset import N_CLASSES, SIDE
from nn.errors import UsageError, shown
from nn.layers import Conv2D, Dense
from nn.network import Network

MAX_STEPS = 100
LR = {"mlp": 0.001, "cnn": 0.0003}  # a step that moves the bars, not one that jumps to the answer
MIN_LR, MAX_LR = 1e-6, 10.0  # the rates a step may take (halving and doubling stop there)
MOVED = 8  # hidden units whose weight change is shown: those whose error is largest
SMOOTH = 1.5  # a dream's gradient is blurred over this many pixels (a Gaussian's width): strokes, not speckle


@dataclass
class LearningStep:
    """What one drawing taught a copy of the network, step by step (all float64)."""

    seen: np.ndarray  # (784,) the drawing as the network reads it
    label: int  # the right digit
    lr: float
    losses: list[float] = field(default_factory=list)  # before, then after each step
    probabilities: list[np.ndarray] = field(default_factory=list)  # (10,) each: before, after each step
    output_error: np.ndarray | None = None  # (10,) A - Y, at the first step
    hidden_error: list[np.ndarray] = field(default_factory=list)  # dZ of each hidden dense layer (first step)
    units: list[int] = field(default_factory=list)  # the first layer's units (a CNN: filters) that moved most
    weight_change: list[np.ndarray] = field(default_factory=list)  # their -lr · dW, each (28, 28)
    filter_change: np.ndarray | None = None  # a CNN's first filters: -lr · dW (F, k, k)
    net: Network | None = None  # the copy, after the steps


def check_step(label: object, lr: object, steps: object, name: Callable[[str], str] = str) -> tuple[int, float, int]:
    """(label, lr, steps) as a learning step takes them, or a UsageError naming the one that is
    wrong as `name` writes it (python -m nn step: "--lr"): the right digit 0-9, a rate above 0 and
    at most MAX_LR, 1 to MAX_STEPS steps."""
    if type(label) is not int or not 0 <= label <= 9:
        raise UsageError(f"{name('label')} {shown(label)}: the right digit is a whole number 0-9")
    if type(lr) not in (int, float) or not 0 < lr <= MAX_LR:
        raise UsageError(f"{name('lr')} {shown(lr)}: a learning rate is above 0 and at most {MAX_LR:g}")
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"{name('steps')} {shown(steps)}: take 1 to {MAX_STEPS} steps at a time")
    return label, float(lr), steps


def halved_or_doubled(lr: float, double: bool) -> float:
    """The rate [ halves and ] doubles, kept within MIN_LR and MAX_LR."""
    return min(MAX_LR, max(MIN_LR, lr * 2 if double else lr / 2))


def learning_step(net: Network, seen: np.ndarray, label: int, lr: float, steps: int = 1) -> LearningStep:
    """`steps` steps of P -= lr · dP on one drawing seen (784,) with the right digit `label`, on a
    float64 copy of `net`; the first step's errors and changes, and the loss and probabilities
    before and after each step."""
    if net.loss.name != "cross_entropy":
        raise UsageError("a learning step is shown for softmax with cross-entropy; this model uses "
                         f"{net.loss.name}")
    copy = net.astype(np.float64)
    x, y = np.asarray(seen, np.float64).reshape(1, -1), np.array([label])
    step = LearningStep(np.asarray(seen, np.float64).reshape(-1), label, lr)
    for k in range(steps):
        A, loss = copy.forward(x, y, train=True)  # the forward pass, keeping what backward needs
        step.losses.append(loss)
        step.probabilities.append(A[0].copy())
        errors = _backward(copy, A, y)  # dZ reaching each layer with parameters, first to last
        if k == 0:
            _first_step(step, copy, errors)
        for p, g in zip(copy.parameters(), [g for layer in copy.layers for g in layer.gradients()]):
            p -= lr * g  # P -= lr · dP
    A, loss = copy.forward(x, y)
    step.losses.append(loss)
    step.probabilities.append(A[0].copy())
    step.net = copy
    return step


def _backward(net: Network, A: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Network.backward, written out so that each layer's dZ can be shown: the error dZ arriving
    at every layer with parameters, in the order of the layers."""
    dY = net.loss.backward(A, y)  # dZ = (A - Y) / N at the output, N = 1
    errors = []
    for i in range(len(net.layers) - 1, net.first - 1, -1):
        layer = net.layers[i]
        if layer.params:
            errors.append(dY)
        dY = layer.backward(dY, input_grad=i > net.first)  # dA = dZ · Wᵀ, then dZ = dA * g'(Z)
    return errors[::-1]


def _first_step(step: LearningStep, net: Network, errors: list[np.ndarray]) -> None:
    dense = [e for e, layer in zip(errors, [l for l in net.layers if l.params]) if isinstance(layer, Dense)]
    step.output_error = dense[-1][0].copy()  # A - Y
    step.hidden_error = [e[0].copy() for e in dense[:-1]]  # dZ of each hidden dense layer
    first = next(layer for layer in net.layers if layer.params)
    if isinstance(first, Conv2D):  # a CNN: its first filters' change, and which changed most
        step.filter_change = np.moveaxis(-step.lr * first.dW[:, :, 0, :], -1, 0)
        moved = np.abs(step.filter_change).sum(axis=(1, 2))
        step.units = [int(f) for f in np.argsort(-moved, kind="stable")[:MOVED]]
    elif step.hidden_error:  # dW = xᵀ · dZ: unit j's column is the drawing times dZ_j
        dZ = step.hidden_error[0]
        step.units = [int(j) for j in np.argsort(-np.abs(dZ), kind="stable")[:MOVED]]
        step.weight_change = [(-step.lr * first.dW[:, j]).reshape(SIDE, SIDE) for j in step.units]


@dataclass
class UnitSum:
    """A hidden unit's sum for one input, written out: z = w·x + b, then its activation."""

    layer: int
    unit: int
    weights: np.ndarray  # (784,) for the first layer: a picture
    terms: list[tuple[int, float, float]]  # (input index, w_i, x_i) of the largest |w_i x_i|
    rest: float  # the other terms' sum
    bias: float
    z: float
    a: float  # g(z)
    activation: str

    def written(self, shown: int | None = None) -> list[str]:
        """The sum as the views show it, one line each: its `shown` largest terms (default: all kept)."""
        terms = self.terms[:shown]
        rest = self.rest + sum(w * x for _, w, x in self.terms[len(terms):])
        others = int(np.count_nonzero(self.weights)) - len(terms)
        silent = self.activation == "relu" and self.z <= 0
        return ([f"z = w·x + b, the largest of the {len(self.weights)} terms:"]
                + [f"  {w:+.3f} × {x:.2f} (row {i // SIDE}, col {i % SIDE}) = {w * x:+.3f}" for i, w, x in terms]
                + [f"  + the other {others} terms {rest:+.3f}, the bias {self.bias:+.3f}",
                   f"  = z {self.z:+.3f}; {self.activation}(z) = {self.a:.3f}" + (": silent" if silent else "")])


@dataclass
class FilterMap:
    """A CNN's first convolution, one filter: its k x k weights, its bias, and its feature map for
    one input (after the activation): Y[y, x] = g(b + sum over i, j of P[y + i, x + j] · W[i, j])."""

    unit: int  # the filter
    weights: np.ndarray  # (k, k)
    bias: float
    map: np.ndarray  # (H, W)

    def written(self) -> list[str]:
        k = len(self.weights)
        return [f"Filter {self.unit}: {k}x{k} weights, bias {self.bias:+.3f};",
                f"each point of its map is g(b + {k * k} products),",
                f"the weights times the {k}x{k} pixels under it;",
                f"the map's brightest point: {float(self.map.max()):.3f}"]


def unit_sum(net: Network, x: np.ndarray, unit: int, largest: int = 6) -> UnitSum:
    """The first hidden layer's unit `unit` on input x (784,): its weights and its sum, term by term."""
    first = next(layer for layer in net.layers if layer.params)
    if not isinstance(first, Dense) or len(net.sizes) < 3:
        raise UsageError("a unit's sum is written out for a network whose first layer is dense and hidden")
    if not 0 <= unit < first.W.shape[1]:
        raise UsageError(f"unit {unit}: the first hidden layer has units 0 to {first.W.shape[1] - 1}")
    x = np.asarray(x, np.float64).reshape(-1)
    w = first.W[:, unit].astype(np.float64)
    products = w * x
    order = np.argsort(-np.abs(products), kind="stable")[:largest]
    z = float(products.sum() + first.b[unit])
    activation = next(layer for layer in net.layers if isinstance(layer, Activation))
    a = float(activation.g(np.array([z]))[0])
    return UnitSum(0, unit, w, [(int(i), float(w[i]), float(x[i])) for i in order if products[i] != 0],
                   float(products.sum() - products[order].sum()), float(first.b[unit]), z, a, activation.name)


def filter_map(net: Network, x: np.ndarray, unit: int) -> FilterMap:
    """The first convolution's filter `unit` and its feature map for input x (784,)."""
    first = next(layer for layer in net.layers if layer.params)
    if not isinstance(first, Conv2D):
        raise UsageError("a filter is shown for a network whose first layer is a convolution")
    filters = first.W.shape[-1]
    if not 0 <= unit < filters:
        raise UsageError(f"filter {unit}: the first convolution has filters 0 to {filters - 1}")
    A = np.asarray(x, np.float64).reshape(1, -1)
    for layer in net.layers:
        A = layer.forward(A)
        if isinstance(layer, Activation):  # the first convolution's maps, after its activation
            break
    return FilterMap(unit, first.W[:, :, 0, unit].astype(np.float64), float(first.b[unit]),
                     np.asarray(A[0, :, :, unit], np.float64))


def dream(net: Network, steps: int = 40, lr: float = 0.15, penalty: float = 0.05) -> np.ndarray:
    """(10, 784) in [0, 1]: for each digit k, the input that most raises its score Z_k, found by
    gradient ascent from a blank grid: x += lr (g / max|g| - penalty x) with g = dZ_k/dx (the
    gradient smoothed over a pixel and scaled so its largest entry is 1: even steps however steep
    the score), then x kept in [0, 1]. All ten at once, one row each, on a float32 copy."""
    from scipy import ndimage  # 0.15 s to import: only once the dreams are asked for

    copy = net.astype(np.float32)
    x = np.zeros((N_CLASSES, SIDE * SIDE), dtype=np.float32)
    target = np.eye(N_CLASSES)
    for _ in range(steps):
        A = x
        for layer in copy.layers:
            A = layer.forward(A, train=True)  # the scores Z, before softmax
        dY = target  # dZ_k/dZ = 1 for its own digit, 0 for the others
        for layer in reversed(copy.layers):
            dY = layer.backward(dY, input_grad=True)
        # smoothed a little, so that neighbouring pixels move together: strokes, not speckle
        g = ndimage.gaussian_filter(dY.reshape(-1, SIDE, SIDE), sigma=(0, SMOOTH, SMOOTH)).reshape(len(x), -1)
        x = np.clip(x + lr * (g / (np.abs(g).max(axis=1, keepdims=True) + 1e-12) - penalty * x), 0, 1)
    return x.astype(np.float32)
