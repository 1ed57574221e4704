"""Phone photos of numbers written on paper, made for the benchmark's photos part: 1 to 6 of
MNIST's test digits (never a training row) written in a row on a page and photographed, in the
conditions people photograph numbers in (CONDITIONS). Each is a JPEG, read back as `draw.py
--predict` reads a file.

A page is paper with its grain and a little unevenness; the number is a row of digits (nn/bench/
numbers.py's, with gaps), their strokes given a pen's crisp edge, in the ink's colour; then the
light, the camera (a slight turn, a little blur, noise) and the JPEG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from nn.bench.numbers import _ink_of, _set_in_a_row
from nn.dataset import Dataset

CONDITIONS = ("plain paper", "uneven light", "ruled paper", "squared paper", "blue ink", "pencil",
              "small JPEG", "chalk on a board", "small on a big page", "stray marks")


@dataclass
class Photo:
    jpeg: bytes
    text: str  # the number written
    condition: str
    size: tuple[int, int]  # width, height in pixels


def photos(test: Dataset, condition: str, count: int, seed: int = 0, side: tuple[int, int] = (1000, 1800)) -> list[Photo]:
    """`count` photos in `condition` (CONDITIONS), their longer side within `side` pixels."""
    rng = np.random.default_rng([seed, CONDITIONS.index(condition)])
    return [photo(test, condition, rng, int(rng.integers(*side))) for _ in range(count)]


def photo(test: Dataset, condition: str, rng: np.random.Generator, side: int) -> Photo:
    """One photo of a number of 1 to 6 digits on a page `side` pixels on its longer side."""
    length = int(rng.integers(1, 7))
    rows = rng.choice(len(test), size=length, replace=False)
    text = "".join(str(int(test.labels[r])) for r in rows)
    number = _set_in_a_row([_ink_of(test.images[r], float(rng.uniform(0.85, 1.15))) for r in rows],
                           [int(rng.integers(3, 9)) for _ in range(length - 1)], None, rng)
    width, height = (side, int(side * rng.uniform(0.7, 0.8))) if rng.random() < 0.5 else (int(side * rng.uniform(0.7, 0.8)), side)
    board = condition == "chalk on a board"
    page = _paper(height, width, rng, board)
    if condition == "ruled paper":
        page = _ruled(page, rng)
    elif condition == "squared paper":
        page = _squared(page, rng)
    small = condition == "small on a big page"
    digit_height = height * rng.uniform(0.025, 0.05) if small else min(height * rng.uniform(0.1, 0.3),
                                                                         0.8 * width / max(1, number.shape[1] / 28))
    scale = digit_height / 28
    strokes = _pen(number, scale, rng, pencil=condition == "pencil", chalk=board)
    top = int(rng.uniform(0.15, 0.85) * height - strokes.shape[0] / 2)
    left = int(rng.uniform(0.1, 0.9) * width - strokes.shape[1] / 2)
    top = min(max(top, 2), height - strokes.shape[0] - 2)
    left = min(max(left, 2), width - strokes.shape[1] - 2)
    alpha = np.zeros((height, width), np.float32)
    alpha[top:top + strokes.shape[0], left:left + strokes.shape[1]] = strokes[:height - top, :width - left]
    if condition == "stray marks":
        alpha = np.maximum(alpha, _stray(height, width, (top, left, *strokes.shape), scale, rng))
    colour = _ink_colour(condition, rng)
    picture = page * (1 - alpha[..., None]) + colour * alpha[..., None]
    return _shot(picture, text, condition, rng, scale)


def _shot(picture: np.ndarray, text: str, condition: str, rng: np.random.Generator, scale: float = 4.0,
          uneven: bool = False) -> Photo:
    """The page (H, W, 3) in [0, 1] in its light, through the camera, as a JPEG."""
    height, width, _ = picture.shape
    picture = picture * _light(height, width, rng, uneven=uneven or condition == "uneven light")[..., None]
    image = _camera(picture, rng, scale)
    quality = int(rng.integers(85, 96))
    if condition == "small JPEG":
        small_side = int(rng.integers(320, 520))
        image = image.resize((round(image.width * small_side / max(image.size)),
                              round(image.height * small_side / max(image.size))), Image.Resampling.LANCZOS)
        quality = int(rng.integers(30, 61))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Photo(buffer.getvalue(), text, condition, image.size)


NOT_NUMBERS = ("a blank page", "a shadow on a blank page", "a smooth gradient", "an empty ruled page",
               "an empty squared page", "a wall of bricks", "a face", "a page of numbers", "a page of text",
               "a screenshot", "noise")


def not_numbers(test: Dataset, seed: int = 0, side: int = 1200) -> list[Photo]:
    """One photo (a screenshot: a PNG) of each of NOT_NUMBERS: pictures with no number to read, or
    too many; each should be refused, never read as a made-up number."""
    rng = np.random.default_rng([seed, 99])
    height, width = int(side * 0.75), side
    shots = []
    for kind in NOT_NUMBERS:
        page = _paper(height, width, rng, board=False)
        if kind == "an empty ruled page":
            page = _ruled(page, rng)
        elif kind == "an empty squared page":
            page = _squared(page, rng)
        elif kind == "a smooth gradient":
            ramp = np.linspace(rng.uniform(0.2, 0.4), rng.uniform(0.7, 0.9), width, dtype=np.float32)
            page = np.repeat(np.tile(ramp, (height, 1))[..., None], 3, axis=2)
        elif kind == "a wall of bricks":
            page = _bricks(height, width, rng)
        elif kind == "a face":
            page = _face(height, width, rng)
        elif kind == "a page of numbers":
            page = _lines_of(page, rng, [_number_ink(test, rng) for _ in range(4)])
        elif kind in ("a page of text", "a screenshot"):
            page = _lines_of(page if kind == "a page of text" else np.ones_like(page), rng,
                             [_text_ink(rng) for _ in range(6)])
        elif kind == "noise":
            page = np.repeat(ndimage.gaussian_filter(rng.random((height, width)), 1.5)[..., None], 3, axis=2)
            page = (page - page.min()) / (page.max() - page.min())
        if kind == "a screenshot":  # as the screen shows it: no light, no camera, a PNG
            buffer = io.BytesIO()
            Image.fromarray(np.clip(page * 255, 0, 255).astype(np.uint8), "RGB").save(buffer, "PNG")
            shots.append(Photo(buffer.getvalue(), "", kind, (width, height)))
        else:
            shots.append(_shot(page, "", kind, rng, uneven=kind == "a shadow on a blank page"))
    return shots


def _bricks(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A brick wall: rows of red-brown bricks, each its own shade, in grey mortar."""
    brick_h = int(height * rng.uniform(0.06, 0.1))
    brick_w = 3 * brick_h
    wall = np.empty((height, width, 3), np.float32)
    wall[:] = (0.62, 0.6, 0.56)
    for row, top in enumerate(range(0, height, brick_h)):
        for left in range(-(row % 2) * brick_w // 2, width, brick_w):
            shade = np.array([0.55, 0.25, 0.18]) * rng.uniform(0.7, 1.15)
            wall[top + 3:top + brick_h - 3, max(0, left + 3):max(0, left + brick_w - 3)] = shade
    return np.clip(wall * (1 + rng.normal(0, 0.06, (height, width, 1))), 0, 1).astype(np.float32)


def _face(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A face, close up: skin, hair, two eyes and brows, a nose's shadow, a mouth, softly lit."""
    image = Image.new("RGB", (width, height), (int(rng.integers(60, 200)),) * 3)
    draw = ImageDraw.Draw(image)
    cx, cy, r = width / 2, height / 2, height * 0.42
    draw.ellipse((cx - 0.8 * r, cy - 1.15 * r, cx + 0.8 * r, cy + 0.7 * r), fill=(60, 40, 30))  # hair
    skin = tuple(int(v * rng.uniform(0.6, 1.0)) for v in (235, 190, 160))
    draw.ellipse((cx - 0.7 * r, cy - 0.9 * r, cx + 0.7 * r, cy + 1.0 * r), fill=skin)
    for side in (-1, 1):
        ex = cx + side * 0.3 * r
        draw.ellipse((ex - 0.12 * r, cy - 0.25 * r, ex + 0.12 * r, cy - 0.13 * r), fill=(250, 250, 250))
        draw.ellipse((ex - 0.05 * r, cy - 0.25 * r, ex + 0.05 * r, cy - 0.13 * r), fill=(50, 35, 25))
        draw.arc((ex - 0.16 * r, cy - 0.45 * r, ex + 0.16 * r, cy - 0.25 * r), 200, 340, fill=(70, 50, 35),
                 width=max(2, int(0.04 * r)))
    draw.polygon([(cx, cy - 0.1 * r), (cx - 0.1 * r, cy + 0.25 * r), (cx + 0.05 * r, cy + 0.27 * r)],
                 fill=tuple(int(v * 0.85) for v in skin))
    draw.chord((cx - 0.25 * r, cy + 0.35 * r, cx + 0.25 * r, cy + 0.6 * r), 0, 180, fill=(170, 70, 70))
    image = image.filter(ImageFilter.GaussianBlur(height / 200))
    return np.asarray(image, np.float32) / 255


def _number_ink(test: Dataset, rng: np.random.Generator) -> np.ndarray:
    """A number of 3 to 6 MNIST test digits, as ink (h, w)."""
    rows = rng.choice(len(test), size=int(rng.integers(3, 7)), replace=False)
    return _set_in_a_row([_ink_of(test.images[r], 1.0) for r in rows], [int(rng.integers(3, 9)) for _ in rows[1:]],
                         None, rng)


def _text_ink(rng: np.random.Generator) -> np.ndarray:
    """A line of made-up words in Pillow's own small font, as ink (h, w)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = " ".join("".join(rng.choice(list(letters), int(rng.integers(2, 9)))) for _ in range(int(rng.integers(4, 9))))
    image = Image.new("L", (8 * len(words) + 8, 16), 0)
    ImageDraw.Draw(image).text((2, 2), words, fill=255, font=ImageFont.load_default())
    return np.asarray(image, np.float32) / 255


def _lines_of(page: np.ndarray, rng: np.random.Generator, lines: list[np.ndarray]) -> np.ndarray:
    """`lines` of ink written one under the other down the page, each scaled to a line's height."""
    height, width, _ = page.shape
    step = height / (len(lines) + 1)
    alpha = np.zeros((height, width), np.float32)
    for k, ink in enumerate(lines):
        scale = min(0.6 * step / ink.shape[0], 0.8 * width / ink.shape[1])
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        line = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BILINEAR))
        top, left = int((k + 0.7) * step), int(0.1 * width)
        alpha[top:top + line.shape[0], left:left + line.shape[1]] = np.clip(line, 0, 1)[:height - top, :width - left]
    return page * (1 - alpha[..., None]) + 0.1 * alpha[..., None]


