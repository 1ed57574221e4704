"""Teaching the network your handwriting: fine-tuning on your own drawings, mixed with MNIST.

Fine-tuning starts from the trained weights, not from random ones, and takes a few hundred small
steps on batches in which an eighth of the rows are your drawings (each distorted afresh, as
--augment does, so that four drawings of a 7 teach a whole family of 7s) and the rest MNIST's, so
that learning your 7 does not make the network forget everybody else's. How much of each batch
is yours is what holds MNIST: taught 50 drawings of an outlined hand (32% read before), the MLP
with a quarter of each batch lost 0.44 points of MNIST's test set; with an eighth, over twice the
steps, 0.12, and read 98.7% of 300 other drawings of that hand. The CNN, with an eighth and the
same 192 steps, lost 0.09 to 0.13 over three sets of drawings (0.14 to 0.23 with a quarter) and
read 97.7% to 99.7% of the others (python -m nn.bench --only teach measures one set of each).

Honest numbers: a share of each digit's drawings (HOLD_OUT, at least one of every digit drawn
twice or more) is set aside before teaching and never shown to it; "your digits" is measured on
those, before and after. So is MNIST's test set.

The window (T), the page (Teach) and `train.py --teach CSV` all call `teach_model`.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nn.augment import DEFAULT_AUGMENT
from nn.plumbing.callbacks import StopOnSignals, every
from nn.files.digits_csv import load_csv
from nn.dataset import N_CLASSES, N_PIXELS, Dataset
from nn.errors import UsageError
from nn.files.model_file import ModelInfo, save_model
from nn.network import Network
from nn.plumbing.files import open_readable
from nn.plumbing.paths import DATA_DIR, TEST_CSV, TRAIN_CSV, display
from nn.training import TrainConfig, evaluate, fit

MIN_DRAWINGS = 10  # fewer are too little to learn from
HOLD_OUT = 0.25  # of each digit's drawings: set aside, to measure on
YOURS = 0.125  # of each teaching batch: your drawings; the rest is MNIST
BATCH = 128
ROWS = 64 * BATCH  # rows of the mix of yours and MNIST's (more steps take more passes over it)
# Steps and learning rate (momentum SGD, cosine): small steps, since the weights are good already.
# With 50 drawings, the MLP's steps take about 4 s and the CNN's about 15 s on 2 cores.
STEPS = {"mlp": 768, "cnn": 192}  # 12 and 3 passes over the ROWS
LR = {"mlp": 0.02, "cnn": 0.01}


@dataclass
class Report:
    """Accuracies (0-1) before and after teaching, and what they were measured on."""

    before: dict = field(default_factory=dict)  # {"yours": ..., "mnist": ...}
    after: dict = field(default_factory=dict)
    held_out: int = 0  # your drawings set aside: measured on, never taught
    taught: int = 0  # your drawings taught
    steps: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    signal: int | None = None  # the signal that stopped it (Ctrl-C), if one did

    def summary(self) -> str:
        """your digits: 64% -> 97%, MNIST test: 99.05% -> 99.02%"""
        parts = []
        if self.before.get("yours") is not None and self.after:
            parts.append(f"your digits: {self.before['yours']:.0%} -> {self.after['yours']:.0%}")
        elif self.after:
            parts.append("your digits: not measured (draw a digit twice or more, and one of "
                         "them is set aside to measure on)")
        if self.before.get("mnist") is not None and self.after:
            parts.append(f"MNIST test: {self.before['mnist']:.2%} -> {self.after['mnist']:.2%}")
        return ", ".join(parts)

    def how(self) -> str:
        """How "your digits" was measured, in words."""
        return (f"{self.held_out} of your drawings set aside to measure on, "
                f"{self.taught} taught, {self.steps} steps in {self.seconds:.1f} s")

    def as_dict(self) -> dict:
        return {"before": self.before, "after": self.after, "held_out": self.held_out,
                "taught": self.taught, "steps": self.steps, "seconds": round(self.seconds, 2)}


def teach(net: Network, drawings: Dataset, mnist: Dataset, mnist_test: Dataset | None = None,
          progress: Callable[[float], None] | None = None,
          cancelled: Callable[[], bool] | None = None, seed: int = 0) -> tuple[Network, Report]:
    """(the taught network, the report). `net` itself is left as it was: the taught one is a copy.

    progress(share done, 0-1) is called after every step; when cancelled() returns True,
    teaching stops after that step and the report says so (Report.cancelled).
    """
    check_drawings(drawings)
    started = time.perf_counter()
    taught_rows, held_rows = hold_out(drawings.labels, seed)
    yours, theirs = drawings.subset(taught_rows), drawings.subset(held_rows)
    report = Report(held_out=len(theirs), taught=len(yours))
    report.before = {"yours": accuracy(net, theirs), "mnist": accuracy(net, mnist_test)}

    kind = "cnn" if net.conv else "mlp"
    student = net.astype(net.dtype)  # a copy: the network in use keeps answering meanwhile
    # STEPS batches: as epochs over a mix of at most ROWS rows, distorted afresh in each
    mixed = _mixed_rows(yours, mnist, min(ROWS, STEPS[kind] * BATCH), seed)
    config = TrainConfig(hidden=student.sizes[1:-1], conv=student.conv, kernel=student.kernel,
                         activation=student.activation.name, loss=student.loss.name,
                         dtype=student.dtype.name, optimizer="momentum", lr=LR[kind],
                         schedule="cosine", batch_size=BATCH, epochs=math.ceil(STEPS[kind] * BATCH / len(mixed)),
                         augment=DEFAULT_AUGMENT, seed=seed)

    def on_batch(step: int, total: int, loss: float) -> bool:
        if progress is not None:
            progress(step / total)
        return cancelled is not None and cancelled()

    with StopOnSignals() as stop:  # train.py --teach: Ctrl-C stops it (a thread is cancelled instead)
        history = fit(student, mixed, None, config, on_batch=every(on_batch, stop), on_epoch=lambda r: stop.requested)
    report.steps, report.cancelled, report.signal = len(history.step_losses), history.interrupted, stop.signum
    if not report.cancelled:
        report.after = {"yours": accuracy(student, theirs), "mnist": accuracy(student, mnist_test)}
    report.seconds = time.perf_counter() - started
    return student, report


def check_drawings(drawings: Dataset) -> None:
    """UsageError unless there is enough to learn from: MIN_DRAWINGS drawings of two digits or more."""
    n = len(drawings)
    if drawings.labels is None or n < MIN_DRAWINGS:
        raise UsageError(f"{drawings.source}: only {n} drawing{'s' if n != 1 else ''}, too few to learn "
                         f"from: save at least {MIN_DRAWINGS} (after a guess, press the digit you drew)")
    digits = np.unique(drawings.labels)
    if len(digits) < 2:
        raise UsageError(f"{drawings.source}: every drawing is a {digits[0]}: teaching would only "
                         "learn to answer that; save drawings of other digits too")


def hold_out(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows to teach, rows to measure on): of each digit's n drawings, round(HOLD_OUT n) are set
    aside, and at least one when n >= 2, picked at random."""
    rng = np.random.default_rng([seed, 5])
    taught, held = [], []
    for digit in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        k = max(1, round(HOLD_OUT * len(rows))) if len(rows) >= 2 else 0
        held.extend(rows[:k])
        taught.extend(rows[k:])
    return np.sort(np.array(taught, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def accuracy(net: Network, data: Dataset | None) -> float | None:
    return evaluate(net, data.images, data.labels)[1] if data is not None and len(data) else None


def _mixed_rows(yours: Dataset, mnist: Dataset, rows: int, seed: int) -> Dataset:
    """`rows` rows, shuffled: YOURS of them your drawings (each repeated about as often as the
    others), the rest drawn at random from MNIST."""
    rng = np.random.default_rng([seed, 6])
    mine = int(rows * YOURS)
    repeats = np.resize(rng.permutation(len(yours)), mine)
    others = rng.choice(len(mnist), size=rows - mine, replace=len(mnist) < rows - mine)
    order = rng.permutation(rows)
    images = np.concatenate([yours.images[repeats], mnist.images[others]])[order]
    labels = np.concatenate([yours.labels[repeats], mnist.labels[others]])[order]
    return Dataset(images, labels, f"{yours.source} + {mnist.source}", "")


# -- the files around it: your drawings in, the taught model out ---------------------------------

CUSTOM_HEADER = b"label,pixel0,pixel1,"


def load_drawings(path: Path | str) -> Dataset:
    """The custom-digits CSV the window and the page save to (UsageError for one that is missing,
    is someone else's CSV, or cannot be read as digits)."""
    path = Path(path)
    with open_readable(path, "a custom-digits CSV", UsageError,
                       missing=f"{display(path)}: no drawings saved yet: after a guess, press the digit "
                               f"you drew to save it (at least {MIN_DRAWINGS})") as f:
        head = f.read(16 * N_PIXELS)
    if head.strip() and not head.startswith(CUSTOM_HEADER):
        raise UsageError(f"{display(path)}: is not a custom-digits CSV (its first line is not "
                         "label,pixel0,...,pixel783), so it holds no drawings to teach")
    if not head.strip():
        raise UsageError(f"{display(path)}: is empty: save at least {MIN_DRAWINGS} drawings first")
    return load_csv(path, "label", use_cache=False)


def check_teach_output(path: Path | str) -> None:
    """UsageError if `path` is one of the shipped models (data/pretrained*.npz), which teaching
    never writes."""
    path = Path(path).resolve()
    if path.parent == DATA_DIR.resolve() and path.name.startswith("pretrained"):
        raise UsageError(f"{display(path)}: is a shipped model (data/pretrained*.npz), which "
                         "teaching never replaces; choose another --out, such as data/model.npz")


def mnist_sets() -> tuple[Dataset, Dataset]:
    """MNIST's training and test sets, as shipped in data/ (parsed once, then from the cache)."""
    return load_csv(TRAIN_CSV), load_csv(TEST_CSV)


def teach_model(net: Network, info: ModelInfo, drawings_path: Path | str, out: Path | str | None,
                progress: Callable[[float], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> tuple[Network, ModelInfo, Report]:
    """Teach `net` the drawings in `drawings_path`, save the result to `out` (atomically) unless
    cancelled, and return it with its metadata and the report. out=None: saved by the caller (the
    session, which writes its file one change at a time)."""
    if out is not None:
        check_teach_output(out)
    drawings = load_drawings(drawings_path)
    check_drawings(drawings)
    mnist, mnist_test = mnist_sets()
    taught, report = teach(net, drawings, mnist, mnist_test, progress, cancelled)
    new_info = copy.deepcopy(info)
    if not report.cancelled:
        new_info.accuracy = {**info.accuracy, "test": report.after["mnist"]}
        new_info.training = {**info.training, "taught": {
            "drawings": display(drawings_path), "sha256": drawings.sha256, **report.as_dict()}}
        new_info.created = ""  # this model's own date, set as it is saved
        if out is not None:
            save_model(out, taught, new_info)
    return taught, new_info, report
