"""A network taken out of the app: the ONNX file against the project's own forward pass (in
onnxruntime), the offline page's JavaScript against nn/session/reading.py (in headless Chromium,
on MNIST's test digits, moved and resized ones, and drawings made with the mouse and by touch),
and `python -m nn export`'s refusals."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil

import numpy as np
import onnx
import onnxruntime
import pytest
from PIL import Image

from conftest import REPO, assert_user_error, run_command
from nn.dataset import to_inputs
from nn.errors import ModelError, UsageError
from nn.files.model_file import ModelInfo, save_model
from nn.files.onnx_file import to_onnx
from nn.network import Network
from nn.session.canvas import DEMO_STROKES, Canvas, draw_demo
from nn.session.export import offline_page, reader_spec
from nn.session.model_in_use import ModelInUse
from nn.session.preprocess import normalize
from nn.session.reading import read
from nn.tools.command import main as nn_main

# Networks of every kind the project trains: each activation, both losses, float64, a CNN with
# another kernel. Untrained (seeded) weights do as well as trained ones for comparing two
# implementations of the same sums.
SMALL = {
    "relu": dict(sizes=[784, 24, 10]),
    "leaky_relu": dict(sizes=[784, 24, 12, 10], activation="leaky_relu"),
    "elu": dict(sizes=[784, 16, 10], activation="elu"),
    "sigmoid": dict(sizes=[784, 16, 10], activation="sigmoid"),
    "tanh, mse": dict(sizes=[784, 16, 10], activation="tanh", loss="mse"),
    "float64": dict(sizes=[784, 16, 10], dtype="float64"),
    "cnn 3x3, elu": dict(sizes=[784, 20, 10], conv=[4, 6], kernel=3, activation="elu"),
    "no hidden layer": dict(sizes=[784, 10]),
}


def small(kind: str) -> Network:
    return Network(**SMALL[kind], seed=3)


def onnx_probabilities(net: Network, X: np.ndarray) -> np.ndarray:
    model = to_onnx(net)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the tests run two at a time, one a core
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"pixels": X.astype(np.float32)})[0]


# -- ONNX -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which, rows", [("pretrained", 10000), ("pretrained_cnn", 2000)])
def test_the_shipped_networks_in_onnxruntime_match_on_mnist_s_test_set(which, rows, request, mnist_test):
    """The MLP on the whole test set; the CNN on its first 2,000 digits (the whole set took 7 s of
    the suite's 90, with the same result: python -m nn export, then docs/data.md's five lines)."""
    net = request.getfixturevalue(which)
    X = to_inputs(mnist_test.images[:rows])
    P, Q = onnx_probabilities(net, X), net.predict_proba(X)
    assert P.shape == (rows, 10) and P.dtype == np.float32
    assert np.abs(P - Q).max() < 1e-5
    assert (P.argmax(1) == Q.argmax(1)).all()


@pytest.mark.parametrize("kind", SMALL)
def test_every_kind_of_network_in_onnxruntime_matches(kind, mnist_test):
    net = small(kind)
    X = to_inputs(mnist_test.images[:500])
    assert np.abs(onnx_probabilities(net, X) - net.predict_proba(X)).max() < 1e-5


def test_the_onnx_file_says_what_goes_in_and_comes_out(pretrained_cnn):
    model = to_onnx(pretrained_cnn, "data/pretrained_cnn.npz")
    onnx.checker.check_model(model, full_check=True)
    (given,), (out,) = model.graph.input, model.graph.output
    assert given.name == "pixels" and out.name == "probabilities"
    assert [d.dim_param or d.dim_value for d in given.type.tensor_type.shape.dim] == ["N", 784]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 10]
    assert given.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert "data/pretrained_cnn.npz" in model.graph.name


# -- the reader's description and the offline page --------------------------------------------------

def test_the_reader_s_description_holds_every_weight_exactly(pretrained_cnn):
    spec = json.loads(json.dumps(reader_spec(pretrained_cnn, "cnn")))
    arrays = [layer[name] for layer in spec["layers"] for name in ("W", "b") if name in layer]
    assert len(arrays) == len(pretrained_cnn.parameters())
    for array, expected in zip(arrays, pretrained_cnn.parameters()):
        got = np.frombuffer(base64.b64decode(array["data"]), dtype=np.dtype(array["dtype"]).newbyteorder("<"))
        assert array["shape"] == list(expected.shape) and np.array_equal(got.reshape(expected.shape), expected)
    assert [layer["type"] for layer in spec["layers"]][:4] == ["unflatten", "conv2d", "activation", "maxpool2d"]


def test_the_offline_page_is_one_file_under_2_mb_that_loads_nothing(pretrained_cnn):
    page = offline_page(ModelInUse(pretrained_cnn, ModelInfo([784, 128, 10], "relu", "cross_entropy",
                                                            accuracy={"test": 0.9964}), "data/pretrained_cnn.npz"))
    assert len(page.encode()) < 2_000_000
    assert 'id="guess"' in page and "99.64% on MNIST test" in page
    assert not re.search(r"""(src|href)\s*=|https?://|@import|fetch\(""", page.split('id="settings"')[0] +
                         page.split("</script>")[-1])  # the markup and style load nothing
    assert "fetch(" not in page and "XMLHttpRequest" not in page


