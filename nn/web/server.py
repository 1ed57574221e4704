"""The drawing page: `python draw.py --web` serves the window's grid, guess and bars to a browser.

The page (the files in page/) paints; this server reads what it sends with the session
(nn/session/session.py), the same one the window drives, and answers in JSON. The routes, each a
small function below (docs/web.md has every field):

    GET  /api/model          the model in use, the brush, the commands and the messages
    POST /api/predict        {"grid": [784 numbers 0-1], "explain": 0-9, "inside": true} -> the guess
    POST /api/save           {"grid", "label"} -> {"saved": rows now in the file, "file", "label"}
    POST /api/step, /api/step/keep, GET /api/dream          learning, shown (nn/session/learning.py)
    GET|POST|DELETE /api/teach, POST /api/teach/undo        teaching your handwriting
    GET|POST|DELETE /api/train, POST /api/train/use, /api/train/save    training while you watch
    GET  /api/qr             the class's link as a QR code (a classroom, the teacher)
    anything wrong           -> a 4xx status and {"error": "what was wrong"}

The routes run on Flask, served by waitress: pure Python, Windows too, and its connections are
read by one asynchronous loop, so a client that sends slowly or keeps its connection idle holds a
socket, never a thread. Its settings are the limits: SERVER below (body, headers, idle time,
connections, threads). Two things waitress has no setting for are added in `_Server`: a request
whose bytes trickle in for longer than REQUEST_DEADLINE is cut off, and a client that arrives when
every connection is taken gets 503 at once instead of waiting in the queue.

On 127.0.0.1 (the default) it is one person's page. Listening beyond (`--host`, `--classroom`),
every request needs a token, and in a classroom the class's token may not train, teach or switch
models (nn/web/access.py). It serves only the page's own files (held in memory, so no request
names a path on disk), refuses posts from other sites' pages and, on loopback, requests for other
host names (DNS rebinding). A class of phones in live mode asks for many guesses at once: they
are read in batches (nn/web/batching.py), each request waiting on its own thread.
"""

from __future__ import annotations

import base64
import errno
import functools
import ipaddress
import json
import logging
import math
import re
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import waitress
from flask import Flask, Response, g, request
from flask.json.provider import JSONProvider
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.wasyncore import dispatcher
from werkzeug.exceptions import HTTPException

from nn.dataset import SIDE
from nn.errors import NNError, UsageError
from nn.plumbing.machine import descriptors_free
from nn.session.jobs import Busy
from nn.session.learning import MAX_STEPS, FilterMap, LearningStep, UnitSum
from nn.session.pictures import as_base64, evidence_rgb, heat_rgb, ink_rgb, signed_rgb, unit_grid
from nn.session.session import Session
from nn.web.access import CLASS, COOKIE, TEACHER, Access, Refused, link, qr_svg
from nn.web.batching import Batcher

PAGE_DIR = Path(__file__).resolve().parent / "page"
MAX_BODY = 256 * 1024  # bytes; a grid of 28 x 112 numbers takes 40 KiB with 4 decimals
MAX_REASON = 300  # characters of a refusal's reason, at most
DIGITS = tuple("0123456789")
MIN_GRID, MAX_GRID = 8, 448  # a grid's width and height, in cells: room for a number of 8 digits and more
REQUEST_DEADLINE = 30.0  # seconds for a whole request, however slowly its bytes trickle in
FD_RESERVE = 24  # file descriptors kept free of connections: the CSV, the model, a save's temporary file...
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b'Content-Length: 72\r\n\r\n{"error": "the server is busy: too many connections at once; try again"}')
SERVER = {  # waitress's settings (waitress.adjustments)
    "max_request_body_size": MAX_BODY,
    "max_request_header_size": 16 * 1024,
    "channel_timeout": 15,  # seconds a connection may sit idle between requests
    "cleanup_interval": 1,  # how often idle and late connections are looked for
    "connection_limit": 400,  # open at once; more get 503 (_Server)
    "threads": 64,  # requests answered at once: with fewer than the clients, each waits a turn of the loop more
    "asyncore_use_poll": True,  # no select(): its 1024-descriptor ceiling would cap connections
    "ident": "nn-digits",
    "clear_untrusted_proxy_headers": False,  # nothing here reads X-Forwarded-*: no need to strip it
    "expose_tracebacks": False,
}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
# The page loads its own files and nothing else (no CDN, no fonts, no frames, no other origins).
NEEDS_LINK = ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
              "<title>Digit recognizer</title><body style='font:18px system-ui;margin:2em;background:#1c1e26;"
              "color:#dcdee8'><h1>This page needs its link</h1><p>Open the address that <code>draw.py "
              "--web</code> printed, with its <code>?token=</code>, or scan the code the teacher shows.")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# waitress reports a few things through logging (a client that vanished mid-answer, its queue
