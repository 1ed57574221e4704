"""Measurements, apart from training and tests: python -m nn.bench

    python -m nn.bench                    # every part (about 5 minutes on 2 cores)
    python -m nn.bench --quick            # the same parts, shorter (about 2 minutes)
    python -m nn.bench --only epoch floor # some parts; --hidden/--batch-size set the compared network

Parts (the table PARTS below), all measured in one run on the same data:
    epoch        seconds per epoch of our trainer, PyTorch (CPU) and scikit-learn's MLPClassifier
                 for the same network, batch size and optimizer (SGD with momentum 0.9), and the
                 trend from the earlier epochs to the later ones (median of the last half over the
                 median of the first half; it would grow as momentum decays into
                 subnormal numbers, on CPUs where those are slow). PyTorch and scikit-learn are
                 used only when installed.
    cnn          seconds per epoch of a CNN (conv 16-32, dense 128), ours against PyTorch's CPU build
                 with the same network, batch size, optimizer and data
    floor        the matrix products' floor: FLOPs per epoch / the sgemm throughput measured now at
                 the training shapes; our epoch time divided by it
    time98       training time until the test accuracy first reaches 98.0%: our default recipe
                 (test set checked after every epoch, checking not counted), and PyTorch with the
                 usual tutorial settings (784-128-10, Adam, lr 1e-3, batch 64)
    newcomer     the whole `python train.py` as a new user runs it: the first time (parsing the
                 CSV) and again (warm), its test accuracy and peak memory
    csv          loading data/mnist_train.csv.gz in a new process, cold (no cache) and warm, and
                 the CSV parsers compared: NumPy's, pandas' C engine, pandas' pyarrow engine
    latency      one drawing in the window: normalize + forward pass, median and p99
    numbers      whole numbers of 2-6 MNIST test digits with gaps, a touching pair, a digit in two
                 pieces (nn/bench/numbers.py): read exactly, digits counted right, a six-digit time
    web          POST /api/predict of `draw.py --web` on localhost: one client (median and p99
                 milliseconds), and 8 clients at once (requests per second, failures)
    handwriting  how well models read digits that are not MNIST's (nn/handwriting.py)
    teach        teaching each shipped model 50 drawings in a style it misreads: the time, MNIST's
                 test set before and after, and other drawings of that style after (nn/teach.py)
    watch        python train.py's default run, and the same started from the page while a client
                 polls its progress and weights as the page does: training seconds and their ratio

The table goes to the screen and, as JSON and Markdown, to temp/bench.json and temp/bench.md. The
exit status is 0 when every target is met and 1 when one is MISSED (the table says which); a
number without a target is reported only.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nn.errors import NNError
from nn.session.canvas import Canvas, draw_demo
from nn.plumbing.cli import ArgumentParser, positive_int
from nn.files.digits_csv import load_csv
from nn.dataset import Dataset, to_inputs
from nn.plumbing.files import atomic_write
from nn.bench.handwriting import font_digits, other_hands, pen_digits
from nn.plumbing.machine import blas_for_small_products
from nn.files.model_file import default_model, load_model
from nn.network import DEFAULT_KERNEL, Network, shape_name
from nn.plumbing.paths import REPO, TEMP_DIR, TEST_CSV, TRAIN_CSV, display
from nn.session.preprocess import normalize
from nn.session.reading import SURE
from nn.training import CONV_HIDDEN, TrainConfig, evaluate, fit


@dataclass
class Row:
    part: str
    what: str
    value: float | None  # in `unit`
    unit: str
    note: str = ""
    target: str = ""  # e.g. "< 2 ms"
    passed: bool | None = None

    def shown(self) -> str:
        if self.value is None:
            return "-"
        if self.unit == "%":
            return f"{self.value:.2f}%"
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "MB":
            return f"{self.value:,.0f} MB"
        if self.unit == "GFLOP/s":
            return f"{self.value:.0f} GFLOP/s"
        if self.unit == "ms":
            return f"{self.value:.3f} ms"
        if self.unit == "points":
            return f"{self.value:+.2f} points"
        return f"{self.value:.2f} {self.unit}"


# ---------------------------------------------------------------------------------------------
# epoch and floor


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
    import torch

    torch.manual_seed(0)
    X, y = torch.from_numpy(inputs), torch.from_numpy(labels)
    model = _torch_mlp(torch, hidden)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        _torch_epoch(torch, model, optimizer, X, y, batch)
        times.append(time.perf_counter() - start)
    return times[1:]


def _torch_mlp(torch, hidden: list[int]):
    layers, width = [], 784
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def _torch_epoch(torch, model, optimizer, X, y, batch: int) -> None:
    order = torch.randperm(len(X))
    for start in range(0, len(X), batch):
        index = order[start:start + batch]
        loss = torch.nn.functional.cross_entropy(model(X[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


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
    """The same CNN and optimizer in a plain PyTorch loop (CPU), after 20 warm-up batches."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.manual_seed(0)
    X, y = torch.from_numpy(inputs).reshape(-1, 1, 28, 28), torch.from_numpy(labels)
    model = _torch_cnn(torch, conv, hidden, kernel)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    _torch_epoch(torch, model, optimizer, X[:20 * batch], y[:20 * batch], batch)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        _torch_epoch(torch, model, optimizer, X, y, batch)
        times.append(time.perf_counter() - start)
    return times


