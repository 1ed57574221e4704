"""The drawing page: `python draw.py --web` serves the window's grid, guess and bars to a browser.

The page (the files in nn/page/) only paints. It sends the 28x28 grid of ink to this server, which
reads it exactly as the window does (nn/reading.py: the MNIST-style normalisation, then the forward
pass) and answers in JSON:

    GET  /api/model     -> {"name", "shape", "sizes", "conv", "kernel", "accuracy", "activation",
                            "brush", "eraser", ...}
    POST /api/predict   {"grid": [784 numbers, 0 = paper, 1 = full ink, row by row],
                         "explain": 0-9 (optional: whose evidence map; default the guess),
                         "inside": false (optional: leave out hidden and evidence, for speed)}
                        -> {"digit", "confidence", "probabilities": [10], "seen": [784],
                            "verdict": "sure" | "unsure" | "too_small", "runner_up",
                            "hidden": [[n_1 numbers], ...], "evidence": [784], "evidence_for",
                            "evidence_exact", "score", "bias",
                            "maps": [{"filters", "side", "max", "levels"}]}   (see nn/explain.py)
                        a CNN's feature maps, one entry per convolution: "levels" is base64 of
                        filters x side x side bytes, filter by filter, row by row, 0-255 for 0-max
    POST /api/save      {"grid": [...], "label": 0-9} -> {"saved": rows now in the file, "file"}
    POST /api/teach     {} -> 202 {"state": "running"}: fine-tune on the saved drawings (nn/teach.py);
                        409 while a teaching runs, 400 with the reason when there is too little
    GET  /api/teach     -> {"state": "idle" | "running" | "done" | "failed" | "cancelled",
                            "progress": 0-1, "before": {"yours", "mnist"}, "after": {...},
                            "model", "summary", "held_out", "taught", "error", "can_undo"}
    DELETE /api/teach   cancels; POST /api/teach/undo puts back the model from before it
    POST /api/train     {"hidden": [64], "epochs": 1, ...} (train.py's settings; nn/live.py) -> 202
                        {"state": "running"}; 409 while a training or a teaching runs; 400 with the
                        reason for settings train.py would refuse
    GET  /api/train     ?since=K (batch losses from the K-th on) &weights=1 (the first layer)
                        -> {"state": "idle" | "running" | "done" | "stopped" | "failed", "epoch",
                            "epochs", "step", "steps", "history": {per-epoch lists}, "loss",
                            "loss_from", "test_accuracy", "confusion", "seconds_left", "weights"...}
    DELETE /api/train   stops it, keeping the best weights so far
    POST /api/train/use {"use": "trained" | "previous"}: the page answers with the network trained
                        here, or with the one before it
    POST /api/train/save {} -> {"saved": "data/model.npz"}: the trained network to draw.py's --out
    anything wrong      -> a 4xx status and {"error": "what was wrong"}

The server is the standard library's ThreadingHTTPServer (a thread per connection): nothing to
install, and the forward pass (~0.3 ms) is far from being the bottleneck. It is meant for one
person's browser and phone, not for the internet: it binds 127.0.0.1 unless told otherwise, reads
no body over 64 KiB, gives up on a client that stalls, serves only the page's own files (held in
memory, so no request can name a path on disk), refuses posts from other sites' pages, and answers
every bad request with a 4xx and a reason, never a traceback.
"""

from __future__ import annotations

import base64
import errno
import json
import math
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import numpy as np

from nn.session.canvas import BRUSH, ERASER
from nn.dataset import N_PIXELS, SIDE
from nn.errors import NNError, UsageError
from nn.session.explain import Explainer
from nn.session.jobs import Busy, Teacher
from nn.session.trainer import Trainer
from nn.network import Network
from nn.session.reading import read, save_drawing

PAGE_DIR = Path(__file__).resolve().parent / "page"
MAX_BODY = 64 * 1024  # bytes; a grid of 784 numbers takes under 16 KiB even at full precision
CLIENT_TIMEOUT = 10.0  # seconds a client may take to send its request before it is dropped
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
# The page loads its own files and nothing else (no CDN, no fonts, no frames, no other origins).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
MAX_CONNECTIONS = 64  # open at once; more are answered 503 and closed (each holds a thread)
FD_RESERVE = 24  # file descriptors kept free of connections: the CSV, the model, a save's temporary file...
REQUEST_DEADLINE = 30.0  # seconds for a whole request, however slowly its bytes trickle in


