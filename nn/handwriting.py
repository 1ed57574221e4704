"""Digits that are not MNIST's, to measure how well a model reads other handwriting: digits drawn on
the grid along hand-made pen paths with random distortions, and every digit of every font on the
machine, saved as pictures and read back like `draw.py --predict`. (python -m nn.bench uses them.)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .canvas import DEMO_STROKES, Canvas
from .preprocess import load_image, normalize


@dataclass
class Handwriting:
    name: str
    inputs: np.ndarray  # (N, 784) float32, normalised
    labels: np.ndarray  # (N,)
    note: str = ""


def pen_digits(per_digit: int = 60, seed: int = 123) -> Handwriting:
    """DEMO_STROKES drawn with random slant, rotation, size, stretch, position, wobble and pen."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for digit, paths in DEMO_STROKES.items():
        for _ in range(per_digit):
            angle = np.radians(rng.uniform(-15, 15))
            shear = rng.uniform(-0.3, 0.3)
            sx, sy = rng.uniform(0.5, 1.15, 2)
            shift = rng.uniform(-5, 5, 2)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            A = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
            core = rng.uniform(0.45, 1.2)
            canvas = Canvas(core=core, outer=core + rng.uniform(0.6, 1.4))
            for path in paths:
                points = (np.array(path) - 14) @ A.T + 14 + shift
                points += rng.normal(0, 0.35, points.shape)  # a wobbly hand
                for start, end in zip(points, points[1:]):
                    canvas.stroke(tuple(start), tuple(end))
            inputs.append(normalize(canvas.ink).reshape(-1))
            labels.append(digit)
    return Handwriting("pen", np.array(inputs), np.array(labels),
                       f"{len(labels)} distorted pen-path digits")


def font_digits(seed: int = 123) -> Handwriting:
    """Every digit of every font matplotlib finds, as PNG files read back like draw.py --predict:
    random size and tilt, dark-on-light or light-on-dark at random."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

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


