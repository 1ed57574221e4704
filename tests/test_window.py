"""The drawing window, driven by real pygame events (headless: SDL_VIDEODRIVER=dummy), and the
draw.py command: --predict on image files, --screenshot, a missing model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, assert_user_error, run_command, session_for
from nn.session.canvas import DEMO_STROKES
from nn.files.digits_csv import load_csv
from nn.session.preprocess import to_grey_levels


@pytest.fixture
def app(pretrained, tmp_path):
    from nn.window.app import DrawApp

    window = DrawApp(session_for(pretrained, "data/pretrained.npz", tmp_path / "custom.csv"))
    yield window
    if window.pygame.display.get_init():  # run() quits pygame when it ends
        window.pygame.event.clear()


def post(app, kind: str, **attributes) -> None:
    pg = app.pygame
    pg.event.post(pg.event.Event(getattr(pg, kind), **attributes))


def drag(app, cells: list[tuple[float, float]], button: int = 1) -> None:
    """Press at the first point (in cells), move through the others, release: then one frame."""
    pixels = [app.layout.to_pixels(c) for c in cells]
    buttons = (1, 0, 0) if button == 1 else (0, 0, 1)
    post(app, "MOUSEBUTTONDOWN", button=button, pos=pixels[0])
    for p in pixels[1:]:
        post(app, "MOUSEMOTION", pos=p, rel=(0, 0), buttons=buttons)
    post(app, "MOUSEBUTTONUP", button=button, pos=pixels[-1])
    app.process_pending()


def press(app, key: str) -> None:
    pg = app.pygame
    post(app, "KEYDOWN", key=getattr(pg, key), mod=0, unicode="", scancode=0)
    app.process_pending()


def draw_digit(app, digit: int) -> None:
    for path in DEMO_STROKES[digit]:
        drag(app, path)


def test_a_cnn_s_inside_view_shows_its_feature_maps(small_cnn, tmp_path):
    from nn.window.app import DrawApp

    net = small_cnn[1]
    app = DrawApp(session_for(net, "cnn.npz", tmp_path / "custom.csv"))
    try:
        draw_digit(app, 4)
        press(app, "K_s")
        press(app, "K_v")
        assert (app.state.view == "inside") and app.state.guess is not None
        inside = app.state.session.model.explainer.inside(app.state.field.reshape(-1))
        assert [m.shape for m in inside.maps] == [(28, 28, 4), (14, 14, 8)]
        # the first convolution's maps, drawn in the panel's right column: not the background
        shot = app.pygame.surfarray.array3d(app.screen)
        x = app.layout.panel_x + (app.layout.panel_width - 16) // 2 + 16 + 10
        column = shot[x, 150:400]
        assert (np.abs(column.astype(int) - (28, 30, 38)).sum(axis=1) > 0).sum() > 50
        app.save_screenshot(tmp_path / "cnn.png")
        assert (tmp_path / "cnn.png").stat().st_size > 10_000
    finally:
        app.pygame.event.clear()


def test_a_stroke_marks_the_cells_under_the_pointer(app):
    drag(app, [(5.5, 10.5), (12.5, 10.5), (20.5, 10.5)])
    assert np.all(app.state.canvas.ink[10, 5:21] == 1)
    assert 0 < app.state.canvas.ink[9, 12] < 1 and 0 < app.state.canvas.ink[11, 12] < 1  # soft edges
    assert np.all(app.state.canvas.ink[:8] == 0) and np.all(app.state.canvas.ink[13:] == 0)


def test_a_fast_stroke_leaves_no_gaps(app):
    drag(app, [(2.5, 2.5), (25.5, 25.5)])  # one motion event across the whole grid
    assert all(app.state.canvas.ink[i, i] == 1 for i in range(2, 26))


def test_clicks_outside_the_grid_do_not_paint(app):
    post(app, "MOUSEBUTTONDOWN", button=1, pos=(app.layout.panel_x + 50, 200))
    post(app, "MOUSEMOTION", pos=(app.layout.panel_x + 80, 260), rel=(0, 0), buttons=(1, 0, 0))
    app.process_pending()
    assert app.state.canvas.blank


def test_right_button_erases(app):
    drag(app, [(3.5, 14.5), (24.5, 14.5)])
    drag(app, [(14.5, 9.5), (14.5, 19.5)], button=3)
    assert app.state.canvas.ink[14, 14] == 0 and app.state.canvas.ink[14, 4] == 1


@pytest.mark.parametrize("key", ["K_c", "K_BACKSPACE"])
def test_c_and_backspace_clear(app, key):
    draw_digit(app, 1)
    press(app, "K_s")
    press(app, key)
    assert app.state.canvas.blank and app.state.guess is None and not app.state.field.any()


def test_s_on_an_empty_canvas_does_not_guess(app, capsys):
    press(app, "K_s")
    assert app.state.guess is None and "Draw a digit first" in app.state.status
    assert "Prediction" not in capsys.readouterr().out


@pytest.mark.parametrize("digit", range(10))
def test_s_guesses_a_drawn_digit_and_prints_it(app, capsys, digit):
    draw_digit(app, digit)
    press(app, "K_s")
    assert app.state.guess is not None and app.state.guess.digit == digit
    assert app.state.guess.probabilities.shape == (10,) and app.state.guess.probabilities.sum() == pytest.approx(1, abs=1e-5)
    out = capsys.readouterr().out.strip()
    assert out == f"Prediction: {digit} ({app.state.guess.confidence:.1%})"


def test_mnist_digits_painted_into_the_grid_get_the_models_prediction(app, pretrained, mnist_test):
    images = mnist_test.images[:100]
    expected = pretrained.predict(images / np.float32(255))
    got = []
    for image in images:
        app.state.canvas.ink[:] = image.reshape(28, 28) / 255  # painted cell by cell
        app.state.canvas_changed()
        press(app, "K_s")
        got.append(app.state.guess.digit)
    assert np.mean(np.array(got) == expected) >= 0.98


def test_labeling_appends_a_row_the_loader_reads_back(app, tmp_path):
    draw_digit(app, 4)
    press(app, "K_s")
    field = app.state.field.copy()
    press(app, "K_4")
    assert app.state.canvas.blank and "Saved as 4" in app.state.status  # cleared for the next one
    draw_digit(app, 7)
    press(app, "K_s")
    press(app, "K_KP1")  # keypad digits work too: the user says this 7 is a 1
    data = load_csv(tmp_path / "custom.csv", use_cache=False)
    assert data.labels.tolist() == [4, 1]
    assert np.array_equal(data.images[0], to_grey_levels(field))
    header = (tmp_path / "custom.csv").read_text().splitlines()[0]
    assert header.startswith("label,pixel0,") and header.endswith(",pixel783")


def test_digits_need_a_guess_of_the_current_drawing(app, tmp_path):
    draw_digit(app, 2)
    press(app, "K_2")  # no guess yet
    assert not (tmp_path / "custom.csv").exists() and "Press S first" in app.state.status
    press(app, "K_s")
    drag(app, [(3, 3), (5, 5)])  # drawn on since the guess
    press(app, "K_2")
    assert not (tmp_path / "custom.csv").exists()


def test_live_mode_guesses_while_drawing(app, capsys):
    press(app, "K_l")
    assert app.state.live
    draw_digit(app, 0)
    assert app.state.guess is not None and app.state.guess.version == app.state.version and app.state.guess.digit == 0
    assert "Prediction" not in capsys.readouterr().out  # live guesses are not printed
    press(app, "K_c")
    assert app.state.guess is None
    press(app, "K_l")
    assert not app.state.live


@pytest.mark.parametrize("how", ["K_ESCAPE", "K_q", "QUIT"])
def test_quit(app, how):
    if how == "QUIT":
        post(app, "QUIT")
        app.process_pending()
    else:
        press(app, how)
    assert not app.state.running


def test_resizing_lays_out_the_same_window_for_the_space_there_is(app):
    screen = app.pygame.display.get_surface()
    post(app, "VIDEORESIZE", w=1600, h=1100, size=(1600, 1100))
    app.process_pending()
    assert app.layout.cell == (1100 - 2 * 16 - 56) // 28  # the grid takes the height...
    assert app.layout.panel_width == 520  # ...and the panel the width left over, up to its limit
    post(app, "VIDEORESIZE", w=400, h=300, size=(400, 300))  # smaller than it should ever be
    app.process_pending()
    assert app.pygame.display.get_surface() is screen  # the same window: never recreated
    assert app.layout.cell >= 8 and app.layout.panel_width >= 300
    drag(app, [(1.5, 1.5), (26.5, 1.5)])
    assert np.all(app.state.canvas.ink[1, 2:26] == 1)  # the mouse still maps onto the right cells


def test_the_guess_is_drawn_in_the_panel(app):
    from nn.window.render import BEST

    draw_digit(app, 9)
    press(app, "K_s")
    bar = app.frame.bars[9]
    assert app.screen.get_at((bar.x + 2, bar.centery))[:3] == BEST
    assert app.screen.get_at((bar.x + 2, app.frame.bars[3].centery))[:3] != BEST


def test_ten_thousand_random_events(app):
    pg = app.pygame
    rng = np.random.default_rng(0)
    width, height = app.screen.get_size()
    keys = [pg.K_s, pg.K_c, pg.K_l, pg.K_BACKSPACE, pg.K_a, pg.K_SPACE, pg.K_F1] + \
           [pg.K_0 + d for d in range(10)]
    for i in range(10_000):
        pos = (int(rng.integers(-50, width + 50)), int(rng.integers(-50, height + 50)))
        kind = rng.integers(0, 6)
        if kind == 0:
            event = pg.event.Event(pg.MOUSEBUTTONDOWN, button=int(rng.integers(1, 6)), pos=pos)
        elif kind == 1:
            event = pg.event.Event(pg.MOUSEBUTTONUP, button=int(rng.integers(1, 6)), pos=pos)
        elif kind in (2, 3):
            event = pg.event.Event(pg.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(1, 0, 0))
        elif kind == 4:
            event = pg.event.Event(pg.KEYDOWN, key=int(rng.choice(keys)), mod=0, unicode="")
        else:
            size = (int(rng.integers(100, 1600)), int(rng.integers(100, 1200)))
            event = pg.event.Event(pg.VIDEORESIZE, w=size[0], h=size[1], size=size)
        app.handle(event)
        app.state.update()
        if i % 100 == 0:
            app.render()
            width, height = app.screen.get_size()
    assert np.isfinite(app.state.canvas.ink).all() and app.layout.cell >= 8


# -- draw.py as a command ----------------------------------------------------------------------

def save_picture(path, image: np.ndarray, size: tuple[int, int], dark_on_light: bool) -> None:
    """A 28x28 digit, scaled to fill a square of the shorter side, on a page of `size`."""
    side = min(size)
    big = np.clip(np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(
        (side, side), Image.Resampling.BILINEAR)), 0, 1)
    page = np.zeros((size[1], size[0]), np.float32)
    top, left = (size[1] - side) // 2, (size[0] - side) // 2
    page[top:top + side, left:left + side] = big
    grey = 255 - page * 255 if dark_on_light else page * 255
    Image.fromarray(np.round(grey).astype(np.uint8)).save(path)


def test_predict_image_files(tmp_path, mnist_test, pretrained):
    files, expected = [], []
    for i, (size, dark) in enumerate([((280, 280), True), ((45, 31), False), ((600, 900), True),
                                      ((28, 28), False), ((123, 77), True)]):
        image = mnist_test.images[i].reshape(28, 28) / np.float32(255)
        path = tmp_path / f"digit{i}.png"
        save_picture(path, image, size, dark)
        files.append(path)
        expected.append(int(pretrained.predict(image.reshape(1, 784))[0]))
    (tmp_path / "notes.png").write_text("not a picture")
    args = ["draw.py", "--model", str(REPO / "data" / "pretrained.npz"), "--predict"]
    result = run_command(*args, *map(str, files[:2]), str(tmp_path / "notes.png"), *map(str, files[2:]))
    assert result.returncode == 2
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    for line, path, digit in zip(lines, files, expected):
        shown_path, shown_digit, confidence = line.split("\t")
        assert shown_path == str(path) and int(shown_digit) == digit and 0.1 <= float(confidence) <= 1
    assert result.stderr.strip().splitlines() == [
        f"draw.py: error: {tmp_path / 'notes.png'}: not an image Pillow can read (PNG, JPG, BMP...)"]

    as_json = run_command(*args, *map(str, files), "--json")
    assert as_json.returncode == 0, as_json.stderr
    parsed = json.loads(as_json.stdout)
    assert [r["path"] for r in parsed] == list(map(str, files))
    assert [r["digit"] for r in parsed] == expected
    assert all(len(r["probabilities"]) == 10 and abs(sum(r["probabilities"]) - 1) < 1e-4 for r in parsed)


def test_predict_reads_a_photographed_number(tmp_path):
    """A number written on paper and photographed (dark ink, uneven light, a little noise, a
    JPEG): the number, and with --json each digit with its box in the picture's pixels."""
    from PIL import Image, ImageFilter

    from nn.session.canvas import NUMBER_WIDTH, Canvas, draw_number

    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, "2026")
    ink = canvas.ink[:, :60]
    scale = 10
    picture = Image.fromarray((255 - ink * 200).astype(np.uint8)).resize((60 * scale, 28 * scale), Image.Resampling.BICUBIC)
    grey = np.asarray(picture.filter(ImageFilter.GaussianBlur(2)), dtype=np.float64)
    grey += np.random.default_rng(0).normal(0, 6, grey.shape) + np.linspace(0, 30, grey.shape[1])
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(tmp_path / "number.jpg")
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 300)).astype(np.uint8)).save(tmp_path / "noise.png")
    Image.fromarray(np.full((100, 300), 240, np.uint8)).save(tmp_path / "blank.png")

    args = ["draw.py", "--predict", str(tmp_path / "number.jpg")]
    result = run_command(*args)
    assert result.returncode == 0, result.stderr
    path, number, confidence = result.stdout.strip().split("\t")
    assert number == "2026" and float(confidence) > 0.5
    parsed = json.loads(run_command(*args, "--json").stdout)[0]
    assert parsed["number"] == "2026" and [d["digit"] for d in parsed["digits"]] == [2, 0, 2, 6]
    assert "probabilities" not in parsed  # a number's digits each have their own confidence instead
    for d, expected in zip(parsed["digits"], canvas_boxes(ink, scale)):
        assert all(abs(a - b) <= 2 * scale for a, b in zip(d["box"], expected)), (d["box"], expected)

    bad = run_command("draw.py", "--predict", str(tmp_path / "noise.png"), str(tmp_path / "blank.png"))
    assert bad.returncode == 2 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert "noise.png: " in lines[0] and "noise" in lines[0].split("noise.png: ")[1]
    assert "blank.png: no digit found" in lines[1]


