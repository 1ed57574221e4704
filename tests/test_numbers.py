"""Whole numbers (nn/session/numbers.py): the ink split into digits on constructed cases, each
digit read as a single digit is; and the steps from a drawing to what the network sees."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import REPO, session_for
from nn.bench.numbers import compose
from nn.errors import DataError, ModelError
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.session.canvas import NUMBER_WIDTH, Canvas, _arc, draw_demo, draw_number
from nn.session.numbers import (MAX_DIGITS, SIDEWAYS, _left_of_path, _left_of_paths, digit_pieces, read_number,
                                the_judge)
from nn.session.preprocess import normalize
from nn.session.reading import read
from nn.tools.judge import NOT_ONE, examples, label_of, train_judge


def written(number: str, step: float = 13.0) -> np.ndarray:
    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, number, step=step)
    return canvas.ink


@pytest.mark.parametrize("number", ["2026", "13579", "86420", "7", "11", "4031", "57"])
def test_digits_apart_are_read_in_order(pretrained_cnn, number):
    read = read_number(pretrained_cnn, written(number), drawn=True)
    assert read.text == number
    xs = [d.box[0] for d in read.digits]
    assert xs == sorted(xs) and all(d.box[2] > 0 and d.box[3] > 0 for d in read.digits)


def test_each_digit_is_read_as_a_single_digit_is(pretrained_cnn):
    """A digit of a number is its own ink, normalised and read as a drawing of one digit is."""
    number = read_number(pretrained_cnn, written("502"), drawn=True)
    for d in number.digits:
        single = read(pretrained_cnn, d.ink)
        np.testing.assert_array_equal(d.reading.seen, single.seen)
        np.testing.assert_allclose(d.reading.probabilities, single.probabilities, atol=1e-6)
        assert d.ink.shape == (d.box[3], d.box[2])


def test_a_digit_in_two_strokes_is_one_digit(pretrained_cnn):
    canvas = Canvas(NUMBER_WIDTH)
    draw_demo(canvas, 4)  # a 4 is two strokes: the angle, then the upright
    canvas.stroke((35, 5), (27, 5))  # a 5 with its flag drawn apart from its body
    for start, end in [((11, 7), (10, 13))] + list(zip(*[iter(_arc(14.5, 17, 5, 5.5, 215, 505))] * 2)):
        canvas.stroke((start[0] + 16, start[1]), (end[0] + 16, end[1]))
    assert len(digit_pieces(canvas.ink)) == 2
    assert read_number(pretrained_cnn, canvas.ink, drawn=True).text == "45"


def test_specks_are_left_out(pretrained_cnn):
    ink = written("31")
    ink[25, 60] = ink[2, 90] = 1.0  # a slip of the pen, far from the digits
    assert read_number(pretrained_cnn, ink, drawn=True).text == "31"


def test_digits_that_touch_are_cut_where_the_ink_is_thinnest():
    """Two blobs joined by a bridge one pixel thick: the cutting path crosses the bridge, not
    a blob, and leaves each its own ink."""
    ink = np.zeros((20, 30), np.float32)
    ink[3:17, 2:12] = ink[3:17, 17:27] = 1.0
    ink[9, 12:17] = 1.0  # the bridge
    left = _left_of_path(ink, ink > 0, (8, 22))
    assert left[:, :12].all() and not left[:, 17:].any()


@pytest.mark.parametrize("number, step", [("80", 11), ("08", 11), ("00", 11.5)])
def test_two_digits_written_close_enough_to_touch_are_read_as_two(pretrained_cnn, number, step):
    ink = written(number, step)
    assert len(digit_pieces(ink)) == 1  # they touch: one piece
    assert read_number(pretrained_cnn, ink, drawn=True).text == number


@pytest.mark.parametrize("number, step", [("1234", 10), ("68", 10), ("4711", 9), ("5555", 9), ("7777", 10),
                                          ("909", 10), ("80", 10)])
def test_digits_running_together_on_the_grid_are_read(pretrained_cnn, number, step):
    ink = written(number, step)
    assert len(digit_pieces(ink)) < len(number)  # some of them touch
    read = read_number(pretrained_cnn, ink, drawn=True)
    assert read.text == number and read.cut is not None


def test_the_network_alone_misreads_most_digits_running_together(pretrained_cnn):
    cases = [("1234", 10), ("68", 10), ("4711", 9), ("5555", 9), ("7777", 10), ("909", 10), ("80", 10)]
    alone = [read_number(pretrained_cnn, written(n, s), drawn=True, judge=None).text == n for n, s in cases]
    assert sum(alone) <= 2  # what the judge of cuts is for


def test_a_blank_drawing_is_no_number(pretrained_cnn):
    read = read_number(pretrained_cnn, np.zeros((28, NUMBER_WIDTH), np.float32), drawn=True)
    assert read.text == "" and read.digits == [] and read.confidence == 0


def test_more_than_eight_digits_and_noise_are_refused(pretrained_cnn):
    many = Canvas(12 * 28)
    draw_number(many, "1234567890", step=20)
    with pytest.raises(DataError, match=f"10 digits, more than the {MAX_DIGITS}"):
        read_number(pretrained_cnn, many.ink, source="many.png")
    noise = np.random.default_rng(0).random((60, 200)).astype(np.float32)
    with pytest.raises(DataError, match="noise.png: .*noise"):
        read_number(pretrained_cnn, noise, source="noise.png")
    dense = np.clip(noise * 3, 0, 1)
    with pytest.raises(DataError, match="noise"):
        read_number(pretrained_cnn, dense)


def test_a_digit_drawn_too_small_says_so(pretrained_cnn):
    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, "3")
    draw_demo(canvas, 1, scale=0.25, shift=(30, 0))
    read = read_number(pretrained_cnn, canvas.ink, drawn=True)
    assert len(read.digits) == 2 and read.digits[0].reading.verdict == "sure"
    assert read.digits[1].reading.verdict == "too small"


def test_the_steps_end_in_what_the_network_sees():
    canvas = Canvas()
    draw_demo(canvas, 7, scale=0.6, shift=(-5, 4))
    steps = []
    field = normalize(canvas.ink, steps)
    names = [s.name for s in steps]
    assert names[0] == "drawing" and names[1] == "cropped" and names[-2:] == ["centred", "numbers"]
    assert steps[1].picture.shape == (int((canvas.ink > 0.1).any(axis=1).sum()), int((canvas.ink > 0.1).any(axis=0).sum()))
    assert max(steps[names.index("scaled")].picture.shape) == 20
    np.testing.assert_array_equal(steps[-1].picture, field)
    assert all(s.says and "\n" not in s.says and len(s.says) < 90 for s in steps)
    assert np.array_equal(normalize(canvas.ink), field)  # keeping the steps changes nothing


# -- touching digits: the judge of cuts (nn/tools/judge.py) ----------------------------------------


@pytest.fixture(scope="module")
def touching(mnist_test):
    """Numbers of 2-6 MNIST test digits with one touching pair, as the bench writes them."""
    return compose(mnist_test, "touching", 24, seed=5)


def test_the_judge_reads_touching_digits_that_the_network_alone_cannot(pretrained_cnn, touching):
    judge = the_judge()
    assert judge is not None and judge.sizes[-1] == NOT_ONE + 1
    with_judge = np.mean([read_number(pretrained_cnn, n.ink).text == n.text for n in touching])
    alone = np.mean([read_number(pretrained_cnn, n.ink, judge=None).text == n.text for n in touching])
    assert with_judge >= 0.75 and with_judge >= alone + 0.2, (with_judge, alone)


def test_the_judge_says_a_pair_is_not_one_digit_and_a_digit_is(mnist_test):
    judge = the_judge()
    digits = mnist_test.images[:200] / np.float32(255)
    p = judge.predict_proba(digits)
    assert np.mean(p.argmax(axis=1) == mnist_test.labels[:200]) >= 0.97  # a digit reads as itself
    pairs = [normalize(n.ink) for n in compose(mnist_test, "touching", 80, seed=6) if len(n.text) == 2]
    assert len(pairs) >= 10  # two touching digits, as one would be read
    assert np.mean(judge.predict_proba(np.stack(pairs).reshape(len(pairs), -1)).argmax(axis=1) == NOT_ONE) >= 0.8


def test_the_cuts_are_shown_tried_and_chosen(pretrained_cnn, touching, tmp_path):
    number = next(n for n in touching if len(digit_pieces(n.ink)) < len(n.text))
    read = read_number(pretrained_cnn, number.ink)
    step = read.cut
    assert step is not None and step.name == "cuts"
    assert 0 < step.picture.size < number.ink.size  # the touching digits, not the whole number
    assert np.isclose(step.picture, 0.2).any() and np.isclose(step.picture, 1.0).any()  # tried (dim), made (bright)
    assert step.says.startswith("Cuts tried where digits touch") and "one digit" in step.says
    session = session_for(pretrained_cnn, "cnn.npz", tmp_path / "custom.csv")
    session_steps = [s.name for s in session.steps(read.digits[0].ink, read)]
    assert session_steps[0] == "cuts" and session_steps[-1] == "numbers"
    apart = read_number(pretrained_cnn, written("47"), drawn=True)
    assert apart.cut is None  # nothing touched: nothing to cut, nothing shown


def test_a_missing_or_broken_judge_leaves_the_network_to_decide(tmp_path, monkeypatch, pretrained_cnn):
    import nn.session.numbers as numbers

    broken = tmp_path / "judge.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    for path in (tmp_path / "missing.npz", broken):
        monkeypatch.setattr(numbers, "JUDGE", path)
        monkeypatch.setattr(numbers, "_JUDGE", {})
        assert numbers.the_judge() is None
        assert read_number(pretrained_cnn, written("2026"), drawn=True).text == "2026"


def test_the_judge_is_not_a_digit_model_and_a_digit_model_is_not_a_judge():
    with pytest.raises(ModelError, match="judge.npz: the network is .*-11; a digit model takes 784 inputs and gives 10"):
        load_model(REPO / "data" / "judge.npz")
    with pytest.raises(ModelError, match="gives 11 outputs"):
        load_model(REPO / "data" / "pretrained_cnn.npz", outputs=NOT_ONE + 1)


def test_parts_are_labelled_by_the_ink_they_hold():
    ink = np.zeros((10, 20), np.float32)
    ink[2:8, 2:8] = ink[2:8, 12:18] = 1.0
    owners = np.full(ink.shape, -1)
    owners[:, :10] = 0
    owners[:, 10:][ink[:, 10:] > 0] = 1
    owners[:, :10][ink[:, :10] == 0] = -1
    left = np.zeros(ink.shape, bool)
    left[:, :10] = True
    assert label_of(ink, owners, left) == 0 and label_of(ink, owners, ~left) == 1
    assert label_of(ink, owners, np.ones(ink.shape, bool)) == NOT_ONE  # both digits
    half = left.copy()
    half[:, 5:10] = False
    assert label_of(ink, owners, half) == NOT_ONE  # half a digit
    most = left.copy()
    most[2:3, 2:8] = False  # a sixth of it missing: unclear, left out
    assert label_of(ink, owners, most) is None


def test_a_judge_trains_on_written_numbers_and_saves(tmp_path, mnist_test, capsys):
    data = examples(mnist_test, 12, seed=1)
    assert data.images.shape[1] == 784 and data.images.dtype == np.uint8 and len(data) == len(data.labels)
    kinds = np.bincount(data.labels, minlength=NOT_ONE + 1)
    assert kinds[NOT_ONE] > 0 and kinds[:NOT_ONE].sum() > kinds[NOT_ONE] / 2
    net, _, _ = train_judge(mnist_test, 12, epochs=1, seed=1, say=lambda line: None)
    save_model(tmp_path / "judge.npz", net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy",
                                                      conv=net.conv))
    loaded = load_model(tmp_path / "judge.npz", outputs=NOT_ONE + 1)[0]
    np.testing.assert_allclose(loaded.predict_proba(data.images[:5] / np.float32(255)),
                               net.predict_proba(data.images[:5] / np.float32(255)), atol=1e-6)


def test_a_digit_broken_across_is_bridged_when_that_reads_better(pretrained_cnn):
    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, "9")
    ink = canvas.ink.copy()
    rows = np.flatnonzero(ink.max(axis=1) > 0.1)
    gap = rows[0] + (rows[-1] - rows[0]) * 3 // 5
    ink[gap:gap + 2] = 0  # the stem cut from the loop
    read = read_number(pretrained_cnn, ink, drawn=True)
    assert read.text == "9"
    assert read.digits[0].ink[gap - read.digits[0].box[1]].max() > 0  # read with its gap bridged


def test_the_cheapest_cutting_paths_are_found_for_every_band_at_once():
    """The dynamic programme against every path tried one by one, on small random inks: each row
    the path moves at most one column, pays the ink it crosses, SIDEWAYS a row and SIDEWAYS more a
    step sideways, and stays in its band (slanted bands move with the rows, even off the ink)."""
    rng = np.random.default_rng(0)
    for _ in range(12):
        ink = (rng.random((5, 7)) ** 3).astype(np.float32)
        mask = np.ones(ink.shape, bool)
        bands = [((1, 4), 0.0), ((2, 5), 0.5), ((3, 6), -0.5), ((0, 7), 0.0), ((0, 2), 1.0), ((5, 7), 1.5)]
        found = _left_of_paths(ink, mask, bands)
        for (band, slant), left in zip(bands, found):
            shift = np.round(slant * (2 - np.arange(5))).astype(int)
            best, best_cols = np.inf, None
            for cols in itertools.product(range(7), repeat=5):
                if any(abs(a - b) > 1 for a, b in zip(cols, cols[1:])):
                    continue
                starts = np.clip(band[0] + shift, 0, 6)  # a band moved off the ink keeps its nearest column
                if any(not a <= c < max(min(band[1] + s, 7), a + 1) for c, s, a in zip(cols, shift, starts)):
                    continue
                cost = sum(ink[r, c] + SIDEWAYS for r, c in enumerate(cols)) + SIDEWAYS * sum(
                    a != b for a, b in zip(cols, cols[1:]))
                if cost < best - 1e-9:
                    best, best_cols = cost, cols
            expected = np.arange(7) < np.array(best_cols)[:, None]
            assert np.array_equal(left, expected), (band, slant)


def test_a_scribble_or_a_digit_crossed_out_is_refused_not_made_up(pretrained_cnn):
    crossed = Canvas(NUMBER_WIDTH)
    draw_number(crossed, "8")
    crossed.stroke((2, 4), (16, 24))
    crossed.stroke((2, 24), (16, 4))  # an X over the 8
    with pytest.raises(DataError, match=r"crossed.png: mark 1 of 2 is no digit \(a scribble, or a digit crossed out\?\)"):
        read_number(pretrained_cnn, crossed.ink, drawn=True, source="crossed.png")
    rng = np.random.default_rng(0)
    refused = 0
    for _ in range(6):  # scribbles: a pen wandering over the grid
        scribble, at = Canvas(NUMBER_WIDTH), np.array([30.0, 14.0])
        for _ in range(25):
            to = np.clip(at + rng.normal(0, 5, 2), [5, 3], [100, 25])
            scribble.stroke(tuple(at), tuple(to))
            at = to
        try:
            read_number(pretrained_cnn, scribble.ink, drawn=True)
        except DataError as e:
            assert "is no digit" in str(e) and "the judge of cuts says it is not one digit" in str(e)
            refused += 1
    assert refused >= 3  # the others are read as digits the scribble happens to look like
