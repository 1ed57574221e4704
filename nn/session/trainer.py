"""Training while someone watches: a network trained on a thread, every batch's loss and every
epoch's figures kept for the page to draw (the session's train(), nn/session/session.py).

A run takes the settings of the page's Train panel (any of train.py's, as JSON; what is left out
takes train.py's defaults, and what train.py would refuse is refused with the same reason,
through TrainConfig.chosen). The run is `fit` itself, as `python train.py` runs it, its data and
network made by nn/session/runs.py: the only things added are the two callbacks that copy each
batch's loss and each epoch's figures into a Watch, which the page reads.

The page polls (GET /api/train, four times a second) instead of holding a stream open, and the
poll is also how the session knows someone is watching: a run nobody has asked about for
UNWATCHED seconds (a closed tab) stops as Stop does, keeping its best weights, so it never burns
the cores for ever; its result waits to be used or saved.
"""
from __future__ import annotations

import argparse
import base64
import math
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from nn.activations import ACTIVATIONS
from nn.augment import DEFAULT_AUGMENT
from nn.plumbing.cli import (fraction_or_count, nonnegative_float, nonnegative_int, positive_float, positive_int,
                  unit_interval)
from nn.dataset import N_CLASSES, Dataset
from nn.errors import NothingYet, UsageError, shown
from nn.plumbing.files import check_output
from nn.session.jobs import Busy, Job, refuse_if_running
from nn.session.model_in_use import ModelInUse
from nn.losses import LOSSES
from nn.files.model_file import save_model
from nn.network import Network
from nn.optim import OPTIMIZERS
from nn.plumbing.paths import display
from nn.session.runs import check_run, model_info, new_network, read_test_data, read_training_data
from nn.training import predict_dataset
from nn.training import (CONV_HIDDEN, CONV_LR, DEFAULT_LR, DTYPES, EpochRecord, TrainConfig, fit, split_validation)

UNWATCHED = 30.0  # seconds without a GET /api/train after which a run stops (a closed tab)
RECENT_LOSSES = 500  # batch losses a GET answers when it does not say since when
MAX_PICTURED = 100  # first-layer units sent as pictures (784-256-10: the first 100 of 256)

# The settings POST /api/train takes: JSON name -> how to read it (train.py's own flag checks).
SETTINGS = {
    "hidden": ("sizes", nonnegative_int), "conv": ("sizes", positive_int), "kernel": ("int", positive_int),
    "activation": ("choice", ACTIVATIONS), "loss": ("choice", LOSSES), "dtype": ("choice", DTYPES),
    "optimizer": ("choice", OPTIMIZERS), "lr": ("float", positive_float), "momentum": ("float", unit_interval),
    "weight_decay": ("float", nonnegative_float),
    "label_smoothing": ("float", nonnegative_float), "schedule": ("choice", ("constant", "cosine")),
    "warmup": ("int", nonnegative_int), "batch_size": ("int", nonnegative_int), "epochs": ("int", positive_int),
    "augment": ("augment", None), "seed": ("int", nonnegative_int), "val_split": ("float", fraction_or_count),
}


def read_settings(request: dict) -> TrainConfig:
    """The JSON settings as a TrainConfig, or a UsageError naming the setting that is wrong: each
    value read with its train.py flag's own check, then the rules for settings that go together
    (TrainConfig.chosen, as for train.py's flags)."""
    unknown = sorted(set(request) - set(SETTINGS))
    if unknown:
        raise UsageError(f"unknown setting {shown(unknown[0])}; the settings are {', '.join(SETTINGS)}")
    return TrainConfig.chosen(**{name: _setting(name, value) for name, value in request.items() if value is not None})


def _setting(name: str, value):
    kind, check = SETTINGS[name]
    try:
        if kind == "sizes":
            if not isinstance(value, list) or not all(_is_int(n) for n in value):
                raise UsageError(f"{name}: give a list of whole numbers, e.g. [256]")
            return [check(str(n)) for n in value]
        if kind == "choice":
            if not isinstance(value, str) or value not in check:
                raise UsageError(f"{name}: {shown(value)} is not one of {', '.join(check)}")
            return value
        if kind == "augment":  # true: train.py's --augment alone; a string: its KINDS
            if isinstance(value, bool):
                return DEFAULT_AUGMENT if value else ""
            if not isinstance(value, str):
                raise UsageError(f"augment: give true, false or kinds such as {DEFAULT_AUGMENT!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not _is_int(value)):
            raise UsageError(f"{name}: give {'a whole number' if kind == 'int' else 'a number'}, not {shown(value)}")
        return check(str(value))
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"{name}: {e}") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and value.is_integer()