def canvas_boxes(ink: np.ndarray, scale: int) -> list[list[int]]:
    """The boxes of the ink's separate digits (columns apart), scaled: what --json should say."""
    columns = np.flatnonzero((ink > 0.3).any(axis=0))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    boxes = []
    for run in runs:
        rows = np.flatnonzero((ink[:, run[0]:run[-1] + 1] > 0.3).any(axis=1))
        boxes.append([run[0] * scale, rows[0] * scale, (run[-1] - run[0] + 1) * scale, (rows[-1] - rows[0] + 1) * scale])
    return boxes


def test_names_with_tabs_or_line_breaks_keep_each_line_three_fields(tmp_path, mnist_test):
    """A tab or a line break in a file's name would split or add fields: such a name is written
    in double quotes with C escapes, as git writes it; other names stay as they are."""
    image = mnist_test.images[0].reshape(28, 28) / np.float32(255)
    names = ["plain.png", "tab\there.png", "line\nbreak.png", 'quote"and\\slash\x1b.png']
    for name in names:
        save_picture(tmp_path / name, image, (56, 56), True)
    result = run_command("draw.py", "--model", str(REPO / "data" / "pretrained.npz"), "--predict",
                         *(str(tmp_path / n) for n in names))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(len(line.split("\t")) == 3 for line in lines)
    shown = [line.split("\t")[0] for line in lines]
    assert shown[0] == str(tmp_path / "plain.png")
    assert shown[1] == f'"{tmp_path}/tab\\there.png"' and shown[2] == f'"{tmp_path}/line\\nbreak.png"'
    assert shown[3] == f'"{tmp_path}/quote\\"and\\\\slash\\x1b.png"'


