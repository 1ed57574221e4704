"""Digits CSV files in and out: the loader (a file -> a Dataset, nn/dataset.py), the writer, and
the append that saves labeled drawings.

The loader takes the layouts people have: .csv, .csv.gz (and .bz2, .xz, .zip), with or without a
header row; the label column named `label` anywhere, else the first column; label-last files; a
byte-order mark, CRLF line endings, blank lines, spaces around numbers. A file with exactly 784
columns and no label column is unlabeled. Anything else raises DataError with the file, the line
and the column at fault.

The usual clean file is parsed by NumPy's own CSV parser straight into bytes; anything odd goes to
a careful parser (pandas' C engine, in chunks of rows) that finds and names what is wrong. A
parsed file is cached in temp/cache under the SHA-256 of its bytes, so the second load of the
same content reads one .npz.
"""

from __future__ import annotations

import bz2
import contextvars
import gzip
import hashlib
import io
import json
import lzma
import math
import os
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import numpy as np

from nn.errors import DataError
from nn.dataset import N_PIXELS, Dataset
from nn.plumbing.files import atomic_write, exclusive_update, open_input, open_readable, read_bytes
from nn.plumbing.paths import cache_dir

# Header names taken as the label column (compared case-insensitively).
LABEL_NAMES = ("label", "labels", "digit", "class", "target", "y")
# Header names of a column that numbers the rows, as Kaggle's submissions and pandas' exports do.
ID_NAMES = ("id", "imageid", "index", "row", "rowid", "unnamed:0", "")
CHUNK_ROWS = 4_000  # rows parsed at a time: memory stays ~40 MB above the result, whatever the file
# Bump when parsing rules change, so old caches are not reused.
LOADER_VERSION = 5
WRITE_ROWS = 8_192  # rows turned into text at a time by write_csv


# ---------------------------------------------------------------------------------------------
# The CSV loader


def load_csv(path: Path | str, label_column: str | None = None, use_cache: bool = True) -> Dataset:
    """Read a digits CSV into a Dataset.

    label_column: None or "auto" (a column named `label`, else the first column, or the last
    when only the last holds digits), "first", "last", or a column name from the header.
    """
    path = Path(path)
    option = (label_column or "auto").strip()
    with _pinned_file(path):
        digest, size = file_digest(path)

        cached = _cache_load(digest, option, size) if use_cache else None
        if cached is not None:
            images, labels, where = cached
            return Dataset(images, labels, str(path), digest, where)

        images, labels, where = _parse(path, option)
    if use_cache:
        _cache_save(digest, option, size, images, labels, where)
    return Dataset(images, labels, str(path), digest, where)


