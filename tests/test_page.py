"""The drawing page in a real browser: headless Chromium from the system (apt-get install chromium),
driven by Playwright. Digits are drawn with mouse events on a desktop-sized page and with touch
events on a phone-sized one, guessed, saved, and checked against the window's own brush.

Without Chromium or Playwright these tests skip and say why; with NN_REQUIRE_BROWSER=1 (as in
.ci/run) they fail instead, so CI cannot pass without running them. NN_UPDATE_SCREENSHOTS=1 also
writes the README's pictures, docs/web_page.png and docs/web_phone.png.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request

import numpy as np
import pytest

from conftest import REPO, running_page, session_for
from nn.files.digits_csv import load_csv
from nn.session.canvas import DEMO_STROKES, Canvas
from nn.session.preprocess import normalize, to_grey_levels

def serve(net, name: str, accuracy: float, custom, data=None) -> running_page:
    """The page as draw.py --web serves it: taught models go beside the drawings, and training
    reads (training CSV, test CSV), by default the bundled MNIST (read only if a test trains)."""
    train_csv, test_csv = data or (REPO / "data" / "mnist_train.csv.gz", REPO / "data" / "mnist_test.csv.gz")
    return running_page(session_for(net, name, custom, accuracy=accuracy, data=[train_csv], test=test_csv))


@pytest.fixture
def served(pretrained_cnn, tmp_path):
    """The page as a fresh clone serves it: with the shipped CNN."""
    with serve(pretrained_cnn, "data/pretrained_cnn.npz", 0.9957, tmp_path / "custom_digits.csv") as server:
        yield server


@pytest.fixture
def served_mlp(pretrained, tmp_path):
    with serve(pretrained, "data/pretrained.npz", 0.9905, tmp_path / "custom_digits.csv") as server:
        yield server


class Page:
    """One browser tab on the page, recording what a user would not want to see: JavaScript
    errors, console errors, and requests to anything but this server."""

    def __init__(self, browser, server, model: str = "data/pretrained_cnn.npz", **context):
        from playwright.sync_api import expect

        self.expect = expect
        self.url = f"http://127.0.0.1:{server.port}"
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.sent: list[dict] = []  # bodies posted to the API
        self.page.on("pageerror", lambda e: self.problems.append(f"JavaScript error: {e}"))
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("request", self._request)
        self.page.goto(self.url)
        expect(self.page.locator("#model")).to_contain_text(f"Model: {model}")
        self.box = self.page.locator("#grid").bounding_box()

    def _request(self, request) -> None:
        self.requests.append(request.url)
        if request.method == "POST" and request.headers.get("content-type") == "application/json":
            self.sent.append(request.post_data_json)  # (a photo goes as itself)

    def at(self, x: float, y: float) -> tuple[float, float]:
        """Cell coordinates -> page pixels, rounded to whole pixels as real pointers report them."""
        return (round(self.box["x"] + x / 28 * self.box["width"]),
                round(self.box["y"] + y / 28 * self.box["height"]))

    def cells(self, px: float, py: float) -> tuple[float, float]:
        """Page pixels -> cell coordinates, as the page computes them."""
        return ((px - self.box["x"]) / self.box["width"] * 28, (py - self.box["y"]) / self.box["height"] * 28)

    def mouse_strokes(self, strokes, button: str = "left") -> Canvas:
        """Draw with the mouse; return the window's canvas painted along the same pixels."""
        canvas = Canvas()
        for path in strokes:
            points = [self.at(*p) for p in path]
            self.page.mouse.move(*points[0])
            self.page.mouse.down(button=button)
            for p in points[1:]:
                self.page.mouse.move(*p)
            self.page.mouse.up(button=button)
            cells = [self.cells(*p) for p in points]
            for a, b in zip(cells[:1] + cells, cells):
                (canvas.stroke if button == "left" else canvas.erase)(a, b)
        return canvas

    def touch_strokes(self, strokes) -> None:
        """Draw with a finger: real touch events, which the browser turns into pointer events.
        Each stroke rests a moment before the finger lifts, as a real one does: lifted at full
        speed, the browser takes the stroke for a flick and swallows the next tap."""
        cdp = self.context.new_cdp_session(self.page)

        def touch(kind: str, points: list) -> None:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": x, "y": y, "id": 1} for x, y in points]})

        for path in strokes:
            points = [self.at(*p) for p in path]
            touch("touchStart", points[:1])
            for point in points[1:]:
                touch("touchMove", [point])
            for k in range(4):
                time.sleep(0.02)
                touch("touchMove", [(points[-1][0] + 0.25 * (k % 2), points[-1][1])])
            touch("touchEnd", [])
        cdp.detach()

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def guessed(self, digit: int) -> None:
        self.expect(self.page.locator("#guess")).to_have_text(str(digit))

    def close(self) -> None:
        self.context.close()
        assert self.problems == []
        assert all(url.startswith(self.url) for url in self.requests), self.requests


@pytest.fixture
def desktop(browser, served):
    page = Page(browser, served, viewport={"width": 1100, "height": 760})
    yield page
    page.close()


