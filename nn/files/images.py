"""Picture files of digits in: any size, PNG, JPG, BMP (whatever Pillow reads), dark ink on light
paper or light on dark, read as ink (H, W) in [0, 1] for nn/session/preprocess.py's `normalize`."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nn.errors import DataError
from nn.plumbing.files import open_readable

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels, decoded: about 160 MB at most for RGBA
MIN_SIDE = 8  # pixels each way: the smallest digits people keep (scikit-learn's are 8 x 8)
# Ink is what stands out from the paper around it (ink_from_grey): by at least MIN_CONTRAST, after
# a blur of a pixel (pencil pressed lightly on white paper, photographed: 0.13 to 0.25; the grain
# of blank paper in a JPEG photo, however lit: at most 0.08), measured against the paper's level
# in a window of PAPER_WINDOW of the picture's longer side.
MIN_CONTRAST = 0.1
GRAIN = 10  # ...and by this many times the grain's standard deviation
PAPER_WINDOW = 1 / 3


def load_image(path: Path | str, max_side: int = 1024) -> np.ndarray:
    """A picture of a digit or a number -> ink (H, W) float32 in [0, 1] (read_image's ink)."""
    return read_image(path, max_side)[0]


def read_image(path: Path | str, max_side: int = 1024) -> tuple[np.ndarray, float]:
    """A picture of a digit or a number -> (ink (H, W) float32 in [0, 1], ready for `normalize`,
    and the picture's pixels per pixel of the ink: more than 1 for a picture reduced to max_side).

    Any size; PNG, JPG, BMP (whatever Pillow reads); dark ink on light paper or light on dark
    (the border's median grey decides which is background). Transparent backgrounds count as
    background. Large pictures are first reduced to `max_side` pixels on their long side: JPEGs
    while they are decoded, any size; other formats up to MAX_IMAGE_PIXELS, refused beyond it
    before decoding (a small PNG can unpack to gigabytes).
    """
    path = Path(path)
    f = open_readable(path, "an image", DataError)
    try:
        with warnings.catch_warnings(), f:
            # Pillow's warnings are about what it could not make of a file's extras ("Corrupt
            # EXIF data", an odd palette), two lines each naming Pillow's own source, while the
            # picture itself reads: not for the user. Big photos are fine too (they are reduced
            # below); the size limit is ours, checked first.
            warnings.simplefilter("ignore")
            with Image.open(f) as image:
                size = f"{image.size[0]:,}x{image.size[1]:,} pixels"
                original = max(image.size)
                if min(image.size) < MIN_SIDE:
                    raise DataError(f"{path}: the image is {size}, too small to hold a digit (it needs "
                                    f"{MIN_SIDE} pixels each way at least)")
                image.draft("L", (max_side, max_side))  # JPEG: decode at a reduced size
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataError(f"{path}: the image is {width:,}x{height:,} pixels, more than the "
                                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels this reads; make it "
                                    "smaller (a digit needs no more than 1000x1000)")
                image = ImageOps.exif_transpose(image)
                image.load()
                image = _reduce(image, max_side)
    except (OSError, ValueError, SyntaxError, struct.error, EOFError, MemoryError, Image.DecompressionBombError) as e:
        trouble = ("not an image Pillow can read (PNG, JPG, BMP...)" if isinstance(e, UnidentifiedImageError)
                   else "image is too large to read safely" if isinstance(e, Image.DecompressionBombError)
                   else "out of memory while decoding the image" if isinstance(e, MemoryError)
                   else f"corrupt or truncated image ({e})")
        raise DataError(f"{path}: {trouble}") from None

    if image.mode in ("I", "F"):  # 16-bit, 32-bit or float: scale the range, don't clip
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"{path}: the image holds NaN or infinite pixel values")
        span = float(values.max() - values.min())
        grey = (values - values.min()) / span if span > 0 else np.zeros_like(values)
        image = Image.fromarray(np.round(grey * 255).astype(np.uint8), mode="L")
    image = _flatten_alpha(image)
    grey = np.asarray(image, dtype=np.float32) / 255
    if min(grey.shape) < MIN_SIDE:  # 10000 x 20 pixels, reduced to 1024 across: 2 high
        raise DataError(f"{path}: the image is {size}, too long and thin to read: reduced to {max_side} "
                        f"pixels on its longer side, its shorter side is {min(grey.shape)}")
    return ink_from_grey(grey), original / max(grey.shape)


