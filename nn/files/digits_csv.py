"""Digits CSV files in and out: the loader (a file -> a Dataset), the writer, and the append.

The loader takes the layouts people have: .csv, .csv.gz (and .bz2, .xz, .zip), with or without a
header row; the label column named `label` anywhere, else the first column; label-last files; a
byte-order mark, CRLF line endings, blank lines, spaces around numbers. A file with exactly 784
columns and no label column is unlabeled. Anything else raises DataError with the file, the line
and the column at fault.

A load opens the file once and reads that one version throughout (csv_open.py); its first line
says its layout (csv_layout.py). The usual clean file is parsed by NumPy's own CSV parser
straight into bytes; anything odd goes to a careful parser (pandas' C engine, in chunks of rows)
that finds and names what is wrong (csv_parse.py). A parsed file is cached in temp/cache under
the SHA-256 of its bytes, so the second load of the same content reads one .npz.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from nn.dataset import N_PIXELS, Dataset
from nn.errors import DataError
from nn.files.csv_open import file_digest, pinned_file
from nn.files.csv_parse import parse
from nn.plumbing.files import atomic_write, exclusive_update, open_input, read_bytes
from nn.plumbing.paths import cache_dir

# Bump when the parsing rules (csv_layout.py, csv_parse.py) change, so old caches are not reused.
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
    with pinned_file(path):
        digest, size = file_digest(path)

        cached = _cache_load(digest, option, size) if use_cache else None
        if cached is not None:
            images, labels, where = cached
            return Dataset(images, labels, str(path), digest, where)

        images, labels, where = parse(path, option)
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
