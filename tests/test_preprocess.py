"""Normalising drawings and image files the way MNIST was made."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nn.session.canvas import Canvas, draw_demo
from nn.errors import DataError
from nn.files.images import load_image
from nn.session.preprocess import normalize, to_grey_levels


def centre_of_mass(field: np.ndarray) -> tuple[float, float]:
    total = field.sum()
    return ((field.sum(axis=1) * np.arange(28)).sum() / total,
            (field.sum(axis=0) * np.arange(28)).sum() / total)


def bounding_box(field: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    rows, cols = np.flatnonzero((field > threshold).any(axis=1)), np.flatnonzero((field > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test.images[:200].reshape(-1, 28, 28) / np.float32(255), mnist_test.labels[:200]


def test_output_is_an_mnist_shaped_field(digits):
    for image in digits[0][:50]:
        field = normalize(image)
        assert field.shape == (28, 28) and field.dtype == np.float32
        assert field.min() >= 0 and field.max() == pytest.approx(1)
        cy, cx = centre_of_mass(field)
        assert abs(cy - 14) <= 0.5 + 1e-6 and abs(cx - 14) <= 0.5 + 1e-6
        assert max(bounding_box(field, 0.01)) <= 21


def test_mnist_digits_come_out_as_they_went_in(digits, small_model):
    images, _ = digits
    fields = np.stack([normalize(x) for x in images])
    assert np.abs(fields - images).mean() < 0.005
    _, net = small_model
    assert np.mean(net.predict(fields.reshape(-1, 784)) == net.predict(images.reshape(-1, 784))) >= 0.99


def test_a_digit_in_a_corner_comes_out_as_the_centred_one(digits):
    for image in digits[0][:30]:
        corner = np.zeros((28, 28), np.float32)
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        corner[:crop.shape[0], :crop.shape[1]] = crop
        np.testing.assert_allclose(normalize(corner), normalize(image), atol=1e-6)


def test_a_digit_drawn_twice_as_large_comes_out_nearly_the_same(digits, pretrained):
    images, _ = digits
    larges = [np.asarray(Image.fromarray(x, mode="F").resize((56, 56), Image.Resampling.BILINEAR))
              for x in images[:30]]
    a = np.stack([normalize(x) for x in larges])
    b = np.stack([normalize(x) for x in images[:30]])
    differences = np.abs(a - b).mean(axis=(1, 2))
    assert differences.mean() < 0.05 and differences.max() < 0.1
    assert np.array_equal(pretrained.predict(a.reshape(-1, 784)), pretrained.predict(b.reshape(-1, 784)))


@pytest.mark.parametrize("digit", range(10))
def test_a_small_off_centre_drawing_is_centred_and_scaled_up(digit):
    small, centred = Canvas(), Canvas()
    draw_demo(small, digit, scale=0.6, shift=(-5, 4))  # same pen, so relatively bolder strokes
    draw_demo(centred, digit)
    a, b = normalize(small.ink), normalize(centred.ink)
    assert max(bounding_box(a)) == 20
    cy, cx = centre_of_mass(a)
    # A whole-pixel shift leaves the centre within half a pixel; a symmetric digit's centre lies
    # on a half pixel, where float32 sums differ by ~1e-6 from one Pillow version to the next.
    assert abs(cy - 14) <= 0.5 + 1e-5 and abs(cx - 14) <= 0.5 + 1e-5
    assert np.abs(a - b).mean() < 0.11


def test_bold_strokes_are_thinned_towards_mnist_width():
    from nn.session.preprocess import stroke_width

    canvas = Canvas(core=2.0, outer=3.0)  # a marker: strokes a third as wide as the digit
    draw_demo(canvas, 7, scale=0.8)
    field = normalize(canvas.ink)
    assert stroke_width(field) / max(bounding_box(field, 0.5)) < 0.26


def test_hairlines_on_a_big_picture_are_thickened():
    big = np.zeros((600, 600), np.float32)
    big[100:500, 300:302] = 1  # a "1" drawn with a 2-pixel pen on a 600-pixel scan
    big[100:110, 260:302] = 1
    field = normalize(big)
    assert (field > 0.5).sum(axis=1).max() >= 2  # at least two pixels wide, like MNIST's 1s


@pytest.mark.parametrize("ink", [np.zeros((28, 28)), np.zeros((100, 300))])
def test_blank_drawings_give_zeros(ink):
    assert not normalize(ink).any()


def test_one_pixel_and_full_ink_give_valid_fields():
    dot = np.zeros((28, 28))
    dot[3, 25] = 1
    field = normalize(dot)
    assert field.shape == (28, 28) and np.isfinite(field).all() and field.max() == 1
    full = normalize(np.ones((40, 40)))
    assert full.shape == (28, 28) and bounding_box(full) == (20, 20)


@pytest.mark.parametrize("bad", [np.full((28, 28), np.nan), np.zeros(784), np.zeros((0, 5))])
def test_bad_arrays_raise_a_clear_error(bad):
    with pytest.raises(DataError):
        normalize(bad)


def test_grey_levels_for_the_csv():
    field = np.zeros((28, 28), np.float32)
    field[0, 0], field[27, 27] = 1, 0.5
    levels = to_grey_levels(field)
    assert levels.dtype == np.uint8 and levels.shape == (784,)
    assert levels[0] == 255 and levels[-1] == 128


# -- image files ------------------------------------------------------------------------------

def picture(digit_ink: np.ndarray, size: tuple[int, int], dark_on_light: bool, mode: str = "L",
            paper: int = 235, pen: int = 20) -> Image.Image:
    """A picture of a digit at another size and polarity, like a scan or a paint program's file:
    the digit scaled (keeping its shape) to fill the shorter side, centred on a (width, height) page."""
    side = min(size)
    scaled = np.asarray(Image.fromarray(digit_ink.astype(np.float32), mode="F").resize(
        (side, side), Image.Resampling.BILINEAR))
    ink = np.zeros((size[1], size[0]), np.float32)
    top, left = (size[1] - side) // 2, (size[0] - side) // 2
    ink[top:top + side, left:left + side] = np.clip(scaled, 0, 1)
    background, colour = (paper, pen) if dark_on_light else (255 - paper, 255 - pen)
    grey = np.round(background + (colour - background) * ink).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert(mode)


@pytest.mark.parametrize("size, dark, mode, suffix", [
    ((280, 280), True, "L", ".png"), ((37, 91), False, "L", ".png"), ((500, 333), True, "RGB", ".jpg"),
    ((64, 64), False, "RGB", ".bmp"), ((1500, 1200), True, "L", ".png")])
def test_image_files_of_any_size_and_polarity(tmp_path, digits, size, dark, mode, suffix):
    image = digits[0][0]
    path = tmp_path / f"digit{suffix}"
    picture(image, size, dark, mode).save(path)
    field = normalize(load_image(path))
    assert np.abs(field - normalize(image)).mean() < 0.08


def test_transparent_background_png(tmp_path, digits):
    image = digits[0][1]
    rgba = np.zeros((140, 140, 4), np.uint8)  # black pen on a transparent background
    big = np.asarray(Image.fromarray(image, mode="F").resize((140, 140), Image.Resampling.BILINEAR))
    rgba[..., 3] = np.round(np.clip(big, 0, 1) * 255)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "t.png")
    assert np.abs(normalize(load_image(tmp_path / "t.png")) - normalize(image)).mean() < 0.08


def test_specks_on_a_scan_are_ignored(tmp_path, digits):
    image = digits[0][2]
    pic = np.array(picture(image, (300, 300), True))
    pic[5:8, 5:8] = 20  # a fleck of dust in the corner
    pic[290:292, 150:152] = 30
    Image.fromarray(pic).save(tmp_path / "dusty.png")
    assert np.abs(normalize(load_image(tmp_path / "dusty.png")) - normalize(image)).mean() < 0.08


def test_blank_picture_gives_no_ink(tmp_path):
    Image.new("L", (50, 80), 240).save(tmp_path / "blank.png")
    assert not normalize(load_image(tmp_path / "blank.png")).any()


@pytest.mark.parametrize("content, fragment", [
    (b"hello, I am text", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image"),
])
def test_files_that_are_not_images(tmp_path, content, fragment):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        load_image(path)


def test_truncated_png(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match="a.png"):
        load_image(tmp_path / "a.png")


def test_missing_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_image(tmp_path / "none.png")
    with pytest.raises(DataError, match="is a directory"):
        load_image(tmp_path)


@pytest.mark.slow  # writes and reads pictures of tens of megapixels
def test_a_huge_picture_is_refused_before_it_is_decoded(tmp_path):
    """A transparent 9000x9000 PNG is 300 KB on disk and 324 MB decoded (3 GB once converted)."""
    import tracemalloc

    path = tmp_path / "huge.png"
    Image.new("LA", (9000, 9000)).save(path)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"9,000x9,000 pixels, more than the 40 megapixels"):
            load_image(path)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_large_photo_is_reduced_before_it_is_converted(tmp_path, digits):
    import tracemalloc

    ink = np.kron(digits[0][0], np.ones((150, 150), np.float32))  # 4200x4200, 18 megapixels
    path = tmp_path / "scan.png"
    Image.fromarray(np.round(255 - ink * 255).astype(np.uint8), mode="L").convert("RGBA").save(path)
    tracemalloc.start()
    try:
        loaded = load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(loaded.shape) == 1024 and loaded.max() > 0.9
    assert peak < 120 * 2**20, peak  # the 70 MB RGBA picture once, not as floats (280 MB each)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_float_picture_with_infinite_pixels_is_one_line(tmp_path, capfd, bad):
    values = np.zeros((40, 40), np.float32)
    values[10:30, 18:22] = 1.0
    values[0, 0] = bad
    path = tmp_path / "float.tiff"
    Image.fromarray(values, mode="F").save(path)
    with pytest.raises(DataError, match="NaN or infinite pixel values"):
        load_image(path)
    assert capfd.readouterr().err == ""  # no warnings on the way


def test_special_files_are_refused_not_read(tmp_path):
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are POSIX")
    os.mkfifo(tmp_path / "pipe.png")
    for path in (tmp_path / "pipe.png", "/dev/zero"):
        with pytest.raises(DataError, match="not an image|FIFO|device"):
            load_image(path)


# -- what is ink in a picture: what stands out from the paper around it --------------------------

def photo(shading: str, digits: str = "", noise: float = 0.02, quality: int = 75, seed: int = 0,
          size: int = 220, pen: float = 0.25) -> Image.Image:
    """A phone photo of paper, 800 x 600: lit as `shading` says, with `digits` written on it
    (pen: the ink's darkness as a share of the paper's lightness, 0 black), grain, JPEG."""
    import io

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:600, 0:800] / np.array([600.0, 800.0])[:, None, None]
    paper = {"even": np.full((600, 800), 0.92), "top to bottom": 0.95 - 0.45 * y,
             "into a corner": 0.95 - 0.5 * np.clip(x + y - 1, 0, 1),
             "vignette": 0.95 - 0.8 * ((x - 0.5) ** 2 + (y - 0.5) ** 2),
             "half in shadow": np.where(x < 0.5, 0.93, 0.5),
             "a grey gradient": np.tile(np.linspace(0.3, 0.98, 800), (600, 1))}[shading]
    grey = paper.copy()
    for k, digit in enumerate(digits):
        canvas = Canvas()
        draw_demo(canvas, int(digit))
        ink = np.clip(np.asarray(Image.fromarray(canvas.ink, mode="F").resize((size, size))), 0, 1)
        top, left = 300 - size // 2, 400 - size * len(digits) // 2 + k * size
        region = (slice(top, top + size), slice(left, left + size))
        grey[region] = grey[region] * (1 - ink) + ink * pen * paper[region]
    grey = np.clip(grey + rng.normal(0, noise, grey.shape), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return Image.open(buffer)


SHADINGS = ["even", "top to bottom", "into a corner", "vignette", "half in shadow", "a grey gradient"]


@pytest.mark.slow  # pictures: a matrix of them
@pytest.mark.parametrize("shading", SHADINGS)
@pytest.mark.parametrize("noise, quality", [(0.0, 95), (0.01, 90), (0.02, 75), (0.03, 50)])
def test_blank_paper_has_no_ink_however_it_is_lit(tmp_path, shading, noise, quality):
    """Shading, uneven light, a shadow's edge, grain and JPEG's blocks are paper, not ink."""
    photo(shading, noise=noise, quality=quality).save(tmp_path / "blank.png")
    assert not load_image(tmp_path / "blank.png").any()


@pytest.mark.slow  # pictures: a matrix of them
@pytest.mark.parametrize("shading", SHADINGS)
@pytest.mark.parametrize("pen", [0.25, 0.8])  # a pen; pencil pressed lightly (a fifth darker than the paper)
def test_a_number_on_shaded_paper_is_read(tmp_path, pretrained_cnn, shading, pen):
    from nn.session.numbers import read_number

    photo(shading, "27", pen=pen, noise=0.01, seed=1).save(tmp_path / "27.png")
    assert read_number(pretrained_cnn, load_image(tmp_path / "27.png")).text == "27"


def test_a_stroke_in_the_shade_is_as_strong_as_one_in_the_light(tmp_path):
    """Ink is measured against the paper where it lies: the same pen, half of the page in shadow."""
    photo("half in shadow", "11", noise=0.0, quality=95, size=300).save(tmp_path / "11.png")
    ink = load_image(tmp_path / "11.png")
    light, shade = ink[:, :400], ink[:, 400:]
    assert light.max() > 0.9 and shade.max() > 0.9
    assert abs(float(np.percentile(light[light > 0.5], 50)) - float(np.percentile(shade[shade > 0.5], 50))) < 0.1


# -- pictures of extreme shapes: read, or one clear reason ----------------------------------------

def _marks(kind: str, height: int, width: int) -> np.ndarray:
    picture = np.full((height, width), 255, np.uint8)
    if kind == "black":
        picture[:] = 0
    elif kind == "half":
        picture[:, :width // 2] = 0
    elif kind == "row":
        picture[height // 2] = 0
    elif kind == "column":
        picture[:, width // 2] = 0
    elif kind == "diagonal":
        steps = np.arange(max(height, width))
        picture[steps * height // len(steps), steps * width // len(steps)] = 0
    elif kind == "dot":
        picture[height // 2, width // 2] = 0
    elif kind == "noise":
        picture = np.random.default_rng(height * width).integers(0, 256, (height, width)).astype(np.uint8)
    return picture


@pytest.mark.slow  # pictures: a matrix of them
@pytest.mark.parametrize("height, width", [(1, 1), (1, 2), (2, 1), (1, 10000), (10000, 1), (3, 3), (7, 500),
                                           (8, 8), (9, 50), (50, 9), (8, 300), (300, 8), (20, 3000),
                                           (16, 16), (200, 200)])
def test_pictures_of_extreme_shapes_are_read_or_refused_in_one_line(tmp_path, pretrained_cnn, height, width):
    """1 pixel high or wide, 1 x 1, long and thin, lines, dots, solid: a number, no digit, or a
    DataError naming the file (never an IndexError or a ValueError from deep inside)."""
    from nn.session.numbers import read_number

    for kind in ("black", "white", "half", "row", "column", "diagonal", "dot", "noise"):
        path = tmp_path / f"{kind}.png"
        Image.fromarray(_marks(kind, height, width)).save(path)
        try:
            number = read_number(pretrained_cnn, load_image(path), source=str(path))
        except DataError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e), (kind, str(e))
            continue
        assert len(number.text) <= 8, (kind, number.text)


def test_a_picture_too_small_or_too_thin_says_so(tmp_path):
    Image.fromarray(_marks("row", 1, 10000)).save(tmp_path / "row.png")
    with pytest.raises(DataError, match=r"row.png: the image is 10,000x1 pixels, too small to hold a digit"):
        load_image(tmp_path / "row.png")
    Image.fromarray(_marks("row", 20, 3000)).save(tmp_path / "strip.png")
    with pytest.raises(DataError, match=r"strip.png: the image is 3,000x20 pixels, too long and thin to read"):
        load_image(tmp_path / "strip.png")


def test_a_line_alone_is_no_number(tmp_path, pretrained_cnn):
    from nn.session.numbers import read_number
    from nn.session.photo import read_photo

    Image.fromarray(_marks("row", 200, 200)).save(tmp_path / "rule.png")
    with pytest.raises(DataError, match="rule.png: no digit found: only long straight lines across it"):
        read_photo(pretrained_cnn, tmp_path / "rule.png")
    short = np.zeros((200, 200), np.uint8)  # a rule too short to be ruling, alone: still no number
    short[100:104, 60:140] = 255
    with pytest.raises(DataError, match="short: only a line across it"):
        read_number(pretrained_cnn, short / 255.0, source="short")