# growing under load): not news for the person at the terminal. Errors stay: one line each.
logging.getLogger("waitress").setLevel(logging.ERROR)


class _JSON(JSONProvider):
    """Answers as compact JSON, with NaN refused as JSON refuses it. (Flask's own provider took
    0.56 ms more per answer of /api/predict, measured: as long as the network's forward pass.)"""

    def dumps(self, obj, **kwargs) -> str:
        lists: list[Numbers] = []

        def placeholder(value):  # json.dumps' default: a Numbers, written after (below)
            if not isinstance(value, Numbers):
                raise TypeError(f"cannot write {type(value).__name__} as JSON")
            lists.append(value)
            return f"\x00{len(lists) - 1}\x00"

        text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=placeholder)
        for k, numbers in enumerate(lists):
            text = text.replace(f'"\\u0000{k}\\u0000"', numbers.json(), 1)
        return text

    def loads(self, s, **kwargs):
        return json.loads(s)


class HTTPError(Exception):
    """A request refused: an HTTP status and the reason, sent back as {"error": reason}."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


# -- the routes -----------------------------------------------------------------------------------

def make_app(session: Session, loopback_only: bool = True, access: Access | None = None) -> Flask:
    """The page's routes over `session`, as a WSGI application; `access` says who may use them
    (nn/web/access.py; none: the open page, as on loopback)."""
    app = Flask(__name__, static_folder=None)
    # No redirects of the framework's own: it would send /api//model?token=... on to
    # http://<whatever Host the request named>/api/model?token=... (308, in HTML), and /index.html
    # on to /. A path is answered as it is written (/api/model/ is not /api/model), or not found.
    app.url_map.merge_slashes = app.url_map.redirect_defaults = False
    app.json = _JSON(app)
    files = load_page()
    access = access or Access(None)

    def route(rule: str, *methods: str, **options):
        return app.route(rule, methods=list(methods), provide_automatic_options=False, **options)

    def teachers(what: str):
        """A route only the teacher's token may call (the class's gets 403)."""
        def wrap(view):
            @functools.wraps(view)
            def checked(*args, **kwargs):
                access.teacher_only(g.role, what)
                return view(*args, **kwargs)
            return checked
        return wrap

    @app.before_request
    def refuse_strangers():
        check_headers(loopback_only)
        token = request.args.get("token")
        header = request.headers.get("Authorization", "")
        if token is None and header[:7].lower() == "bearer ":
            token = header[7:].strip()
        g.role = access.role(token or request.cookies.get(COOKIE), request.remote_addr or "?")
        if request.method == "GET" and "token" in request.args and (request.path == "/" or request.path[1:] in files):
            # the page's link: keep the token in a cookie, and take it out of the address bar. Sent
            # on to one of the page's own files by its name, never to a path the request made up.
            response = Response(status=303, headers={"Location": request.path})
            response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", path="/")
            return response

    @route("/", "GET", defaults={"name": "index.html"})
    @route("/<name>", "GET")
    def page_file(name: str):
        if name not in files:
            raise HTTPError(404, f"no such page: /{name[:100]}")
        body, content_type = files[name]
        return Response(body, content_type=content_type)

    @route("/api/model", "GET")
    def model():
        teacher_s = {"class_link": access.class_link} if g.role == TEACHER and access.class_link else {}
        return {**session.describe(), "role": g.role, **teacher_s}

    @route("/api/qr", "GET")
    @teachers("the class's link")
    def qr():
        if access.class_link is None:
            raise HTTPError(404, "there is no class's link: start the page with draw.py --web --classroom")
        return Response(qr_svg(access.class_link), content_type="image/svg+xml")

    @route("/api/predict", "POST")
    def predict():
        return answer(session, read_body())

    @route("/api/save", "POST")
    def save():
        body = read_body()
        grid, label = digit_ink(session, body), parse_label(body)
        with access.saving(request.remote_addr or "?"):
            rows = session.save(grid, label)
        return {"saved": rows, "file": session.custom.name, "label": label}

    @route("/api/step", "POST")
    def step():
        body = read_body()
        return step_answer(session.learn(*parse_step(body, session)))

    @route("/api/step/keep", "POST")
    @teachers("keeping a learning step")
    def keep():
        body = read_body()
        model = session.keep(session.learn(*parse_step(body, session)))
        return {"model": model.name, "can_undo": session.can_undo}

    @route("/api/dream", "GET")
    def dreams():
        digit = request.args.get("digit")
        if digit is not None and digit not in DIGITS:
            raise HTTPError(400, f"digit={digit[:20]!r}: give a digit 0-9, or none for all ten")
        pictures = session.dreams()
        probabilities = session.model.net.predict_proba(pictures)
        wanted = range(10) if digit is None else [int(digit)]
        answers = [{"digit": k, "grid": Numbers(pictures[k]), "probabilities": np.round(probabilities[k].astype(np.float64), 6).tolist()}
                   for k in wanted]
        return answers[0] if digit is not None else {"dreams": answers}

    @route("/api/teach", "GET")
    def teaching():
        return session.teaching_state()

    @route("/api/teach", "POST")
    @teachers("teaching the network")
    def teach():
        read_body()  # {} (or settings to come): checked like every post
        session.teach()
        return {"state": "running"}, 202

    @route("/api/teach", "DELETE")
    @teachers("cancelling a teaching")
    def cancel_teaching():
        read_body(optional=True)
        session.cancel_teaching()
        return session.teaching_state()

    @route("/api/teach/undo", "POST")
    @teachers("undoing")
    def undo():
        read_body(optional=True)
        if not session.can_undo:
            raise HTTPError(409, "nothing to undo" if not session.teaching.running
                            else "a teaching is running: cancel it (DELETE /api/teach) first")
        undone = session.undo()
        if undone is None:
            raise HTTPError(409, "nothing to undo")
        return {**session.teaching_state(), "model": undone.model.name, "file_kept": undone.file_kept,
                "out": undone.file}

    @route("/api/train", "GET")
    def training():
        since = request.args.get("since")
        if since is not None and not (since.isascii() and since.isdigit() and len(since) < 12):
            raise HTTPError(400, f"since={since[:20]!r}: give the number of batch losses the page has")
        weights = request.args.get("weights", "0") not in ("0", "", "false")
        return session.training_state(None if since is None else int(since), weights)

    @route("/api/train", "POST")
    @teachers("training a network")
    def train():
        session.train(read_body())
        return {"state": "running"}, 202

    @route("/api/train", "DELETE")
    @teachers("stopping a training")
    def stop_training():
        read_body(optional=True)
        session.stop_training()
        return session.training_state()

    @route("/api/train/use", "POST")
    @teachers("switching models")
    def use():
        which = read_body().get("use", "trained")
        if session.trainer is None or session.trainer.trained is None or session.trainer.job.running:
            raise HTTPError(409, "there is no trained network yet: train one first")
        model = session.use(which)
        return {**session.training_state(), "model": model.name}

    @route("/api/train/save", "POST")
    @teachers("saving a model")
    def save_trained():
        read_body()
        if session.trainer is None or session.trainer.trained is None or session.trainer.job.running:
            raise HTTPError(409, "there is no trained network to save yet: train one first")
        saved = session.save_trained()
        return {**session.training_state(), "saved": saved}

    # -- one answer for every refusal: JSON with the reason ------------------------------------

    @app.errorhandler(HTTPError)
    def refused(e: HTTPError):
        return {"error": said(str(e))}, e.status

    @app.errorhandler(Refused)
    def not_allowed(e: Refused):  # no token, a wrong one, the class at the teacher's, too many saves
        if e.status == 401 and not (request.path + "/").startswith("/api/"):  # a browser: a page saying so
            response = Response(NEEDS_LINK, 401, content_type="text/html; charset=utf-8")
        else:
            response = app.json.response({"error": said(str(e))})
            response.status_code = e.status
        if e.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(e.retry_after)))
        return response

    @app.errorhandler(Busy)
    def busy(e: Busy):
        stop = "cancel it (DELETE /api/teach)" if str(e) == "teaching" else "stop it (DELETE /api/train)"
        return {"error": f"{e} is running already: wait for it, or {stop}"}, 409

    @app.errorhandler(NNError)
    def mistaken(e: NNError):  # a setting, a file, a drawing that cannot be used: the reason
        return {"error": said(str(e))}, 404 if str(e).endswith("is not available here") else 400

    @app.errorhandler(OSError)
    def cannot_write(e: OSError):  # a save, an undo: the file and why; nothing was half written
        return {"error": said(f"cannot write {Path(e.filename or '?').name} ({e.strerror or e}); nothing was written")}, 500

    @app.errorhandler(MemoryError)
    def too_big(e: MemoryError):
        return {"error": "not enough memory for that: ask for a smaller network"}, 400

    @app.errorhandler(HTTPException)
    def http_refusal(e: HTTPException):  # 404, 405 and the like, from Flask itself
        response = e.get_response()
        reason = e.description
        if e.code == 404:
            reason = f"no such page: {request.path[:100]}"
        elif e.code == 405:
            allowed = sorted(e.valid_methods or [], key=("GET", "HEAD", "POST", "DELETE").index)
            response.headers["Allow"] = ", ".join(allowed)
            reason = f"{request.method[:20]} is not allowed here; use {' or '.join(allowed)}"
        response.set_data(json.dumps({"error": reason}))
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def failed(e: Exception):  # a bug of ours: one line on the terminal, a 500 to the client
        sys.stderr.write(f"draw.py: error: {request.method} {request.path[:100]}: {said(f'{type(e).__name__}: {e}')}\n")
        return {"error": said(f"the server failed: {type(e).__name__}: {e}")}, 500

    @app.after_request
    def security(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store" if response.mimetype == "application/json" else "no-cache"
        return response

    return app


def said(reason: str) -> str:
    """A refusal's reason as it is sent: one line, at most MAX_REASON characters (the messages
    cut what the user sent already; this keeps any other from flooding a page or a terminal)."""
    reason = reason.replace("\r", " ").replace("\n", " ")
    return reason if len(reason) <= MAX_REASON else reason[:MAX_REASON - 3] + "..."


def load_page(folder: Path = PAGE_DIR) -> dict[str, tuple[bytes, str]]:
    """The page's files, read once: name -> (bytes, content type). Nothing else is served."""
    return {path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix])
            for path in sorted(folder.iterdir()) if path.is_file() and path.suffix in CONTENT_TYPES}


