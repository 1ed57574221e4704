"""Reading a whole number: the ink split into digits, each read as a single digit is.

    1. pieces    the ink's connected pieces (8-connected); specks (a small share of the largest
                 piece's ink, and short) and lines (a rule, an underline) are dropped
    2. digits    pieces that overlap horizontally are one digit: a 5's flag, a 4 or a 7 written in
                 two strokes
    3. touching  a part wider than a digit may be two or more that touch. Cuts are tried: each
                 the path from top to bottom through the least ink, in narrow bands across the
                 part, upright and slanted. Each piece is read by the network and by the judge of
                 cuts (nn/tools/judge.py: 11 answers, the digits and "not one digit"), and scores

                     score(piece) = log( p_network(its digit) x (1 - p_judge(not one digit)) )

                 The cut whose two pieces score most is kept if they score more than the part
                 whole, and each piece is tried again (recognition-driven segmentation: the
                 networks choose among the cuts, LeCun et al. 1998)
    4. reading   each digit normalised as a drawing of one digit is (nn/session/preprocess.py),
                 all of them in one forward pass; a digit broken across (pieces one over another)
                 is read with its gaps bridged too, and whichever reads more surely is kept

Boxes are (x, y, width, height) in the ink's own pixels (grid cells for a drawing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.dataset import N_CLASSES, SIDE
from nn.errors import DataError, ModelError
from nn.files.model_file import load_model
from nn.network import Network
from nn.plumbing.paths import JUDGE
from nn.session.preprocess import Step, normalize
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
SPREAD = (0.15, 0.85, 13)  # cutting paths tried in a part that may be two digits: in 13 bands
                          # centred from 15% to 85% of its width...
BAND = 0.08  # ...each this share of its width either side of its centre (wider bands find the
             # same few paths: of 148 touching pairs, a right cut among 9 bands for 43% at 0.35, 78% for
             # 17 at 0.08)
SLANTS = (0.0, 0.3)  # ...the bands upright, and slanted as MNIST's digits lean (a column right per 3
                     # rows up): a right cut among 13 of each for 89% of those pairs
MIN_CUT = 6  # pixels: a part lower than this is no pair of digits that could be read (a dash)
MIN_PART = 0.15  # of the part's height: no cut leaves a half narrower than this (even a 1 is wider)
PINHOLE = 0.01  # of the tallest mark, each way: a smaller hole in the ink is grain (in a grid: none)
BRIDGE = 0.15  # of a broken digit's height: gaps across it up to this high are bridged to read it
NARROW = 0.5  # with the judge, a part wider than this many usual digit widths may be two...
ONE_DIGIT = 0.8  # ...unless it is at most ONE wide and the judge says it is one digit this surely
NO_DIGIT = 0.95  # a digit the judge says is not one digit this surely...
UNSURE = 0.9  # ...and the network reads less surely than this is refused: a scribble, a digit crossed
              # out (on the bench's 900 numbers, 17 refused, 13 of them misread otherwise)
SIDEWAYS = 0.05  # what a cutting path pays for each step sideways, in units of full ink crossed


def the_judge() -> Network | None:
    """The shipped judge of cuts (data/judge.npz, nn/tools/judge.py), read once; None, and
    touching digits cut by the network's confidence alone, if it is missing or unreadable."""
    if "judge" not in _JUDGE:
        try:
            _JUDGE["judge"] = load_model(JUDGE, outputs=N_CLASSES + 1)[0]
        except ModelError:
            _JUDGE["judge"] = None
    return _JUDGE["judge"]


_JUDGE: dict[str, Network | None] = {}


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
    cut: Step | None = None  # how touching digits were cut apart, for the steps view (None: no cut tried)

    @property
    def text(self) -> str:
        """The digits read, as a string: "2026"; "" when there are none."""
        return "".join(str(d.reading.digit) for d in self.digits)

    @property
    def confidence(self) -> float:
        """How sure the network is of the whole number: the product of its digits' confidences."""
        return float(np.prod([d.reading.confidence for d in self.digits])) if self.digits else 0.0


