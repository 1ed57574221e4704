"""Reading a whole number: the ink split into digits, each read as a single digit is.

    1. pieces    the ink's connected pieces (8-connected); specks (a small share of the largest
                 piece's ink, and short) and lines (a rule, an underline) are dropped
    2. digits    pieces that overlap horizontally are one digit: a 5's flag, a 4 or a 7 written in
                 two strokes
    3. touching  a digit much wider than tall may be two or more that touch: it is cut where its
                 ink is thinnest (a few places tried near where the cuts are expected) and the
                 cut the network reads most confidently is kept, or none if it reads best whole
    4. reading   each digit normalised as a drawing of one digit is (nn/session/preprocess.py),
                 all of them in one forward pass

Boxes are (x, y, width, height) in the ink's own pixels (grid cells for a drawing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.errors import DataError
from nn.network import Network
from nn.session.preprocess import normalize
from nn.session.reading import MIN_SIDE, Reading

MAX_DIGITS = 8  # a longer number is refused, as is a picture of more marks than that
STRONG = 0.3  # of the darkest ink: a pixel this dark or more holds pieces together
SPECK = 0.06  # a piece with less ink than this share of the largest, and short, is a speck
SHORT = 0.35  # ...short: lower than this share of the tallest piece
LINE = 12  # a piece this many times wider than tall is a rule or an underline: eight digits run
           # together in one stroke are about six times wider than tall
OVERLAP = 0.5  # a piece this much of its width over another's columns is part of the same digit
FRAGMENT = 0.3  # a piece with less ink than this share of a typical digit's...
SHORT_FRAGMENT = 0.6  # ...and lower than this share of the tallest is a fragment of its neighbour
ATTACHED = 0.5  # a piece lower than this share of one whose columns it shares is part of it
DIGIT_ASPECT = 0.75  # a handwritten digit's usual width over its height
ONE = 1.35  # a part at most this many usual digit widths wide is one digit
TWO = 2.0  # one this many wide or more is (nearly always) two or more that touch; between, it
           # depends on how well the network reads it whole and in two, and on how wide it is:
MIDDLE = 1.7  # ...at this width, two only if it reads better in two
SLOPE = 8.0  # ...and a tenth of a usual width more or less counts as e^0.8 times likelier or less
CANDIDATES = 9  # cutting paths tried in a part that may be two digits, in bands across its middle
MIN_CUT = 6  # pixels: a part lower than this is no pair of digits that could be read (a dash)
MIN_PART = 0.15  # of the part's height: no cut leaves a half narrower than this (even a 1 is wider)
PINHOLE = 0.01  # of the tallest mark, each way: a smaller hole in the ink is grain (in a grid: none)
SIDEWAYS = 0.05  # what a cutting path pays for each step sideways, in units of full ink crossed


@dataclass
class Digit:
    """One digit of a number: where it is, its ink, and what the network makes of it."""

    box: tuple[int, int, int, int]  # x, y, width, height in the ink's pixels
    ink: np.ndarray  # (height, width): the digit's own ink, its neighbours' left out
    reading: Reading


@dataclass
class Number:
    """A whole number as read: its digits, left to right."""

    digits: list[Digit]

    @property
    def text(self) -> str:
        """The digits read, as a string: "2026"; "" when there are none."""
        return "".join(str(d.reading.digit) for d in self.digits)

    @property
    def confidence(self) -> float:
        """How sure the network is of the whole number: the product of its digits' confidences."""
        return float(np.prod([d.reading.confidence for d in self.digits])) if self.digits else 0.0


def read_number(net: Network, ink: np.ndarray, drawn: bool = False, source: str = "the drawing") -> Number:
    """The number written in `ink` (H, W) in [0, 1]. drawn: ink from the drawing grid, whose
    digits drawn smaller than MIN_SIDE cells are read as too small. DataError for more than
    MAX_DIGITS digits, or a picture of noise, naming `source` (a file's name)."""
    ink = np.asarray(ink, dtype=np.float32)
    reader = _Reader(net, ink)
    pieces = digit_pieces(ink, source)
    # A digit's usual width in this number: a share of its digits' usual height (widths vary more
    # than heights from digit to digit: a 1 is as tall as a 0).
    reader.typical = DIGIT_ASPECT * float(np.median([p.box[3] for p in pieces])) if pieces else None
    parts = [digit for piece in pieces for digit in reader.split(piece)]
    if len(parts) > MAX_DIGITS:
        raise DataError(f"{source}: {len(parts)} digits, more than the {MAX_DIGITS} a number may have here")
    reader.read(parts)
    digits = []
    for part in parts:
        seen, probabilities = reader.known[part.key]
        x, y, w, h = part.box
        digits.append(Digit(part.box, part_ink(ink, part),
                            Reading(seen, probabilities, too_small=drawn and max(w, h) < MIN_SIDE)))
    return Number(digits)


