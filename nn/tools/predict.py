"""Predicting digits in CSV files with a saved model (the `python -m nn predict` command)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nn.files.digits_csv import load_csv
from nn.plumbing.files import atomic_write
from nn.files.model_file import ModelInfo, load_model
from nn.training import Predictions, predict_dataset
from nn.errors import DataError


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
