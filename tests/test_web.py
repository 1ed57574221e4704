"""The drawing page's server (nn/web/), over real HTTP on a free port: every endpoint, every
kind of bad request, concurrent saves; and `draw.py --web` as a user starts and stops it."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_user_error, run_command, running_page, session_for
from nn.session.canvas import Canvas, draw_demo
from nn.files.digits_csv import load_csv
from nn.session.preprocess import normalize, to_grey_levels
from nn.web.server import MAX_BODY, MAX_PHOTO


def demo_grid(digit: int) -> list[float]:
    canvas = Canvas()
    draw_demo(canvas, digit)
    return [round(float(v), 4) for v in canvas.ink.reshape(-1)]


@pytest.fixture(scope="module")
def served(pretrained, tmp_path_factory):
    """A running server with the pretrained model; labeled drawings go to a temporary CSV."""
    custom = tmp_path_factory.mktemp("web") / "custom_digits.csv"
    with running_page(session_for(pretrained, "data/pretrained.npz", custom, accuracy=0.99)) as page:
        yield page


def call(server, method: str, path: str, body=None, headers: dict | None = None):
    """(status, JSON reply, response headers) for one request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers={**sent, **(headers or {})})
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    reply = json.loads(raw) if response.getheader("Content-Type") == "application/json" else raw
    return response.status, reply, response


