"""Long work beside a front end: a job on a thread, with its progress, a way to cancel it, and
for teaching, the model it made put in use and an undo. The window and the page share these.

A job's state is one of idle, running, done, failed, cancelled. Its work gets the job itself,
to report progress and to ask whether it was cancelled; whatever goes wrong in it ends as
'failed' with a one-line reason, never as a thread that dies in silence.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from nn.errors import NNError
from nn.plumbing.files import atomic_write, check_output, open_input
from nn.files.model_file import ModelInfo
from nn.network import Network
from nn.plumbing.paths import display
from nn.session.teach import Report, check_drawings, check_teach_output, load_drawings, teach_model


class Busy(Exception):
    """A job is running already."""


_STARTING = threading.Lock()  # held while a job checks that no other job it excludes is running


def refuse_if_running(*jobs: "Job") -> None:
    """Busy, naming the first of `jobs` that is running; nothing when none is."""
    busy = next((job for job in jobs if job.running), None)
    if busy is not None:
        raise Busy(busy.name)


class Job:
    """One piece of work on a thread at a time."""

    def __init__(self, name: str = "a job"):
        self.name = name  # what it is doing, for messages: "teaching", "training"
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "idle"
        self.progress = 0.0
        self.error: str | None = None
        self.result = None

    def start(self, work: Callable[[Job], object], exclusive_with: Sequence[Job] = ()) -> None:
        """Run work(job) on a new thread; Busy if this job, or one of `exclusive_with`, is running."""
        with _STARTING, self._lock:
            refuse_if_running(self, *exclusive_with)
            self._cancel.clear()
            self.state, self.progress, self.error, self.result = "running", 0.0, None, None
            self._thread = threading.Thread(target=self._run, args=(work,), daemon=True, name="job")
            self._thread.start()

    def _run(self, work) -> None:
        try:
            result = work(self)
        except NNError as e:
            self._finish("failed", error=str(e))
        except MemoryError:
            self._finish("failed", error="out of memory")
        except OSError as e:
            self._finish("failed", error=f"{e.filename or ''}: {e.strerror or e}".lstrip(": "))
        except Exception as e:  # a bug: still one line, and the front end keeps running
            self._finish("failed", error=f"{type(e).__name__}: {e}")
        else:
            self._finish("cancelled" if self._cancel.is_set() else "done", result=result)

    def _finish(self, state: str, error: str | None = None, result=None) -> None:
        with self._lock:
            self.state, self.error, self.result = state, error, result

    def report_progress(self, share: float) -> None:
        self.progress = share

    def cancel(self) -> None:
        self._cancel.set()

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job is over after waiting at most `timeout` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running


@dataclass(frozen=True)
class ModelInUse:
    """The network a front end answers with, its metadata, and the name it shows."""

    net: Network
    info: ModelInfo
    name: str


class Teacher:
    """Teaching from a front end: one teaching at a time, on a thread; when it is done, the taught
    model is saved to `out` and put in use. undo() puts back the model in use and the file at
    `out` as they were before the last teaching (and the one before, and so on)."""

    def __init__(self, model: ModelInUse, drawings: Path | str, out: Path | str):
        self.model = model
        self.drawings = Path(drawings)
        self.out = Path(out)
        self.job = Job("teaching")
        self.exclusive_with: list[Job] = []  # jobs that cannot run while it teaches (the page's training)
        self.report: Report | None = None
        self._undo: list[tuple[ModelInUse, bytes | None, str]] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start teaching. UsageError, at once, when there is too little to learn from, or `out` is
        a shipped model or cannot be written; Busy while a teaching runs."""
        refuse_if_running(self.job, *self.exclusive_with)  # before the drawings are read
        check_teach_output(self.out)
        check_output(self.out, "taught model", [("drawings", self.drawings)], kind="model")
        check_drawings(load_drawings(self.drawings))
        self.job.start(self._teach, self.exclusive_with)

    def _teach(self, job: Job) -> Report:
        before = self.model
        previous = _read_or_none(self.out)
        net, info, report = teach_model(before.net, before.info, self.drawings, self.out,
                                        progress=job.report_progress, cancelled=job.cancel_requested)
        self.report = report
        if not report.cancelled:
            with self._lock:
                self._undo.append((before, previous, _sha256(self.out)))
                self.model = ModelInUse(net, info, display(self.out))
        return report

    def use(self, model: ModelInUse) -> None:
        """Answer with `model` from now on (the page's Draw with it); teaching's undo is unchanged."""
        with self._lock:
            self.model = model

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self.job.running

    def undo(self) -> ModelInUse | None:
        """Put back the model from before the last teaching, and its file; None if there is none."""
        with self._lock:
            if not self._undo or self.job.running:
                return None
            before, previous, written = self._undo.pop()
            if previous is not None:
                with atomic_write(self.out) as f:
                    f.write(previous)
            elif _sha256(self.out) == written:  # the file teaching made, unchanged since: remove it
                self.out.unlink()
            self.model = before
            self.report = None
            return before


def _read_or_none(path: Path) -> bytes | None:
    try:
        with open_input(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _sha256(path: Path) -> str:
    content = _read_or_none(path)
    return hashlib.sha256(content).hexdigest() if content is not None else ""