def load_many(paths: Sequence[Path | str], label_column: str | None = None) -> Dataset:
    """Load several CSV files and stack their rows (all labeled, or all unlabeled)."""
    parts = [load_csv(p, label_column) for p in paths]
    if len(parts) == 1:
        return parts[0]
    kinds = {p.labeled for p in parts}
    if len(kinds) > 1:
        unlabeled = next(p.source for p in parts if not p.labeled)
        raise DataError(f"{unlabeled}: has no label column, but the other files do")
    labels = np.concatenate([p.labels for p in parts]) if parts[0].labeled else None
    return Dataset(
        np.concatenate([p.images for p in parts]),
        labels,
        ", ".join(p.source for p in parts),
        "+".join(p.sha256 for p in parts),
        ", ".join(sorted({str(p.label_column) for p in parts})),
    )


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, as the loader records it (read in blocks, not all at once)."""
    return file_digest(path)[0]


def file_digest(path: Path | str) -> tuple[str, int]:
    """(SHA-256 of a file's bytes, how many bytes)."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    with _open_file(path) as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


_pinned: contextvars.ContextVar[dict] = contextvars.ContextVar("pinned files", default={})


@contextmanager
def _pinned_file(path: Path) -> Iterator[None]:
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


def _open_file(path: Path, kind: str = "a CSV file") -> BinaryIO:
    """Open a regular file for reading; DataError with the reason when that is impossible (a FIFO,
    a device or /dev/stdin would block or never end: they are refused). Within _pinned_file, a
    new handle on the pinned file, from its start."""
    pinned = _pinned.get().get(str(path))
    if pinned is not None:
        pinned.seek(0)
        return os.fdopen(os.dup(pinned.fileno()), "rb")  # shares the position: one pass at a time
    return open_readable(path, kind, DataError)


@dataclass(frozen=True)
class _Layout:
    """What the first lines of a file say about it."""

    header: bool
    names: list[str]  # one per column, from the header or made up ("column 1")
    label: int | None  # index of the label column, None when unlabeled (or not decided yet)
    encoding: str = "utf-8"  # or "latin-1", as older spreadsheet programs write
    undecided: bool = False  # no header names the labels: first or last, decided from all the rows


def _open_stream(path: Path) -> BinaryIO:
    """The file as a stream of bytes, decompressed according to its magic number (not its name)."""
    f = _open_file(path)
    magic = f.read(6)
    f.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f)
    if magic[:3] == b"BZh":
        return bz2.BZ2File(f)
    if magic[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(f)
    if magic[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(f)
        except zipfile.BadZipFile:
            raise DataError(f"{path}: corrupt zip archive") from None
        members = [m for m in archive.namelist()
                   if not m.endswith("/") and not m.startswith("__MACOSX")]
        if len(members) != 1:
            raise DataError(f"{path}: zip archive should hold one CSV file, it holds {len(members)}")
        return archive.open(members[0])
    return f


# zipfile raises RuntimeError for encrypted members, NotImplementedError for unknown compression.
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
                         RuntimeError, NotImplementedError)


def _corrupt(path: Path, error: BaseException, where: str = "") -> DataError:
    """The one message for a compressed file that cannot be read to the end."""
    return DataError(f"{path}: corrupt or truncated compressed data{where} ({error})")


MAX_LINE = 1 << 20  # a digits row is at most a few kilobytes; a longer line is not one
_CONTROL = bytes(range(32)).replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")


def _encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark), else Latin-1 for text that is not UTF-8;
    DataError for binary data (NUL bytes or other control characters)."""
    try:
        with _open_stream(path) as stream:
            head = stream.read(1 << 16)
    except _DECOMPRESSION_ERRORS as e:
        raise _corrupt(path, e) from None
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


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(line number from 1, text without the line ending) for each line; DataError on binary data."""
    number = 0
    try:
        with _open_stream(path) as stream:
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
    except _DECOMPRESSION_ERRORS as e:
        raise _corrupt(path, e, f" after line {number}") from None


def _odd_one_out(names: list[str]) -> int | None:
    """The one column whose name is not like the others' (px0, px1, ..., px783: a prefix and
    the pixel's number), or None."""
    import re

    numbered = [re.fullmatch(r"(\D*?)\s*(\d+)", name) for name in names]
    prefixes = {m.group(1) for m in numbered if m}
    others = [j for j, m in enumerate(numbered) if not m]
    if len(others) != 1 or len(prefixes) != 1:
        return None
    numbers = [int(m.group(2)) for m in numbered if m]
    return others[0] if numbers in (list(range(N_PIXELS)), list(range(1, N_PIXELS + 1))) else None


def _column_numbers(fields: list[str]) -> bool:
    """Whether the fields are 0, 1, 2, ... (or 1, 2, 3, ...): column numbers, not pixel values."""
    values = [f.strip().strip('"') for f in fields]
    return len(values) > 2 and values[2] != values[1] and (
        values == [str(j) for j in range(len(values))] or values == [str(j + 1) for j in range(len(values))])


def _number(field: str) -> float | None:
    """A CSV field as a number (quotes and spaces around it aside), or None when it is not one."""
    try:
        return float(field.strip().strip('"').strip())
    except ValueError:
        return None


def _is_number(field: str) -> bool:
    return _number(field) is not None


