"""The CSV loader (every layout users have, every bad input) and the IDX converter."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import KAGGLE_HEADER, digit_rows, write_csv
from nn.files.digits_csv import load_csv, load_many, write_csv as write_digits
from nn.dataset import Dataset, to_inputs
from nn.files.idx import convert_idx, read_idx
from nn.errors import DataError


@pytest.fixture(scope="module")
def sample(mnist_test):
    """20 real digits: images (20, 784) uint8 and labels (20,)."""
    return mnist_test.images[:20], mnist_test.labels[:20]


def check(data: Dataset, images: np.ndarray, labels: np.ndarray | None) -> None:
    assert data.images.dtype == np.uint8 and data.images.shape == images.shape
    np.testing.assert_array_equal(data.images, images)
    if labels is None:
        assert data.labels is None
    else:
        assert data.labels.dtype == np.int64
        np.testing.assert_array_equal(data.labels, labels)


# -- layouts that must load -------------------------------------------------------------------

def test_kaggle_layout_header_label_first(tmp_path, sample):
    images, labels = sample
    path = write_csv(tmp_path / "train.csv", digit_rows(images, labels), KAGGLE_HEADER)
    data = load_csv(path)
    check(data, images, labels)
    assert data.label_column == "label"


def test_no_header_label_first(tmp_path, sample):
    images, labels = sample
    check(load_csv(write_csv(tmp_path / "mnist_train.csv", digit_rows(images, labels))), images, labels)


def test_no_header_label_last_is_detected(tmp_path, sample):
    images, labels = sample
    data = load_csv(write_csv(tmp_path / "last.csv", digit_rows(images, labels, "last")))
    check(data, images, labels)
    assert data.label_column == "last"


@pytest.mark.parametrize("label_at", ["first", "last"])
def test_sorted_headerless_files_are_not_fooled(tmp_path, mnist_test, monkeypatch, label_at):
    """Sorted by label, the first thousands of rows are all one digit, and column 1 is an always
    empty corner pixel: the label column is judged on every row, not the first chunk."""
    from nn.files import csv_parse

    monkeypatch.setattr(csv_parse, "CHUNK_ROWS", 50)  # several chunks of one digit each
    order = np.argsort(mnist_test.labels[:1000], kind="stable")
    images, labels = mnist_test.images[order], mnist_test.labels[order]
    assert (labels[:80] == 0).all() and (images[:, 0] == 0).all() and (images[:, -1] == 0).all()
    path = write_csv(tmp_path / "sorted.csv", digit_rows(images, labels, label_at))
    data = load_csv(path, use_cache=False)
    check(data, images, labels)
    assert data.label_column == label_at


def test_a_label_column_that_cannot_be_told_apart_asks(tmp_path, sample):
    images, _ = sample
    same = np.full(len(images), 7)  # every label the same: no different from a blank corner pixel
    path = write_csv(tmp_path / "sevens.csv", digit_rows(images, same))
    expect(path, "cannot tell which column holds the labels", "the first column holds only 7s",
           "--label-column first")
    check(load_csv(path, label_column="first"), images, same)
    binary = (images > 0).astype(np.uint8)  # pixels 0/1, and the corner pixel varies too
    binary[::2, -1] = 1
    labels = np.arange(len(images)) % 10
    expect(write_csv(tmp_path / "binary.csv", digit_rows(binary, labels)),
           "both the first and the last column hold only digits 0-9")


def test_the_column_numbers_pandas_writes_are_a_header(tmp_path, sample):
    images, labels = sample
    header = ",".join(str(j) for j in range(785))  # pd.DataFrame(array).to_csv(index=False)
    data = load_csv(write_csv(tmp_path / "numbered.csv", digit_rows(images, labels), header))
    check(data, images, labels)
    unlabeled = ",".join(str(j) for j in range(784))
    check(load_csv(write_csv(tmp_path / "u.csv", digit_rows(images, labels, "none"), unlabeled)),
          images, None)


def test_rows_with_more_fields_than_the_header_are_refused(tmp_path, sample):
    """pandas would quietly make the extra first field an index, and the file would load shifted."""
    images, labels = sample
    rows = [[7] + r for r in digit_rows(images, labels)]
    expect(write_csv(tmp_path / "extra.csv", rows, KAGGLE_HEADER), "line 2 has 786 fields, expected 785")


def test_one_row_and_a_million_blank_lines_take_no_memory(tmp_path, sample):
    import tracemalloc

    images, labels = sample
    path = tmp_path / "blank.csv"
    path.write_text(KAGGLE_HEADER + "\n" + ",".join(map(str, digit_rows(images, labels)[0]))
                    + "\n" * 1_000_000)
    tracemalloc.start()
    try:
        data = load_csv(path, use_cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check(data, images[:1], labels[:1])
    assert peak < 60 * 2**20, peak  # not 784 bytes for each of a million lines (750 MB)


def test_label_column_named_in_the_middle(tmp_path, sample):
    images, labels = sample
    names = [f"p{i}" for i in range(784)]
    names.insert(300, "Label")
    rows = []
    for row in digit_rows(images, labels, "none"):
        row.insert(300, int(labels[len(rows)]))
        rows.append(row)
    check(load_csv(write_csv(tmp_path / "mid.csv", rows, ",".join(names))), images, labels)


@pytest.mark.parametrize("option, where", [("first", "first"), ("last", "last"), ("digit", "named")])
def test_label_column_option(tmp_path, sample, option, where):
    images, labels = sample
    if where == "named":
        header = ",".join([f"x{i}" for i in range(784)] + ["digit"])
        path = write_csv(tmp_path / "d.csv", digit_rows(images, labels, "last"), header)
    else:
        path = write_csv(tmp_path / "d.csv", digit_rows(images, labels, where))
    check(load_csv(path, label_column=option), images, labels)


def test_unlabeled_784_columns(tmp_path, sample):
    images, _ = sample
    header = ",".join(f"pixel{i}" for i in range(784))
    check(load_csv(write_csv(tmp_path / "test.csv", digit_rows(images, _, "none"), header)), images, None)
    check(load_csv(write_csv(tmp_path / "t2.csv", digit_rows(images, _, "none"))), images, None)


@pytest.mark.parametrize("compress", ["gz", "bz2", "zip"])
def test_compressed(tmp_path, sample, compress):
    images, labels = sample
    plain = write_csv(tmp_path / "d.csv", digit_rows(images, labels), KAGGLE_HEADER)
    if compress == "gz":
        path = tmp_path / "d.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    elif compress == "bz2":
        path = tmp_path / "d.csv.bz2"
        path.write_bytes(bz2.compress(plain.read_bytes()))
    else:
        path = tmp_path / "d.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.write(plain, "train.csv")
    check(load_csv(path), images, labels)



def _compressed_files(tmp_path: Path, text: bytes) -> dict[str, Path]:
    """The same CSV text as each kind of file the loader reads, and a few broken ones."""
    files = {"csv": text, "gz": gzip.compress(text), "bz2": bz2.compress(text), "xz": lzma.compress(text),
             "cut gz": gzip.compress(text)[:-200], "broken zip": b"PK\x03\x04" + b"\x00" * 60,
             "bad row in gz": gzip.compress(text + b"1,2,x\n")}
    paths = {name: tmp_path / f"{name.replace(' ', '_')}.data" for name in files}
    for name, data in files.items():
        paths[name].write_bytes(data)
    for name, members in (("zip", ["d.csv"]), ("zip of two", ["a.csv", "b.csv"])):
        paths[name] = tmp_path / f"{name.replace(' ', '_')}.zip"
        with zipfile.ZipFile(paths[name], "w", zipfile.ZIP_DEFLATED) as z:
            for member in members:
                z.writestr(member, text)
    return paths


def test_every_file_a_load_opens_is_closed_when_it_returns(tmp_path, sample, monkeypatch):
    """Whatever the file (plain, gz, bz2, xz, zip) and however the load ends (read, or refused in
    one line), each handle the loader opened is closed by the time load_csv returns: the
    decompressors leave the file under them open, and a server loading CSV files all day would
    hold a descriptor a load until the garbage collector found it. The handles are kept here, so
    the collector cannot close them for the loader."""
    import nn.files.csv_open as csv_open

    images, labels = sample
    text = "\n".join(",".join(map(str, r)) for r in digit_rows(images, labels)).encode() + b"\n"
    opened = []

    def recording(open_function):
        def opener(*args, **kwargs):
            f = open_function(*args, **kwargs)
            opened.append(f)
            return f
        return opener

    monkeypatch.setattr(csv_open, "open_file", recording(csv_open.open_file))
    monkeypatch.setattr(csv_open, "open_readable", recording(csv_open.open_readable))
    for name, path in _compressed_files(tmp_path, text).items():
        opened.clear()
        if name in ("cut gz", "broken zip", "zip of two", "bad row in gz"):
            with pytest.raises(DataError):
                load_csv(path)
        else:
            check(load_csv(path), images, labels)
        assert len(opened) >= 2, name  # the pinned file, and a handle for each pass over it
        assert all(f.closed for f in opened), (name, [f for f in opened if not f.closed])


def test_odd_but_valid_text(tmp_path, sample):
    """BOM, CRLF, blank lines, spaces around numbers, decimals like 255.0 and quoted cells."""
    images, labels = sample
    rows = [" , ".join(str(v) for v in row) for row in digit_rows(images, labels)]
    rows[3] = ",".join(f"{v}.0" for v in digit_rows(images, labels)[3])
    rows[4] = ",".join(f'"{v}"' for v in digit_rows(images, labels)[4])
    rows.insert(5, "")
    text = "\ufeff" + KAGGLE_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n\r\n"
    path = tmp_path / "excel.csv"
    path.write_text(text, encoding="utf-8")
    check(load_csv(path), images, labels)


def test_latin1_text_as_older_spreadsheet_programs_write(tmp_path, sample):
    images, labels = sample
    header = "Label," + ",".join(f"pix\xe9l{i}" for i in range(784))  # not UTF-8
    path = tmp_path / "latin1.csv"
    path.write_bytes((header + "\n" + "\n".join(",".join(map(str, r)) for r in
                                                 digit_rows(images, labels)) + "\n").encode("latin-1"))
    check(load_csv(path), images, labels)


def test_fractional_pixels_are_rounded(tmp_path, sample):
    images, labels = sample
    rows = digit_rows(images[:2], labels[:2])
    rows[0][100] = "12.4"
    rows[1][100] = "254.6"
    data = load_csv(write_csv(tmp_path / "f.csv", rows))
    assert data.images[0, 99] == 12 and data.images[1, 99] == 255


def test_rows_are_contiguous_fresh_and_cached(tmp_path, sample, monkeypatch):
    """Each image's 784 pixels side by side in memory: batches and shuffles read whole rows."""
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels), KAGGLE_HEADER)
    assert load_csv(path).images.flags.c_contiguous  # parsed
    assert load_csv(path).images.flags.c_contiguous  # from the cache


