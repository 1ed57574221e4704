"""The training loop, `fit`, and the validation split (its settings: nn/settings.py).

One epoch shuffles the order of the training rows, then walks through them in mini-batches:
forward, loss, backward, one optimizer step. With batch_size 0 every step uses all rows at once
(full-batch gradient descent, as in the original tutorials) and an "epoch" is one iteration.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from nn.augment import Augmentation, augment, parallel_map
from nn.dataset import Dataset, to_inputs
from nn.errors import TrainingDiverged, UsageError
from nn.network import Network
from nn.optim import learning_rate, make_optimizer
from nn.parallel import DataParallel, on_cores
from nn.settings import CONV_HIDDEN, CONV_LR, DEFAULT_LR, DTYPES, FULL_BATCH_EPOCHS, TrainConfig  # noqa: F401

# A loss this many times its first value means the weights have blown up (a learning rate far
# too high), even while it is still finite: stop as for NaN rather than train a dead network.
EXPLODED = 1000.0


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float  # running accuracy over the epoch's batches
    val_loss: float | None
    val_accuracy: float | None
    seconds: float  # the epoch's training and validation, not the watched set's evaluation
    lr: float
    test_loss: float | None = None  # on the watched set (the test set), reported only
    test_accuracy: float | None = None


@dataclass
class History:
    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None  # the epoch whose weights were kept
    interrupted: bool = False
    signal: int | None = None  # the signal that stopped it (Ctrl-C: SIGINT), if one did
    seconds: float = 0.0  # training time, evaluation included
    step_losses: list[float] = field(default_factory=list)  # the loss of every batch, in order
    step_lrs: list[float] = field(default_factory=list)  # the learning rate of every step


def split_validation(data: Dataset, val_split: float, seed: int) -> tuple[Dataset, Dataset | None]:
    """Hold out rows for validation: a fraction (0 < val_split < 1) or a count (val_split >= 1)."""
    if not val_split:
        return data, None
    n = len(data)
    count = int(round(val_split * n)) if val_split < 1 else int(val_split)
    if count < 1:
        raise UsageError(f"--val-split {val_split:g} holds out no rows of {n:,}; ask for more")
    if count >= n:
        asked = f"asks for {count:,} validation rows" if val_split >= 1 else f"holds out all {n:,} rows"
        raise UsageError(f"--val-split {val_split:g} {asked}, but the training data has only {n:,} "
                         "rows: ask for fewer, so that some are left to train on")
    order = np.random.default_rng([seed, 1]).permutation(n)
    return data.subset(np.sort(order[count:])), data.subset(np.sort(order[:count]))


def evaluate(net: Network | DataParallel, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(mean loss, accuracy) of the network on grey-level images (N, 784) uint8 and labels (N,)."""
    total_loss, correct = 0.0, 0
    chunk = net.chunk_rows
    for i in range(0, len(images), chunk):
        y = labels[i:i + chunk]
        A, loss = net.forward(to_inputs(images[i:i + chunk]), y)
        total_loss += loss * len(y)
        correct += int(np.count_nonzero(A.argmax(axis=1) == y))
    return total_loss / len(labels), correct / len(labels)


