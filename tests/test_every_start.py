"""The page's promises under every way the server is started (draw.py --web; --host 0.0.0.0;
--classroom; --classroom --host 127.0.0.1), over real HTTP: the framework's own answers
(redirects, unknown paths, wrong methods, HEAD, OPTIONS) never carry a token away and are JSON;
every limit the README and docs/errors.md promise holds; a refused request costs no allowance."""

from __future__ import annotations

import json
import socket

import pytest

from conftest import running_page, session_for
from nn.session.canvas import Canvas, draw_demo
from nn.web import access as access_module
from nn.web.access import CLASS, COOKIE, TEACHER
from nn.web.server import MAX_BODY, SERVER

# The ways draw.py starts the page (draw.py's serve_page makes Page(session, host, classroom=...)).
STARTS = {
    "draw.py --web": {"host": "127.0.0.1"},
    "--web --host 0.0.0.0": {"host": "0.0.0.0"},
    "--web --classroom": {"host": "0.0.0.0", "classroom": True},
    "--web --classroom --host 127.0.0.1": {"host": "127.0.0.1", "classroom": True},
}


def grid(digit: int) -> list[float]:
    canvas = Canvas()
    draw_demo(canvas, digit)
    return [round(float(v), 4) for v in canvas.ink.reshape(-1)]


@pytest.fixture(params=list(STARTS))
def started(request, pretrained, tmp_path):
    """A page started one of the ways draw.py starts it, with the tokens it made (none on this
    computer alone)."""
    session = session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv")
    with running_page(session, port=0, **STARTS[request.param]) as page:
        yield page


def exchange(page, data: bytes) -> tuple[int, dict[str, str], bytes, bytes]:
    """(status, headers, body, the whole answer) for raw request bytes, on a new connection."""
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
            head, found, body = answer.partition(b"\r\n\r\n")
            lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if found and lengths and len(body) >= lengths[0]:
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return int(lines[0].split()[1]), headers, body, answer


def request(method: str, path: str, host: str = "127.0.0.1", token: str | None = None, how: str = "query",
            body: bytes | None = None) -> bytes:
    if token is not None and how == "query":
        path += ("&" if "?" in path else "?") + f"token={token}"
    headers = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if token is not None and how == "bearer":
        headers.append(f"Authorization: Bearer {token}")
    if token is not None and how == "cookie":
        headers.append(f"Cookie: {COOKIE}={token}")
    if body is not None:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + (body or b"")


# Paths a framework likes to answer by itself: doubled and trailing slashes, dots, encoded slashes
# and backslashes (open redirects), unknown paths, and the page's own files.
PATHS = ["/api//model", "//api/model", "/api/model/", "/api/./model", "/api/../api/model", "/api/model//",
         "//evil.example", "//evil.example/app.js", "/%2F%2Fevil.example", "/%5Cevil.example", "/\\evil.example",
         "/app.js/", "/index.html/", "/nope", "/api/nope", "/api", "/api/", "/", "/app.js", "/index.html"]
METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "POST"]


def test_the_framework_s_own_answers_carry_no_token_and_are_json(started):
    """Every path above with every method, the token in the address, a header or the cookie, and a
    Host header made up: no refusal sends a token back, nothing is redirected but the page's link
    (to the page's own name, relative, the token kept in its cookie), and every refusal is JSON
    (but the short page that tells a browser to open its link). (waitress itself reads //api/model
    as /api/model: the path, not a redirect.)"""
    tokens = list(started.access.tokens.values()) or ["made-up-token-0123456789"]
    secrets = [t.encode() for t in tokens]
    answered = set()
    for path in PATHS:
        for method in METHODS:
            for token, how, host in [(tokens[0], "query", "evil.example:8028"), (tokens[-1], "bearer", "127.0.0.1"),
                                     (tokens[0], "cookie", "127.0.0.1"), (None, "query", "evil.example")]:
                status, headers, body, answer = exchange(started, request(method, path, host, token, how))
                answered.add(status)
                case = (method, path, how, host, status)
                location = headers.get("location")
                if 300 <= status < 400:
                    assert status == 303 and how == "query" and method == "GET", case
                    assert location in ("/", "/app.js", "/index.html"), case  # the page's own name, relative
                    assert not any(s in location.encode() for s in secrets)
                    # the token goes into the cookie it came for, and nowhere else
                    assert not any(s in body or s in answer.replace(headers["set-cookie"].encode(), b"") for s in secrets)
                    continue
                assert location is None, case
                if status != 200:  # (the teacher's /api/model holds the class's link, for the QR code)
                    assert not any(s in answer for s in secrets), case
                if status >= 400 and not (status == 401 and not path.startswith("/api")):
                    assert headers.get("content-type") == "application/json", case
                    if method != "HEAD":
                        assert "error" in json.loads(body), case
                elif path.startswith("/api/") and status == 200:
                    assert headers.get("content-type") == "application/json", case
                assert b"<title>Redirecting" not in body and b"werkzeug" not in body.lower(), case
    assert {200, 404, 405} <= answered