def test_a_model_name_cannot_break_out_of_the_page(pretrained):
    name = "</script><script>alert(1)</script><!-- /*SCRIPT*/ &"
    page = offline_page(ModelInUse(pretrained, ModelInfo([784, 512, 10], "relu", "cross_entropy"), name))
    assert page.count("</script>") == 2  # the settings' and the script's own
    assert "<script>alert" not in page and "/*SCRIPT*/" not in page.split('id="settings"')[1].split("</script>")[1]


# -- python -m nn export ---------------------------------------------------------------------------

def test_export_writes_either_kind_and_refuses_to_replace_without_force(pretrained, tmp_path, capsys):
    model = REPO / "data" / "pretrained.npz"
    assert nn_main(["export", str(model), str(tmp_path / "m.onnx")]) == 0
    assert nn_main(["export", str(model), str(tmp_path / "m.html")]) == 0
    assert "reads digits offline" in capsys.readouterr().out
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    assert loaded.graph.input[0].name == "pixels"
    before = (tmp_path / "m.onnx").read_bytes()
    with pytest.raises(UsageError, match="m.onnx: already exists; pass --force"):
        nn_main(["export", str(model), str(tmp_path / "m.onnx")])
    assert (tmp_path / "m.onnx").read_bytes() == before
    assert nn_main(["export", str(REPO / "data" / "pretrained_cnn.npz"), str(tmp_path / "m.onnx"), "--force"]) == 0
    assert (tmp_path / "m.onnx").read_bytes() != before


@pytest.mark.parametrize("args, error, message", [
    (["{model}", "{tmp}/out.txt"], UsageError, "unknown kind of file '.txt'; name it .onnx"),
    (["{model}", "{tmp}/out"], UsageError, "unknown kind of file '(no extension)'"),
    (["{model}", "{tmp}"], UsageError, "is a folder"),
    (["{model}", "{tmp}/no/such/folder/out.onnx"], UsageError, "does not exist"),
    (["{tmp}/notes.npz", "{tmp}/out.onnx"], ModelError, "notes.npz"),
    (["{tmp}/missing.npz", "{tmp}/out.html"], ModelError, "no model at"),
    (["{copy}", "{copy}"], UsageError, "is also the model"),
])
def test_export_refuses_what_it_cannot_do_and_writes_nothing(args, error, message, tmp_path):
    (tmp_path / "notes.npz").write_text("not a model")
    copy = tmp_path / "copy.html"
    copy.write_text("<p>my notes</p>")
    filled = [a.format(model=REPO / "data" / "pretrained.npz", tmp=tmp_path, copy=copy) for a in args]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error, match=re.escape(message)):
        nn_main(["export", *filled])
    assert sorted(p.name for p in tmp_path.iterdir()) == before and copy.read_text() == "<p>my notes</p>"