def test_library_warnings_about_a_picture_never_reach_the_terminal(tmp_path):
    """Pillow warns "Corrupt EXIF data" (two lines, one of them its own source) for a photo whose
    EXIF block is damaged, though the picture reads: nothing of it may reach stderr."""
    import io

    picture = io.BytesIO()
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(picture, "JPEG")
    payload = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + b"\xff" * 40  # a TIFF header, then garbage
    data = picture.getvalue()
    (tmp_path / "photo.jpg").write_bytes(data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big")
                                         + payload + data[2:])
    result = run_command("draw.py", "--model", str(REPO / "data" / "pretrained.npz"), "--predict",
                         str(tmp_path / "photo.jpg"), env={"PYTHONWARNINGS": "always"})
    assert result.stderr == "" or result.stderr.startswith("draw.py: error:"), result.stderr
    assert "EXIF" not in result.stderr and "warnings.warn" not in result.stderr


def test_sigterm_closes_the_window_cleanly(tmp_path):
    """A `kill` (SIGTERM) to the window: it stops as Ctrl-C stops it, with status 143 and one line."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, str(REPO / "draw.py"), "--model", str(REPO / "data" / "pretrained.npz"),
                                "--custom-csv", str(tmp_path / "c.csv"), "--out", str(tmp_path / "m.npz")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**__import__("os").environ, "SDL_VIDEODRIVER": "dummy"})
    assert process.stdout.readline().startswith("Model: ")  # the window is open
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 143, (process.returncode, err)
    assert err.strip() == "draw.py: stopped by SIGTERM"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_screenshot(tmp_path):
    shot = tmp_path / "window.png"
    result = run_command("draw.py", "--model", str(REPO / "data" / "pretrained.npz"),
                         "--screenshot", str(shot), "--digit", "5", env={"SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 0, result.stderr
    assert "Prediction: 5 (" in result.stdout
    with Image.open(shot) as image:
        assert image.size == (3 * 16 + 28 * 20 + 300, 2 * 16 + 28 * 20 + 56)


def test_missing_or_corrupt_model(tmp_path):
    assert_user_error(run_command("draw.py", "--model", str(tmp_path / "nope.npz")),
                      "no model at", "run python train.py or pass --model")
    (tmp_path / "bad.npz").write_bytes(b"\x00" * 100)
    assert_user_error(run_command("draw.py", "--model", str(tmp_path / "bad.npz"), "--predict", "x.png"),
                      "bad.npz", "not a model file")


# -- a window that rests, says what is true, and shows the inside ------------------------------

def test_the_window_draws_nothing_while_nothing_happens(app):
    app.process_pending()
    frames = app.frames
    for _ in range(50):  # fifty turns of the loop at rest
        app.process_pending()
    assert app.frames == frames
    post(app, "MOUSEMOTION", pos=(5, 5), rel=(1, 1), buttons=(0, 0, 0))  # the mouse passing over
    app.process_pending()
    assert app.frames == frames
    drag(app, [(10, 10), (12, 12)])  # a stroke: one frame for the queued events together
    assert app.frames == frames + 1


def test_the_event_loop_sleeps_between_events(app):
    """run() waits in pygame.event.wait; with a quit queued it ends after one turn."""
    import threading

    post(app, "QUIT")
    done = threading.Event()
    thread = threading.Thread(target=lambda: (app.run(), done.set()), daemon=True)
    thread.start()
    assert done.wait(30)  # a guard against a hang: it ends after one turn


def test_drawing_after_a_guess_makes_it_stale_everywhere(app, tmp_path):
    from nn.window.render import BEST, DIM

    draw_digit(app, 7)
    press(app, "K_s")
    assert "press the digit you drew" in app.state.status
    drag(app, [(3, 3), (5, 5)])
    assert "drew more since the guess: press S again" in app.state.status  # the prompt follows the state
    bar = app.frame.bars[7]
    assert app.screen.get_at((bar.x + 2, bar.centery))[:3] == DIM  # the bars are no longer green
    press(app, "K_7")
    assert "press S again, then the digit" in app.state.status and not (tmp_path / "custom.csv").exists()
    press(app, "K_s")
    assert app.screen.get_at((bar.x + 2, bar.centery))[:3] == BEST


def test_the_status_line_follows_the_drawing(app):
    assert app.state.status == "Draw a digit, then press S."
    press(app, "K_s")
    assert app.state.status == "Draw a digit first."
    drag(app, [(10, 5), (10, 20)])
    assert app.state.status == "Press S to guess."  # not "Draw a digit first." any more
    press(app, "K_c")
    assert app.state.status.startswith("Cleared")
    drag(app, [(10, 5), (10, 20)])
    assert app.state.status == "Press S to guess."


def test_a_dot_is_too_small_and_says_so(app, capsys):
    drag(app, [(14, 14), (14.3, 14)])
    press(app, "K_s")
    assert app.state.guess.reading.verdict == "too small"
    assert "draw the digit bigger" in app.state.status
    assert "too small to read" in capsys.readouterr().out


def test_the_placeholder_and_the_keys_are_visible(app):
    from nn.window.render import DIM, FOOTER_KEYS

    assert "Esc: quit" in FOOTER_KEYS and "V: inside view" in FOOTER_KEYS
    app.render()
    panel = app.screen.subsurface((app.layout.panel_x + 150, 16, 150, 130))
    colours = {panel.get_at((x, y))[:3] for x in range(0, 150, 2) for y in range(0, 130, 2)}
    assert DIM in colours  # the "?" is drawn in a visible grey, not the grid's colour


def test_v_shows_the_inside_and_a_click_on_a_bar_explains_that_digit(app):
    from nn.window.render import BEST

    draw_digit(app, 5)
    press(app, "K_s")
    plain = app.screen.copy()
    press(app, "K_v")
    assert (app.state.view == "inside")
    assert app.screen.get_at((app.layout.panel_x + 40, 220)) != plain.get_at((app.layout.panel_x + 40, 220))
    evidence_area = app.screen.subsurface((app.layout.panel_x, 200, 140, 140))
    greens = sum(evidence_area.get_at((x, y))[1] > 150 for x in range(0, 140, 2) for y in range(0, 140, 2))
    assert greens > 20  # the evidence for 5 shows, in green
    bar = app.frame.bars[3]
    post(app, "MOUSEBUTTONDOWN", button=1, pos=bar.center)
    app.process_pending()
    assert app.state.explained == 3 and app.state.guess.digit == 5
    press(app, "K_v")
    assert not (app.state.view == "inside")
    assert app.screen.get_at((app.frame.bars[5].x + 2, app.frame.bars[5].centery))[:3] == BEST


def test_a_bigger_window_gives_the_panel_more_room(app):
    post(app, "VIDEORESIZE", w=1400, h=800, size=(1400, 800))
    app.process_pending()
    assert app.layout.panel_width > 300 and app.frame.bars[0].width == app.layout.panel_width - 90


@pytest.fixture
def teaching_app(pretrained, tmp_path, monkeypatch, mnist_test):
    """A window that can teach: the shipped MLP, drawings and the taught model in tmp_path, and
    MNIST cut down (2,000 rows to mix in, 1,000 to test on) so that teaching takes a second."""
    import nn.session.teach
    from nn.window.app import DrawApp

    monkeypatch.setattr(nn.session.teach, "mnist_sets", lambda: (mnist_test.subset(slice(0, 2000)),
                                                         mnist_test.subset(slice(9000, 10000))))
    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 60)
    window = DrawApp(session_for(pretrained, "data/pretrained.npz", tmp_path / "custom.csv"), echo=False)
    yield window
    window.pygame.event.clear()


def wait_for_teaching(app, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while app.state.session.teaching.running and time.monotonic() < deadline:
        app.state.session.teaching.wait(0.1)
        app.process_pending()  # the window keeps answering meanwhile
    app.process_pending()


def test_t_teaches_the_saved_drawings_and_u_undoes(teaching_app, tmp_path):
    app = teaching_app
    press(app, "K_t")  # nothing saved yet
    assert "no drawings saved yet" in app.state.status
    for k in range(30):
        draw_digit(app, k % 10)
        press(app, "K_s")
        press(app, f"K_{k % 10}")
    assert "30 in custom.csv" in app.state.status
    press(app, "K_t")
    assert app.state.teaching == "running" and app.state.status.startswith("Teaching your handwriting:")
    draw_digit(app, 3)  # drawing and guessing go on while it teaches
    press(app, "K_s")
    assert app.state.guess is not None
    wait_for_teaching(app)
    assert app.state.status.startswith("Taught: your digits: ") and "MNIST test: " in app.state.status
    assert (tmp_path / "model.npz").exists() and app.state.model_title.startswith(f"{tmp_path / 'model.npz'} (")
    taught = app.state.session.model.net
    press(app, "K_u")
    assert app.state.status.startswith("Undone: back to data/pretrained.npz")
    assert app.state.session.model.net is not taught and not (tmp_path / "model.npz").exists()  # the file teaching made is gone
    press(app, "K_u")
    assert app.state.status.startswith("Nothing to undo")


def test_esc_cancels_a_teaching_and_the_model_stays(teaching_app, tmp_path, monkeypatch):
    import nn.session.teach

    app = teaching_app
    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 5000)  # long enough to be cancelled
    from nn.files.digits_csv import append_csv
    from nn.bench.handwriting import style_digits
    from nn.session.preprocess import to_grey_levels

    drawn = style_digits("segments", 2, 0)
    append_csv(tmp_path / "custom.csv", np.stack([to_grey_levels(x.reshape(28, 28)) for x in drawn.inputs]),
               drawn.labels)
    before = app.state.session.model.net
    press(app, "K_t")
    assert app.state.teaching == "running"
    press(app, "K_ESCAPE")  # cancels the teaching, does not quit
    assert app.state.running
    wait_for_teaching(app)
    assert app.state.status == "Teaching cancelled: the model is as it was."
    assert app.state.session.model.net is before and not (tmp_path / "model.npz").exists()


def test_n_reads_a_whole_number_and_a_click_shows_one_digit(app, capsys):
    from nn.session.canvas import DEMO_STROKES

    press(app, "K_n")
    assert app.state.number_mode and app.state.canvas.width == 112 and "Number mode" in app.state.status
    for k, digit in enumerate("2026"):  # four digits, with the mouse, side by side
        for path in DEMO_STROKES[int(digit)]:
            drag(app, [((x - 14) * 0.8 + 13 * k + 8.5, 14 + (y - 14) * 0.8) for x, y in path])
    press(app, "K_s")
    assert app.state.read.text == "2026" and "Number: 2026" in capsys.readouterr().out
    assert app.state.status.startswith("Read 2026") and len(app.frame.chips) == 4
    assert app.state.selected == 0 and app.state.guess.digit == 2
    post(app, "MOUSEBUTTONDOWN", button=1, pos=app.frame.chips[3].center)
    app.process_pending()
    assert app.state.selected == 3 and app.state.guess.digit == 6 and np.array_equal(app.state.field, app.state.read.digits[3].reading.seen)
    press(app, "K_v")  # the inside view of that digit
    assert (app.state.view == "inside") and app.frames > 0
    press(app, "K_6")  # saving the digit shown, as a 6
    assert "Saved as 6" in app.state.status
    press(app, "K_n")  # back to one digit
    assert not app.state.number_mode and app.state.canvas.width == 28


def test_p_shows_every_step_from_the_drawing_to_what_the_network_sees(app):
    draw_digit(app, 7)
    press(app, "K_p")
    assert (app.state.view == "steps") and "The steps" in app.state.status
    frames = app.frames
    press(app, "K_s")
    assert app.frames > frames and app.state.guess.digit == 7
    steps = app.state.session.steps(app.state.canvas.ink)
    assert [s.name for s in steps][-1] == "numbers"
    press(app, "K_p")
    assert not (app.state.view == "steps")


def click(app, pos) -> None:
    post(app, "MOUSEBUTTONDOWN", button=1, pos=pos)
    post(app, "MOUSEBUTTONUP", button=1, pos=pos)
    app.process_pending()


def test_g_and_a_digit_take_a_learning_step_g_steps_again_and_k_keeps_it(app, tmp_path):
    draw_digit(app, 5)
    press(app, "K_s")
    model = app.state.session.model
    press(app, "K_g")  # the learning view asks for the right digit
    assert app.state.view == "learn" and "Which digit is it?" in app.state.status
    press(app, "K_3")  # a step toward 3: here the digit keys step, they do not save
    assert not (tmp_path / "custom.csv").exists()
    lesson = app.state.lesson
    assert (lesson.label, lesson.steps, lesson.result.lr) == (3, 1, 0.001)
    assert app.state.status.startswith(f"1 step toward 3: loss {lesson.result.losses[0]:.3f} -> ")
    press(app, "K_g")  # again: one more step, from the model in use each time
    assert app.state.lesson.steps == 2 and app.state.lesson.result.losses[0] == lesson.result.losses[0]
    assert app.state.lesson.result.losses[2] < app.state.lesson.result.losses[1] < app.state.lesson.result.losses[0]
    press(app, "K_3")  # the same digit: one more again
    assert app.state.lesson.steps == 3
    # the bars show the probabilities after the steps, with a tick where they were before
    after = app.state.lesson.result.probabilities[-1]
    bar = app.frame.bars[3]
    assert app.screen.get_at((bar.x + round(bar.width * float(after[3])) - 2, bar.centery))[:3] != (44, 48, 60)
    press(app, "K_LEFTBRACKET")  # half the rate: the steps are taken again
    assert app.state.rate == 0.0005 and app.state.lesson.result.lr == 0.0005 and app.state.lesson.steps == 3
    press(app, "K_RIGHTBRACKET")
    press(app, "K_RIGHTBRACKET")
    assert app.state.lesson.result.lr == 0.002
    assert app.state.session.model is model and app.frames > 0
    press(app, "K_k")  # keep it: saved like a taught model, and U undoes
    assert app.state.session.model is not model and app.state.session.out.exists()
    assert app.state.status.startswith("Kept: the model learned this 3 (3 steps at rate 0.002)")
    assert app.state.guess is not None and app.state.guess.probabilities[3] > 0.001  # the new model's guess
    press(app, "K_u")
    assert app.state.session.model is model and "Undone" in app.state.status


def test_g_needs_a_guess_k_a_step_and_esc_closes_the_learning_view(app):
    press(app, "K_g")
    assert app.state.view is None and "Press S first" in app.state.status
    draw_digit(app, 7)
    press(app, "K_s")
    press(app, "K_g")
    press(app, "K_k")
    assert "Nothing to keep" in app.state.status
    press(app, "K_7")
    drag(app, [(3, 3), (4, 4)])  # drawing more: the step shown was for the drawing before
    assert app.state.lesson is None
    press(app, "K_k")
    assert "Nothing to keep" in app.state.status
    press(app, "K_ESCAPE")  # closes the learning view; the window stays
    assert app.state.view is None and app.state.running
    press(app, "K_ESCAPE")
    assert not app.state.running


def test_a_click_on_a_hidden_unit_writes_out_its_sum(app):
    draw_digit(app, 5)
    press(app, "K_s")
    press(app, "K_v")
    rect = app.frame.units[0]
    shot = app.screen.copy()
    click(app, (rect.x + 1, rect.y + 1))  # the first unit
    assert app.state.unit == 0
    unit = app.state.session.unit(app.state.canvas.ink, 0)
    assert unit.unit == 0 and app.screen.get_at((app.layout.panel_x + 40, 230)) != shot.get_at((app.layout.panel_x + 40, 230))
    rect = app.frame.units[0]
    click(app, (rect.right - 1, rect.y + 1))  # row 0, the last column
    assert app.state.unit == app.frame.units[2] - 1
    click(app, (rect.right - 1, rect.y + 1))  # again: back to the evidence
    assert app.state.unit is None
    click(app, (rect.x + 1, rect.y + 1))
    click(app, app.frame.bars[2].center)  # a bar: that digit's evidence
    assert app.state.unit is None and app.state.explained == 2


def test_a_cnn_s_feature_map_clicked_shows_its_filter(small_cnn, tmp_path):
    from nn.session.learning import FilterMap
    from nn.window.app import DrawApp

    app = DrawApp(session_for(small_cnn[1], "cnn.npz", tmp_path / "custom.csv"))
    try:
        draw_digit(app, 4)
        press(app, "K_s")
        press(app, "K_v")
        rect, rows, columns, step, tile, n = app.frame.units
        assert (rows, columns, step, tile, n) == (2, 2, 29, 28, 4)
        click(app, (rect.right - 2, rect.bottom - 2))  # the map at the bottom right: filter 3
        assert app.state.unit == 3 and isinstance(app.state.session.unit(app.state.canvas.ink, 3), FilterMap)
        rect = app.frame.units[0]  # smaller now: room for the filter's lines
        click(app, (rect.centerx, rect.centery))  # on the line between the maps: nothing
        assert app.state.unit == 3
        press(app, "K_g")
        press(app, "K_4")
        assert app.state.lesson.result.filter_change.shape == (4, 5, 5)
    finally:
        app.pygame.event.clear()


def test_d_shows_what_the_network_thinks_each_digit_looks_like(app):
    press(app, "K_d")
    assert app.state.view == "dreams" and "each digit looks like" in app.state.status
    assert app.state.session.dreams().pictures.shape == (10, 784)
    press(app, "K_d")
    assert app.state.view is None


@pytest.mark.parametrize("number", [False, True])
def test_every_view_s_text_fits_the_window(app, small_cnn, tmp_path, number):
    """At the window's default size, with an MLP and a CNN, one digit and a number: every view,
    every line of text, inside the window."""
    from nn.window.app import DrawApp

    for window in (app, DrawApp(session_for(small_cnn[1], "cnn.npz", tmp_path / "c.csv"))):
        if number:
            press(window, "K_n")
            draw_digit(window, 2)
        else:
            draw_digit(window, 4)
        press(window, "K_s")
        for keys in ([], ["K_v"], ["K_v"], ["K_p"], ["K_p"], ["K_d"], ["K_d"], ["K_g", "K_7", "K_g"], ["K_ESCAPE"]):
            for key in keys:
                press(window, key)
            window.render()
            width, height = window.screen.get_size()
            for text, rect in window.frame.texts:
                assert rect.left >= 0 and rect.right <= width and rect.bottom <= height, (window.state.view, text, rect)
        window.pygame.event.clear()


def test_h_saves_the_model_as_a_page_that_reads_offline(app, tmp_path):
    app.state.pages = tmp_path / "temp"
    press(app, "K_h")
    page = tmp_path / "temp" / "pretrained.html"
    assert page.exists() and 'id="guess"' in page.read_text() and "temp/pretrained.html" in app.state.status
    before = page.stat().st_mtime_ns
    press(app, "K_h")  # again: the same page, written anew (atomically), not a second file
    assert sorted(p.name for p in (tmp_path / "temp").iterdir()) == ["pretrained.html"]
    assert page.stat().st_mtime_ns >= before