def test_to_inputs_scales_to_unit_interval():
    x = to_inputs(np.array([[0, 51, 255]], dtype=np.uint8))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [[0, 0.2, 1]])


def test_load_many_stacks_files(tmp_path, sample):
    images, labels = sample
    a = write_csv(tmp_path / "a.csv", digit_rows(images[:5], labels[:5]))
    b = write_csv(tmp_path / "b.csv", digit_rows(images[5:], labels[5:]), KAGGLE_HEADER)
    check(load_many([a, b]), images, labels)
    c = write_csv(tmp_path / "c.csv", digit_rows(images, labels, "none"))
    with pytest.raises(DataError, match="c.csv: has no label column"):
        load_many([a, c])


def test_bundled_files_have_the_documented_shape():
    from nn.plumbing.paths import TEST_CSV, TRAIN_CSV

    test = load_csv(TEST_CSV)
    assert test.images.shape == (10_000, 784) and np.bincount(test.labels).tolist()[:2] == [980, 1135]
    assert TRAIN_CSV.stat().st_size > 10_000_000


# -- the cache --------------------------------------------------------------------------------

def test_cache_gives_the_same_arrays_and_survives_damage(tmp_path, sample, monkeypatch):
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels))
    first = load_csv(path)
    cached = list((tmp_path / "cache").glob("*.npz"))
    assert len(cached) == 1
    second = load_csv(path)
    check(second, images, labels)
    assert second.sha256 == first.sha256
    cached[0].write_bytes(b"garbage")
    check(load_csv(path), images, labels)  # a damaged cache is parsed again, not an error