@pytest.fixture
def phone(browser, served):
    page = Page(browser, served, viewport={"width": 375, "height": 667}, device_scale_factor=2,
                is_mobile=True, has_touch=True)
    yield page
    page.close()


def test_a_digit_drawn_with_the_mouse_is_painted_like_the_window_and_guessed(desktop, tmp_path):
    expected = desktop.mouse_strokes(DEMO_STROKES[3])
    desktop.page.keyboard.press("s")
    desktop.guessed(3)
    assert desktop.text("#confidence").endswith("% sure")
    # the page painted with the window's brush: the grid it sent is the window's canvas
    grid = np.array(desktop.sent[-1]["grid"], dtype=np.float32).reshape(28, 28)
    assert np.abs(grid - expected.ink).max() < 1e-3
    bars = desktop.page.locator("#bars li")
    assert bars.count() == 10
    assert "best" in bars.nth(3).get_attribute("class")
    screenshot(desktop, tmp_path / "web_page.png")


def test_a_digit_key_saves_the_drawing_as_the_window_does(desktop, served):
    desktop.page.keyboard.press("4")  # nothing drawn, nothing guessed: refused
    desktop.expect(desktop.page.locator("#status")).to_contain_text("Press Guess (or S) first")
    canvas = desktop.mouse_strokes(DEMO_STROKES[7])
    desktop.page.keyboard.press("7")  # drawn but not guessed: refused
    desktop.expect(desktop.page.locator("#status")).to_contain_text("Press Guess (or S) first")
    assert not served.session.custom.exists()
    desktop.page.get_by_role("button", name="Guess").click()
    desktop.guessed(7)
    desktop.page.keyboard.press("7")
    desktop.expect(desktop.page.locator("#status")).to_have_text(
        "Saved as 7 (1 in custom_digits.csv). Draw the next one.")
    data = load_csv(served.session.custom, use_cache=False)
    assert data.labels.tolist() == [7]
    expected = to_grey_levels(normalize(canvas.ink))
    assert np.abs(data.images[0].astype(int) - expected.astype(int)).max() <= 1
    desktop.expect(desktop.page.locator("#guess")).to_have_text("?")  # cleared for the next one
    # a labelled button does the same
    desktop.mouse_strokes(DEMO_STROKES[1])
    desktop.page.get_by_role("button", name="Guess").click()
    desktop.page.locator("#labels button", has_text="1").click()
    desktop.expect(desktop.page.locator("#status")).to_contain_text("Saved as 1 (2 in")
    assert load_csv(served.session.custom, use_cache=False).labels.tolist() == [7, 1]


def test_drawing_after_a_guess_makes_it_stale_until_s_again(desktop, served):
    desktop.mouse_strokes(DEMO_STROKES[0])
    desktop.page.keyboard.press("s")
    desktop.guessed(0)
    desktop.mouse_strokes([[(20, 24), (24, 24)]])
    desktop.expect(desktop.page.locator("#status")).to_contain_text("press Guess (or S) again")
    assert desktop.page.locator("#guess").get_attribute("class") == "stale"
    assert "stale" in desktop.page.locator("#bars").get_attribute("class")
    desktop.page.keyboard.press("0")
    desktop.expect(desktop.page.locator("#status")).to_contain_text("You drew more since the guess")
    assert not served.session.custom.exists()


def test_the_inside_view_shows_the_hidden_layer_and_the_evidence(browser, served_mlp, tmp_path):
    desktop = Page(browser, served_mlp, viewport={"width": 1100, "height": 760}, model="data/pretrained.npz")
    desktop.mouse_strokes(DEMO_STROKES[5])
    desktop.page.keyboard.press("s")
    desktop.guessed(5)
    assert desktop.page.locator("#inside-view").is_hidden()
    assert desktop.sent[-1]["inside"] is False  # the plain view asks for the guess alone
    desktop.page.keyboard.press("v")
    desktop.expect(desktop.page.locator("#evidence-title")).to_have_text("Evidence for 5")
    desktop.expect(desktop.page.locator("#evidence-sum")).to_contain_text("from the pixels")
    desktop.expect(desktop.page.locator("#hidden")).to_contain_text("512 units")
    assert desktop.page.locator("#maps-view").is_hidden()  # an MLP has no feature maps
    screenshot(desktop, tmp_path / "web_inside_mlp.png", readme=False)
    desktop.page.locator("#bars li").nth(3).click()  # another digit's evidence
    desktop.expect(desktop.page.locator("#evidence-title")).to_have_text("Evidence for 3")
    assert desktop.sent[-1]["explain"] == 3 and desktop.sent[-1]["inside"] is True
    assert "explained" in desktop.page.locator("#bars li").nth(3).get_attribute("class")
    desktop.guessed(5)  # the guess itself does not change
    desktop.page.get_by_role("button", name="Inside").click()
    assert desktop.page.locator("#inside-view").is_hidden()
    desktop.close()


