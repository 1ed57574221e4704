"""Random distortions of training digits, so the network learns more than MNIST's writers.

People slant, stretch and thicken their digits in ways MNIST's 500 writers did not. Each batch
can be distorted at random before the network sees it (train.py --augment):

    rotate   turn by up to ± `rotate` degrees
    shear    slant: x += shear * y, with |shear| up to `shear`
    scale    stretch each axis by a factor within 1 ± `scale`
    shift    move by up to ± `shift` pixels in each direction
    stroke   with this chance, a thicker (grey dilation) or thinner (grey erosion) pen

The geometric part is one affine map per image, applied with scipy.ndimage.map_coordinates
(bilinear). scipy releases the GIL there, so `parallel_map` runs it for the coming batches on two
threads while the main thread trains: distorting costs about ten times what training a batch does.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from .data import to_inputs

CENTRE = 14.0  # MNIST's digits are centred on pixel (14, 14): distort around it
WORKERS = max(2, min(8, os.cpu_count() or 2))  # threads that distort batches


@dataclass(frozen=True)
class Augmentation:
    rotate: float = 12.0  # degrees
    shear: float = 0.25
    scale: float = 0.12
    shift: float = 2.0  # pixels
    stroke: float = 0.4  # chance of a changed stroke width (half thicker, half thinner)


def augment(images: np.ndarray, rng: np.random.Generator,
            settings: Augmentation = Augmentation()) -> np.ndarray:
    """Grey levels (B, 784) uint8 -> distorted network inputs (B, 784) float32 in [0, 1]."""
    from scipy import ndimage

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
    row, col = np.indices((28, 28), dtype=np.float64).reshape(2, 1, -1) - CENTRE  # (1, 784) each
    dy, dx = row - offset[:, 0], col - offset[:, 1]  # (n, 784): output pixel minus centre and shift
    coords = np.empty((3, n, 784))  # (image, row, col) of the point each output pixel reads
    coords[0] = np.arange(n)[:, None]
    coords[1] = inverse[:, 0, :1] * dy + inverse[:, 0, 1:] * dx + CENTRE
    coords[2] = inverse[:, 1, :1] * dy + inverse[:, 1, 1:] * dx + CENTRE
    warped = ndimage.map_coordinates(x, coords.reshape(3, -1), order=1, cval=0.0)
    warped = warped.reshape(n, 28, 28).astype(np.float32)

    # Pen width: a 2x2 grey dilation thickens by about a pixel; an erosion blended half-way thins.
    change = rng.random(n)
    thicker = change < settings.stroke / 2
    thinner = (change >= settings.stroke / 2) & (change < settings.stroke)
    if thicker.any():
        warped[thicker] = ndimage.grey_dilation(warped[thicker], size=(1, 2, 2))
    if thinner.any():
        warped[thinner] = 0.5 * (warped[thinner] + ndimage.grey_erosion(warped[thinner], size=(1, 2, 2)))
    return np.clip(warped, 0, 1).reshape(n, 784)


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