def fit(net: Network, train: Dataset, val: Dataset | None, config: TrainConfig,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        on_batch: Callable[[int, int, float], bool] | None = None, watch: Dataset | None = None) -> History:
    """Train `net` in place on `train`; keep the weights of the best epoch on `val` (else the last).

    on_batch(steps done, steps in all, the batch's loss) after every step and on_epoch(record)
    after every epoch stop training when they return True (Ctrl-C, the page's Stop), and
    History.interrupted says so. watch: a labeled set (the test set) measured after every epoch
    for the curves, never to choose. A NaN, infinite or EXPLODED loss raises TrainingDiverged.
    """
    batch, _, total_steps = plan(net, train, config)
    optimizer = make_optimizer(config.optimizer, net.parameters(), config.weight_decay, config.momentum)
    rng = np.random.default_rng([config.seed, 2])
    augmentation = Augmentation.of(config.augment) if config.augment else None
    history, best_score, best_params, step, first_loss = History(), -math.inf, None, 0, None
    started, watching = time.perf_counter(), 0.0  # watching: seconds spent on `watch`, not training
    whole = (to_inputs(train.images), train.labels) if config.full_batch else None  # converted once

    quiet = np.errstate(over="ignore", invalid="ignore")  # a diverging run: check_loss says so, in one line
    with on_cores(net, augmentation is not None, config.label_smoothing) as model, quiet:
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            loss_sum, correct, seen = 0.0, 0, 0
            shuffled = [whole] if whole is not None else batches(
                train, rng.permutation(len(train)), batch, augmentation, seed=(config.seed, 3, epoch))
            for X, y in shuffled:
                A, loss = model.forward(X, y, train=True)               # forward
                first_loss = loss if first_loss is None else first_loss
                check_loss(loss, first_loss, config.lr, epoch, step)
                lr = learning_rate(config.schedule, config.lr, step, total_steps, config.warmup)
                optimizer.step(model.backward(A, y), lr)               # backward, then a step
                loss_sum, seen = loss_sum + loss * len(y), seen + len(y)
                correct += int(np.count_nonzero(A.argmax(axis=1) == y))
                history.step_losses.append(loss)
                history.step_lrs.append(lr)
                step += 1
                if on_batch is not None and on_batch(step, total_steps, loss):
                    history.interrupted = True
                    break

            # evaluate: the validation set chooses the epoch kept; the watched set is only shown
            val_loss, val_accuracy = evaluate(model, val.images, val.labels) if val is not None else (None, None)
            record = EpochRecord(epoch, loss_sum / seen, correct / seen, val_loss, val_accuracy,
                                 time.perf_counter() - epoch_start, lr)
            if watch is not None and watch.labels is not None:
                watch_start = time.perf_counter()
                record.test_loss, record.test_accuracy = evaluate(model, watch.images, watch.labels)
                watching += time.perf_counter() - watch_start
            score = val_accuracy if val_accuracy is not None else epoch  # no validation: the last
            if score > best_score:
                best_score, history.best_epoch = score, epoch
                best_params = [p.copy() for p in net.parameters()]
            history.epochs.append(record)
            if history.interrupted or (on_epoch is not None and on_epoch(record)):
                history.interrupted = True
                break

    for p, best in zip(net.parameters(), best_params):
        p[...] = best
    history.seconds = time.perf_counter() - started - watching
    if not net.is_finite():  # the loss is checked before each step; the last step can still blow up
        raise TrainingDiverged(
            f"training diverged: after the last step the weights, or the outputs they give, are "
            f"NaN or infinite; the learning rate {config.lr:g} is too high for this network: "
            f"try --lr {config.lr / 10:g}; nothing was saved")
    return history


def plan(net: Network, train: Dataset, config: TrainConfig) -> tuple[int, int, int]:
    """(rows per batch, steps per epoch, steps in all), or a UsageError for a run that cannot be
    made: no labels, a warm-up as long as the run."""
    if train.labels is None:
        raise UsageError(f"{train.source}: has no labels, so it cannot be trained on")
    n = len(train)
    batch = n if config.full_batch else min(config.batch_size, n)
    steps_per_epoch = math.ceil(n / batch)
    total_steps = steps_per_epoch * config.epochs
    if config.warmup >= total_steps:
        raise UsageError(f"--warmup {config.warmup:,} steps is as long as the whole run ({total_steps:,} "
                         "steps), which would end before the learning rate got going: ask for fewer")
    return batch, steps_per_epoch, total_steps


def check_loss(loss: float, first_loss: float, lr: float, epoch: int, step: int) -> None:
    """TrainingDiverged when the loss is NaN, infinite, or EXPLODED times its first value."""
    if not math.isfinite(loss) or loss > EXPLODED * max(first_loss, 1.0):
        raise TrainingDiverged(
            f"training diverged: the loss went from {first_loss:.3g} to {loss:.3g} at "
            f"epoch {epoch}, step {step + 1}; the learning rate {lr:g} is too high "
            f"for this network: try --lr {lr / 10:g}")


def batches(train: Dataset, order: np.ndarray, size: int, augmentation: Augmentation | None = None,
            seed: tuple = ()) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X, y) mini-batches of the rows in `order`: inputs (B, 784) float32 in [0, 1]. Each batch
    gathers its own rows (faster than a shuffled 47 MB copy of the set each epoch). Augmented
    batches are distorted on worker threads, batch i with its own generator seeded (*seed, i), so
    the result does not depend on which thread ran first.
    """
    images, labels = train.images, train.labels
    starts = range(0, len(order), size)
    if augmentation is None:
        for start in starts:
            rows = order[start:start + size]
            yield to_inputs(np.take(images, rows, axis=0)), labels[rows]
        return

    def distorted(index_start: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        index, start = index_start
        rows = order[start:start + size]
        rng = np.random.default_rng([*seed, index])
        return augment(np.take(images, rows, axis=0), rng, augmentation), labels[rows]

    yield from parallel_map(distorted, enumerate(starts))


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