def _reduce(image, max_side: int):
    """The decoded picture in a mode Pillow can resize, reduced to `max_side` on its long side
    before any conversion to floats (which would take four to eight bytes a pixel)."""
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

    The border is taken as background: if it is light, the ink is dark (and inverted). Ink is
    what stands out from the paper around it, so the paper's own level is found pixel by pixel
    (`paper_level`: shading and uneven light are paper, not ink). A picture where nothing stands
    out from it by MIN_CONTRAST, and by many times the paper's grain, has no ink: blank paper,
    however lit, or a smooth gradient. Otherwise the ink is measured as a share of how light the
    paper is where it lies (a stroke in the shade is as dark as one in the light), the grain
    is taken off, the rest stretched to 1 (grey paper and pale pencil work), and specks far
    smaller than the digit (dust on a scan) are dropped.
    """
    ndimage = _ndimage()
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    raw = (1 - grey if np.median(border) > 0.5 else grey).astype(np.float32)
    paper = paper_level(raw)
    # A stroke is wider than a pixel, grain is not: both judged after a blur of a pixel.
    above = ndimage.gaussian_filter(raw - paper, 1.0)
    # The grain's standard deviation, from the paper's side of the values (ink only adds): for
    # grain alone, the 25th and 5th percentiles lie 0.97 of it apart.
    low, lowest = np.percentile(above, [25, 5])
    if float(above.max()) - low < max(MIN_CONTRAST, GRAIN * (low - lowest) / 0.97):
        return np.zeros_like(raw)
    ink = (raw - paper) / np.maximum(1 - paper, 0.2)  # 1 - paper: how light the paper is there
    floor = float(np.percentile(ink, 25))
    top = max(float(np.percentile(ink, 99.9)), float(ink.max()) / 2)
    ink = np.clip((ink - floor) / max(top - floor, 1e-6), 0, 1).astype(np.float32)
    return _drop_specks(ink)


def paper_level(raw: np.ndarray) -> np.ndarray:
    """The paper under every pixel of a picture (H, W), in ink's terms (0: white paper): the
    picture's grey opening, a minimum and then a maximum over a square PAPER_WINDOW of its longer
    side. A stroke is narrower than that (MNIST's are at most a quarter of the digit's size, and a
    digit is no larger than the picture), so it leaves no trace; shading broader than it stays,
    a smooth gradient exactly.

    Grain pulls a minimum down, so the paper is also taken from the picture smoothed (at half
    its size: it changes slowly), and the higher of the two kept; the picture itself keeps the
    sharp edge of a shadow, which smoothing would round off."""
    ndimage = _ndimage()
    side = max(3, round(PAPER_WINDOW * max(raw.shape)))
    paper = _opened(raw, side)
    height, width = raw.shape
    if min(height, width) >= 2 * MIN_SIDE:
        half = raw[:height // 2 * 2, :width // 2 * 2].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        half = _opened(ndimage.uniform_filter(half, 3, mode="nearest"), max(3, side // 2))
        smooth = np.pad(half.repeat(2, axis=0).repeat(2, axis=1), ((0, height % 2), (0, width % 2)), mode="edge")
        paper = np.maximum(paper, smooth)
    return np.minimum(paper, raw)


def _opened(picture: np.ndarray, side: int) -> np.ndarray:
    """The grey opening of `picture` over a side x side square, its edges repeated beyond it for
    both passes: padded for each pass alone (scipy's `mode`), the minimum's own edge would be
    repeated, and a gradient flattened near the picture's edge, its darker end read as ink."""
    ndimage = _ndimage()
    margin = side // 2 + 1
    padded = np.pad(picture, margin, mode="edge")
    return ndimage.grey_opening(padded, size=(side, side))[margin:-margin, margin:-margin]


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    ndimage = _ndimage()
    labels, count = ndimage.label(ink > 0.3)
    if count <= 1:
        return ink
    sizes = ndimage.sum_labels(np.ones_like(ink), labels, index=np.arange(1, count + 1))
    keep = np.zeros(count + 1, dtype=bool)
    keep[1:] = sizes >= 0.05 * sizes.max()
    # Dilate the kept components by a pixel so their soft anti-aliased edges stay too.
    kept = ndimage.binary_dilation(keep[labels], iterations=2)
    return np.where(kept, ink, 0).astype(np.float32)


def _ndimage():
    """scipy.ndimage, imported when a picture is first read: 0.15 s that the window, the page and
    training never spend."""
    from scipy import ndimage  # (the docstring says why here)

    return ndimage
