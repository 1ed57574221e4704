"""Turning a drawing or a picture of a digit into what the network expects: an MNIST-like image.

MNIST's digits were cropped to their ink, scaled to fit a 20x20 box keeping their proportions,
and placed in a 28x28 field so that their centre of mass falls on the field's centre (pixel
14, 14, by a whole-pixel shift: in MNIST it lies within half a pixel of it). People draw small,
large, off-centre, thin or thick, so `normalize` does the same to every drawing and image:

    crop to the ink -> bring hairlines and bold strokes to MNIST's width
    -> resize to fit 20x20 (Pillow, Lanczos)
    -> scale so the darkest ink is 1 -> place the centre of mass at (14, 14)

`load_image` turns a PNG/JPG/BMP of any size and either polarity into ink in [0, 1] for it.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from .dataset import SIDE
from .plumbing.errors import DataError
from .plumbing.files import open_input, read_error

BOX = 20  # the digit's bounding box is scaled to fit 20x20
CENTRE = 14.0  # where the centre of mass goes, in pixel indices (rows and columns 0-27)
INK_THRESHOLD = 0.1  # a pixel with less ink than this (after scaling to 0-1) is background
# MNIST's stroke width is 0.10 to 0.26 of the digit's longer side (1st to 99th percentile, median
# 0.14). Strokes outside this range are made thicker or thinner, towards the median.
STROKE_RANGE = (0.09, 0.26)
STROKE_TARGET = 0.14


def normalize(ink: np.ndarray) -> np.ndarray:
    """A drawing (H, W) with ink in [0, 1] (0 = background) -> (28, 28) float32 like an MNIST digit.

    A drawing with no ink gives all zeros. NaN or infinite values raise DataError.
    """
    from PIL import Image

    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2 or min(ink.shape) < 1:
        raise DataError(f"a drawing must be a 2-D array of ink, got shape {ink.shape}")
    if not np.isfinite(ink).all():
        raise DataError("the drawing holds NaN or infinite values")
    ink = np.clip(ink, 0, 1)
    mask = ink > INK_THRESHOLD * max(float(ink.max()), 1e-6)
    if not ink.any() or not mask.any():
        return np.zeros((SIDE, SIDE), dtype=np.float32)

    digit = _match_stroke_width(_crop(ink, mask))
    digit = _crop(digit, digit > INK_THRESHOLD * digit.max())  # the width change moved the edges
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (width, height)
    box = np.asarray(Image.fromarray(digit, mode="F").resize(size, Image.Resampling.LANCZOS))
    box = np.clip(box, 0, 1)  # Lanczos overshoots a little at sharp edges
    if box.max() > 0:
        box = box / box.max()

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
    return field


def _crop(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The smallest rectangle of `ink` holding every True pixel of `mask`."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


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
    from PIL import Image, ImageFilter

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


MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels, decoded: about 160 MB at most for RGBA


def load_image(path: Path | str, max_side: int = 1024) -> np.ndarray:
    """A picture of one digit -> ink (H, W) float32 in [0, 1], ready for `normalize`.

    Any size; PNG, JPG, BMP (whatever Pillow reads); dark ink on light paper or light on dark
    (the border's median grey decides which is background). Transparent backgrounds count as
    background. Large pictures are first reduced to `max_side` pixels on their long side: JPEGs
    while they are decoded, any size; other formats up to MAX_IMAGE_PIXELS, refused beyond it
    before decoding (a small PNG can unpack to gigabytes).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        f = open_input(path)
    except OSError as e:
        raise DataError(read_error(path, e, "an image")) from None
    try:
        with warnings.catch_warnings(), f:
            # Pillow's warnings are about what it could not make of a file's extras ("Corrupt
            # EXIF data", an odd palette), two lines each naming Pillow's own source, while the
            # picture itself reads: not for the user. Big photos are fine too (they are reduced
            # below); the size limit is ours, checked first.
            warnings.simplefilter("ignore")
            with Image.open(f) as image:
                image.draft("L", (max_side, max_side))  # JPEG: decode at a reduced size
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataError(f"{path}: the image is {width:,}x{height:,} pixels, more than the "
                                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels this reads; make it "
                                    "smaller (a digit needs no more than 1000x1000)")
                image = ImageOps.exif_transpose(image)
                image.load()
                image = _reduce(image, max_side)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read (PNG, JPG, BMP...)") from None
    except Image.DecompressionBombError:
        raise DataError(f"{path}: image is too large to read safely") from None
    except MemoryError:
        raise DataError(f"{path}: out of memory while decoding the image") from None
    except (OSError, ValueError, SyntaxError, struct.error, EOFError) as e:
        raise DataError(f"{path}: corrupt or truncated image ({e})") from None

    if image.mode in ("I", "F"):  # 16-bit, 32-bit or float: scale the range, don't clip
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"{path}: the image holds NaN or infinite pixel values")
        span = float(values.max() - values.min())
        grey = (values - values.min()) / span if span > 0 else np.zeros_like(values)
        image = Image.fromarray(np.round(grey * 255).astype(np.uint8), mode="L")
    image = _flatten_alpha(image)
    grey = np.asarray(image, dtype=np.float32) / 255
    return ink_from_grey(grey)


def _reduce(image, max_side: int):
    """The decoded picture in a mode Pillow can resize, reduced to `max_side` on its long side
    before any conversion to floats (which would take four to eight bytes a pixel)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I")
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _flatten_alpha(image):
    """Grey levels 'L'; transparent pixels become the background (the opposite of the ink)."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba, dtype=np.float32)[..., 3]
        grey = np.asarray(rgba.convert("L"), dtype=np.float32)
        opaque = alpha > 127
        ink_is_dark = not opaque.any() or grey[opaque].mean() < 128
        background = 255.0 if ink_is_dark else 0.0
        mixed = grey * (alpha / 255) + background * (1 - alpha / 255)
        return Image.fromarray(np.round(mixed).astype(np.uint8), mode="L")
    return image.convert("L")


def ink_from_grey(grey: np.ndarray) -> np.ndarray:
    """Grey levels (H, W) in [0, 1] of either polarity -> ink (H, W) in [0, 1], background 0.

    The border is taken as background: if it is light, the ink is dark (and inverted). The
    background level is subtracted and the ink stretched to 1, so grey paper and pale pencil work.
    Specks far smaller than the digit (dust on a scan) are dropped.
    """
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1 - grey if background > 0.5 else grey.copy()
    level = min(background, 1 - background)  # the background's ink level
    top = float(np.percentile(ink, 99.9))
    if top - level < 0.05:  # no contrast: an empty picture
        return np.zeros_like(ink)
    ink = np.clip((ink - level) / (top - level), 0, 1)
    return _drop_specks(ink)


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    labels, count = ndimage.label(ink > 0.3)
    if count <= 1:
        return ink
    sizes = ndimage.sum_labels(np.ones_like(ink), labels, index=np.arange(1, count + 1))
    keep = np.zeros(count + 1, dtype=bool)
    keep[1:] = sizes >= 0.05 * sizes.max()
    # Dilate the kept components by a pixel so their soft anti-aliased edges stay too.
    kept = ndimage.binary_dilation(keep[labels], iterations=2)
    return np.where(kept, ink, 0).astype(np.float32)