def check_headers(loopback_only: bool) -> None:
    """Headers that come twice are refused (two readers could take different ones); so are, on a
    loopback address, host names that are not loopback (another site whose name is made to
    point at 127.0.0.1), and anything but a look from other sites' pages."""
    host = request.headers.get("Host", "")
    for name in ("Host", "Origin", "Content-Type"):  # waitress joins repeated headers with ","
        if "," in request.headers.get(name, ""):
            raise HTTPError(400, f"the {name} header comes more than once")
    if loopback_only and host:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not is_loopback(name):
            raise HTTPError(403, f"this server answers requests for 127.0.0.1 or localhost, not {host[:60]}")
    origin = request.headers.get("Origin")
    if request.method not in ("GET", "HEAD") and origin is not None and origin.split("://", 1)[-1] != host:
        raise HTTPError(403, f"requests from other pages ({origin[:60]}) are refused")


def read_body(optional: bool = False) -> dict:
    """The request's JSON object; with `optional`, {} when there is no body."""
    if optional and not request.content_length:
        return {}
    if request.mimetype != "application/json":
        raise HTTPError(415, "send the body as JSON, with Content-Type: application/json")
    if request.content_length is None:
        raise HTTPError(411, "a Content-Length header is required")
    return parse_json(request.get_data(cache=False))


