"""Opening a digits CSV: one open file per load, decompressed by its magic number, read as text.

Every pass the loader makes over a file (its hash, its first lines, the parse, the diagnosis)
opens it through `open_file`, so within `pinned_file` they all read the same bytes.
"""

from __future__ import annotations

import bz2
import contextvars
import gzip
import hashlib
import lzma
import os
import zipfile
import zlib
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from nn.errors import DataError
from nn.plumbing.files import open_readable

MAX_LINE = 1 << 20  # a digits row is at most a few kilobytes; a longer line is not one
_CONTROL = bytes(range(32)).replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")

# zipfile raises RuntimeError for encrypted members, NotImplementedError for unknown compression.
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
                        RuntimeError, NotImplementedError)


def file_digest(path: Path | str) -> tuple[str, int]:
    """(SHA-256 of a file's bytes, how many bytes)."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    with open_file(path) as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


_pinned: contextvars.ContextVar[dict] = contextvars.ContextVar("pinned files", default={})


@contextmanager
def pinned_file(path: Path) -> Iterator[None]:
    """Open `path` once for a whole load: every pass over it (the hash, the first lines, the
    parse, the diagnosis) then reads that same open file, and sees the same bytes even if a new
    file is renamed over the path meanwhile (a drawing saved while the CSV loads)."""
    pinned = _pinned.get()
    if str(path) in pinned:
        yield
        return
    f = open_readable(path, "a CSV file", DataError)
    token = _pinned.set({**pinned, str(path): f})
    try:
        yield
    finally:
        _pinned.reset(token)
        f.close()


def open_file(path: Path, kind: str = "a CSV file") -> BinaryIO:
    """Open a regular file for reading; DataError with the reason when that is impossible (a FIFO,
    a device or /dev/stdin would block or never end: they are refused). Within pinned_file, a
    new handle on the pinned file, from its start."""
    pinned = _pinned.get().get(str(path))
    if pinned is not None:
        pinned.seek(0)
        return os.fdopen(os.dup(pinned.fileno()), "rb")  # shares the position: one pass at a time
    return open_readable(path, kind, DataError)


@contextmanager
def open_stream(path: Path) -> Iterator[BinaryIO]:
    """with open_stream(path) as stream: the file as a stream of bytes, decompressed according to
    its magic number (not its name). The block's end closes the stream and what it reads from (the
    archive, the file): GzipFile(fileobj=f) and the like would leave the file open."""
    with ExitStack() as opened:
        f = opened.enter_context(open_file(path))
        magic = f.read(6)
        f.seek(0)
        stream = f
        if magic[:2] == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=f)
        elif magic[:3] == b"BZh":
            stream = bz2.BZ2File(f)
        elif magic[:6] == b"\xfd7zXZ\x00":
            stream = lzma.LZMAFile(f)
        elif magic[:4] == b"PK\x03\x04":
            try:
                archive = opened.enter_context(zipfile.ZipFile(f))
            except zipfile.BadZipFile:
                raise DataError(f"{path}: corrupt zip archive") from None
            members = [m for m in archive.namelist()
                       if not m.endswith("/") and not m.startswith("__MACOSX")]
            if len(members) != 1:
                raise DataError(f"{path}: zip archive should hold one CSV file, it holds {len(members)}")
            stream = archive.open(members[0])
        yield opened.enter_context(stream)


def corrupt(path: Path, error: BaseException, where: str = "") -> DataError:
    """The one message for a compressed file that cannot be read to the end."""
    return DataError(f"{path}: corrupt or truncated compressed data{where} ({error})")


def text_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark), else Latin-1 for text that is not UTF-8;
    DataError for an empty file or binary data (NUL bytes or other control characters)."""
    with open_file(path) as f:
        if not f.read(1):  # not st_size: files in /proc report 0 and still hold text
            raise DataError(f"{path}: file is empty")
    try:
        with open_stream(path) as stream:
            head = stream.read(1 << 16)
    except DECOMPRESSION_ERRORS as e:
        raise corrupt(path, e) from None
    if head.startswith(b"PK\x05\x06"):
        raise DataError(f"{path}: an empty zip archive: no CSV file in it")
    if any(byte in _CONTROL for byte in head[:4096]):
        raise DataError(f"{path}: binary data, not CSV text")
    if b"\r" in head and b"\n" not in head:
        raise DataError(f"{path}: lines end in a carriage return alone (an old Mac format); "
                        "save it with ordinary line endings (LF or CRLF)")
    try:
        head[:head.rfind(b"\n") + 1 or len(head)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def text_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number from 1, text without the line ending) for each line; DataError on binary data."""
    number = 0
    try:
        with open_stream(path) as stream:
            while line := stream.readline(MAX_LINE):
                number += 1
                if len(line) == MAX_LINE and not line.endswith(b"\n"):
                    raise DataError(f"{path}: line {number} is longer than {MAX_LINE:,} bytes; "
                                    "not a digits CSV")
                if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]  # a byte-order mark, as spreadsheet programs write
                if b"\x00" in line or any(byte in _CONTROL for byte in line):
                    raise DataError(f"{path}: line {number}: binary data, not CSV text")
                try:
                    text = line.decode(encoding)
                except UnicodeDecodeError:  # Latin-1 past the part the encoding was judged on
                    text = line.decode("latin-1")
                yield number, text.rstrip("\r\n")
    except DECOMPRESSION_ERRORS as e:
        raise corrupt(path, e, f" after line {number}") from None
