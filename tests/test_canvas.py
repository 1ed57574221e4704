"""The drawing grid and its brush."""

from __future__ import annotations

import numpy as np

from nn.session.canvas import DEMO_STROKES, Canvas, draw_demo


def test_a_horizontal_stroke_marks_its_row_fully_and_neighbours_partly():
    canvas = Canvas(core=0.75, outer=1.75)
    canvas.stroke((5.5, 10.5), (20.5, 10.5))  # through the centres of row 10, columns 5-20
    ink = canvas.ink
    assert np.all(ink[10, 5:21] == 1)
    np.testing.assert_allclose(ink[9, 8:18], 0.75)  # one cell away: (1.75 - 1) / (1.75 - 0.75)
    np.testing.assert_allclose(ink[11, 8:18], 0.75)
    assert np.all(ink[8] == 0) and np.all(ink[12] == 0)
    assert np.all(ink[:, :3] == 0) and np.all(ink[:, 23:] == 0)


def test_a_fast_diagonal_stroke_leaves_no_gaps():
    canvas = Canvas()
    canvas.stroke((1.5, 1.5), (26.5, 26.5))  # one mouse event, 25 cells apart
    assert all(canvas.ink[i, i] == 1 for i in range(1, 27))


def test_a_click_paints_a_round_dot():
    canvas = Canvas(core=0.75, outer=1.75)
    canvas.stroke((14.5, 14.5), (14.5, 14.5))
    assert canvas.ink[14, 14] == 1 and canvas.ink[14, 15] == canvas.ink[13, 14] == 0.75
    assert canvas.ink[13, 13] < canvas.ink[13, 14]  # diagonal neighbours are further away
    assert np.count_nonzero(canvas.ink) == 9


def test_erase_and_clear():
    canvas = Canvas()
    canvas.stroke((2, 14.5), (26, 14.5))
    canvas.erase((14.5, 10), (14.5, 20))
    assert canvas.ink[14, 14] == 0 and canvas.ink[14, 3] == 1
    canvas.clear()
    assert canvas.blank


def test_strokes_off_the_grid_are_harmless():
    canvas = Canvas()
    canvas.stroke((-100, -100), (-50, 400))
    assert canvas.blank
    canvas.stroke((-5, 14.5), (50, 14.5))
    assert np.all(canvas.ink[14] == 1)


def test_demo_digits_cover_every_digit():
    assert sorted(DEMO_STROKES) == list(range(10))
    for digit in range(10):
        canvas = Canvas()
        draw_demo(canvas, digit)
        assert 40 < np.count_nonzero(canvas.ink > 0.5) < 300, digit
