"""Whole numbers made from MNIST's test digits, for the benchmark's numbers part: 2 to 6 digits
side by side, as people write them on a line (never a training row).

    gaps      every digit apart, 2 to 8 pixels between them
    touching  the same, but one pair of neighbours pushed together until their ink touches
    pieces    one digit in each number cut across by a blank line 1-2 pixels high, so that it
              comes in two pieces, as a 5's flag or a 4 written in two strokes does

Each digit is cropped to its ink, scaled by 0.8 to 1.2 and set on a baseline that wanders by up
to 3 pixels, on a canvas of ink in [0, 1] (0 = paper), as nn/files/images.py makes of a picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from nn.dataset import Dataset

KINDS = ("gaps", "touching", "pieces")


@dataclass
class WrittenNumber:
    ink: np.ndarray  # (H, W) float32 in [0, 1]
    text: str  # the digits it shows
    owners: np.ndarray | None = None  # (H, W) int: which digit's ink each pixel mostly is, -1 none


def compose(test: Dataset, kind: str, count: int, seed: int = 0) -> list[WrittenNumber]:
    """`count` numbers of 2 to 6 digits from MNIST's test set, written as `kind` (KINDS) says."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    numbers = []
    for _ in range(count):
        length = int(rng.integers(2, 7))
        rows = rng.choice(len(test), size=length, replace=False)
        digits = [_ink_of(test.images[r], float(rng.uniform(0.8, 1.2))) for r in rows]
        if kind == "pieces":
            k = int(rng.integers(length))
            digits[k] = _in_two(digits[k], rng)
        gaps = [int(rng.integers(2, 9)) for _ in range(length - 1)]
        touching = int(rng.integers(length - 1)) if kind == "touching" else None
        ink, owners = _set_in_a_row(digits, gaps, touching, rng, owned=True)
        numbers.append(WrittenNumber(ink, "".join(str(int(test.labels[r])) for r in rows), owners))
    return numbers


def _ink_of(image: np.ndarray, scale: float) -> np.ndarray:
    """One MNIST digit (784,) uint8 as ink cropped to itself, scaled."""
    ink = image.reshape(28, 28).astype(np.float32) / 255
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    return np.clip(np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BILINEAR)), 0, 1)


def _in_two(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit with a blank band across it, 1-2 pixels high, at a third to two thirds of its height."""
    cut = ink.copy()
    row = int(rng.integers(ink.shape[0] // 3, max(ink.shape[0] // 3 + 1, 2 * ink.shape[0] // 3)))
    cut[row:row + int(rng.integers(1, 3))] = 0
    return cut


def _set_in_a_row(digits: list[np.ndarray], gaps: list[int], touching: int | None,
                  rng: np.random.Generator, owned: bool = False):
    """The digits left to right on one canvas, `gaps` pixels apart (the pair after `touching`
    pushed together until their ink meets), each on a baseline moved by up to 3 pixels. owned:
    (canvas, owners), owners saying which digit each pixel's ink mostly comes from (-1: none)."""
    margin = 6
    height = max(d.shape[0] for d in digits) + 2 * margin + 6
    baselines = [height - margin - 3 + int(rng.integers(-3, 4)) for _ in digits]
    width = sum(d.shape[1] for d in digits) + sum(gaps) + 2 * margin
    canvas = np.zeros((height, width), dtype=np.float32)
    owners, strongest = np.full((height, width), -1), np.zeros((height, width), dtype=np.float32)
    x = margin
    for k, d in enumerate(digits):
        if k and touching == k - 1:
            x = _touch_x(canvas, d, baselines[k], x - gaps[k - 1])
        bottom = baselines[k]
        view = canvas[bottom - d.shape[0]:bottom, x:x + d.shape[1]]
        np.maximum(view, d, out=view)
        rows, cols = slice(bottom - d.shape[0], bottom), slice(x, x + d.shape[1])
        mine = (d > strongest[rows, cols]) & (d > 0)
        owners[rows, cols][mine], strongest[rows, cols][mine] = k, d[mine]
        x += d.shape[1] + (gaps[k] if k < len(gaps) else 0)
    cols = np.flatnonzero(canvas.max(axis=0) > 0)
    end = cols[-1] + 1 + margin
    return (canvas[:, :end], owners[:, :end]) if owned else canvas[:, :end]


def _touch_x(canvas: np.ndarray, digit: np.ndarray, bottom: int, x: int) -> int:
    """The leftmost column from x leftwards where `digit` set on the canvas touches ink already there."""
    for left in range(x, max(-1, x - digit.shape[1]), -1):
        view = canvas[bottom - digit.shape[0]:bottom, left:left + digit.shape[1]]
        if ((view > 0.3) & (digit[:, :view.shape[1]] > 0.3)).any():
            return left
    return x
