"""Measurements, apart from training and tests: python -m nn.bench

    python -m nn.bench                    # everything (about 3 minutes on 2 cores)
    python -m nn.bench --quick            # the same parts, shorter (about 1 minute)
    python -m nn.bench --only epoch floor # some parts; --hidden/--batch-size set the compared network

Parts, all measured in one run on the same data:
    epoch        seconds per epoch of our trainer, PyTorch (CPU) and scikit-learn's MLPClassifier
                 for the same network, batch size and optimizer (SGD with momentum 0.9); medians
                 over several epochs after a warm-up epoch. PyTorch and scikit-learn are used only
                 when installed.
    floor        the matrix products' floor: FLOPs per epoch / the sgemm throughput measured now at
                 the training shapes; our epoch time divided by it
    time98       training time until the test accuracy first reaches 98.0%: our default recipe
                 (test set checked after every epoch, checking not counted), PyTorch with the
                 usual tutorial settings (784-128-10, Adam, lr 1e-3, batch 64); and the whole
                 `python train.py` command, wall clock and peak memory, with a warm cache
    csv          loading data/mnist_train.csv.gz in a new process: cold (no cache) and warm
    latency      one drawing in the window: normalize + forward pass, median and p99
    web          POST /api/predict of `draw.py --web` on localhost: one client (median and p99
                 milliseconds), and 8 clients at once (requests per second, failures)
    handwriting  how well models read digits that are not MNIST's (see `handwriting`)

The table goes to the screen and, as JSON and Markdown, to temp/bench.json and temp/bench.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .canvas import DEMO_STROKES, Canvas, draw_demo
from .paths import display
from .preprocess import load_image, normalize

PARTS = ("epoch", "floor", "time98", "csv", "latency", "web", "handwriting")


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
        return f"{self.value:.2f} {self.unit}"


# ---------------------------------------------------------------------------------------------
# epoch and floor


def epoch_ours(images: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
               epochs: int) -> list[float]:
    """Seconds per epoch of nn.training.fit (momentum SGD), after one warm-up epoch."""
    from .data import Dataset
    from .network import Network
    from .training import TrainConfig, fit

    data = Dataset(images, labels, "bench", "")
    net = Network([784, *hidden, 10], seed=0)
    config = TrainConfig(hidden=hidden, epochs=epochs + 1, batch_size=batch, optimizer="momentum",
                         lr=0.05, schedule="constant")
    history = fit(net, data, None, config, progress=False)
    return [r.seconds for r in history.epochs[1:]]


def epoch_torch(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                epochs: int) -> list[float] | None:
    """The same network and optimizer in a plain PyTorch loop (CPU), or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
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


def epoch_sklearn(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                  epochs: int) -> list[float] | None:
    """scikit-learn's MLPClassifier, one partial_fit (one epoch) at a time, or None without it."""
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
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
    from .data import Dataset
    from .network import Network
    from .training import TrainConfig, evaluate, fit

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
    fit(net, Dataset(train_images, train_labels, "bench", ""), None, config, on_epoch=check,
        progress=False)
    total = time.perf_counter() - started - evaluating[0]
    final = evaluate(net, test_images, test_labels)[1]
    per_epoch = total / config.epochs
    if not reached:
        return None, config.epochs, final, total
    return per_epoch * reached[0][0], reached[0][0], final, total


def time98_torch(train_inputs, train_labels, test_inputs, test_labels, max_epochs: int):
    """PyTorch, the usual tutorial: 784-128-10, Adam lr 1e-3, batch 64, until 98% (or max_epochs)."""
    try:
        import torch
    except ImportError:
        return None
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
    from .paths import REPO

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
try:
    status = open("/proc/self/status").read()
    peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_KB", peak)
