"""Turning a drawing or a picture of a digit into what the network expects: an MNIST-like image.

MNIST's digits were cropped to their ink, scaled to fit a 20x20 box keeping their proportions,
and placed in a 28x28 field so that their centre of mass falls on the field's centre (pixel
14, 14, by a whole-pixel shift: in MNIST it lies within half a pixel of it). People draw small,
large, off-centre, thin or thick, so `normalize` does the same to every drawing and image:

    crop to the ink -> bring hairlines and bold strokes to MNIST's width
    -> resize to fit 20x20 (Pillow, Lanczos)
    -> scale so the darkest ink is 1 -> place the centre of mass at (14, 14)

(nn/files/images.py turns a picture file of any size and either polarity into ink for it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from nn.dataset import SIDE
from nn.errors import DataError

BOX = 20  # the digit's bounding box is scaled to fit 20x20
CENTRE = 14.0  # where the centre of mass goes, in pixel indices (rows and columns 0-27)
INK_THRESHOLD = 0.1  # a pixel with less ink than this (after scaling to 0-1) is background
# MNIST's stroke width is 0.10 to 0.26 of the digit's longer side (1st to 99th percentile, median
# 0.14). Strokes outside this range are made thicker or thinner, towards the median.
STROKE_RANGE = (0.09, 0.26)
STROKE_TARGET = 0.14
LARGEST = 8 * BOX  # pixels: a larger digit is first averaged down to this


@dataclass(frozen=True)
class Step:
    """One step from a drawing or a picture to what the network sees: its picture (ink in [0, 1]),
    and what was done and why. (nn/files/ notes a picture's steps as plain (name, picture, says).)"""

    name: str
    picture: np.ndarray  # (H, W) ink in [0, 1]
    says: str


def normalize(ink: np.ndarray, steps: list[Step] | None = None) -> np.ndarray:
    """A drawing (H, W) with ink in [0, 1] (0 = background) -> (28, 28) float32 like an MNIST digit.
    With `steps`, each step's picture is added to it, with what was done and why (the steps view).

    A drawing with no ink gives all zeros. NaN or infinite values raise DataError.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2 or min(ink.shape) < 1:
        raise DataError(f"a drawing must be a 2-D array of ink, got shape {ink.shape}")
    if not np.isfinite(ink).all():
        raise DataError("the drawing holds NaN or infinite values")
    ink = np.clip(ink, 0, 1)
    mask = ink > INK_THRESHOLD * max(float(ink.max()), 1e-6)
    if not ink.any() or not mask.any():
        return np.zeros((SIDE, SIDE), dtype=np.float32)
    note = steps.append if steps is not None else lambda step: None
    note(Step("drawing", ink, "Your drawing, as you drew it: anywhere, any size."))

    cropped = _reduced(_crop(ink, mask))
    note(Step("cropped", cropped, "Cropped to its ink: where you drew it stops mattering."))
    matched = _match_stroke_width(cropped)
    digit = _crop(matched, matched > INK_THRESHOLD * matched.max())  # the width change moved the edges
    if matched is not cropped:
        note(Step("pen", digit, "The pen made thinner or thicker, to MNIST's stroke width."))
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (width, height)
    box = np.asarray(Image.fromarray(digit, mode="F").resize(size, Image.Resampling.LANCZOS))
    box = np.clip(box, 0, 1)  # Lanczos overshoots a little at sharp edges
    if box.max() > 0:
        box = box / box.max()
    note(Step("scaled", box, f"Scaled to {BOX} pixels on its longer side, its shape kept, as MNIST's were."))

    # The box's centre of mass, then the whole-pixel offset that puts it at (14, 14).
    total = box.sum()
    cy = (box.sum(axis=1) * np.arange(box.shape[0])).sum() / total
    cx = (box.sum(axis=0) * np.arange(box.shape[1])).sum() / total
    # A symmetric digit's centre lies on a half pixel, give or take the last bits of Pillow's
    # resize, which differ between Pillow versions: rounded to 1/1000 of a pixel first, so that
    # such a tie goes the same way on every version.
    dy, dx = round(float(CENTRE - cy), 3), round(float(CENTRE - cx), 3)
    # A very lopsided drawing would be pushed partly off the field: it stops at the edge instead,
    # keeping all its ink (no MNIST digit is that lopsided, so for them this changes nothing).
    top = min(max(int(round(dy)), 0), SIDE - box.shape[0])
    left = min(max(int(round(dx)), 0), SIDE - box.shape[1])
    field = np.zeros((SIDE, SIDE), dtype=np.float32)
    field[top:top + box.shape[0], left:left + box.shape[1]] = box
    note(Step("centred", field, f"Set in {SIDE} x {SIDE}, its centre of mass in the middle, as MNIST's were."))
    note(Step("numbers", field, f"The {SIDE * SIDE} numbers the network receives: 0 paper, 1 ink."))
    return field


def _crop(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The smallest rectangle of `ink` holding every True pixel of `mask`."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _reduced(digit: np.ndarray) -> np.ndarray:
    """A digit larger than LARGEST pixels (a photo's) averaged down by a whole factor to within
    it: its shape and its strokes' share of its size are kept, and the stroke width is matched on
    a few thousand pixels rather than a million (a 1000-pixel digit's took seconds)."""
    factor = -(-max(digit.shape) // LARGEST)
    if factor <= 1:
        return digit
    return np.asarray(Image.fromarray(digit, mode="F").reduce(factor), dtype=np.float32)


def stroke_width(digit: np.ndarray) -> float:
    """The pen's width in pixels, estimated as 2 x ink area / boundary length.

    A stroke of width w and length L covers w L pixels and has about 2 L boundary pixels.
    """
    mask = digit > 0.5 * digit.max()
    area = int(mask.sum())
    padded = _pad(mask, 1)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & mask
    return 2 * area / max(1, area - int(inner.sum()))


def _match_stroke_width(digit: np.ndarray) -> np.ndarray:
    """Widen hairlines (a pen on a big scan), narrow bold strokes (a small drawing, a marker).

    Grey dilation (MaxFilter) or erosion (MinFilter) with a (2k+1)-pixel window changes the
    width by 2k pixels; nothing changes for strokes within MNIST's range.
    """
    if not digit.any():
        return digit
    side = max(digit.shape)
    width = stroke_width(digit)
    low, high = STROKE_RANGE
    if low * side <= width <= high * side:
        return digit
    k = int(round(abs(STROKE_TARGET * side - width) / 2))
    if k < 1:
        return digit
    kind = ImageFilter.MaxFilter if width < low * side else ImageFilter.MinFilter
    image = Image.fromarray(_pad(digit, k), mode="F").filter(kind(2 * k + 1))  # room to grow
    changed = np.asarray(image, dtype=np.float32)
    return changed if changed.max() > INK_THRESHOLD else digit  # never erode a digit away


def _pad(array: np.ndarray, k: int) -> np.ndarray:
    """`array` (H, W) inside a border of k zeros: np.pad's result, 20 times faster on a drawing."""
    padded = np.zeros((array.shape[0] + 2 * k, array.shape[1] + 2 * k), dtype=array.dtype)
    padded[k:k + array.shape[0], k:k + array.shape[1]] = array
    return padded


def to_grey_levels(field: np.ndarray) -> np.ndarray:
    """A normalised (28, 28) field in [0, 1] -> (784,) uint8 grey levels, as in the CSV files."""
    return np.round(np.clip(field, 0, 1) * 255).astype(np.uint8).reshape(-1)
