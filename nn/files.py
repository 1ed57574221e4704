"""Atomic file writes: a temporary file next to the target, then a rename.

An interrupted run (Ctrl-C, a crash, a full disk) therefore never leaves a half-written
file behind and never replaces a good file with a broken one.
"""

from __future__ import annotations

import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


@contextmanager
def atomic_write(path: Path | str) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; rename it over `path` on success.

    Raises OSError (for example PermissionError) if the folder cannot be written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        # Covers KeyboardInterrupt too: the old file stays, the partial one goes.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


_UPDATES = threading.Lock()


@contextmanager
def exclusive_update(path: Path | str) -> Iterator[None]:
    """Hold while reading, changing and rewriting `path`, so that two writers (threads of one
    server, or two programs) never both start from the same old file and lose the other's change.

    Threads wait on a lock; processes on an advisory lock of the file's folder (POSIX flock;
    where it does not exist, only threads are kept apart).
    """
    with _UPDATES:
        try:
            import fcntl
        except ImportError:  # Windows
            yield
            return
        folder = os.open(Path(path).parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            yield
        finally:
            os.close(folder)  # closing the descriptor releases the lock


def read_error(path: Path | str, error: OSError, kind: str) -> str:
    """One line saying why `path` (a `kind`, e.g. "a CSV file") could not be opened for reading."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a directory, not {kind}"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read ({error.strerror or error})"


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def check_writable(path: Path | str, what: str = "output") -> None:
    """Raise UsageError now, before any long work, if `path` could not be written later.

    It tries what the real write will do (create a temporary file in the folder), which is
    the only test that is right for every user, permission and read-only mount.
    """
    from .errors import UsageError

    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; the {what} path must name a file")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: folder {path.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise UsageError(f"{path}: cannot write the {what} there ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)