"""


# ---------------------------------------------------------------------------------------------
# CSV loading


def csv_load_times(path: Path) -> list[tuple[float, float]]:
    """[(seconds, peak MB) cold, (seconds, peak MB) warm]: a fresh process imports the loader and
    loads `path`, first with an empty cache, then with the cache it left."""
    from .paths import REPO

    code = ("import time; t = time.perf_counter(); from nn.data import load_csv; "
            f"load_csv({str(path)!r}); print(time.perf_counter() - t); "
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    with tempfile.TemporaryDirectory() as cache:
        results = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                 env={**os.environ, "NN_CACHE_DIR": cache}, check=True).stdout.split()
            results.append((float(out[0]), int(out[1]) / 1024))
    return results


# ---------------------------------------------------------------------------------------------
# one drawing, and digits that are not MNIST's


def latency(model_path: Path, drawings: int = 200, repeats: int = 10, seed: int = 0) -> tuple[float, float]:
    """(median, p99) milliseconds for normalize + forward pass of one drawing."""
    from .modelfile import load_model

    net, _ = load_model(model_path)
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

    from .paths import REPO

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


@dataclass
class Handwriting:
    name: str
    inputs: np.ndarray  # (N, 784) float32, normalised
    labels: np.ndarray  # (N,)
    note: str = ""


def pen_digits(per_digit: int = 60, seed: int = 123) -> Handwriting:
    """DEMO_STROKES drawn with random slant, rotation, size, stretch, position, wobble and pen."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for digit, paths in DEMO_STROKES.items():
        for _ in range(per_digit):
            angle = np.radians(rng.uniform(-15, 15))
            shear = rng.uniform(-0.3, 0.3)
            sx, sy = rng.uniform(0.5, 1.15, 2)
            shift = rng.uniform(-5, 5, 2)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            A = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
            core = rng.uniform(0.45, 1.2)
            canvas = Canvas(core=core, outer=core + rng.uniform(0.6, 1.4))
            for path in paths:
                points = (np.array(path) - 14) @ A.T + 14 + shift
                points += rng.normal(0, 0.35, points.shape)  # a wobbly hand
                for start, end in zip(points, points[1:]):
                    canvas.stroke(tuple(start), tuple(end))
            inputs.append(normalize(canvas.ink).reshape(-1))
            labels.append(digit)
    return Handwriting("pen", np.array(inputs), np.array(labels),
                       f"{len(labels)} distorted pen-path digits")


