"""The epoch part: seconds per epoch of our trainer, PyTorch's and scikit-learn's, and the trend.

The same network, batch size and optimizer (SGD with momentum 0.9) in each, on the CPU. The trend
is the later epochs against the earlier ones (the median of the last half over the median of the
first half): it would grow as momentum decays into subnormal numbers, on CPUs where those are
slow. PyTorch and scikit-learn are used only when installed.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from nn.bench.common import Context, Row, part
from nn.dataset import Dataset
from nn.network import Network
from nn.training import TrainConfig, fit


@part("epoch", "seconds per epoch, ours against PyTorch and scikit-learn, and the trend")
def part_epoch(ctx: Context) -> list[Row]:
    train, _, train_inputs = ctx.data()
    epochs = 3 if ctx.quick else 6
    shape = "-".join(map(str, [784, *ctx.hidden, 10]))
    ctx.say(f"epoch: {shape}, batch {ctx.batch}, momentum SGD, {epochs} epochs after a warm-up")
    times = epoch_ours(train.images, train.labels, ctx.hidden, ctx.batch, epochs)
    ctx.ours_epoch = float(np.median(times))
    # The later epochs against the earlier ones, each side a median so that one slow moment of a
    # shared machine does not read as a trend: momentum decaying into subnormal numbers would
    # slow every epoch after the second or so, and show here.
    half = len(times) // 2
    trend = float(np.median(times[-half:]) / np.median(times[:half]))
    rows = [Row("epoch", f"our trainer, {shape}, batch {ctx.batch}", ctx.ours_epoch, "s",
                "median; each: " + ", ".join(f"{t:.2f}" for t in times)),
            Row("epoch", "later epochs / earlier ones (medians)", trend, "x",
                "flat: no slowdown as momentum decays (no subnormal numbers)", "<= 1.10x", trend <= 1.10)]
    for name, measure in (("PyTorch", epoch_torch), ("scikit-learn", epoch_sklearn)):
        times = measure(train_inputs, train.labels, ctx.hidden, ctx.batch, 1 if name == "scikit-learn" else 3)
        if times is None:
            rows.append(Row("epoch", f"{name}, same network and optimizer", None, "s", f"{name} not installed: skipped"))
            continue
        theirs = float(np.median(times))
        rows.append(Row("epoch", f"{name}, same network and optimizer", theirs, "s"))
        target = "<= 0.75x" if name == "PyTorch" else ""
        ratio = ctx.ours_epoch / theirs
        rows.append(Row("epoch", f"ours / {name}", ratio, "x", target=target, passed=ratio <= 0.75 if target else None))
    return rows


def epoch_ours(images: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
               epochs: int) -> list[float]:
    """Seconds per epoch of nn.training.fit (momentum SGD), after one warm-up epoch."""
    data = Dataset(images, labels, "bench", "")
    net = Network([784, *hidden, 10], seed=0)
    config = TrainConfig(hidden=hidden, epochs=epochs + 1, batch_size=batch, optimizer="momentum",
                         lr=0.05, schedule="constant")
    history = fit(net, data, None, config)
    return [r.seconds for r in history.epochs[1:]]


def epoch_torch(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                epochs: int) -> list[float] | None:
    """The same network and optimizer in a plain PyTorch loop (CPU), or None without PyTorch."""
    if importlib.util.find_spec("torch") is None:
        return None
    from nn.bench.pytorch import epoch_seconds  # it imports PyTorch: optional, and seconds to load

    return epoch_seconds(inputs, labels, hidden, batch, epochs)


def epoch_sklearn(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                  epochs: int) -> list[float] | None:
    """scikit-learn's MLPClassifier, one partial_fit (one epoch) at a time, or None without it."""
    if importlib.util.find_spec("sklearn") is None:
        return None
    from sklearn.neural_network import MLPClassifier  # optional: not a requirement of the project

    model = MLPClassifier(hidden_layer_sizes=tuple(hidden), solver="sgd", momentum=0.9,
                          nesterovs_momentum=False, learning_rate_init=0.05, batch_size=batch,
                          random_state=0)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        model.partial_fit(inputs, labels, classes=np.arange(10))
        times.append(time.perf_counter() - start)
    return times[1:]
