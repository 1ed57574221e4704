"""One training run, as `python train.py`, the page's Train panel and teaching make it: the data
read and checked, the network built, the checks before the first step, and the metadata that goes
into the model file. Written once here, so the three cannot drift apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from nn.dataset import N_CLASSES, N_PIXELS, Dataset
from nn.errors import UsageError
from nn.files.digits_csv import load_csv, load_many
from nn.files.model_file import ModelInfo
from nn.network import Network
from nn.plumbing.machine import memory_budget
from nn.plumbing.paths import display
from nn.settings import TrainConfig
from nn.training import History, plan


def read_training_data(paths: Sequence[Path | str], label_column: str | None = None) -> Dataset:
    """The training files, stacked; a UsageError when they have no labels to learn from."""
    train = load_many([display(p) for p in paths], label_column)
    if not train.labeled:
        raise UsageError(f"{train.source}: has no label column, so it cannot be trained on "
                         "(name it with --label-column if the labels are there)")
    return train


def read_test_data(path: Path | str | None, label_column: str | None = None) -> Dataset | None:
    """The test file (None: no test); a UsageError when it has no labels to measure with."""
    if path is None:
        return None
    test = load_csv(display(path), label_column)
    if not test.labeled:
        raise UsageError(f"{test.source}: has no labels, so it cannot measure accuracy; "
                         "use python -m nn predict for unlabeled files, or no test set")
    return test


def new_network(config: TrainConfig) -> Network:
    """A new network with the settings' layers, random weights from the settings' seed."""
    return Network([N_PIXELS, *config.hidden, N_CLASSES], config.activation, config.loss,
                   dtype=np.dtype(config.dtype), seed=config.seed, conv=config.conv, kernel=config.kernel)


def check_run(net: Network, train: Dataset, config: TrainConfig) -> tuple[int, int, int]:
    """(rows per batch, steps per epoch, steps in all), after every check a run can fail before
    its first step: no labels, a warm-up as long as the run (nn/training.py's plan), and a step
    that needs more memory than this machine can spare (a CNN with many filters, a full batch)."""
    batch, steps_per_epoch, total = plan(net, train, config)
    need, budget = net.training_bytes(batch), memory_budget()
    if need > budget:
        raise UsageError(f"training the {net.shape_name} network on batches of {batch:,} rows would "
                         f"need about {need / 1e9:.1f} GB of memory, more than the {budget / 1e9:.1f} GB "
                         "this machine can spare: use a smaller --batch-size"
                         + (" or fewer --conv filters" if net.conv else " or smaller --hidden layers"))
    return batch, steps_per_epoch, total


def file_info(data: Dataset | None) -> dict | None:
    """What a model file records of a data set: its files, their SHA-256 and its rows."""
    return None if data is None else {"files": data.source, "sha256": data.sha256, "rows": len(data)}


def model_info(net: Network, config: TrainConfig, history: History, accuracy: dict, train: Dataset,
               validation_rows: int = 0, test: Dataset | None = None, **training) -> ModelInfo:
    """The metadata of a trained network: its settings, how the run went, what it was trained and
    tested on, its accuracies; `training` adds to the run's record (e.g. resumed_from)."""
    return ModelInfo(
        sizes=net.sizes, activation=net.activation.name, loss=net.loss.name, conv=net.conv, kernel=net.kernel,
        training={**config.as_dict(), "epochs_run": len(history.epochs), "best_epoch": history.best_epoch,
                  "interrupted": history.interrupted, "seconds": round(history.seconds, 2),
                  "history": [dataclasses.asdict(r) for r in history.epochs], **training},
        data={"train": file_info(train), "validation_rows": validation_rows, "test": file_info(test)},
        accuracy=accuracy)