def test_the_server_s_own_limits_are_the_same_whichever_way_it_started(started):
    """Body, headers, idle time, connections, threads: waitress's settings, one table for every start."""
    adjustments = started.server.adj
    for name in ("max_request_body_size", "max_request_header_size", "channel_timeout", "threads", "ident"):
        assert getattr(adjustments, name) == SERVER[name], name
    assert 2 <= adjustments.connection_limit <= SERVER["connection_limit"]
    big = b'{"grid": [' + b"0.5," * (MAX_BODY // 4) + b"0]}"
    token = started.access.tokens.get(TEACHER)
    status, _, body, _ = exchange(started, request("POST", "/api/predict", token=token, how="bearer", body=big))
    assert status == 413
    head = request("GET", "/api/model", token=token, how="bearer").replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"y" * 17000 + b"\r\n\r\n")
    assert exchange(started, head)[0] == 431


def save(page, token: str | None, digit_grid: list[float], label: int = 4) -> int:
    body = json.dumps({"grid": digit_grid, "label": label}).encode()
    return exchange(page, request("POST", "/api/save", token=token, how="bearer", body=body))[0]


def test_a_device_s_saves_are_limited_wherever_the_page_has_tokens(started):
    """README: beyond this computer (--host, --classroom), a device may save ten drawings at once,
    then one every 3 seconds (429), whichever link it holds; on this computer alone, no limit."""
    rows = access_module.SAVES_IN_A_ROW
    tokens = started.access.tokens
    for role in ([TEACHER, CLASS] if CLASS in tokens else [TEACHER] if tokens else [None]):
        statuses = [save(started, tokens.get(role), grid(4)) for _ in range(rows + 5)]
        if started.access.open:
            assert statuses == [200] * (rows + 5)
        elif role == TEACHER:
            assert statuses == [200] * rows + [429] * 5, statuses
        else:  # the same device, now with the class's link: its turns are spent already
            assert statuses == [429] * (rows + 5), statuses


def test_a_refused_save_costs_no_turn(started):
    """Ten blank drawings, a label of 12, a missing grid: each refused, and the first real
    drawing after them is saved."""
    token = next(iter(started.access.tokens.values()), None)
    blank = [0.0] * 784
    for _ in range(access_module.SAVES_IN_A_ROW):
        assert save(started, token, blank) == 400
    assert save(started, token, grid(4), label=12) == 400
    body = json.dumps({"label": 3}).encode()
    assert exchange(started, request("POST", "/api/save", token=token, how="bearer", body=body))[0] == 400
    assert save(started, token, grid(4)) == 200
    assert [save(started, token, grid(4)) for _ in range(access_module.SAVES_IN_A_ROW - 1)] == \
        [200] * (access_module.SAVES_IN_A_ROW - 1)


def test_tokens_are_needed_and_wrong_ones_slowed_wherever_the_page_has_them(started):
    tokens = started.access.tokens
    if not tokens:
        assert exchange(started, request("GET", "/api/model"))[0] == 200  # this computer alone: open
        return
    assert exchange(started, request("GET", "/api/model"))[0] == 401
    statuses = [exchange(started, request("GET", "/api/model", token="wrong", how="bearer"))[0]
                for _ in range(access_module.WRONG_TRIES + 1)]
    assert statuses[:access_module.WRONG_TRIES] == [401] * access_module.WRONG_TRIES and statuses[-1] == 429