def test_cache_is_keyed_by_content(tmp_path, sample, monkeypatch):
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels))
    load_csv(path)
    changed = digit_rows(images, labels)
    changed[0][0] = (int(labels[0]) + 1) % 10
    write_csv(path, changed)
    assert load_csv(path).labels[0] == (labels[0] + 1) % 10


# -- bad input: one clear DataError naming the file and the line/column -------------------------

def bad(tmp_path: Path, text: str | bytes, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def row(label="5", pixels=None, n=784) -> str:
    values = pixels if pixels is not None else ["0"] * n
    return ",".join([label] + list(values))


def expect(path: Path, *fragments: str, **options) -> str:
    with pytest.raises(DataError) as info:
        load_csv(path, **options)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    expect(tmp_path / "nope.csv", "no such file")


def test_directory(tmp_path):
    expect(tmp_path, "is a directory")


def test_empty_file(tmp_path):
    expect(bad(tmp_path, ""), "empty")


def test_only_blank_lines(tmp_path):
    expect(bad(tmp_path, "\n\n\n"), "empty")


def test_header_only(tmp_path):
    expect(bad(tmp_path, KAGGLE_HEADER + "\n"), "no data rows after the header")


def test_wrong_number_of_columns(tmp_path):
    expect(bad(tmp_path, "1,2,3\n4,5,6\n"), "line 1 has 3 columns", "784")


def test_index_column_gets_a_hint(tmp_path):
    text = "," + KAGGLE_HEADER + "\n0," + row() + "\n"
    expect(bad(tmp_path, text), "has 786 columns", "looks like a row index", "index=False")


def test_row_with_too_many_fields(tmp_path):
    text = "\n".join([row(), row(), row(n=785), row()]) + "\n"
    expect(bad(tmp_path, text), "line 3 has 786 fields, expected 785")


def test_row_with_too_few_fields(tmp_path):
    text = "\n".join([KAGGLE_HEADER, row(), row(n=700)]) + "\n"
    expect(bad(tmp_path, text), "line 3 has 701 fields, expected 785")


def test_non_numeric_cell(tmp_path):
    pixels = ["0"] * 784
    pixels[9] = "abc"
    text = "\n".join([row(), row("3", pixels=pixels)]) + "\n"
    expect(bad(tmp_path, text), "line 2, column 11 (pixel9)", "not a number: 'abc'")


def test_non_numeric_cell_in_later_chunk(tmp_path, monkeypatch):
    from nn.files import csv_parse

    monkeypatch.setattr(csv_parse, "CHUNK_ROWS", 4)
    pixels = ["0"] * 784
    pixels[783] = "x"
    lines = [KAGGLE_HEADER] + [row()] * 9 + [row(pixels=pixels)]
    expect(bad(tmp_path, "\n".join(lines) + "\n"), "line 11, column 'pixel783'", "not a number")


def test_empty_cell(tmp_path):
    pixels = ["0"] * 784
    pixels[0] = ""
    expect(bad(tmp_path, "\n".join([KAGGLE_HEADER, row(), row(pixels=pixels)])),
           "line 3, column 'pixel0'", "empty value")


def test_nan_cell(tmp_path):
    pixels = ["0"] * 784
    pixels[5] = "NaN"
    expect(bad(tmp_path, "\n".join([row(), row("3", pixels=pixels)])), "line 2", "pixel5", "missing value")


@pytest.mark.parametrize("label", ["10", "12", "-1", "3.5"])
def test_label_outside_digits(tmp_path, label):
    text = "\n".join([KAGGLE_HEADER, row("1"), row("2"), row(label)]) + "\n"
    expect(bad(tmp_path, text), "line 4, column 'label'", f"label {label} is not a digit 0-9")


def test_label_outside_digits_without_header(tmp_path):
    text = "\n".join([row("1"), row("12"), row("3")]) + "\n"
    # no header names the labels, and neither end column holds only digits: it asks, and says why
    expect(bad(tmp_path, text), "cannot tell which column holds the labels", "12 in data row 2",
           "--label-column first")
    expect(bad(tmp_path, text), "line 2, column 1 (label)", "label 12", label_column="first")


@pytest.mark.parametrize("value", ["256", "-1", "1e9", "inf", "-inf", "255.6", "70000", "-32769"])
def test_pixel_outside_range(tmp_path, value):
    pixels = ["0"] * 784
    pixels[400] = value
    text = "\n".join([KAGGLE_HEADER, row(), row(pixels=pixels)]) + "\n"
    expect(bad(tmp_path, text), "line 3, column 'pixel400'", f"pixel value {value} is outside 0-255")


@pytest.mark.parametrize("value", ["256", "-1", "nan", "1e9"])
def test_a_bad_cell_in_a_headerless_file_with_the_label_first(tmp_path, value):
    """The layout NumPy 2.2 once read without a word: 256 as 0, -1 as 255, nan as 0, a label of
    3.5 as 3."""
    pixels = ["0"] * 784
    pixels[10] = value
    text = "\n".join([row("1"), row("2", pixels=pixels), row("3")]) + "\n"
    expect(bad(tmp_path, text), "line 2, column 12 (pixel10)", label_column="first")
    text = "\n".join([row("1"), row("3.5"), row("3")]) + "\n"
    expect(bad(tmp_path, text, "label.csv"), "line 2, column 1 (label)", "label 3.5 is not a digit",
           label_column="first")


# Cells as people's files hold them. Each goes through both parsers: the fast one (NumPy's, into
# integers) may decline a file, but whatever it reads must be what the careful one reads.
ODD_CELLS = ["0", "255", "007", "+5", "-0", " 7", "7 ", '"7"', "12.4", "254.6", "255.0", "1e2", "0x10",
             "256", "-1", "1e9", "inf", "-inf", "nan", "NaN", "", "3.5", "0.5", "70000", "65536",
             "99999999999999999999", "1_0", "\u0661", "\uff17", "abc"]


@pytest.mark.parametrize("where", ["pixel", "label"])
@pytest.mark.parametrize("cell", ODD_CELLS)
def test_the_fast_parser_agrees_with_the_careful_one(tmp_path, cell, where):
    from nn.files.csv_layout import sniff
    from nn.files.csv_parse import parse_careful, parse_fast

    pixels = [str(v) for v in range(0, 784 * 7, 7)]
    pixels = [str(int(v) % 256) for v in pixels]
    odd = pixels.copy()
    label = "4"
    if where == "pixel":
        odd[300] = cell
    else:
        label = cell
    path = bad(tmp_path, "\n".join([KAGGLE_HEADER, row("1", pixels), row(label, odd)]) + "\n")
    layout = sniff(path, "auto")
    fast = parse_fast(path, layout)
    try:
        careful = parse_careful(path, layout)
    except DataError as e:
        assert fast is None, f"the fast parser read {cell!r} as a {where}; the careful one says: {e}"
        return
    if fast is not None:
        for a, b in zip(fast, careful):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
                assert a.dtype == b.dtype
            else:
                assert a == b
    images, labels, _ = careful  # what load_csv gives, by whichever path
    if where == "pixel":
        assert 0 <= images[1, 300] <= 255 and float(cell.strip('" ')) == pytest.approx(images[1, 300], abs=0.5)
    else:
        assert labels[1] == float(cell.strip('" '))


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter(tmp_path, sep, name):
    text = sep.join(["5"] + ["0"] * 784) + "\n"
    expect(bad(tmp_path, text), f"separated by {name}")


def test_binary_garbage(tmp_path):
    rng = np.random.default_rng(0)
    expect(bad(tmp_path, rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), "junk.csv"), "binary")


