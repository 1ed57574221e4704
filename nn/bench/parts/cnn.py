"""The cnn part: seconds per epoch of a CNN (conv 16-32, dense 128), ours against PyTorch's and
against the floor its matrix products set at the sgemm rate measured in the same run.

PyTorch's CPU build gets the same network, batch size, optimizer (SGD with momentum 0.9) and data;
without PyTorch its rows say skipped. --conv and --batch-size set the network and the batch.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
from threadpoolctl import threadpool_limits

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
    products = cnn_products(ctx.conv, CONV_HIDDEN, ctx.batch // 2)
    rate = sgemm_rate(products, 1.0 if ctx.quick else 3.0)
    flops = sum(2 * m * k * n for m, k, n in products) * rows_used / (ctx.batch // 2)
    floor = flops / (2 * rate)  # two halves at once, each on its own core at the one-core rate
    rows += [Row("cnn", "sgemm on one core, at the CNN's product shapes", rate / 1e9, "GFLOP/s",
                 f"{len(products)} products a half-batch step: by kernel rows forward, dW and dX, dense"),
             Row("cnn", f"the CNN's floor: its products' FLOPs ({flops / 1e9:.0f} GFLOP{what}) at that rate on 2 cores",
                 floor, "s"),
             Row("cnn", "ours / the floor", ours / floor, "x", "the rest: the kernel rows' copies, the gradient's "
                 "shifted sums, pooling, activations, the optimizer", "<= 1.5x", ours / floor <= 1.5)]
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


def cnn_products(conv: list[int], hidden: list[int], rows: int, kernel: int = DEFAULT_KERNEL,
                 side: int = 28) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product of one training step on `rows` rows (nn/layers.py's):
    a one-channel convolution's im2col forward (rows·h·w, k·k) · (k·k, F) and its weight gradient;
    a deeper one's k products by kernel rows each way, (rows·h·w, k·C) · (k·C, F) and the weight
    gradient's, and (but the first's) its input gradient's, (rows·w·(h - |i - p|), F) · (F, k·C)
    for kernel row i; the dense layers' three products (the first's two)."""
    products, channels, first = [], 1, True
    k, p = kernel, kernel // 2
    for filters in conv:
        m = rows * side * side
        if channels == 1:
            products += [(m, k * k, filters), (k * k, m, filters)]
        else:
            products += [(m, k * channels, filters), (k * channels, m, filters)] * k
        if not first:
            products += [(rows * side * (min(side, side + p - i) - max(0, p - i)), filters, k * channels)
                         for i in range(k)]
        channels, side, first = filters, side // 2, False
    sizes = [side * side * channels, *hidden, 10]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        products += [(rows, a, b), (a, rows, b)] + ([(rows, b, a)] if i or conv else [])
    return products


def sgemm_rate(products: list[tuple[int, int, int]], seconds: float = 2.0) -> float:
    """FLOP/s of float32 products of those shapes on one core (the median of rounds)."""
    rng = np.random.default_rng(0)
    operands = [(rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32))
                for m, k, n in dict.fromkeys(products)]
    count = {shape: products.count(shape) for shape in dict.fromkeys(products)}
    flops = sum(2 * m * k * n for m, k, n in products)
    rounds = []
    with threadpool_limits(1):
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(rounds) < 5:
            start = time.perf_counter()
            for (a, b), shape in zip(operands, count):
                for _ in range(count[shape]):
                    a @ b
            rounds.append(flops / (time.perf_counter() - start))
    return float(np.median(rounds))


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
