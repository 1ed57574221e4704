"""Files in and out, safely: inputs that are regular files, outputs written atomically.

Reading: `open_input` opens regular files only. A FIFO, a device such as /dev/zero, a terminal or
/dev/stdin would block or never end; they are refused at once, with what they are.

Writing: `atomic_write` writes a temporary file beside the target, then renames it over the
target, so an interrupted run (Ctrl-C, a crash, a full disk) never leaves a half-written file and
never replaces a good file with a broken one. An output that is a symbolic link is written
through: its target is replaced and the link stays. An output that exists but is not a regular
file (a FIFO, a device) is refused. `check_output` says, before any long work, whether an output
could be written, and refuses an output that is one of the run's inputs.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from nn.errors import UsageError

STALE_AFTER = 3600.0  # seconds: a temporary file this old whose writer is unknown is left over


class NotRegularFile(OSError):
    """A path that exists but is a FIFO, a device, a socket or a folder, where a file is needed."""

    def __init__(self, path: Path | str, mode: int):
        self.kind = kind_of(mode)  # "a FIFO (named pipe)", "a character device"...
        super().__init__(errno.EINVAL, f"not a regular file: {self.kind}", str(path))


def kind_of(mode: int) -> str:
    """What a stat mode is, in words: 'a FIFO (named pipe)', 'a character device'..."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


# -- reading --------------------------------------------------------------------------------------

def open_input(path: Path | str) -> BinaryIO:
    """Open a regular file for binary reading.

    Raises OSError: FileNotFoundError and the like, or NotRegularFile for a directory, a FIFO, a
    device or a socket (opened without blocking, so a FIFO with no writer cannot hang).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_readable(path: Path | str, kind: str, error: type[Exception], missing: str | None = None) -> BinaryIO:
    """open_input, or `error` with one line saying why the file (a `kind`, e.g. "a CSV file")
    cannot be read; `missing`: the line for a file that is not there, when it has more to say."""
    try:
        return open_input(path)
    except OSError as e:
        raise error(missing if missing and isinstance(e, FileNotFoundError) else read_error(path, e, kind)) from None


def read_bytes(path: Path | str, limit: int = -1) -> bytes | None:
    """The file's bytes (the first `limit` of them), or None when it is not there; OSError for a
    file that is there and cannot be read."""
    if not os.path.lexists(path):
        return None
    with open_input(path) as f:
        return f.read(limit)


def read_error(path: Path | str, error: OSError, kind: str) -> str:
    """One line saying why `path` (a `kind`, e.g. "a CSV file") could not be opened for reading."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(error, IsADirectoryError) or (isinstance(error, NotRegularFile)
                                                and error.kind == "a directory"):
        return f"{path}: is a directory, not {kind}"
    if isinstance(error, NotRegularFile):
        return f"{path}: is {error.kind}, not {kind}; give a regular file"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied"
    if error.errno == errno.ENAMETOOLONG:
        return f"{short_path(path)}: file name too long"
    return f"{path}: cannot read ({error.strerror or error})"


# -- writing --------------------------------------------------------------------------------------

def output_target(path: Path | str) -> Path:
    """Where writing `path` really writes: a symbolic link's target (the link itself stays).

    Raises NotRegularFile when that exists and is not a regular file.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.exists() and not target.is_file():
        raise NotRegularFile(path, os.stat(target).st_mode)
    return target


@contextmanager
def atomic_write(path: Path | str, verify: Callable[[Path], None] | None = None,
                 follow_links: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; rename it over `path` on success.

    verify(temporary path), if given, is called once the file is complete and before it replaces
    anything: what it raises leaves `path` as it was. follow_links=False replaces a symbolic link
    at `path` itself, instead of writing through it (a cache entry must never write elsewhere).
    Raises OSError (PermissionError, NotRegularFile...) if `path` cannot be written.
    """
    target = output_target(path) if follow_links else Path(path)
    _remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if verify is not None:
            verify(Path(tmp))
        os.chmod(tmp, _mode_for(target) if follow_links or not target.is_symlink() else 0o666 & ~_umask())
        os.replace(tmp, target)
        _sync_folder(target.parent)  # the rename itself survives a power cut
    except BaseException as e:
        # Covers KeyboardInterrupt too: the old file stays, the partial one goes.
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:  # a full disk names the file, not stdout
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise


