"""The session: everything the window and the page can do, and nothing of how they show it.

Both views drive one Session: the window (nn/window) turns key presses and clicks into its
methods, the page's server (nn/web) turns requests into them, and each shows what they return.

    the model in use    model: a ModelInUse (the network, its metadata, the name it is shown by)
    the model, to go    reader(): its weights for the page's reader (page/reading.js), which reads
                        on the phones of a class; page(), save_page(folder): as one offline page
    a drawing           read(ink) -> Reading;  inside(reading, digit) -> Inside, Evidence;
                        steps(ink): from the drawing to what the network sees
    a number            read_number(ink) -> Number: its digits, each a box and a Reading
    a photo             read_photo(data) -> PhotoReading: the number on paper, boxed, every step
    your digits         save(ink, label) -> rows now in the custom-digits CSV
    learning, shown     learn(ink, label) -> LearningStep: a step on a copy; keep(step) puts it in
                        use; unit(ink, k): a hidden unit's sum; dreams(): each digit as it sees it
    teaching            teach(), cancel_teaching(), undo() -> Undone, teaching_state()
    training            train(settings), stop_training(), use(which), save_trained(),
                        training_state()

Teaching and training run on threads (nn/session/jobs.py), one at a time. The model in use is
replaced only here, under a lock: a guess is always made with one whole model, and every view's
next guess uses the new one.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from nn.dataset import SIDE
from nn.errors import Crowded, NotHere, NothingYet, UsageError, shown
from nn.plumbing.files import atomic_write, check_output, read_bytes
from nn.plumbing.paths import display
from nn.session.canvas import BRUSH, ERASER
from nn.session.commands import COMMANDS, MESSAGES, TERMS
from nn.session.explain import Evidence, Inside
from nn.session.export import offline_page, reader_spec, save_page
from nn.files.model_file import save_model
from nn.session.jobs import Job, refuse_if_running
from nn.session.learning import LR as LEARNING_RATE
from nn.session.learning import (MAX_STEPS, FilterMap, LearningStep, UnitSum, check_step, filter_map, learning_step,
                                 unit_sum)
from nn.session.model_in_use import ModelInUse
from nn.session.pictures import PALETTE
from nn.session.numbers import Digit, Number, ink_box, read_number
from nn.session.preprocess import Step, normalize
from nn.session.reading import Reading, check_custom_csv, read, save_drawing
from nn.session.teach import Report, check_drawings, check_teach_output, load_drawings, teach_model
from nn.session.trainer import Trainer

if TYPE_CHECKING:  # imported when a photo comes (Session.read_photo)
    from nn.session.photo import PhotoReading

PHOTOS_AT_ONCE = 2  # photos read at a time: one per core
PHOTO_WAIT = 20.0  # seconds one more waits for its turn

class Session:
    """The model in use, the drawings saved, and the jobs: one for every view of it."""

    def __init__(self, model: ModelInUse, custom: Path | str, out: Path | str,
                 data: Sequence[Path | str] | None = None, test: Path | str | None = None,
                 model_file: Path | str | None = None):
        """custom: the custom-digits CSV that labeled drawings go to, and teaching learns from;
        out: where a taught or trained model is saved; data and test: what training reads
        (None: this session does not train); model_file: the file the model in use came from.
        UsageError at once for files that a save would refuse later (check_files)."""
        self._model = model
        self.forward = None  # how drawings are read (nn/session/reading.py); the page's server batches them
        self.custom, self.out = Path(custom), Path(out)
        check_files(self.custom, self.out, [("model", model_file), *[("training data", p) for p in data or []],
                                            ("test data", test)])
        self.teaching = Job("teaching")
        self.report: Report | None = None  # the last teaching's
        self._undo: list[Change] = []  # the teachings and kept steps, to take back
        self.trainer = Trainer(data, test) if data is not None else None
        self.jobs = [self.teaching] + ([self.trainer.job] if self.trainer is not None else [])
        self.previous: ModelInUse | None = None  # in use before the trained network was
        self.saves = threading.Lock()  # a save under way (a shutdown waits for it)
        self._photos = threading.Semaphore(PHOTOS_AT_ONCE)  # photos being read
        self._lock = threading.Lock()  # the model in use changing, and every write of `out`
        self._reader: tuple[ModelInUse, dict] | None = None  # the model in use, as reader() gave it

    # -- the model in use ------------------------------------------------------------------------

    @property
    def model(self) -> ModelInUse:
        return self._model

    def reader(self) -> dict:
        """The model in use as page/reading.js builds it (reader_spec), made once per model."""
        return self._described()[1]

    def _described(self) -> tuple[ModelInUse, dict]:
        """The model in use and its reader_spec, one pair (the model may change meanwhile)."""
        made = self._reader
        if made is None or made[0] is not self.model:
            model = self.model
            made = self._reader = (model, {**reader_spec(model.net, model.name), "serial": model.serial})
        return made

    def page(self) -> tuple[str, str]:
        """(file name, HTML): the model in use as one page that reads digits offline."""
        model, spec = self._described()
        return f"{Path(model.name).stem}.html", offline_page(model, spec)

    def save_page(self, folder: Path | str) -> Path:
        """The offline page written into `folder` (the window's: temp/), named for the model."""
        name, html = self.page()
        path = Path(folder) / name
        check_output(path, "page", [("model", self.model.name)])
        save_page(path, html)
        return path

    def describe(self) -> dict:
        """The model in use, and what a view needs to draw like every other: GET /api/model."""
        net = self.model.net
        return {"name": self.model.name, "serial": self.model.serial, "shape": net.shape_name, "sizes": list(net.sizes),
                "conv": list(net.conv), "kernel": net.kernel, "accuracy": self.model.accuracy,
                "activation": net.activation.name, "loss": net.loss.name, "grid": SIDE,
                "brush": {"core": BRUSH[0], "outer": BRUSH[1]}, "eraser": {"core": ERASER[0], "outer": ERASER[1]},
                "saves_to": display(self.custom), "commands": [c.as_dict() for c in COMMANDS],
                "messages": MESSAGES, "terms": TERMS["page"], "colours": PALETTE, "step_lr": self.step_lr,
                "max_steps": MAX_STEPS}

    # -- a drawing -------------------------------------------------------------------------------

    def read(self, ink: np.ndarray, drawn: bool = True) -> Reading:
        """What the model in use makes of ink (H, W) in [0, 1] (nn/session/reading.py)."""
        return read(self.model.net, ink, drawn=drawn, forward=self.forward)

    def read_number(self, ink: np.ndarray) -> Number:
        """A whole number drawn on the wide grid (nn/session/numbers.py): each digit read as one."""
        return read_number(self.model.net, ink, drawn=True)

    def read_grid(self, ink: np.ndarray) -> Number:
        """A drawing on a grid, as both views read it: on the 28 x 28 grid one digit (read whole,
        as MNIST's were made), on a wider one a number. No digits: the grid is blank."""
        if ink.shape != (SIDE, SIDE):
            return self.read_number(ink)
        reading = self.read(ink)
        return Number([] if reading.blank else [Digit(ink_box(ink), ink, reading)])

    def digit(self, ink: np.ndarray, select: int = 0) -> np.ndarray:
        """The ink of the digit a learning step, a save or a unit's sum is about: the 28 x 28 grid
        itself, or the digit `select` (from 0) of the number read on a wider grid."""
        inks = [ink] if ink.shape == (SIDE, SIDE) else [d.ink for d in self.read_number(ink).digits] or [ink]
        if type(select) is not int or not 0 <= select < len(inks):
            raise UsageError(f"select {shown(select)}: the drawing has {len(inks)} digit"
                             f"{'s' if len(inks) != 1 else ''}, counted from 0")
        return inks[select]

    def read_photo(self, data: bytes, name: str = "the photo") -> PhotoReading:
        """The number in a photo (its bytes), read by the model in use (nn/session/photo.py), with
        every step. PHOTOS_AT_ONCE are read at a time (each takes a core, and up to 100 MB); one
        more waits up to PHOTO_WAIT seconds for its turn, then Crowded."""
        from nn.session.photo import read_photo  # scipy's image tools (0.2 s): once a photo comes

        if not self._photos.acquire(timeout=PHOTO_WAIT):
            raise Crowded(f"{name}: other photos are being read; try again in a few seconds")
        try:
            return read_photo(self.model.net, data, name)
        finally:
            self._photos.release()

    def steps(self, ink: np.ndarray, number: Number | None = None) -> list[Step]:
        """Every step from a drawing of one digit to what the network sees (the steps view); a
        digit of `number` after how the number was cut, if touching digits were."""
        steps: list[Step] = [number.cut] if number is not None and number.cut is not None else []
        normalize(ink, steps)
        return steps

    def learn(self, ink: np.ndarray, label: int, lr: float | None = None, steps: int = 1) -> LearningStep:
        """`steps` steps of gradient descent on the drawing alone, towards `label`, on a copy of the
        model in use (nn/session/learning.py); it is kept only when keep(step) is asked for."""
        label, lr, steps = check_step(label, self.step_lr if lr is None else lr, steps)
        seen = normalize(ink)
        if not seen.any():
            raise UsageError("the drawing is blank: there is nothing to learn from")
        return learning_step(self.model.net, seen.reshape(-1), label, lr, steps)

    @property
    def step_lr(self) -> float:
        """The learning rate a step takes unless told: one that moves the bars, not one that jumps."""
        return LEARNING_RATE["cnn" if self.model.net.conv else "mlp"]

    def keep(self, step: LearningStep) -> ModelInUse:
        """Put the network a learning step made in use, saved to `out` like a taught model (U undoes)."""
        before = self.model
        refuse_if_running(*self.jobs)
        check_teach_output(self.out)
        check_output(self.out, "model after learning", [("drawings", self.custom)], kind="model")
        info = copy.deepcopy(before.info)
        info.training = {**info.training, "learned": {"label": step.label, "lr": step.lr,
                                                       "steps": len(step.losses) - 1,
                                                       "loss": [round(v, 6) for v in step.losses]}}
        info.created = ""
        net = step.net.astype(before.net.dtype)
        self._put_in_use(before, net, info, lambda: save_model(self.out, net, info))
        return self.model

    def unit(self, ink: np.ndarray, unit: int) -> UnitSum | FilterMap:
        """The first layer's unit `unit` on the drawing: an MLP's hidden unit, its weights and its
        sum written out; a CNN's first filter, its weights and its feature map."""
        x = normalize(ink).reshape(-1)
        return (filter_map if self.model.net.conv else unit_sum)(self.model.net, x, unit)

    def dreams(self) -> Dreams:
        """What the model in use thinks each digit looks like: the input that most raises each
        digit's score (10, 784), and the probabilities it gives them (10, 10)."""
        model = self.model
        return Dreams(model.dreams, model.net.predict_proba(model.dreams))

    def inside(self, reading: Reading, digit: int | None = None) -> tuple[Inside, Evidence]:
        """The inside view of a reading: every hidden layer, and the evidence for `digit` (None:
        the guess)."""
        explainer = self.model.explainer
        inside = explainer.inside(reading.seen.reshape(-1))
        return inside, explainer.evidence(inside, reading.digit if digit is None else digit)

    def save(self, ink: np.ndarray, label: int) -> int:
        """Add the drawing, as the network sees it, to the custom-digits CSV with its label; the
        rows now in the file. UsageError for a blank drawing; OSError when the file cannot be written."""
        seen = normalize(ink)
        if not seen.any():
            raise UsageError("the drawing is blank: there is nothing to save")
        with self.saves:
            return save_drawing(self.custom, seen, label)

    # -- teaching --------------------------------------------------------------------------------

    def teach(self) -> None:
        """Start teaching the saved drawings on a thread. UsageError at once when there is too
        little to learn from or the taught model could not be saved; Busy while a job runs."""
        refuse_if_running(*self.jobs)  # before the drawings are read
        check_teach_output(self.out)
        check_output(self.out, "taught model", [("drawings", self.custom)], kind="model")
        check_drawings(load_drawings(self.custom))
        self.teaching.start(self._teach, self.jobs)

    def _teach(self, job: Job) -> Report:
        before = self.model
        net, info, report = teach_model(before.net, before.info, self.custom, None,
                                        progress=job.report_progress, cancelled=job.cancel_requested)
        self.report = report
        if not report.cancelled:
            self._put_in_use(before, net, info, lambda: save_model(self.out, net, info))
        return report

    def _put_in_use(self, before: ModelInUse, net, info, write: Callable[[], None]) -> None:
        """A new model in use, saved at `out` by `write`, with the way back for undo: what the file
        held just before (read under the lock every write of it takes, so no other save slips in
        between) and what this wrote."""
        with self._lock:
            previous = read_bytes(self.out)
            write()
            self._undo.append(Change(before, previous, _sha256(self.out)))
            self._model = ModelInUse(net, info, display(self.out))

    def cancel_teaching(self) -> dict:
        """Stop the teaching at its next step (the model in use stays as it was); its state then."""
        self.teaching.cancel()
        return self.teaching_state()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self.teaching.running

    def undo(self) -> Undone:
        """Take back the last teaching or kept step: the model from before it is put back in use,
        and `out` is put back as it was only if it still holds exactly what that change wrote. A
        save made since (a network trained and saved, another program's) is never written over:
        the file is left, and Undone says so. NothingYet when there is nothing to undo; Busy
        while a teaching runs."""
        with self._lock:
            refuse_if_running(self.teaching)
            if not self._undo:
                raise NothingYet("nothing to undo")
            change = self._undo.pop()
            self._model, self.report = change.before, None

            def unchanged(*_) -> None:  # looked at last, just before the file is replaced
                if _sha256(self.out) != change.written:
                    raise FileChanged(self.out)

            try:
                if change.previous is None:  # the file this change made: removed
                    unchanged()
                    self.out.unlink()
                else:
                    with atomic_write(self.out, verify=unchanged) as f:
                        f.write(change.previous)
            except FileChanged:
                return Undone(change.before, True, display(self.out))
            return Undone(change.before, False, display(self.out))

    def teaching_state(self) -> dict:
        """The teaching job as it is now: GET /api/teach."""
        job, report = self.teaching, self.report
        state = {"state": job.state, "progress": round(job.progress, 4), "model": self.model.name,
                 "can_undo": self.can_undo, "error": job.error}
        if report is not None:
            state.update({"before": report.before, "after": report.after, "summary": report.summary(),
                          "held_out": report.held_out, "taught": report.taught, "how": report.how()})
        return state

    # -- training --------------------------------------------------------------------------------

    def train(self, settings: dict) -> None:
        """Start training a new network with train.py's settings, on a thread (nn/session/trainer.py)."""
        self._trainer().start(settings, self.jobs)

    def stop_training(self) -> dict:
        """Stop the run at the end of its batch, keeping its best weights; its state then."""
        self._trainer().job.cancel()
        return self.training_state()

    @property
    def using_trained(self) -> bool:
        trained = self.trainer.trained if self.trainer is not None else None
        return trained is not None and self.model is trained

    def use(self, which: str) -> ModelInUse:
        """Answer with the network trained here ("trained") or the one in use before ("previous")."""
        trainer = self._trainer()
        with self._lock:
            if trainer.trained is None or trainer.job.running:
                raise NothingYet("there is no trained network yet: train one first")
            if which not in ("trained", "previous"):
                raise UsageError(f"use: {shown(which)} is not 'trained' or 'previous'")
            if which == "trained" and not self.using_trained:
                self.previous, self._model = self._model, trainer.trained
            elif which == "previous" and self.using_trained and self.previous is not None:
                self._model = self.previous
            return self._model

    def save_trained(self) -> str:
        """Write the trained network to `out` (atomically, read back first); its name then."""
        trainer = self._trainer()
        check_teach_output(self.out)
        with self._lock:  # one write of `out` at a time: undo knows whether the file changed since
            using = self.using_trained
            saved = trainer.save(self.out, [("drawings", self.custom)])
            if using:
                self._model = saved
        return saved.name

    def training_state(self, since: int | None = None, weights: bool = False) -> dict:
        """The run as it is now: GET /api/train (and a poll: someone is watching)."""
        return {**self._trainer().state(since, weights), "in_use": self.model.name,
                "using_trained": self.using_trained, "out": display(self.out)}

    def _trainer(self) -> Trainer:
        if self.trainer is None:
            raise NotHere("training is not available here")
        return self.trainer

    # -- the end ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a teaching or a training runs."""
        return any(job.running for job in self.jobs)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel the jobs and wait, up to `timeout` seconds, for them and for a save under way."""
        deadline = time.monotonic() + timeout
        for job in self.jobs:
            if job.running:
                job.cancel()
                job.wait(max(0.0, deadline - time.monotonic()))
        if self.saves.acquire(timeout=max(0.0, deadline - time.monotonic())):
            self.saves.release()


def check_files(custom: Path, out: Path, reads: Sequence[tuple[str, Path | str | None]]) -> None:
    """What a save would refuse, refused when a view opens, the same for the window and the page
    (draw.py --web --out X --custom-csv X served, and refused only at the first Teach): the
    drawings and the taught model each where they can be written, neither over the other nor
    over what the session reads (`reads`: the model's file, the training and test data; the
    taught model may replace the model's own file), and never over a shipped model."""
    check_custom_csv(custom, [*reads, ("taught model (--out)", out)])
    check_teach_output(out)
    check_output(out, "taught model", [("drawings", custom), *[r for r in reads if r[0] != "model"]], kind="model")


@dataclass(frozen=True)
class Dreams:
    """What the network thinks each digit looks like (nn/session/learning.py's dream)."""

    pictures: np.ndarray  # (10, 784) in [0, 1]: digit k's in row k
    probabilities: np.ndarray  # (10, 10): the network's output for each picture


@dataclass(frozen=True)
class Change:
    """A change of the model in use that wrote `out` (a teaching, a kept step), and the way back."""

    before: ModelInUse  # the model in use before it
    previous: bytes | None  # what `out` held before it (None: there was no file)
    written: str  # SHA-256 of what it wrote


@dataclass(frozen=True)
class Undone:
    """What undo did: the model put back in use, and whether `out` was left as it is because it
    was saved again since the change (only then; otherwise the file is as it was before it)."""

    model: ModelInUse
    file_kept: bool
    file: str  # `out`, as the views show it


class FileChanged(Exception):
    """`out` no longer holds what a change wrote: undo leaves it."""


def _sha256(path: Path) -> str:
    content = read_bytes(path)
    return hashlib.sha256(content).hexdigest() if content is not None else ""
