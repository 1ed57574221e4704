"""Property-based tests (hypothesis): whatever the input, the result is valid or the project's own
error, never anything else. Examples are kept few enough for the suite to stay fast."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nn.files.digits_csv import load_csv
from nn.errors import DataError, ModelError
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.network import Network
from nn.session.preprocess import normalize

# NN_HYPOTHESIS_EXAMPLES=2000 python -m pytest tests/test_properties.py searches much harder.
FAST = settings(max_examples=int(os.environ.get("NN_HYPOTHESIS_EXAMPLES", 25)), deadline=None,
                database=None,  # no .hypothesis folder in the repository: tests write only to tmp
                derandomize=True,  # the same examples every run: the suite is deterministic
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def check_loaded_or_data_error(path: Path) -> None:
    """The loader's contract: a valid dataset, or DataError with a one-line message naming the file."""
    try:
        data = load_csv(path, use_cache=False)
    except DataError as e:
        message = str(e)
        assert "\n" not in message and str(path) in message
        return
    assert data.images.dtype == np.uint8 and data.images.ndim == 2 and data.images.shape[1] == 784
    assert len(data.images) >= 1 and data.images.flags.c_contiguous
    if data.labels is not None:
        assert data.labels.shape == (len(data.images),)
        assert data.labels.min() >= 0 and data.labels.max() <= 9


@FAST
@given(content=st.binary(max_size=4000))
@example(content=b"")
@example(content=b"\x1f\x8b\x08\x00garbage")  # looks like gzip, is not
@example(content=b"PK\x03\x04garbage")  # looks like zip, is not
@example(content=b"BZh9garbage")
def test_random_bytes(tmp_path, content):
    path = tmp_path / "random.csv"
    path.write_bytes(content)
    check_loaded_or_data_error(path)


# CSV-like text: valid rows, then a few cells swapped for anything a file might hold.
cells = st.one_of(
    st.integers(-300, 300).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-0", "1e3", "0x10", "abc", '"7"', '"', "7.5",
                     " 12 ", "\t3", "١", "1,2", ";", "\ufeff"]),
    st.text(max_size=5))


@FAST
@given(rows=st.integers(1, 6), columns=st.sampled_from([783, 784, 785, 786]),
       header=st.booleans(), crlf=st.booleans(), bom=st.booleans(), blank_lines=st.booleans(),
       mutations=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 785), cells), max_size=4),
       drop=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 785)), max_size=2))