def raw_request(server, data: bytes, timeout: float = 5) -> bytes:
    """Send bytes as they are on a socket; return the server's first answer (its headers and the
    body its Content-Length announces; everything until it closes, without one)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
            head, found, body = answer.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if found and not head.startswith(b"HTTP/1.1 100") and length and len(body) >= length[0]:
                break
    return answer


def still_serving(server) -> None:
    status, reply, _ = call(server, "POST", "/api/predict", {"grid": demo_grid(7)})
    assert status == 200 and reply["digit"] == 7


# -- what works -----------------------------------------------------------------------------------

def test_the_page_and_its_files_are_served(served):
    status, body, response = call(served, "GET", "/")
    assert status == 200 and b"<canvas id=\"grid\"" in body
    assert response.getheader("Content-Type").startswith("text/html")
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css"),
                       ("/favicon.svg", "image/svg+xml")):
        status, body, response = call(served, "GET", path)
        assert status == 200 and body and response.getheader("Content-Type").startswith(kind), path
    status, body, response = call(served, "HEAD", "/app.js")
    assert status == 200 and body == b"" and int(response.getheader("Content-Length")) > 1000


def test_the_page_loads_nothing_from_elsewhere(served):
    for path in ("/", "/app.js", "/style.css"):
        text = call(served, "GET", path)[1].decode()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
        assert "@import" not in text and "@font-face" not in text, path


def test_api_model_describes_the_model(served):
    status, reply, _ = call(served, "GET", "/api/model")
    assert status == 200
    assert reply["name"] == "data/pretrained.npz" and reply["sizes"] == [784, 512, 10]
    assert reply["accuracy"] == 0.99 and reply["saves_to"].endswith("custom_digits.csv")
    assert reply["brush"] == {"core": 0.75, "outer": 1.75} and reply["eraser"]["outer"] == 2.5


@pytest.mark.parametrize("digit", range(10))
def test_predict_reads_each_digit_as_the_window_does(served, pretrained, digit):
    grid = demo_grid(digit)
    status, reply, _ = call(served, "POST", "/api/predict", {"grid": grid})
    assert status == 200
    assert reply["digit"] == digit
    assert len(reply["probabilities"]) == 10 and abs(sum(reply["probabilities"]) - 1) < 1e-4
    assert reply["confidence"] == max(reply["probabilities"])
    # one implementation: the same normalisation and forward pass as the window
    seen = normalize(np.array(grid, np.float32).reshape(28, 28))
    assert np.allclose(reply["seen"], seen.reshape(-1), atol=1e-4)
    expected = pretrained.predict_proba(seen.reshape(1, -1))[0]
    assert np.allclose(reply["probabilities"], expected, atol=1e-5)


def test_predict_shows_the_inside_unless_asked_not_to(served, pretrained):
    grid = demo_grid(6)
    status, reply, _ = call(served, "POST", "/api/predict", {"grid": grid})
    assert status == 200 and reply["verdict"] == "sure" and reply["digit"] == 6
    assert [len(layer) for layer in reply["hidden"]] == [512]
    assert len(reply["evidence"]) == 784 and reply["evidence_for"] == 6 and reply["evidence_exact"]
    # the identity, through JSON's rounding: the pixels' evidence plus the biases is the score
    assert sum(reply["evidence"]) + reply["bias"] == pytest.approx(reply["score"], abs=0.05)
    seen = normalize(np.array(grid, np.float32).reshape(28, 28)).reshape(1, -1)
    logits = np.maximum(seen @ pretrained.weights[0] + pretrained.biases[0], 0) @ pretrained.weights[1] \
        + pretrained.biases[1]
    assert reply["score"] == pytest.approx(float(logits[0, 6]), abs=1e-3)
    status, other, _ = call(served, "POST", "/api/predict", {"grid": grid, "explain": 8})
    assert other["evidence_for"] == 8 and other["digit"] == 6 and other["evidence"] != reply["evidence"]
    status, lean, _ = call(served, "POST", "/api/predict", {"grid": grid, "inside": False})
    assert status == 200 and "hidden" not in lean and "evidence" not in lean
    assert lean["probabilities"] == reply["probabilities"]
    for field, value, fragment in (("explain", 10, "'explain' is 10"), ("explain", "3", "not a digit"),
                                   ("inside", "yes", "'inside' is \"yes\""), ("inside", 1, "not true or false")):
        status, bad, _ = call(served, "POST", "/api/predict", {"grid": grid, field: value})
        assert status == 400 and fragment in bad["error"], bad


def test_a_cnn_is_served_with_its_feature_maps(small_cnn, tmp_path):
    path, net = small_cnn
    session = session_for(net, "cnn.npz", tmp_path / "custom.csv", accuracy=0.9)
    with running_page(session) as server:
        status, model, _ = call(server, "GET", "/api/model")
        assert status == 200 and model["conv"] == [4, 8] and model["kernel"] == 5
        assert model["shape"] == "conv 4-8 (5x5), dense 392-32-10" and model["sizes"] == [784, 32, 10]
        grid = demo_grid(3)
        status, reply, _ = call(server, "POST", "/api/predict", {"grid": grid})
        assert status == 200 and len(reply["probabilities"]) == 10
        assert [(m["filters"], m["side"]) for m in reply["maps"]] == [(4, 28), (8, 14)]
        inside = session.model.explainer.inside(normalize(np.array(grid, np.float32).reshape(28, 28)).reshape(-1))
        for m, expected in zip(reply["maps"], inside.maps):
            levels = np.frombuffer(base64.b64decode(m["levels"]), np.uint8).reshape(m["filters"], m["side"], -1)
            assert m["max"] == pytest.approx(expected.max(), abs=1e-4)
            np.testing.assert_allclose(levels / 255 * m["max"], expected.transpose(2, 0, 1), atol=m["max"] / 500)
        assert [len(layer) for layer in reply["hidden"]] == [32] and reply["evidence_exact"]
        assert sum(reply["evidence"]) + reply["bias"] == pytest.approx(reply["score"], abs=0.05)
        seen = normalize(np.array(grid, np.float32).reshape(28, 28)).reshape(1, -1)
        assert np.allclose(reply["probabilities"], net.predict_proba(seen)[0], atol=1e-5)
        status, lean, _ = call(server, "POST", "/api/predict", {"grid": grid, "inside": False})
        assert status == 200 and "maps" not in lean


def test_a_dot_is_too_small_and_a_doubtful_guess_is_unsure(served):
    dot = [0.0] * 784
    dot[14 * 28 + 14] = 1.0
    status, reply, _ = call(served, "POST", "/api/predict", {"grid": dot})
    assert status == 200 and reply["verdict"] == "too_small"
    for digit in range(10):  # the demo digits are all clearly drawn
        assert call(served, "POST", "/api/predict", {"grid": demo_grid(digit)})[1]["verdict"] == "sure"


def test_integers_and_a_query_string_are_fine(served):
    grid = [1 if 0.5 < v else 0 for v in demo_grid(0)]
    status, reply, _ = call(served, "POST", "/api/predict?from=curl", {"grid": grid, "extra": "ignored"})
    assert status == 200 and reply["digit"] == 0


def test_save_appends_the_normalised_drawing_like_the_window(served):
    path = served.session.custom
    before = len(load_csv(path, use_cache=False)) if path.exists() else 0
    status, reply, _ = call(served, "POST", "/api/save", {"grid": demo_grid(4), "label": 9})
    assert status == 200 and reply == {"saved": before + 1, "file": "custom_digits.csv", "label": 9}
    data = load_csv(path, use_cache=False)
    expected = to_grey_levels(normalize(np.array(demo_grid(4), np.float32).reshape(28, 28)))
    assert data.labels[-1] == 9 and np.array_equal(data.images[-1], expected)
    assert path.read_text().startswith("label,pixel0,pixel1,")


def test_keep_alive_connections_serve_many_requests(served):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    body = json.dumps({"grid": demo_grid(2)})
    for _ in range(20):
        connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["digit"] == 2
    connection.close()


# -- bad requests: a 4xx with a reason, and the server carries on ---------------------------------

BAD_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "not valid JSON"),
    (b"\xff\xfe{}", 400, "not"),
    (b"[1, 2, 3]", 400, "must be a JSON object"),
    (b"null", 400, "must be a JSON object"),
    (b"{}", 400, "field 'grid' is missing"),
    (b'{"grid": "0,0,0"}', 400, "must be a list of 784 numbers"),
    (b'{"grid": {"0": 1}}', 400, "must be a list of 784 numbers"),
    (json.dumps({"grid": [0.5] * 783}).encode(), 400, "has 783 values, expected 784"),
    (json.dumps({"grid": [0.5] * 785}).encode(), 400, "has 785 values, expected 784"),
    (json.dumps({"grid": [[0.5] * 28] * 28}).encode(), 400, "one flat list"),
    (json.dumps({"grid": []}).encode(), 400, "has 0 values"),
    (("{\"grid\": [" + ",".join(["0"] * 100 + ["NaN"] + ["0"] * 683) + "]}").encode(), 400, "NaN"),
    (("{\"grid\": [" + ",".join(["Infinity"] + ["0"] * 783) + "]}").encode(), 400, "Infinity"),
    (("{\"grid\": [" + ",".join(["-Infinity"] + ["0"] * 783) + "]}").encode(), 400, "-Infinity"),
    (("{\"grid\": [" + ",".join(["1e400"] + ["0"] * 783) + "]}").encode(), 400, "grid[0] is not a finite"),
    (("{\"grid\": [" + ",".join(["0"] * 5 + ["\"0.5\""] + ["0"] * 778) + "]}").encode(), 400, "grid[5] is a string"),
    (("{\"grid\": [" + ",".join(["true"] + ["0"] * 783) + "]}").encode(), 400, "grid[0] is true or false"),
    (("{\"grid\": [" + ",".join(["null"] + ["0"] * 783) + "]}").encode(), 400, "grid[0] is null"),
    (("{\"grid\": [" + ",".join(["0"] * 783 + ["[1]"]) + "]}").encode(), 400, "grid[783] is a list"),
    (("{\"grid\": [" + ",".join(["1.5"] + ["0"] * 783) + "]}").encode(), 400, "grid[0] is 1.5, outside 0-1"),
    (("{\"grid\": [" + ",".join(["0"] * 9 + ["-0.01"] + ["0"] * 774) + "]}").encode(), 400, "grid[9] is -0.01"),
    (("{\"grid\": [" + ",".join(["2"] + ["0"] * 783) + "]}").encode(), 400, "grid[0] is 2, outside"),
    (("{\"grid\": [" + ",".join(["9" * 400] + ["0"] * 783) + "]}").encode(), 400, "outside 0-1"),
    (("{\"grid\": [" + ",".join(["9" * 5000] + ["0"] * 783) + "]}").encode(), 400, "not valid JSON"),
    (b"[" * 30000 + b"]" * 30000, 400, "nested too deeply"),
    (json.dumps({"grid": [0] * 784}).encode(), 400, "blank"),
]


@pytest.mark.parametrize("body, status, fragment", BAD_BODIES, ids=[b[2] for b in BAD_BODIES])
def test_bad_predict_bodies_get_400_with_the_reason(served, capfd, body, status, fragment):
    got, reply, _ = call(served, "POST", "/api/predict", body)
    assert got == status and fragment in reply["error"], reply
    still_serving(served)
    assert capfd.readouterr().err == ""  # nothing printed, no traceback


@pytest.mark.parametrize("label, fragment", [
    (10, "is 10, not a digit 0-9"), (-1, "is -1"), ("3", "is \"3\""), (3.0, "is 3.0"), (True, "is true"),
    (None, "is null"), ([3], "is [3]"), (10 ** 30, "not a digit"),
])
def test_bad_labels_get_400_and_nothing_is_saved(served, label, fragment):
    path = served.session.custom
    before = path.read_bytes() if path.exists() else None
    status, reply, _ = call(served, "POST", "/api/save", {"grid": demo_grid(3), "label": label})
    assert status == 400 and fragment in reply["error"], reply
    assert (path.read_bytes() if path.exists() else None) == before


def test_save_needs_a_label_and_a_drawing(served):
    assert "field 'label' is missing" in call(served, "POST", "/api/save", {"grid": demo_grid(3)})[1]["error"]
    status, reply, _ = call(served, "POST", "/api/save", {"grid": [0] * 784, "label": 3})
    assert status == 400 and "blank" in reply["error"]


def test_a_body_over_the_limit_gets_413_before_it_is_sent(served):
    # Only the headers go out; the server must answer without waiting for the megabyte.
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n\r\n")
    answer = raw_request(served, head, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413") and f"exceeds max_body of {MAX_BODY}".encode() in answer
    big = json.dumps({"grid": [0.123456789] * 784, "pad": "x" * MAX_BODY}).encode()
    status, reply, _ = call(served, "POST", "/api/predict", big)
    assert status == 413
    still_serving(served)


def test_a_photo_may_be_larger_than_other_bodies_but_not_without_end(served):
    """A phone's photo is megabytes: /api/photo takes up to MAX_PHOTO, refused beyond it as soon
    as the headers say so; the JSON routes keep their limit."""
    import io

    from PIL import Image

    head = (b"POST /api/photo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_PHOTO + 1))
    answer = raw_request(served, head, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413") and f"exceeds max_body of {MAX_PHOTO}".encode() in answer
    noise = io.BytesIO()  # a picture of 1.4 MB: taken, read, and refused for what it shows
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(noise, "PNG")
    assert MAX_BODY < len(noise.getvalue()) < MAX_PHOTO
    status, reply, _ = call(served, "POST", "/api/photo", noise.getvalue(), {"Content-Type": "image/png"})
    assert status == 400 and reply["error"].startswith("the photo: "), reply
    # The JSON routes keep theirs, refused from the headers alone (sending the body too raced the
    # answer: under load the server had said 413 and closed before it was all sent, a broken pipe).
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
    assert raw_request(served, head, timeout=5).startswith(b"HTTP/1.1 413")
    still_serving(served)


def test_a_body_too_large_after_expect_100_continue_is_refused_when_it_comes(served):
    """waitress says 100 Continue whatever the length; the body, sent, gets 413 and nothing else."""
    before = served.session.custom.read_bytes() if served.session.custom.exists() else None
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(b"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 300000\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100")
        try:
            s.sendall(b" " * 300000)
        except ConnectionError:
            pass  # refused before it all went
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 413")
    assert (served.session.custom.read_bytes() if served.session.custom.exists() else None) == before
    still_serving(served)


# Requests the application sees get JSON with the reason; requests so malformed that waitress
# refuses them itself get its plain-text answer, with the reason too.
@pytest.mark.parametrize("head, status, fragment", [
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\r\n",
     411, "Content-Length header is required"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, "not valid JSON"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, "not valid JSON"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "Content-Length is invalid"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: -5\r\n\r\n", 400, "Content-Length is invalid"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: 99999999999999999999999\r\n\r\n", 413, "exceeds max_body"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: \xb2\r\n\r\n", 400, "Content-Length is invalid"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
     b"Content-Length: \xd9\xa3\r\n\r\n", 400, "Content-Length is invalid"),
    (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
     b"Content-Length: 2\r\n\r\n{}", 415, "Content-Type: application/json"),
    (b"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}", 415, "application/json"),
    (b"GARBAGE\r\n\r\n", 400, "Start line is invalid"),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 431, "exceeds max_header"),
    (b"GET / HTTP/1.1\r\n" + (b"X: " + b"y" * 200 + b"\r\n") * 100 + b"\r\n", 431, "exceeds max_header"),
    (b"BREW /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, "BREW is not allowed"),
], ids=["no-length", "chunked", "length-and-chunked", "two-lengths", "negative-length", "huge-length",
        "superscript-length", "arabic-digit-length", "text-plain", "no-type", "garbage", "long-uri",
        "huge-headers", "unknown-method"])
def test_malformed_requests_get_a_4xx_answer_with_the_reason(served, capfd, head, status, fragment):
    answer = raw_request(served, head)
    assert answer.startswith(f"HTTP/1.1 {status}".encode()) or answer.startswith(f"HTTP/1.0 {status}".encode()), answer[:200]
    headers, _, body = answer.partition(b"\r\n\r\n")
    if b"Content-Type: application/json" in headers:
        assert fragment in json.loads(body)["error"]
    else:
        assert fragment.encode() in body
    still_serving(served)
    assert capfd.readouterr().err == ""


def test_a_body_shorter_than_announced_is_never_taken_for_a_request(served):
    head = (b"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n{\"grid\": [0, 0")
    before = served.session.custom.read_bytes() if served.session.custom.exists() else None
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(head)
        s.shutdown(socket.SHUT_WR)  # the client stops sending, and waits
        answer = b"".join(iter(lambda: s.recv(65536), b""))
    assert answer == b""  # closed: half a request is not a request
    assert (served.session.custom.read_bytes() if served.session.custom.exists() else None) == before
    still_serving(served)


def test_a_stalled_client_does_not_hold_up_the_others(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len")  # ... and nothing more
        still_serving(served)
        s2 = socket.create_connection(("127.0.0.1", served.port), timeout=5)
        s2.close()  # a client that connects and leaves
        still_serving(served)


def test_a_client_that_trickles_bytes_is_cut_off_at_the_deadline(pretrained, tmp_path, monkeypatch):

    import nn.web.server

    import select

    monkeypatch.setattr(nn.web.server, "REQUEST_DEADLINE", 1.5)
    with running_page(session_for(pretrained, "m", tmp_path / "c.csv")) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            request = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
            sent, closed = 0, False
            try:
                for byte in request:  # one byte every 0.2 s (40 s in all): each read is quick, the whole is not
                    s.sendall(bytes([byte]))
                    sent += 1
                    if select.select([s], [], [], 0.2)[0]:
                        closed = s.recv(100) == b""
                        break
            except (ConnectionError, OSError):
                closed = True
        assert closed and sent < len(request)  # cut off, long before the request was whole
        still_serving(server)


def test_too_many_connections_get_503_at_once(pretrained, tmp_path):
    with running_page(session_for(pretrained, "m", tmp_path / "c.csv"), connection_limit=4) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(4)]
        until(lambda: len(server.server.active_channels) == 4)  # the server has taken them
        answer = raw_request(server, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer
        for s in idle:
            s.close()
        until(lambda: len(server.server.active_channels) == 0)  # and let them go
        still_serving(server)


def test_idle_connections_are_closed_and_new_clients_answered(pretrained, tmp_path):
    with running_page(session_for(pretrained, "m", tmp_path / "c.csv"), channel_timeout=1) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
        still_serving(server)
        until(lambda: len(server.server.active_channels) == 0, timeout=10)  # closed by the server
        assert all(s.recv(10) == b"" for s in idle)
        still_serving(server)
        for s in idle:
            s.close()



def test_stopping_closes_an_answer_still_waiting_to_be_sent(pretrained, tmp_path):
    """A client asks for the offline page (over a megabyte, which waitress holds in a temporary
    file until it is sent) and reads none of it: stopping the server closes that file too, not
    only the connection's socket."""
    import gc
    import warnings

    from waitress.buffers import TempfileBasedBuffer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with running_page(session_for(pretrained, "m", tmp_path / "c.csv")) as server:
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answer backs up
            client.connect(("127.0.0.1", server.port))
            client.sendall(b"GET /api/page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            channels = server.server.active_channels  # waitress's own: wait until the file holds it
            until(lambda: any(isinstance(getattr(buffer, "buf", None), TempfileBasedBuffer)
                              for channel in list(channels.values()) for buffer in channel.outbufs))
        client.close()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/api/predict", "POST"), ("GET", "/api/save", "POST"), ("PUT", "/api/save", "POST"),
    ("POST", "/api/model", "GET, HEAD"), ("DELETE", "/", "GET, HEAD"), ("POST", "/app.js", "GET, HEAD"),
    ("OPTIONS", "/api/predict", "POST"), ("PATCH", "/api/model", "GET, HEAD"),
])
def test_wrong_methods_get_405_with_allow(served, method, path, allowed):
    status, reply, response = call(served, method, path, {} if method != "GET" else None)
    assert status == 405 and response.getheader("Allow") == allowed and "not allowed" in reply["error"]