def _torch_cnn(torch, conv: list[int], hidden: list[int], kernel: int):
    nn_ = torch.nn
    layers, channels, side = [], 1, 28
    for filters in conv:
        layers += [nn_.Conv2d(channels, filters, kernel, padding=kernel // 2), nn_.ReLU(), nn_.MaxPool2d(2)]
        channels, side = filters, side // 2
    layers.append(nn_.Flatten())
    width = channels * side * side
    for h in hidden:
        layers += [nn_.Linear(width, h), nn_.ReLU()]
        width = h
    return nn_.Sequential(*layers, nn_.Linear(width, 10))


def epoch_sklearn(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                  epochs: int) -> list[float] | None:
    """scikit-learn's MLPClassifier, one partial_fit (one epoch) at a time, or None without it."""
    if importlib.util.find_spec("sklearn") is None:
        return None
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=tuple(hidden), solver="sgd", momentum=0.9,
                          nesterovs_momentum=False, learning_rate_init=0.05, batch_size=batch,
                          random_state=0)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        model.partial_fit(inputs, labels, classes=np.arange(10))
        times.append(time.perf_counter() - start)
    return times[1:]


def flops_per_epoch(sizes: Sequence[int], rows: int) -> float:
    """Multiply-adds x 2 for Z = A W (forward), dW = Aᵀ dZ, and dA = dZ Wᵀ (not for the input)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * a * b for a, b in pairs)
    weights = forward
    inputs_grad = sum(2 * a * b for a, b in pairs[1:])
    return float(rows * (forward + weights + inputs_grad))


def sgemm_throughput(sizes: Sequence[int], batch: int, seconds: float = 2.0) -> float:
    """FLOP/s of float32 matrix products at the shapes one training step uses (median of rounds)."""
    rng = np.random.default_rng(0)
    shapes = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        shapes.append(((batch, a), (a, b)))  # Z = A W
        shapes.append(((a, batch), (batch, b)))  # dW = Aᵀ dZ
    operands = [(rng.random(p, dtype=np.float32), rng.random(q, dtype=np.float32)) for p, q in shapes]
    flops = sum(2 * p[0] * p[1] * q[1] for p, q in shapes)
    rounds = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 20:
        start = time.perf_counter()
        for _ in range(10):
            for p, q in operands:
                p @ q
        rounds.append(10 * flops / (time.perf_counter() - start))
    return float(np.median(rounds))


# ---------------------------------------------------------------------------------------------
# time to 98%


def time98_ours(train_images, train_labels, test_images, test_labels, max_epochs: int | None = None):
    """(seconds of training when the test set first reaches 98%, epochs, final accuracy)."""
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


def time98_torch(train_inputs, train_labels, test_inputs, test_labels, max_epochs: int):
    """PyTorch, the usual tutorial: 784-128-10, Adam lr 1e-3, batch 64, until 98% (or max_epochs)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.manual_seed(0)
    X, y = torch.from_numpy(train_inputs), torch.from_numpy(train_labels)
    Xt, yt = torch.from_numpy(test_inputs), torch.from_numpy(test_labels)
    model = _torch_mlp(torch, [128])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    training = 0.0
    accuracy = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        _torch_epoch(torch, model, optimizer, X, y, 64)
        training += time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((model(Xt).argmax(1) == yt).float().mean())
        if accuracy >= 0.98:
            return training, epoch, accuracy
    return None, max_epochs, accuracy


def whole_command(args: Sequence[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak memory in MB, stdout) of `python ARGS` run as a child process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURE_CHILD, *args], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()[-300:]}")
    out, _, peak = result.stdout.rpartition("PEAK_KB ")
    return wall, int(peak) / 1024, out


# Runs a script as __main__, then prints its own peak resident memory in kilobytes. On Linux that
# is VmHWM: getrusage's ru_maxrss would include the parent's size at fork (it survives exec).
_MEASURE_CHILD = """
import resource, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    if e.code not in (0, None):
        raise
try:  # VmHWM, in kilobytes; elsewhere ru_maxrss (kilobytes on Linux, bytes on macOS)
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_KB", peak)
"""


# ---------------------------------------------------------------------------------------------
# CSV loading


def csv_load_times(path: Path) -> list[tuple[float, float]]:
    """[(seconds, peak MB) cold, (seconds, peak MB) warm]: a fresh process imports the loader and
    loads `path`, first with an empty cache, then with the cache it left."""
    code = ("import time; t = time.perf_counter(); from nn.files.digits_csv import load_csv; "
            f"load_csv({str(path)!r}); print(time.perf_counter() - t); "
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    with tempfile.TemporaryDirectory() as cache:
        results = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                 env={**os.environ, "NN_CACHE_DIR": cache}, check=True).stdout.split()
            results.append((float(out[0]), int(out[1]) / 1024))
    return results


def csv_engines(path: Path) -> list[tuple[str, float | None, str]]:
    """(parser, seconds, note) for the training CSV read whole into an array, each the best of two
    runs in this process: the loader's NumPy path, pandas' C engine, pandas' pyarrow engine (only
    when pyarrow is installed; it is not a requirement). Decompression is included in each."""
    import gzip

    import pandas as pd

    def best(read) -> float:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            read()
            times.append(time.perf_counter() - start)
        return min(times)

    def numpy_parser():
        with gzip.open(path, "rb") as f:
            np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.uint8, ndmin=2, quotechar='"')

    rows = [("NumPy's loadtxt into uint8 (the loader's)", best(numpy_parser), "what load_csv uses"),
            ("pandas, C engine", best(lambda: pd.read_csv(path, dtype=np.uint8)), "")]
    if importlib.util.find_spec("pyarrow") is None:
        rows.append(("pandas, pyarrow engine", None, "pyarrow not installed: skipped"))
    else:
        rows.append(("pandas, pyarrow engine", best(lambda: pd.read_csv(path, engine="pyarrow")), ""))
    return rows


# ---------------------------------------------------------------------------------------------
# one drawing, and digits that are not MNIST's