def is_loopback(host: str) -> bool:
    """Whether a host name or address means this machine: localhost, 127.x.y.z or ::1 (parsed,
    so that 127.0.0.1.attacker.example is not taken for one)."""
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BadRequest(Exception):
    """A request the server refuses: an HTTP status and the reason, sent back as JSON."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass
class PageModel:
    """What the page serves: the network, what to call it, and where labeled drawings go."""

    net: Network
    name: str  # as shown on the page, e.g. data/pretrained.npz
    accuracy: float | None  # test accuracy from the model file, 0-1
    custom_path: Path  # the custom-digits CSV that /api/save appends to
    custom_name: str  # that path as the page shows it
    explainer: Explainer = field(init=False, repr=False)

    def __post_init__(self):
        self.explainer = Explainer(self.net)

    def describe(self) -> dict:
        return {"name": self.name, "shape": self.net.shape_name, "sizes": list(self.net.sizes),
                "conv": list(self.net.conv), "kernel": self.net.kernel, "accuracy": self.accuracy,
                "activation": self.net.activation.name, "loss": self.net.loss.name,
                "grid": SIDE, "brush": {"core": BRUSH[0], "outer": BRUSH[1]},
                "eraser": {"core": ERASER[0], "outer": ERASER[1]}, "saves_to": self.custom_name}


# -- the API: JSON in, JSON out -------------------------------------------------------------------

def parse_json(body: bytes) -> dict:
    """The request body as a JSON object; NaN and Infinity are refused, as JSON itself does."""
    def constant(name: str):
        raise BadRequest(400, f"the body holds {name}, which is not a number JSON allows")

    try:
        value = json.loads(body, parse_constant=constant)
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8 text") from None
    except RecursionError:
        raise BadRequest(400, "the body is nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError, and integers too long to convert
        raise BadRequest(400, f"the body is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise BadRequest(400, f"the body must be a JSON object such as {{\"grid\": [...]}}, "
                              f"not {_json_kind(value)}")
    return value


def parse_grid(request: dict) -> np.ndarray:
    """The "grid" field: 784 numbers from 0 to 1, row by row -> ink (28, 28) float32."""
    if "grid" not in request:
        raise BadRequest(400, f"field 'grid' is missing: send {N_PIXELS} numbers from 0 to 1, row by row")
    grid = request["grid"]
    if not isinstance(grid, list):
        raise BadRequest(400, f"field 'grid' must be a list of {N_PIXELS} numbers, not {_json_kind(grid)}")
    if len(grid) != N_PIXELS:
        nested = " (one flat list, row after row, not a list of rows)" if grid and isinstance(grid[0], list) else ""
        raise BadRequest(400, f"field 'grid' has {len(grid)} values, expected {N_PIXELS} "
                              f"({SIDE} rows of {SIDE}){nested}")
    if set(map(type, grid)) <= {int, float}:  # the usual case, checked at NumPy's speed
        try:
            values = np.array(grid, dtype=np.float64)
        except OverflowError:  # an integer beyond any float: the loop below names it
            values = None
        if values is not None and ((values >= 0) & (values <= 1)).all():
            return values.astype(np.float32).reshape(SIDE, SIDE)
    for i, value in enumerate(grid):  # find the first bad value, and say what it is
        # bool is an int in Python, but true and false are not numbers in JSON
        if type(value) not in (int, float):
            raise BadRequest(400, f"grid[{i}] is {_json_kind(value)}, not a number")
        if type(value) is float and not math.isfinite(value):  # 1e400 parses as infinity
            raise BadRequest(400, f"grid[{i}] is not a finite number")
        if not 0 <= value <= 1:
            raise BadRequest(400, f"grid[{i}] is {json.dumps(value)[:30]}, outside 0-1 "
                                  "(0 = paper, 1 = full ink)")
    return np.array(grid, dtype=np.float32).reshape(SIDE, SIDE)


def parse_label(request: dict) -> int:
    if "label" not in request:
        raise BadRequest(400, "field 'label' is missing: the digit 0-9 the drawing shows")
    label = request["label"]
    if type(label) is not int or not 0 <= label <= 9:
        shown = json.dumps(label)[:40]
        raise BadRequest(400, f"field 'label' is {shown}, not a digit 0-9")
    return label


def predict(model: PageModel, request: dict) -> dict:
    grid = parse_grid(request)
    explain = request.get("explain")
    if explain is not None and (type(explain) is not int or not 0 <= explain <= 9):
        raise BadRequest(400, f"field 'explain' is {json.dumps(explain)[:30]}, not a digit 0-9")
    show_inside = request.get("inside", True)
    if type(show_inside) is not bool:
        raise BadRequest(400, f"field 'inside' is {json.dumps(show_inside)[:30]}, not true or false")
    reading = read(model.net, grid, drawn=True)
    if reading.blank:
        raise BadRequest(400, "the grid is blank: draw a digit first")
    answer = {"digit": reading.digit, "confidence": round(reading.confidence, 6),
              "probabilities": np.round(reading.probabilities.astype(np.float64), 6).tolist(),
              "seen": np.round(reading.seen.reshape(-1).astype(np.float64), 4).tolist(),
              "verdict": reading.verdict.replace(" ", "_"), "runner_up": reading.runner_up}
    if show_inside:  # what the inside view shows: about half the work of an answer
        inside = model.explainer.inside(reading.seen.reshape(-1))
        evidence = model.explainer.evidence(inside, reading.digit if explain is None else explain)
        answer.update({"hidden": [np.round(a, 3).tolist() for a in inside.hidden],
                       "evidence": np.round(evidence.pixels, 4).tolist(), "evidence_for": evidence.digit,
                       "evidence_exact": evidence.exact, "score": round(evidence.score, 6),
                       "bias": round(evidence.bias, 6),
                       "maps": [feature_maps(m) for m in inside.maps]})
    return answer


def feature_maps(maps: np.ndarray) -> dict:
    """One convolution's maps (H, W, F) for the page: 19,000 numbers for a 16-32 CNN would take
    100 KB of JSON and 3 ms to write; as bytes of 0-255 in base64, 25 KB and a tenth of that."""
    top = float(maps.max())
    levels = np.round(maps.transpose(2, 0, 1) * (255 / top if top > 0 else 0)).astype(np.uint8)
    return {"filters": int(maps.shape[2]), "side": int(maps.shape[0]), "max": round(top, 4),
            "levels": base64.b64encode(levels.tobytes()).decode("ascii")}


def save(model: PageModel, request: dict, lock: threading.Lock) -> dict:
    grid, label = parse_grid(request), parse_label(request)
    reading = read(model.net, grid)
    if reading.blank:
        raise BadRequest(400, "the grid is blank: there is no drawing to save")
    with lock:  # a shutdown waits for a save under way
        try:
            rows = save_drawing(model.custom_path, reading.seen, label)
        except OSError as e:
            raise BadRequest(500, f"cannot save to {model.custom_name} "
                                  f"({e.strerror or e}); nothing was written") from None
        except NNError as e:
            raise BadRequest(500, f"cannot save: {e}") from None
    return {"saved": rows, "file": model.custom_name, "label": label}


def teach_state(teacher: Teacher) -> dict:
    """GET /api/teach: the teaching job as it is now."""
    job, report = teacher.job, teacher.report
    state = {"state": job.state, "progress": round(job.progress, 4), "model": teacher.model.name,
             "can_undo": teacher.can_undo, "error": job.error}
    if report is not None:
        state.update({"before": report.before, "after": report.after, "summary": report.summary(),
                      "held_out": report.held_out, "taught": report.taught, "how": report.how()})
    return state


def busy(e: Busy) -> BadRequest:
    """409 for a job that cannot start while another runs, saying how to end that one."""
    stop = "cancel it (DELETE /api/teach)" if str(e) == "teaching" else "stop it (DELETE /api/train)"
    return BadRequest(409, f"{e} is running already: wait for it, or {stop}")


def _json_kind(value) -> str:
    kinds = {bool: "true or false", str: "a string", list: "a list", dict: "an object",
             type(None): "null", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


# -- HTTP -----------------------------------------------------------------------------------------

def load_page(folder: Path = PAGE_DIR) -> dict[str, tuple[bytes, str]]:
    """The page's files, read once: URL path -> (bytes, content type). Nothing else is served."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            files["/" + path.name] = (path.read_bytes(), CONTENT_TYPES[path.suffix])
    files["/"] = files["/index.html"]
    return files


