"""Photos of numbers on paper (nn/session/photo.py, nn/files/paper.py, nn/files/images.py): read
in every condition the bench measures, the number found among stray marks and ruling, every step
noted, the boxes in the photo's pixels however the phone was held, and pictures with no number
refused, never read as a made-up one. The rates are the bench's (python -m nn.bench --only
photos); these are the cases it is built from, read exactly."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from nn.bench.photos import CONDITIONS, NOT_NUMBERS, not_numbers, photos
from nn.errors import Crowded, DataError
from nn.files.paper import dark_ink, eroded, grown, opened
from nn.session.canvas import NUMBER_WIDTH, Canvas, draw_number
from nn.session.photo import SHOWN, read_photo


def jpeg(picture: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def number_on_paper(text: str, size=(1200, 900), at=(300, 350), height=160, ruled=False) -> tuple[Image.Image, tuple]:
    """`text` written (the window's demo strokes) on light paper at `at`, `height` pixels high,
    in a photo of `size`; and the box (x, y, width, height) it was written in."""
    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, text)
    cols = np.flatnonzero(canvas.ink.max(axis=0) > 0.1)
    ink = canvas.ink[:, cols[0]:cols[-1] + 1]
    scale = height / 28
    written = Image.fromarray((ink * 255).astype(np.uint8)).resize(
        (round(ink.shape[1] * scale), height), Image.Resampling.BICUBIC)
    page = Image.new("RGB", size, (236, 232, 222))
    draw = ImageDraw.Draw(page)
    if ruled:
        for y in range(40, size[1], 45):
            draw.line([(0, y), (size[0], y)], fill=(150, 180, 225), width=2)
        draw.line([(110, 0), (110, size[1])], fill=(220, 90, 90), width=2)
    page.paste((30, 30, 60), (*at, at[0] + written.width, at[1] + written.height), written)
    rows = np.flatnonzero(np.asarray(written).max(axis=1) > 25)
    return page, (at[0], at[1] + int(rows[0]), written.width, int(rows[-1] - rows[0] + 1))


def overlap(a, b) -> float:
    """How much of box b (x, y, w, h) box a covers, and b of a: the smaller share."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    shared = max(w, 0) * max(h, 0)
    return min(shared / (a[2] * a[3]), shared / (b[2] * b[3]))


# -- what the bench measures ----------------------------------------------------------------------

@pytest.mark.slow  # 10 photos made and read
def test_photos_in_every_condition_are_read(pretrained_cnn, mnist_test):
    """A photo in each condition: every digit found, and nine of the ten read exactly at least
    (a digit of MNIST's that the network misreads in any light is the bench's business)."""
    shot = [photos(mnist_test, condition, 1, seed=5, side=(600, 800))[0] for condition in CONDITIONS]
    read = [read_photo(pretrained_cnn, photo.jpeg, photo.condition).number.text for photo in shot]
    assert [len(text) for text in read] == [len(photo.text) for photo in shot], read
    assert sum(text == photo.text for text, photo in zip(read, shot)) >= 9, list(zip(read, (p.text for p in shot)))


@pytest.mark.slow  # 11 pictures made and read
def test_pictures_with_no_number_are_refused_in_one_line(pretrained_cnn, mnist_test):
    said = {}
    for picture in not_numbers(mnist_test, seed=0, side=800):  # the bench's are 1,200 pixels
        with pytest.raises(DataError) as refused:
            read_photo(pretrained_cnn, picture.jpeg, "shot.jpg")
        message = str(refused.value)
        assert message.startswith("shot.jpg: ") and "\n" not in message, message
        said[picture.condition] = message
    assert list(said) == list(NOT_NUMBERS)
    assert "no digit found" in said["a blank page"] and "no digit found" in said["a smooth gradient"]
    assert "only long straight lines" in said["an empty ruled page"]
    assert "lines of writing" in said["a page of numbers"] and "lines of writing" in said["a page of text"]


# -- the number, found and boxed -----------------------------------------------------------------------

def test_the_boxes_are_in_the_photo_s_pixels_however_the_phone_was_held(pretrained_cnn):
    page, written = number_on_paper("47")
    upright = read_photo(pretrained_cnn, jpeg(page), "upright.jpg")
    assert upright.number.text == "47" and upright.picture.size == (1200, 900)
    boxes = [upright.box(d) for d in upright.number.digits]
    whole = (boxes[0][0], min(b[1] for b in boxes), boxes[-1][0] + boxes[-1][2] - boxes[0][0],
             max(b[1] + b[3] for b in boxes) - min(b[1] for b in boxes))
    assert overlap(whole, written) > 0.8, (whole, written)
    # The same photo as a phone held sideways stores it: turned, with EXIF saying how to turn it back.
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    sideways = read_photo(pretrained_cnn, jpeg(page.transpose(Image.Transpose.ROTATE_90), exif=exif), "sideways.jpg")
    assert sideways.number.text == "47" and sideways.picture.size == (1200, 900)
    for a, b in zip(boxes, (sideways.box(d) for d in sideways.number.digits)):
        assert overlap(a, b) > 0.9, (a, b)


def test_a_small_number_on_a_big_photo_is_read_finer_and_boxed_where_it_is(pretrained_cnn):
    page, written = number_on_paper("305", size=(3600, 2700), at=(2400, 400), height=110)
    reading = read_photo(pretrained_cnn, jpeg(page), "big.jpg")
    assert reading.number.text == "305" and reading.picture.size == (3600, 2700)
    assert [step.name for step in reading.steps][:2] == ["picture", "found"]
    first, last = reading.box(reading.number.digits[0]), reading.box(reading.number.digits[-1])
    assert abs(first[0] - written[0]) < 15 and abs(last[0] + last[2] - written[0] - written[2]) < 15


def test_ruling_and_a_margin_are_not_digits_and_every_step_is_shown(pretrained_cnn):
    page, _ = number_on_paper("2026", at=(160, 330), ruled=True)
    reading = read_photo(pretrained_cnn, jpeg(page), "ruled.jpg")
    assert reading.number.text == "2026"
    names = [step.name for step in reading.steps]
    assert names == ["picture", "flattened", "ink", "lines", "number", "digit 1", "digit 2", "digit 3", "digit 4"]
    for step in reading.steps:
        assert step.says and max(step.picture.shape) <= SHOWN and 0 <= step.picture.min() <= step.picture.max() <= 1
    assert reading.steps[-1].picture.shape == (28, 28)


def test_a_mark_away_from_the_number_is_left_out(pretrained_cnn):
    page, _ = number_on_paper("38", at=(500, 500))
    draw = ImageDraw.Draw(page)
    draw.line([(100, 120), (190, 150)], fill=(30, 30, 60), width=14)  # a tick in a corner
    draw.ellipse((1000, 150, 1018, 168), fill=(30, 30, 60))  # a dot
    assert read_photo(pretrained_cnn, jpeg(page), "marks.jpg").number.text == "38"


def test_two_numbers_one_under_the_other_are_refused_not_joined(pretrained_cnn):
    page, _ = number_on_paper("12", at=(300, 150))
    lower, _ = number_on_paper("34", at=(300, 550))
    page.paste(lower.crop((0, 450, 1200, 900)), (0, 450))
    with pytest.raises(DataError, match="two.jpg: 2 lines of writing"):
        read_photo(pretrained_cnn, jpeg(page), "two.jpg")


def test_chalk_on_a_board_is_light_ink_and_dim_paper_dark(mnist_test):
    board, paper = (photos(mnist_test, condition, 1, seed=3, side=(500, 600))[0] for condition in
                    ("chalk on a board", "uneven light"))
    for photo, dark in ((board, False), (paper, True)):
        grey = np.asarray(Image.open(io.BytesIO(photo.jpeg)).convert("L"), np.float32) / 255
        assert dark_ink(grey) is dark
        assert dark_ink(0.3 + 0.4 * grey) is dark  # whatever the light: the ink stands out the same way


def test_photos_are_read_two_at_a_time_and_a_third_waits_then_is_told(pretrained_cnn, tmp_path, monkeypatch):
    from conftest import session_for
    from nn.session import session as session_module

    monkeypatch.setattr(session_module, "PHOTO_WAIT", 0.05)
    session = session_for(pretrained_cnn, "data/pretrained_cnn.npz", tmp_path / "custom.csv")
    page, _ = number_on_paper("5")
    for _ in range(session_module.PHOTOS_AT_ONCE):
        session._photos.acquire()
    with pytest.raises(Crowded, match="other photos are being read"):
        session.read_photo(jpeg(page))
    session._photos.release()
    assert session.read_photo(jpeg(page)).number.text == "5"
    session._photos.release()
    done = []
    threads = [threading.Thread(target=lambda: done.append(session.read_photo(jpeg(page)).number.text))
               for _ in range(3)]
    monkeypatch.setattr(session_module, "PHOTO_WAIT", 30)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done == ["5"] * 3


# -- the tools it is built from --------------------------------------------------------------------------

def test_the_masks_morphology_matches_scipy_s_inside_the_picture():
    mask = np.random.default_rng(0).random((60, 80)) > 0.6
    assert (grown(mask, 2) == ndimage.binary_dilation(mask, np.ones((5, 5), bool))).all()
    assert (grown(mask, 3, axis=1) == ndimage.binary_dilation(mask, np.ones((1, 7), bool))).all()
    assert (opened(mask, 2, axis=0) == ndimage.binary_opening(mask, np.ones((5, 1), bool)))[4:-4].all()
    assert (eroded(mask) == ndimage.binary_erosion(mask)).all()
