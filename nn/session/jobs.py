"""Long work beside a view: a job on a thread, with its progress and a way to cancel it (the
session's teaching and training, nn/session/session.py).

A job's state is one of idle, running, done, failed, cancelled. Its work gets the job itself,
to report progress and to ask whether it was cancelled; whatever goes wrong in it ends as
'failed' with a one-line reason, never as a thread that dies in silence.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from nn.errors import NNError


def one_line_reason(e: Exception) -> str:
    """What went wrong, in one line: the user's mistake as its message says it, a file as the
    system names it, memory as memory, and a bug (anything else) by its type."""
    if isinstance(e, NNError):
        return str(e)
    if isinstance(e, MemoryError):
        return "out of memory"
    if isinstance(e, OSError):
        return f"{e.filename or ''}: {e.strerror or e}".lstrip(": ")
    return f"{type(e).__name__}: {e}"


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
        except Exception as e:  # the job thread's boundary: whatever it is, one line, and the view goes on
            self._finish("failed", error=one_line_reason(e))
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
