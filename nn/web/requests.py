"""Reading a request: what every route needs (the session, who is asking), its JSON body, and
each field checked, with a 4xx and a reason for anything wrong.

The page's routes (nn/web/routes/) call these in one line each; the errors they raise become
JSON answers in one handler (nn/web/app.py).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
from typing import Callable

import numpy as np
from flask import Blueprint, current_app, g, request

from nn.dataset import SIDE
from nn.session.session import Session
from nn.web.access import Access

MIN_GRID, MAX_GRID = 8, 448  # a grid's width and height, in cells: room for a number of 8 digits and more


class HTTPError(Exception):
    """A request refused: an HTTP status and the reason, sent back as {"error": reason}."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class Routes(Blueprint):
    """A blueprint whose routes answer the methods they name and no other: OPTIONS gets the 405
    in JSON that any other method gets, not Flask's automatic answer."""

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Callable | None = None,
                     provide_automatic_options: bool | None = False, **options) -> None:
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=provide_automatic_options,
                             **options)


# -- what every request needs ----------------------------------------------------------------------

def current_session() -> Session:
    """The session the page shows (one per server: nn/web/app.py's create_app)."""
    return current_app.extensions["session"]


def current_access() -> Access:
    """Who may use the page: its tokens, roles and limits (nn/web/access.py)."""
    return current_app.extensions["access"]


def device() -> str:
    """The device a request comes from: its address (the limits are a device's)."""
    return request.remote_addr or "?"


def teachers(what: str) -> Callable:
    """A route only the teacher's token may call (the class's gets 403): @teachers("training a network")."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args, **kwargs):
            current_access().teacher_only(g.role, what)
            return view(*args, **kwargs)
        return checked
    return wrap


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


# -- the body ----------------------------------------------------------------------------------------

def read_body(optional: bool = False) -> dict:
    """The request's JSON object; with `optional`, {} when there is no body."""
    if optional and not request.content_length:
        return {}
    if request.mimetype != "application/json":
        raise HTTPError(415, "send the body as JSON, with Content-Type: application/json")
    if request.content_length is None:
        raise HTTPError(411, "a Content-Length header is required")
    return parse_json(request.get_data(cache=False))


def read_picture() -> bytes:
    """A picture sent as the body itself (Content-Type image/jpeg, image/png..., or
    application/octet-stream): its bytes. How large it may be, waitress says before it comes
    (nn/web/server.py's BODY_LIMITS); what it holds, nn/files/images.py."""
    if request.mimetype != "application/octet-stream" and not request.mimetype.startswith("image/"):
        raise HTTPError(415, "send the picture itself as the body, with Content-Type: image/jpeg (or image/png...)")
    data = request.get_data(cache=False)
    if not data:
        raise HTTPError(400, "the body is empty: send the picture's bytes")
    return data


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
        raise HTTPError(400, f"the body must be a JSON object such as {{\"grid\": [...]}}, not {json_kind(value)}")
    return value


# -- its fields ----------------------------------------------------------------------------------------

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
        raise HTTPError(400, f"field 'grid' must be a list of {size} numbers, not {json_kind(grid)}")
    if len(grid) != size:
        nested = " (one flat list, row after row, not a list of rows)" if grid and isinstance(grid[0], list) else ""
        raise HTTPError(400, f"field 'grid' has {len(grid)} values, expected {size} ({height} rows of {width})"
                             f"{nested}")
    if set(map(type, grid)) <= {int, float} and 0 <= min(grid) and max(grid) <= 1:  # the usual case, at once
        return np.array(grid, dtype=np.float32).reshape(height, width)
    for i, value in enumerate(grid):  # the first bad value, named
        # bool is an int in Python, but true and false are not numbers in JSON
        if type(value) not in (int, float):
            raise HTTPError(400, f"grid[{i}] is {json_kind(value)}, not a number")
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


def parse_label(body: dict) -> int:
    """The "label" field: the digit 0-9 a drawing shows."""
    if "label" not in body:
        raise HTTPError(400, "field 'label' is missing: the digit 0-9 the drawing shows")
    label = body["label"]
    if type(label) is not int or not 0 <= label <= 9:
        raise HTTPError(400, f"field 'label' is {json.dumps(label)[:40]}, not a digit 0-9")
    return label


def parse_digit(body: dict, name: str) -> int | None:
    """An optional field holding a digit 0-9 ("explain": whose evidence to show), None if left out."""
    value = body.get(name)
    if value is not None and (type(value) is not int or not 0 <= value <= 9):
        raise HTTPError(400, f"field {name!r} is {json.dumps(value)[:30]}, not a digit 0-9")
    return value


def parse_unit(body: dict) -> int | None:
    """The "unit" field: the index of a hidden unit (a CNN: a filter) whose sum to write out."""
    unit = body.get("unit")
    if "unit" in body and type(unit) is not int:
        raise HTTPError(400, f"field 'unit' is {json.dumps(unit)[:30]}, not the index of a hidden unit")
    return unit


def flag(body: dict, name: str, default: bool) -> bool:
    """A field that is true or false."""
    value = body.get(name, default)
    if type(value) is not bool:
        raise HTTPError(400, f"field {name!r} is {json.dumps(value)[:30]}, not true or false")
    return value


def json_kind(value) -> str:
    """What a JSON value is, in words: "a string", "a list"..."""
    kinds = {bool: "true or false", str: "a string", list: "a list", dict: "an object",
             type(None): "null", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)
