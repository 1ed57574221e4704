"""What the entry points share: one-line argument errors, value checks, and the error boundary.

Only the entry points (train.py, draw.py, python -m nn, python -m nn.data) catch the project's
errors. They do it through `run`, which prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

from .errors import NNError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (not the whole usage) and status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def run(main: Callable[[], int | None], prog: str) -> NoReturn:
    """Call `main` and exit: 0 (or its return value), 2 for a user error, 130 for Ctrl-C."""
    pressed = _note_ctrl_c()
    try:
        code = main()
    except NNError as e:
        sys.stderr.write(f"{prog}: error: {e}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        _interrupted(prog)
    except MemoryError:
        sys.stderr.write(f"{prog}: error: out of memory; try a smaller file or network\n")
        sys.exit(2)
    except Exception:
        # Ctrl-C while a compiled module (NumPy's) loads can surface as some other error.
        if pressed:
            _interrupted(prog)
        raise
    sys.exit(code or 0)


def _note_ctrl_c() -> list:
    """Have Ctrl-C raise KeyboardInterrupt as usual, and remember that it was pressed."""
    import signal
    import threading

    pressed: list = []
    if threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            pressed.append(True)
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
    return pressed


def _interrupted(prog: str) -> NoReturn:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        # Already stopping: further presses must not cut the exit short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr.write(f"{prog}: interrupted\n")
    sys.exit(130)


# Value checks for argparse's `type=`: the message names the rule and the value given.

def positive_int(text: str) -> int:
    value = _number(text, int, "a positive integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a positive number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = _number(text, float, "a number >= 0")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1), such as a momentum or a dropout rate."""
    value = _number(text, float, "a number from 0 to 1")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def fraction_or_count(text: str) -> float:
    """A share of the rows (0 < x < 1) or a number of rows (a whole number >= 1), or 0 for none."""
    value = _number(text, float, "a fraction below 1 or a row count")
    if value < 0 or (value >= 1 and value != int(value)) or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a fraction between 0 and 1 or a whole number of rows, got {text}")
    return value


def _number(text: str, kind: type, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if kind is float and value != value:  # NaN
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value