def font_digits(seed: int = 123) -> Handwriting:
    """Every digit of every font matplotlib finds, as PNG files read back like draw.py --predict:
    random size and tilt, dark-on-light or light-on-dark at random."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    found = set(font_manager.findSystemFonts()) | set(font_manager.findSystemFonts(
        fontpaths=[str(Path(font_manager.__file__).parent / "mpl-data" / "fonts" / "ttf")]))
    skip = ("math", "symbol", "dingbat", "fallback", "cmex", "cmsy", "stixsiz", "stixnonuni", "d050000l")
    fonts = sorted(f for f in found if not any(s in Path(f).name.lower() for s in skip))
    inputs, labels, used = [], [], 0
    with tempfile.TemporaryDirectory() as folder:
        for font_path in fonts:
            try:
                font = ImageFont.truetype(font_path, 150)
            except OSError:
                continue
            used += 1
            for digit in range(10):
                dark = rng.random() < 0.5
                paper, pen = (int(rng.integers(200, 256)), int(rng.integers(0, 60))) if dark else \
                    (int(rng.integers(0, 40)), int(rng.integers(190, 256)))
                page = Image.new("L", (300, 300), paper)
                ImageDraw.Draw(page).text((150, 150), str(digit), fill=pen, font=font, anchor="mm")
                side = int(300 * rng.uniform(0.4, 1.3))
                page = page.rotate(rng.uniform(-8, 8), fillcolor=paper).resize((side, side))
                path = Path(folder) / f"{used}_{digit}.png"
                page.save(path)
                field = normalize(load_image(path))
                if field.any():  # fonts without digits render nothing
                    inputs.append(field.reshape(-1))
                    labels.append(digit)
    return Handwriting("fonts", np.array(inputs).reshape(-1, 784), np.array(labels),
                       f"{len(labels)} digits from {used} fonts on this machine")


def handwriting(model_paths: Sequence[Path]) -> list[dict]:
    """Accuracy of each model on pen_digits and font_digits (and its recorded MNIST test accuracy)."""
    from .modelfile import load_model

    sets = [pen_digits(), font_digits()]
    rows = []
    for model in model_paths:
        net, info = load_model(model)
        row = {"model": display(model), "mnist_test": info.accuracy.get("test"), "notes": [s.note for s in sets]}
        for s in sets:
            row[s.name] = float(np.mean(net.predict(s.inputs) == s.labels)) if len(s.labels) else None
        # how the "unsure" threshold splits the pen digits (nn/reading.py: SURE)
        from .reading import SURE

        probabilities = net.predict_proba(sets[0].inputs)
        right = probabilities.argmax(axis=1) == sets[0].labels
        unsure = probabilities.max(axis=1) < SURE
        row["unsure"] = {"share": float(unsure.mean()),
                         "right_when_unsure": float(right[unsure].mean()) if unsure.any() else None,
                         "right_when_sure": float(right[~unsure].mean()) if (~unsure).any() else None}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# the run


def run(parts: Sequence[str], quick: bool, hidden: list[int], batch: int,
        models: list[Path], say: Callable[[str], None] = print) -> tuple[list[Row], dict]:
    from .data import load_csv, to_inputs
    from .paths import TEST_CSV, TRAIN_CSV

    rows: list[Row] = []
    extra: dict = {}
    needs_data = {"epoch", "floor", "time98"} & set(parts)
    if needs_data:
        train, test = load_csv(TRAIN_CSV), load_csv(TEST_CSV)
        train_inputs = to_inputs(train.images)
    epochs = 2 if quick else 5
    ours_epoch = None

    if "epoch" in parts or "floor" in parts:
        shape = "-".join(map(str, [784, *hidden, 10]))
        say(f"epoch: {shape}, batch {batch}, momentum SGD, median of {epochs} epochs after a warm-up")
        times = epoch_ours(train.images, train.labels, hidden, batch, epochs)
        ours_epoch = float(np.median(times))
        rows.append(Row("epoch", f"our trainer, {shape}, batch {batch}", ours_epoch, "s"))
    if "epoch" in parts:
        for name, measure in (("PyTorch", epoch_torch), ("scikit-learn", epoch_sklearn)):
            times = measure(train_inputs, train.labels, hidden, batch, 1 if name == "scikit-learn" else epochs)
            if times is None:
                rows.append(Row("epoch", f"{name}, same network and optimizer", None, "s",
                                f"{name} not installed: skipped"))
                continue
            theirs = float(np.median(times))
            rows.append(Row("epoch", f"{name}, same network and optimizer", theirs, "s"))
            target = "<= 0.80x" if name == "PyTorch" else ""
            ratio = ours_epoch / theirs
            rows.append(Row("epoch", f"ours / {name}", ratio, "x", target=target,
                            passed=ratio <= 0.8 if target else None))
    if "floor" in parts:
        sizes = [784, *hidden, 10]
        throughput = sgemm_throughput(sizes, batch, 1.0 if quick else 3.0)
        flops = flops_per_epoch(sizes, len(train.images))
        floor = flops / throughput
        rows.append(Row("floor", "sgemm at the training shapes", throughput / 1e9, "GFLOP/s"))
        rows.append(Row("floor", f"FLOPs per epoch / sgemm: the floor ({flops / 1e9:.1f} GFLOP)", floor, "s"))
        rows.append(Row("floor", "our epoch / the floor", ours_epoch / floor, "x", target="<= 2x",
                        passed=ours_epoch / floor <= 2))
    if "time98" in parts:
        say("time98: the default recipe, the PyTorch tutorial, and the whole python train.py")
        seconds, epoch_reached, final, total = time98_ours(train.images, train.labels, test.images,
                                                           test.labels, 2 if quick else None)
        note = (f"epoch {epoch_reached}; {final:.2%} after all {total:.1f} s" if seconds is not None
                else f"not reached in {epoch_reached} epochs ({final:.2%})")
        rows.append(Row("time98", "ours: default recipe to 98.0% test accuracy", seconds, "s", note,
                        "<= 10 s", None if seconds is None else seconds <= 10))
        torch_result = time98_torch(train_inputs, train.labels, to_inputs(test.images), test.labels,
                                    3 if quick else 30)
        if torch_result is None:
            rows.append(Row("time98", "PyTorch tutorial (Adam 1e-3, batch 64) to 98.0%", None, "s",
                            "PyTorch not installed: skipped"))
        else:
            seconds, epoch_reached, accuracy = torch_result
            note = (f"epoch {epoch_reached}" if seconds is not None
                    else f"not reached in {epoch_reached} epochs ({accuracy:.2%})")
            rows.append(Row("time98", "PyTorch tutorial (Adam 1e-3, batch 64) to 98.0%", seconds, "s", note))
        with tempfile.TemporaryDirectory() as folder:
            for label in ("whole python train.py (warm cache)",):
                wall, peak, out = whole_command(["train.py", "--out", f"{folder}/model.npz",
                                                 "--plots", folder])
                accuracy = next((l.split()[2] for l in out.splitlines() if l.startswith("Test accuracy")), "?")
                rows.append(Row("time98", label, wall, "s", f"test accuracy {accuracy}", "<= 15 s",
                                wall <= 15))
                rows.append(Row("memory", "peak memory of python train.py", peak, "MB",
                                "resident set, the whole process", "< 1 GB", peak < 1024))
    if "csv" in parts:
        (cold, cold_peak), (warm, warm_peak) = csv_load_times(TRAIN_CSV)
        rows.append(Row("csv", "load mnist_train.csv.gz, cold (parse)", cold, "s", "60,000 rows, new process"))
        rows.append(Row("csv", "load mnist_train.csv.gz, warm (cache)", warm, "s", "", "< 1 s", warm < 1))
        rows.append(Row("csv", "peak memory, cold load", cold_peak, "MB",
                        "the whole process; the arrays are 47 MB, float64 would be 377 MB"))
        rows.append(Row("csv", "peak memory, warm load", warm_peak, "MB", "the whole process"))
    if "latency" in parts:
        median, p99 = latency(models[0], repeats=3 if quick else 10)
        rows.append(Row("latency", "one drawing: normalize + forward, median", median, "ms", display(models[0])))
        rows.append(Row("latency", "one drawing: normalize + forward, p99", p99, "ms", "", "< 2 ms", p99 < 2))
    if "web" in parts:
        say("web: draw.py --web on localhost, one client, then 8 at once; the guess, then the inside view")
        median, p99, rate, failures = web_speed(models[0], 150 if quick else 400, 1.5 if quick else 3.0)
        rows.append(Row("web", "POST /api/predict, one client, median", median, "ms", display(models[0]),
                        "<= 5 ms", median <= 5))
        rows.append(Row("web", "POST /api/predict, one client, p99", p99, "ms"))
        rows.append(Row("web", "POST /api/predict, 8 clients at once", rate, "requests/s",
                        f"{failures} failed", ">= 300/s, none failing", rate >= 300 and failures == 0))
        median, p99, rate, failures = web_speed(models[0], 150 if quick else 400, 1.5 if quick else 3.0,
                                                inside=True)
        rows.append(Row("web", "with the inside view, one client, median", median, "ms",
                        "hidden layer and evidence map too"))
        rows.append(Row("web", "with the inside view, 8 clients at once", rate, "requests/s",
                        f"{failures} failed"))
    if "handwriting" in parts:
        extra["handwriting"] = handwriting(models)
        from .reading import SURE

        for row in extra["handwriting"]:
            for name in ("pen", "fonts"):
                rows.append(Row("handwriting", f"{name}: {row['model']}", 100 * row[name], "%",
                                row["notes"][0 if name == "pen" else 1]))
            unsure = row["unsure"]
            if unsure["right_when_unsure"] is not None:
                rows.append(Row("handwriting", f"pen, shown as unsure (< {SURE:.0%}): {row['model']}",
                                100 * unsure["share"], "%",
                                f"right {unsure['right_when_unsure']:.0%} of the time, the others "
                                f"{unsure['right_when_sure']:.1%}"))
    return rows, extra


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas = f"{config['Build Dependencies']['blas']['name']} {config['Build Dependencies']['blas']['version']}"
    except Exception:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "system": platform.platform(terse=True)}
    for name in ("torch", "sklearn"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    return info


def render_markdown(rows: list[Row], meta: dict) -> str:
    lines = [f"Measured {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
             f"Python {meta['machine']['python']}, NumPy {meta['machine']['numpy']} ({meta['machine']['blas']})"
             + (f", PyTorch {meta['machine']['torch']}" if "torch" in meta["machine"] else "")
             + (f", scikit-learn {meta['machine']['sklearn']}" if "sklearn" in meta["machine"] else "")
             + f", with `{meta['command']}`.", "",
             "| part | measurement | value | target | note |", "|---|---|---|---|---|"]
    for r in rows:
        verdict = "" if r.passed is None else (" (met)" if r.passed else " (MISSED)")
        lines.append(f"| {r.part} | {r.what} | {r.shown()} | {r.target}{verdict} | {r.note} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    from .cli import ArgumentParser, positive_int
    from .files import atomic_write
    from .modelfile import default_model
    from .paths import TEMP_DIR

    parser = ArgumentParser(prog="python -m nn.bench", description="Measure speed, memory and "
                            "robustness; print a table and write temp/bench.json and temp/bench.md.")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None, metavar="PART",
                        help=f"run only these parts: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--hidden", nargs="+", type=positive_int, default=[128], metavar="N",
                        help="hidden layers of the network compared in 'epoch' and 'floor' (default: 128)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="batch size compared in 'epoch' and 'floor' (default: 128)")
    parser.add_argument("--model", type=Path, nargs="+", default=None,
                        help="model(s) for 'latency' and 'handwriting' (default: the one draw.py uses)")
    parser.add_argument("--out", type=Path, default=TEMP_DIR,
                        help="folder for bench.json and bench.md (default: temp/)")
    args = parser.parse_args(argv)

    parts = args.only or list(PARTS)
    command = "python -m nn.bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    meta = {"date": _dt.date.today().isoformat(), "machine": machine(), "command": command}
    rows, extra = run(parts, args.quick, args.hidden, args.batch_size, args.model or [default_model()],
                      say=lambda text: print(text, file=sys.stderr, flush=True))

    width = max(len(r.what) for r in rows) if rows else 10
    print(f"{'part':12s} {'measurement':{width}s} {'value':>12s}  target")
    for r in rows:
        verdict = "" if r.passed is None else ("  met" if r.passed else "  MISSED")
        print(f"{r.part:12s} {r.what:{width}s} {r.shown():>12s}  {r.target}{verdict}"
              + (f"   ({r.note})" if r.note else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {**meta, "rows": [r.__dict__ for r in rows], **extra}
    with atomic_write(args.out / "bench.json") as f:
        f.write(json.dumps(report, indent=1).encode())
    with atomic_write(args.out / "bench.md") as f:
        f.write(render_markdown(rows, meta).encode())
    print(f"Wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    from .cli import run as run_main

    run_main(main, "python -m nn.bench")
