"""The page itself and a drawing: the page's files, the model in use, a guess, saving a drawing."""

from __future__ import annotations

import json

from flask import Response, current_app, g

from nn.dataset import SIDE
from nn.web.access import CLASS, TEACHER
from nn.web.answers import guess_answer, inside_answer, steps_answer, unit_answer
from nn.web.requests import (HTTPError, Routes, current_access, current_session, device, flag, parse_digit, parse_grid,
                             parse_label, parse_select, parse_unit, read_body)

drawing = Routes("drawing", __name__)


@drawing.get("/", defaults={"name": "index.html"})
@drawing.get("/<name>")
def page_file(name: str):
    """The page's own files, held in memory (nn/web/app.py's load_page): nothing else is served."""
    files = current_app.extensions["files"]
    if name not in files:
        raise HTTPError(404, f"no such page: /{name[:100]}")
    body, content_type = files[name]
    return Response(body, content_type=content_type)


@drawing.get("/api/model")
def model():
    """The model in use, the brush, the commands and the messages: what the page draws with."""
    access = current_access()
    teacher_s = {"class_link": access.class_link} if g.role == TEACHER and access.class_link else {}
    return {**current_session().describe(), "role": g.role, **teacher_s,
            "reads_on_phone": g.role == CLASS and access.phones_read}


@drawing.get("/api/model/reader")
def reader():
    """The model in use, its weights included, for the page's own reader (nn/session/page/
    reading.js): a class's phones read their drawings themselves. Made once per model (about a
    megabyte for the shipped CNN), then sent as it is."""
    spec = current_session().reader()
    made = current_app.extensions.setdefault("reader", {})
    if spec["serial"] not in made:
        made.clear()
        made[spec["serial"]] = json.dumps(spec, separators=(",", ":")).encode()
    return Response(made[spec["serial"]], content_type="application/json")


@drawing.get("/api/page")
def page():
    """The model in use as one HTML page that reads digits offline: a download (Save as a page)."""
    name, html = current_session().page()
    return Response(html, content_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_ascii(name)}"'})


def _ascii(name: str) -> str:
    """A file name safe in a header: letters, digits, dots, dashes and underscores."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name) or "digits.html"


@drawing.get("/api/model/in-use")
def in_use():
    """Which model answers: what a phone reading with its own copy asks now and then."""
    model = current_session().model
    return {"name": model.name, "serial": model.serial}


@drawing.post("/api/predict")
def predict():
    """The guess; for a wide grid the number, each digit's guess and box, and the full answer for
    the digit `select`; with "inside" (the default) the inside view, with "steps" the steps."""
    session, body = current_session(), read_body()
    grid, explain, unit = parse_grid(body), parse_digit(body, "explain"), parse_unit(body)
    show_inside, show_steps = flag(body, "inside", True), flag(body, "steps", False)
    number = session.read_grid(grid)
    if not number.digits:
        raise HTTPError(400, f"the grid is blank: {'draw a digit' if grid.shape == (SIDE, SIDE) else 'write a number'} first")
    select = parse_select(body, len(number.digits))
    shown = number.digits[select]
    reply = guess_answer(session.model.name, number, select)
    if show_inside:  # what the inside view shows: about half the work of an answer
        reply.update(inside_answer(*session.inside(shown.reading, explain), shown.reading))
    if unit is not None:
        reply["unit"] = unit_answer(session.unit(shown.ink, unit))
    if show_steps:
        reply["steps"] = steps_answer(session.steps(shown.ink, number))
    return reply


@drawing.post("/api/save")
def save():
    """The drawing (a number's digit `select`) added to the custom-digits CSV with its label."""
    session, body = current_session(), read_body()
    grid, label = parse_grid(body), parse_label(body)
    ink = session.digit(grid, body.get("select", 0))
    with current_access().turn(device(), "save"):  # a turn of the device's, given back if the save fails
        rows = session.save(ink, label)
    return {"saved": rows, "file": session.custom.name, "label": label}
