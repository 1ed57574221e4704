"""Digits that are not MNIST's, to measure how well a model reads other handwriting: digits drawn on
the grid along hand-made pen paths with random distortions, and every digit of every font on the
machine, saved as pictures and read back like `draw.py --predict`. (python -m nn.bench uses them.)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nn.session.canvas import DEMO_STROKES, Canvas, _arc
from nn.dataset import Dataset
from nn.files.images import load_image
from nn.session.preprocess import normalize, to_grey_levels


@dataclass
class Handwriting:
    name: str
    inputs: np.ndarray  # (N, 784) float32, normalised
    labels: np.ndarray  # (N,)
    note: str = ""

    def as_drawings(self) -> Dataset:
        """The digits as the window and the page save them: grey levels 0-255 of the normalised
        drawing, labeled (what nn/session/teach.py learns from)."""
        images = np.stack([to_grey_levels(x.reshape(28, 28)) for x in self.inputs])
        return Dataset(images, self.labels, f"{self.name} drawings", "")


def pen_digits(per_digit: int = 60, seed: int = 123, strokes: dict | None = None,
               name: str = "pen", spread: float = 1.0) -> Handwriting:
    """DEMO_STROKES (or `strokes`, the same kind of table) drawn with random slant, rotation, size,
    stretch, position, wobble and pen. spread scales how far those go: 1 for many hands and pens,
    less for one person's (style_digits)."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for digit, paths in (strokes or DEMO_STROKES).items():
        for _ in range(per_digit):
            A = _random_map(rng, spread, degrees=15, stretch=(0.5, 1.15), slant=None)
            shift = rng.uniform(-5, 5, 2) * spread
            core = 0.825 + rng.uniform(-0.375, 0.375) * spread
            canvas = Canvas(core=core, outer=core + 1 + rng.uniform(-0.4, 0.4) * spread)
            for path in paths:
                points = (np.array(path) - 14) @ A.T + 14 + shift
                points += rng.normal(0, 0.35, points.shape)  # a wobbly hand
                for start, end in zip(points, points[1:]):
                    canvas.stroke(tuple(start), tuple(end))
            inputs.append(normalize(canvas.ink).reshape(-1))
            labels.append(digit)
    return Handwriting(name, np.array(inputs), np.array(labels),
                       f"{len(labels)} distorted pen-path digits")


# Ways of writing digits that MNIST's American writers rarely used, as pen paths like
# DEMO_STROKES: material for teaching the network someone's own handwriting (nn/session/teach.py).
STYLES: dict[str, dict[int, list[list[tuple[float, float]]]]] = {
    # a 1 with a long flag and a foot, a crossed 7, a 4 open at the top
    "european": {1: [[(10, 10), (15.5, 5), (15.5, 23)], [(11, 23), (20, 23)]],
                 4: [[(10, 5), (9.5, 16), (20, 16)], [(17, 8), (17, 24)]],
                 7: [[(9, 6), (19.5, 6), (12.5, 23)], [(11, 15), (19, 15)]]},
    # a 2 with a loop at its foot, a 9 with a straight tail, a 6 drawn as a small closed loop under a long stem
    "loopy": {2: [[(9.5, 9), (12, 5.5), (17, 5.5), (18.5, 9), (10, 21), (13, 18.5), (14.5, 21.5), (20, 21)]],
              6: [[(17, 4), (11, 14)] + [(14 + 4.5 * np.cos(a), 18 + 4 * np.sin(a)) for a in np.radians(np.linspace(200, 560, 24))]],
              9: [[(18, 9)] + [(14 + 4 * np.cos(a), 9 + 4 * np.sin(a)) for a in np.radians(np.linspace(0, 360, 24))] + [(18, 9), (18, 24)]]},
}


def _segments() -> dict[int, list[list[tuple[float, float]]]]:
    """Digits as a seven-segment display draws them: straight strokes along a 10 x 18 box."""
    left, right, top, middle, bottom = 9.5, 18.5, 5, 14, 23
    segment = {"a": [(left, top), (right, top)], "b": [(right, top), (right, middle)],
               "c": [(right, middle), (right, bottom)], "d": [(left, bottom), (right, bottom)],
               "e": [(left, middle), (left, bottom)], "f": [(left, top), (left, middle)],
               "g": [(left, middle), (right, middle)]}
    lit = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abfgcd"]
    return {digit: [segment[k] for k in names] for digit, names in enumerate(lit)}


