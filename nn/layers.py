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

    One matrix product per kernel row i: row (y', n, x) of R (`kernel_rows`) holds the k pixels
    P[n, y', x:x + k, :] that a kernel row sees, in W[i]'s order (j, c). With R_i the H·N·W rows
    of R from (i, 0, 0) on (a slice) and W_i = W[i] as a (k·C, F) matrix, in rows (y, n, x):

        Y    = R_0·W_0 + R_1·W_1 + ... + R_(k-1)·W_(k-1) + b
        dW_i = R_iᵀ · dY                       a dense layer's dW, with R_i for X
        db   = sum of dY over n, y, x
        dR   = sum over i of dY · W_iᵀ, i rows down (R's row y + i fed output row y)
        dP[n, y', x + j, c] = sum over j of dR[y', n, x, (j, c)]

    im2col, the usual way, puts all k·k offsets side by side (each pixel k·k times) for one product:
    a copy that cost more than it saved (conv 16-32, 5x5, 64 rows: 37 ms a step against 29). With
    one input channel, k-wide products are too thin to be quick: there R_0 is im2col, k·k wide.
    """

    params = ("W", "b")

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b  # W: (k, k, C, F), b: (F,)
        self.k = W.shape[0]

    def forward(self, X, train=False):
        n, h, w, c = X.shape
        k, f = self.k, self.W.shape[3]
        if c == 1:
            slabs = [im2col(X, k)]                               # one (H·N·W, k·k) matrix
        else:
            R = kernel_rows(X, k)                                # (H + 2p, N·W, k·C)
            slabs = [R[i:i + h].reshape(-1, k * c) for i in range(k)]
        weights = self.W.reshape(len(slabs), -1, f)              # W_i: (k·C, F), or all of W
        Y = slabs[0] @ weights[0]
        for R_i, W_i in zip(slabs[1:], weights[1:]):
            Y += R_i @ W_i
        Y += self.b
        if train:
            self.slabs, self.input_shape = slabs, X.shape
        return Y.reshape(h, n, w, f).transpose(1, 0, 2, 3).copy()   # rows (y, n, x) -> (N, H, W, F)

    def backward(self, dY, input_grad=True):
        k, p, f = self.k, self.k // 2, dY.shape[3]
        n, h, w, c = self.input_shape
        dY = dY.transpose(1, 0, 2, 3).reshape(-1, f)                 # rows (y, n, x), as R's
        self.dW = np.stack([R_i.T @ dY for R_i in self.slabs]).reshape(self.W.shape)   # dW_i = R_iᵀ·dY
        self.db = np.ones(len(dY), dY.dtype) @ dY                    # db = 1ᵀ·dY, the sum over rows (10x .sum(0))
        self.slabs = None
        if not input_grad:
            return None
        # dR[y'] = sum over i of dY[y' - i] · W_iᵀ for R's rows y' = p..p+H-1 (the rest is padding),
        # as one product: row (y', n, x) of D holds dY[y' - i, n, x, :] for i = k-1, ..., 0.
        dY_padded = np.zeros((h + 2 * p, n * w, f), dY.dtype)
        dY_padded[p:p + h] = dY.reshape(h, n * w, f)
        sy, sx, sf = dY_padded.strides
        D = as_strided(dY_padded, shape=(h, n * w, k, f), strides=(sy, sx, sy, sf), writeable=False)
        W_flipped = self.W[::-1].transpose(0, 3, 1, 2).reshape(k * f, k * c)    # rows (k-1-i, f)
        dR = (D.reshape(h * n * w, k * f) @ W_flipped).reshape(h, n, w, k, c)
        dX = np.zeros((h, n, w, c), dY.dtype)
        for j in range(k):                                           # dP[y', x + j] += dR[y', x, (j, ·)]
            lo, hi = max(0, p - j), min(w, w + p - j)
            dX[:, :, lo + j - p:hi + j - p] += dR[:, :, lo:hi, j]
        return dX.transpose(1, 0, 2, 3).copy()

    def __repr__(self):
        return f"Conv2D({self.W.shape[2]} -> {self.W.shape[3]}, {self.k}x{self.k})"


def kernel_rows(X: np.ndarray, k: int) -> np.ndarray:
    """Images (N, H, W, C) -> R (H + 2p, N·W, k·C): row (y', n, x) is P[n, y', x:x + k, :], P
    being X padded with p = k // 2 zeros, laid out rows first so each R_i is a slice. R starts as a
    view of P: entry (y', n, x, j, c) lies j columns right of (y', n, x, c), so the view's strides
    are P's with the column stride twice. The reshape copies it: each pixel k times."""
    n, h, w, c = X.shape
    p = k // 2
    P = np.zeros((h + 2 * p, n, w + 2 * p, c), dtype=X.dtype)
    P[p:p + h, :, p:p + w] = X.transpose(1, 0, 2, 3)
    sy, sn, sx, sc = P.strides
    view = as_strided(P, shape=(h + 2 * p, n, w, k, c), strides=(sy, sn, sx, sx, sc), writeable=False)
    return view.reshape(h + 2 * p, n * w, k * c)


def im2col(X: np.ndarray, k: int) -> np.ndarray:
    """One-channel images (N, H, W, 1) -> cols (H·N·W, k·k): row (y, n, x) is the k x k patch
    of the padded images at (y, x), in the order (i, j). Built transposed: row (i, j) of colsᵀ is
    the batch shifted by (i, j), one contiguous copy each (3 times faster than patch by patch)."""
    n, h, w, _ = X.shape
    p = k // 2
    P = np.zeros((h + 2 * p, n, w + 2 * p), dtype=X.dtype)
    P[p:p + h, :, p:p + w] = X[..., 0].transpose(1, 0, 2)
    colsT = np.empty((k, k, h, n, w), dtype=X.dtype)
    for i, j in np.ndindex(k, k):
        colsT[i, j] = P[i:i + h, :, j:j + w]                 # cols[(y, n, x), (i, j)] = P[y + i, n, x + j]
    return colsT.reshape(k * k, h * n * w).T


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
        # entries equal to their window's largest, then only the first of a tie
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