def test_a_model_is_never_written_over_by_its_own_export(small_model, tmp_path):
    path = tmp_path / "model.html"
    save_model(path, small_model[1], ModelInfo([784, 32, 10], "relu", "cross_entropy"))  # a model named .html
    before = path.read_bytes()
    with pytest.raises(UsageError, match="is also the model"):
        nn_main(["export", str(path), str(path), "--force"])
    assert path.read_bytes() == before


@pytest.mark.slow
def test_export_s_errors_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    for args, fragment in ((["export", str(tmp_path / "bad.npz"), str(tmp_path / "x.onnx")], "bad.npz"),
                           (["export", str(tmp_path / "x.pdf")], "unknown kind")):
        assert_user_error(run_command("-m", "nn", *args), fragment)
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "x.html").exists()


# -- the page's JavaScript against the app, in Chromium ---------------------------------------------

def drawings(mnist_test, count: int = 500, moved: int = 200) -> list[np.ndarray]:
    """MNIST's first `count` test digits as they are; `moved` more shrunk (8-26 pixels), moved
    anywhere on the grid, so that every step of the normalisation has work; the demo digits."""
    rng = np.random.default_rng(0)
    inks = [image.reshape(28, 28) / np.float32(255) for image in mnist_test.images[:count]]
    for image in mnist_test.images[count:count + moved]:
        side = int(rng.integers(8, 27))
        resized = Image.fromarray(image.reshape(28, 28).astype(np.float32) / 255, mode="F").resize(
            (side, side), Image.Resampling.BILINEAR)
        ink = np.zeros((28, 28), np.float32)
        y, x = rng.integers(0, 28 - side + 1, 2)
        ink[y:y + side, x:x + side] = np.clip(np.asarray(resized), 0, 1)
        inks.append(ink)
    for digit in range(10):
        canvas = Canvas()
        draw_demo(canvas, digit)
        inks.append(canvas.ink.copy())
    return [np.asarray(ink, np.float32) for ink in inks]


def js_read(page, inks: list[np.ndarray], spec: dict | None = None) -> list[dict]:
    """The page's own Reading.read on each drawing (with `spec`'s network, or the page's). The
    drawings go in and the answers come back as base64 bytes: as JSON numbers, moving them
    between Python and the browser took ten times as long as reading them."""
    raw = base64.b64encode(np.stack(inks).astype("<f4").tobytes()).decode()
    got = page.evaluate("""([raw, spec]) => {
        const net = Reading.network(spec || JSON.parse(document.getElementById("settings").textContent).model);
        const all = new Float32Array(Uint8Array.from(atob(raw), (ch) => ch.charCodeAt(0)).buffer);
        const pack = (array) => btoa(String.fromCharCode(...new Uint8Array(array.buffer)));
        const out = [];
        for (let k = 0; k < all.length / 784; k++) {
            const r = Reading.read(net, all.subarray(784 * k, 784 * (k + 1)));
            out.push({ ...r, seen: pack(Float32Array.from(r.seen)), probabilities: pack(Float64Array.from(r.probabilities)) });
        }
        return out; }""", [raw, spec])
    for r in got:
        r["seen"] = np.frombuffer(base64.b64decode(r["seen"]), "<f4")
        r["probabilities"] = np.frombuffer(base64.b64decode(r["probabilities"]), "<f8")
    return got


def assert_same_reading(js: dict, net: Network, ink: np.ndarray) -> None:
    py = read(net, ink, drawn=True)
    assert np.abs(np.array(js["seen"]) - py.seen.reshape(-1)).max() <= 1e-5
    assert np.abs(np.array(js["probabilities"]) - py.probabilities).max() <= 1e-4
    assert js["digit"] == py.digit and js["verdict"] == py.verdict.replace(" ", "_")