def latency(model_path: Path, drawings: int = 200, repeats: int = 10, seed: int = 0) -> tuple[float, float]:
    """(median, p99) milliseconds for normalize + forward pass of one drawing, with one BLAS thread
    as the window and the page have it."""
    net, _ = load_model(model_path)
    blas_for_small_products()
    rng = np.random.default_rng(seed)
    canvases = []
    for i in range(drawings):
        canvas = Canvas()
        draw_demo(canvas, i % 10, scale=rng.uniform(0.6, 1.1), shift=tuple(rng.uniform(-3, 3, 2)))
        canvases.append(canvas.ink.copy())
    for ink in canvases[:20]:  # warm up
        net.predict_proba(normalize(ink).reshape(1, -1))
    times = []
    for _ in range(repeats):
        for ink in canvases:
            start = time.perf_counter()
            net.predict_proba(normalize(ink).reshape(1, -1))
            times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 99))


def web_speed(model_path: Path, requests: int = 400, seconds: float = 3.0, clients: int = 8,
              inside: bool = False) -> tuple[float, float, float, int]:
    """(median ms, p99 ms) of POST /api/predict for one client, then (requests per second,
    failures) for `clients` clients posting at once for `seconds`. The server is `draw.py --web`
    in its own process, as a user starts it; every client keeps its connection open, as a browser
    does. inside: ask for the hidden layer and the evidence map too, as the page's inside view
    does (the page's plain view asks for the guess alone)."""
    import http.client
    import threading

    bodies = []
    for digit in range(10):
        canvas = Canvas()
        draw_demo(canvas, digit)
        bodies.append(json.dumps({"grid": np.round(canvas.ink.reshape(-1).astype(float), 4).tolist(),
                                  "inside": inside}))
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [sys.executable, str(REPO / "draw.py"), "--web", "--no-browser", "--port", "0",
             "--model", str(model_path), "--custom-csv", f"{folder}/custom.csv"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = next(line.split("Drawing page: ")[1].split()[0] for line in server.stdout
                       if "Drawing page: " in line)
            host, port = url[len("http://"):].split(":")

            def post(connection, body) -> bool:
                connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                reply = response.read()
                return response.status == 200 and b'"digit"' in reply

            one = http.client.HTTPConnection(host, int(port), timeout=10)
            for i in range(50):  # warm up
                post(one, bodies[i % 10])
            times = []
            for i in range(requests):
                start = time.perf_counter()
                post(one, bodies[i % 10])
                times.append(time.perf_counter() - start)
            one.close()

            counts, failures = [0] * clients, [0] * clients
            stop = time.perf_counter() + seconds

            def client(k: int) -> None:
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
                i = k
                while time.perf_counter() < stop:
                    try:
                        ok = post(connection, bodies[i % 10])
                    except (OSError, http.client.HTTPException):
                        ok = False
                        connection.close()
                        connection = http.client.HTTPConnection(host, int(port), timeout=10)
                    counts[k] += ok
                    failures[k] += not ok
                    i += 1
                connection.close()

            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(10)
    return (1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 99)),
            sum(counts) / elapsed, sum(failures))