@pytest.mark.parametrize("path", [
    "/nope", "/api", "/api/", "/api/predict/", "/index.htm", "/README.md", "/web.py", "/page/app.js",
    "/../README.md", "/../../../../etc/passwd", "/%2e%2e/README.md", "/%2E%2E%2FREADME.md",
    "/..%2f..%2fREADME.md", "/app.js/../../README.md", "//etc/passwd", "/.%2e/nn/web.py",
    "/%252e%252e/README.md", "/..\\README.md", "/app.js%00.png",
])
def test_unknown_paths_and_traversal_get_404(served, path):
    answer = raw_request(served, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 404"), answer[:100]
    assert b"pixel" not in answer and b"root:" not in answer and b"import" not in answer


def test_posts_from_other_sites_are_refused(served):
    path = served.session.custom
    before = path.read_bytes() if path.exists() else None
    body = {"grid": demo_grid(3), "label": 3}
    port = served.port
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1}"):
        status, reply, _ = call(served, "POST", "/api/save", body, {"Origin": origin})
        assert status == 403 and "other pages" in reply["error"], origin
    # a page of this server may post (the browser sends its own origin)
    status, _, _ = call(served, "POST", "/api/predict", body, {"Origin": f"http://127.0.0.1:{port}"})
    assert status == 200
    assert (path.read_bytes() if path.exists() else None) == before