@pytest.fixture
def offline(browser, pretrained_cnn, tmp_path):
    """The shipped CNN's offline page, opened from disk in a tab that may load nothing else."""
    path = tmp_path / "digits.html"
    assert nn_main(["export", str(REPO / "data" / "pretrained_cnn.npz"), str(path)]) == 0
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    asked, problems = [], []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                  else (asked.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    yield page
    context.close()
    assert asked == [] and problems == []


@pytest.mark.slow
def test_the_page_s_javascript_reads_as_the_app_on_mnist_s_test_digits(offline, pretrained_cnn, mnist_test):
    inks = drawings(mnist_test)
    for js, ink in zip(js_read(offline, inks), inks):
        assert_same_reading(js, pretrained_cnn, ink)


@pytest.mark.slow
def test_the_page_s_javascript_runs_every_kind_of_network(offline, mnist_test):
    inks = drawings(mnist_test, 40, 20)
    for kind in SMALL:
        net = small(kind)
        for js, ink in zip(js_read(offline, inks, reader_spec(net, kind)), inks):
            assert_same_reading(js, net, ink)


@pytest.mark.slow
def test_the_offline_page_reads_a_digit_drawn_with_the_mouse_and_says_so_when_blank(offline, pretrained_cnn, tmp_path):
    from playwright.sync_api import expect

    offline.keyboard.press("s")
    expect(offline.locator("#status")).to_have_text("Draw a digit first.")
    box = offline.locator("#grid").bounding_box()
    canvas = Canvas()
    for path in DEMO_STROKES[3]:
        points = [(round(box["x"] + x / 28 * box["width"]), round(box["y"] + y / 28 * box["height"])) for x, y in path]
        offline.mouse.move(*points[0])
        offline.mouse.down()
        for p in points[1:]:
            offline.mouse.move(*p)
        offline.mouse.up()
        cells = [((px - box["x"]) / box["width"] * 28, (py - box["y"]) / box["height"] * 28) for px, py in points]
        for a, b in zip(cells[:1] + cells, cells):
            canvas.stroke(a, b)
    offline.keyboard.press("s")
    expect(offline.locator("#guess")).to_have_text("3")
    expect(offline.locator("#confidence")).to_contain_text("% sure")
    ink = np.array(offline.evaluate("() => window.drawing.ink()"), np.float32).reshape(28, 28)
    assert np.abs(ink - canvas.ink).max() < 1e-5  # the brush is the window's
    shown = offline.locator("#bars li .p").all_inner_texts()
    expected = read(pretrained_cnn, canvas.ink, drawn=True)
    assert shown[3] == f"{expected.probabilities[3] * 100:.1f}%"
    assert np.abs(np.array(offline.evaluate("() => window.drawing.reading().seen")) - normalize(canvas.ink).reshape(-1)).max() <= 1e-5
    offline.screenshot(path=str(tmp_path / "offline_page.png"))
    if os.environ.get("NN_UPDATE_SCREENSHOTS"):
        shutil.copy(tmp_path / "offline_page.png", REPO / "docs" / "offline_page.png")
    offline.keyboard.press("c")
    expect(offline.locator("#guess")).to_have_text("?")
    expect(offline.locator("#status")).to_contain_text("Cleared")


@pytest.mark.slow
def test_the_offline_page_reads_a_finger_on_a_phone_in_flight_mode(browser, pretrained_cnn, tmp_path):
    from playwright.sync_api import expect

    path = tmp_path / "digits.html"
    assert nn_main(["export", str(REPO / "data" / "pretrained_cnn.npz"), str(path)]) == 0
    context = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = page.locator("#grid").bounding_box()
    cdp = context.new_cdp_session(page)
    for stroke in DEMO_STROKES[7]:
        points = [(box["x"] + x / 28 * box["width"], box["y"] + y / 28 * box["height"]) for x, y in stroke]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(page.locator("#guess")).to_have_text("7")  # read as the finger lifted
    ink = np.array(page.evaluate("() => window.drawing.ink()"), np.float32).reshape(28, 28)
    assert_same_reading(page.evaluate("() => window.drawing.reading()"), pretrained_cnn, ink)
    context.close()