def watched_training(epochs: int, repeats: int, poll: float = 0.25) -> tuple[list[float], list[float]]:
    """Training seconds of `python train.py --epochs N` and of the same run started from the page
    (POST /api/train {"epochs": N} to `draw.py --web`) while a client polls GET /api/train with
    the weights four times a second, as the page does; each a new process, alternating."""
    import http.client

    ours, page = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            run = subprocess.run([sys.executable, str(REPO / "train.py"), "--epochs", str(epochs), "--plots", "none",
                                  "--out", f"{folder}/model.npz"], capture_output=True, text=True, check=True)
            ours.append(float(run.stdout.split("Training took ")[1].split("s.")[0]))
            server = subprocess.Popen(
                [sys.executable, str(REPO / "draw.py"), "--web", "--no-browser", "--port", "0",
                 "--custom-csv", f"{folder}/custom.csv", "--out", f"{folder}/page.npz"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                url = next(line.split("Drawing page: ")[1].split()[0] for line in server.stdout
                           if "Drawing page: " in line)
                host, port = url[len("http://"):].split(":")
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                connection.request("POST", "/api/train", json.dumps({"epochs": epochs}),
                                   {"Content-Type": "application/json"})
                assert json.loads(connection.getresponse().read()) == {"state": "running"}
                since = 0
                while True:
                    connection.request("GET", f"/api/train?since={since}&weights=1")
                    state = json.loads(connection.getresponse().read())
                    since += len(state["loss"])
                    if state["state"] != "running":
                        break
                    time.sleep(poll)
                connection.close()
                page.append(state["training_seconds"])
            finally:
                server.terminate()
                server.wait(10)
    return ours, page


def handwriting(model_paths: Sequence[Path], test: Dataset, quick: bool = False) -> list[dict]:
    """Accuracy of each model on every set of other hands (nn/bench/handwriting.py), their mean,
    MNIST's test set, and how the "unsure" threshold (nn/session/reading.py: SURE) splits the pen
    digits."""
    sets = [pen_digits(20 if quick else 60), font_digits(), *other_hands(10 if quick else 40)]
    rows = []
    for model in model_paths:
        net = load_model(model)[0]
        mnist = float(np.mean(net.predict(to_inputs(test.images)) == test.labels))
        row = {"model": display(model), "mnist_test": mnist, "sets": {}}
        missed = np.zeros(10, int)  # misses of each digit, over all the sets
        for s in sets:
            if len(s.labels):
                wrong = net.predict(s.inputs) != s.labels
                row["sets"][s.name] = {"accuracy": float(1 - wrong.mean()), "note": s.note}
                missed += np.bincount(s.labels[wrong], minlength=10)
        row["mean"] = float(np.mean([v["accuracy"] for v in row["sets"].values()]))
        row["missed"] = {int(d): int(missed[d]) for d in np.argsort(-missed, kind="stable") if missed[d]}
        probabilities = net.predict_proba(sets[0].inputs)
        right = probabilities.argmax(axis=1) == sets[0].labels
        unsure = probabilities.max(axis=1) < SURE
        row["unsure"] = {"share": float(unsure.mean()),
                         "right_when_unsure": float(right[unsure].mean()) if unsure.any() else None,
                         "right_when_sure": float(right[~unsure].mean()) if (~unsure).any() else None}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# the parts, and the run


@dataclass
class Context:
    """What the parts share: the settings of the run and the data, loaded once."""

    quick: bool
    hidden: list[int]
    batch: int
    models: list[Path]
    say: Callable[[str], None] = print
    extra: dict = field(default_factory=dict)  # what goes into bench.json beside the rows
    ours_epoch: float | None = None  # the epoch part's median, for the floor part
    conv: list[int] = field(default_factory=lambda: [16, 32])  # the CNN of the cnn part
    _data: tuple | None = None

    def data(self):
        """(train, test) Datasets and the training inputs as float32."""
        if self._data is None:
            train, test = load_csv(TRAIN_CSV), load_csv(TEST_CSV)
            self._data = (train, test, to_inputs(train.images))
        return self._data


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


def part_floor(ctx: Context) -> list[Row]:
    train, _, _ = ctx.data()
    if ctx.ours_epoch is None:
        ctx.ours_epoch = float(np.median(epoch_ours(train.images, train.labels, ctx.hidden, ctx.batch, 2)))
    sizes = [784, *ctx.hidden, 10]
    throughput = sgemm_throughput(sizes, ctx.batch, 1.0 if ctx.quick else 3.0)
    flops = flops_per_epoch(sizes, len(train.images))
    floor = flops / throughput
    return [Row("floor", "sgemm at the training shapes", throughput / 1e9, "GFLOP/s"),
            Row("floor", f"FLOPs per epoch / sgemm: the floor ({flops / 1e9:.1f} GFLOP)", floor, "s"),
            Row("floor", "our epoch / the floor", ctx.ours_epoch / floor, "x", target="<= 2x",
                passed=ctx.ours_epoch / floor <= 2)]


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


def part_newcomer(ctx: Context) -> list[Row]:
    """The whole `python train.py` a new user runs: the very first time (no parsed-CSV cache yet)
    and again (warm), medians of a few runs, each in a new process, with test accuracy and memory."""
    ctx.say("newcomer: the whole python train.py, first run (cold) and again (warm)")
    runs = 1 if ctx.quick else 3
    cold, warm, peaks, accuracies = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(runs):
            cache = Path(folder) / f"cache{i}"  # empty: this run parses the CSV, as a fresh clone does
            wall, peak, out = whole_command(["train.py", "--out", f"{folder}/model.npz", "--plots", folder],
                                            env={"NN_CACHE_DIR": str(cache)})
            cold.append(wall)
            wall, peak, out = whole_command(["train.py", "--out", f"{folder}/model.npz", "--plots", folder],
                                            env={"NN_CACHE_DIR": str(cache)})
            warm.append(wall)
            peaks.append(peak)
            accuracies.append(next((l.split()[2] for l in out.splitlines() if l.startswith("Test accuracy")), "?"))
    accuracy = accuracies[-1]
    reached = accuracy != "?" and float(accuracy.rstrip("%")) >= 98.0
    return [Row("newcomer", "python train.py, first run (parses the CSV)", float(np.median(cold)), "s",
                f"median of {runs}" if runs > 1 else "", "<= 10 s", float(np.median(cold)) <= 10),
            Row("newcomer", "python train.py, warm (parsed CSV cached)", float(np.median(warm)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in warm), "<= 5 s", float(np.median(warm)) <= 5),
            Row("newcomer", "its test accuracy", float(accuracy.rstrip("%")) if accuracy != "?" else None, "%",
                "", ">= 98.0%", reached),
            Row("newcomer", "peak memory of python train.py", float(np.median(peaks)), "MB",
                "resident set, the whole process", "< 1 GB", float(np.median(peaks)) < 1024)]


def part_csv(ctx: Context) -> list[Row]:
    (cold, cold_peak), (warm, warm_peak) = csv_load_times(TRAIN_CSV)
    rows = [Row("csv", "load mnist_train.csv.gz, cold (parse)", cold, "s", "60,000 rows, new process"),
            Row("csv", "load mnist_train.csv.gz, warm (cache)", warm, "s", "", "< 1 s", warm < 1),
            Row("csv", "peak memory, cold load", cold_peak, "MB",
                "the whole process; the arrays are 47 MB, float64 would be 377 MB"),
            Row("csv", "peak memory, warm load", warm_peak, "MB", "the whole process")]
    for name, seconds, note in csv_engines(TRAIN_CSV):
        rows.append(Row("csv", f"parse only: {name}", seconds, "s", note))
    return rows


def part_latency(ctx: Context) -> list[Row]:
    """Each model's median and p99: under 2 ms for an MLP, 5 ms for a CNN (live mode redraws at
    up to 60 frames a second, 17 ms each)."""
    rows = []
    for model in ctx.models:
        median, p99 = latency(model, repeats=3 if ctx.quick else 10)
        limit = 5 if load_model(model)[0].conv else 2
        rows += [Row("latency", f"one drawing: normalize + forward, median: {display(model)}", median, "ms"),
                 Row("latency", f"one drawing: normalize + forward, p99: {display(model)}", p99, "ms", "",
                     f"< {limit} ms", p99 < limit)]
    return rows


def part_numbers(ctx: Context) -> list[Row]:
    """Whole numbers of 2 to 6 digits made from MNIST's test digits (nn/bench/numbers.py): read
    exactly, the count of digits right, and the time of a six-digit number, with the default
    model (one BLAS thread, as the window and the page run)."""
    from nn.bench.numbers import KINDS, compose
    from nn.session.numbers import read_number

    blas_for_small_products()
    net = load_model(ctx.models[0])[0]
    test = ctx.data()[1]
    count = 100 if ctx.quick else 300
    goals = {"gaps": 0.97, "touching": 0.90}
    rows, counted, total, six = [], 0, 0, []
    for kind in KINDS:
        numbers = compose(test, kind, count)
        read = []
        for number in numbers:
            started = time.perf_counter()
            try:
                text = read_number(net, number.ink).text
            except NNError:
                text = ""
            if len(number.text) == 6:
                six.append(time.perf_counter() - started)
            read.append(text)
        exact = float(np.mean([r == n.text for r, n in zip(read, numbers)]))
        counted += sum(len(r) == len(n.text) for r, n in zip(read, numbers))
        total += len(numbers)
        goal = goals.get(kind)
        rows.append(Row("numbers", f"numbers of 2-6 digits read exactly: {kind}", 100 * exact, "%",
                        f"{count} numbers, {display(ctx.models[0])}", f">= {goal:.0%}" if goal else "",
                        exact >= goal if goal else None))
    rows.append(Row("numbers", "the count of digits right, all three kinds", 100 * counted / total, "%",
                    f"{total} numbers", ">= 99%", counted / total >= 0.99))
    median = 1000 * float(np.median(six))
    rows.append(Row("numbers", "one six-digit number read, median", median, "ms", f"{len(six)} numbers",
                    "<= 20 ms", median <= 20))
    return rows


def part_learning(ctx: Context) -> list[Row]:
    """One step of learning on a drawing and its view (nn/session/learning.py), for each shipped
    model: as the page gets it, POST /api/step through Flask's test client (the body parsed, the
    step, its pictures, the JSON; no socket), and as the window shows it (the step and one frame,
    SDL's dummy driver); and the ten dreams, found afresh."""
    import tempfile

    from nn.plumbing.paths import PRETRAINED_MODELS
    from nn.session.learning import dream
    from nn.session.model_in_use import ModelInUse
    from nn.session.session import Session
    from nn.web.server import make_app
    from nn.window.app import DrawApp, headless_if_no_display

    blas_for_small_products()
    headless_if_no_display()
    test = ctx.data()[1]
    count, repeats = (10, 2) if ctx.quick else (20, 5)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for path in [p for p in PRETRAINED_MODELS if p.exists()]:
            net, info = load_model(path)
            ctx.say(f"learning: one step and its view, {count} MNIST test digits, {display(path)}")
            session = Session(ModelInUse(net, info, display(path)), Path(folder) / "custom.csv",
                              Path(folder) / "model.npz")
            client = make_app(session).test_client()
            page, window = [], []
            app = DrawApp(session, echo=False)
            for k in range(count):
                ink = test.images[k].reshape(28, 28) / 255.0
                body = {"grid": np.round(ink, 4).reshape(-1).tolist(), "label": int(test.labels[k])}
                app.canvas.ink[:] = ink
                app.canvas_changed()
                app.predict(echo=False)
                app.view = "learn"
                for _ in range(repeats):
                    started = time.perf_counter()
                    reply = client.post("/api/step", json=body)
                    page.append(time.perf_counter() - started)
                    assert reply.status_code == 200, reply.get_json()
                    started = time.perf_counter()
                    app.learn_toward(int(test.labels[k]))
                    app.render()
                    window.append(time.perf_counter() - started)
                    app.lesson = None
            limit = 200 if net.conv else 50
            for view, times in (("POST /api/step", page), ("the window: the step and a frame", window)):
                median = 1000 * float(np.median(times))
                rows.append(Row("learning", f"one step and its view, {view}, median: {display(path)}", median, "ms",
                                f"{len(times)} steps; p99 {1000 * float(np.percentile(times, 99)):.1f} ms",
                                f"<= {limit} ms", median <= limit))
            times = []
            for _ in range(2 if ctx.quick else 3):
                started = time.perf_counter()
                pictures = dream(net)
                times.append(time.perf_counter() - started)
            read = net.predict_proba(pictures)[np.arange(10), np.arange(10)]
            seconds = float(np.median(times))
            rows.append(Row("learning", f"the ten dreams, median: {display(path)}", seconds, "s",
                            f"each read as its digit, the least at {read.min():.1%}", "<= 5 s, >= 90%",
                            bool(seconds <= 5 and read.min() >= 0.9)))
    return rows


def part_classroom(ctx: Context) -> list[Row]:
    """`draw.py --web --classroom` with the default model, a class of clients on the same cores
    (nn/bench/classroom.py): one client; 40 and 80 sending their next drawing the moment the last
    answer comes; 40 paced as the page's live mode paces itself; the teacher's page while a network
    trains and 40 draw; 200 devices connecting at once."""
    from nn.bench.classroom import Server, all_at_once, live_clients, live_every, one_client, teacher_while

    model, seconds = ctx.models[0], (3.0 if ctx.quick else 6.0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        server = Server("--classroom", "--host", "127.0.0.1", "--model", str(model),
                        "--custom-csv", f"{folder}/custom.csv", "--out", f"{folder}/model.npz")
        try:
            pupil, teacher = server.tokens["the class"], server.tokens["you"]
            ctx.say(f"classroom: one client, then 40 and 80 live, {display(model)}")
            times = one_client(server, 200 if ctx.quick else 500, pupil)
            median = 1000 * float(np.median(times))
            rows.append(Row("classroom", "one client, POST /api/predict, median", median, "ms",
                            f"p99 {1000 * float(np.percentile(times, 99)):.2f} ms; {display(model)}",
                            "<= 5 ms", median <= 5))
            for clients in (40, 80):
                load = live_clients(server, clients, seconds, pupil)
                goal = clients == 40
                rows.append(Row("classroom", f"{clients} clients, each the moment its answer came: p95",
                                load.percentile(95), "ms",
                                f"p50 {load.percentile(50):.0f} ms, {load.rate:.0f} answers/s, "
                                f"{load.failures} failed", "<= 50 ms, none failing" if goal else "",
                                load.percentile(95) <= 50 and load.failures == 0 if goal else None))
            every = live_every()
            load = live_clients(server, 40, seconds, pupil, every=every)
            rows.append(Row("classroom", f"40 clients paced as the page's live mode ({1 / every:.0f} a second each): p95",
                            load.percentile(95), "ms",
                            f"p50 {load.percentile(50):.1f} ms, {load.rate:.0f} answers/s, {load.failures} failed",
                            "<= 50 ms, none failing", load.percentile(95) <= 50 and load.failures == 0))
            ctx.say("classroom: the teacher trains a network while 40 draw")
            load, answers, state = teacher_while(server, 40, 2 * seconds, teacher, pupil,
                                                 {"hidden": [64], "epochs": 2})
            slowest = max(answers)
            rows.append(Row("classroom", "the teacher's page while it trains and 40 draw: slowest answer",
                            slowest, "s", f"{len(answers)} answers, median {1000 * float(np.median(answers)):.0f} ms; "
                            f"the class's p95 {load.percentile(95):.0f} ms; training {state}",
                            "<= 1 s", slowest <= 1.0))
            ctx.say("classroom: 200 devices at once")
            statuses, devices, teacher_seconds = all_at_once(server, 200, pupil, teacher)
            answered = statuses.get(200, 0) + statuses.get(503, 0)
            rows.append(Row("classroom", "200 devices at once: the teacher's page answers in", teacher_seconds, "s",
                            f"the class: {', '.join(f'{n} got {k}' for k, n in sorted(statuses.items(), key=str))}; "
                            f"the slowest in {devices:.2f} s", "<= 1 s, every device answered",
                            teacher_seconds <= 1.0 and answered == 200))
        finally:
            server.stop()
    return rows


def part_web(ctx: Context) -> list[Row]:
    ctx.say("web: draw.py --web on localhost, one client, then 8 at once; the guess, then the inside view")
    requests, seconds = (150, 1.5) if ctx.quick else (400, 3.0)
    median, p99, rate, failures = web_speed(ctx.models[0], requests, seconds)
    # Eight people in live mode, each at 25 guesses a second, need 200 a second; an MLP, whose
    # forward pass is a fifth of a CNN's, has room for more.
    least = 200 if load_model(ctx.models[0])[0].conv else 300
    rows = [Row("web", "POST /api/predict, one client, median", median, "ms", display(ctx.models[0]),
                "<= 5 ms", median <= 5),
            Row("web", "POST /api/predict, one client, p99", p99, "ms"),
            Row("web", "POST /api/predict, 8 clients at once", rate, "requests/s", f"{failures} failed",
                f">= {least}/s, none failing", rate >= least and failures == 0)]
    median, p99, rate, failures = web_speed(ctx.models[0], requests, seconds, inside=True)
    rows += [Row("web", "with the inside view, one client, median", median, "ms", "hidden layer and evidence map too"),
             Row("web", "with the inside view, 8 clients at once", rate, "requests/s", f"{failures} failed")]
    return rows


def part_teach(ctx: Context) -> list[Row]:
    """Teaching each shipped model (whatever --model says) 50 drawings (5 of each digit) of a hand
    it misreads (nn/session/teach.py): the time it takes, MNIST's test set before and after, and
    300 other drawings of the hand. Two hands: digits like a clock's seven segments, and an outlined hand (each stroke drawn as its two
    edges), the farthest from MNIST."""
    from nn.bench.handwriting import outlined_hand, style_digits
    from nn.plumbing.paths import PRETRAINED_MODELS
    from nn.session.teach import mnist_sets, teach

    mnist, mnist_test = mnist_sets()
    hands = {"segments": (style_digits("segments", 5, seed=11), style_digits("segments", 30, seed=99)),
             "outlined": (outlined_hand(5, 11), outlined_hand(30, 99))}
    rows = []
    for path in [p for p in PRETRAINED_MODELS if p.exists()]:
        net, _ = load_model(path)
        limit = 30 if net.conv else 10
        for hand, (drawings, others) in hands.items():
            ctx.say(f"teach: 50 {hand} drawings to {display(path)}")
            before = float(np.mean(net.predict(others.inputs) == others.labels))
            started = time.perf_counter()
            taught, report = teach(net, drawings.as_drawings(), mnist, mnist_test)
            seconds = time.perf_counter() - started
            after = float(np.mean(taught.predict(others.inputs) == others.labels))
            change = 100 * (report.after["mnist"] - report.before["mnist"])
            rows += [Row("teach", f"{hand}: 50 drawings, {report.steps} steps: {display(path)}", seconds, "s",
                         "held out, before evaluation and after, all included", f"<= {limit} s", seconds <= limit),
                     Row("teach", f"{hand}: MNIST test, after - before: {display(path)}", change, "points",
                         f"{report.before['mnist']:.2%} -> {report.after['mnist']:.2%}", ">= -0.3", change >= -0.3),
                     Row("teach", f"{hand}: 300 other drawings of the hand: {display(path)}", 100 * after, "%",
                         f"{before:.1%} before", ">= 97%", after >= 0.97)]
    return rows


def part_watch(ctx: Context) -> list[Row]:
    """Training from the page while it is watched, against train.py with the same settings."""
    epochs, repeats = (2, 2) if ctx.quick else (5, 3)
    ctx.say(f"watch: python train.py --epochs {epochs} and the same from the page, polled 4 times a second, "
            f"{repeats} times each")
    ours, page = watched_training(epochs, repeats)
    ratio = float(np.median(page) / np.median(ours))
    return [Row("watch", f"python train.py --epochs {epochs}: training, median", float(np.median(ours)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in ours)),
            Row("watch", "the same from the page, watched (GET /api/train 4x a second)", float(np.median(page)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in page)),
            Row("watch", "from the page / train.py", ratio, "x", "the cost of watching it learn",
                "<= 1.10x", ratio <= 1.10)]


def part_handwriting(ctx: Context) -> list[Row]:
    """How well each model reads hands it was not trained on: every set, their mean, and MNIST's
    test set; the shipped CNN, the default model of a fresh clone, is held to 98% and 99.6%."""
    from nn.plumbing.paths import PRETRAINED_CNN

    ctx.extra["handwriting"] = handwriting(ctx.models, ctx.data()[1], ctx.quick)
    rows = []
    for k, row in enumerate(ctx.extra["handwriting"]):
        default = Path(ctx.models[k]).resolve() == PRETRAINED_CNN.resolve()
        for name, found in row["sets"].items():
            rows.append(Row("handwriting", f"{name}: {row['model']}", 100 * found["accuracy"], "%", found["note"]))
        rows.append(Row("handwriting", f"the mean of the {len(row['sets'])} sets: {row['model']}", 100 * row["mean"],
                        "%", "every set counts the same; misses by digit: "
                        + (", ".join(f"{d}s {m}" for d, m in row["missed"].items()) or "none"),
                        ">= 98%" if default else "",
                        row["mean"] >= 0.98 if default else None))
        mnist = row["mnist_test"]
        rows.append(Row("handwriting", f"MNIST test: {row['model']}", 100 * mnist, "%", "10,000 digits",
                        ">= 99.6%" if default else "", mnist >= 0.996 if default else None))
        unsure = row["unsure"]
        if unsure["right_when_unsure"] is not None:
            rows.append(Row("handwriting", f"pen, shown as unsure (< {SURE:.0%}): {row['model']}",
                            100 * unsure["share"], "%", f"right {unsure['right_when_unsure']:.0%} of the "
                            f"time, the others {unsure['right_when_sure']:.1%}"))
    return rows


# The README's two CNN recipes: the fast one, which the bench trains, and the best one, which made
# data/pretrained_cnn.npz (its time and accuracy are those recorded in the file when it was trained).
FAST_CNN_RECIPE = ["--conv", "16", "32", "--hidden", "128", "--augment", "--epochs", "6", "--weight-decay", "0.0005"]


def part_recipe(ctx: Context) -> list[Row]:
    """The fast CNN recipe trained in a child process (--quick: one epoch of it, no goal), and the
    shipped CNN's own record of its recipe."""
    from nn.plumbing.paths import PRETRAINED_CNN

    args = [*FAST_CNN_RECIPE, "--epochs", "1"] if ctx.quick else FAST_CNN_RECIPE  # the last --epochs counts
    ctx.say(f"recipe: python train.py {' '.join(args)}")
    with tempfile.TemporaryDirectory() as folder:
        wall = whole_command(["train.py", *args, "--out", f"{folder}/cnn.npz", "--plots", "none"])[0]
        info = load_model(Path(folder) / "cnn.npz")[1]
    seconds, test = info.training["seconds"], info.accuracy["test"]
    command = f"train.py {' '.join(args)}"
    rows = [Row("recipe", f"fast CNN recipe, training time: {command}", seconds, "s",
                f"as train.py reports it; the whole command {wall:.0f} s",
                "" if ctx.quick else "<= 180 s", None if ctx.quick else seconds <= 180),
            Row("recipe", f"fast CNN recipe, MNIST test: {command}", 100 * test, "%", "10,000 digits",
                "" if ctx.quick else ">= 99.5%", None if ctx.quick else test >= 0.995)]
    if PRETRAINED_CNN.exists():
        info = load_model(PRETRAINED_CNN)[1]
        t = info.training
        recipe = _recipe_of(t)
        rows += [Row("recipe", f"best CNN recipe ({display(PRETRAINED_CNN)}), training time: train.py {recipe}",
                     t.get("seconds"), "s", f"as recorded in the file when it was trained, {info.created[:10]}"),
                 Row("recipe", f"best CNN recipe, MNIST test: {display(PRETRAINED_CNN)}",
                     100 * info.accuracy["test"] if "test" in info.accuracy else None, "%", "as recorded in the file")]
    return rows


def _recipe_of(t: dict) -> str:
    """train.py's flags for a model file's recorded training settings (ModelInfo.training)."""
    from nn.augment import DEFAULT_AUGMENT

    flags = [f"--conv {' '.join(map(str, t.get('conv', [])))}", f"--hidden {' '.join(map(str, t.get('hidden', [])))}"]
    if t.get("augment"):
        flags.append("--augment" if t["augment"] == DEFAULT_AUGMENT else f"--augment {t['augment']}")
    flags.append(f"--epochs {t.get('epochs')}")
    if t.get("weight_decay"):
        flags.append(f"--weight-decay {t['weight_decay']:g}")
    if t.get("seed"):
        flags.append(f"--seed {t['seed']}")
    return " ".join(flags)


# name -> (what measures it, what it measures): python -m nn.bench --only NAME runs one
PARTS: dict[str, tuple[Callable[[Context], list[Row]], str]] = {
    "epoch": (part_epoch, "seconds per epoch, ours against PyTorch and scikit-learn, and the trend"),
    "cnn": (part_cnn, "seconds per epoch of a CNN, ours against PyTorch"),
    "floor": (part_floor, "our epoch against the matrix products' floor"),
    "time98": (part_time98, "training time to 98% test accuracy, ours and PyTorch's tutorial"),
    "newcomer": (part_newcomer, "the whole python train.py, first run and warm, accuracy and memory"),
    "csv": (part_csv, "loading the training CSV cold and warm, and the parsers compared"),
    "latency": (part_latency, "one drawing: normalisation and forward pass"),
    "numbers": (part_numbers, "whole numbers made from MNIST's test digits: read right, and how fast"),
    "learning": (part_learning, "one step of learning and its view, in the page and the window; the dreams"),
    "web": (part_web, "POST /api/predict of draw.py --web, one client and eight"),
    "classroom": (part_classroom, "draw.py --web --classroom: 40 and 80 phones live, the teacher's page, 200 at once"),
    "handwriting": (part_handwriting, "how well models read eight sets of other hands, and MNIST's test set"),
    "teach": (part_teach, "teaching the shipped models 50 drawings of two hands they misread"),
    "watch": (part_watch, "training from the page while it is watched, against train.py"),
    "recipe": (part_recipe, "the README's fast CNN recipe trained, and the shipped CNN's own record"),
}


def run(parts: Sequence[str], ctx: Context) -> list[Row]:
    """Every part's rows. A part that fails gives one MISSED row saying why, and the others still run:
    a run of many minutes is not lost to one broken measurement."""
    rows: list[Row] = []
    for name in parts:
        try:
            rows += PARTS[name][0](ctx)
        except Exception as error:  # noqa: BLE001 - reported in the table, and the run goes on
            ctx.say(f"{name}: failed: {type(error).__name__}: {error}")
            rows.append(Row(name, "the part failed", None, "", f"{type(error).__name__}: {error}"[:200],
                            "runs", False))
    return rows


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    cpu = names[0] if names else cpu
    from threadpoolctl import threadpool_info

    blas = ", ".join(sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                             if i["user_api"] == "blas"})) or "unknown"
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "system": platform.platform(terse=True)}
    for name, dist in (("torch", "torch"), ("sklearn", "scikit-learn")):
        if importlib.util.find_spec(name) is not None:  # its version, without importing it (seconds)
            info[name] = importlib.metadata.version(dist)
    return info


