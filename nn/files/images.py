"""Picture files of digits in: any size, PNG, JPG, BMP (whatever Pillow reads), dark ink on light
paper or light on dark, read as ink (H, W) in [0, 1] for nn/session/preprocess.py's `normalize`."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nn.errors import DataError
from nn.files.paper import Noted, dark_ink, ink_from_grey
from nn.plumbing.files import open_readable

MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels, decoded: about 160 MB at most for RGBA
MIN_SIDE = 8  # pixels each way: the smallest digits people keep (scikit-learn's are 8 x 8)
REFINE = 0.25  # ink spanning less than this share of a big picture is read again, finer...
ENLARGE = 2  # ...enlarged at most this many times (more, and a pencil's grain looks like holes)
ORIENTATION = 0x0112  # the EXIF tag saying how the camera was held


@dataclass
class Picture:
    """A picture's ink, and where it lies in the picture: ink pixel (x, y) is picture pixel
    (origin + scale * (x, y)). The ink of a picture reduced to max_side has a scale above 1; that
    of a small number on a big page is a crop of it, read again finer (an origin)."""

    ink: np.ndarray  # (H, W) float32 in [0, 1], paper 0
    scale: float = 1.0
    origin: tuple[float, float] = (0.0, 0.0)
    size: tuple[int, int] = (0, 0)  # the picture's width and height in pixels, turned as its EXIF says

    def box(self, box: tuple[int, int, int, int]) -> list[int]:
        """A box (x, y, width, height) in the ink's pixels, in the picture's."""
        x, y, width, height = box
        return [round(self.origin[0] + self.scale * x), round(self.origin[1] + self.scale * y),
                round(self.scale * width), round(self.scale * height)]


def load_image(path: Path | str, max_side: int = 1024) -> np.ndarray:
    """A picture of a digit or a number -> ink (H, W) float32 in [0, 1] (read_image's ink)."""
    return read_image(path, max_side).ink


def read_image(source: Path | str | bytes, max_side: int = 1024, steps: list[Noted] | None = None,
               name: str = "the picture") -> Picture:
    """A picture of a digit or a number (a file, or its bytes called `name`) -> its ink, ready
    for `normalize` or `read_number`, and where it lies in the picture.

    Any size; PNG, JPG, BMP (whatever Pillow reads); dark ink on light paper or light on dark
    (the border's median grey decides which is background), found as nn/files/paper.py finds it
    (with `steps`, each step noted there). Transparent backgrounds count as background. Large
    pictures are first reduced to `max_side` pixels on their long side: JPEGs while they are
    decoded, any size; other formats up to MAX_IMAGE_PIXELS, refused beyond it before decoding (a
    small PNG can unpack to gigabytes). Where the ink is small beside the picture (a number on a
    big page), the part of the picture around it is decoded again, finer, and read from that.
    """
    if isinstance(source, bytes):
        data = source
    else:
        name = str(source)
        with open_readable(source, "an image", DataError) as f:
            data = f.read()
    image, original = _decode(data, name, max_side)
    found: list[Noted] = []
    ink, dark = _ink(image, found)
    picture = Picture(ink, max(original) / max(image.size), size=original)
    ink_box = _ink_box(picture.ink)
    if ink_box is not None and max(ink_box[2:]) < REFINE * max(picture.ink.shape):
        finer = _finer(data, name, max_side, picture, ink_box, original, found, dark)
        if finer is not None:
            picture = finer
    if steps is not None:
        steps += found
    return picture


def _decode(data: bytes, name: str, max_side: int, region: tuple[float, float, float, float] | None = None):
    """(the picture decoded and reduced to max_side on its longer side, or its `region` (x0, y0,
    x1, y1, as shares of its width and height) reduced so; its size in pixels as a whole)."""
    try:
        with warnings.catch_warnings():
            # Pillow's warnings are about what it could not make of a file's extras ("Corrupt
            # EXIF data", an odd palette), two lines each naming Pillow's own source, while the
            # picture itself reads: not for the user. Big photos are fine too (they are reduced
            # below); the size limit is ours, checked first.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                size = image.size
                shown = f"{size[0]:,}x{size[1]:,} pixels"
                if min(size) < MIN_SIDE:
                    raise DataError(f"{name}: the image is {shown}, too small to hold a digit (it needs "
                                    f"{MIN_SIDE} pixels each way at least)")
                share = 1.0 if region is None else max(region[2] - region[0], region[3] - region[1])
                image.draft("RGB", (round(max_side / share),) * 2)  # JPEG: decode at a reduced size
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise DataError(f"{name}: the image is {width:,}x{height:,} pixels, more than the "
                                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels this reads; make it "
                                    "smaller (a digit needs no more than 1000x1000)")
                if image.getexif().get(ORIENTATION, 1) != 1:  # a phone held sideways: turned upright
                    image = ImageOps.exif_transpose(image)
                image.load()
                size = _turned(size, image.size)  # the whole picture's, as it is turned
                if region is not None:  # a part, as finely as the picture holds it, enlarged up to ENLARGE
                    w, h = image.size
                    image = _reduce(image.crop((round(region[0] * w), round(region[1] * h), round(region[2] * w),
                                                round(region[3] * h))), max_side)
                    factor = min(ENLARGE, max_side / max(image.size))
                    if factor > 1:
                        image = image.resize((round(image.width * factor), round(image.height * factor)),
                                             Image.Resampling.BICUBIC)
                image = _reduce(image, max_side)
    except (OSError, ValueError, SyntaxError, struct.error, EOFError, MemoryError, Image.DecompressionBombError) as e:
        trouble = ("not an image Pillow can read (PNG, JPG, BMP...)" if isinstance(e, UnidentifiedImageError)
                   else "image is too large to read safely" if isinstance(e, Image.DecompressionBombError)
                   else "out of memory while decoding the image" if isinstance(e, MemoryError)
                   else f"corrupt or truncated image ({e})")
        raise DataError(f"{name}: {trouble}") from None
    if image.mode in ("I", "F"):  # 16-bit, 32-bit or float: scale the range, don't clip
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"{name}: the image holds NaN or infinite pixel values")
        span = float(values.max() - values.min())
        grey = (values - values.min()) / span if span > 0 else np.zeros_like(values)
        image = Image.fromarray(np.round(grey * 255).astype(np.uint8), mode="L")
    if min(image.size) < MIN_SIDE:  # 10000 x 20 pixels, reduced to 1024 across: 2 high
        raise DataError(f"{name}: the image is {shown}, too long and thin to read: reduced to {max_side} "
                        f"pixels on its longer side, its shorter side is {min(image.size)}")
    return image, size