def test_truncated_gzip(tmp_path, sample):
    images, labels = sample
    text = "\n".join(",".join(map(str, r)) for r in digit_rows(images, labels)).encode()
    path = bad(tmp_path, gzip.compress(text)[:-200], "cut.csv.gz")
    expect(path, "corrupt or truncated")


def test_pixels_scaled_to_unit_interval_are_refused(tmp_path):
    pixels = ["0.5"] * 784
    expect(bad(tmp_path, "\n".join([row(pixels=pixels), row("3")]) + "\n"), "between 0 and 1", "255")


def test_unknown_label_column_name(tmp_path, sample):
    images, labels = sample
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels), KAGGLE_HEADER)
    expect(path, "no column named 'klass'", label_column="klass")


def test_label_column_on_unlabeled_file(tmp_path, sample):
    images, labels = sample
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels, "none"))
    expect(path, "only 783 pixels", label_column="first")


# -- IDX files and the converter --------------------------------------------------------------

def idx_bytes(array: np.ndarray, kind: int = 0x08) -> bytes:
    header = bytes([0, 0, kind, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_plain_and_gzip(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(a))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), a)
    f = np.array([1.5, -2.0], dtype=np.float32)
    (tmp_path / "f.idx").write_bytes(idx_bytes(f, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), f)


