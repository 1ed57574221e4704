"""The digits CSV parsers: NumPy's fast one for the usual clean file, pandas' careful one for the rest.

Both read the layout csv_layout.sniff found, in chunks of CHUNK_ROWS rows, and give the same
arrays: images (N, 784) uint8 and labels (N,) int64 or None. The fast one declines anything odd;
the careful one checks every cell and, at the first bad one, has csv_layout.diagnose name it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from nn.dataset import N_PIXELS
from nn.errors import DataError
from nn.files.csv_layout import Layout, describe, diagnose, label_like, sniff
from nn.files.csv_open import DECOMPRESSION_ERRORS, corrupt, open_stream

CHUNK_ROWS = 4_000  # rows parsed at a time: memory stays ~40 MB above the result, whatever the file


def parse(path: Path, option: str) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """(images (N, 784) uint8, labels (N,) int64 or None, the label column as the Dataset names
    it) for the file; DataError says what is wrong with it. `option`: load_csv's label_column."""
    with warnings.catch_warnings():
        # A value like 1e300 overflows float32 to inf as it is parsed; the checks report it.
        warnings.simplefilter("ignore", RuntimeWarning)
        layout = sniff(path, option)  # most mistakes show on the first line, before pandas loads
        return parse_fast(path, layout) or parse_careful(path, layout)


def parse_careful(path: Path, layout: Layout) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """Every cell read as a number by pandas' C engine, in chunks of rows, and checked: a whole
    number 0-255 (a pixel; 12.4 is rounded) or 0-9 (a label). DataError names the first bad cell."""
    n_cols = len(layout.names)
    # Room for every row, filled chunk by chunk: the result is never held twice (no concatenation).
    most = _most_rows(path, n_cols)
    import pandas as pd  # here, not at the top: 0.2 s to import, and the usual file never needs it

    images = np.empty((most, N_PIXELS), dtype=np.uint8)
    labels = np.empty(most, dtype=np.int64) if layout.label is not None else None
    # Label column not named: keep the first and last columns aside until every row is read.
    ends = np.empty((most, 2), dtype=np.float32) if layout.undecided else None
    rows_done = 0
    max_pixel = 0.0
    try:
        with open_stream(path) as stream:
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
        raise DataError(diagnose(path, layout, e.first_row if isinstance(e, _Bad) else rows_done)) from None
    except DECOMPRESSION_ERRORS as e:
        raise corrupt(path, e) from None

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
    return images, labels, describe(layout)


def parse_fast(path: Path, layout: Layout) -> tuple[np.ndarray, np.ndarray | None, str | None] | None:
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
        with open_stream(path) as raw, warnings.catch_warnings():
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
    except (ValueError, OverflowError, UnicodeDecodeError, DeprecationWarning, *DECOMPRESSION_ERRORS):
        return None
    if not images:
        return None  # no rows: the careful parser says so
    images = np.concatenate(images)
    if layout.undecided:
        ends = np.concatenate(ends)
        first, last = label_like(ends[:, 0]), label_like(ends[:, 1])
        if first == last:
            return None  # the careful parser says why it cannot tell
        layout, labels = _decide_label(path, layout, images, ends)
    else:
        labels = np.concatenate(labels) if labels else None
    if 0 < int(images.max(initial=0)) <= 1:
        return None  # pixels of 0 and 1 only: the careful parser checks for a 0-1 scale
    return images, labels, describe(layout)


def _bytes_without(values: np.ndarray, column: int | None) -> np.ndarray:
    """values (N, M) checked to lie in 0-255, as bytes, without `column` (None: all of them)."""
    if column is None:
        return values.astype(np.uint8)
    out = np.empty((len(values), values.shape[1] - 1), dtype=np.uint8)
    out[:, :column] = values[:, :column]
    out[:, column:] = values[:, column + 1:]
    return out


def _decide_label(path: Path, layout: Layout, images: np.ndarray,
                  ends: np.ndarray) -> tuple[Layout, np.ndarray]:
    """Headerless file with a label and 784 pixels: the labels are the first or the last column,
    whichever alone holds only digits 0-9, judged on every row (a file sorted by label begins
    with thousands of rows of one digit). `images` holds columns 2 to 785 so far; for a label in
    the last column it is shifted to hold columns 1 to 784. Where the columns cannot be told
    apart, DataError asks for --label-column."""
    first, last = label_like(ends[:, 0]), label_like(ends[:, 1])
    if first != last:
        column = 0 if first else len(layout.names) - 1
        if not first:  # the pixels are columns 1-784: move them one to the right, in blocks
            for start in range(0, len(images), CHUNK_ROWS):
                block = images[start:start + CHUNK_ROWS]
                block[:, 1:] = block[:, :-1].copy()
                block[:, 0] = ends[start:start + CHUNK_ROWS, 0]
        decided = Layout(layout.header, layout.names, column, layout.encoding)
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
        with open_stream(path) as stream:
            while block := stream.read(1 << 20):
                lines += block.count(b"\n")
                size += len(block)
    except DECOMPRESSION_ERRORS as e:
        raise corrupt(path, e) from None
    return min(lines, size // (2 * n_cols - 1) + 1)


class _Bad(Exception):
    """Internal: something is wrong at or after data row `first_row`; diagnose finds what."""

    def __init__(self, first_row: int):
        self.first_row = first_row