def _paper(height: int, width: int, rng: np.random.Generator, board: bool) -> np.ndarray:
    """(height, width, 3) in [0, 1]: paper, white with a tint, grain and a slow unevenness (a
    board: dark green or black, with the smudges of chalk rubbed out)."""
    if board:
        base = np.array([rng.uniform(0.12, 0.2), rng.uniform(0.2, 0.3), rng.uniform(0.15, 0.22)]) \
            if rng.random() < 0.7 else np.full(3, rng.uniform(0.08, 0.15))
    else:
        base = rng.uniform(0.88, 0.98) - np.array([0, rng.uniform(0, 0.03), rng.uniform(0, 0.06)])
    slow = ndimage.gaussian_filter(rng.normal(0, 1, (height // 16 + 1, width // 16 + 1)), 3)
    slow = np.kron(slow / (np.abs(slow).max() + 1e-9), np.ones((16, 16)))[:height, :width]
    grain = rng.normal(0, 0.012, (height, width))
    level = 1 + (0.12 if board else 0.025) * slow + grain
    return (base[None, None, :] * level[..., None]).astype(np.float32)


def _ruled(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light blue lines across the page, and a red margin down it."""
    height, width, _ = page.shape
    gap = int(height * rng.uniform(0.03, 0.05))
    thick = max(1, round(height / 700))
    blue = np.array([0.62, 0.75, 0.92])
    for y in range(int(rng.integers(gap // 2, gap)), height, gap):
        page[y:y + thick] = page[y:y + thick] * 0.35 + blue * 0.65
    x = int(width * rng.uniform(0.08, 0.16))
    page[:, x:x + thick + 1] = page[:, x:x + thick + 1] * 0.3 + np.array([0.85, 0.35, 0.35]) * 0.7
    return page


def _squared(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grid of light blue-grey lines both ways."""
    height, width, _ = page.shape
    gap = int(max(height, width) * rng.uniform(0.025, 0.04))
    thick = max(1, round(max(height, width) / 900))
    colour = np.array([0.6, 0.7, 0.85]) if rng.random() < 0.6 else np.full(3, 0.65)
    for y in range(int(rng.integers(gap)), height, gap):
        page[y:y + thick] = page[y:y + thick] * 0.45 + colour * 0.55
    for x in range(int(rng.integers(gap)), width, gap):
        page[:, x:x + thick] = page[:, x:x + thick] * 0.45 + colour * 0.55
    return page


def _pen(number: np.ndarray, scale: float, rng: np.random.Generator, pencil: bool, chalk: bool) -> np.ndarray:
    """The number's ink scaled up to the page, with a pen's crisp edge (a pencil's and a chalk's
    grainy one): alpha (h, w) in [0, 1]."""
    size = (max(1, round(number.shape[1] * scale)), max(1, round(number.shape[0] * scale)))
    ink = np.asarray(Image.fromarray(number, mode="F").resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    ink = ndimage.gaussian_filter(ink, 0.6 * scale)  # the pixels of MNIST's scan, smoothed to a stroke
    thickness = rng.uniform(0.3, 0.45)  # where the stroke's edge falls: a thinner or bolder pen
    alpha = 1 / (1 + np.exp(-(ink - thickness) * 14))
    paper = 1 / (1 + np.exp(thickness * 14))  # the same where there is no ink: made 0, not a faint box
    alpha = np.clip((alpha - paper) / (1 - paper), 0, 1)
    if pencil or chalk:  # the grain of the paper or the board shows through the stroke
        holes = ndimage.gaussian_filter(rng.random(alpha.shape), 0.7) > rng.uniform(0.5, 0.56)
        alpha = alpha * np.where(holes, rng.uniform(0.2, 0.5), 1.0) * (rng.uniform(0.55, 0.8) if pencil else 0.9)
    return alpha.astype(np.float32)


def _ink_colour(condition: str, rng: np.random.Generator) -> np.ndarray:
    if condition == "blue ink":
        return np.array([rng.uniform(0.05, 0.2), rng.uniform(0.1, 0.25), rng.uniform(0.45, 0.7)])
    if condition == "pencil":
        return np.full(3, rng.uniform(0.25, 0.4))
    if condition == "chalk on a board":
        return np.full(3, rng.uniform(0.85, 0.95))
    return np.full(3, rng.uniform(0.05, 0.18))


def _stray(height: int, width: int, number: tuple, scale: float, rng: np.random.Generator) -> np.ndarray:
    """One or two marks away from the number: a short stroke, a tick, a dot, a small scribble."""
    top, left, h, w = number
    marks = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        for _ in range(20):  # somewhere at least a digit's height from the number
            y, x = int(rng.uniform(0.05, 0.95) * height), int(rng.uniform(0.05, 0.95) * width)
            if not (top - 28 * scale < y < top + h + 28 * scale and left - 28 * scale < x < left + w + 28 * scale):
                break
        length = rng.uniform(4, 16) * scale
        angle = rng.uniform(0, np.pi)
        steps = np.linspace(0, 1, 50)
        ys = y + np.sin(angle) * length * steps + rng.normal(0, scale, 50).cumsum() * 0.1
        xs = x + np.cos(angle) * length * steps
        if rng.random() < 0.3:  # a dot
            ys, xs = ys[:3], xs[:3]
        keep = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
        marks[ys[keep].astype(int), xs[keep].astype(int)] = 1
    return np.clip(ndimage.gaussian_filter(ndimage.maximum_filter(marks, max(2, round(1.6 * scale))), 0.5), 0, 1)


def _light(height: int, width: int, rng: np.random.Generator, uneven: bool) -> np.ndarray:
    """The light on the page: nearly even, or (uneven) a gradient, a darker corner, a shadow."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = y / height, x / width
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)
    if not uneven:
        return 1 - 0.06 * (ramp + 0.5)
    light = 1 - rng.uniform(0.25, 0.45) * (ramp + 0.5)
    if rng.random() < 0.6:  # a shadow: a phone's or a hand's, soft-edged
        cx, cy = rng.uniform(0, 1, 2)
        edge = np.cos(angle + np.pi / 2) * (x - cx) + np.sin(angle + np.pi / 2) * (y - cy)
        light *= 1 - rng.uniform(0.25, 0.45) / (1 + np.exp(-edge * rng.uniform(30, 120)))
    return light.astype(np.float32)


def _camera(picture: np.ndarray, rng: np.random.Generator, scale: float) -> Image.Image:
    """A slight turn, the lens's blur, the sensor's noise: the photo as the camera gives it."""
    height, width, _ = picture.shape
    angle = rng.uniform(-4, 4)
    margin = int(np.ceil(np.tan(np.radians(4)) * max(height, width) / 2)) + 2  # the page goes on beyond the frame
    padded = np.pad(np.clip(picture * 255, 0, 255).astype(np.uint8), ((margin, margin), (margin, margin), (0, 0)),
                    mode="edge")
    image = Image.fromarray(padded, "RGB").rotate(angle, Image.Resampling.BILINEAR)
    image = image.crop((margin, margin, margin + width, margin + height))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0) * max(1.0, scale / 6)))
    noise = rng.standard_normal((height, width, 3), dtype=np.float32) * (255 * rng.uniform(0.005, 0.02))
    return Image.fromarray(np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8), "RGB")
