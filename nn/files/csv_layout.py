"""What a digits CSV's lines say: its layout from the first line, and what is wrong with a bad one.

The layout (a header or not, which column holds the labels) is decided before any parsing, since
most mistakes show on the first line. The diagnosis runs only once a parser has found something
wrong, and names the line and the column at fault.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn.dataset import N_PIXELS
from nn.errors import DataError
from nn.files.csv_open import text_encoding, text_lines

# Header names taken as the label column (compared case-insensitively).
LABEL_NAMES = ("label", "labels", "digit", "class", "target", "y")
# Header names of a column that numbers the rows, as Kaggle's submissions and pandas' exports do.
ID_NAMES = ("id", "imageid", "index", "row", "rowid", "unnamed:0", "")


@dataclass(frozen=True)
class Layout:
    """What the first lines of a file say about it."""

    header: bool
    names: list[str]  # one per column, from the header or made up ("column 1")
    label: int | None  # index of the label column, None when unlabeled (or not decided yet)
    encoding: str = "utf-8"  # or "latin-1", as older spreadsheet programs write
    undecided: bool = False  # no header names the labels: first or last, decided from all the rows


def _odd_one_out(names: list[str]) -> int | None:
    """The one column whose name is not like the others' (px0, px1, ..., px783: a prefix and
    the pixel's number), or None."""
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


def sniff(path: Path, option: str) -> Layout:
    """Read the first non-blank line: count columns, spot a header, find a named label column."""
    encoding = text_encoding(path)
    first = None
    for number, text in text_lines(path, encoding):
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
            return Layout(header, names, None, encoding, undecided=True)
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
    return Layout(header, names, label, encoding)


def label_like(column: np.ndarray) -> bool:
    """Every value a whole number 0-9, and not all the same: a column of labels, not of pixels
    (a corner pixel is 0 in every row; a column of one digit cannot be told from it)."""
    return bool(np.all((column <= 9) & (column == np.round(column)))) and len(np.unique(column)) > 1


def _label_from_lines(path: Path, layout: Layout, max_rows: int = 100_000) -> int | None:
    """For messages about a broken file: the label column the parsers would choose (csv_parse.py's
    _decide_label), judged on the rows whose end fields parse, or None if it cannot tell."""
    ends = []
    for _, text in text_lines(path, layout.encoding):
        fields = text.split(",")
        if len(fields) == len(layout.names) and _is_number(fields[0]) and _is_number(fields[-1]):
            ends.append((_number(fields[0]), _number(fields[-1])))
        if len(ends) >= max_rows:
            break
    values = np.array(ends, dtype=np.float64).reshape(-1, 2)
    first, last = label_like(values[:, 0]), label_like(values[:, 1])
    return None if first == last else 0 if first else len(layout.names) - 1


def describe(layout: Layout) -> str | None:
    """The label column as the Dataset records it: its header name, or "first" or "last"."""
    if layout.label is None:
        return None
    if layout.header:
        return layout.names[layout.label]
    return "first" if layout.label == 0 else "last"


def _column_name(layout: Layout, j: int) -> str:
    if layout.header:
        return f"column {layout.names[j]!r}"
    if layout.label is None:
        return f"column {j + 1}"
    if j == layout.label:
        return f"column {j + 1} (label)"
    pixel = j - (1 if layout.label is not None and j > layout.label else 0)
    return f"column {j + 1} (pixel{pixel})"


def diagnose(path: Path, layout: Layout, first_row: int) -> str:
    """Find the first bad cell at or after data row `first_row` by reading lines one by one.

    Slow, but it only runs once something is known to be wrong, and it can say exactly what.
    """
    n_cols = len(layout.names)
    if layout.undecided:  # name the columns as the loader would have decided them, if it can
        layout = Layout(layout.header, layout.names, _label_from_lines(path, layout), layout.encoding)
    label = layout.label
    row = -1
    seen_header = not layout.header
    for number, text in text_lines(path, layout.encoding):
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
