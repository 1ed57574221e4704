"""Whole numbers (nn/session/numbers.py): the ink split into digits on constructed cases, each
digit read as a single digit is; and the steps from a drawing to what the network sees."""

from __future__ import annotations

import numpy as np
import pytest

from nn.errors import DataError
from nn.session.canvas import NUMBER_WIDTH, Canvas, _arc, draw_demo, draw_number
from nn.session.numbers import MAX_DIGITS, _left_of_path, digit_pieces, read_number
from nn.session.preprocess import normalize
from nn.session.reading import read


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