@functools.lru_cache(maxsize=64)
def is_loopback(host: str) -> bool:
    """Whether a host name or address means this machine: localhost, 127.x.y.z or ::1 (parsed,
    so that 127.0.0.1.attacker.example is not taken for one)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def listen_address(host: str) -> str:
    """The address `--host` names, as the IP address the server listens on and its links show
    (a name such as localhost resolved, [::1] without its brackets); UsageError for anything this
    machine cannot listen on, said as a flag's mistake."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    shown = f"--host {host[:60]!r}"
    if name.count(":") == 1 and HOST_NAME.fullmatch(name.split(":")[0]) and name.split(":")[1].isdigit():
        raise UsageError(f"{shown}: give the address alone, and the port with --port")
    if len(name) > 253 or not HOST_NAME.fullmatch(name):
        raise UsageError(f"{shown}: not an address or a host name (e.g. 127.0.0.1, or 0.0.0.0 for every address)")
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:  # socket.gaierror: a name no resolver knows
        raise UsageError(f"{shown}: no such address or host name here ({getattr(e, 'strerror', None) or e})") from None
    return str(found[0][4][0])


# -- reading requests -----------------------------------------------------------------------------

def parse_json(body: bytes) -> dict:
    """The request body as a JSON object; NaN and Infinity are refused, as JSON itself does."""
    def constant(name: str):
        raise HTTPError(400, f"the body holds {name}, which is not a number JSON allows")

    try:
        value = json.loads(body, parse_constant=constant)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, integers too long
        raise HTTPError(400, "the body is not UTF-8 text" if isinstance(e, UnicodeDecodeError) else
                        "the body is nested too deeply" if isinstance(e, RecursionError) else
                        f"the body is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise HTTPError(400, f"the body must be a JSON object such as {{\"grid\": [...]}}, not {_json_kind(value)}")
    return value


def parse_grid(body: dict) -> np.ndarray:
    """The "grid" field: `height` rows of `width` numbers from 0 to 1, one flat list, row by row
    ("width" and "height" beside it; 28 x 28 when they are left out) -> ink (height, width) float32."""
    width, height = body.get("width", SIDE), body.get("height", SIDE)
    for name, value in (("width", width), ("height", height)):
        if type(value) is not int or not MIN_GRID <= value <= MAX_GRID:
            raise HTTPError(400, f"field {name!r} is {json.dumps(value)[:30]}, not a whole number "
                                 f"from {MIN_GRID} to {MAX_GRID}")
    size = width * height
    if "grid" not in body:
        raise HTTPError(400, f"field 'grid' is missing: send {size} numbers from 0 to 1, row by row")
    grid = body["grid"]
    if not isinstance(grid, list):
        raise HTTPError(400, f"field 'grid' must be a list of {size} numbers, not {_json_kind(grid)}")
    if len(grid) != size:
        nested = " (one flat list, row after row, not a list of rows)" if grid and isinstance(grid[0], list) else ""
        raise HTTPError(400, f"field 'grid' has {len(grid)} values, expected {size} ({height} rows of {width})"
                             f"{nested}")
    if set(map(type, grid)) <= {int, float} and 0 <= min(grid) and max(grid) <= 1:  # the usual case, at once
        return np.array(grid, dtype=np.float32).reshape(height, width)
    for i, value in enumerate(grid):  # the first bad value, named
        # bool is an int in Python, but true and false are not numbers in JSON
        if type(value) not in (int, float):
            raise HTTPError(400, f"grid[{i}] is {_json_kind(value)}, not a number")
        if type(value) is float and not math.isfinite(value):  # 1e400 parses as infinity
            raise HTTPError(400, f"grid[{i}] is not a finite number")
        if not 0 <= value <= 1:
            raise HTTPError(400, f"grid[{i}] is {json.dumps(value)[:30]}, outside 0-1 (0 = paper, 1 = full ink)")
    return np.array(grid, dtype=np.float32).reshape(height, width)


def parse_select(body: dict, digits: int) -> int:
    """The "select" field: which digit of the number to answer for in full (0, the first, if left out)."""
    select = body.get("select", 0)
    if type(select) is not int or not 0 <= select < max(digits, 1):
        raise HTTPError(400, f"field 'select' is {json.dumps(select)[:30]}; the number has {digits} "
                             f"digit{'s' if digits != 1 else ''}, from 0")
    return select


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if type(value) is not bool:
        raise HTTPError(400, f"field {name!r} is {json.dumps(value)[:30]}, not true or false")
    return value


def parse_label(body: dict) -> int:
    if "label" not in body:
        raise HTTPError(400, "field 'label' is missing: the digit 0-9 the drawing shows")
    label = body["label"]
    if type(label) is not int or not 0 <= label <= 9:
        raise HTTPError(400, f"field 'label' is {json.dumps(label)[:40]}, not a digit 0-9")
    return label


def _json_kind(value) -> str:
    kinds = {bool: "true or false", str: "a string", list: "a list", dict: "an object",
             type(None): "null", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


# -- the guess, as JSON ---------------------------------------------------------------------------

def answer(session: Session, body: dict) -> dict:
    """POST /api/predict: the guess; for a wide grid the number, each digit's guess and box, and
    the full answer for the digit `select`; with "inside" (the default) the inside view, with
    "steps" the steps from the drawing to what the network sees."""
    grid = parse_grid(body)
    explain = body.get("explain")
    if explain is not None and (type(explain) is not int or not 0 <= explain <= 9):
        raise HTTPError(400, f"field 'explain' is {json.dumps(explain)[:30]}, not a digit 0-9")
    show_inside, show_steps = _flag(body, "inside", True), _flag(body, "steps", False)
    if grid.shape == (SIDE, SIDE):  # one digit, read as it always was
        select = parse_select(body, 1)
        reading = session.read(grid)
        if reading.blank:
            raise HTTPError(400, "the grid is blank: draw a digit first")
        digits = [{"digit": reading.digit, "confidence": round(reading.confidence, 6), "box": ink_box(grid),
                   "verdict": reading.verdict.replace(" ", "_")}]
        number, ink = str(reading.digit), grid
    else:
        read = session.read_number(grid)
        if not read.digits:
            raise HTTPError(400, "the grid is blank: write a number first")
        select = parse_select(body, len(read.digits))
        digits = [{"digit": d.reading.digit, "confidence": round(d.reading.confidence, 6), "box": list(d.box),
                   "verdict": d.reading.verdict.replace(" ", "_")} for d in read.digits]
        number, reading, ink = read.text, read.digits[select].reading, read.digits[select].ink
    reply = {"model": session.model.name, "digit": reading.digit, "confidence": round(reading.confidence, 6),
             "probabilities": np.round(reading.probabilities.astype(np.float64), 6).tolist(),
             "seen": Numbers(reading.seen),
             "verdict": reading.verdict.replace(" ", "_"), "runner_up": reading.runner_up,
             "number": number, "digits": digits, "select": select}
    if show_inside:  # what the inside view shows: about half the work of an answer
        inside, evidence = session.inside(reading, explain)
        reply.update({"hidden": [np.round(a, 3).tolist() for a in inside.hidden],
                      "hidden_rgb": [as_base64(heat_rgb(unit_grid(a))) for a in inside.hidden],
                      "evidence": np.round(evidence.pixels, 4).tolist(), "evidence_for": evidence.digit,
                      "evidence_rgb": as_base64(evidence_rgb(evidence.pixels, reading.seen)),
                      "evidence_exact": evidence.exact, "score": round(evidence.score, 6),
                      "bias": round(evidence.bias, 6), "maps": [feature_maps(m) for m in inside.maps]})
    if "unit" in body:
        k = body["unit"]
        if type(k) is not int:
            raise HTTPError(400, f"field 'unit' is {json.dumps(k)[:30]}, not the index of a hidden unit")
        reply["unit"] = unit_answer(session.unit(ink, k))
    if show_steps:
        reply["steps"] = [{"name": step.name, "says": step.says, "picture": as_base64(ink_rgb(step.picture))}
                          for step in session.steps(ink)]
    return reply


def digit_ink(session: Session, body: dict) -> np.ndarray:
    """The grid of a request about one drawing: a 28 x 28 grid as it is; a wider one (a number)
    the digit `select` of the number read on it."""
    grid = parse_grid(body)
    if grid.shape != (SIDE, SIDE):
        number = session.read_number(grid)
        grid = number.digits[parse_select(body, len(number.digits))].ink if number.digits else grid
    return grid


def parse_step(body: dict, session: Session) -> tuple:
    """POST /api/step's fields: (the drawing, the right digit, the learning rate, how many steps)."""
    grid, label = digit_ink(session, body), parse_label(body)
    lr, steps = body.get("lr", session.step_lr), body.get("steps", 1)
    if type(lr) not in (int, float) or not 0 < lr <= 10:
        raise HTTPError(400, f"field 'lr' is {json.dumps(lr)[:30]}, not a learning rate above 0 and at most 10")
    if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
        raise HTTPError(400, f"field 'steps' is {json.dumps(steps)[:30]}, not a whole number from 1 to {MAX_STEPS}")
    return grid, label, float(lr), steps


def step_answer(step: LearningStep) -> dict:
    """POST /api/step: every number of the learning step, and its pictures as both views show them
    (green: goes up, red: goes down; the hidden error as -dZ, the way each unit is pushed)."""
    if step.filter_change is not None:
        changed, of = [step.filter_change[f] for f in step.units], "filters"
    else:
        changed, of = step.weight_change, "units"
    scale = max((float(np.abs(w).max()) for w in changed), default=1.0)  # one scale for all
    return {"label": step.label, "lr": step.lr, "seen": Numbers(step.seen),
            "loss": [round(v, 6) for v in step.losses],
            "probabilities": [np.round(p, 6).tolist() for p in step.probabilities],
            "output_error": np.round(step.output_error, 6).tolist(),
            "hidden_error": [np.round(e, 6).tolist() for e in step.hidden_error],
            "hidden_error_rgb": [as_base64(signed_rgb(unit_grid(-e))) for e in step.hidden_error],
            "changes_of": of, "units": step.units,
            "changes_rgb": [as_base64(signed_rgb(w, scale)) for w in changed]}


def unit_answer(unit: UnitSum | FilterMap) -> dict:
    """A hidden unit's sum written out (a CNN: a filter and its map), for /api/predict's "unit"."""
    if isinstance(unit, FilterMap):
        return {"kind": "filter", "unit": unit.unit, "weights_rgb": as_base64(signed_rgb(unit.weights)),
                "map_rgb": as_base64(heat_rgb(unit.map)), "bias": round(unit.bias, 6), "lines": unit.written()}
    return {"kind": "unit", "layer": unit.layer, "unit": unit.unit,
            "weights_rgb": as_base64(signed_rgb(unit.weights.reshape(SIDE, SIDE))),
            "terms": [{"pixel": i, "row": i // SIDE, "column": i % SIDE, "weight": round(w, 6), "input": round(x, 6)}
                      for i, w, x in unit.terms],
            "rest": round(unit.rest, 6), "bias": round(unit.bias, 6), "z": round(unit.z, 6), "a": round(unit.a, 6),
            "activation": unit.activation, "lines": unit.written()}


def ink_box(ink: np.ndarray) -> list[int]:
    """[x, y, width, height] of the ink's box, in cells."""
    rows, cols = np.flatnonzero((ink > 0.1).any(axis=1)), np.flatnonzero((ink > 0.1).any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


class Numbers:
    """Numbers 0-1 for an answer, written with 4 decimals as a JSON list: `seen`, 784 of them in
    every answer, took 0.21 ms in json.dumps and takes 0.05 ms from a table of the 10,001 texts."""

    TEXTS = [repr(k / 10000) for k in range(10001)]

    def __init__(self, values: np.ndarray):
        self.values = values

    def json(self) -> str:
        steps = np.rint(np.clip(self.values, 0, 1).reshape(-1) * 10000).astype(np.intp).tolist()
        return "[" + ",".join([self.TEXTS[k] for k in steps]) + "]"


def feature_maps(maps: np.ndarray) -> dict:
    """One convolution's maps (H, W, F) for the page: 19,000 numbers for a 16-32 CNN would take
    100 KB of JSON and 3 ms to write; as bytes of 0-255 in base64, 25 KB and a tenth of that."""
    top = float(maps.max())
    levels = np.round(maps.transpose(2, 0, 1) * (255 / top if top > 0 else 0)).astype(np.uint8)
    return {"filters": int(maps.shape[2]), "side": int(maps.shape[0]), "max": round(top, 4),
            "levels": base64.b64encode(levels.tobytes()).decode("ascii")}


# -- the server -----------------------------------------------------------------------------------

class _TimedParser(HTTPRequestParser):
    """waitress's request parser, noting when the request's first bytes came (for the deadline)."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.time()


class _Channel(HTTPChannel):
    parser_class = _TimedParser

    def writable(self) -> bool:
        """Not while a task is answering: the task sends its answer itself, holding the channel's
        lock, and waitress's loop, polling the socket meanwhile, found it writable, failed to take
        the lock and polled again, a spin that held Python's lock the task needed to finish (0.7
        of a core and 5 times fewer answers with 40 clients, measured). The task wakes the loop
        when it is done, and anything left unsent is sent then; an answer past the high-water
        mark, which the task waits for the loop to send, is polled as before."""
        if self.requests and not self.will_close and self.total_outbufs_len <= self.adj.outbuf_high_watermark:
            return False
        return super().writable()


class _Server(TcpWSGIServer):
    """waitress, with the two limits it has no setting for (see the module's docstring)."""

    channel_class = _Channel

    def readable(self) -> bool:
        super().readable()  # waitress's own housekeeping: idle connections closed
        return self.accepting  # past the limit too: a client there is refused at once

    def handle_accept(self) -> None:
        if len(self.active_channels) < self.adj.connection_limit:
            return super().handle_accept()
        try:
            connection, _ = self.socket.accept()
        except OSError:  # gone already, or out of descriptors: the next turn tries again
            return
        with connection:
            connection.setblocking(False)
            try:
                connection.send(BUSY)
                connection.shutdown(socket.SHUT_WR)
                connection.recv(65536)  # its request, if it came: closing on unread bytes resets
            except OSError:
                pass  # it left, or sent nothing yet: either way, it has been told

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        for channel in list(self.active_channels.values()):
            started = getattr(channel.request, "started", None)
            if started is not None and now - started > REQUEST_DEADLINE:
                channel.will_close = True  # trickling its request for too long: cut off


class Page:
    """The page's server for a session: start() serves it on a thread, stop() ends it."""

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0, classroom: bool = False,
                 **settings):
        host = listen_address(host)
        self.session = session
        self.batcher = Batcher()
        session.forward = self.batcher.probabilities  # drawings that arrive together: one forward pass
        self.loopback_only = is_loopback(host)
        self.access = Access.for_page(self.loopback_only, classroom)
        self.app = make_app(session, self.loopback_only, self.access)
        # Under a low limit of open files (ulimit -n), fewer connections, so that accepting one (if
        # only to refuse it) never fails for want of a descriptor: waitress would retry at once,
        # for ever, and take a whole core doing it.
        limit = max(2, min(SERVER["connection_limit"], descriptors_free() - FD_RESERVE))
        adjustments = waitress.adjustments.Adjustments(
            host=host, port=port, **{**SERVER, "connection_limit": limit, **settings})
        try:
            self.server = _Server(self.app, map={}, adj=adjustments)
        except OSError as e:
            raise _cannot_listen(e, host, port) from None
        self.host, self.port = host, int(self.server.effective_port)
        if CLASS in self.access.tokens:
            self.access.class_link = self.link(CLASS, lan=True)
        self.blas_cores = _blas_cores()  # BLAS's threads as the process started
        self._blas_for_jobs: bool | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def every_address(self) -> bool:
        return self.host in ("0.0.0.0", "::", "")

    @property
    def url(self) -> str:
        host = self.host
        if self.every_address:  # listening everywhere: this machine's own browser uses loopback
            host = "::1" if ":" in host else "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def link(self, role: str = TEACHER, lan: bool = False) -> str:
        """The address to open, with the role's token: on this computer, or (lan) as a phone on
        the same network reaches it."""
        base = self.url
        if lan and self.every_address and (address := lan_address()):
            base = f"http://{address}:{self.port}"
        elif lan and not self.every_address and not self.loopback_only:
            base = f"http://{self.host}:{self.port}" if ":" not in self.host else f"http://[{self.host}]:{self.port}"
        return link(base, self.access.tokens.get(role))

    def start(self) -> "Page":
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="page")
        self._thread.start()
        return self

    def tend(self) -> None:
        """On the main thread, every fraction of a second: BLAS gets one thread while the page
        only guesses (one drawing is a small product, and BLAS's helpers would only spin on the
        cores the other requests need: a third more CPU per request, measured), and every core
        while a network trains or is taught, as train.py has. OpenBLAS takes a raise of its
        thread count only from the main thread (asked from the training thread, it stays at one:
        1.4 times train.py's epoch, measured)."""
        busy = self.session.busy
        if busy != self._blas_for_jobs:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=self.blas_cores if busy else 1, user_api="blas")
            self._blas_for_jobs = busy

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening; cancel a teaching or a training and wait (up to `timeout`) for it, for
        a save under way and for the requests in hand; then close every connection."""
        if self._stopped:
            return
        self._stopped = True
        running = self._thread is not None and self._thread.is_alive()

        def on_the_server(action: Callable[[], None]) -> None:  # between two turns of its loop
            if running:
                done = threading.Event()
                self.server.trigger.pull_trigger(lambda: (action(), done.set()))
                done.wait(timeout)
            else:
                action()

        on_the_server(lambda: dispatcher.close(self.server))  # the listening socket only
        self.session.close(timeout)
        self.batcher.close()
        self.session.forward = None
        self.server.task_dispatcher.shutdown(timeout=timeout)

        def close_all() -> None:
            for connection in list(self.server._map.values()):
                if connection is not self.server.trigger:
                    connection.close()
            self.server.trigger.close()  # the map is empty: the loop ends

        if running:
            self.server.trigger.pull_trigger(close_all)
            self._thread.join(timeout)
        else:
            close_all()


def _blas_cores() -> int:
    from threadpoolctl import threadpool_info

    return max([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] or [1])


def _cannot_listen(e: OSError, host: str, port: int) -> UsageError:
    if e.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} is in use (another program, or draw.py --web already running); "
                          "choose another with --port N, or --port 0 for any free one")
    if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"--host {host}: not an address of this machine ({e.strerror or e})")
    if e.errno == errno.EACCES:
        return UsageError(f"--port {port}: permission denied (ports below 1024 need administrator rights; "
                          "try --port 8028)")
    return UsageError(f"cannot serve on {host}:{port} ({e.strerror or e})")


def lan_address() -> str | None:
    """This machine's address on the local network, as a phone would reach it (no packet is sent:
    connecting a UDP socket only picks the route)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def serve(page: Page, announce: Callable[[], None], open_browser: bool) -> int:
    """Say where the page is (`announce`), serve until Ctrl-C, then finish what is under way and
    stop quietly. The socket is already listening, so the page loads as soon as it is announced."""
    page.start()
    try:
        announce()
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(page.link(),), daemon=True).start()  # with its token
        while True:
            page.tend()
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        page.stop()
    return 0
