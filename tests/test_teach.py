"""Teaching the network someone's handwriting (nn/session/teach.py): the held-out split, the refusals, and
that a style the model misreads is learned without forgetting MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, assert_user_error, run_command
from nn.files.digits_csv import append_csv
from nn.dataset import Dataset
from nn.errors import UsageError
from nn.bench.handwriting import outlined_hand, style_digits
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.session.preprocess import to_grey_levels
from nn.session.teach import (HOLD_OUT, check_drawings, check_teach_output, hold_out, load_drawings, teach,
                      teach_model)


def as_dataset(style: str, per_digit: int, seed: int, source: str = "drawings") -> Dataset:
    """Drawings of one style as the window saves them: grey levels 0-255 of the normalised digit."""
    drawn = outlined_hand(per_digit, seed) if style == "outlined" else style_digits(style, per_digit, seed)
    images = np.stack([to_grey_levels(x.reshape(28, 28)) for x in drawn.inputs])
    return Dataset(images, drawn.labels, source, "")


def save_drawings(path, style: str = "segments", per_digit: int = 5, seed: int = 11):
    data = as_dataset(style, per_digit, seed)
    append_csv(path, data.images, data.labels)
    return path


def test_the_held_out_drawings_are_a_share_of_each_digit_and_never_taught():
    labels = np.repeat(np.arange(10), [5, 5, 4, 8, 2, 1, 5, 5, 5, 0])
    taught, held = hold_out(labels, seed=3)
    assert not set(taught) & set(held) and len(taught) + len(held) == len(labels)
    for digit, count in enumerate([5, 5, 4, 8, 2, 1, 5, 5, 5, 0]):
        kept = int(np.sum(labels[held] == digit))
        assert kept == (max(1, round(HOLD_OUT * count)) if count >= 2 else 0), digit
    assert np.array_equal(hold_out(labels, seed=3)[1], held)  # the same split every time


def test_too_little_to_learn_from_is_refused():
    few = as_dataset("segments", 1, 0)
    with pytest.raises(UsageError, match="only 9 drawings, too few to learn from: save at least 10"):
        check_drawings(Dataset(few.images[:9], few.labels[:9], "d.csv", ""))
    sevens = Dataset(few.images[np.zeros(12, int) + 7], np.full(12, 7), "d.csv", "")
    with pytest.raises(UsageError, match="every drawing is a 7"):
        check_drawings(sevens)


def test_a_hand_the_model_misreads_is_learned_without_forgetting_mnist(pretrained, mnist_test):
    """Five drawings of each digit in an outlined hand, each stroke drawn as its two edges (the
    shipped MLP reads a third of them): after teaching, other drawings of that hand are read
    right, and MNIST's test set moves by 0.3 points at most (0.44 with a quarter of each batch
    yours, as teaching first did)."""
    drawings = as_dataset("outlined", 5, seed=11)
    others = as_dataset("outlined", 20, seed=99)  # never taught nor held out: a fresh test
    mnist, test = mnist_test.subset(slice(0, 8000)), mnist_test.subset(slice(8000, 10000))
    before = float(np.mean(pretrained.predict(others.images / np.float32(255)) == others.labels))
    taught, report = teach(pretrained, drawings, mnist, test)
    after = float(np.mean(taught.predict(others.images / np.float32(255)) == others.labels))
    assert before < 0.9 and after >= 0.97, (before, after)
    assert report.held_out == 10 and report.taught == 40 and not report.cancelled
    assert report.before["yours"] is not None and report.after["yours"] >= report.before["yours"]
    assert abs(report.after["mnist"] - report.before["mnist"]) <= 0.003
    assert report.summary().startswith("your digits: ") and "MNIST test: " in report.summary()
    # the network in use is untouched: teaching worked on a copy
    assert pretrained.predict(others.images[:1] / np.float32(255)).shape == (1,)
    assert not np.shares_memory(taught.weights[0], pretrained.weights[0])


def test_cancelling_stops_at_once_and_a_cnn_can_be_taught(small_cnn, mnist_test):
    net = small_cnn[1]
    steps = []
    taught, report = teach(net, as_dataset("european", 2, 0), mnist_test.subset(slice(0, 2000)),
                           progress=steps.append, cancelled=lambda: len(steps) >= 3)
    assert report.cancelled and report.steps == 3 and report.after == {}
    assert steps[:3] == [1 / 192, 2 / 192, 3 / 192]


def test_the_taught_model_is_saved_and_the_shipped_ones_never_written(tmp_path, small_model, monkeypatch):
    import nn.session.teach

    path, net = small_model
    monkeypatch.setattr(nn.session.teach, "mnist_sets", lambda: (load_digits_subset(), None))
    drawings = save_drawings(tmp_path / "custom_digits.csv")
    _, info = load_model(path)
    taught, new_info, report = teach_model(net, info, drawings, tmp_path / "taught.npz")
    again, saved = load_model(tmp_path / "taught.npz")
    assert np.array_equal(again.weights[0], taught.weights[0])
    assert saved.training["taught"]["drawings"].endswith("custom_digits.csv")
    assert saved.training["taught"]["held_out"] == report.held_out == 10
    for shipped in ("pretrained.npz", "pretrained_cnn.npz", "pretrained_mine.npz"):
        with pytest.raises(UsageError, match="shipped model"):
            check_teach_output(REPO / "data" / shipped)
    check_teach_output(tmp_path / "pretrained.npz")  # only data/'s own are protected


def load_digits_subset():
    from nn.files.digits_csv import load_csv

    return load_csv(REPO / "data" / "mnist_test.csv.gz").subset(slice(0, 3000))


@pytest.mark.parametrize("content, fragment", [
    (None, "no drawings saved yet"),
    (b"", "is empty"),
    (b"a,b,c\n1,2,3\n", "is not a custom-digits CSV"),
    (b"label,pixel0,pixel1,pixel2\n3,4,5,6\n", "expected"),  # a custom header, but rows of 4 fields
])
def test_drawings_that_cannot_be_taught_are_refused(tmp_path, content, fragment):
    path = tmp_path / "custom.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(Exception, match=fragment):
        load_drawings(path)


def test_train_py_teach_prints_the_report_and_saves(tmp_path, small_model):
    path, _ = small_model
    drawings = save_drawings(tmp_path / "custom_digits.csv")
    result = run_command(str(REPO / "train.py"), "--teach", str(drawings), "--resume", str(path),
                         "--out", str(tmp_path / "taught.npz"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Teaching {path}") and "the 50 drawings in" in lines[0]
    assert lines[1].startswith("your digits: ") and ", MNIST test: " in lines[1]
    assert "10 of your drawings set aside to measure on, 40 taught" in lines[2]
    assert lines[3] == f"Saved {tmp_path / 'taught.npz'}"
    assert load_model(tmp_path / "taught.npz")[1].training["taught"]["taught"] == 40


@pytest.mark.parametrize("extra, fragment", [
    (["--hidden", "32"], "--teach fine-tunes an existing model as it is: leave out --hidden"),
    (["--out", str(REPO / "data" / "pretrained.npz")], "is a shipped model"),
])
def test_train_py_teach_refuses_what_it_cannot_do(tmp_path, small_model, extra, fragment):
    drawings = save_drawings(tmp_path / "custom_digits.csv", per_digit=1)
    result = run_command(str(REPO / "train.py"), "--teach", str(drawings), "--resume", str(small_model[0]),
                         "--out", str(tmp_path / "m.npz"), *extra)
    assert_user_error(result, fragment)


def test_train_py_teach_with_too_few_drawings_keeps_the_model_as_it_was(tmp_path, small_model):
    out = tmp_path / "m.npz"
    save_model(out, small_model[1], ModelInfo(sizes=[784, 32, 10], activation="relu", loss="cross_entropy"))
    before = out.read_bytes()
    drawings = tmp_path / "few.csv"
    data = as_dataset("segments", 1, 0)
    append_csv(drawings, data.images[:4], data.labels[:4])
    result = run_command(str(REPO / "train.py"), "--teach", str(drawings), "--resume", str(small_model[0]),
                         "--out", str(out))
    assert_user_error(result, "only 4 drawings, too few to learn from")
    assert out.read_bytes() == before