@pytest.mark.parametrize("compress", [False, True])
def test_convert_idx_round_trip(tmp_path, sample, compress):
    images, labels = sample
    (tmp_path / "img").write_bytes(idx_bytes(images.reshape(-1, 28, 28)))
    (tmp_path / "lab").write_bytes(idx_bytes(labels.astype(np.uint8)))
    out = tmp_path / ("out.csv.gz" if compress else "out.csv")
    assert convert_idx(tmp_path / "img", tmp_path / "lab", out) == 20
    text = (gzip.decompress(out.read_bytes()) if compress else out.read_bytes()).decode()
    assert text.startswith("label,pixel0,pixel1,") and text.splitlines()[0].endswith(",pixel783")
    assert len(text.splitlines()) == 21
    check(load_csv(out), images, labels)


def test_convert_idx_gzip_output_is_deterministic(tmp_path, sample):
    images, labels = sample
    write_digits(tmp_path / "a.csv.gz", images, labels)
    write_digits(tmp_path / "b.csv.gz", images, labels)
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_convert_idx_command(tmp_path, sample):
    from conftest import run_command

    images, labels = sample
    (tmp_path / "img.gz").write_bytes(gzip.compress(idx_bytes(images.reshape(-1, 28, 28))))
    (tmp_path / "lab.gz").write_bytes(gzip.compress(idx_bytes(labels.astype(np.uint8))))
    result = run_command("-m", "nn", "convert-idx", str(tmp_path / "img.gz"),
                         str(tmp_path / "lab.gz"), str(tmp_path / "o.csv"))
    assert result.returncode == 0, result.stderr
    assert "Wrote 20 rows" in result.stdout
    check(load_csv(tmp_path / "o.csv"), images, labels)


