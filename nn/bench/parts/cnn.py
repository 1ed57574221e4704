"""The cnn part: seconds per epoch of a CNN (conv 16-32, dense 128), ours against PyTorch's.

PyTorch's CPU build gets the same network, batch size, optimizer (SGD with momentum 0.9) and data;
without PyTorch its rows say skipped. --conv and --batch-size set the network and the batch.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from nn.bench.common import Context, Row, part
from nn.dataset import Dataset
from nn.network import DEFAULT_KERNEL, Network, shape_name
from nn.training import CONV_HIDDEN, TrainConfig, fit


@part("cnn", "seconds per epoch of a CNN, ours against PyTorch")
def part_cnn(ctx: Context) -> list[Row]:
    train, _, train_inputs = ctx.data()
    rows_used = 20_000 if ctx.quick else len(train)
    epochs = 1 if ctx.quick else 2
    images, labels, inputs = train.images[:rows_used], train.labels[:rows_used], train_inputs[:rows_used]
    shape = shape_name([784, *CONV_HIDDEN, 10], ctx.conv)
    ctx.say(f"cnn: {shape}, batch {ctx.batch}, momentum SGD, {epochs} epoch(s) of {rows_used:,} rows")
    our_times = epoch_cnn_ours(images, labels, ctx.conv, CONV_HIDDEN, ctx.batch, epochs)
    ours = float(np.median(our_times))
    what = "" if rows_used == len(train) else f" ({rows_used:,} rows)"
    rows = [Row("cnn", f"our trainer, {shape}, batch {ctx.batch}{what}", ours, "s",
                "two halves of each batch at once, one per core; each: " + ", ".join(f"{t:.2f}" for t in our_times))]
    theirs = epoch_cnn_torch(inputs, labels, ctx.conv, CONV_HIDDEN, ctx.batch, epochs)
    if theirs is None:
        rows.append(Row("cnn", "PyTorch, same network and optimizer", None, "s", "PyTorch not installed: skipped"))
        return rows
    theirs_median = float(np.median(theirs))
    ratio = ours / theirs_median
    rows += [Row("cnn", "PyTorch, same network and optimizer", theirs_median, "s",
                 "each: " + ", ".join(f"{t:.2f}" for t in theirs)),
             Row("cnn", "ours / PyTorch", ratio, "x", "", "<= 1.0x", ratio <= 1.0)]
    return rows


def epoch_cnn_ours(images: np.ndarray, labels: np.ndarray, conv: list[int], hidden: list[int],
                   batch: int, epochs: int, kernel: int = DEFAULT_KERNEL) -> list[float]:
    """Seconds per epoch of nn.training.fit for a CNN (momentum SGD), after 20 warm-up batches."""
    data = Dataset(images, labels, "bench", "")
    net = Network([784, *hidden, 10], conv=conv, kernel=kernel, seed=0)
    config = TrainConfig(hidden=hidden, conv=conv, kernel=kernel, epochs=1, batch_size=batch,
                         optimizer="momentum", lr=0.05, schedule="constant")
    fit(net, data.subset(slice(0, 20 * batch)), None, config)
    config.epochs = epochs
    return [r.seconds for r in fit(net, data, None, config).epochs]


def epoch_cnn_torch(inputs: np.ndarray, labels: np.ndarray, conv: list[int], hidden: list[int],
                    batch: int, epochs: int, kernel: int = DEFAULT_KERNEL) -> list[float] | None:
    """The same CNN and optimizer in a plain PyTorch loop (CPU), after 20 warm-up batches; None
    without PyTorch."""
    if importlib.util.find_spec("torch") is None:
        return None
    from nn.bench.pytorch import cnn_epoch_seconds  # it imports PyTorch: optional, and seconds to load

    return cnn_epoch_seconds(inputs, labels, conv, hidden, batch, epochs, kernel)