STYLES["segments"] = _segments()  # digits like a clock's display: read badly by MNIST models
# a slashed 0, a 2 like a Z, a 9 like a g whose tail curls back to the left, a 1 with a long flag
STYLES["hooked"] = {
    0: [_arc(14, 14, 5, 8.5, -90, 270, 40), [(8, 23), (20, 5)]],
    1: [[(9, 11), (15, 5), (15, 23)]],
    2: [[(9, 6), (19, 6), (9, 22), (19, 22)]],
    9: [_arc(14, 10, 4.3, 4.3, 0, 360), [(18.3, 10), (18, 20)] + _arc(14, 20, 4, 3.5, 0, 150, 12)],
}


def style_digits(style: str, per_digit: int, seed: int, spread: float = 0.4) -> Handwriting:
    """Every digit in one person's writing style: the style's own paths where it has them, the
    demo's for the other digits, drawn by pen_digits with less variety than many hands give."""
    strokes = {**DEMO_STROKES, **STYLES[style]}
    return pen_digits(per_digit, seed, strokes, name=style, spread=spread)


# -- pictures of hands, drawn at any resolution with any pen, and read back as draw.py --predict does

def _random_map(rng: np.random.Generator, spread: float = 1.0, degrees: float = 12, stretch=(0.6, 1.15),
                slant: tuple[float, float] | None = (-0.3, 0.3)) -> np.ndarray:
    """A random hand, the 2 x 2 map of paths around (14, 14): a rotation of up to `degrees`, a slant
    x += shear * y within `slant` (None: ± 0.3, scaled by spread), each axis stretched within
    `stretch`; spread scales the rotation and stretch (1: many hands; less: one person's)."""
    angle = np.radians(rng.uniform(-degrees, degrees) * spread)
    shear = rng.uniform(-0.3, 0.3) * spread if slant is None else rng.uniform(*slant)
    sx, sy = 1 - (1 - rng.uniform(*stretch, 2)) * spread
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])


def _picture(paths, A: np.ndarray, size: int, pen: float, rng: np.random.Generator, dark: bool,
             offset: tuple[float, float] = (0.0, 0.0), zoom: float = 1.0):
    """The paths (28 x 28 coordinates) mapped by A, drawn on a size x size picture with a round pen
    `pen` pixels wide, a wobbly hand, on light or dark paper: a photographed or scanned digit."""
    paper, ink = (int(rng.integers(200, 256)), int(rng.integers(0, 70))) if dark else \
        (int(rng.integers(0, 50)), int(rng.integers(180, 256)))
    page = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(page)
    scale = size / 28 * zoom
    for path in paths:
        points = (np.array(path, dtype=float) - 14) @ A.T * scale + size / 2 + np.array(offset) * size
        points += rng.normal(0, 0.3 * scale, points.shape)
        line = [tuple(p) for p in points]
        draw.line(line, fill=ink, width=max(1, round(pen)), joint="curve")
        for x, y in (line[0], line[-1]):  # round ends
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=ink)
    return page


def picture_digits(name: str, per_digit: int, seed: int, strokes: dict | None = None, *,
                   size=(120, 280), pen=(0.08, 0.14), low=None, slant=(-0.3, 0.3), corner=False) -> Handwriting:
    """Every digit drawn as a picture file: `size` pixels square (a range), a pen `pen` of the
    side wide (a range, as a share of the digit's 28), in a random hand; `low`: first shrunk to
    that many pixels (a range) and blown up again, as a small scan or a far photo; `corner`: small,
    off-centre, on a big page. Saved as PNG and read back like `draw.py --predict`."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    with tempfile.TemporaryDirectory() as folder:
        for digit, paths in (strokes or DEMO_STROKES).items():
            for k in range(per_digit):
                side = int(rng.integers(*size))
                width = rng.uniform(*pen) * side
                zoom, offset = (rng.uniform(0.3, 0.5), tuple(rng.uniform(-0.3, 0.3, 2))) if corner else (1.0, (0, 0))
                page = _picture(paths, _random_map(rng, slant=slant), side, width * zoom, rng,
                                dark=bool(rng.random() < 0.7), offset=offset, zoom=zoom)
                if low is not None:
                    small = int(rng.integers(*low))
                    page = page.resize((small, small), Image.Resampling.BOX).resize(
                        (side, side), Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.NEAREST)
                path = Path(folder) / f"{digit}_{k}.png"
                page.save(path)
                field = normalize(load_image(path))
                if field.any():
                    inputs.append(field.reshape(-1))
                    labels.append(digit)
    return Handwriting(name, np.array(inputs).reshape(-1, 784), np.array(labels))


def outlined_hand(per_digit: int, seed: int) -> Handwriting:
    """One person's hand far from MNIST, as pictures: each stroke drawn as its two edges, hollow
    inside. Material for teaching (nn/session/teach.py): its own drawings to teach, and others of
    the same hand to measure on."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for digit, paths in DEMO_STROKES.items():
        for _ in range(per_digit):
            A, side = _random_map(rng, spread=0.4), 112
            page = Image.new("L", (side, side), 255)
            draw = ImageDraw.Draw(page)
            for path in paths:
                points = (np.array(path, dtype=float) - 14) @ A.T * 4 + side / 2
                # a thick stroke, its inside rubbed out again
                line = [tuple(p) for p in points + rng.normal(0, 0.6, points.shape)]
                draw.line(line, fill=0, width=20, joint="curve")
                draw.line(line, fill=255, width=12, joint="curve")
            ink = 1 - np.asarray(page, dtype=np.float32) / 255
            field = normalize(ink)
            inputs.append(field.reshape(-1))
            labels.append(digit)
    return Handwriting("outlined", np.array(inputs), np.array(labels), f"{len(labels)} outlined digits")


