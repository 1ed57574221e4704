"""What hangs on the training loop: fit(on_batch=..., on_epoch=...) calls these, and knows nothing
of terminals or signals. train.py passes a progress bar and the Ctrl-C handler; the page and
teaching pass their own (nn/session/trainer.py, nn/session/teach.py).

    on_batch(steps done, steps in all, the batch's loss) -> True to stop after this batch
    on_epoch(the epoch's EpochRecord)
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

from tqdm import tqdm

# tqdm's monitor thread watches for bars that stopped updating: ours update every batch. Without it
# no thread is started (under a memory limit, starting one failed with a warning of its own).
tqdm.monitor_interval = 0

from nn.plumbing.cli import Stopped, stop_signals


def every(*callbacks: Callable | None) -> Callable[..., bool]:
    """One on_batch that calls each of `callbacks` (None: left out) and stops if any asks to."""
    chosen = [c for c in callbacks if c is not None]

    def on_batch(*args) -> bool:
        return any([c(*args) for c in chosen])  # a list: every one is called, even after a True

    return on_batch


class StopOnSignals:
    """with StopOnSignals() as stop: fit(..., on_batch=stop) -- the first Ctrl-C (or SIGTERM,
    SIGHUP: a `kill`, a closed terminal) asks training to stop after the current batch, keeping
    the best weights; a second one interrupts at once. `signum` says which signal asked."""

    def __init__(self):
        self.requested = False
        self.signum: int | None = None
        self._previous: dict = {}

    def __call__(self, step: int, total: int, loss: float) -> bool:
        return self.requested

    def _handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)
        self.requested, self.signum = True, signum

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only: a job on a thread is cancelled instead
        for signum in stop_signals():
            self._previous[signum] = signal.signal(signum, self._handler)
        # A press before training began has normally ended the run already; if the KeyboardInterrupt
        # it raised was swallowed on the way (nn.plumbing.cli notes why), the press still counts.
        presses = getattr(self._previous.get(signal.SIGINT), "presses", None)
        if presses:
            self.requested, self.signum = True, presses[-1]
        return self

    def __exit__(self, *exc) -> None:
        for signum, old in self._previous.items():
            signal.signal(signum, old)


class ProgressBar:
    """A tqdm bar for each epoch's batches, on a terminal only (no clutter in logs and pipes); a
    bar that fails (stderr closed or gone) ends, never the training."""

    def __init__(self, steps_per_epoch: int, epochs: int, enabled: bool = True):
        self.steps_per_epoch, self.epochs, self.enabled = steps_per_epoch, epochs, enabled
        self.bar = None

    def __call__(self, step: int, total: int, loss: float) -> bool:
        if self.enabled and self.bar is None:
            epoch = (step - 1) // self.steps_per_epoch + 1
            self.bar = self._call(self._new, epoch)
        self._call(lambda: self.bar and self.bar.update())
        return False

    def end_of_epoch(self, record=None) -> None:
        self._call(lambda: self.bar and self.bar.close())
        self.bar = None

    def _new(self, epoch: int):
        return tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch}/{self.epochs}", unit="batch",
                    leave=False, disable=None, mininterval=0.25, dynamic_ncols=True)

    def _call(self, action, *args):
        try:
            return action(*args)
        except (OSError, ValueError):
            self.bar, self.enabled = None, False
            return None
