"""Reading a picture of a number: a photo of paper or of a board, a scan, a picture file. The
picture's ink (nn/files/images.py and nn/files/paper.py), then the number found in it, then read
(nn/session/numbers.py):

    marks      the ink's marks; specks dropped, and blots larger than the digits (a shadow's
               edge, a thumb, anything filled rather than drawn: a stroke is much thinner than
               it is long)
    lines      marks side by side (rows that meet, a gap under a digit's height) are one line of
               writing, a mark over another (a 5's flag) one digit of it
    number     the line with the most ink (times its height) is the number: a tick, a dot or a
               scribble away from it is left out; a second line of as much is a page of
               writing, and more beside the number than in it a picture or a pattern, which
               are refused (crop the photo to the number) rather than guessed at; so is a photo in which nothing
               reads clearly as a digit

`draw.py --predict` and the page's Photo button both read pictures through `read_photo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.sparse.csgraph import connected_components

from nn.errors import DataError
from nn.files.images import Picture, read_image
from nn.files.paper import eroded, grown
from nn.network import Network
from nn.session.numbers import SHORT, SPECK, STRONG, Number, read_number
from nn.session.preprocess import Step
from nn.session.reading import SURE

BLOT = 0.4  # a mark whose strokes are wider than this share of its size is filled, not drawn
             # (a square or a disc: 0.5; MNIST's boldest digits: 0.26)
FILLED = 0.7  # ...or that covers this share of its box
BLOT_HEIGHT = 1.5  # ...unless it is no taller than this many of the drawn marks' usual height
LINE_GAP = 0.8  # marks closer than this many of the taller one's heights side by side: one line
ROW_GAP = 0.25  # ...and one over the other, this close: one digit (a 5's flag, a broken stroke)
SECOND = 0.5  # another line of this share of the number's weight (ink x height): a page of writing
ELSE = 1.0  # ...or all the other marks together of this share of it: a picture, a pattern
MAX_MARKS = 400  # more separate marks than this: texture or a page of text
PHOTO = 256  # pixels on its longer side: a picture this large is a photo, which must read clearly:
             # one whose every digit reads unsure (below SURE) is refused (a face, a wall);
             # measured, no photo of a number in 200 was (python -m nn.bench --only photos)
SHOWN = 360  # pixels on the longer side of a step's picture (the page shows them small)


@dataclass
class PhotoReading:
    """A picture read: the number, where its digits lie in the picture, and every step."""

    picture: Picture
    number: Number
    origin: tuple[int, int]  # where the number's ink (the digits' boxes) starts in the picture's ink
    steps: list[Step] = field(default_factory=list)

    def box(self, digit) -> list[int]:
        """A digit's box (x, y, width, height) in the picture's own pixels."""
        x, y, w, h = digit.box
        return self.picture.box((x + self.origin[0], y + self.origin[1], w, h))


def read_photo(net: Network, source: Path | str | bytes, name: str = "the photo") -> PhotoReading:
    """The number in a picture (a file, or its bytes called `name`). DataError naming it for
    anything but a number: no ink, only blots, a page of writing, noise, too many digits."""
    if not isinstance(source, bytes):
        name = str(source)
    noted: list[tuple] = []
    picture = read_image(source, steps=noted, name=name)
    steps = [Step(*step) for step in noted]
    ink, (x, y) = find_number(picture.ink, name)
    steps.append(Step("number", ink, "The number found: the line of writing with the most ink; marks away "
                                     "from it left out."))
    # The judge of cuts learned MNIST's ink, not a photo's: here it cut single digits in two (a
    # photo's 8 read as 818), so photos are cut by the network's confidence alone (the bench's
    # 300 photos: 92.7% read exactly with the judge).
    number = read_number(net, ink, source=name, judge=None)
    if not number.digits and any(step.name == "lines" for step in steps):
        raise DataError(f"{name}: no digit found: only long straight lines across it (ruling, a rule)")
    if not number.digits:
        raise DataError(f"{name}: no digit found: nothing on it stands out from the paper (a blank page, "
                        "shading, grain, noise)")
    if max(picture.size) >= PHOTO and all(d.reading.confidence < SURE for d in number.digits):
        raise DataError(f"{name}: nothing on it reads clearly as a digit (the best guess is "
                        f"{max(d.reading.confidence for d in number.digits):.0%} sure): a face, a picture or a "
                        "scribble? Write the number larger and clearer, or crop the photo to it")
    if number.cut is not None:
        steps.append(number.cut)
    for k, digit in enumerate(number.digits):
        steps.append(Step(f"digit {k + 1}", digit.reading.seen,
                          f"Digit {k + 1}, cut out and normalised as MNIST's were: read as {digit.reading.digit}."))
    return PhotoReading(picture, number, (x, y), [Step(s.name, shrunk(s.picture), s.says) for s in steps])


def find_number(ink: np.ndarray, source: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The number's ink, cropped (the rest of the picture's left out), and where it starts (x, y)
    in `ink`. All zeros when there is no ink at all. DataError for blots alone, noise, or more
    than one line of writing."""

    top = float(ink.max()) if ink.size else 0.0
    if top <= 0:
        return ink, (0, 0)
    strong = ink > STRONG * top
    labels, count = ndimage.label(strong, structure=np.ones((3, 3)))
    if count > MAX_MARKS:
        raise DataError(f"{source}: {count:,} separate marks: this looks like noise, a texture or a page of "
                        "text, not a number")
    boxes = ndimage.find_objects(labels)
    sizes = ndimage.sum_labels(strong, labels, index=np.arange(1, count + 1))
    heights = np.array([b[0].stop - b[0].start for b in boxes])
    marks = [k for k in range(count) if sizes[k] >= SPECK * sizes.max() or heights[k] >= SHORT * heights.max()]
    drawn = [k for k in marks if not _blot(labels[boxes[k]] == k + 1)]
    if not drawn:
        raise DataError(f"{source}: no digit found: only a dark patch (a shadow, an object), no strokes "
                        "of a pen")
    usual = float(np.median(heights[drawn]))  # a blot no taller than the strokes: a digit filled in
    drawn = [k for k in marks if k in drawn or heights[k] <= BLOT_HEIGHT * usual]
    lines = _lines([(boxes[k][1].start, boxes[k][1].stop, boxes[k][0].start, boxes[k][0].stop) for k in drawn])
    # A line's weight: its ink times its height (a tall thin 1 outweighs a short stroke of as much ink).
    weight = [sum(sizes[drawn[k]] for k in line) * (max(boxes[drawn[k]][0].stop for k in line)
                                                     - min(boxes[drawn[k]][0].start for k in line)) for line in lines]
    best = int(np.argmax(weight))
    others = sorted((i for i in range(len(lines)) if i != best), key=lambda i: -weight[i])
    if others and weight[others[0]] >= SECOND * weight[best]:
        raise DataError(f"{source}: {len(lines)} lines of writing: more than one number, or a page of text; "
                        "crop the photo to the number")
    if sum(weight[i] for i in others) >= ELSE * weight[best]:
        raise DataError(f"{source}: more marks beside the number than in it: a picture, a pattern or a page "
                        "of writing, not a number on paper")
    kept = [drawn[k] + 1 for k in lines[best]]
    own = grown(np.isin(labels, kept), 2) & (ink > 0)  # their soft edges too
    rows, cols = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return np.where(own, ink, 0)[y0:y1, x0:x1].astype(np.float32), (int(x0), int(y0))


