"""From a picture of paper (or a board) to its ink: the light taken off the paper, the ink found,
the ruling taken away. (nn/files/images.py reads the file; nn/session/numbers.py finds the number
in the ink.)

    polarity   dark ink on light paper, or light chalk on a dark board: as the border says,
               or in dim light whichever stands out more from its surroundings
    flattened  the paper's own level under every pixel (a grey opening wider than any stroke:
               shading, shadows and uneven light are paper), and each pixel's ink as a share of
               how light the paper is there: a stroke in the shade as dark as one in the light
    ink        what stands out from the paper by MIN_CONTRAST and by many times its grain (none:
               a blank page, however lit); pencil and chalk, full of the paper's grain, blurred by
               a quarter of their stroke's width; the rest stretched to 1
    lines      the ruling of ruled and squared paper and a margin taken away: long, thin, straight
               lines across the page (strokes that cross them are thicker, and stay)

Each step can be noted, as (name, its picture, one line of why), for the steps view.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Ink stands out from the paper by MIN_CONTRAST after a blur of a pixel (pencil pressed lightly on
# white paper, photographed: 0.13 to 0.25; the grain of blank paper in a JPEG, however lit: 0.08
# at most)...
MIN_CONTRAST = 0.1
GRAIN = 10  # ...and by this many times the grain's standard deviation
PAPER_WINDOW = 1 / 3  # of the picture's longer side: the paper's level is found over this
CLEAR = 0.15  # a border this far from middle grey says which way the ink is...
POLARITY = 0.25  # ink stands out this much more one way than the other: it is that way
Noted = tuple  # a step: (its name, its picture (H, W) of ink in [0, 1], what was done and why)
GRAIN_HOLE = 1 / 256  # of the picture's longer side: the grain's holes are this wide or less (2 pixels at 512)
GRAINY = 0.05  # ink with more holes than this share of its strokes is smoothed (pen: under 0.02)
LINE = 0.4  # a ruling line spans this share of the page, at least
LINE_THICK = 0.006  # ...and is at most this share of it thick (3 pixels at 500): a stroke is more
ALONG = 0.6  # a mark this much within a line's thickness of the lines is what is left of them
TILT = 5  # degrees a photo may be turned by and its lines still be found


def ink_from_grey(grey: np.ndarray, steps: list[Noted] | None = None, dark: bool | None = None) -> np.ndarray:
    """Grey levels (H, W) in [0, 1] -> ink (H, W) in [0, 1], paper 0; the ink `dark` on light
    paper (and inverted) or light on a dark board, as `dark_ink` finds if not said."""

    note = steps.append if steps is not None else lambda step: None
    raw = (1 - grey if (dark_ink(grey) if dark is None else dark) else grey).astype(np.float32)
    paper = paper_level(raw)
    # A stroke is wider than a pixel, grain is not: both judged after a blur of a pixel. The
    # grain's standard deviation is read from the paper's side of the values (ink only adds):
    # for grain alone, the 25th and 5th percentiles lie 0.97 of it apart.
    above = ndimage.gaussian_filter(raw - paper, 1.0)
    low, lowest = np.percentile(above, [25, 5])
    enough = max(MIN_CONTRAST, GRAIN * (low - lowest) / 0.97)  # how far ink stands out, at least
    if float(above.max()) - low < enough:
        return np.zeros_like(raw)
    ink = (raw - paper) / np.maximum(1 - paper, 0.2)  # 1 - paper: how light the paper is there
    note(("flattened", np.clip(ink / max(float(ink.max()), 1e-6), 0, 1),
          "The paper's own light taken off, pixel by pixel: shadows and shading are not ink."))
    ink = _smoothed(ink)
    floor = float(np.percentile(ink, 25))
    top = max(float(np.percentile(ink, 99.9)), float(ink.max()) / 2)
    ink = np.clip((ink - floor) / max(top - floor, 1e-6), 0, 1).astype(np.float32)
    note(("ink", ink, "The ink: what stands out from the paper, pencil's grain smoothed, stretched to black."))
    without = _without_lines(ink)
    if without is not ink:
        note(("lines", without, "Ruling and margins taken away: long thin straight lines are not digits."))
        ruling = grown((ink > 0) & (without == 0), 3)
        if float(np.where(ruling, low, above).max()) - low < enough:  # the ruling alone stood out
            return np.zeros_like(raw)
    return _drop_specks(without)


def dark_ink(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper. The border is paper: clearly light (white paper,
    a drawing's background) or clearly dark (a board), it says. In between (paper in dim or
    uneven light), what stands out most from its surroundings (each pixel against the mean of a
    window an eighth of the picture wide) does: ink darker than its surroundings, or lighter. (A
    thick drawn stroke fills such a window and makes the paper in its loops stand out: there, the
    border says.)"""
    border = float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))
    if abs(border - 0.5) > CLEAR:
        return border > 0.5
    surroundings = ndimage.uniform_filter(grey, max(3, max(grey.shape) // 8), mode="nearest")
    detail = ndimage.gaussian_filter(grey - surroundings, 1.0)
    darker, lighter = -float(detail.min()), float(detail.max())
    if abs(darker - lighter) > POLARITY * max(darker, lighter):
        return darker > lighter
    return border > 0.5


def paper_level(raw: np.ndarray) -> np.ndarray:
    """The paper under every pixel of a picture (H, W), in ink's terms (0: white paper): the
    picture's grey opening, a minimum and then a maximum over a square PAPER_WINDOW of its longer
    side. A stroke is narrower than that (MNIST's are at most a quarter of the digit's size, and a
    digit is no larger than the picture), so it leaves no trace; shading broader than it stays,
    a smooth gradient exactly.

    Grain pulls a minimum down, so the paper is also taken from the picture smoothed (at half
    its size: it changes slowly), and the higher of the two kept; the picture itself keeps the
    sharp edge of a shadow, which smoothing would round off."""

    side = max(3, round(PAPER_WINDOW * max(raw.shape)))
    paper = _opened(raw, side)
    height, width = raw.shape
    if min(height, width) >= 16:
        half = raw[:height // 2 * 2, :width // 2 * 2].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        half = _opened(ndimage.uniform_filter(half, 3, mode="nearest"), max(3, side // 2))
        smooth = np.pad(half.repeat(2, axis=0).repeat(2, axis=1), ((0, height % 2), (0, width % 2)), mode="edge")
        paper = np.maximum(paper, smooth)
    return np.minimum(paper, raw)


def _opened(picture: np.ndarray, side: int) -> np.ndarray:
    """The grey opening of `picture` over a side x side square, its edges repeated beyond it for
    both passes: padded for each pass alone (scipy's `mode`), the minimum's own edge would be
    repeated, and a gradient flattened near the picture's edge, its darker end read as ink."""

    margin = side // 2 + 1
    padded = np.pad(picture, margin, mode="edge")
    return ndimage.grey_opening(padded, size=(side, side))[margin:-margin, margin:-margin]


def _smoothed(ink: np.ndarray) -> np.ndarray:
    """Grainy ink (pencil, chalk: strokes the grain of the paper fills with holes) blurred by a
    quarter of its stroke's width, which makes strokes of it again; a pen's ink as it is (a blur
    would close the loops of a small 8). Grainy: closing holes a few pixels wide (GRAIN_HOLE of
    the picture) adds more than GRAINY to the strokes."""
    strong = ink > 0.5 * float(ink.max())
    k = max(2, round(GRAIN_HOLE * max(ink.shape)))
    closed = ~grown(~grown(strong, k), k)  # the grain's holes filled
    if 1 - int(strong.sum()) / max(int(closed.sum()), 1) < GRAINY:
        return ink
    # The stroke's width: a stroke w wide and L long has an area of w L and an edge of 2 L. Found
    # three times, each time after its holes are filled by a blur of a quarter of the last.
    width = 8.0
    for _ in range(3):
        rough = ndimage.gaussian_filter(strong.astype(np.float32), width / 4) > 0.5
        area = int(rough.sum())
        width = max(2.0, 2 * area / max(area - int(eroded(rough).sum()), 1))
    return ndimage.gaussian_filter(ink, max(0.7, width / 4))


def _without_lines(ink: np.ndarray) -> np.ndarray:
    """The ink without ruling: thin lines (LINE_THICK of the page at most) that run straight across
    LINE of it, horizontal or vertical, within TILT degrees. A stroke crossing a line is thicker
    than the line where they cross, and stays. The same ink when there are none."""

    strong = ink > 0.25
    height, width = strong.shape
    thick = max(2, round(LINE_THICK * max(height, width)))
    lines = np.zeros_like(strong)
    for along, across, span in ((1, 0, width), (0, 1, height)):  # horizontal lines, then vertical
        piece = max(8, round(span / 16))  # short enough that a tilted line keeps within `slack`
        slack = max(1, int(np.ceil(piece * np.tan(np.radians(TILT)))))
        widened = grown(strong, slack, across)
        runs = opened(widened, piece // 2, along)
        labels, count = ndimage.label(runs)
        if not count:
            continue
        found = ndimage.find_objects(labels)
        long = [k + 1 for k, box in enumerate(found) if box[along].stop - box[along].start >= LINE * span]
        if not long:
            continue
        thick_here = opened(strong, (thick + 1) // 2, across)  # where ink is thicker than a line
        lines |= np.isin(labels, long) & strong & ~thick_here
        strong = strong & ~lines  # where the lines each way cross, the second pass finds no thickness
    if not lines.any():
        return ink
    # What is left where a line was thicker (lines crossing, a blot on one) lies along the lines:
    # a mark mostly (ALONG) that near them goes too. A digit crossing one reaches far beyond it.
    near = grown(lines, thick)
    rest, count = ndimage.label((ink > 0.25) & ~lines)
    if count:
        share = ndimage.mean(near, rest, index=np.arange(1, count + 1))
        lines |= np.isin(rest, np.flatnonzero(share >= ALONG) + 1)
    lines = grown(lines, 1) & (ink > 0)  # the lines' soft edges too
    return np.where(lines, 0, ink).astype(np.float32)


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Specks far smaller than the largest mark (dust on a scan) dropped."""

    labels, count = ndimage.label(ink > 0.3)
    if count <= 1:
        return ink
    sizes = ndimage.sum_labels(np.ones_like(ink), labels, index=np.arange(1, count + 1))
    keep = np.zeros(count + 1, dtype=bool)
    keep[1:] = sizes >= 0.05 * sizes.max()
    # Dilate the kept components by a pixel so their soft anti-aliased edges stay too.
    kept = grown(keep[labels], 2)
    return np.where(kept, ink, 0).astype(np.float32)


# Morphology on masks, with square (or line) windows: maximum and minimum filters, which scipy
# computes one axis at a time, whatever the window's size (binary_dilation's cost grows with it).

def grown(mask: np.ndarray, by: int, axis: int | None = None) -> np.ndarray:
    """`mask` widened by `by` pixels each way (along `axis` alone, if given)."""
    values = mask.view(np.uint8)
    size = 2 * by + 1
    grew = ndimage.maximum_filter(values, size) if axis is None else ndimage.maximum_filter1d(values, size, axis)
    return grew.view(bool)


def opened(mask: np.ndarray, by: int, axis: int) -> np.ndarray:
    """What of `mask` a line of 2 by + 1 pixels along `axis` fits in: narrower runs are gone."""
    values = mask.view(np.uint8)
    return ndimage.maximum_filter1d(ndimage.minimum_filter1d(values, 2 * by + 1, axis), 2 * by + 1, axis).view(bool)


def eroded(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask` whose four neighbours are in it too (off the picture counts as out)."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    inner[0] = inner[-1] = inner[:, 0] = inner[:, -1] = False
    return inner