def test_a_cnn_s_inside_view_shows_its_feature_maps(browser, served, tmp_path):
    page = Page(browser, served, viewport={"width": 1100, "height": 900})
    page.expect(page.page.locator("#model")).to_contain_text("conv 16-32 (5x5), dense 1568-128-10")
    page.mouse_strokes(DEMO_STROKES[5])
    page.page.keyboard.press("v")
    page.page.keyboard.press("s")
    page.guessed(5)
    page.expect(page.page.locator("#maps")).to_contain_text("convolution 1: 16 maps of 28x28")
    page.expect(page.page.locator("#maps")).to_contain_text("convolution 2: 32 maps of 14x14")
    page.expect(page.page.locator("#hidden")).to_contain_text("128 units")
    page.expect(page.page.locator("#evidence-sum")).to_contain_text("from the pixels")
    sizes = page.page.evaluate("[...document.querySelectorAll('#maps canvas')].map(c => [c.width, c.height])")
    assert sizes == [[115, 115], [89, 89]]  # 4x4 maps of 28 and 6x6 maps of 14, one line apart
    screenshot(page, tmp_path / "web_inside.png")
    page.close()


def test_teach_learns_the_saved_drawings_shows_the_report_and_undoes(browser, pretrained, tmp_path,
                                                                    monkeypatch, mnist_test):
    import nn.session.teach
    from nn.files.digits_csv import append_csv
    from nn.bench.handwriting import style_digits
    monkeypatch.setattr(nn.session.teach, "mnist_sets", lambda: (mnist_test.subset(slice(0, 2000)),
                                                         mnist_test.subset(slice(9000, 10000))))
    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 64)
    custom = tmp_path / "custom_digits.csv"
    drawn = style_digits("segments", 1, 4)  # nine saved before, one drawn and saved on the page
    append_csv(custom, np.stack([to_grey_levels(x.reshape(28, 28)) for x in drawn.inputs[1:]]), drawn.labels[1:])

    with serve(pretrained, "data/pretrained.npz", 0.9905, custom) as server:
        page = Page(browser, server, viewport={"width": 1100, "height": 900}, model="data/pretrained.npz")
        page.page.get_by_role("button", name="Teach").click()
        page.expect(page.page.locator("#teach-status")).to_contain_text("only 9 drawings, too few")
        more = style_digits("segments", 1, 5)  # ten more: two of each digit, one of them set aside
        append_csv(custom, np.stack([to_grey_levels(x.reshape(28, 28)) for x in more.inputs]), more.labels)
        page.mouse_strokes(DEMO_STROKES[0])
        page.page.keyboard.press("s")
        page.guessed(0)
        page.page.keyboard.press("0")
        page.expect(page.page.locator("#status")).to_contain_text("Saved as 0 (20 in")
        page.page.get_by_role("button", name="Teach").click()
        page.expect(page.page.locator("#teach-status")).to_contain_text("Taught: your digits: ", timeout=60_000)
        page.expect(page.page.locator("#teach-status")).to_contain_text("MNIST test: ")
        page.expect(page.page.locator("#model")).to_contain_text(f"Model: {tmp_path / 'model.npz'}")
        assert (tmp_path / "model.npz").exists()
        screenshot(page, tmp_path / "web_teach.png", readme=False)
        page.page.get_by_role("button", name="Undo").click()
        page.expect(page.page.locator("#teach-status")).to_have_text("Undone: back to data/pretrained.npz.")
        page.expect(page.page.locator("#model")).to_contain_text("Model: data/pretrained.npz")
        assert not (tmp_path / "model.npz").exists()
        # the browser logs the first Teach's answer, 400 (too few drawings), as a failed load
        page.problems[:] = [p for p in page.problems if "responded with a status of 400" not in p]
        page.close()


def test_a_network_trained_on_the_page_shows_its_curves_and_weights_and_draws(browser, pretrained, tmp_path,
                                                                              mnist_test):
    from conftest import digit_rows, write_csv

    train_csv = write_csv(tmp_path / "train.csv", digit_rows(mnist_test.images[:1500], mnist_test.labels[:1500]))
    test_csv = write_csv(tmp_path / "test.csv", digit_rows(mnist_test.images[9000:], mnist_test.labels[9000:]))
    with serve(pretrained, "data/pretrained.npz", 0.9905, tmp_path / "custom_digits.csv",
               data=(train_csv, test_csv)) as server:
        page = Page(browser, server, viewport={"width": 1100, "height": 1000}, model="data/pretrained.npz")
        p = page.page
        p.fill("#t-hidden", "64")
        p.fill("#t-epochs", "1")
        p.fill("#t-batch", "1")  # 1,500 steps: long enough to watch a few polls
        p.fill("#t-lr", "0.01")
        p.get_by_role("button", name="Train").click()
        page.expect(p.locator("#train-status")).to_contain_text("Training 784-64-10: epoch 1/1 · step ")
        page.expect(p.locator("#weights-title")).to_contain_text("all 64 hidden units")
        first = p.evaluate("training.losses.length")
        weights = p.locator("#train-weights").screenshot()
        page.expect(p.locator("#train-status")).to_contain_text("Done. Test accuracy ", timeout=60_000)
        assert p.evaluate("training.losses.length") == 1500 > first  # every batch's loss, once
        assert p.locator("#train-weights").screenshot() != weights  # the weights changed as it learned
        assert not p.locator("#confusion-view").is_hidden()
        answer = server.session.trainer.state()
        assert p.evaluate("training.answer.history.test_accuracy[0]") == answer["history"]["test_accuracy"][0]
        screenshot(page, tmp_path / "web_train.png", readme=False)

        p.get_by_role("button", name="Draw with it").click()
        page.expect(p.locator("#model")).to_contain_text("Model: the 784-64-10 trained here (not saved)")
        p.evaluate("window.scrollTo(0, 0)")  # back up to the grid, as a user scrolls
        page.mouse_strokes(DEMO_STROKES[1])
        p.keyboard.press("s")
        page.guessed(1)
        p.get_by_role("button", name="Save", exact=True).click()
        page.expect(p.locator("#train-status")).to_contain_text(f"Saved as {tmp_path / 'model.npz'}")
        page.expect(p.locator("#model")).to_contain_text(f"Model: {tmp_path / 'model.npz'}")
        p.get_by_role("button", name="Back to the other model").click()
        page.expect(p.locator("#model")).to_contain_text("Model: data/pretrained.npz")
        page.close()


