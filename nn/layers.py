"""The layers a network is built from: each a forward pass and a backward pass, with its formulas.

Rows are samples: a dense layer takes X (N, n_in); a convolution takes images X (N, H, W, C),
channels last. Every layer has

    forward(X, train)   its output Y; with train=True it keeps what backward will need
    backward(dY)        dX, the gradient for the layer below, from dY, the gradient of the mean loss
                        with respect to Y; a layer with parameters also leaves dW and db beside W
                        and b. input_grad=False skips dX (the first layer: nothing learns the input)

The activations (ReLU and the others) are layers too: nn/activations.py.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


class Layer:
    params: tuple[str, ...] = ()  # the names of the arrays training changes, e.g. ("W", "b")

    def forward(self, X: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dY: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def parameters(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in self.params]

    def gradients(self) -> list[np.ndarray]:
        """After backward: [dW, db], in the order of parameters()."""
        return [getattr(self, "d" + name) for name in self.params]

    def __repr__(self) -> str:
        return type(self).__name__


class Dense(Layer):
    """A fully connected layer, X (N, n_in) -> Z (N, n_out):

        Z  = X · W + b            W: (n_in, n_out), b: (n_out,)
        dW = Xᵀ · dZ              the weight gradient
        db = sum of dZ's rows     one entry per unit, not one number
        dX = dZ · Wᵀ
    """

    params = ("W", "b")

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b

    def forward(self, X, train=False):
        if train:
            self.X = X
        return X @ self.W + self.b

    def backward(self, dZ, input_grad=True):
        self.dW = self.X.T @ dZ
        self.db = dZ.sum(axis=0)
        dX = dZ @ self.W.T if input_grad else None
        self.X = None
        return dX

    def __repr__(self):
        return f"Dense({self.W.shape[0]} -> {self.W.shape[1]})"


class Conv2D(Layer):
    """A convolution with stride 1 and 'same' padding: images (N, H, W, C) -> (N, H, W, F), one
    output channel per filter, each filter a k x k x C block of weights W[:, :, :, f]:

        Y[n, y, x, f] = b[f] + sum over i, j < k and c < C of  P[n, y + i, x + j, c] · W[i, j, c, f]

    where P is X with p = k // 2 rows and columns of zeros around it, so Y is as big as X.

    im2col turns that sum into one matrix product. Row (n, y, x) of `cols` holds the k·k·C inputs
    that output position sees, P[n, y:y+k, x:x+k, :] laid out flat in the order (i, j, c), which is
    also the order of W's first three axes. With W as a (k·k·C, F) matrix:

        Y  = cols · W + b            cols: (N·H·W, k·k·C)
        dW = colsᵀ · dY              the same as dense layer's dW, with cols for X
        db = sum of dY over n, y, x
        dP[n, y + i, x + j, c] += sum over f of dY[n, y, x, f] · W[i, j, c, f]
                                     every input gets back a share from each output it fed:
                                     one product dY · W[i, j]ᵀ per kernel offset (i, j), added
                                     to P's gradient shifted by (i, j); dX is dP without the border
                                     (measured on a 128-row batch: 20 ms, where scattering all of
                                     cols' gradient back at once, col2im, took 59 ms)
    """

    params = ("W", "b")

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b  # W: (k, k, C, F), b: (F,)
        self.k = W.shape[0]

    def forward(self, X, train=False):
        n, h, w, _ = X.shape
        cols = im2col(X, self.k)
        Y = cols @ self.W.reshape(-1, self.W.shape[3])
        Y += self.b
        if train:
            self.cols, self.input_shape = cols, X.shape
        return Y.reshape(n, h, w, -1)

    def backward(self, dY, input_grad=True):
        k, p = self.k, self.k // 2
        n, h, w, c = self.input_shape
        dY = dY.reshape(-1, dY.shape[3])                      # (N·H·W, F)
        self.dW = (self.cols.T @ dY).reshape(self.W.shape)    # dW = colsᵀ · dY
        self.db = np.ones(len(dY), dY.dtype) @ dY             # db = 1ᵀ·dY, the sum over n, y, x (10x .sum(0))
        self.cols = None
        if not input_grad:
            return None
        dP = np.zeros((n, h + 2 * p, w + 2 * p, c), dtype=dY.dtype)
        for i in range(k):
            for j in range(k):                                # dP shifted by (i, j) += dY · W[i, j]ᵀ
                dP[:, i:i + h, j:j + w, :] += (dY @ self.W[i, j].T).reshape(n, h, w, c)
        return dP[:, p:p + h, p:p + w, :]

    def __repr__(self):
        return f"Conv2D({self.W.shape[2]} -> {self.W.shape[3]}, {self.k}x{self.k})"


def im2col(X: np.ndarray, k: int) -> np.ndarray:
    """Images (N, H, W, C) -> cols (N·H·W, k·k·C): row (n, y, x) is the k x k x C patch of X
    (padded with k // 2 zeros) centred on pixel (y, x), flattened in the order (i, j, c).

    The patches are first a view of the padded images, with no copy: patch (n, y, x) starts at
    P[n, y, x, 0], and its entry (i, j, c) lies i rows down and j columns right of that, so the
    view's six strides are P's own four with the row and column strides used twice. The reshape
    then copies the patches into rows: the one copy im2col needs. (sliding_window_view with a
    transpose gives the same view, 5 times slower for one drawing and 1.3 times for a batch.)"""
    n, h, w, c = X.shape
    p = k // 2
    if c == 1:
        return _im2col_one_channel(X, k)
    P = np.zeros((n, h + 2 * p, w + 2 * p, c), dtype=X.dtype)
    P[:, p:p + h, p:p + w] = X
    sn, sy, sx, sc = P.strides
    patches = as_strided(P, shape=(n, h, w, k, k, c), strides=(sn, sy, sx, sy, sx, sc), writeable=False)
    return patches.reshape(n * h * w, k * k * c)


def _im2col_one_channel(X: np.ndarray, k: int) -> np.ndarray:
    """im2col for one channel, built transposed: row (i, j) of (k·k, N·H·W) is the padded batch
    shifted by (i, j), one contiguous copy each (3 times faster than the strided copy for C = 1)."""
    n, h, w, _ = X.shape
    p = k // 2
    P = np.zeros((n, h + 2 * p, w + 2 * p), dtype=X.dtype)
    P[:, p:p + h, p:p + w] = X[..., 0]
    colsT = np.empty((k, k, n, h, w), dtype=X.dtype)
    for i, j in np.ndindex(k, k):
        colsT[i, j] = P[:, i:i + h, j:j + w]               # cols[(n, y, x), (i, j)] = P[n, y + i, x + j]
    return colsT.reshape(k * k, n * h * w).T


class MaxPool2D(Layer):
    """2x2 max-pooling: images (N, H, W, C) -> (N, H // 2, W // 2, C), each output the largest
    of a 2x2 window (an odd last row or column is left out, as PyTorch does):

        Y[n, y, x, c] = max over a, b in {0, 1} of X[n, 2y + a, 2x + b, c]
        dX[n, 2y + a, 2x + b, c] = dY[n, y, x, c] at the window's largest entry, 0 at the others

    When several entries tie for the largest (four zeros from a ReLU, the same value across a
    blank stretch of the image), the first, in the order (0, 0), (0, 1), (1, 0), (1, 1), gets the
    gradient: the max is one input's value, so only one input can move it.
    """

    def forward(self, X, train=False):
        windows = _windows(X)                    # (N, H/2, 2, W/2, 2, C), a view
        Y = np.maximum(np.maximum(windows[:, :, 0, :, 0], windows[:, :, 0, :, 1]),
                       np.maximum(windows[:, :, 1, :, 0], windows[:, :, 1, :, 1]))
        if train:
            self.X, self.Y = X, Y
        return Y

    def backward(self, dY, input_grad=True):
        X, Y = self.X, self.Y
        n, h, w, c = Y.shape
        # Every entry equal to its window's largest, then only the first of a tie: an entry
        # loses when one before it in the window is largest too.
        largest = _windows(X) == Y[:, :, None, :, None, :]        # (N, H/2, 2, W/2, 2, C)
        seen = largest[:, :, 0, :, 0].copy()
        for a, b in ((0, 1), (1, 0), (1, 1)):
            entry = largest[:, :, a, :, b]
            entry &= ~seen
            seen |= entry
        dX = (largest * dY[:, :, None, :, None, :]).reshape(n, 2 * h, 2 * w, c)
        self.X = self.Y = None
        if dX.shape != X.shape:                  # an odd row or column that no window covered
            dX = np.pad(dX, ((0, 0), (0, X.shape[1] - 2 * h), (0, X.shape[2] - 2 * w), (0, 0)))
        return dX

    def __repr__(self):
        return "MaxPool2D(2x2)"


def _windows(X: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> the 2x2 windows as a view (N, H // 2, 2, W // 2, 2, C)."""
    n, h, w, c = X.shape
    return X[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)


class Flatten(Layer):
    """Images (N, H, W, C) -> rows (N, H·W·C), for the dense layers after the convolutions."""

    def forward(self, X, train=False):
        if train:
            self.input_shape = X.shape[1:]
        return X.reshape(len(X), -1)

    def backward(self, dY, input_grad=True):
        return dY.reshape(len(dY), *self.input_shape)


class Unflatten(Layer):
    """Rows of pixels (N, H·W·C) -> images (N, H, W, C): the network's inputs are rows of 784
    pixels, and a convolution wants them as 28x28 pictures with one channel."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)

    def forward(self, X, train=False):
        return X.reshape(len(X), *self.shape)

    def backward(self, dY, input_grad=True):
        return dY.reshape(len(dY), -1)

    def __repr__(self):
        return f"Unflatten({'x'.join(map(str, self.shape))})"
