"""Learning, shown: a learning step on a drawing, keeping it, and what the network thinks each
digit looks like (nn/session/learning.py)."""

from __future__ import annotations

from flask import request

from nn.web.answers import dream_answer, step_answer
from nn.web.requests import HTTPError, Routes, current_session, parse_grid, parse_label, read_body, teachers

learning = Routes("learning", __name__)


def _learning_step(body: dict):
    """The steps a body asks for ({"grid", "label", "lr", "steps", "select"}), taken on a copy."""
    session = current_session()
    grid, label = parse_grid(body), parse_label(body)
    return session.learn(session.digit(grid, body.get("select", 0)), label, body.get("lr"), body.get("steps", 1))


@learning.post("/api/step")
def step():
    """Steps of gradient descent on the drawing alone, every number of them; nothing is kept."""
    return step_answer(_learning_step(read_body()))


@learning.post("/api/step/keep")
@teachers("keeping a learning step")
def keep():
    """The steps taken again and put in use, saved like a taught model (undo takes them back)."""
    session = current_session()
    model = session.keep(_learning_step(read_body()))
    return {"model": model.name, "can_undo": session.can_undo}


@learning.get("/api/dream")
def dreams():
    """What the network thinks each digit looks like (?digit=k: one)."""
    digit = request.args.get("digit")
    if digit is not None and digit not in tuple("0123456789"):
        raise HTTPError(400, f"digit={digit[:20]!r}: give a digit 0-9, or none for all ten")
    return dream_answer(current_session().dreams(), None if digit is None else int(digit))