def test_a_dot_is_too_small_and_a_doubtful_guess_says_so(desktop):
    desktop.mouse_strokes([[(14, 14), (14.2, 14)]])
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#confidence")).to_have_text("too small")
    desktop.expect(desktop.page.locator("#note")).to_have_text("draw the digit bigger")
    desktop.expect(desktop.page.locator("#guess")).to_have_text("?")


def test_keys_pressed_quickly_save_one_drawing_once(desktop, served):
    desktop.mouse_strokes(DEMO_STROKES[2])
    desktop.page.keyboard.press("s")
    desktop.guessed(2)
    desktop.page.keyboard.press("2")
    desktop.page.keyboard.press("4")  # at once: while the first save is on its way, or after it
    desktop.page.keyboard.press("2")  # cleared the drawing; either way they add nothing
    desktop.expect(desktop.page.locator("#guess")).to_have_text("?")  # saved and cleared
    desktop.page.wait_for_timeout(300)
    assert load_csv(served.session.custom, use_cache=False).labels.tolist() == [2]


def test_erase_clear_and_live_mode(desktop):
    desktop.mouse_strokes(DEMO_STROKES[8])
    desktop.page.keyboard.press("s")
    desktop.guessed(8)
    # the right button erases with the window's eraser
    desktop.mouse_strokes([[(3, 14), (25, 14)]], button="right")
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#guess")).not_to_have_class("stale")
    grid = np.array(desktop.sent[-1]["grid"], dtype=np.float32).reshape(28, 28)
    assert grid[13:16].max() == 0 and grid[5].max() > 0
    # Clear empties the grid and the answer
    desktop.page.get_by_role("button", name="Clear").click()
    desktop.expect(desktop.page.locator("#guess")).to_have_text("?")
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#status")).to_have_text("Draw a digit first.")
    # live mode: the guess follows the pen, no S needed
    desktop.page.get_by_role("button", name="Live").click()
    desktop.mouse_strokes(DEMO_STROKES[6])
    desktop.guessed(6)
    desktop.page.keyboard.press("l")
    desktop.expect(desktop.page.locator("#status")).to_have_text("Live mode off.")
    # the Eraser button turns the left button into an eraser
    desktop.page.get_by_role("button", name="Eraser").click()
    desktop.mouse_strokes([[(x, y) for x in (4, 24)] for y in range(3, 26, 2)])
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#status")).to_have_text("Draw a digit first.")


def screenshot(page: Page, path, readme: bool = True) -> None:
    """A picture of the page as it is; with NN_UPDATE_SCREENSHOTS=1, also the README's copy."""
    page.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    if readme and os.environ.get("NN_UPDATE_SCREENSHOTS"):
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copy(path, REPO / "docs" / path.name)