def read_number(net: Network, ink: np.ndarray, drawn: bool = False, source: str = "the drawing",
                judge: Network | None = ...) -> Number:
    """The number written in `ink` (H, W) in [0, 1]. drawn: ink from the drawing grid, whose
    digits drawn smaller than MIN_SIDE cells are read as too small. judge: the judge of cuts
    (the shipped one unless given; None: the network's confidence alone decides). DataError for
    more than MAX_DIGITS digits, or a picture of noise, naming `source` (a file's name)."""
    ink = np.asarray(ink, dtype=np.float32)
    reader = _Reader(net, ink, the_judge() if judge is ... else judge)
    pieces = digit_pieces(ink, source)
    # A digit's usual width in this number: a share of its digits' usual height (widths vary more
    # than heights from digit to digit: a 1 is as tall as a 0).
    reader.typical = DIGIT_ASPECT * float(np.median([p.box[3] for p in pieces])) if pieces else None
    parts = [digit for piece in pieces for digit in reader.split(piece)]
    if len(parts) > MAX_DIGITS:
        raise DataError(f"{source}: {len(parts)} digits, more than the {MAX_DIGITS} a number may have here")
    reader.read(parts)
    digits = []
    for part, own in zip(parts, reader.bridged(parts)):
        seen, probabilities = reader.known[part.key] if own is None else own[1:]
        x, y, w, h = part.box
        digits.append(Digit(part.box, part_ink(ink, part) if own is None else own[0],
                            Reading(seen, probabilities, too_small=drawn and max(w, h) < MIN_SIDE)))
        confidence = float(np.max(probabilities))
        if reader.one.get(part.key, 1.0) <= 1 - NO_DIGIT and confidence < UNSURE and not digits[-1].reading.too_small:
            raise DataError(f"{source}: mark {len(digits)} of {len(parts)} is no digit (a scribble, or a digit "
                            f"crossed out?): the network is only {confidence:.0%} sure it is a "
                            f"{int(np.argmax(probabilities))}, and the judge of cuts says it is not one digit")
    return Number(digits, reader.cut_step())


