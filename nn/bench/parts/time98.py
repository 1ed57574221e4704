"""The time98 part: training time until the test accuracy first reaches 98.0%, ours and PyTorch's.

Ours is the default recipe (python train.py's), the test set checked after every epoch, the
checking not counted; PyTorch's is the usual tutorial (784-128-10, Adam, lr 1e-3, batch 64), when
PyTorch is installed.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from nn.bench.common import Context, Row, part
from nn.dataset import Dataset, to_inputs
from nn.network import Network
from nn.training import TrainConfig, evaluate, fit


@part("time98", "training time to 98% test accuracy, ours and PyTorch's tutorial")
def part_time98(ctx: Context) -> list[Row]:
    train, test, train_inputs = ctx.data()
    ctx.say("time98: the default recipe, and the PyTorch tutorial")
    seconds, epoch_reached, final, total = time98_ours(train.images, train.labels, test.images,
                                                       test.labels, 2 if ctx.quick else None)
    note = (f"epoch {epoch_reached}; {final:.2%} after all {total:.1f} s" if seconds is not None
            else f"not reached in {epoch_reached} epochs ({final:.2%})")
    rows = [Row("time98", "ours: default recipe to 98.0% test accuracy", seconds, "s", note,
                "<= 10 s", None if seconds is None else seconds <= 10)]
    torch_result = time98_torch(train_inputs, train.labels, to_inputs(test.images), test.labels,
                                3 if ctx.quick else 30)
    if torch_result is None:
        rows.append(Row("time98", "PyTorch tutorial (Adam 1e-3, batch 64) to 98.0%", None, "s",
                        "PyTorch not installed: skipped"))
    else:
        seconds, epoch_reached, accuracy = torch_result
        note = (f"epoch {epoch_reached}" if seconds is not None
                else f"not reached in {epoch_reached} epochs ({accuracy:.2%})")
        rows.append(Row("time98", "PyTorch tutorial (Adam 1e-3, batch 64) to 98.0%", seconds, "s", note))
    return rows


def time98_ours(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
                test_labels: np.ndarray, max_epochs: int | None = None) -> tuple[float | None, int, float, float]:
    """(seconds of training when the test set first reaches 98% or None, epochs, final accuracy,
    seconds of the whole training)."""
    config = TrainConfig()
    if max_epochs:
        config.epochs = min(config.epochs, max_epochs)
    net = Network([784, *config.hidden, 10], config.activation, config.loss, seed=config.seed)
    reached: list[tuple[float, int]] = []
    evaluating = [0.0]

    def check(record):
        start = time.perf_counter()
        accuracy = evaluate(net, test_images, test_labels)[1]
        evaluating[0] += time.perf_counter() - start
        if accuracy >= 0.98 and not reached:
            reached.append((record.epoch, accuracy))

    started = time.perf_counter()
    fit(net, Dataset(train_images, train_labels, "bench", ""), None, config, on_epoch=check)
    total = time.perf_counter() - started - evaluating[0]
    final = evaluate(net, test_images, test_labels)[1]
    per_epoch = total / config.epochs
    if not reached:
        return None, config.epochs, final, total
    return per_epoch * reached[0][0], reached[0][0], final, total


def time98_torch(train_inputs: np.ndarray, train_labels: np.ndarray, test_inputs: np.ndarray,
                 test_labels: np.ndarray, max_epochs: int) -> tuple[float | None, int, float] | None:
    """PyTorch, the usual tutorial, until 98% (or max_epochs); None without PyTorch."""
    if importlib.util.find_spec("torch") is None:
        return None
    from nn.bench.pytorch import tutorial_to_98  # it imports PyTorch: optional, and seconds to load

    return tutorial_to_98(train_inputs, train_labels, test_inputs, test_labels, max_epochs)
