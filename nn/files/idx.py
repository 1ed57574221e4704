"""IDX files, the original MNIST format, and the converter that made the bundled CSVs from them.

    python -m nn convert-idx train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz data/mnist_train.csv.gz

An IDX file is a header (two zero bytes, the element type, the number of dimensions, then each
dimension as a big-endian 32-bit count) followed by the elements, row by row.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from nn.files.digits_csv import write_csv
from nn.dataset import SIDE
from nn.errors import DataError
from nn.plumbing.files import open_readable

# IDX element types: byte 2 of the header. All multi-byte values are big-endian.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 1 << 31  # 2 GiB of data: MNIST's largest file holds 47 MB


def read_idx(path: Path | str) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into an array of its shape and type.

    The header is checked before the data is read: a header that promises more than the file
    holds, or more than MAX_IDX_BYTES, is refused without allocating it, and a gzip file is
    decompressed only as far as the header says.
    """
    path = Path(path)
    f = open_readable(path, "an IDX file", DataError)
    try:
        compressed = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        stream = gzip.GzipFile(fileobj=f) if compressed else f
        head = stream.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise DataError(f"{path}: not an IDX file (its first two bytes should be zero)")
        kind, ndim = head[2], head[3]
        if kind not in _IDX_TYPES:
            raise DataError(f"{path}: unknown IDX element type 0x{kind:02x}")
        dims = stream.read(4 * ndim)
        if ndim == 0 or len(dims) < 4 * ndim:
            raise DataError(f"{path}: IDX header is truncated")
        shape = struct.unpack(f">{ndim}I", dims)
        dtype = np.dtype(_IDX_TYPES[kind])
        expected = math.prod(shape) * dtype.itemsize
        if expected > MAX_IDX_BYTES:
            raise DataError(f"{path}: IDX header says {_shape(shape)}: {expected:.3g} bytes of data, "
                            f"more than the {MAX_IDX_BYTES:,} this reads; not a digits file")
        if not compressed and os.fstat(f.fileno()).st_size - 4 - 4 * ndim < expected:
            body = b""  # shorter than the header says: no need to read it to know
        else:
            body = bytearray()  # grows with what is really there, not with what the header says
            while len(body) <= expected and (block := stream.read(min(1 << 20, expected + 1 - len(body)))):
                body += block
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    finally:
        f.close()
    if len(body) != expected:
        if compressed or len(body):
            more = "more than that" if len(body) > expected else f"{len(body):,}"
        else:
            more = f"{path.stat().st_size - 4 - 4 * ndim:,}"
        raise DataError(f"{path}: IDX header says {_shape(shape)} ({expected:,} bytes of data), "
                        f"but the file holds {more}")
    return np.frombuffer(bytes(body), dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))



def convert_idx(images_path: Path | str, labels_path: Path | str, out_path: Path | str) -> int:
    """IDX images (N, 28, 28) and labels (N,) -> a digits CSV. Returns the number of rows."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected 28x28 unsigned-byte images, "
                        f"found shape {images.shape} of {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{labels_path}: expected a list of unsigned-byte labels, found shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{labels_path}: holds {len(labels):,} labels for {len(images):,} images")
    if len(images) == 0:
        raise DataError(f"{images_path}: holds no images; nothing to convert")
    if len(labels) and labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DataError(f"{labels_path}: label {labels[row]} at index {row} is not a digit 0-9")
    try:
        write_csv(out_path, images, labels)
    except OSError as e:
        raise DataError(f"{out_path}: cannot write ({e.strerror or e})") from None
    return len(images)


def _shape(shape: tuple[int, ...]) -> str:
    return str(shape) if len(shape) <= 4 else f"({', '.join(map(str, shape[:3]))}, ... {len(shape)} dimensions)"
