"""What the network makes of one drawing: the normalised input, the guess and its probabilities.

The window, the web page and `draw.py --predict` all read drawings through `read`, and the two
front ends save labeled drawings through `save_drawing`, so the three give the same answer for
the same ink and write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import N_PIXELS, append_csv
from .errors import UsageError
from .files import check_output, open_input
from .network import Network
from .preprocess import normalize, to_grey_levels


@dataclass
class Reading:
    """The network's answer for one drawing."""

    seen: np.ndarray  # (28, 28) float32 in [0, 1]: the drawing normalised the way MNIST was
    probabilities: np.ndarray  # (10,): the network's output, one probability per digit

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])

    @property
    def blank(self) -> bool:
        return not self.seen.any()


def read(net: Network, ink: np.ndarray) -> Reading:
    """Ink (H, W) in [0, 1] (a canvas, or a picture from load_image) -> normalised input and guess.

    A blank drawing reads as all zeros (check `Reading.blank` before trusting its guess).
    """
    seen = normalize(ink)
    return Reading(seen, net.predict_proba(seen.reshape(1, -1))[0])


def save_drawing(path: Path | str, seen: np.ndarray, label: int) -> int:
    """Append a normalised drawing (28, 28) with its label to a training CSV (data/custom_digits.csv
    by default), as grey levels 0-255. Returns the number of rows now in the file."""
    return append_csv(path, to_grey_levels(seen)[None, :], np.array([label]))


def check_custom_csv(path: Path | str, model_path: Path | str) -> None:
    """Before a front end opens: UsageError if labeled drawings could not be appended to `path`
    (a folder that is not there, a FIFO, the model file itself, someone else's CSV)."""
    check_output(path, "labeled drawings", [("model", model_path)])
    try:
        with open_input(path) as f:
            first = f.readline(16 * N_PIXELS)
    except FileNotFoundError:
        return  # created, with its header, at the first save
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror or e})") from None
    if first.strip() and not first.startswith(b"label,pixel0,pixel1,"):
        raise UsageError(f"{path}: is not a custom-digits CSV (its first line is not "
                         "label,pixel0,...,pixel783); choose another --custom-csv")