def other_hands(per_digit: int = 40, seed: int = 321) -> list[Handwriting]:
    """The project's sets of hands a model was not trained on (MNIST's writers are its training):
    besides `pen_digits` and `font_digits`, pictures of digits in pens and on paper MNIST never saw.
    None of them is ever trained on: the bench measures how far a model reaches beyond MNIST."""
    european = {**DEMO_STROKES, **STYLES["european"]}
    sets = [
        picture_digits("thick pen", per_digit, seed, pen=(0.12, 0.18)),
        picture_digits("thin pen", per_digit, seed + 1, pen=(0.02, 0.05), size=(300, 600)),
        picture_digits("low resolution", per_digit, seed + 2, low=(12, 20)),
        picture_digits("slanted", per_digit, seed + 3, slant=(0.35, 0.6)),
        picture_digits("off-centre", per_digit, seed + 4, corner=True, size=(300, 500)),
        picture_digits("European 1, 4, 7", per_digit, seed + 5, european),
    ]
    for s in sets:
        s.note = f"{len(s.labels)} pictures"
    return sets


def font_digits(seed: int = 123) -> Handwriting:
    """Every digit of every font matplotlib finds, as PNG files read back like draw.py --predict:
    random size and tilt, dark-on-light or light-on-dark at random."""
    from matplotlib import font_manager  # 0.1 s to import: only for this set
    rng = np.random.default_rng(seed)
    found = set(font_manager.findSystemFonts()) | set(font_manager.findSystemFonts(
        fontpaths=[str(Path(font_manager.__file__).parent / "mpl-data" / "fonts" / "ttf")]))
    skip = ("math", "symbol", "dingbat", "fallback", "cmex", "cmsy", "stixsiz", "stixnonuni", "d050000l")
    fonts = sorted(f for f in found if not any(s in Path(f).name.lower() for s in skip))
    inputs, labels, used = [], [], 0
    with tempfile.TemporaryDirectory() as folder:
        for font_path in fonts:
            try:
                font = ImageFont.truetype(font_path, 150)
                glyphs = {bytes(font.getmask(str(digit))) for digit in range(10)}
            except OSError:
                continue
            if len(glyphs) < 10:  # the same picture for two digits: a font without digits, which
                continue          # draws a placeholder (a box, a letter) for every one
            used += 1
            for digit in range(10):
                dark = rng.random() < 0.5
                paper, pen = (int(rng.integers(200, 256)), int(rng.integers(0, 60))) if dark else \
                    (int(rng.integers(0, 40)), int(rng.integers(190, 256)))
                page = Image.new("L", (300, 300), paper)
                ImageDraw.Draw(page).text((150, 150), str(digit), fill=pen, font=font, anchor="mm")
                side = int(300 * rng.uniform(0.4, 1.3))
                page = page.rotate(rng.uniform(-8, 8), fillcolor=paper).resize((side, side))
                path = Path(folder) / f"{used}_{digit}.png"
                page.save(path)
                field = normalize(load_image(path))
                if field.any():  # fonts without digits render nothing
                    inputs.append(field.reshape(-1))
                    labels.append(digit)
    return Handwriting("fonts", np.array(inputs).reshape(-1, 784), np.array(labels),
                       f"{len(labels)} digits from {used} fonts on this machine")