class PageServer(ThreadingHTTPServer):
    daemon_threads = True  # a client that keeps its connection open never holds up Ctrl-C
    request_queue_size = 128  # connections waiting to be accepted (socketserver's default is 5)
    max_connections = MAX_CONNECTIONS
    request_deadline = REQUEST_DEADLINE

    def __init__(self, address: tuple[str, int], model: PageModel, teacher: Teacher | None = None,
                 trainer: Trainer | None = None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._model = model
        self.teacher = teacher  # teaching from the page (None: the /api/teach routes answer 404)
        self._in_use = teacher.model if teacher is not None else None
        self.trainer = trainer  # training from the page (None: the /api/train routes answer 404)
        self.page = load_page()
        self.save_lock = threading.Lock()
        self.in_hand = 0  # requests being answered now
        self.in_hand_changed = threading.Condition()
        # open connections, and when the request each is reading must be complete by
        self.connections: dict[socket.socket, float] = {}
        self.connections_lock = threading.Lock()
        self._watchdog = threading.Thread(target=self._drop_slow_clients, daemon=True)
        self._watchdog.start()
        self.loopback_only = is_loopback(address[0])
        # Under a low limit of open files (ulimit -n), fewer connections at once, so that accepting
        # one never fails; and a spare descriptor, to answer 503 when the limit is reached anyway.
        self.max_connections = max(2, min(MAX_CONNECTIONS, descriptors_free() - FD_RESERVE))
        self._spare = os.open(os.devnull, os.O_RDONLY)
        self.blas_cores = _blas_cores()  # BLAS's threads as the process started
        self._blas_for_jobs = False  # serve() starts BLAS at one thread
        super().__init__(address, PageHandler)

    @property
    def model(self) -> PageModel:
        """The model the page answers with: once a teaching is done (or undone), the teacher's."""
        teacher = self.teacher
        if teacher is not None and teacher.model is not self._in_use:
            in_use = teacher.model
            test = in_use.info.accuracy.get("test")
            self._model = PageModel(in_use.net, in_use.name, test if isinstance(test, float) else None,
                                    self._model.custom_path, self._model.custom_name)
            self._in_use = in_use
        return self._model

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if self.every_address:  # listening everywhere: this machine's own browser uses loopback
            host = "::1" if self.address_family == socket.AF_INET6 else "127.0.0.1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def every_address(self) -> bool:
        return self.server_address[0] in ("0.0.0.0", "::", "")

    def handle_error(self, request, client_address) -> None:
        """A connection that broke (a client gone, a reset): nothing to report, serve the next."""

    def verify_request(self, request, client_address) -> bool:
        """Too many connections at once: a short 503 instead of one more thread."""
        with self.connections_lock:
            busy = len(self.connections) >= self.max_connections
        if busy:
            _busy(request)
        return not busy

    def get_request(self):
        """Accept a connection. When the process is out of file descriptors, the listening socket
        stays readable and accepting fails at once, again and again: the loop would spin at full
        speed. The spare descriptor makes room to accept that one client, tell it 503, close it."""
        try:
            return super().get_request()
        except OSError as e:
            if e.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            os.close(self._spare)
            try:
                connection, _ = self.socket.accept()
                _busy(connection)
                _shut(connection)
                connection.close()
            except OSError:
                import time

                time.sleep(0.05)  # still none free: do not spin
            finally:
                self._spare = os.open(os.devnull, os.O_RDONLY)
            raise

    def _drop_slow_clients(self) -> None:
        """Every second, cut the connections whose request is past its deadline: a client that
        sends a byte every few seconds would otherwise hold its thread for ever."""
        import time

        while True:
            time.sleep(min(1.0, self.request_deadline / 4))
            now = time.monotonic()
            with self.connections_lock:
                late = [c for c, deadline in self.connections.items() if deadline < now]
            for connection in late:
                _shut(connection)

    def blas_threads(self, job_running: bool) -> None:
        """BLAS gets one thread while the page only guesses: one drawing at a time is a small
        product, and BLAS's helper threads would only spin, taking the CPU that the other requests'
        threads need (measured: a third more CPU per request). While a network trains or is taught
        here, every core, as train.py has."""
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=self.blas_cores if job_running else 1, user_api="blas")
        self._blas_for_jobs = job_running

    def service_actions(self) -> None:
        """Between requests, on the main thread (serve_forever calls it): OpenBLAS takes a raise of
        its thread count only from the main thread (asked from the training thread, it stays at
        one: measured, 1.4 times train.py's epoch), so a job's cores are given from here."""
        running = any(w is not None and w.job.running for w in (self.trainer, self.teacher))
        if running != self._blas_for_jobs:
            self.blas_threads(running)

    def server_close(self) -> None:
        """Close the listening socket and every open connection (a browser keeps one alive)."""
        super().server_close()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            _shut(connection)

    def close_when_idle(self, timeout: float = 5.0) -> None:
        """Stop: cancel a teaching or a training and wait (up to `timeout`) for it, for a save under
        way and for the requests in hand to end, then close everything."""
        import time

        deadline = time.monotonic() + timeout
        for job in [w.job for w in (self.teacher, self.trainer) if w is not None]:
            if job.running:
                job.cancel()
                job.wait(max(0.0, deadline - time.monotonic()))
        if self.save_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            self.save_lock.release()
        with self.in_hand_changed:
            self.in_hand_changed.wait_for(lambda: self.in_hand == 0, max(0.0, deadline - time.monotonic()))
        self.server_close()


class PageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the page and the benchmark reuse connections
    default_request_version = "HTTP/1.1"  # even a garbled request line gets a status line back
    server_version = "nn-digits"
    sys_version = ""
    timeout = CLIENT_TIMEOUT
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK wait
    server: PageServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self._deadline(self.server.request_deadline)

    def handle_one_request(self) -> None:
        # the deadline runs from when the server starts waiting for a request; an idle
        # keep-alive connection is closed sooner, by the per-read timeout
        self._deadline(self.server.request_deadline)
        super().handle_one_request()

    def _deadline(self, seconds: float) -> None:
        import time

        with self.server.connections_lock:
            self.server.connections[self.connection] = time.monotonic() + seconds

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.pop(self.connection, None)
        try:
            super().finish()
        except (ConnectionError, TimeoutError):
            pass

    # GET /path, POST /path, and any other method, all go through `_route`: wrong methods get
    # 405 (not http.server's 501), unknown paths 404.
    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self._route
        raise AttributeError(name)

    def _route(self) -> None:
        with self.server.in_hand_changed:
            self.server.in_hand += 1
        try:
            self._answer()
        finally:
            with self.server.in_hand_changed:
                self.server.in_hand -= 1
                self.server.in_hand_changed.notify_all()

    def _answer(self) -> None:
        try:
            self._check_host()
            path = urlsplit(self.path).path if self.path.startswith("/") else self.path
            routes = {"/api/model": ("GET", "HEAD"), "/api/predict": ("POST",), "/api/save": ("POST",)}
            if self.server.teacher is not None:
                routes.update({"/api/teach": ("GET", "HEAD", "POST", "DELETE"), "/api/teach/undo": ("POST",)})
            if self.server.trainer is not None:
                routes.update({"/api/train": ("GET", "HEAD", "POST", "DELETE"), "/api/train/use": ("POST",),
                               "/api/train/save": ("POST",)})
            allowed = routes.get(path) or (("GET", "HEAD") if path in self.server.page else None)
            if allowed is None:
                raise BadRequest(404, f"no such page: {self.path[:100]}")
            if self.command not in allowed:
                self._allow = ", ".join(allowed)
                raise BadRequest(405, f"{self.command[:20]} is not allowed here; use {' or '.join(allowed)}")
            if path in self.server.page:
                body, content_type = self.server.page[path]
                self._send(200, body, content_type)
            elif path == "/api/model":
                self._send_json(200, self.server.model.describe())
            elif path == "/api/predict":
                self._send_json(200, predict(self.server.model, self._read_json()))
            elif path.startswith("/api/teach"):
                self._teach(path)
            elif path.startswith("/api/train"):
                self._train(path)
            else:
                self._send_json(200, save(self.server.model, self._read_json(), self.server.save_lock))
        except BadRequest as e:
            self.close_connection = True  # the rest of a refused request must not be read as the next
            self._send_json(e.status, {"error": str(e)})
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug of ours: one line on the terminal, a 500 to the client
            sys.stderr.write(f"draw.py: error: {self.command} {self.path[:100]}: "
                             f"{type(e).__name__}: {e}\n")
            self.close_connection = True
            self._send_json(500, {"error": f"the server failed: {type(e).__name__}: {e}"})

    def _check_host(self) -> None:
        """On a loopback address, only pages served from a loopback name: another site whose name
        is made to point at 127.0.0.1 (DNS rebinding) gets 403. A header that should come once
        and comes twice is refused outright, since two readers could take different ones."""
        for name in ("Host", "Content-Length", "Content-Type", "Origin", "Transfer-Encoding"):
            if len(self.headers.get_all(name, [])) > 1:
                raise BadRequest(400, f"the {name} header comes more than once")
        host = self.headers.get("Host")
        if not self.server.loopback_only or host is None:
            return
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not is_loopback(name):
            raise BadRequest(403, f"this server answers requests for 127.0.0.1 or localhost, not {host[:60]}")

    def _teach(self, path: str) -> None:
        """/api/teach and /api/teach/undo (see the module's docstring)."""
        teacher = self.server.teacher
        if self.command in ("GET", "HEAD"):
            self._send_json(200, teach_state(teacher))
        elif path == "/api/teach/undo":
            self._read_json_if_any()
            if not teacher.can_undo:
                raise BadRequest(409, "nothing to undo" if not teacher.job.running
                                 else "a teaching is running: cancel it (DELETE /api/teach) first")
            try:
                model = teacher.undo()
            except OSError as e:
                raise BadRequest(500, f"cannot put back {teacher.out.name} ({e.strerror or e})") from None
            self._send_json(200, {**teach_state(teacher), "model": model.name})
        elif self.command == "DELETE":
            self._read_json_if_any()
            teacher.job.cancel()
            self._send_json(200, teach_state(teacher))
        else:
            self._read_json()  # {} (or any settings to come): checked like every post
            try:
                teacher.start()
            except Busy as e:
                raise busy(e) from None
            except NNError as e:
                raise BadRequest(400, str(e)) from None
            self._send_json(202, {"state": "running"})

    def _train(self, path: str) -> None:
        """/api/train, /api/train/use and /api/train/save (see the module's docstring)."""
        trainer = self.server.trainer
        if self.command in ("GET", "HEAD"):
            query = parse_qs(urlsplit(self.path).query)
            since = query.get("since", [None])[-1]
            if since is not None and not (since.isascii() and since.isdigit() and len(since) < 12):
                raise BadRequest(400, f"since={since[:20]!r}: give the number of batch losses the page has")
            weights = query.get("weights", ["0"])[-1] not in ("0", "", "false")
            self._send_json(200, trainer.state(None if since is None else int(since), weights))
        elif self.command == "DELETE":
            self._read_json_if_any()
            trainer.job.cancel()
            self._send_json(200, trainer.state())
        elif path == "/api/train/use":
            request = self._read_json()
            try:
                model = trainer.use(request.get("use", "trained"))
            except NNError as e:
                raise BadRequest(409 if trainer.trained is None or trainer.job.running else 400, str(e)) from None
            self._send_json(200, {**trainer.state(), "model": model.name})
        elif path == "/api/train/save":
            self._read_json()
            try:
                name = trainer.save()
            except UsageError as e:
                raise BadRequest(409 if trainer.trained is None or trainer.job.running else 400, str(e)) from None
            except (OSError, NNError) as e:
                reason = f"{e.strerror or e}" if isinstance(e, OSError) else str(e)
                raise BadRequest(500, f"cannot save to {trainer.out.name} ({reason}); nothing was written") from None
            self._send_json(200, {**trainer.state(), "saved": name})
        else:
            request = self._read_json()
            try:
                trainer.start(request)
            except Busy as e:
                raise busy(e) from None
            except MemoryError:
                raise BadRequest(400, "not enough memory for that network: ask for a smaller one") from None
            except NNError as e:
                raise BadRequest(400, str(e)) from None
            self._send_json(202, {"state": "running"})

    def _read_json_if_any(self) -> None:
        """A request that needs no body may come with one ({}): read it all the same, or its bytes
        would be taken for the start of the connection's next request."""
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or \
                "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._read_json()
        else:
            self._check_origin()

    def _check_origin(self) -> None:
        """Requests that change something, from another site's page, get 403."""
        origin = self.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.netloc != self.headers.get("Host"):
                raise BadRequest(403, f"requests from other pages ({origin[:60]}) are refused")

    def _read_json(self) -> dict:
        """The body, refused before it is read when it is too large, not JSON, or from another site."""
        self._check_origin()
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise BadRequest(415, "send the body as JSON, with Content-Type: application/json")
        length = self._content_length()
        body = self.rfile.read(length)
        if len(body) < length:
            raise BadRequest(400, f"the body ended after {len(body)} of {length} bytes")
        return parse_json(body)

    def _content_length(self) -> int:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise BadRequest(411, "send the body with a Content-Length, not chunked")
        text = self.headers.get("Content-Length")
        if text is None:
            raise BadRequest(411, "a Content-Length header is required")
        digits = text.strip()
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
            raise BadRequest(400, f"Content-Length {text[:20]!r} is not a number of bytes")
        length = int(digits)
        if length > MAX_BODY:
            raise BadRequest(413, f"the body is {length:,} bytes; the limit is {MAX_BODY:,}")
        return length

    def handle_expect_100(self) -> bool:
        """`Expect: 100-continue` (curl sends it for large bodies): refuse an oversized body before
        the client sends it."""
        try:
            self._content_length()
        except BadRequest as e:
            self.close_connection = True
            self._send_json(e.status, {"error": str(e)})
            return False
        return super().handle_expect_100()

    # -- answers ----------------------------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, headers too long...) as JSON."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._send_json(code, {"error": message or phrase})

    def _send_json(self, status: int, value: dict) -> None:
        body = json.dumps(value, allow_nan=False).encode()
        self._send(status, body, "application/json", {"Cache-Control": "no-store"})

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**SECURITY_HEADERS, "Cache-Control": "no-cache", **(headers or {})}.items():
                self.send_header(name, value)
            if status == 405:
                self.send_header("Allow", getattr(self, "_allow", ""))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client left; nothing to tell it

    def log_message(self, format: str, *args) -> None:
        """Quiet: a request is not news (http.server would print a line for each one)."""