def render_markdown(rows: list[Row], meta: dict) -> str:
    lines = [f"Measured {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
             f"Python {meta['machine']['python']}, NumPy {meta['machine']['numpy']} ({meta['machine']['blas']})"
             + (f", PyTorch {meta['machine']['torch']}" if "torch" in meta["machine"] else "")
             + (f", scikit-learn {meta['machine']['sklearn']}" if "sklearn" in meta["machine"] else "")
             + f", with `{meta['command']}`.", "",
             "| part | measurement | value | target | note |", "|---|---|---|---|---|"]
    def cell(text: str) -> str:  # one table cell: an error's text may hold newlines and bars
        return " ".join(str(text).split()).replace("|", "\\|")

    for r in rows:
        verdict = "" if r.passed is None else (" (met)" if r.passed else " (MISSED)")
        lines.append(f"| {r.part} | {cell(r.what)} | {r.shown()} | {r.target}{verdict} | {cell(r.note)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m nn.bench", description="Measure speed, memory and "
                            "handwriting; print a table and write temp/bench.json and temp/bench.md. "
                            "All parts together take about 9 minutes on 2 cores (--quick: fewer). Exit "
                            "status 0 when every target is met, 1 when one is MISSED.",
                            epilog="parts: " + "; ".join(f"{k}: {v[1]}" for k, v in PARTS.items()))
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None, metavar="PART",
                        help=f"run only these parts: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--hidden", nargs="+", type=positive_int, default=[128], metavar="N",
                        help="hidden layers of the network compared in 'epoch' and 'floor' (default: 128)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="batch size compared in 'epoch', 'cnn' and 'floor' (default: 128)")
    parser.add_argument("--conv", nargs="+", type=positive_int, default=[16, 32], metavar="FILTERS",
                        help="the convolutions of the CNN compared in 'cnn' (default: 16 32)")
    parser.add_argument("--model", type=Path, nargs="+", default=None,
                        help="model(s) for 'latency' and 'handwriting' (default: the one draw.py uses)")
    parser.add_argument("--out", type=Path, default=TEMP_DIR,
                        help="folder for bench.json and bench.md (default: temp/)")
    args = parser.parse_args(argv)

    parts = args.only or list(PARTS)
    command = "python -m nn.bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    meta = {"date": _dt.date.today().isoformat(), "machine": machine(), "command": command}
    ctx = Context(args.quick, args.hidden, args.batch_size, args.model or [default_model()],
                  say=lambda text: print(text, file=sys.stderr, flush=True), conv=args.conv)
    rows = run(parts, ctx)

    width = max(len(r.what) for r in rows) if rows else 10
    print(f"{'part':12s} {'measurement':{width}s} {'value':>12s}  target")
    for r in rows:
        verdict = "" if r.passed is None else ("  met" if r.passed else "  MISSED")
        print(f"{r.part:12s} {r.what:{width}s} {r.shown():>12s}  {r.target}{verdict}"
              + (f"   ({r.note})" if r.note else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {**meta, "rows": [r.__dict__ for r in rows], **ctx.extra}
    with atomic_write(args.out / "bench.json") as f:
        f.write(json.dumps(report, indent=1).encode())
    with atomic_write(args.out / "bench.md") as f:
        f.write(render_markdown(rows, meta).encode())
    print(f"Wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}")
    return 0 if all(r.passed is not False for r in rows) else 1