class _Reader:
    """Reads parts of the ink as single digits, each once, many in one forward pass."""

    def __init__(self, net: Network, ink: np.ndarray):
        self.net, self.ink = net, ink
        self.typical: float | None = None  # the width of a digit of this number, where it shows
        self.known: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # part -> (seen, probabilities)

    def read(self, parts: list[Part]) -> None:
        new = [p for p in parts if p.key not in self.known]
        if not new:
            return
        seen = np.stack([normalize(part_ink(self.ink, p)) for p in new])
        probabilities = self.net.predict_proba(seen.reshape(len(new), -1))
        for p, s, q in zip(new, seen, probabilities):
            self.known[p.key] = (s, q)

    def confidence(self, part: Part) -> float:
        return float(self.known[part.key][1].max())

    def split(self, part: Part) -> list[Part]:
        """Step 3: one digit, or two cut apart along the path from top to bottom that crosses the
        least ink (tried from a few places, where the ink is thinnest), and each again; two when
        both read well and the part is wide enough for it to be likely. Neither half may be much
        narrower or lower than a digit could be."""
        x, y, w, h = part.box
        ratio = w / max(self.typical or 0.0, DIGIT_ASPECT * h)  # how many digits wide it is
        if ratio <= ONE or h < MIN_CUT:
            return [part]
        ink = self.ink * part.mask
        halves, seen = [], set()
        for centre in np.linspace(0.25, 0.75, CANDIDATES):  # paths in bands across the middle
            band = (x + max(1, int((centre - 0.15) * w)), x + min(w - 1, int((centre + 0.15) * w) + 1))
            if band[0] >= band[1]:  # a part too narrow to cut (a few pixels of a thin line)
                continue
            left = _left_of_path(ink, part.mask, band)
            pair = (Part(part.mask & left), Part(part.mask & ~left))
            if (min(pair[0].box[2], pair[1].box[2]) >= MIN_PART * h and left.tobytes() not in seen
                    and min(pair[0].box[3], pair[1].box[3]) >= ATTACHED * h):  # a 7's bar is no digit
                seen.add(left.tobytes())
                halves.append(pair)
        if not halves:
            return [part]
        self.read([part, *[half for pair in halves for half in pair]])
        left, right = max(halves, key=lambda pair: self.confidence(pair[0]) * self.confidence(pair[1]))
        # One digit or two: how much better the network reads it in two, and how wide it is.
        gain = np.log(self.confidence(left) * self.confidence(right)) - np.log(self.confidence(part))
        if ratio < TWO and gain + SLOPE * (ratio - MIDDLE) <= 0:
            return [part]
        return self.split(left) + self.split(right)


def _left_of_path(ink: np.ndarray, mask: np.ndarray, band: tuple[int, int]) -> np.ndarray:
    """A mask of what lies left of the path from the top of `mask`'s rows to its bottom that
    crosses the least ink, within the columns of `band`: each row the path moves at most one
    column, and a move costs a little, so it runs straight through gaps. (Dynamic programming:
    the cheapest way to each cell of a row comes through one of the three cells above it.)"""
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    a, b = band
    cost = ink[top:bottom, a:b] + SIDEWAYS  # ink crossed, plus a little for every row
    n, m = cost.shape
    total = np.empty((n, m))
    came = np.zeros((n, m), dtype=np.int64)
    total[0] = cost[0]
    for r in range(1, n):
        moves = np.stack([np.r_[np.inf, total[r - 1, :-1]] + SIDEWAYS,  # from the left
                          total[r - 1],
                          np.r_[total[r - 1, 1:], np.inf] + SIDEWAYS])  # from the right
        came[r] = np.argmin(moves, axis=0) - 1
        total[r] = moves.min(axis=0) + cost[r]
    left = np.zeros_like(mask)
    col = int(np.argmin(total[-1]))
    left[bottom:, :a + col] = True  # below the ink: by the path's last column
    for r in range(n - 1, -1, -1):
        left[top + r, :a + col] = True
        col += int(came[r, col])
    left[:top, :a + col] = True  # above: by its first
    return left