def test_another_host_name_is_refused_on_loopback(served):
    """DNS rebinding: a web site whose name resolves to 127.0.0.1 must not reach the API."""
    for host in ("evil.example:8028", "127.0.0.1.rebind.attacker.example:8028", "127.evil.example",
                 "localhost.evil.example", "[::1].evil:80", "0.0.0.0:8028"):
        status, reply, _ = call(served, "GET", "/api/model", headers={"Host": host})
        assert status == 403 and "127.0.0.1 or localhost" in reply["error"], host
    for host in ("localhost", f"localhost:{served.port}", "127.0.0.1", "[::1]:80"):
        assert call(served, "GET", "/api/model", headers={"Host": host})[0] == 200, host


def test_eight_clients_saving_at_once_lose_and_tear_nothing(pretrained, tmp_path):
    custom = tmp_path / "custom_digits.csv"
    grids = {label: demo_grid(label) for label in range(8)}

    def client(label: int) -> list[int]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        counts = []
        for _ in range(25):
            body = json.dumps({"grid": grids[label], "label": label})
            connection.request("POST", "/api/save", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200
            counts.append(json.loads(response.read())["saved"])
        connection.close()
        return counts

    with running_page(session_for(pretrained, "m", custom)) as server:
        with ThreadPoolExecutor(8) as pool:
            counts = [c for cs in pool.map(client, range(8)) for c in cs]
    assert sorted(counts) == list(range(1, 201))  # every save saw its own row count
    lines = custom.read_text().splitlines()
    assert len(lines) == 201 and all(line.count(",") == 784 for line in lines)
    data = load_csv(custom, use_cache=False)
    assert np.bincount(data.labels).tolist() == [25] * 8
    for label in range(8):
        expected = to_grey_levels(normalize(np.array(grids[label], np.float32).reshape(28, 28)))
        assert (data.images[data.labels == label] == expected).all()
    assert [p.name for p in tmp_path.iterdir()] == ["custom_digits.csv"]  # no temporary files left


# -- draw.py --web, as a user runs it -------------------------------------------------------------

def start_command(*args: str, preexec_fn=None) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, str(REPO / "draw.py"), "--web", "--no-browser", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=preexec_fn)
    for line in process.stdout:
        if "Drawing page: " in line:
            return process, line.split("Drawing page: ")[1].split()[0]
    process.wait(10)
    raise AssertionError(process.stderr.read())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the CPU time from /proc")
