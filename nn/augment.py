"""Random distortions of training digits, so the network learns more than MNIST's writers.

People slant, stretch and thicken their digits in ways MNIST's 500 writers did not. Each batch
can be distorted at random before the network sees it (train.py --augment):

    rotate   turn by up to ± `rotate` degrees
    shear    slant: x += shear * y, with |shear| up to `shear`
    scale    stretch each axis by a factor within 1 ± `scale`
    shift    move by up to ± `shift` pixels in each direction
    stroke   with this chance, a thicker (grey dilation) or thinner (grey erosion) pen

The geometric part is one affine map per image, applied with scipy.ndimage.map_coordinates
(bilinear). scipy releases the GIL there, so `prefetch` can run it on a background thread while
the main thread trains.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .data import to_inputs

CENTRE = 14.0  # MNIST's digits are centred on pixel (14, 14): distort around it


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
    grid = np.indices((28, 28), dtype=np.float64).reshape(2, -1)  # (2, 784): rows, cols
    coords = np.empty((3, n, 784))  # (image, row, col) of the point each output pixel reads
    coords[0] = np.arange(n)[:, None]
    coords[1:] = (inverse @ (grid - CENTRE - offset) + CENTRE).transpose(1, 0, 2)
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


def prefetch(batches: Iterator, size: int = 4) -> Iterator:
    """Compute `batches` on a background thread, up to `size` ahead; yield them in order.

    Stopping early (break, an exception, Ctrl-C) lets the thread finish its current item and end.
    """
    items: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as e:  # hand the error to the consumer
            items.put(e)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