@dataclass
class Part:
    """A region of the ink that may be one digit: a mask of the pixels it owns."""

    mask: np.ndarray  # (H, W) bool: its pieces, widened to take their soft edges (or a cut's side)

    @property
    def key(self) -> int:
        return id(self.mask)

    @property
    def box(self) -> tuple[int, int, int, int]:
        rows, cols = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        if not len(rows):
            return (0, 0, 0, 0)
        return (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


Group = tuple  # (x0, x1, y0, y1, ink, [pieces]): columns and rows [start, stop), its ink, its pieces


def _joined(pieces: list[Group]) -> list[Group]:
    """Step 2: pieces that belong to one digit, joined. Two pieces are one digit when one is over
    the other (they overlap in columns, hardly in rows: a digit broken across), one lies mostly
    within the other's columns (a 4's or a 7's second stroke), or one is much lower than the other
    and shares some of its columns (a 5's flag, a 7's bar written apart). A fragment (little ink,
    and short beside the tallest) joins its nearest neighbour: MNIST's scans break strokes apart."""
    groups = sorted(pieces)
    joined = True
    while joined:
        joined = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i], groups[j]
                columns = min(a[1], b[1]) - max(a[0], b[0])
                rows = min(a[3], b[3]) - max(a[2], b[2])
                narrower = min(a[1] - a[0], b[1] - b[0])
                shorter = min(a[3] - a[2], b[3] - b[2])
                if columns >= OVERLAP * narrower or (columns > 0 and rows < OVERLAP * shorter):
                    groups[i] = _union(a, b)
                    del groups[j]
                    joined = True
                    break
            if joined:
                break
    while True:  # a short mark over part of a taller one (a 5's flag, a 7's bar): the one it overlaps most
        columns, i, j = max(((min(a[1], b[1]) - max(a[0], b[0]), i, j) for i, a in enumerate(groups)
                             for j, b in enumerate(groups) if a[3] - a[2] < ATTACHED * (b[3] - b[2])),
                            default=(0, 0, 0))
        if columns <= 0:
            break
        groups[j] = _union(groups[j], groups[i])
        del groups[i]
    while len(groups) > 1:
        tallest = max(g[3] - g[2] for g in groups)
        typical = float(np.median([g[4] for g in groups]))
        small = [k for k, g in enumerate(groups) if g[4] < FRAGMENT * typical and g[3] - g[2] < SHORT_FRAGMENT * tallest]
        if not small:
            break
        k = small[0]
        g = groups[k]
        others = [j for j in range(len(groups)) if j != k]
        j = min(others, key=lambda j: max(groups[j][0] - g[1], g[0] - groups[j][1], 0))
        groups[j] = _union(groups[j], g)
        del groups[k]
    return sorted(groups)


def _union(a: Group, b: Group) -> Group:
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]), a[4] + b[4], a[5] + b[5])


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the box around a drawing's ink (0s for none)."""
    return Part(np.asarray(ink) > 0.1).box


def part_ink(ink: np.ndarray, part: Part) -> np.ndarray:
    """The part's own ink, cropped to its box."""
    x, y, w, h = part.box
    return (ink * part.mask)[y:y + h, x:x + w]


def digit_pieces(ink: np.ndarray, source: str = "the drawing") -> list[Part]:
    """Steps 1 and 2: the ink's pieces, specks dropped, those that overlap horizontally joined;
    left to right. DataError for a picture of noise or of too many marks."""
    from scipy import ndimage  # 0.15 s to import: only once a number is read

    top = float(ink.max()) if ink.size else 0.0
    if top <= 0:
        return []
    strong = ink > STRONG * top
    labels, count = ndimage.label(strong, structure=np.ones((3, 3)))
    if count > 6 * MAX_DIGITS:
        raise DataError(f"{source}: {count} separate marks: this looks like noise or a texture, not a number")
    found = ndimage.find_objects(labels)
    sizes = ndimage.sum_labels(strong, labels, index=np.arange(1, count + 1))
    heights = np.array([s[0].stop - s[0].start for s in found])
    keep = [k for k in range(count) if sizes[k] >= SPECK * sizes.max() or heights[k] >= SHORT * heights.max()]
    widths = np.array([s[1].stop - s[1].start for s in found])
    digits = [k for k in keep if widths[k] <= LINE * heights[k]]
    if keep and not digits:
        raise DataError(f"{source}: only a line across it (a rule or an underline), no digit")
    # The paper's pieces: outside the ink, and its holes; pinholes (a pencil's grain in a photo)
    # are not counted: only holes wider than PINHOLE of the tallest mark each way (in a grid: all).
    paper, pieces = ndimage.label(~strong)
    areas = ndimage.sum_labels(~strong, paper, index=np.arange(1, pieces + 1))
    holes = int((areas >= (PINHOLE * heights.max()) ** 2).sum())
    if holes - 1 > 2 * MAX_DIGITS:  # no digit has more than two holes (an 8)
        raise DataError(f"{source}: the ink has {holes - 1} holes: this looks like noise or a texture, "
                        "not a number")

    groups = _joined([(found[k][1].start, found[k][1].stop, found[k][0].start, found[k][0].stop, float(sizes[k]), [k])
                      for k in digits])
    if len(groups) > MAX_DIGITS:
        raise DataError(f"{source}: {len(groups)} digits, more than the {MAX_DIGITS} a number may have here")

    parts = []
    soft = ink > 0
    for group in groups:
        own = np.isin(labels, [k + 1 for k in group[5]])
        parts.append(Part(ndimage.binary_dilation(own, iterations=2) & soft))  # their soft edges too
    return sorted(parts, key=lambda part: part.box[0])