def _sniff(path: Path, option: str) -> _Layout:
    """Read the first non-blank line: count columns, spot a header, find a named label column."""
    with _open_file(path) as f:
        if not f.read(1):  # not st_size: files in /proc report 0 and still hold text
            raise DataError(f"{path}: file is empty")
    encoding = _encoding(path)
    first = None
    for number, text in _lines(path, encoding):
        if text.strip():
            first = (number, text)
            break
        if number > 100:
            break
    if first is None:
        raise DataError(f"{path}: file is empty (no text lines)")
    number, text = first
    fields = text.split(",")
    if len(fields) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"), (" ", "spaces")):
            if sep in text.strip():
                raise DataError(f"{path}: line {number}: fields are separated by {name}; "
                                "expected a comma-separated file")
    # A header is a line of names; or the column numbers 0, 1, ..., 784 that pandas writes for a
    # table without names (a header too, not a row of pixels).
    header = not all(_is_number(f) for f in fields) or _column_numbers(fields)
    if header:
        names = [f.strip().strip('"') for f in fields]
    else:
        names = [f"column {j + 1}" for j in range(len(fields))]
    n = len(fields)
    if n not in (N_PIXELS, N_PIXELS + 1):
        hint = ""
        if header and n == N_PIXELS + 2 and names[0].lower() in ("", "unnamed: 0", "index", "id"):
            hint = (f" (the first column, {names[0]!r}, looks like a row index: "
                    "remove it, or save with pandas' index=False)")
        raise DataError(f"{path}: line {number} has {n} columns; expected {N_PIXELS} pixels, "
                        f"or a label and {N_PIXELS} pixels{hint}")

    lowered = [name.lower() for name in names]
    if option.lower() in ("auto", ""):
        named = [j for j, name in enumerate(lowered) if header and name in LABEL_NAMES]
        odd = _odd_one_out(names) if header and n == N_PIXELS + 1 else None
        if named:
            label = named[0]
        elif n == N_PIXELS:
            label = None
        elif odd is not None and lowered[odd].replace("_", "").replace(" ", "") in ID_NAMES:
            raise DataError(f"{path}: column {names[odd]!r} numbers the rows; it is not the labels. "
                            "Remove it (784 pixel columns make an unlabeled file), or name the "
                            "label column with --label-column")
        elif odd is not None:  # pixel0..pixel783 and one other name: that one holds the labels
            label = odd
        else:  # first or last column: decided once every row has been read
            return _Layout(header, names, None, encoding, undecided=True)
    elif option.lower() == "first":
        label = 0
    elif option.lower() == "last":
        label = n - 1
    else:
        if not header:
            raise DataError(f"{path}: has no header row, so there is no column named {option!r}; "
                            "use --label-column first or last")
        matches = [j for j, name in enumerate(names) if name == option] or \
                  [j for j, name in enumerate(lowered) if name == option.lower()]
        if not matches:
            shown = ", ".join(names[:3]) + ", ..."
            raise DataError(f"{path}: no column named {option!r} (columns: {shown})")
        label = matches[0]
    if label is not None and n == N_PIXELS:
        raise DataError(f"{path}: has {n} columns, so with a label column only {n - 1} pixels; "
                        f"a 28x28 image needs {N_PIXELS}")
    if label is None and n != N_PIXELS:
        raise DataError(f"{path}: has {n} columns but no label column")
    return _Layout(header, names, label, encoding)


def _parse(path: Path, option: str) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    with warnings.catch_warnings():
        # A value like 1e300 overflows float32 to inf as it is parsed; the checks report it.
        warnings.simplefilter("ignore", RuntimeWarning)
        return _parse_file(path, option)


def _parse_file(path: Path, option: str) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    layout = _sniff(path, option)  # most mistakes show on the first line, before pandas loads
    return _parse_fast(path, layout) or _parse_careful(path, layout)


