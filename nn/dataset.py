"""Digits as arrays: the shapes the whole package shares, a Dataset, and the network's inputs.

A dataset is two arrays, rows are samples:
    images  (N, 784) uint8, grey levels 0-255 exactly as in the file (0 = background)
    labels  (N,) int64 digits 0-9, or None for an unlabeled file
`to_inputs(images)` turns grey levels into network inputs, float32 in [0, 1]. Images stay uint8
until a batch is built, so a 60,000-row file takes 47 MB, not 188 MB (float32) or 376 MB (float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 28  # an image is SIDE x SIDE pixels...
N_PIXELS = SIDE * SIDE  # ...784 of them, row by row: the network's inputs
N_CLASSES = 10  # the digits 0-9: the network's outputs


@dataclass(frozen=True)
class Dataset:
    """Digits read from one or more files."""

    images: np.ndarray  # (N, 784) uint8, 0-255
    labels: np.ndarray | None  # (N,) int64 in 0-9, or None when the file has no labels
    source: str  # the file, or files joined by ", "
    sha256: str  # of the file's bytes (of each file, joined by "+")
    label_column: str | None = None  # where the labels came from: "label", "first", "last"...

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labeled(self) -> bool:
        return self.labels is not None

    def subset(self, rows: np.ndarray | slice) -> "Dataset":
        labels = None if self.labels is None else self.labels[rows]
        return Dataset(self.images[rows], labels, self.source, self.sha256, self.label_column)


def to_inputs(images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Grey levels (N, 784) uint8 in 0-255 -> network inputs (N, 784) float32 in [0, 1]: x = p / 255."""
    return np.divide(images, np.float32(255), out=out, dtype=np.float32)
