"""What the entry points share: one-line argument errors, value checks, and the error boundary.

Only the entry points (train.py, draw.py, python -m nn, python -m nn.bench) catch the project's
errors. They do it through `run`, which prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import Callable, NoReturn

from .errors import NNError


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (not the whole usage) and status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def run(main: Callable[[], int | None], prog: str) -> NoReturn:
    """Call `main` and exit: 0 (or its return value), 2 for a user error or an operating-system
    error (one line on stderr, never a traceback), 130 for Ctrl-C, 141 when the reader of our
    output went away (`... | head -3`), quietly, as other command-line tools do."""
    _standard_streams_open()
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal's encoding cannot show
        try:                                 # is shown escaped, not a UnicodeEncodeError
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    pressed = _note_ctrl_c()
    try:
        code = main()
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not in Python's exit
    except NNError as e:
        _fail(prog, str(e))
    except KeyboardInterrupt:
        _interrupted(prog)
    except BrokenPipeError:
        _reader_gone()
    except MemoryError:
        _fail(prog, "out of memory; try a smaller file or network")
    except OSError as e:
        _fail(prog, describe_os_error(e))
    except Exception:
        # Ctrl-C while a compiled module (NumPy's) loads can surface as some other error.
        if pressed:
            _interrupted(prog)
        raise
    _exiting()
    sys.exit(code or 0)


_output_lost: list[str] = []  # why standard output failed, once it has


def say(text: str = "") -> None:
    """Print a line of progress. If standard output is gone (a closed pipe, a full disk), carry on
    without it: a report must never stop the work it reports on. The first failure is noted once
    on stderr, and the rest of the output goes to /dev/null."""
    if _output_lost:
        return
    try:
        print(text, flush=True)
    except (OSError, ValueError) as e:
        _output_lost.append(getattr(e, "strerror", None) or str(e))
        _silence_stdout()
        try:
            sys.stderr.write(f"note: cannot write to standard output ({_output_lost[0]}); "
                             "carrying on without progress lines\n")
        except (OSError, ValueError):
            pass


def describe_os_error(error: OSError) -> str:
    """An operating-system error as one line: the file (shortened if absurdly long) and why."""
    name = error.filename if error.filename is not None else None
    if name is None and error.errno in (errno.ENOSPC, errno.EIO, errno.EPIPE):
        name = "standard output"
    from .files import short_path

    shown = None if name is None else short_path(name)
    reason = error.strerror or str(error) or type(error).__name__
    return f"{shown}: {reason}" if shown else reason


def _fail(prog: str, message: str) -> NoReturn:
    _exiting()
    message = message.replace("\r", "\\r").replace("\n", "\\n")  # one line, whatever a file is called
    try:
        sys.stderr.write(f"{prog}: error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # nowhere to say it: the exit status still does
    _silence_stdout()
    sys.exit(2)


def _reader_gone() -> NoReturn:
    _exiting()
    _silence_stdout()
    sys.exit(141)  # 128 + SIGPIPE, what the shell shows for tools stopped by a closed pipe


def _silence_stdout() -> None:
    """Deliver what is still buffered if possible, then point stdout at /dev/null, so that
    Python's own flush at exit cannot fail a second time."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        sys.stdout.flush()  # what a failed flush kept goes to /dev/null now
    except (OSError, ValueError, AttributeError):
        pass


def _standard_streams_open() -> None:
    """Started with stdin, stdout or stderr closed (`2>&-`), the next file opened would take that
    number, and whatever the program then printed there (a progress bar) would land in that file,
    or fail and stop the run. Fill the gaps with /dev/null first."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                return
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)


def _note_ctrl_c() -> list:
    """Have Ctrl-C raise KeyboardInterrupt as usual, and remember that it was pressed: a compiled
    module being imported when the press lands can swallow the exception (seen with NumPy's lazily
    imported numpy.random, after which the run trained on to its last epoch). The handler carries
    the record (`handler.presses`), so that the training loop, which installs its own handler,
    sees a press that came before it."""
    import signal
    import threading

    pressed: list = []
    if threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            pressed.append(True)
            raise KeyboardInterrupt

        handler.presses = pressed
        signal.signal(signal.SIGINT, handler)
    return pressed


def _exiting() -> None:
    """The work is done (or given up) and only the exit is left: a Ctrl-C now must not cut it
    short. (Python puts back the default handler while it shuts down, so a press then would kill
    the process by the signal instead of letting it exit with its status.)"""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupted(prog: str) -> NoReturn:
    _exiting()
    try:
        sys.stderr.write(f"{prog}: interrupted\n")
    except (OSError, ValueError):
        pass
    _silence_stdout()
    sys.exit(130)


# Value checks for argparse's `type=`: the message names the rule and the value given.

def output_file(text: str):
    """A file to write: not a name ending in a folder separator (Path would drop it, and
    'newdir/' would become a file called newdir)."""
    from pathlib import Path

    if text.endswith(("/", os.sep)) or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder; give a file name inside it")
    return Path(text)


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
    if kind is float and (value != value or value in (float("inf"), float("-inf"))):  # NaN, inf, 1e400
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value