def _remove_stale_temporaries(target: Path) -> None:
    """Remove temporary files that an earlier writer of `target` left when it was killed
    (kill -9, a power cut): ours are named .NAME.PID.RANDOM.tmp. One whose process is gone, or
    without a process number and over an hour old, is left over; one being written is kept.
    Tidying only: a folder that cannot be listed, or a file that cannot go, stops it."""
    prefix = f".{target.name}."
    try:
        for name in os.listdir(target.parent):
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            middle = name[len(prefix):-len(".tmp")]
            pid_text = middle.split(".", 1)[0]
            path = target.parent / name
            if pid_text.isdigit() and "." in middle:
                if int(pid_text) == os.getpid() or _process_alive(int(pid_text)):
                    continue
            elif time.time() - path.stat().st_mtime < STALE_AFTER:
                continue
            path.unlink(missing_ok=True)
    except OSError:
        return


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:  # gone; or it exists, but is someone else's (or we cannot tell): keep its file
        return not isinstance(e, ProcessLookupError)
    return True


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename in it survives a power cut (where folders can be opened:
    not on Windows; elsewhere, a folder that cannot be synced is only less durable)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        return


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux), since
    setting it, even back, races with other threads creating files."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name the same file: an existing one by identity, not spelling (links
    count); one not made yet (two outputs, say) by the place they name once resolved."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        pass
    try:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except (OSError, ValueError):
        return False


# What an output may replace: a file of the kind it writes (the last run's model, picture...),
# recognised by its first bytes. Anything else already there (your CSV, a shipped model given as a
# screenshot's name) is refused rather than destroyed.
KINDS = {
    "model": lambda head: head.startswith(b"PK\x03\x04"),  # an .npz is a zip archive
    "picture": lambda head: head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM",
                                             b"GIF8", b"II*\x00", b"MM\x00*")),
    "predictions": lambda head: head.startswith(b"ImageId,Label"),
    "digits CSV": lambda head: head.startswith((b"label,pixel0", b"\x1f\x8b")),
}


def check_output(path: Path | str, what: str = "output",
                 inputs: Iterable[tuple[str, Path | str]] = (), kind: str | None = None) -> None:
    """Raise UsageError now, before any long work, if `path` could not be written later, if it is
    one of the run's inputs (`inputs`: (what it is, path) pairs), or if it already holds something
    that is not a `kind` file (see KINDS): writing would destroy it.

    It tries what the real write will do (create a temporary file in the folder), which is
    the only test that is right for every user, permission and read-only mount.
    """
    path = Path(path)
    for name, source in inputs:
        if source is not None and same_file(path, source):
            raise UsageError(f"{path}: is also the {name}; writing the {what} there would destroy "
                             f"it: choose another file")
    try:
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; the {what} path must name a file")
        target = output_target(path)
    except OSError as e:
        if isinstance(e, NotRegularFile):
            raise UsageError(f"{path}: is {e.kind}, not a file; the {what} must go to a regular file") from None
        raise UsageError(f"{short_path(path)}: cannot write the {what} there ({e.strerror or e})") from None
    if not target.parent.is_dir():
        raise UsageError(f"{path}: folder {target.parent} does not exist")
    if kind is not None and target.exists():
        try:
            with open_input(target) as f:
                head = f.read(16)
        except OSError as e:
            raise UsageError(f"{short_path(path)}: cannot read what is there ({e.strerror or e})") from None
        if head and not KINDS[kind](head):
            raise UsageError(f"{path}: already exists and is not a {kind} file; the {what} would "
                             "replace it: choose another name, or move that file away first")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as e:
        raise UsageError(f"{short_path(path)}: cannot write the {what} there ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)


def short_path(path: Path | str) -> str:
    """A path for a one-line message: whole up to 120 characters, else its start and its end."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:70]}...{text[-40:]}"


_UPDATES = threading.Lock()


@contextmanager
def exclusive_update(path: Path | str) -> Iterator[None]:
    """Hold while reading, changing and rewriting `path`, so that two writers (threads of one
    server, or two programs) never both start from the same old file and lose the other's change.

    Threads wait on a lock; processes on an advisory lock of the file's folder (POSIX flock;
    where it does not exist, only threads are kept apart).
    """
    with _UPDATES:
        if os.name != "posix":  # Windows: no flock; the threads' lock alone
            yield
            return
        import fcntl  # POSIX's alone (above)

        folder = os.open(Path(path).parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            yield
        finally:
            os.close(folder)  # closing the descriptor releases the lock