@pytest.mark.parametrize("problem, fragment", [
    (b"\x01\x02\x08\x01", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX element type"),
    (b"\x00\x00\x08\x03\x00\x00", "header is truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "but the file holds 2"),
])
def test_read_idx_errors(tmp_path, problem, fragment):
    (tmp_path / "x.idx").write_bytes(problem)
    with pytest.raises(DataError, match=fragment):
        read_idx(tmp_path / "x.idx")


def test_idx_files_with_no_images_or_absurd_dimensions(tmp_path):
    import tracemalloc

    empty = np.zeros((0, 28, 28), np.uint8)
    (tmp_path / "img").write_bytes(idx_bytes(empty))
    (tmp_path / "lab").write_bytes(idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(DataError, match="holds no images"):
        convert_idx(tmp_path / "img", tmp_path / "lab", tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()
    # 4 billion images of 4 billion rows: refused from the header, nothing allocated
    absurd = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 28) + bytes(100)
    bomb = gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10**9) + bytes(10**9 // 1000))
    for name, content, fragment in (("absurd.idx", absurd, "more than the"),
                                    ("bomb.idx.gz", bomb, "but the file holds")):
        (tmp_path / name).write_bytes(content)
        tracemalloc.start()
        try:
            with pytest.raises(DataError, match=fragment):
                read_idx(tmp_path / name)
            assert tracemalloc.get_traced_memory()[1] < 20 * 2**20
        finally:
            tracemalloc.stop()


def test_convert_idx_will_not_write_over_its_inputs(tmp_path, sample):
    from conftest import assert_user_error, run_command

    images, labels = sample
    (tmp_path / "img").write_bytes(idx_bytes(images.reshape(-1, 28, 28)))
    (tmp_path / "lab").write_bytes(idx_bytes(labels.astype(np.uint8)))
    before = (tmp_path / "img").read_bytes()
    result = run_command("-m", "nn", "convert-idx", str(tmp_path / "img"), str(tmp_path / "lab"),
                         str(tmp_path / "img"))
    assert_user_error(result, "is also the images file")
    assert (tmp_path / "img").read_bytes() == before


def test_custom_digits_are_never_appended_to_someone_elses_file(tmp_path, sample):
    from nn.files.digits_csv import append_csv

    images, labels = sample
    for name, content in (("notes.csv", b"a,b,c\n1,2,3\n"), ("data.csv.gz", gzip.compress(b"label,pixel0\n"))):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DataError, match="is not a custom-digits CSV"):
            append_csv(tmp_path / name, images[:1], labels[:1])
        assert (tmp_path / name).read_bytes() == content
    assert append_csv(tmp_path / "mine.csv", images[:2], labels[:2]) == 2
    assert append_csv(tmp_path / "mine.csv", images[2:3], labels[2:3]) == 3
    check(load_csv(tmp_path / "mine.csv", use_cache=False), images[:3], labels[:3])


def test_convert_idx_mismatched_counts(tmp_path, sample):
    images, labels = sample
    (tmp_path / "img").write_bytes(idx_bytes(images.reshape(-1, 28, 28)))
    (tmp_path / "lab").write_bytes(idx_bytes(labels[:5].astype(np.uint8)))
    with pytest.raises(DataError, match="holds 5 labels for 20 images"):
        convert_idx(tmp_path / "img", tmp_path / "lab", tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


# -- large input ------------------------------------------------------------------------------

PEAK_AFTER_LOAD = """
import sys
sys.path.insert(0, sys.argv[1])
def peak():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) // 1024
import numpy, pandas
from nn.files.digits_csv import load_csv
before = peak()
data = load_csv(sys.argv[2], use_cache=False)
print(peak() - before, len(data))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_memory_grows_with_the_uint8_data_not_with_float64(tmp_path):
    """Four times the rows: peak memory rises by about the uint8 arrays (22 MB here), far below
    what float64 values would take (180 MB), because rows are parsed in chunks and kept as uint8.
    (Below 10,000 rows the parser's working set, about 90 MB, is still filling up.)"""
    import gzip
    import subprocess
    import sys

    from conftest import REPO, TEST_CSV

    lines = gzip.decompress(TEST_CSV.read_bytes()).split(b"\n")
    header, rows = lines[0], [l for l in lines[1:] if l]
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_bytes(b"\n".join([header] + rows) + b"\n")
    large.write_bytes(b"\n".join([header] + rows * 4) + b"\n")
    peaks = {}
    for path in (small, large):
        out = subprocess.run([sys.executable, "-c", PEAK_AFTER_LOAD, str(REPO), str(path)],
                             capture_output=True, text=True, check=True).stdout.split()
        peaks[path.name] = int(out[0])
        assert int(out[1]) == (10_000 if path is small else 40_000)
    growth = peaks["large.csv"] - peaks["small.csv"]
    float64_growth = 30_000 * 785 * 8 / 2**20
    assert growth < 0.35 * float64_growth, peaks


# -- files that change, and odd corners ----------------------------------------------------------

def test_a_file_replaced_while_it_loads_is_read_as_it_was(tmp_path, sample, monkeypatch):
    """Drawings saved (a new file renamed over the old) while training reads the same CSV: each
    load sees one whole version of the file, never half of one and half of the next. Every pass
    the loader makes over the file (its hash, its first lines, the parse) starts right after a
    drawing has been saved, so that without one version held for the whole load each pass would
    read a different file."""
    import hashlib

    from nn.files import csv_open
    from nn.files.digits_csv import append_csv

    images, labels = sample
    path = tmp_path / "custom.csv"
    append_csv(path, images[:5], labels[:5])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    opened = csv_open.open_file  # every pass over the file opens it through this
    saved = []

    def open_then_save(*args, **kwargs):
        f = opened(*args, **kwargs)
        k = len(saved) % 20
        append_csv(path, images[k:k + 1], labels[k:k + 1])  # renamed over the path, now
        saved.append(k)
        return f

    monkeypatch.setattr(csv_open, "open_file", open_then_save)
    data = load_csv(path, use_cache=False)
    monkeypatch.undo()
    assert len(saved) >= 2  # the load made two passes or more, each after a save
    assert len(data) == 5 and data.sha256 == before  # and read the file as it was when it began
    assert len(load_csv(path, use_cache=False)) == 5 + len(saved)  # the next load: the new file


def test_carriage_returns_alone_get_a_clear_message(tmp_path):
    expect(bad(tmp_path, "\r".join([KAGGLE_HEADER, row("1"), row("2")]) + "\r"),
           "carriage return alone", "LF or CRLF")


def test_latin1_text_anywhere_in_the_file_loads(tmp_path, sample):
    images, labels = sample
    rows = [",".join(map(str, r)) for r in digit_rows(images, labels)] * 40  # well past 64 KiB
    text = (KAGGLE_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    text += ("\"n\xe4me\"," + ",".join(["0"] * 784) + "\n").encode("latin-1")
    (tmp_path / "late.csv").write_bytes(text)
    with pytest.raises(DataError, match="line 802, column 'label': not a number: 'n\xe4me'"):
        load_csv(tmp_path / "late.csv", use_cache=False)  # read as Latin-1, not called binary


def test_a_column_of_row_numbers_is_not_taken_for_labels(tmp_path, sample):
    images, _ = sample
    header = "ImageId," + ",".join(f"pixel{i}" for i in range(784))
    rows = [[i + 1] + list(map(int, image)) for i, image in enumerate(images)]
    expect(write_csv(tmp_path / "ids.csv", rows, header), "column 'ImageId' numbers the rows")


def test_an_empty_zip_says_so(tmp_path):
    buffer = __import__("io").BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    expect(bad(tmp_path, buffer.getvalue(), "empty.zip"), "an empty zip archive")


def test_files_that_report_size_zero_are_read_not_called_empty():
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    with pytest.raises(DataError) as info:
        load_csv("/proc/self/status", use_cache=False)
    assert "empty" not in str(info.value)


def test_a_tampered_cache_is_not_trusted(tmp_path, sample, monkeypatch):
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels), KAGGLE_HEADER)
    load_csv(path)
    (cached,) = (tmp_path / "cache").iterdir()
    with np.load(cached) as z:
        arrays = dict(z)
    arrays["labels"] = (arrays["labels"] + 50).astype(np.int8)  # labels 50-59
    np.savez(cached, **arrays)
    check(load_csv(path), images, labels)  # parsed again, right


def test_a_cache_entry_copied_from_another_file_is_not_trusted(tmp_path, sample, monkeypatch):
    """The entry of one CSV put under another CSV's name (a copied cache, a rename) holds the
    wrong digits for it: it must prove it belongs (digest, size, option) or be parsed again."""
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    a = write_csv(tmp_path / "a.csv", digit_rows(images[:5], labels[:5]))
    b = write_csv(tmp_path / "b.csv", digit_rows(images[5:], labels[5:]))
    load_csv(a)
    load_csv(b)
    entries = sorted((tmp_path / "cache").iterdir(), key=lambda p: p.stat().st_mtime)
    assert len(entries) == 2
    entries[1].write_bytes(entries[0].read_bytes())  # b's entry now holds a's digits
    check(load_csv(b), images[5:], labels[5:])
    entries[1].unlink()
    entries[0].rename(entries[1])  # a's entry under b's name
    check(load_csv(b), images[5:], labels[5:])


def test_a_cache_entry_that_is_a_link_is_never_written_through(tmp_path, sample, monkeypatch):
    images, labels = sample
    monkeypatch.setenv("NN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_csv(tmp_path / "d.csv", digit_rows(images, labels))
    load_csv(path)
    (entry,) = (tmp_path / "cache").iterdir()
    entry.unlink()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    entry.symlink_to(precious)  # a link planted where the entry goes
    check(load_csv(path), images, labels)  # not read through, parsed again
    assert precious.read_text() == "keep me"  # and the save replaced the link, not the file
    assert not entry.is_symlink() and entry.is_file()
    check(load_csv(path), images, labels)  # the new entry is used


@pytest.mark.parametrize("labeled", [True, False])
def test_the_writer_writes_what_pandas_would(tmp_path, labeled):
    """write_csv builds its text with NumPy; it must be the very text pandas' to_csv writes, for
    every value 0-255, in every column, with and without labels (and so the same gzip bytes)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 784), dtype=np.uint8)
    images[0], images[1] = 0, 255
    images[2, :256] = np.arange(256)
    labels = rng.integers(0, 10, 300) if labeled else None
    write_digits(tmp_path / "d.csv", images, labels)
    frame = pd.DataFrame(images, columns=[f"pixel{i}" for i in range(784)])
    if labeled:
        frame.insert(0, "label", labels)
    assert (tmp_path / "d.csv").read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode()
    back = load_csv(tmp_path / "d.csv", use_cache=False)
    assert np.array_equal(back.images.reshape(300, -1), images)
    assert (back.labels.tolist() == labels.tolist()) if labeled else back.labels is None