def _parse_careful(path: Path, layout: _Layout) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """Every cell read as a number by pandas' C engine, in chunks of rows, and checked: a whole
    number 0-255 (a pixel; 12.4 is rounded) or 0-9 (a label). DataError names the first bad cell."""
    n_cols = len(layout.names)
    # Room for every row, filled chunk by chunk: the result is never held twice (no concatenation).
    most = _most_rows(path, n_cols)
    import pandas as pd

    images = np.empty((most, N_PIXELS), dtype=np.uint8)
    labels = np.empty(most, dtype=np.int64) if layout.label is not None else None
    # Label column not named: keep the first and last columns aside until every row is read.
    ends = np.empty((most, 2), dtype=np.float32) if layout.undecided else None
    rows_done = 0
    max_pixel = 0.0
    stream = _open_stream(path)
    try:
        reader = pd.read_csv(
            stream, header=0 if layout.header else None, dtype=np.float32, chunksize=CHUNK_ROWS,
            encoding="utf-8-sig" if layout.encoding == "utf-8" else layout.encoding,
            skipinitialspace=True, skip_blank_lines=True, engine="c")
        for chunk in reader:
            # pandas quietly makes an index of a first field that every row has beyond the header
            if not isinstance(chunk.index, pd.RangeIndex):
                raise _Bad(rows_done)
            values = chunk.to_numpy(dtype=np.float32)  # (rows, columns), column-major like pandas
            if values.shape[1] != n_cols or not np.isfinite(values).all():
                raise _Bad(rows_done)
            rows = slice(rows_done, rows_done + len(values))
            label = layout.label
            pixels = values
            if label is not None:
                digits = values[:, label]
                if not np.all((digits >= 0) & (digits <= 9) & (digits == np.round(digits))):
                    raise _Bad(rows_done)
                labels[rows] = digits
                pixels = np.delete(values, label, axis=1)
            elif ends is not None:  # for now, the columns after the first are the pixels
                ends[rows] = values[:, [0, -1]]
                pixels = values[:, 1:]
                if not np.all((values[:, 0] >= 0) & (values[:, 0] <= 255)):
                    raise _Bad(rows_done)
            if not np.all((pixels >= 0) & (pixels <= 255)):
                raise _Bad(rows_done)
            middle = pixels[:, :-1] if ends is not None else pixels  # not an end column
            max_pixel = max(max_pixel, float(middle.max(initial=0)))
            images[rows] = np.rint(pixels)  # rows are samples: each image's 784 pixels side by side
            rows_done += len(values)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no data rows") from None
    except (_Bad, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:  # a cell to find
        raise DataError(_diagnose(path, layout, e.first_row if isinstance(e, _Bad) else rows_done)) from None
    except _DECOMPRESSION_ERRORS as e:
        raise _corrupt(path, e) from None
    finally:
        stream.close()

    if rows_done == 0:
        raise DataError(f"{path}: no data rows" + (" after the header" if layout.header else ""))
    images = images[:rows_done]
    if ends is not None:
        layout, labels = _decide_label(path, layout, images, ends[:rows_done])
        pixel_end = ends[:rows_done, 1 if layout.label == 0 else 0]
        max_pixel = max(max_pixel, float(pixel_end.max(initial=0)))
    if 0 < max_pixel <= 1:
        raise DataError(f"{path}: every pixel value is between 0 and 1; expected grey levels "
                        "0-255 (multiply the pixels by 255)")
    labels = labels[:rows_done] if labels is not None else None
    return images, labels, _describe(layout)


def _parse_fast(path: Path, layout: _Layout) -> tuple[np.ndarray, np.ndarray | None, str | None] | None:
    """The usual file, whole numbers 0-255 and nothing odd, read by NumPy's own CSV parser:
    1.7 s for MNIST's 60,000 rows against 4.5 s in pandas' chunks (and 1.8-2.4 s with pandas'
    optional pyarrow engine, measured in the same run, which is therefore not needed). Read
    CHUNK_ROWS rows at a time as 16-bit integers, range-checked, then kept as bytes, so memory
    grows by the bytes, not by the integers. Anything it cannot read (255.0, a stray quote, a bad
    row, a value outside 0-255) returns None, and the careful parser reads the file instead and
    says what is wrong."""
    n_cols = len(layout.names)
    # A label column not named yet: the first column is set aside with the last, as the careful
    # parser does, and the pixels are columns 2-785 until every row has been read.
    label = 0 if layout.undecided else layout.label
    images, labels, ends = [], [], []
    try:
        with _open_stream(path) as raw, warnings.catch_warnings():
            text = io.TextIOWrapper(raw, encoding="utf-8-sig" if layout.encoding == "utf-8" else layout.encoding,
                                    newline="")
            warnings.simplefilter("ignore")  # blank lines, the empty read at the end: handled below
            # NumPy before 2.3 bent "3.5" into 3, "nan" into 0, "1e9" into -13824, with only this
            # warning: such a file goes to the careful parser, as it does where NumPy refuses.
            warnings.simplefilter("error", DeprecationWarning)
            if layout.header:
                text.readline()
            while True:
                values = np.loadtxt(text, delimiter=",", dtype=np.int16, ndmin=2, quotechar='"',
                                    max_rows=CHUNK_ROWS)
                if values.size == 0:
                    break
                # Parsed wide and checked before narrowing: an integer parse is never trusted to
                # refuse 256 or -1 (NumPy 2.2 parsing into uint8 made them 0 and 255 silently).
                if values.shape[1] != n_cols or values.min() < 0 or values.max() > 255:
                    return None  # the careful parser names the line and the column
                if layout.undecided:
                    ends.append(values[:, [0, -1]].astype(np.float32))
                elif label is not None:
                    if values[:, label].max() > 9:
                        return None  # a label outside 0-9: the careful parser names the line
                    labels.append(values[:, label].astype(np.int64))
                images.append(_bytes_without(values, label))
    except (ValueError, OverflowError, UnicodeDecodeError, DeprecationWarning, *_DECOMPRESSION_ERRORS):
        return None
    if not images:
        return None  # no rows: the careful parser says so
    images = np.concatenate(images)
    if layout.undecided:
        ends = np.concatenate(ends)
        first, last = _label_like(ends[:, 0]), _label_like(ends[:, 1])
        if first == last:
            return None  # the careful parser says why it cannot tell
        layout, labels = _decide_label(path, layout, images, ends)
    else:
        labels = np.concatenate(labels) if labels else None
    if 0 < int(images.max(initial=0)) <= 1:
        return None  # pixels of 0 and 1 only: the careful parser checks for a 0-1 scale
    return images, labels, _describe(layout)


def _bytes_without(values: np.ndarray, column: int | None) -> np.ndarray:
    """values (N, M) checked to lie in 0-255, as bytes, without `column` (None: all of them)."""
    if column is None:
        return values.astype(np.uint8)
    out = np.empty((len(values), values.shape[1] - 1), dtype=np.uint8)
    out[:, :column] = values[:, :column]
    out[:, column:] = values[:, column + 1:]
    return out


def _label_like(column: np.ndarray) -> bool:
    """Every value a whole number 0-9, and not all the same: a column of labels, not of pixels
    (a corner pixel is 0 in every row; a column of one digit cannot be told from it)."""
    return bool(np.all((column <= 9) & (column == np.round(column)))) and len(np.unique(column)) > 1


def _decide_label(path: Path, layout: _Layout, images: np.ndarray,
                  ends: np.ndarray) -> tuple[_Layout, np.ndarray]:
    """Headerless file with a label and 784 pixels: the labels are the first or the last column,
    whichever alone holds only digits 0-9, judged on every row (a file sorted by label begins
    with thousands of rows of one digit). `images` holds columns 2 to 785 so far; for a label in
    the last column it is shifted to hold columns 1 to 784. Where the columns cannot be told
    apart, DataError asks for --label-column."""
    first, last = _label_like(ends[:, 0]), _label_like(ends[:, 1])
    if first != last:
        column = 0 if first else len(layout.names) - 1
        if not first:  # the pixels are columns 1-784: move them one to the right, in blocks
            for start in range(0, len(images), CHUNK_ROWS):
                block = images[start:start + CHUNK_ROWS]
                block[:, 1:] = block[:, :-1].copy()
                block[:, 0] = ends[start:start + CHUNK_ROWS, 0]
        decided = _Layout(layout.header, layout.names, column, layout.encoding)
        return decided, ends[:, 0 if first else 1].astype(np.int64)
    if first:
        why = "both the first and the last column hold only digits 0-9"
    else:
        bad = [f"the {name} column holds {_worst(ends[:, j])}" for j, name in enumerate(("first", "last"))]
        why = " and ".join(bad)
    raise DataError(f"{path}: cannot tell which column holds the labels: {why}; "
                    "say which with --label-column first or --label-column last")


def _worst(column: np.ndarray) -> str:
    """What keeps a column from being labels, in words, with the line where it shows."""
    outside = np.flatnonzero((column > 9) | (column != np.round(column)))
    if len(outside):
        return f"{column[outside[0]]:g} in data row {outside[0] + 1}"
    return f"only {column[0]:g}s" if len(np.unique(column)) == 1 else "no digits"


def _most_rows(path: Path, n_cols: int) -> int:
    """At least the number of data rows: the lines of the (decompressed) file, but no more than
    its bytes allow, since a row of n fields takes at least 2n - 1 bytes ("0,0,...,0"). Blank
    lines therefore cost nothing: one row and ten million empty lines make room for 6,000 rows,
    not for ten million."""
    lines, size = 1, 0
    try:
        with _open_stream(path) as stream:
            while block := stream.read(1 << 20):
                lines += block.count(b"\n")
                size += len(block)
    except _DECOMPRESSION_ERRORS as e:
        raise _corrupt(path, e) from None
    return min(lines, size // (2 * n_cols - 1) + 1)


class _Bad(Exception):
    """Internal: something is wrong at or after data row `first_row`; _diagnose finds what."""

    def __init__(self, first_row: int):
        self.first_row = first_row


def _label_from_lines(path: Path, layout: _Layout, max_rows: int = 100_000) -> int | None:
    """For messages about a broken file: the label column _decide_label would choose, judged on
    the rows whose end fields parse, or None if it cannot tell."""
    ends = []
    for _, text in _lines(path, layout.encoding):
        fields = text.split(",")
        if len(fields) == len(layout.names) and _is_number(fields[0]) and _is_number(fields[-1]):
            ends.append((_number(fields[0]), _number(fields[-1])))
        if len(ends) >= max_rows:
            break
    values = np.array(ends, dtype=np.float64).reshape(-1, 2)
    first, last = _label_like(values[:, 0]), _label_like(values[:, 1])
    return None if first == last else 0 if first else len(layout.names) - 1


def _describe(layout: _Layout) -> str | None:
    if layout.label is None:
        return None
    if layout.header:
        return layout.names[layout.label]
    return "first" if layout.label == 0 else "last"


def _column_name(layout: _Layout, j: int) -> str:
    if layout.header:
        return f"column {layout.names[j]!r}"
    if layout.label is None:
        return f"column {j + 1}"
    if j == layout.label:
        return f"column {j + 1} (label)"
    pixel = j - (1 if layout.label is not None and j > layout.label else 0)
    return f"column {j + 1} (pixel{pixel})"


def _diagnose(path: Path, layout: _Layout, first_row: int) -> str:
    """Find the first bad cell at or after data row `first_row` by reading lines one by one.

    Slow, but it only runs once something is known to be wrong, and it can say exactly what.
    """
    n_cols = len(layout.names)
    if layout.undecided:  # name the columns as the loader would have decided them, if it can
        layout = _Layout(layout.header, layout.names, _label_from_lines(path, layout), layout.encoding)
    label = layout.label
    row = -1
    seen_header = not layout.header
    for number, text in _lines(path, layout.encoding):
        if not text.strip():
            continue
        if text.count('"') % 2:
            return f'{path}: line {number}: a quote (") is opened and never closed'
        if not seen_header:
            seen_header = True
            continue
        row += 1
        if row < first_row:
            continue
        fields = text.split(",")
        if len(fields) != n_cols:
            return f"{path}: line {number} has {len(fields)} fields, expected {n_cols}"
        for j, field in enumerate(fields):
            cell = field.strip().strip('"').strip()
            where = f"{path}: line {number}, {_column_name(layout, j)}"
            if not cell:
                return f"{where}: empty value"
            value = _number(cell)
            shown = cell if len(cell) <= 20 else cell[:20] + "..."
            if value is None:
                return f"{where}: not a number: {shown!r}"
            if math.isnan(value):
                return f"{where}: missing value ({shown})"
            if j == label:
                if not (0 <= value <= 9 and value == int(value)):
                    return f"{where}: label {shown} is not a digit 0-9"
            elif not 0 <= value <= 255:
                return f"{where}: pixel value {shown} is outside 0-255"
    return f"{path}: could not be read as a digits CSV after data row {first_row + 1}"


# ---------------------------------------------------------------------------------------------
# The cache: parsed arrays keyed by the SHA-256 of the file's bytes


def _cache_file(digest: str, option: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    tag = hashlib.sha256(option.encode()).hexdigest()[:8]
    return folder / f"csv-{digest[:32]}-{tag}-v{LOADER_VERSION}.npz"


def _cache_load(digest: str, option: str, size: int):
    """The parsed arrays of the file whose bytes have SHA-256 `digest` and length `size`, or None.

    An entry proves it belongs to that file: it records the file's digest, size and the label
    option it was parsed with, and its arrays must agree with each other. An entry that is a
    symbolic link, or is damaged, or was made for another file (copied, renamed), is not used:
    the CSV is parsed again. A cache can only make a load faster, never change its answer."""
    try:
        path = _cache_file(digest, option)
        if path is None or path.is_symlink() or not path.is_file():
            return None
        with open_input(path) as f, np.load(f, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if (meta.get("sha256") != digest or meta.get("bytes") != size or meta.get("option") != option
                    or meta.get("rows") != len(z["images"])):
                return None
            images = z["images"]
            labels = z["labels"] if meta["labeled"] else None
        if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != N_PIXELS:
            return None
        images = np.ascontiguousarray(images)
        if labels is not None and (labels.shape != (len(images),) or labels.dtype.kind not in "iu"
                                   or (len(labels) and (labels.min() < 0 or labels.max() > 9))):
            return None  # tampered with, or damaged: not trusted, the file is parsed again
        return images, None if labels is None else labels.astype(np.int64), meta["label_column"]
    except Exception:  # a cache folder that cannot be used, an entry that is damaged: a slower load
        return None


def _cache_save(digest: str, option: str, size: int, images: np.ndarray, labels: np.ndarray | None,
                where: str | None) -> None:
    path = _cache_file(digest, option)
    if path is None:
        return
    meta = json.dumps({"sha256": digest, "bytes": size, "option": option, "rows": len(images),
                       "labeled": labels is not None, "label_column": where})
    arrays = {"images": images, "meta": np.array(meta)}
    if labels is not None:
        arrays["labels"] = labels.astype(np.int8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the entry itself is replaced: a link planted in the cache is never written through
        with atomic_write(path, follow_links=False) as f:
            np.savez(f, **arrays)
    except OSError:
        pass  # a cache that cannot be written is only a slower next load


# ---------------------------------------------------------------------------------------------
# Writing CSVs


def write_csv(path: Path | str, images: np.ndarray, labels: np.ndarray | None) -> None:
    """Write digits in the training format: header label,pixel0,...,pixel783; one image per row.

    A name ending in .gz is gzip-compressed (with a fixed timestamp, so the same data gives the
    same bytes). Written atomically.
    """
    path = Path(path)
    flat = images.reshape(len(images), -1)
    header = ",".join((["label"] if labels is not None else []) + [f"pixel{i}" for i in range(flat.shape[1])])
    with atomic_write(path) as f:
        out = gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) if path.suffix == ".gz" else f
        out.write(header.encode() + b"\n")
        for start in range(0, len(flat), WRITE_ROWS):
            rows = flat[start:start + WRITE_ROWS]
            if labels is not None:
                rows = np.column_stack([labels[start:start + WRITE_ROWS], rows])
            out.write(csv_lines(rows))
        if out is not f:
            out.flush()  # as pandas' writer did: the same data gives the bytes data/README.md lists
            out.close()


def csv_lines(table: np.ndarray) -> bytes:
    """Rows of integers 0-255 (N, M) as CSV lines, b"0,12,255\n"...: every value written as three
    digits and a separator, then the leading places it does not need dropped. (Python's str()
    on each value, or pandas' to_csv, take some 50 times longer.)"""
    v = np.asarray(table).astype(np.uint16)
    if v.size and v.max() > 255:
        raise ValueError("csv_lines writes values 0-255")
    chars = np.empty(v.shape + (4,), np.uint8)
    chars[..., 0] = ord("0") + v // 100
    chars[..., 1] = ord("0") + v // 10 % 10
    chars[..., 2] = ord("0") + v % 10
    chars[..., 3] = ord(",")
    chars[:, -1, 3] = ord("\n")
    keep = np.ones(chars.shape, bool)
    keep[..., 0] = v >= 100
    keep[..., 1] = v >= 10
    return chars[keep].tobytes()


def append_csv(path: Path | str, images: np.ndarray, labels: np.ndarray) -> int:
    """Add labeled digits (N, 784) uint8 to a training-format CSV; create it, with its header,
    if missing. Returns the number of data rows now in the file.

    The whole file is rewritten to a temporary file and renamed over the old one, so an
    interrupted write leaves the old file, never half a row; writers at the same time (the
    web page's clients, the window) take turns, so none loses another's rows.
    """
    path = Path(path)
    rows = csv_lines(np.column_stack([labels, images.reshape(len(images), -1)]))
    header = ("label," + ",".join(f"pixel{i}" for i in range(N_PIXELS)) + "\n").encode()
    with exclusive_update(path):
        old = read_bytes(path) or b""
        if not old.strip():
            old = header
        elif not old.startswith(header[:-1]):  # someone else's file: appending would damage it
            raise DataError(f"{path}: is not a custom-digits CSV (its first line is not "
                            "label,pixel0,...,pixel783); nothing was added to it")
        elif not old.endswith(b"\n"):
            old += b"\n"
        with atomic_write(path) as f:
            f.write(old)
            f.write(rows)
    return old.count(b"\n") - 1 + len(images)
