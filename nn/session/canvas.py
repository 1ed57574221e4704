"""The drawing grid: 28x28 cells of ink from 0 (background) to 1 (full ink), and a soft brush.

A brush stroke is a line segment between two mouse positions, measured in cells (x to the right,
y down, cell (r, c) spans x in [c, c+1), y in [r, r+1)). Every cell gets ink according to the
distance d from its centre to the segment: full ink within the brush's core radius, fading to
none at its outer radius, like the anti-aliased pen strokes of MNIST. Because each stroke is a
whole segment, a fast mouse leaves no gaps.
"""

from __future__ import annotations

import numpy as np

from nn.dataset import SIDE

# (core, outer) radii in cells. The web page paints with the same numbers (from /api/model).
BRUSH = (0.75, 1.75)
ERASER = (1.5, 2.5)
NUMBER_WIDTH = 4 * SIDE  # the grid for a whole number: 28 x 112 cells, room for eight digits


class Canvas:
    """Ink (28, width) float32 in [0, 1]: 28 x 28 for a digit, wider for a number (NUMBER_WIDTH);
    rows are image rows (y), columns image columns (x)."""

    def __init__(self, width: int = SIDE, core: float = BRUSH[0], outer: float = BRUSH[1]):
        self.core, self.outer = core, outer
        self.ink = np.zeros((SIDE, width), dtype=np.float32)
        self._cy, self._cx = np.meshgrid(np.arange(SIDE, dtype=np.float32) + 0.5,
                                         np.arange(width, dtype=np.float32) + 0.5, indexing="ij")

    @property
    def width(self) -> int:
        return self.ink.shape[1]

    def stroke(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Paint a segment from start (x, y) to end (x, y), in cells: ink = max(ink, brush)."""
        np.maximum(self.ink, self._brush(start, end, self.core, self.outer), out=self.ink)

    def erase(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Rub out along a segment with a wider brush: ink = min(ink, 1 - brush)."""
        np.minimum(self.ink, 1 - self._brush(start, end, *ERASER), out=self.ink)

    def clear(self) -> None:
        self.ink[:] = 0

    @property
    def blank(self) -> bool:
        return not self.ink.any()

    def _brush(self, start, end, core: float, outer: float) -> np.ndarray:
        """Brush strength (28, 28): 1 within `core` of the segment, 0 beyond `outer`, linear between."""
        (x0, y0), (x1, y1) = start, end
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        # t: where along the segment each cell centre's nearest point lies, clamped to the ends
        if length2 > 0:
            t = np.clip(((self._cx - x0) * dx + (self._cy - y0) * dy) / length2, 0, 1)
        else:
            t = 0.0
        distance = np.hypot(self._cx - (x0 + t * dx), self._cy - (y0 + t * dy))
        return np.clip((outer - distance) / (outer - core), 0, 1).astype(np.float32)


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float,
         points: int = 24) -> list[tuple[float, float]]:
    """Points on an ellipse from angle `start` to `stop` (degrees; y grows downwards)."""
    angles = np.radians(np.linspace(start, stop, points))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Hand-made pen paths for each digit, in cells: what --screenshot draws, and test material.
DEMO_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(14, 14, 5.5, 8.5, -90, 270, 40)],
    1: [[(11.5, 8), (15, 5), (15, 23)]],
    2: [_arc(14, 9.5, 4.5, 4.5, 200, 400) + [(9.5, 22), (19.5, 22)]],
    3: [_arc(14, 9, 4, 4, 200, 450), _arc(14, 17.5, 4.5, 4.5, 270, 510)],
    4: [[(16, 5), (9, 17), (20, 17)], [(16.5, 10), (16.5, 24)]],
    5: [[(19, 5), (11, 5), (10, 13)] + _arc(14.5, 17, 5, 5.5, 215, 505)],
    6: [[(18, 5), (14, 8), (11, 12), (9.7, 17)] + _arc(14, 18, 4.3, 4.3, 180, 540)],
    7: [[(9, 5), (19, 5), (12, 23)]],
    8: [_arc(14, 9.5, 3.8, 3.8, 90, 450), _arc(14, 18, 4.8, 4.8, -90, 270)],
    9: [_arc(14, 10, 4.3, 4.3, 0, 360), [(18.3, 10), (17, 23)]],
}


def draw_demo(canvas: Canvas, digit: int, scale: float = 1.0, shift: tuple[float, float] = (0, 0)) -> None:
    """Paint DEMO_STROKES[digit] on the canvas, scaled about the centre and shifted (in cells)."""
    for path in DEMO_STROKES[digit]:
        points = [(14 + (x - 14) * scale + shift[0], 14 + (y - 14) * scale + shift[1]) for x, y in path]
        for start, end in zip(points, points[1:]):
            canvas.stroke(start, end)


def draw_number(canvas: Canvas, number: str, scale: float = 0.8, step: float = 13.0) -> None:
    """Paint the digits of `number` side by side, DEMO_STROKES scaled by `scale`, `step` cells
    apart, starting at the left of the canvas: what --screenshot draws in number mode, and tests."""
    for k, digit in enumerate(number):
        draw_demo(canvas, int(digit), scale=scale, shift=(step * k + step / 2 + 2 - 14, 0))
