"""What the network makes of one drawing: the normalised input, the guess and its probabilities.

The window, the web page and `draw.py --predict` all read drawings through `read`, and the two
front ends save labeled drawings through `save_drawing`, so the three give the same answer for
the same ink and write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nn.files.digits_csv import append_csv
from nn.dataset import N_PIXELS
from nn.errors import UsageError
from nn.plumbing.files import check_output, open_readable
from nn.network import Network
from nn.session.preprocess import normalize, to_grey_levels


# When to say something other than "it's a 3". Both come from measurements with data/pretrained.npz:
# - A drawing whose ink spans fewer than MIN_SIDE cells of the 28x28 grid, either way, is too small
#   to be a digit: drawn that small, the brush fills the loops in, and the demo digits drawn at
#   every size and spanning 5 to 8 cells were read right 0-29% of the time (9 cells: 51%, 13 and
#   more: 97-100%). A dot spans 4.
# - A guess whose top probability is below SURE is shown as unsure, with the runner-up. On the
#   benchmark's 600 distorted pen-drawn digits (python -m nn.bench --only handwriting), 3.8% fall
#   below 0.7 and those are right 61% of the time, against 97.9% for the rest; on MNIST's test
#   digits 0.9% fall below it, right 49% of the time against 99.5%.
MIN_SIDE = 9
SURE = 0.7


@dataclass
class Reading:
    """The network's answer for one drawing."""

    seen: np.ndarray  # (28, 28) float32 in [0, 1]: the drawing normalised the way MNIST was
    probabilities: np.ndarray  # (10,): the network's output, one probability per digit
    too_small: bool = False  # a drawing on the grid too small to be a digit (see MIN_SIDE)

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probabilities)[-2])

    @property
    def blank(self) -> bool:
        return not self.seen.any()

    @property
    def verdict(self) -> str:
        """'too small', 'unsure' or 'sure': what a front end should say about the guess."""
        if self.too_small:
            return "too small"
        return "sure" if self.confidence >= SURE else "unsure"


def read(net: Network, ink: np.ndarray, drawn: bool = False, forward=None) -> Reading:
    """Ink (H, W) in [0, 1] -> normalised input and guess. drawn: the ink is the 28x28 drawing grid
    (the window, the page), whose size says whether the drawing is big enough to be a digit;
    a picture file (load_image) is cropped to its ink whatever its size.

    A blank drawing reads as all zeros (check `Reading.blank` before trusting its guess).
    forward(net, X): what runs the network (default: net.predict_proba; the page's server reads
    the drawings that arrive together in one pass, nn/web/batching.py).
    """
    seen = normalize(ink)
    probabilities = (forward or type(net).predict_proba)(net, seen.reshape(1, -1))[0]
    return Reading(seen, probabilities,
                   too_small=drawn and 0 < ink_span(ink) < MIN_SIDE)


def ink_span(ink: np.ndarray) -> int:
    """The longer side, in cells, of the box around the drawing's ink (0 when there is none)."""
    mask = np.asarray(ink) > 0.1
    if not mask.any():
        return 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def save_drawing(path: Path | str, seen: np.ndarray, label: int) -> int:
    """Append a normalised drawing (28, 28) with its label to a training CSV (data/custom_digits.csv
    by default), as grey levels 0-255. Returns the number of rows now in the file."""
    return append_csv(path, to_grey_levels(seen)[None, :], np.array([label]))


def check_custom_csv(path: Path | str, others: Sequence[tuple[str, Path | str | None]] = ()) -> None:
    """Before a front end opens: UsageError if labeled drawings could not be appended to `path`
    (a folder that is not there, a FIFO, someone else's CSV, or one of `others`: (what it is,
    its path) pairs, such as the model file)."""
    check_output(path, "labeled drawings", others)
    if not Path(path).exists():
        return  # created, with its header, at the first save
    with open_readable(path, "a custom-digits CSV", UsageError) as f:
        first = f.readline(16 * N_PIXELS)
    if first.strip() and not first.startswith(b"label,pixel0,pixel1,"):
        raise UsageError(f"{path}: is not a custom-digits CSV (its first line is not "
                         "label,pixel0,...,pixel783); choose another --custom-csv")
