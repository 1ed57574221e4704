"""What the entry points share: one-line argument errors, value checks, and the error boundary.

Only the entry points (train.py, draw.py, python -m nn, python -m nn.bench) catch the project's
errors. They do it through `run`, which prints one line to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, NoReturn

from nn.errors import NNError, UsageError, shown
from nn.plumbing.files import short_path


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument gives one line on stderr (not the whole usage) and status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


class Stopped(KeyboardInterrupt):
    """The process was told to stop by a signal other than Ctrl-C (SIGTERM: `kill`; SIGHUP: its
    terminal closed). A KeyboardInterrupt, so that everything that tidies up after a Ctrl-C
    (atomic writes removing their temporary file, a server finishing its requests) does so."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # handled alike; the ones this system has


def stop_signals() -> list[int]:
    return [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]


def run(main: Callable[[], int | None], prog: str) -> NoReturn:
    """Call `main` and exit: 0 (or its return value), 2 for a user error or an operating-system
    error (one line on stderr, never a traceback), 130 for Ctrl-C (128 + the signal's number for
    SIGTERM and SIGHUP, which stop it the same way), 141 when the reader of our output went away
    (`... | head -3`), quietly, as other command-line tools do."""
    _standard_streams_open()
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal's encoding cannot show
        if isinstance(stream, io.TextIOWrapper):  # is shown escaped, not a UnicodeEncodeError
            stream.reconfigure(errors="backslashreplace")
    pressed = _note_ctrl_c()
    _warnings_in_one_line(prog)
    try:
        code = main()
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not in Python's exit
    except NNError as e:
        _fail(prog, str(e))
    except Stopped as e:
        _interrupted(prog, e.signum)
    except KeyboardInterrupt:
        _interrupted(prog)
    except BrokenPipeError:
        _reader_gone()
    except MemoryError:
        _fail(prog, "out of memory; close other programs, or try a smaller file, network or --batch-size")
    except OSError as e:
        _fail(prog, describe_os_error(e))
    except ImportError as e:  # a library that cannot be mapped into memory (ulimit -v)
        if "map" not in str(e) and "allocate memory" not in str(e):
            raise
        _fail(prog, f"out of memory while loading a library: {str(e).split(': ')[-1]} ({e.name or e.path})")
    except Exception:
        if pressed:  # a Ctrl-C while a compiled module loads can surface as another error
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
        sys.stderr.write(f"note: cannot write to standard output ({_output_lost[0]}); "
                         "carrying on without progress lines\n")


@contextmanager
def memory_for(what: str) -> Iterator[None]:
    """Name what ran out of memory: a MemoryError inside becomes one line saying it."""
    try:
        yield
    except MemoryError:
        raise UsageError(f"out of memory while {what}; close other programs, or try a smaller "
                         "file, network or --batch-size") from None


def describe_os_error(error: OSError) -> str:
    """An operating-system error as one line: the file (shortened if absurdly long) and why."""
    name = error.filename if error.filename is not None else None
    if name is None and error.errno in (errno.ENOSPC, errno.EIO, errno.EPIPE):
        name = "standard output"
    shown = None if name is None else short_path(name)
    reason = error.strerror or str(error) or type(error).__name__
    return f"{shown}: {reason}" if shown else reason


def shown_name(text: str) -> str:
    """A file's name as one field of a tab-separated line: as it is, unless it holds a tab, a line
    break or another control character; then in double quotes with C escapes (\\t, \\n, \\\\,
    \\", \\x1b), as git writes such names, so that every line keeps its fields."""
    if not any(ord(c) < 32 or c == "\x7f" for c in text):
        return text
    escapes = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", '"': '\\"'}
    return '"' + "".join(escapes.get(c, f"\\x{ord(c):02x}" if ord(c) < 32 or c == "\x7f" else c)
                         for c in text) + '"'


def _warnings_in_one_line(prog: str) -> None:
    """A library's warning, if one gets through, as one line like the program's own: Python's
    default shows two, the second a line of the library's source."""
    def show(message, category, filename, lineno, file=None, line=None):
        (file or sys.stderr).write(f"{prog}: warning: {one_line(str(message))}\n")

    warnings.showwarning = show