def test_random_csv_like_text(tmp_path, rows, columns, header, crlf, bom, blank_lines, mutations, drop):
    table = [["0"] * columns for _ in range(rows)]
    for r, c, value in mutations:
        if r < rows and c < columns:
            table[r][c] = value
    for r, c in drop:  # ragged rows
        if r < rows and c < len(table[r]):
            del table[r][c]
    lines = [",".join(row) for row in table]
    if header:
        lines.insert(0, ",".join(["label"] + [f"pixel{i}" for i in range(columns - 1)]))
    if blank_lines:
        lines.insert(len(lines) // 2, "")
    newline = "\r\n" if crlf else "\n"
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    path = tmp_path / "text.csv"
    path.write_bytes(text.encode("utf-8", errors="replace"))
    check_loaded_or_data_error(path)


@FAST
@given(table=hnp.arrays(np.int64, st.tuples(st.integers(1, 5), st.sampled_from([784, 785])),
                        elements=st.integers(-2, 300)),
       as_float=st.booleans(), header=st.booleans())
def test_random_shapes_and_values(tmp_path, table, as_float, header):
    path = tmp_path / "shapes.csv"
    lines = [",".join((f"{v}.0" if as_float else str(v)) for v in row) for row in table]
    if header:
        lines.insert(0, (HEADER if table.shape[1] == 785 else HEADER.split(",", 1)[1]))
    path.write_text("\n".join(lines) + "\n")
    check_loaded_or_data_error(path)
    labels_ok = table.shape[1] == 784 or bool(np.all((table[:, 0] >= 0) & (table[:, 0] <= 9)))
    pixels = table if table.shape[1] == 784 else table[:, 1:]
    if header and labels_ok and np.all((pixels >= 0) & (pixels <= 255)) and pixels.max() > 1:
        data = load_csv(path, use_cache=False)  # everything valid: it must load, exactly
        assert np.array_equal(data.images, pixels)
        if table.shape[1] == 785:
            assert np.array_equal(data.labels, table[:, 0])


# -- the drawing normaliser ----------------------------------------------------------------

any_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@FAST
@given(ink=hnp.arrays(np.float32, st.tuples(st.integers(28, 64), st.integers(28, 64)),
                      elements=st.one_of(st.just(0.0), st.just(1.0), any_floats)))
@example(ink=np.zeros((28, 28), np.float32))
@example(ink=np.ones((28, 28), np.float32))
@example(ink=np.pad(np.ones((1, 1), np.float32), ((27, 0), (0, 27))))
@example(ink=np.full((28, 28), np.nan, np.float32))
def test_normalize_any_array(ink):
    try:
        field = normalize(ink)
    except DataError as e:
        assert "\n" not in str(e) and not np.isfinite(ink).all()
        return
    assert field.shape == (28, 28) and field.dtype == np.float32
    assert np.isfinite(field).all() and field.min() >= 0 and field.max() <= 1
    if (np.clip(ink, 0, 1) > 0.01).any():
        assert field.max() == pytest.approx(1)


# -- the model loader ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("m") / "m.npz"
    net = Network([784, 6, 10], seed=0)
    save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy"))
    return path.read_bytes()


def check_model_or_model_error(path: Path) -> None:
    try:
        net, _ = load_model(path)
    except ModelError as e:
        assert "\n" not in str(e) and str(path) in str(e)
        return
    assert net.sizes[0] == 784 and net.sizes[-1] == 10
    assert all(np.isfinite(p).all() for p in net.parameters())


@FAST
@given(content=st.binary(max_size=3000))
@example(content=b"PK\x03\x04")
@example(content=b"\x93NUMPY")
@example(content=b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00.")  # a pickle
def test_model_random_bytes(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    check_model_or_model_error(path)


@FAST
@given(cut=st.integers(0, 10_000), flips=st.lists(st.integers(0, 10_000), max_size=3))
def test_model_truncated_or_corrupted(tmp_path, model_bytes, cut, flips):
    data = bytearray(model_bytes[:min(cut, len(model_bytes))] if cut < len(model_bytes) else model_bytes)
    for position in flips:
        if data:
            data[position % len(data)] ^= 0xFF
    path = tmp_path / "m.npz"
    path.write_bytes(bytes(data))
    check_model_or_model_error(path)


array_shapes = st.tuples(st.integers(0, 3), st.integers(0, 12)).map(lambda t: tuple(n for n in t if n))


@FAST
@given(keep=st.sets(st.sampled_from(["W0", "b0", "W1", "b1", "meta"])),
       extra_shape=array_shapes, meta_sizes=st.lists(st.integers(-1, 800), max_size=4),
       dtype=st.sampled_from(["float32", "float64", "int8", "object", "U3", "complex64"]))
def test_model_archives_with_wrong_contents(tmp_path, keep, extra_shape, meta_sizes, dtype):
    net = Network([784, 6, 10], seed=0)
    arrays = {"W0": net.weights[0], "b0": net.biases[0], "W1": net.weights[1], "b1": net.biases[1],
              "meta": np.array(json.dumps({"format": "nn-digits-model", "format_version": 1,
                                           "sizes": meta_sizes or [784, 6, 10], "activation": "relu",
                                           "loss": "cross_entropy"}))}
    arrays = {k: v for k, v in arrays.items() if k in keep}
    if dtype == "object":
        arrays["W1"] = np.array([{"a": 1}, None], dtype=object)
    elif extra_shape:
        arrays["W0"] = np.zeros(extra_shape, dtype=dtype)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # pickles object arrays when writing, as an attacker's file would
    path = tmp_path / "m.npz"
    path.write_bytes(buffer.getvalue())
    check_model_or_model_error(path)


def test_model_zip_with_a_pickle_inside_is_refused_without_running_it(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (Path(tmp_path / "pwned").touch, ())

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("meta.npy", pickle.dumps(Boom()))
        z.writestr("W0.npy", pickle.dumps(Boom()))
    (tmp_path / "m.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ModelError):
        load_model(tmp_path / "m.npz")
    assert not (tmp_path / "pwned").exists()