# -- the command ----------------------------------------------------------------------------------

def start(model: PageModel, host: str = "127.0.0.1", port: int = 0,
          teacher: Teacher | None = None, trainer: Trainer | None = None) -> PageServer:
    """A server bound to (host, port), not yet serving; port 0 takes any free port."""
    try:
        return PageServer((host, port), model, teacher, trainer)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is in use (another program, or draw.py --web already "
                             f"running); choose another with --port N, or --port 0 for any free one") from None
        if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host}: not an address of this machine ({e.strerror or e})") from None
        if e.errno == errno.EACCES:
            raise UsageError(f"--port {port}: permission denied (ports below 1024 need "
                             "administrator rights; try --port 8028)") from None
        raise UsageError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None


def _blas_cores() -> int:
    from threadpoolctl import threadpool_info

    return max([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] or [1])


def descriptors_free() -> int:
    """How many more files this process may open (ulimit -n), as far as the system says."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 1 << 20
        return soft - len(os.listdir("/proc/self/fd"))
    except (ImportError, OSError, ValueError):  # Windows, or no /proc
        return 1 << 20


def _busy(connection: socket.socket) -> None:
    body = b'{"error": "the server is busy: too many connections at once; try again"}'
    try:
        connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                           b"Connection: close\r\nContent-Length: " + str(len(body)).encode()
                           + b"\r\n\r\n" + body)
    except OSError:
        pass


def _shut(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


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


def serve(server: PageServer, announce: Callable[[], None], open_browser: bool) -> int:
    """Say where the page is (`announce`), serve until Ctrl-C, then wait for a save under way and
    stop quietly. The socket is already listening, so the page loads as soon as it is announced."""
    server.blas_threads(False)
    try:
        announce()
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        server.close_when_idle()
    return 0