def _turned(before: tuple[int, int], after: tuple[int, int]) -> tuple[int, int]:
    """The picture's full size once turned as its EXIF says (`after` may be a reduced decoding)."""
    return before if (after[0] >= after[1]) == (before[0] >= before[1]) else (before[1], before[0])


def _ink(image, steps: list[Noted], dark: bool | None = None) -> tuple[np.ndarray, bool]:
    """The ink of a decoded picture (its red channel's, or its luminance's if that has none), and
    whether it is dark (found, unless said)."""
    for grey in _greys(image):
        steps[:] = [("picture", grey, "The photo, in grey: each pixel's lightness.")]
        found = dark_ink(grey) if dark is None else dark
        ink = ink_from_grey(grey, steps, found)
        if ink.any():
            break
    return ink, found


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the box around the ink, or None."""
    rows, cols = np.flatnonzero((ink > 0.3).any(axis=1)), np.flatnonzero((ink > 0.3).any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _finer(data: bytes, name: str, max_side: int, first: Picture, box: tuple[int, int, int, int],
           original: tuple[int, int], steps: list[Noted], dark: bool) -> Picture | None:
    """The ink read again from the part of the picture around `box` (in the first reading's
    pixels), decoded as finely as the picture allows and brought to max_side: a small number on a
    big page, whose strokes were a few pixels wide at the first reading. None if that part holds
    no ink."""
    height, width = first.ink.shape
    x, y, w, h = box
    margin = max(w, h) // 2 + 8
    region = (max(0, x - margin) / width, max(0, y - margin) / height, min(width, x + w + margin) / width,
              min(height, y + h + margin) / height)
    image, _ = _decode(data, name, max_side, region)
    found: list[Noted] = []
    ink, _ = _ink(image, found, dark)  # the ink as dark as in the whole: a part may be mostly ink
    if not ink.any():
        return None
    steps[:] = steps[:1] + [("found", found[0][1], "The ink is small beside the page: the part around it, "
                             "read again finer.")] + found[1:]
    scale = (region[2] - region[0]) * original[0] / image.size[0]
    return Picture(ink, scale, (region[0] * original[0], region[1] * original[1]), original)


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


def _greys(image) -> list[np.ndarray]:
    """The picture as grey levels (H, W) in [0, 1], transparent pixels as background (the opposite
    of the ink): a colour picture's red channel first, in which a red margin and blue ruling are
    pale and black, blue or pencil ink dark, then its luminance (for ink the red channel cannot
    see: red ink); a grey picture's levels alone."""
    rgba = image.convert("RGBA")
    values = np.asarray(rgba, dtype=np.float32) / 255
    luminance = np.asarray(rgba.convert("L"), dtype=np.float32) / 255
    alpha = values[..., 3]
    opaque = alpha > 0.5
    ink_is_dark = not opaque.any() or luminance[opaque].mean() < 0.5
    background = 1.0 if ink_is_dark else 0.0
    colour = image.mode in ("RGB", "RGBA") and not np.array_equal(values[..., 0], values[..., 2])
    greys = [values[..., 0], luminance] if colour else [luminance]
    return [grey * alpha + background * (1 - alpha) for grey in greys]
