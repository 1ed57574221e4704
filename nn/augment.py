"""Random distortions of training digits, so the network learns more than MNIST's writers.

People slant, stretch and thicken their digits in ways MNIST's 500 writers did not. Each batch
can be distorted at random before the network sees it (train.py --augment):

Ingredients, each of which can be chosen (train.py --augment affine,elastic,stroke):

    affine   rotate by up to ± `rotate` degrees, slant (x += shear * y, |shear| up to `shear`),
             stretch each axis by a factor within 1 ± `scale`, move by up to ± `shift` pixels
    elastic  Simard, Steinkraus and Platt's elastic distortion (2003): every pixel moves by a
             random field smoothed with a Gaussian of width `sigma`, scaled by `alpha`, so the
             strokes wobble and bend as a hand does, not only as a whole page turns
    stroke   with this chance, a thicker (grey dilation) or thinner (grey erosion) pen

The geometric part is one map of coordinates per image (the affine map, plus the elastic field),
read bilinearly with NumPy, which releases the GIL in its array operations, so `parallel_map` runs
it for the coming batches on worker threads while the main thread trains.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from nn.dataset import to_inputs
from nn.errors import shown

CENTRE = 14.0  # MNIST's digits are centred on pixel (14, 14): distort around it
WORKERS = max(2, min(8, os.cpu_count() or 2))  # threads that distort batches


INGREDIENTS = ("affine", "elastic", "stroke")
DEFAULT_AUGMENT = "affine,stroke"  # what --augment alone means


@dataclass(frozen=True)
class Augmentation:
    rotate: float = 12.0  # degrees
    shear: float = 0.25
    scale: float = 0.12
    shift: float = 2.0  # pixels
    elastic: bool = False
    alpha: float = 34.0  # elastic: how far (pixels, before smoothing takes most of it away)
    sigma: float = 4.0  # elastic: how smooth (the Gaussian's width, in pixels)
    stroke: float = 0.4  # chance of a changed stroke width (half thicker, half thinner); 0: none

    @classmethod
    def of(cls, ingredients: str | Sequence[str]) -> "Augmentation":
        """The distortions named, e.g. "affine,elastic" (see INGREDIENTS)."""
        names = ingredients.split(",") if isinstance(ingredients, str) else list(ingredients)
        names = [n.strip() for n in names if n.strip()]
        unknown = [n for n in names if n not in INGREDIENTS]
        if unknown:
            raise ValueError(f"unknown distortion {shown(unknown[0])}; choose from {', '.join(INGREDIENTS)}")
        still = {} if "affine" in names else {"rotate": 0.0, "shear": 0.0, "scale": 0.0, "shift": 0.0}
        return cls(**still, elastic="elastic" in names, stroke=cls.stroke if "stroke" in names else 0.0)


def augment(images: np.ndarray, rng: np.random.Generator,
            settings: Augmentation = Augmentation()) -> np.ndarray:
    """Grey levels (B, 784) uint8 -> distorted network inputs (B, 784) float32 in [0, 1]."""
    n = len(images)
    x = to_inputs(images).reshape(n, 28, 28)

    # Each image's map, in (row, col) = (y, x) coordinates: forward = rotation . shear . scale.
    angle = np.radians(rng.uniform(-settings.rotate, settings.rotate, n))
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
    slant = rng.uniform(-settings.shear, settings.shear, n)
    shear = np.stack([np.stack([np.ones(n), np.zeros(n)], -1), np.stack([slant, np.ones(n)], -1)], 1)
    scale = np.zeros((n, 2, 2))
    scale[:, 0, 0], scale[:, 1, 1] = rng.uniform(1 - settings.scale, 1 + settings.scale, (2, n))
    forward = rotation @ shear @ scale
    # Every output pixel p reads the input at forward^-1 (p - c - t) + c (c: centre, t: shift).
    inverse = np.linalg.inv(forward)
    offset = rng.uniform(-settings.shift, settings.shift, (n, 2, 1))
    # float32 from here: a thousandth of a pixel is far below what bilinear reading can show
    inverse, offset = inverse.astype(np.float32), offset.astype(np.float32)
    row, col = np.indices((28, 28), dtype=np.float32).reshape(2, 1, -1) - np.float32(CENTRE)  # (1, 784)
    dy, dx = row - offset[:, 0], col - offset[:, 1]  # (n, 784): output pixel minus centre and shift
    coords = np.empty((2, n, 784), np.float32)  # (row, col) of the point each output pixel reads
    coords[0] = inverse[:, 0, :1] * dy + inverse[:, 0, 1:] * dx + np.float32(CENTRE)
    coords[1] = inverse[:, 1, :1] * dy + inverse[:, 1, 1:] * dx + np.float32(CENTRE)
    if settings.elastic:
        # a random displacement per pixel, uniform in [-1, 1], smoothed by a Gaussian across the
        # image (G F Gᵀ: the blur down the columns, then along the rows), then scaled: each pixel
        # reads from a little way off, its neighbours from nearly the same way off
        field = rng.uniform(-1, 1, (2 * n, 28, 28))
        G = _gaussian_matrix(settings.sigma)
        field = (field.reshape(-1, 28) @ G.T).reshape(2 * n, 28, 28)  # F Gᵀ, for every F at once
        field = (field.transpose(0, 2, 1).reshape(-1, 28) @ G.T).reshape(2 * n, 28, 28).transpose(0, 2, 1)
        coords += np.float32(settings.alpha) * field.reshape(2, n, 784)
    warped = _bilinear(x, coords[0], coords[1]).reshape(n, 28, 28)

    # Pen width: the brightest of each 2x2 block (a grey dilation) thickens by about a pixel; the
    # darkest (an erosion), blended half-way, thins.
    change = rng.random(n)
    thicker = change < settings.stroke / 2
    thinner = (change >= settings.stroke / 2) & (change < settings.stroke)
    if thicker.any():
        warped[thicker] = _dilate(warped[thicker])
    if thinner.any():
        warped[thinner] = 0.5 * (warped[thinner] + _erode(warped[thinner]))
    return np.clip(warped, 0, 1).reshape(n, 784)


def _dilate(images: np.ndarray) -> np.ndarray:
    """Each pixel of images (n, 28, 28) becomes the brightest of the 2x2 block it starts (itself,
    right, below, below-right; past the edge, the edge again): scipy.ndimage.grey_dilation with
    size (1, 2, 2), without importing scipy, which took half a second of every python train.py."""
    p = np.pad(images, ((0, 0), (0, 1), (0, 1)), mode="edge")
    return np.maximum(np.maximum(p[:, :-1, :-1], p[:, 1:, :-1]), np.maximum(p[:, :-1, 1:], p[:, 1:, 1:]))


def _erode(images: np.ndarray) -> np.ndarray:
    """Each pixel becomes the darkest of the 2x2 block it ends (itself, left, above, above-left):
    scipy.ndimage.grey_erosion with size (1, 2, 2)."""
    p = np.pad(images, ((0, 0), (1, 0), (1, 0)), mode="edge")
    return np.minimum(np.minimum(p[:, :-1, :-1], p[:, 1:, :-1]), np.minimum(p[:, :-1, 1:], p[:, 1:, 1:]))


def _bilinear(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Images x (n, 28, 28) read at fractional (rows, cols) (n, 784) each, bilinearly; 0 outside.
    (scipy's map_coordinates does the same, several times slower at this size.)"""
    n = len(x)
    rows = np.clip(rows, -1, 28, dtype=np.float32)  # beyond a pixel outside, everything reads 0
    cols = np.clip(cols, -1, 28, dtype=np.float32)
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    # padded by a border of 0 (two pixels after, for the far neighbours), so every read lands
    padded = np.zeros((n, 31, 31), dtype=np.float32)
    padded[:, 1:29, 1:29] = x
    base = (r0 * 31 + c0).astype(np.intp) + (np.arange(n) * 961 + 32)[:, None]  # (r0 + 1, c0 + 1)
    flat = padded.reshape(-1)
    a, b, c, d = flat[base], flat[1:][base], flat[31:][base], flat[32:][base]  # the 4 neighbours
    top = a + (b - a) * fc
    bottom = c + (d - c) * fc
    return top + (bottom - top) * fr


def _gaussian_matrix(sigma: float, size: int = 28) -> np.ndarray:
    """G (size, size): G @ v blurs v with a Gaussian of width sigma (zero beyond the edges)."""
    i = np.arange(size)
    G = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    return G / G.sum(axis=1, keepdims=True).max()  # the centre row sums to 1, as a kernel does


def parallel_map(function: Callable, items: Iterable, workers: int = WORKERS, ahead: int = 6) -> Iterator:
    """function(item) for each item, on `workers` threads, at most `ahead` items in advance;
    the results come back in the items' order.

    Stopping early (break, an exception, Ctrl-C) cancels what has not started and waits for the
    few items under way.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="augment")
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
