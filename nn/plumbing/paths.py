"""Where things live. Every path is resolved from the repository, so commands work from any folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DATA_DIR = REPO / "data"
TEMP_DIR = REPO / "temp"

TRAIN_CSV = DATA_DIR / "mnist_train.csv.gz"
TEST_CSV = DATA_DIR / "mnist_test.csv.gz"
MODEL = DATA_DIR / "model.npz"
PRETRAINED = DATA_DIR / "pretrained.npz"  # the 784-512-10 MLP
PRETRAINED_CNN = DATA_DIR / "pretrained_cnn.npz"  # the CNN
# The shipped models, best first at reading handwriting that is not MNIST's (python -m nn.bench
# --only handwriting): the first that exists is the default when you have not trained data/model.npz.
PRETRAINED_MODELS = (PRETRAINED_CNN, PRETRAINED)
CUSTOM_DIGITS = DATA_DIR / "custom_digits.csv"
JUDGE = DATA_DIR / "judge.npz"  # the judge of cuts: one digit, or not (python -m nn train-judge)


def cache_dir() -> Path | None:
    """Folder for parsed-CSV caches: $NN_CACHE_DIR, or temp/cache; None when NN_CACHE_DIR is 'off'."""
    value = os.environ.get("NN_CACHE_DIR")
    if value is None:
        return TEMP_DIR / "cache"
    if value.strip().lower() in ("", "off", "0", "none"):
        return None
    return Path(value)


def display(path: Path | str) -> str:
    """A path as the user should read it: relative to the current folder when inside it (as given
    when it cannot be resolved: a link that loops, a current folder that was deleted)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)