def test_a_finger_draws_on_a_phone_without_scrolling_the_page(phone, tmp_path):
    page = phone.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits: no sideways scroll
    page.evaluate("""() => { window.pointerTypes = [];
        document.getElementById('grid').addEventListener('pointerdown',
            e => window.pointerTypes.push(e.pointerType)); }""")
    phone.touch_strokes(DEMO_STROKES[2])
    assert set(page.evaluate("window.pointerTypes")) == {"touch"}
    assert page.evaluate("window.scrollY") == 0  # the strokes drew; they did not scroll
    page.get_by_role("button", name="Guess").tap()
    phone.guessed(2)
    screenshot(phone, tmp_path / "web_phone.png")
    page.locator("#labels button", has_text="2").tap()
    phone.expect(page.locator("#status")).to_contain_text("Saved as 2 (1 in")
    # every control is on screen and big enough for a finger
    for name in ("Guess", "Eraser", "Clear", "Live"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 375, name


MEASURE_LAYOUT = """() => {
    const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; };
    const all = q => [...document.querySelectorAll(q)].map(box);
    return {scrollWidth: document.documentElement.scrollWidth,
            grid: box(document.querySelector("#grid")), seen: box(document.querySelector("#seen")),
            labels: all("#labels button"), track: box(document.querySelector("#bars .track")),
            tools: all(".tools button")};
}"""


@pytest.mark.parametrize("touch, sizes", [
    (True, [(320, 568), (375, 667), (667, 375), (768, 1024), (800, 900)]),  # phones and tablets
    (False, [(850, 700), (1024, 600), (1400, 900)]),  # laptop and desktop windows
], ids=["touch", "desktop"])
def test_the_layout_fits_phones_tablets_and_desktops(browser, served, touch, sizes):
    page = Page(browser, served, viewport={"width": sizes[0][0], "height": sizes[0][1]},
                has_touch=touch, is_mobile=touch)
    try:
        p = page.page
        for width, height in sizes:
            p.set_viewport_size({"width": width, "height": height})
            p.evaluate("window.scrollTo(0, 0)")
            where = f"{width}x{height}"
            boxes = p.evaluate(MEASURE_LAYOUT)  # every box at once: one round trip, not fifty
            assert boxes["scrollWidth"] <= width, where  # no sideways scroll
            grid = boxes["grid"]
            assert grid["width"] >= 200 and grid["y"] >= 0 and grid["y"] + grid["height"] <= height, where
            assert grid["x"] >= 0 and grid["x"] + grid["width"] <= width, where
            seen = boxes["seen"]
            assert seen["x"] >= 0 and seen["x"] + seen["width"] <= width, where
            assert len(boxes["labels"]) == 10, where
            for box in boxes["labels"]:
                assert box["width"] >= 28 and box["height"] >= 36 and box["x"] + box["width"] <= width, where
            assert boxes["track"]["width"] >= 100, where
            assert boxes["tools"], where
            for box in boxes["tools"]:  # under the grid, not over the answer
                assert box["x"] >= grid["x"] - 1 and box["x"] + box["width"] <= grid["x"] + grid["width"] + 1, where
                assert box["height"] >= 40, where
    finally:
        page.close()


def test_a_stopped_server_is_reported_on_the_page(desktop, served):
    desktop.mouse_strokes(DEMO_STROKES[5])
    served.stop()
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#status")).to_contain_text("The server does not answer")
    desktop.problems.clear()  # the browser logs the refused connection; that is the point here


def test_a_photo_of_a_number_on_ruled_paper_is_read_on_a_phone(phone, mnist_test, tmp_path):
    """The Photo button's file input (a phone opens its camera) takes a photo of a number written
    on ruled paper; the page sends it smaller, shows it with a box around each digit, puts the
    first digit on the grid and guesses it; a tap on another digit puts that one there; the steps
    view shows the photo's steps; and a digit of the photo saves like a drawing."""
    from nn.bench.photos import photos

    page = phone.page
    photo = photos(mnist_test, "ruled paper", 1, seed=4, side=(2000, 2400))[0]  # 7313, 1486 x 2114 pixels
    page.set_input_files("#photo-file", files=[{"name": "number.jpg", "mimeType": "image/jpeg", "buffer": photo.jpeg}])
    phone.expect(page.locator("#photo-text")).to_have_text(f"Read: {photo.text}", timeout=20_000)
    phone.guessed(int(photo.text[0]))
    reply = page.evaluate("photo.reply")  # the photo as the page sent it: at most 1600 pixels high
    assert (reply["width"], reply["height"]) == (round(1486 * 1600 / 2114), 1600)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    canvas = page.locator("#photo-canvas").bounding_box()
    x, y, w, h = reply["digits"][2]["box"]
    page.mouse.click(canvas["x"] + (x + w / 2) * canvas["width"] / reply["width"],
                     canvas["y"] + (y + h / 2) * canvas["height"] / reply["height"])
    phone.guessed(int(photo.text[2]))
    page.locator("#photo-view").scroll_into_view_if_needed()
    screenshot(phone, tmp_path / "web_photo.png")
    page.get_by_role("button", name="Steps").click()
    phone.expect(page.locator("#steps-title")).to_have_text("From your photo to what the network sees")
    phone.expect(page.locator("#steps-list img")).to_have_count(len(reply["steps"]))
    page.locator("#labels button").nth(int(photo.text[2])).click()
    phone.expect(page.locator("#status")).to_contain_text(f"Saved as {photo.text[2]}")


def number_strokes(number: str, step: float = 13.0) -> list:
    """The pen paths of `number` on the 28 x 112 grid of number mode, in cells, as draw_number
    paints them."""
    return [[((x - 14) * 0.8 + step * k + step / 2 + 2, 14 + (y - 14) * 0.8) for x, y in path]
            for k, digit in enumerate(number) for path in DEMO_STROKES[int(digit)]]


def test_a_number_drawn_with_the_mouse_is_read_and_each_digit_shown(desktop):
    """Written with its digits running together: cut, each digit shown, and the cuts among the steps."""
    desktop.page.get_by_role("button", name="Number").click()
    desktop.expect(desktop.page.locator("#status")).to_contain_text("Number mode")
    desktop.box = desktop.page.locator("#grid").bounding_box()
    assert desktop.box["width"] > 3.5 * desktop.box["height"]
    at = desktop.at
    desktop.at = lambda x, y: (round(desktop.box["x"] + x / 112 * desktop.box["width"]),
                               round(desktop.box["y"] + y / 28 * desktop.box["height"]))
    desktop.mouse_strokes(number_strokes("1234", step=10))  # close enough that they touch
    desktop.page.keyboard.press("s")
    desktop.expect(desktop.page.locator("#number-text")).to_have_text("Read: 1234")
    assert desktop.sent[-1]["width"] == 112 and len(desktop.sent[-1]["grid"]) == 28 * 112
    desktop.page.locator("#number-digits button").nth(3).click()
    desktop.guessed(4)
    desktop.page.get_by_role("button", name="Steps").click()
    desktop.expect(desktop.page.locator("#steps-list figure")).to_have_count(6)
    desktop.expect(desktop.page.locator("#steps-list figcaption").first).to_contain_text("Cuts tried where digits touch")
    desktop.expect(desktop.page.locator("#steps-list figcaption").last).to_contain_text("784 numbers")
    desktop.at = at


def test_a_number_drawn_by_touch_on_a_phone_on_its_side(browser, served):
    page = Page(browser, served, viewport={"width": 740, "height": 360}, device_scale_factor=2,
                is_mobile=True, has_touch=True)
    page.page.get_by_role("button", name="Number").click()
    page.page.locator("#grid").scroll_into_view_if_needed()
    page.box = page.page.locator("#grid").bounding_box()
    page.at = lambda x, y: (round(page.box["x"] + x / 112 * page.box["width"]),
                            round(page.box["y"] + y / 28 * page.box["height"]))
    page.touch_strokes(number_strokes("47"))
    page.page.get_by_role("button", name="Guess").click()
    page.expect(page.page.locator("#number-text")).to_have_text("Read: 47")
    page.close()


def test_one_step_of_learning_on_the_drawing_step_again_keep_and_undo(browser, served_mlp, tmp_path):
    page = Page(browser, served_mlp, viewport={"width": 1100, "height": 1400}, model="data/pretrained.npz")
    p, status = page.page, page.page.locator("#status")
    before = served_mlp.session.model
    weights = before.net.layers[0].W.copy()
    page.mouse_strokes(DEMO_STROKES[5])
    p.keyboard.press("s")
    page.guessed(5)
    p.keyboard.press("g")  # the learning view asks for the right digit
    page.expect(status).to_contain_text("Which digit is it?")
    assert p.locator("#learn-lr").input_value() == "0.001"  # the model's own rate, which can be changed
    p.locator("#learn-lr").fill("0.005")
    p.locator("#learn-labels button").nth(3).click()  # a step toward 3 (so are the digit keys here)
    page.expect(status).to_contain_text("1 step toward 3: loss ")
    page.expect(p.locator("#learn-title")).to_have_text("Learning toward 3, lr 0.005")
    page.expect(p.locator("#bars-title")).to_have_text("After the step")
    first, after = [float(v) for v in p.locator("#learn-loss").inner_text().split(": ")[1].split(" → ")]
    assert after < first
    step = page.sent[-1]
    assert step["label"] == 3 and step["steps"] == 1 and step["lr"] == 0.005
    assert p.locator("#learn-error li").count() == 10
    assert "label" in p.locator("#learn-error li").nth(3).get_attribute("class")
    assert p.locator("#learn-error li").nth(3).locator(".bar").get_attribute("class") == "bar up"
    assert p.locator("#learn-error li").nth(5).locator(".bar").get_attribute("class") == "bar down"
    assert p.locator("#learn-changes canvas").count() == 8
    p.keyboard.press("3")  # the same digit again: one more step
    page.expect(status).to_contain_text("2 steps toward 3")
    losses = [float(v) for v in p.locator("#learn-loss").inner_text().split(": ")[1].split(" → ")]
    assert len(losses) == 3 and losses[0] == first and losses[2] < losses[1] < losses[0]
    fill = lambda d: float(p.locator("#bars li").nth(d).locator(".fill").get_attribute("style")[7:-2])
    tick = p.locator("#bars li").nth(3).locator(".tick")
    assert tick.is_visible() and fill(3) > float(tick.get_attribute("style").split("calc(")[1].split("%")[0]) + 5
    three = fill(3)
    p.get_by_role("button", name="Step", exact=True).click()  # and the button: the bars move on
    page.expect(status).to_contain_text("3 steps toward 3")
    assert fill(3) > three
    screenshot(page, tmp_path / "web_learn.png")
    assert served_mlp.session.model is before and np.array_equal(before.net.layers[0].W, weights)
    assert not served_mlp.session.out.exists()  # nothing kept yet
    p.keyboard.press("k")  # keep: the model in use learns it, saved, and Undo takes it back
    page.expect(status).to_contain_text("Kept: the model learned this 3 (3 steps at rate 0.005)")
    assert served_mlp.session.model is not before and served_mlp.session.out.exists()
    assert p.locator("#undo").is_enabled()
    p.locator("#undo").click()
    page.expect(p.locator("#teach-status")).to_contain_text("Undone")
    assert served_mlp.session.model is before
    page.close()


def test_a_hidden_unit_clicked_has_its_sum_written_out_and_dreams_show(browser, served_mlp, tmp_path):
    page = Page(browser, served_mlp, viewport={"width": 1100, "height": 1400}, model="data/pretrained.npz")
    p = page.page
    page.mouse_strokes(DEMO_STROKES[5])
    p.keyboard.press("v")
    p.keyboard.press("s")
    page.guessed(5)
    hidden = p.locator("#hidden canvas").first
    page.expect(hidden).to_be_visible()
    box = hidden.bounding_box()
    p.mouse.click(box["x"] + box["width"] * 1.5 / 23, box["y"] + box["height"] * 0.5 / 23)  # row 0, column 1
    page.expect(p.locator("#evidence-title")).to_have_text("Unit 1: its 784 weights")
    assert page.sent[-1]["unit"] == 1
    written = p.locator("#unit-sum").inner_text()
    assert written.startswith("z = w·x + b") and "relu(z) = " in written
    unit = served_mlp.session.unit(page_grid(page), 1)
    assert f"= z {unit.z:+.3f}" in written
    screenshot(page, tmp_path / "web_unit.png", readme=False)
    p.locator("#bars li").nth(5).click()  # a bar: its evidence again
    page.expect(p.locator("#evidence-title")).to_have_text("Evidence for 5")
    assert p.locator("#unit-sum").is_hidden()
    p.keyboard.press("d")
    page.expect(p.locator("#dreams-list figure")).to_have_count(10)
    captions = p.locator("#dreams-list figcaption").all_inner_texts()
    assert [c.split(":")[0] for c in captions] == [str(d) for d in range(10)]
    assert all(int(c.split(": ")[1].rstrip("%")) >= 90 for c in captions)
    screenshot(page, tmp_path / "web_dreams.png", readme=False)
    page.close()


def page_grid(page: Page) -> np.ndarray:
    """The drawing the page last sent, as ink (28, 28)."""
    return np.array(page.sent[-1]["grid"], dtype=np.float32).reshape(28, 28)


@pytest.fixture
def class_served(pretrained_cnn, tmp_path):
    """draw.py --web --classroom, on loopback for the test: the teacher's and the class's links."""
    session = session_for(pretrained_cnn, "data/pretrained_cnn.npz", tmp_path / "custom_digits.csv", accuracy=0.9957,
                          data=[REPO / "data" / "mnist_train.csv.gz"], test=REPO / "data" / "mnist_test.csv.gz")
    with running_page(session, classroom=True) as server:
        yield server


class LinkPage(Page):
    """A tab opened on a link, as a phone opens what it scanned (no model line to wait for first)."""

    def __init__(self, browser, server, link: str, **context):
        from playwright.sync_api import expect

        self.expect, self.url = expect, f"http://127.0.0.1:{server.port}"
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.problems, self.requests, self.sent = [], [], []
        self.page.on("pageerror", lambda e: self.problems.append(f"JavaScript error: {e}"))
        self.page.on("request", self._request)
        self.page.goto(link)
        self.box = self.page.locator("#grid").bounding_box()


def test_the_class_s_link_opens_a_page_without_the_teacher_s_controls(browser, class_served, tmp_path):
    link = class_served.link("class")
    phone = LinkPage(browser, class_served, link, viewport={"width": 375, "height": 667}, is_mobile=True,
                     has_touch=True, device_scale_factor=2)
    p = phone.page
    phone.expect(p.locator("#model")).to_contain_text("Model: data/pretrained_cnn.npz")
    assert p.url == phone.url + "/"  # the token left the address bar, for a cookie
    assert phone.context.cookies()[0]["name"] == "nn_token" and phone.context.cookies()[0]["httpOnly"]
    phone.expect(p.locator("#role")).to_have_text("(the class's page)")
    for hidden in ("#train-panel", ".teach", "#learn-keep", "#class-link"):
        assert p.locator(hidden).is_hidden(), hidden
    phone.touch_strokes(DEMO_STROKES[7])
    p.get_by_role("button", name="Guess").tap()
    phone.guessed(7)
    # the phone read it itself, with the model's weights fetched once, as the server would have
    assert not [body for body in phone.sent if "inside" in body]  # no POST /api/predict
    assert sum(url.endswith("/api/model/reader") for url in phone.requests) == 1
    expected = class_served.session.read(np.array(p.evaluate("Array.from(state.ink)"), np.float32).reshape(28, 28))
    shown = p.locator("#bars li .p").all_inner_texts()
    assert shown == [f"{v * 100:.1f}%" for v in expected.probabilities]
    p.locator("#labels button", has_text="7").tap()  # the class saves drawings for the teacher
    phone.expect(p.locator("#status")).to_contain_text("Saved as 7 (1 in")
    screenshot(phone, tmp_path / "web_class_phone.png", readme=False)
    # the teacher keeps a learning step: a new model answers, and the phone hears of it
    teacher = class_served.link("teacher").split("token=")[1]
    grid = np.zeros((28, 28), np.float32)
    grid[4:24, 13:15] = 1
    kept = urllib.request.Request(f"{phone.url}/api/step/keep", method="POST", data=json.dumps(
        {"grid": grid.reshape(-1).tolist(), "label": 1}).encode(), headers={
        "Authorization": f"Bearer {teacher}", "Content-Type": "application/json"})
    with urllib.request.urlopen(kept) as response:
        model = json.loads(response.read())["model"]
    p.evaluate("checkModel()")  # what the phone does every 5 s
    phone.expect(p.locator("#status")).to_have_text(f"Now answering: {model}.")
    assert sum(url.endswith("/api/model/reader") for url in phone.requests) == 2
    phone.close()
    # a device without the link gets a page that says so, and nothing else
    stranger = browser.new_context()
    page = stranger.new_page()
    response = page.goto(phone.url)
    assert response.status == 401 and "This page needs its link" in page.content()
    stranger.close()


def test_the_teacher_shows_the_class_s_link_as_a_qr_code(browser, class_served, tmp_path):
    teacher = LinkPage(browser, class_served, class_served.link("teacher"), viewport={"width": 1280, "height": 900})
    p = teacher.page
    teacher.expect(p.locator("#role")).to_have_text("(teacher)")
    screenshot(teacher, tmp_path / "web_teacher.png", readme=False)
    assert p.locator("#train-panel").is_visible() and p.locator(".teach").is_visible()
    p.get_by_role("button", name="Class link").click()
    teacher.expect(p.locator("#qr-view")).to_be_visible()
    teacher.expect(p.locator("#qr-link")).to_have_text(class_served.access.class_link)
    deadline = time.monotonic() + 3
    while p.evaluate("document.getElementById('qr-image').naturalWidth") < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.evaluate("document.getElementById('qr-image').naturalWidth") >= 100
    screenshot(teacher, tmp_path / "web_classroom_qr.png", readme=False)
    p.locator("#qr-view").click()
    teacher.expect(p.locator("#qr-view")).to_be_hidden()
    teacher.close()


@pytest.mark.parametrize("size", [(375, 667), (667, 375)], ids=["upright", "on its side"])
def test_on_a_phone_clear_brings_the_grid_back_into_view(browser, served, size):
    phone = Page(browser, served, viewport={"width": size[0], "height": size[1]}, is_mobile=True, has_touch=True,
                 device_scale_factor=2)
    p = phone.page
    phone.touch_strokes(DEMO_STROKES[3])
    p.get_by_role("button", name="Guess").tap()
    phone.guessed(3)
    # scrolled down to the answer, the Clear button at the top of the screen and the grid above it
    p.locator("#clear").evaluate("button => button.scrollIntoView({block: 'start'})")
    assert p.evaluate("document.getElementById('grid').getBoundingClientRect().top") < -50
    p.locator("#clear").tap()
    in_view = """() => { const r = document.getElementById('grid').getBoundingClientRect();
        return r.top >= -1 && r.bottom <= window.innerHeight + 1; }"""
    deadline = time.monotonic() + 3
    while not p.evaluate(in_view) and time.monotonic() < deadline:  # a smooth scroll takes its time
        time.sleep(0.05)
    assert p.evaluate(in_view)
    phone.close()


def test_live_mode_asks_at_its_pace_and_ends_on_the_last_stroke(desktop):
    from nn.bench.classroom import live_every

    p = desktop.page
    p.get_by_role("button", name="Live").click()
    started, before = time.monotonic(), len(desktop.sent)
    points = [desktop.at(6 + 16 * k / 80, 6 + 16 * k / 80) for k in range(81)]  # one long stroke
    p.mouse.move(*points[0])
    p.mouse.down()
    for point in points[1:]:
        p.mouse.move(*point)
        time.sleep(0.01)
    p.mouse.up()
    seconds = time.monotonic() - started
    desktop.expect(p.locator("#guess")).not_to_have_class("stale")  # the guess caught up with the drawing
    desktop.expect(p.locator("#guess")).not_to_have_text("?")
    asked = len([b for b in desktop.sent[before:] if "grid" in b])
    assert 2 <= asked <= seconds / live_every() + 2, (asked, seconds)
    last = np.array(desktop.sent[-1]["grid"]).reshape(28, 28)
    final = p.evaluate("Array.from(state.ink)")
    assert np.abs(last.reshape(-1) - np.round(np.array(final), 4)).max() < 1e-6  # the last ask was the last drawing


def test_save_as_a_page_downloads_the_model_in_use_as_a_page_that_reads_offline(desktop, tmp_path):
    with desktop.page.expect_download() as download:
        desktop.page.keyboard.press("h")
    assert download.value.suggested_filename == "pretrained_cnn.html"
    download.value.save_as(tmp_path / "saved.html")
    desktop.expect(desktop.page.locator("#status")).to_contain_text("reads digits offline")
    offline = desktop.context.new_page()
    offline.goto((tmp_path / "saved.html").as_uri())
    box = offline.locator("#grid").bounding_box()
    for path in DEMO_STROKES[4]:
        offline.mouse.move(box["x"] + path[0][0] / 28 * box["width"], box["y"] + path[0][1] / 28 * box["height"])
        offline.mouse.down()
        for x, y in path[1:]:
            offline.mouse.move(box["x"] + x / 28 * box["width"], box["y"] + y / 28 * box["height"])
        offline.mouse.up()
    desktop.expect(offline.locator("#guess")).to_have_text("4")
    offline.close()
