"""Predicting digits in CSV files with a saved model (the `python -m nn predict` command)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import load_csv
from .dataset import Dataset, to_inputs
from .plumbing.files import atomic_write
from .modelfile import ModelInfo, load_model
from .plumbing.errors import DataError
from .network import Network
from .parallel import on_cores


@dataclass
class Predictions:
    data: Dataset
    digits: np.ndarray  # (N,) the predicted digit of each row
    probabilities: np.ndarray  # (N, 10)

    @property
    def accuracy(self) -> float | None:
        """Share predicted right, for labeled data (None otherwise)."""
        if self.data.labels is None or not len(self.digits):
            return None
        return float(np.mean(self.digits == self.data.labels))

    def per_digit(self) -> list[tuple[int, int, int]]:
        """(digit, images with that label, of which predicted right) for each digit 0-9."""
        labels = self.data.labels
        return [(d, int(np.sum(labels == d)), int(np.sum((labels == d) & (self.digits == d))))
                for d in range(10)]


def predict_dataset(net: Network, data: Dataset) -> Predictions:
    with on_cores(net) as model:
        probabilities = model.predict_proba(to_inputs(data.images))
    return Predictions(data, probabilities.argmax(axis=1), probabilities)


def predict_csv(csv_path: Path | str, model_path: Path | str,
                label_column: str | None = None) -> tuple[Predictions, ModelInfo]:
    """Load the model and the CSV, and predict every row."""
    net, info = load_model(model_path)
    data = load_csv(csv_path, label_column)
    return predict_dataset(net, data), info


def write_submission(path: Path | str, digits: np.ndarray) -> None:
    """Write Kaggle's format: a header ImageId,Label and one row per image, ImageId from 1."""
    lines = ["ImageId,Label"] + [f"{i},{d}" for i, d in enumerate(digits.tolist(), start=1)]
    try:
        with atomic_write(Path(path)) as f:
            f.write(("\n".join(lines) + "\n").encode())
    except OSError as e:
        raise DataError(f"{path}: cannot write ({e.strerror or e})") from None