def test_out_of_file_descriptors_the_server_answers_503_without_spinning(tmp_path):
    """With `ulimit -n 64`, 80 idle connections: accepting fails for want of descriptors, and a
    server that kept trying spun at 100% CPU while a new client waited 7 s. It must stay idle,
    and answer the new client at once (503 while the idle ones hold every slot)."""
    import os
    import resource
    import time

    process, url = start_command("--port", "0", "--custom-csv", str(tmp_path / "c.csv"),
                                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    host, port = url[len("http://"):].split(":")
    idle = []
    try:
        for _ in range(80):
            try:
                idle.append(socket.create_connection((host, int(port)), timeout=2))
            except OSError:
                break

        def cpu_seconds() -> float:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        time.sleep(0.3)
        before, started = cpu_seconds(), time.monotonic()
        time.sleep(1.0)
        assert (cpu_seconds() - before) / (time.monotonic() - started) < 0.3  # idle, not spinning
        started = time.monotonic()
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", "/api/model")
        response = connection.getresponse()
        assert response.status in (200, 503) and time.monotonic() - started < 2
        assert "error" in json.loads(response.read()) or response.status == 200
    finally:
        for s in idle:
            s.close()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_draw_web_serves_until_ctrl_c_and_stops_quietly(tmp_path, signum):
    """Ctrl-C, a kill (SIGTERM) or a closed terminal (SIGHUP): the server stops the same way,
    after the requests in hand, with status 0 and nothing left behind."""
    process, url = start_command("--port", "0", "--custom-csv", str(tmp_path / "mine.csv"),
                                 "--out", str(tmp_path / "model.npz"))
    try:
        assert url.startswith("http://127.0.0.1:")
        host, port = url[len("http://"):].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/api/model")
        reply = json.loads(connection.getresponse().read())
        assert reply["saves_to"].endswith("mine.csv") and reply["sizes"][0] == 784
        connection.request("POST", "/api/save", json.dumps({"grid": demo_grid(5), "label": 5}),
                           {"Content-Type": "application/json"})
        assert json.loads(connection.getresponse().read())["saved"] == 1
        connection.close()
    finally:
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stderr == "" and "Stopped." in stdout
    assert load_csv(tmp_path / "mine.csv", use_cache=False).labels.tolist() == [5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]  # no temporary file


def test_a_port_in_use_is_one_line_naming_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_command("draw.py", "--web", "--no-browser", "--port", str(port), timeout=30)
    assert_user_error(result, f"port {port} is in use", "--port")


def test_listening_on_every_address_needs_the_printed_link_and_warns():
    process, url = start_command("--host", "0.0.0.0", "--port", "0")
    try:
        assert "?token=" in url
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        server = type("Server", (), {"port": port})
        assert call(server, "GET", "/api/model")[0] == 401
        status, model, _ = call(server, "GET", "/api/model", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and model["role"] == "teacher"
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "warning: listening on 0.0.0.0 (--host): anyone on your network with the link below" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_classroom_prints_the_teacher_s_and_the_class_s_links_and_a_qr_code():
    process = subprocess.Popen([sys.executable, str(REPO / "draw.py"), "--web", "--classroom", "--no-browser",
                                "--port", "0", "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Ctrl-C stops the server" in line:
            break
    try:
        text = "".join(lines)
        teacher = next(l for l in lines if l.startswith("For you (teacher): ")).split(": ", 1)[1].strip()
        pupil = next(l for l in lines if l.startswith("For the class: ")).split(": ", 1)[1].strip()
        assert teacher.split("?token=")[0] == pupil.split("?token=")[0] and teacher != pupil
        assert text.count("\u2588") > 100  # the QR code, in block characters
        server = type("Server", (), {"port": int(pupil.split(":")[2].split("/")[0])})
        bearer = lambda link: {"Authorization": "Bearer " + link.split("token=")[1]}
        described = call(server, "GET", "/api/model", headers=bearer(pupil))[1]
        assert described["role"] == "class" and described["reads_on_phone"] is True  # the default
        assert call(server, "GET", "/api/model", headers=bearer(teacher))[1]["reads_on_phone"] is False
        status, spec, _ = call(server, "GET", "/api/model/reader", headers=bearer(pupil))
        assert status == 200 and spec["serial"] == described["serial"] and spec["output"] == "softmax"
        assert "The class's phones read their own guesses" in text
        status, reply, _ = call(server, "POST", "/api/train", {"epochs": 1}, headers=bearer(pupil))
        assert status == 403 and "is the teacher's" in reply["error"]
        assert call(server, "GET", "/api/qr", headers=bearer(teacher))[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


@pytest.mark.parametrize("args, fragment", [
    (["--port", "8000"], "--port goes with --web"),
    (["--no-browser"], "--no-browser goes with --web"),
    (["--classroom"], "--classroom goes with --web"),
    (["--web", "--server-reads"], "--server-reads goes with --classroom"),
    (["--host", "0.0.0.0"], "--host goes with --web"),
    (["--web", "--port", "70000"], "--port must be 0 to 65535"),
    (["--web", "--port", "-1"], "--port: must be an integer >= 0"),
    (["--web", "--no-browser", "--host", "192.0.2.1", "--port", "0"], "--host 192.0.2.1: not an address"),
    (["--web", "--no-browser", "--host", "not-an-address", "--port", "0"], "no such address or host name here"),
    (["--web", "--no-browser", "--host", "1.2.3.4.5", "--port", "0"], "no such address or host name here"),
    (["--web", "--no-browser", "--host", "localhost:8028", "--port", "0"], "give the address alone, and the port"),
    (["--web", "--no-browser", "--host", "", "--port", "0"], "--host '': not an address or a host name"),
    (["--web", "--no-browser", "--host", "*", "--port", "0"], "--host '*': not an address or a host name"),
    (["--web", "--no-browser", "--host", "http://127.0.0.1", "--port", "0"], "not an address or a host name"),
    (["--web", "--no-browser", "--host", "::gg", "--port", "0"], "not an address or a host name"),
    (["--web", "--predict", "x.png"], "--web serves the page"),
    (["--web", "--cell", "30"], "--cell and --digit are for the window"),
    (["--web", "--digit", "5"], "--cell and --digit are for the window"),
    (["--data", "x.csv"], "--data goes with --web"),
    (["--test", "none"], "--test goes with --web"),
    (["--web", "--no-browser", "--data", "no-such.csv"], "no-such.csv: No such file or directory"),
    (["--web", "--no-browser", "--test", "tests"], "tests: not a regular file: a directory"),
])
def test_bad_web_flags_are_one_line(args, fragment):
    assert_user_error(run_command("draw.py", *args, timeout=30), fragment)


def test_headers_that_come_twice_are_refused(served):
    for name, values in (("Host", ("127.0.0.1", "evil.example")), ("Content-Length", ("2", "200"))):
        head = (b"POST /api/predict HTTP/1.1\r\n" + b"".join(f"{name}: {v}\r\n".encode() for v in values)
                + (b"Host: 127.0.0.1\r\n" if name != "Host" else b"")
                + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" if name == "Host" else
                b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + b"".join(f"{name}: {v}\r\n".encode() for v in values) + b"\r\n{}")
        answer = raw_request(served, head)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:120]  # the app's reason, or waitress's:
        assert b"more than once" in answer or b"Content-Length is invalid" in answer, answer
    still_serving(served)


def until(condition, timeout: float = 10.0) -> None:
    """Wait for something the server does in its own threads, without guessing how long it takes."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# -- teaching from the page -------------------------------------------------------------------------

@pytest.fixture
def teaching(pretrained, tmp_path, monkeypatch, mnist_test):
    """A server that can teach, with MNIST cut down so that a teaching takes about a second."""
    import nn.session.teach

    monkeypatch.setattr(nn.session.teach, "mnist_sets", lambda: (mnist_test.subset(slice(0, 2000)),
                                                         mnist_test.subset(slice(9000, 10000))))
    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 60)
    with running_page(session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv",
                                  accuracy=0.9905)) as server:
        yield server


def save_digits(server, count: int, style: str = "segments") -> None:
    from nn.bench.handwriting import style_digits

    drawn = style_digits(style, (count + 9) // 10, 3)
    for k in range(count):
        grid = np.round(drawn.inputs[k].astype(float), 4).tolist()
        status, reply, _ = call(server, "POST", "/api/save", {"grid": grid, "label": int(drawn.labels[k])})
        assert status == 200, reply


def wait_until_over(server, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, state, _ = call(server, "GET", "/api/teach")
        if state["state"] != "running":
            return state
        time.sleep(0.05)
    raise AssertionError("the teaching did not end")


def test_the_page_teaches_and_undoes_through_the_api(teaching, tmp_path):
    status, reply, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 400 and "no drawings saved yet" in reply["error"]
    save_digits(teaching, 9)
    status, reply, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 400 and "only 9 drawings, too few to learn from" in reply["error"]
    save_digits(teaching, 40)
    status, reply, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 202 and reply == {"state": "running"}
    status, again, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 409 and "running already" in again["error"]
    still_serving(teaching)  # guesses go on meanwhile, with the old model
    save_digits(teaching, 3)  # and saves: nothing is lost
    state = wait_until_over(teaching)
    assert state["state"] == "done" and 0 <= state["progress"] <= 1 and state["can_undo"]
    assert set(state["before"]) == set(state["after"]) == {"yours", "mnist"}
    assert state["held_out"] >= 10 and state["summary"].startswith("your digits: ")
    assert state["model"] == str(tmp_path / "model.npz") and (tmp_path / "model.npz").exists()
    status, model, _ = call(teaching, "GET", "/api/model")
    assert model["name"] == state["model"] and model["accuracy"] == state["after"]["mnist"]
    assert load_csv(tmp_path / "custom_digits.csv", use_cache=False).labels.size == 52
    status, undone, _ = call(teaching, "POST", "/api/teach/undo", {})
    assert status == 200 and undone["model"] == "data/pretrained.npz" and not (tmp_path / "model.npz").exists()
    assert call(teaching, "GET", "/api/model")[1]["name"] == "data/pretrained.npz"
    status, nothing, _ = call(teaching, "POST", "/api/teach/undo", {})
    assert status == 409 and nothing["error"] == "nothing to undo"


def test_a_teaching_can_be_cancelled_and_another_site_cannot_start_one(teaching, tmp_path, monkeypatch):
    import nn.session.teach

    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 100_000)
    save_digits(teaching, 20)
    status, reply, _ = call(teaching, "POST", "/api/teach", {}, {"Origin": "http://evil.example"})
    assert status == 403
    assert call(teaching, "POST", "/api/teach", {})[0] == 202
    status, reply, _ = call(teaching, "DELETE", "/api/teach", None, {"Origin": "http://evil.example"})
    assert status == 403
    status, reply, _ = call(teaching, "DELETE", "/api/teach")
    assert status == 200
    state = wait_until_over(teaching)
    assert state["state"] == "cancelled" and not state["can_undo"] and not (tmp_path / "model.npz").exists()
    assert call(teaching, "GET", "/api/model")[1]["name"] == "data/pretrained.npz"


def test_a_body_sent_where_none_is_needed_is_read_not_taken_for_the_next_request(teaching):
    """POST /api/teach/undo and DELETE /api/teach need no body; a page that sends {} anyway must
    not have those two bytes read as the start of its next request on the same connection."""
    connection = http.client.HTTPConnection("127.0.0.1", teaching.port, timeout=10)
    for method, path in (("POST", "/api/teach/undo"), ("DELETE", "/api/teach")):
        connection.request(method, path, body=b"{}", headers={"Content-Type": "application/json"})
        connection.getresponse().read()
        connection.request("GET", "/api/model")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["name"] == "data/pretrained.npz"
    connection.close()


def test_a_taught_model_that_could_not_be_saved_is_refused_before_teaching(teaching, tmp_path):
    save_digits(teaching, 20)
    teaching.session.out = tmp_path / "no such folder" / "model.npz"
    status, reply, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 400 and "does not exist" in reply["error"]
    teaching.session.out = tmp_path / "custom_digits.csv"  # the drawings themselves
    status, reply, _ = call(teaching, "POST", "/api/teach", {})
    assert status == 400 and "is also the drawings" in reply["error"]
    assert call(teaching, "GET", "/api/teach")[1]["state"] == "idle"
    assert load_csv(tmp_path / "custom_digits.csv", use_cache=False).labels.size == 20


def test_a_session_that_does_not_train_answers_404_for_training(served):
    status, reply, _ = call(served, "GET", "/api/train")
    assert status == 404 and "training is not available here" in reply["error"]
    assert call(served, "GET", "/api/teach")[0] == 200


# -- whole numbers: a grid of any width ------------------------------------------------------------

def number_grid(number: str, step: float = 13.0) -> list[float]:
    from nn.session.canvas import NUMBER_WIDTH, draw_number

    canvas = Canvas(NUMBER_WIDTH)
    draw_number(canvas, number, step=step)
    return [round(float(v), 4) for v in canvas.ink.reshape(-1)]


def test_a_wide_grid_is_read_as_a_whole_number(served):
    body = {"grid": number_grid("1985"), "width": 112, "height": 28}
    status, reply, _ = call(served, "POST", "/api/predict", body)
    assert status == 200, reply
    assert reply["number"] == "1985" and [d["digit"] for d in reply["digits"]] == [1, 9, 8, 5]
    for d in reply["digits"]:
        x, y, w, h = d["box"]
        assert 0 <= x < 112 and 0 <= y < 28 and 0 < w and 0 < h <= 28 and d["verdict"] in ("sure", "unsure")
    assert reply["select"] == 0 and reply["digit"] == 1 and len(reply["seen"]) == 784 and "evidence" in reply
    status, third, _ = call(served, "POST", "/api/predict", {**body, "select": 2, "steps": True, "inside": False})
    assert status == 200 and third["digit"] == 8 and third["digits"] == reply["digits"] and "evidence" not in third
    assert [s["name"] for s in third["steps"]][-1] == "numbers"
    for step in third["steps"]:
        picture = step["picture"]
        assert len(base64.b64decode(picture["rgb"])) == 3 * picture["width"] * picture["height"] and step["says"]
    # the 28 x 28 grid: one digit, as always, with the number and its one box beside
    status, single, _ = call(served, "POST", "/api/predict", {"grid": demo_grid(4)})
    assert status == 200 and single["number"] == "4" and len(single["digits"]) == 1 and single["digit"] == 4


def test_saving_in_number_mode_saves_the_digit_shown(served):
    path = served.session.custom
    before = len(path.read_text().splitlines()) if path.exists() else 1
    body = {"grid": number_grid("35"), "width": 112, "height": 28, "select": 1, "label": 5}
    status, reply, _ = call(served, "POST", "/api/save", body)
    assert status == 200 and reply["saved"] == before
    row = np.array(path.read_text().splitlines()[-1].split(","), dtype=np.int64)
    seen = call(served, "POST", "/api/predict", {**body, "inside": False})[1]["seen"]
    assert row[0] == 5 and np.abs(row[1:] - np.round(np.array(seen) * 255)).max() <= 1


@pytest.mark.parametrize("change, fragment", [
    ({"width": 100}, "has 3136 values, expected 2800 (28 rows of 100)"),
    ({"width": 3}, "'width' is 3, not a whole number from 8"),
    ({"height": 1000}, "'height' is 1000"),
    ({"width": "112"}, "'width' is \"112\""),
    ({"select": 9}, "'select' is 9; the number has 2 digits"),
    ({"select": -1}, "'select' is -1"),
    ({"steps": "yes"}, "'steps' is \"yes\", not true or false"),
    ({"grid": [0] * 3136}, "blank: write a number first"),
    ({"grid": number_grid("123456789", step=12.3)}, "9 digits, more than the 8"),
])
def test_bad_wide_grids_get_400_with_the_reason(served, change, fragment):
    body = {"grid": number_grid("35"), "width": 112, "height": 28, **change}
    status, reply, _ = call(served, "POST", "/api/predict", body)
    assert status == 400 and fragment in reply["error"], reply
    still_serving(served)


# -- learning, shown: POST /api/step, /api/step/keep, GET /api/dream, "unit" ----------------------

def test_a_step_is_the_gradient_descent_recomputed_by_hand_and_the_model_is_unchanged(served):
    from test_learning import MLP, by_hand

    parameters = [p.copy() for p in served.session.model.net.parameters()]
    model = served.session.model
    grid = demo_grid(5)
    status, reply, _ = call(served, "POST", "/api/step", {"grid": grid, "label": 3, "lr": 0.005, "steps": 3})
    assert status == 200, reply
    x = normalize(np.array(grid, np.float32).reshape(28, 28)).reshape(-1)
    losses, probabilities, (output_error, hidden_error, _) = by_hand(MLP, x, 3, 0.005, 3)
    assert len(reply["loss"]) == 4 and len(reply["probabilities"]) == 4 and len(reply["seen"]) == 784
    np.testing.assert_allclose(reply["loss"], losses, atol=1e-6)
    np.testing.assert_allclose(reply["probabilities"], probabilities, atol=1e-6)
    np.testing.assert_allclose(reply["output_error"], output_error, atol=1e-6)
    np.testing.assert_allclose(reply["hidden_error"][0], hidden_error, atol=1e-6)
    assert reply["loss"][3] < reply["loss"][0] and reply["label"] == 3 and reply["lr"] == 0.005
    assert reply["changes_of"] == "units" and len(reply["units"]) == len(reply["changes_rgb"]) == 8
    picture = reply["changes_rgb"][0]
    assert (picture["width"], picture["height"]) == (28, 28) and len(base64.b64decode(picture["rgb"])) == 3 * 784
    assert served.session.model is model
    assert all(np.array_equal(a, b) for a, b in zip(parameters, served.session.model.net.parameters()))
    # lr and steps have defaults: the model's rate, one step
    status, reply, _ = call(served, "POST", "/api/step", {"grid": grid, "label": 5})
    assert status == 200 and reply["lr"] == 0.001 and len(reply["loss"]) == 2


@pytest.mark.parametrize("change, fragment", [
    ({"label": 12}, "field 'label' is 12, not a digit 0-9"),
    ({"label": "3"}, "field 'label' is \"3\""),
    ({"label": None}, "field 'label' is null"),
    ({"lr": 0}, "lr 0: a learning rate is above 0 and at most 10"),
    ({"lr": -0.1}, "lr -0.1:"),
    ({"lr": 11}, "lr 11:"),
    ({"lr": "fast"}, "lr 'fast':"),
    ({"lr": True}, "lr True:"),
    ({"steps": 0}, "steps 0: take 1 to 100 steps at a time"),
    ({"steps": 101}, "steps 101:"),
    ({"steps": 2.5}, "steps 2.5:"),
    ({"steps": True}, "steps True:"),
    ({"grid": [0] * 784}, "blank: there is nothing to learn from"),
    ({"grid": [0.5] * 10}, "'grid' has 10 values"),
])
def test_bad_steps_get_400_with_the_reason(served, change, fragment):
    body = {"grid": demo_grid(5), "label": 3, **change}
    if change.get("label", 0) is None:
        del body["label"]
        fragment = "field 'label' is missing"
    status, reply, _ = call(served, "POST", "/api/step", body)
    assert status == 400 and fragment in reply["error"], reply
    still_serving(served)


def test_a_step_on_a_number_learns_the_digit_shown(served):
    body = {"grid": number_grid("35"), "width": 112, "height": 28, "select": 1, "label": 6}
    status, reply, _ = call(served, "POST", "/api/step", body)
    assert status == 200, reply
    seen = call(served, "POST", "/api/predict", {**body, "inside": False})[1]["seen"]
    np.testing.assert_allclose(reply["seen"], seen, atol=1e-4)  # the second digit, the 5


def test_keep_puts_the_step_in_use_saved_and_undo_takes_it_back(pretrained, tmp_path):
    session = session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv")
    before = session.model
    with running_page(session) as server:
        body = {"grid": demo_grid(1), "label": 7, "steps": 2}
        status, reply, _ = call(server, "POST", "/api/step/keep", body)
        assert status == 200 and reply["can_undo"] and reply["model"].endswith("model.npz"), reply
        assert session.model is not before and session.out.exists()
        p7 = call(server, "POST", "/api/predict", {"grid": demo_grid(1)})[1]["probabilities"][7]
        status, step, _ = call(server, "POST", "/api/step", body)
        assert p7 == pytest.approx(step["probabilities"][0][7], abs=1e-5)  # the kept model reads it now
        status, undone, _ = call(server, "POST", "/api/teach/undo", {})
        assert status == 200 and session.model is before and not session.out.exists()
        status, refused, _ = call(server, "POST", "/api/step/keep", {**body, "label": 10})
        assert status == 400 and session.model is before


def test_the_dreams_are_read_as_their_digits(served):
    status, reply, _ = call(served, "GET", "/api/dream")
    assert status == 200 and [d["digit"] for d in reply["dreams"]] == list(range(10))
    for d in reply["dreams"]:
        assert len(d["grid"]) == 784 and 0 <= min(d["grid"]) and max(d["grid"]) <= 1
        assert d["probabilities"][d["digit"]] >= 0.9
    status, four, _ = call(served, "GET", "/api/dream?digit=4")
    assert status == 200 and four["digit"] == 4 and four["grid"] == reply["dreams"][4]["grid"]
    for bad in ("12", "x", "-1", "4.0"):
        status, refused, _ = call(served, "GET", f"/api/dream?digit={bad}")
        assert status == 400 and "give a digit 0-9" in refused["error"]


def test_a_unit_s_sum_comes_with_the_guess(served, pretrained):
    grid = demo_grid(2)
    status, reply, _ = call(served, "POST", "/api/predict", {"grid": grid, "unit": 37})
    assert status == 200
    unit = reply["unit"]
    x = normalize(np.array(grid, np.float32).reshape(28, 28)).reshape(-1).astype(np.float64)
    z = float(x @ pretrained.weights[0][:, 37] + pretrained.biases[0][37])
    assert unit["kind"] == "unit" and unit["unit"] == 37 and unit["z"] == pytest.approx(z, abs=1e-5)
    assert unit["a"] == pytest.approx(max(z, 0), abs=1e-5) and unit["lines"][0].startswith("z = w·x + b")
    assert sum(t["weight"] * t["input"] for t in unit["terms"]) + unit["rest"] + unit["bias"] == pytest.approx(z, abs=1e-4)
    for bad, fragment in ((512, "units 0 to 511"), ("3", "not the index of a hidden unit"), (-1, "units 0 to 511")):
        status, refused, _ = call(served, "POST", "/api/predict", {"grid": grid, "unit": bad})
        assert status == 400 and fragment in refused["error"], refused


def test_a_cnn_s_unit_is_a_filter_and_its_map(small_cnn, tmp_path):
    with running_page(session_for(small_cnn[1], "cnn.npz", tmp_path / "custom.csv")) as server:
        status, reply, _ = call(server, "POST", "/api/predict", {"grid": demo_grid(4), "unit": 3})
        assert status == 200 and reply["unit"]["kind"] == "filter" and reply["unit"]["unit"] == 3
        assert reply["unit"]["map_rgb"]["width"] == 28 and reply["unit"]["weights_rgb"]["width"] == 5
        status, step, _ = call(server, "POST", "/api/step", {"grid": demo_grid(4), "label": 9})
        assert status == 200 and step["changes_of"] == "filters" and len(step["changes_rgb"]) == 4


# -- a classroom under load -----------------------------------------------------------------------

def test_forty_live_clients_and_two_hundred_at_once_all_get_their_answers(pretrained_cnn, tmp_path):
    """A short classroom load (the bench measures it at length): 40 clients, each sending its next
    drawing the moment its answer comes, none failing and each answer the one for its drawing;
    then 200 devices connecting at once, every one answered, and the teacher's page too."""
    from nn.bench.classroom import all_at_once, drawings, live_clients

    session = session_for(pretrained_cnn, "data/pretrained_cnn.npz", tmp_path / "custom_digits.csv")
    with running_page(session, classroom=True) as server:
        pupil, teacher = server.access.tokens["class"], server.access.tokens["teacher"]
        load = live_clients(server, 40, 1.0, pupil)
        assert load.failures == 0 and len(load.times) >= 40, load.statuses
        assert server.batcher.passes < server.batcher.drawings  # read together, not one by one
        for k, body in enumerate(drawings()):  # and each answer is its own drawing's
            status, reply, _ = call(server, "POST", "/api/predict", json.loads(body),
                                    headers={"Authorization": f"Bearer {pupil}"})
            assert status == 200 and reply["digit"] == k
        statuses, slowest, teacher_seconds = all_at_once(server, 200, pupil, teacher)
        assert sum(statuses.get(s, 0) for s in (200, 503)) == 200, statuses
        assert teacher_seconds < 5


@pytest.mark.parametrize("host, every, url", [("localhost", False, "http://127.0.0.1:"), ("127.1", False, "http://127.0.0.1:"),
                                               ("0", True, "http://127.0.0.1:"), ("0.0.0.0", True, "http://127.0.0.1:"),
                                               ("[::1]", False, "http://[::1]:"), ("::", True, "http://[::1]:")])
def test_a_host_is_listened_on_as_the_address_it_names(pretrained, tmp_path, host, every, url):
    """--host as people write it (a name, a short form, brackets): the server listens on the
    address it names, and its links are ones a browser opens."""
    if ":" in host and not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with running_page(session_for(pretrained, "m", tmp_path / "c.csv"), host=host, port=0) as page:
        assert page.every_address is every and page.url.startswith(url)
        assert "[[" not in page.link("teacher", lan=True)