def _blot(mask: np.ndarray) -> bool:
    """A filled mark rather than a stroke: its stroke width (2 x area / edge: a stroke of width w
    and length L has area w L and an edge of 2 L) over BLOT of its size, or, unless it is thin (a
    1), FILLED of its box covered (a bold 0: 0.6). Too small to tell: no."""
    if max(mask.shape) < 12:
        return False
    area = int(mask.sum())
    edge = area - int(eroded(mask).sum())
    thin = min(mask.shape) < 0.5 * max(mask.shape)
    return 2 * area / max(edge, 1) > BLOT * max(mask.shape) or (not thin and area >= FILLED * mask.size)


def _lines(boxes: list[tuple[int, int, int, int]]) -> list[list[int]]:
    """Marks' boxes (x0, x1, y0, y1) grouped into lines of writing: two marks are in one line
    when, measured in the taller one's height, they are side by side (their rows overlap, at most
    LINE_GAP apart) or one over the other (columns overlap, at most ROW_GAP apart), or both are in
    one with a third. Each line a list of indices into `boxes`."""

    x0, x1, y0, y1 = (np.array(c)[:, None] for c in zip(*boxes))
    tall = np.maximum(y1 - y0, (y1 - y0).T)
    across = np.maximum(np.maximum(x0 - x1.T, x0.T - x1), 0)  # the gap between two, side to side
    down = np.maximum(np.maximum(y0 - y1.T, y0.T - y1), 0)  # and top to bottom
    linked = ((down == 0) & (across <= LINE_GAP * tall)) | ((across == 0) & (down <= ROW_GAP * tall))
    _, line = connected_components(linked, directed=False)
    return [list(np.flatnonzero(line == k)) for k in range(line.max() + 1)]


def shrunk(picture: np.ndarray, side: int = SHOWN) -> np.ndarray:
    """A step's picture brought within `side` pixels on its longer side for showing, each pixel
    the most ink of those it stands for (a thin line stays a line)."""
    factor = int(np.ceil(max(picture.shape) / side))
    if factor <= 1:
        return picture
    height, width = (-(-n // factor) * factor for n in picture.shape)
    padded = np.zeros((height, width), np.float32)
    padded[:picture.shape[0], :picture.shape[1]] = picture
    return padded.reshape(height // factor, factor, width // factor, factor).max(axis=(1, 3))