class _Reader:
    """Reads parts of the ink as single digits, each once, many in one forward pass; and asks
    the judge of cuts how likely each is to be one digit at all."""

    def __init__(self, net: Network, ink: np.ndarray, judge: Network | None):
        self.net, self.ink, self.judge = net, ink, judge
        self.typical: float | None = None  # the width of a digit of this number, where it shows
        self.known: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # part -> (seen, probabilities)
        self.one: dict[int, float] = {}  # part -> the judge's probability that it is one digit
        self.tried: list[tuple[Part, list[tuple[Part, Part]], tuple[Part, Part] | None]] = []  # cuts, for the steps

    def read(self, parts: list[Part]) -> None:
        new = [p for p in parts if p.key not in self.known]
        if not new:
            return
        seen = np.stack([normalize(part_ink(self.ink, p)) for p in new]).reshape(len(new), -1)
        probabilities = self.net.predict_proba(seen)
        one = 1 - self.judge.predict_proba(seen)[:, -1] if self.judge is not None else np.ones(len(new))
        for p, s, q, o in zip(new, seen.reshape(-1, SIDE, SIDE), probabilities, one):
            self.known[p.key], self.one[p.key] = (s, q), float(o)

    def bridged(self, parts: list[Part]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Step 4, for a digit in pieces one over the other (a stroke broken across): its gaps
        bridged (a closing along its columns, BRIDGE of its height), read too; (ink, seen,
        probabilities) of the bridged digit where it reads more surely, else None."""
        from scipy import ndimage  # as in digit_pieces

        broken = [p for p in parts if p.pieces > 1]
        if not broken:
            return [None] * len(parts)
        inks = []
        for p in broken:
            own = part_ink(self.ink, p)
            tall = max(3, round(BRIDGE * own.shape[0]))
            inks.append(np.maximum(own, ndimage.grey_closing(own, size=(tall, 1), mode="constant")))
        seen = np.stack([normalize(i) for i in inks]).reshape(len(broken), -1)
        probabilities = self.net.predict_proba(seen)
        better = {p.key: (i, s.reshape(SIDE, SIDE), q) for p, i, s, q in zip(broken, inks, seen, probabilities)
                  if q.max() > self.confidence(p)}
        return [better.get(p.key) for p in parts]

    def confidence(self, part: Part) -> float:
        return float(self.known[part.key][1].max())

    def score(self, part: Part) -> float:
        """How well a part reads as one digit: log(its reading's confidence x the judge's
        probability that it is one digit)."""
        return float(np.log(self.confidence(part) * self.one[part.key] + 1e-12))

    def split(self, part: Part) -> list[Part]:
        """Step 3: one digit, or two cut apart (cuts()), and each again: the two halves that score
        most, when they score more than the part whole (score: the network's confidence and the
        judge's one digit). Without a judge, the network's confidence alone, and how wide the part
        is, decide, as before the judge."""
        x, y, w, h = part.box
        ratio = w / max(self.typical or 0.0, DIGIT_ASPECT * h)  # how many digits wide it is
        if h < MIN_CUT or ratio <= (NARROW if self.judge is not None else ONE):
            return [part]
        self.read([part])
        if ratio <= ONE and self.one[part.key] >= ONE_DIGIT:
            return [part]
        halves = cuts(self.ink, part, judged=self.judge is not None)
        if not halves:
            return [part]
        self.read([half for pair in halves for half in pair])
        left, right = max(halves, key=lambda pair: self.score(pair[0]) + self.score(pair[1]))
        # One digit or two: how much better it reads in two, and how wide it is.
        gain = self.score(left) + self.score(right) - self.score(part)
        prior = SLOPE * (ratio - MIDDLE) if self.judge is None else 0.0  # the judge knows a pair when it sees one
        if ratio < TWO and gain + prior <= 0:
            self.tried.append((part, halves, None))
            return [part]
        self.tried.append((part, halves, (left, right)))
        return self.split(left) + self.split(right)

    def cut_step(self) -> Step | None:
        """The cuts tried (dim lines) and made (bright) where digits touched, on their ink, with
        what the judge said of each piece and of the whole."""
        if not self.tried:
            return None
        picture = 0.45 * np.clip(self.ink, 0, 1)
        said = []
        for part, halves, _ in self.tried:
            for left, _ in halves:
                picture[_path(left.side, part)] = 0.2
        for part, halves, chosen in self.tried:
            whole = f"whole {self.one[part.key]:.0%}"
            if chosen is None:
                said.append(f"none of {len(halves)} kept ({whole})")
                continue
            picture[_path(chosen[0].side, part)] = 1.0
            digits = " | ".join(str(self.known[h.key][1].argmax()) for h in chosen)
            said.append(f"{digits} of {len(halves)} (one digit: "
                        f"{', '.join(f'{self.one[h.key]:.0%}' for h in chosen)}; {whole})")
        boxes = np.array([part.box for part, _, _ in self.tried])
        x0, y0 = boxes[:, :2].min(axis=0)
        x1, y1 = (boxes[:, :2] + boxes[:, 2:]).max(axis=0)
        return Step("cuts", picture[y0:y1, x0:x1], "Cuts tried where digits touch (dim), kept (bright): "
                    + "; ".join(said) + ".")


def cuts(ink: np.ndarray, part: Part, judged: bool = True) -> list[tuple[Part, Part]]:
    """The ways to cut `part` in two tried: along the path from top to bottom that crosses the
    least ink, in each of SPREAD's narrow bands across it; no half much narrower or lower than a
    digit."""
    x, y, w, h = part.box
    masked = ink * part.mask
    # Without the judge, the network alone chooses, and more cuts give it more ways to be wrong:
    # the few wide upright bands it had before the judge (a photo's 556858 read as 5656858 with more).
    slants, (first, last, count), half = (SLANTS, SPREAD, BAND) if judged else ((0.0,), (0.25, 0.75, 9), 0.15)
    bands = []
    for slant in slants:
        for centre in np.linspace(first, last, count):  # paths in bands across it
            band = (x + max(1, int((centre - half) * w)), x + min(w - 1, int((centre + half) * w) + 1))
            if band[0] < band[1]:  # else a part too narrow to cut (a few pixels of a thin line)
                bands.append((band, slant))
    lefts = _left_of_paths(masked, part.mask, bands) if bands else []
    halves, seen = [], set()
    for left in lefts:
        pair = (Part(part.mask & left, left), Part(part.mask & ~left))
        if (min(pair[0].box[2], pair[1].box[2]) >= MIN_PART * h and pair[0].mask.tobytes() not in seen
                and min(pair[0].box[3], pair[1].box[3]) >= ATTACHED * h):  # a 7's bar is no digit
            seen.add(pair[0].mask.tobytes())
            halves.append(pair)
    return halves


def _path(left: np.ndarray, part: Part) -> np.ndarray:
    """The cut whose left side is `left`, as a mask of its pixels within the part's box."""
    path = np.zeros_like(left)
    path[:, :-1] = left[:, :-1] & ~left[:, 1:]
    x, y, w, h = part.box
    inside = np.zeros_like(left)
    inside[y:y + h, x:x + w] = True
    return path & inside


def _left_of_path(ink: np.ndarray, mask: np.ndarray, band: tuple[int, int], slant: float = 0.0) -> np.ndarray:
    """A mask of what lies left of the path from the top of `mask`'s rows to its bottom that
    crosses the least ink, within the columns of `band` (at the middle row; `slant` columns
    further right for each row up, as a slanted digit's edge runs)."""
    return _left_of_paths(ink, mask, [(band, slant)])[0]


def _left_of_paths(ink: np.ndarray, mask: np.ndarray, bands: list[tuple[tuple[int, int], float]]) -> list[np.ndarray]:
    """_left_of_path for each (band, slant), all found at once: each row the path moves at most
    one column, and a move costs a little, so it runs straight through gaps. (Dynamic
    programming: the cheapest way to each cell of a row comes through one of the three above it.)"""
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    n = bottom - top
    lifts = np.array([slant for _, slant in bands])[:, None] * ((n - 1) / 2 - np.arange(n))  # (paths, rows)
    shifts = np.round(lifts).astype(int)  # each band's move, row by row
    width = ink.shape[1]  # a band moved off the picture keeps its column nearest to it
    starts = np.clip(np.array([band[0] for band, _ in bands])[:, None] + shifts, 0, width - 1)
    stops = np.clip(np.array([band[1] for band, _ in bands])[:, None] + shifts, starts + 1, width)
    a, b = max(0, int(starts.min())), min(ink.shape[1], int(stops.max()))
    columns = np.arange(a, b)
    cost = np.where((columns >= starts[:, :, None]) & (columns < stops[:, :, None]),
                    ink[top:bottom, a:b] + SIDEWAYS, np.inf)  # ink crossed, a little for every row; (paths, rows, columns)
    paths, m = len(bands), b - a
    total = cost[:, 0].copy()
    came = np.zeros((paths, n, m), dtype=np.int8)
    edge = np.full((paths, 1), np.inf)
    for r in range(1, n):
        moves = np.stack([np.hstack([edge, total[:, :-1]]) + SIDEWAYS,  # from the left
                          total,
                          np.hstack([total[:, 1:], edge]) + SIDEWAYS])  # from the right
        came[:, r] = np.argmin(moves, axis=0) - 1
        total = moves.min(axis=0) + cost[:, r]
    cols = np.empty((paths, n), dtype=np.int64)  # the path's column in each row, from its cheapest end
    cols[:, -1] = np.argmin(total, axis=1)
    for r in range(n - 1, 0, -1):
        cols[:, r - 1] = cols[:, r] + came[np.arange(paths), r, cols[:, r]]
    ends = np.hstack([np.repeat(cols[:, :1], top, axis=1), cols,  # above and below the ink: its first
                      np.repeat(cols[:, -1:], ink.shape[0] - bottom, axis=1)]) + a  # and last columns
    return list(np.arange(ink.shape[1]) < ends[:, :, None])


@dataclass
class Part:
    """A region of the ink that may be one digit: a mask of the pixels it owns."""

    mask: np.ndarray  # (H, W) bool: its pieces, widened to take their soft edges (or a cut's side)
    side: np.ndarray | None = None  # a cut's left half: all that lies left of the cut
    pieces: int = 1  # the separate marks it was made of (a digit broken across: two)

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
        parts.append(Part(ndimage.binary_dilation(own, iterations=2) & soft, pieces=len(group[5])))  # soft edges too
    return sorted(parts, key=lambda part: part.box[0])
