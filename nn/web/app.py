"""The page's application: `create_app(session)` builds it from its blueprints, the guard every
request passes, and one handler that turns every refusal into JSON.

    nn/web/routes/drawing.py     GET /, its files, GET /api/model, POST /api/predict, /api/save
    nn/web/routes/photos.py      POST /api/photo
    nn/web/routes/learning.py    POST /api/step, /api/step/keep, GET /api/dream
    nn/web/routes/jobs.py        GET|POST|DELETE /api/teach, POST /api/teach/undo,
                                 GET|POST|DELETE /api/train, POST /api/train/use, /api/train/save
    nn/web/routes/classroom.py   GET /api/qr
    anything wrong               -> a 4xx status and {"error": "what was wrong"} (docs/web.md)

A new route is a small function in the blueprint of its area: read the request with
nn/web/requests.py, ask the session, answer with nn/web/answers.py. On 127.0.0.1 the page is one
person's; listening beyond, every request needs a token (nn/web/access.py).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from nn.errors import Crowded, NNError, NothingYet, NotHere
from nn.session.export import GRID_JS, READING_JS
from nn.session.jobs import Busy
from nn.session.session import Session
from nn.web.access import COOKIE, Access, Refused
from nn.web.answers import CompactJSON
from nn.web.requests import HTTPError, check_headers, current_access
from nn.web.routes.classroom import classroom
from nn.web.routes.drawing import drawing
from nn.web.routes.jobs import jobs
from nn.web.routes.learning import learning
from nn.web.routes.photos import photos

PAGE_DIR = Path(__file__).resolve().parent / "page"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
MAX_REASON = 300  # characters of a refusal's reason, at most
# The page loads its own files and nothing else (no CDN, no fonts, no frames, no other origins).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
NEEDS_LINK = ("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
              "<title>Digit recognizer</title><body style='font:18px system-ui;margin:2em;background:#1c1e26;"
              "color:#dcdee8'><h1>This page needs its link</h1><p>Open the address that <code>draw.py "
              "--web</code> printed, with its <code>?token=</code>, or scan the code the teacher shows.")


def create_app(session: Session, loopback_only: bool = True, access: Access | None = None) -> Flask:
    """The page over `session`, as a WSGI application; `access` says who may use it (none: the
    open page, as on 127.0.0.1)."""
    app = Flask(__name__, static_folder=None)
    # No redirects of the framework's own: it would send /api//model?token=... on to
    # http://<whatever Host the request named>/api/model?token=... (308, in HTML), and /index.html
    # on to /. A path is answered as it is written (/api/model/ is not /api/model), or not found.
    app.url_map.merge_slashes = app.url_map.redirect_defaults = False
    app.json = CompactJSON(app)
    app.extensions.update(session=session, access=access or Access(None), files=load_page())
    for blueprint in (drawing, photos, learning, jobs, classroom):
        app.register_blueprint(blueprint)
    app.before_request(lambda: guard(loopback_only))
    app.register_error_handler(Exception, refusal)
    app.after_request(secured)
    return app


def guard(loopback_only: bool) -> Response | None:
    """Before every request: its headers checked, its role found from its token (or 401), and the
    page's link answered with a cookie that keeps the token out of the address bar."""
    check_headers(loopback_only)
    token = request.args.get("token")
    header = request.headers.get("Authorization", "")
    if token is None and header[:7].lower() == "bearer ":
        token = header[7:].strip()
    g.role = current_access().role(token or request.cookies.get(COOKIE), request.remote_addr or "?")
    files = current_app.extensions["files"]
    if request.method == "GET" and "token" in request.args and (request.path == "/" or request.path[1:] in files):
        # sent on to one of the page's own files by its name, never to a path the request made up
        response = Response(status=303, headers={"Location": request.path})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", path="/")
        return response
    return None


def refusal(e: Exception) -> Response:
    """Every error, as one answer: JSON with the reason, and the status its kind says (a browser
    without its link gets the short page that asks for it)."""
    if isinstance(e, HTTPException):  # Flask's own: 404, 405, 400...
        return _framework_refusal(e)
    if isinstance(e, Refused) and e.status == 401 and not (request.path + "/").startswith("/api/"):
        return Response(NEEDS_LINK, 401, content_type="text/html; charset=utf-8")
    status, reason = _refused(e)
    response = _json(reason, status)
    if isinstance(e, Refused) and e.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(e.retry_after)))
    return response


def _refused(e: Exception) -> tuple[int, str]:
    """(status, reason) by what was raised: the user's mistakes 400, nothing there yet and a job
    running 409, a capability this page lacks 404, too much at once 503, a file that cannot be
    written 500."""
    if isinstance(e, (HTTPError, Refused)):
        return e.status, str(e)
    if isinstance(e, Busy):
        stop = "cancel it (DELETE /api/teach)" if str(e) == "teaching" else "stop it (DELETE /api/train)"
        return 409, f"{e} is running already: wait for it, or {stop}"
    if isinstance(e, Crowded):
        return 503, str(e)
    if isinstance(e, NNError):  # a setting, a file, a drawing that cannot be used: the reason
        return 409 if isinstance(e, NothingYet) else 404 if isinstance(e, NotHere) else 400, str(e)
    if isinstance(e, MemoryError):
        return 400, "not enough memory for that: ask for a smaller network"
    if isinstance(e, OSError):  # a save, an undo: the file and why; nothing was half written
        return 500, f"cannot write {Path(e.filename or '?').name} ({e.strerror or e}); nothing was written"
    # a bug of ours: one line on the terminal, a 500 to the client
    sys.stderr.write(f"draw.py: error: {request.method} {request.path[:100]}: {said(f'{type(e).__name__}: {e}')}\n")
    return 500, f"the server failed: {type(e).__name__}: {e}"


def _framework_refusal(e: HTTPException) -> Response:
    """Flask's own refusals (an unknown path, a wrong method...), in the same JSON as ours."""
    if e.code == 405:
        allowed = sorted(e.valid_methods or [], key=("GET", "HEAD", "POST", "DELETE").index)
        response = _json(f"{request.method[:20]} is not allowed here; use {' or '.join(allowed)}", 405)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _json(f"no such page: {request.path[:100]}" if e.code == 404 else e.description or e.name, e.code or 500)


def _json(reason: str, status: int) -> Response:
    response = current_app.json.response({"error": said(reason)})
    response.status_code = status
    return response


def said(reason: str) -> str:
    """A refusal's reason as it is sent: one line, at most MAX_REASON characters (the messages
    cut what the user sent already; this keeps any other from flooding a page or a terminal)."""
    reason = reason.replace("\r", " ").replace("\n", " ")
    return reason if len(reason) <= MAX_REASON else reason[:MAX_REASON - 3] + "..."


def secured(response: Response) -> Response:
    """After every request: the security headers, and no caching of answers."""
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store" if response.mimetype == "application/json" else "no-cache"
    return response


def load_page(folder: Path = PAGE_DIR) -> dict[str, tuple[bytes, str]]:
    """The page's files, read once: name -> (bytes, content type). Nothing else is served."""
    paths = [path for path in sorted(folder.iterdir()) if path.is_file() and path.suffix in CONTENT_TYPES]
    # the brush and the reader are the session's, shared with the offline page (nn/session/export.py)
    return {path.name: (path.read_bytes(), CONTENT_TYPES[path.suffix]) for path in paths + [GRID_JS, READING_JS]}