@dataclass
class Watch:
    """What GET /api/train shows of a run, filled in by fit's callbacks as it trains."""

    config: TrainConfig
    shape: str
    rows: int
    started: float = field(default_factory=time.monotonic)
    step: int = 0
    steps: int = 0
    losses: list[float] = field(default_factory=list)  # every batch's loss, in order
    epochs: list[EpochRecord] = field(default_factory=list)
    finished: float | None = None
    test_accuracy: float | None = None
    confusion: list[list[int]] | None = None  # [true digit][predicted digit] counts, at the end
    best_epoch: int | None = None
    training_seconds: float | None = None  # fit's own figure, as train.py's "Training took" prints it
    stopped_because: str | None = None

    def seconds_left(self) -> float | None:
        if not self.step or self.finished is not None:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.step * (self.steps - self.step)

    def history(self) -> dict:
        """The per-epoch figures, a list for each (as EpochRecord names them)."""
        names = [f.name for f in fields(EpochRecord)]
        return {name: [getattr(r, name) for r in self.epochs] for name in names}


class Trainer:
    """One training run at a time, on a thread, and the network it trained (the session puts it
    in use, nn/session/session.py)."""

    def __init__(self, data: Sequence[Path | str], test: Path | str | None, label_column: str | None = None):
        self.data_paths, self.test_path = [Path(p) for p in data], test
        self.label_column = label_column
        self.job = Job("training")
        self.watch: Watch | None = None
        self.trained: ModelInUse | None = None
        self.saved_to: str | None = None
        self.unwatched = UNWATCHED
        self.last_seen = time.monotonic()
        self._data: tuple[Dataset, Dataset | None] | None = None
        self._net: Network | None = None  # the network of the last run (training, or trained)
        self._lock = threading.Lock()  # reading the data
        self._starting = threading.Lock()

    def data(self) -> tuple[Dataset, Dataset | None]:
        """The training and test sets, read once (a UsageError when they cannot be trained on)."""
        with self._lock:
            if self._data is None:
                self._data = (read_training_data(self.data_paths, self.label_column),
                              read_test_data(self.test_path, self.label_column))
            return self._data

    def start(self, request: dict, exclusive_with: Sequence[Job] = ()) -> None:
        """Start a run: UsageError, at once, for settings train.py would refuse; Busy while this
        or one of `exclusive_with` runs."""
        refuse_if_running(self.job, *exclusive_with)  # before the data is read
        config = read_settings(request)
        train, test = self.data()
        train, val = split_validation(train, config.val_split, config.seed)
        net = new_network(config)
        steps = check_run(net, train, config)[2]  # train.py's checks: memory, warm-up
        watch = Watch(config, net.shape_name, len(train), steps=steps)
        self.last_seen = time.monotonic()
        with self._starting:  # two Trains at once: one starts, the other gets Busy and changes nothing
            before, (self.watch, self._net) = (self.watch, self._net), (watch, net)  # for the first GET
            try:
                self.job.start(lambda job: self._train(job, net, train, val, test, watch), exclusive_with)
            except Busy:
                self.watch, self._net = before
                raise

    def _train(self, job: Job, net: Network, train: Dataset, val: Dataset | None, test: Dataset | None,
               watch: Watch) -> ModelInUse:
        def on_batch(step: int, total: int, loss: float) -> bool:
            watch.step, watch.steps = step, total
            watch.losses.append(loss)
            job.report_progress(step / total)
            if time.monotonic() - self.last_seen > self.unwatched:
                watch.stopped_because = f"nobody watched it for {self.unwatched:g} s"
                job.cancel()
            return job.cancel_requested()

        history = fit(net, train, val, watch.config, on_epoch=watch.epochs.append, on_batch=on_batch,
                      watch=test if val is None and not watch.config.full_batch else None)
        watch.epochs[:] = history.epochs  # the last epoch too, when a stop cut it short
        watch.best_epoch, watch.training_seconds = history.best_epoch, history.seconds
        accuracy = {"train": history.epochs[-1].train_accuracy if history.epochs else None}
        if test is not None:
            digits = predict_dataset(net, test).digits
            watch.test_accuracy = accuracy["test"] = float(np.mean(digits == test.labels))
            counts = np.bincount(test.labels * N_CLASSES + digits, minlength=N_CLASSES ** 2)
            watch.confusion = counts.reshape(N_CLASSES, N_CLASSES).tolist()
        watch.finished = time.monotonic()
        info = model_info(net, watch.config, history, accuracy, train, len(val) if val is not None else 0, test,
                          trained_on="the page")
        self.trained = ModelInUse(net, info, f"the {net.shape_name} trained here (not saved)")
        self.saved_to = None
        return self.trained

    def state(self, since: int | None = None, weights: bool = False) -> dict:
        """The run as it is now (and a poll: someone is watching)."""
        self.last_seen = time.monotonic()
        job, watch = self.job, self.watch
        state = {"state": {"cancelled": "stopped"}.get(job.state, job.state), "error": job.error,
                 "progress": round(job.progress, 4), "trained": self.trained is not None,
                 "saved_to": self.saved_to, "defaults": TrainConfig().as_dict(),
                 "default_lr": {"mlp": DEFAULT_LR, "cnn": CONV_LR}, "conv_hidden": CONV_HIDDEN,
                 "choices": {name: list(check) for name, (kind, check) in SETTINGS.items() if kind == "choice"},
                 "data": ", ".join(display(p) for p in self.data_paths)}
        if watch is None:
            return state
        start = max(0, len(watch.losses) - RECENT_LOSSES) if since is None else min(max(since, 0), len(watch.losses))
        config = watch.config
        state.update({
            "settings": config.as_dict(), "shape": watch.shape, "rows": watch.rows,
            "epoch": min(config.epochs, math.ceil(watch.step * config.epochs / watch.steps)) if watch.steps else 0,
            "epochs": config.epochs, "step": watch.step, "steps": watch.steps,
            "loss_from": start, "loss": [round(v, 5) for v in watch.losses[start:]],
            "history": watch.history(), "test_accuracy": watch.test_accuracy, "confusion": watch.confusion,
            "best_epoch": watch.best_epoch, "stopped_because": watch.stopped_because,
            "training_seconds": watch.training_seconds,
            "seconds": round((watch.finished or time.monotonic()) - watch.started, 2),
            "seconds_left": None if (left := watch.seconds_left()) is None else round(left, 1)})
        if weights and self._net is not None:
            state["weights"] = weights_picture(self._net.weights[0], outputs=len(self._net.weights) == 1)
        return state

    def save(self, out: Path, inputs: Sequence[tuple[str, Path | str]] = ()) -> ModelInUse:
        """Write the trained network to `out` (atomically, read back first); it, named by its file."""
        if self.trained is None or self.job.running:
            raise NothingYet("there is no trained network to save yet: train one first")
        sources = [("training data", p) for p in self.data_paths] + [("test data", self.test_path), *inputs]
        check_output(out, "model", sources, kind="model")
        save_model(out, self.trained.net, self.trained.info)
        self.trained = ModelInUse(self.trained.net, self.trained.info, display(out))
        self.saved_to = self.trained.name
        return self.trained


def weights_picture(W: np.ndarray, outputs: bool = False) -> dict:
    """The first layer's weights as temp/weights.png draws them, as bytes for the page: each unit's
    784 weights as a 28x28 square (a CNN's filters as their k x k kernels), all on one colour scale,
    level 0-255 for -limit..+limit (128: zero). "levels" is base64 of units x side x side bytes."""
    if W.ndim == 4:  # (k, k, 1, filters)
        side, units = W.shape[0], W.shape[3]
        squares = np.moveaxis(W[:, :, 0, :], -1, 0)
    else:
        side, units = 28, min(W.shape[1], MAX_PICTURED)
        squares = W[:, :units].T.reshape(units, side, side)
    limit = float(np.abs(squares).max()) or 1.0
    levels = np.clip(np.rint(127.5 + 127.5 * squares / limit), 0, 255).astype(np.uint8)
    return {"units": units, "of": W.shape[-1], "side": side, "limit": limit, "outputs": outputs,
            "levels": base64.b64encode(levels.tobytes()).decode("ascii")}