def one_line(message: str) -> str:
    """A message as one line, whatever a file in it is called: its line breaks written \\n, \\r."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def _fail(prog: str, message: str) -> NoReturn:
    _exiting()
    sys.stderr.write(f"{prog}: error: {one_line(message)}\n")
    sys.stderr.flush()
    _silence_stdout()
    sys.exit(2)


def _reader_gone() -> NoReturn:
    _exiting()
    _silence_stdout()
    sys.exit(141)  # 128 + SIGPIPE, what the shell shows for tools stopped by a closed pipe


def _silence_stdout() -> None:
    """Deliver what is still buffered if possible, then point stdout at /dev/null, so that
    Python's own flush at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    try:
        sys.stdout.flush()  # what a failed flush kept goes to /dev/null now
    except OSError:
        pass  # the bytes that failed before, failing once more: gone, as they should be


def _standard_streams_open() -> None:
    """Started with stdin, stdout or stderr closed (`2>&-`), the next file opened would take that
    number, and whatever the program then printed there (a progress bar) would land in that file,
    or fail and stop the run. Fill the gaps with /dev/null first."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)


def _note_ctrl_c() -> list:
    """Have Ctrl-C raise KeyboardInterrupt as usual (SIGTERM and SIGHUP: Stopped), and remember
    that it came: a compiled module being imported when the press lands can swallow the exception
    (seen with NumPy's lazily imported numpy.random, after which the run trained on to its last
    epoch; tests/test_interrupts.py catches it about once in ten runs on a busy machine). The
    handler carries the record (`handler.presses`, the signals received), so that the training
    loop, which installs its own handler, sees a press that came before it."""
    pressed: list = []
    if threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            pressed.append(signum)
            raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)

        handler.presses = pressed
        for signum in stop_signals():
            signal.signal(signum, handler)
    return pressed


def _exiting() -> None:
    """The work is done (or given up) and only the exit is left: a Ctrl-C now must not cut it
    short. (Python puts back the default handler while it shuts down, so a press then would kill
    the process by the signal instead of letting it exit with its status.)"""
    if threading.current_thread() is threading.main_thread():
        for signum in stop_signals():
            signal.signal(signum, signal.SIG_IGN)


def _interrupted(prog: str, signum: int | None = None) -> NoReturn:
    _exiting()
    sys.stderr.write(f"{prog}: interrupted\n" if signum is None
                     else f"{prog}: stopped by {signal.Signals(signum).name}\n")
    _silence_stdout()
    sys.exit(130 if signum is None else 128 + signum)


# Value checks for argparse's `type=`: the message names the rule and the value given.

def output_file(text: str):
    """A file to write: not a name ending in a folder separator (Path would drop it, and
    'newdir/' would become a file called newdir)."""
    if text.endswith(("/", os.sep)) or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{shown(text)} names a folder; give a file name inside it")
    return Path(text)


def positive_int(text: str) -> int:
    value = _number(text, int, "a positive integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {shown(text, quote=False)}")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {shown(text, quote=False)}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a positive number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {shown(text, quote=False)}")
    return value


def nonnegative_float(text: str) -> float:
    value = _number(text, float, "a number >= 0")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {shown(text, quote=False)}")
    return value


def unit_interval(text: str) -> float:
    """A number in [0, 1), such as a momentum or a dropout rate."""
    value = _number(text, float, "a number from 0 to 1")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {shown(text, quote=False)}")
    return value


def fraction_or_count(text: str) -> float:
    """A share of the rows (0 < x < 1) or a number of rows (a whole number >= 1), or 0 for none."""
    value = _number(text, float, "a fraction below 1 or a row count")
    if value < 0 or (value >= 1 and value != int(value)) or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a fraction between 0 and 1 or a whole number of rows, got {shown(text, quote=False)}")
    return value


def _number(text: str, kind: type, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {shown(text)}") from None
    if kind is float and (value != value or value in (float("inf"), float("-inf"))):  # NaN, inf, 1e400
        raise argparse.ArgumentTypeError(f"must be {what}, got {shown(text)}")
    return value
