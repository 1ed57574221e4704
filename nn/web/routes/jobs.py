"""Training and teaching from the page: a teaching of the saved drawings and its undo, a network
trained while you watch, used and saved (nn/session/teach.py, nn/session/trainer.py). All but
looking are the teacher's."""

from __future__ import annotations

from flask import request

from nn.web.requests import HTTPError, Routes, current_session, read_body, teachers

jobs = Routes("jobs", __name__)


@jobs.get("/api/teach")
def teaching():
    return current_session().teaching_state()


@jobs.post("/api/teach")
@teachers("teaching the network")
def teach():
    read_body()  # {} (or settings to come): checked like every post
    current_session().teach()
    return {"state": "running"}, 202


@jobs.delete("/api/teach")
@teachers("cancelling a teaching")
def cancel_teaching():
    read_body(optional=True)
    return current_session().cancel_teaching()


@jobs.post("/api/teach/undo")
@teachers("undoing")
def undo():
    read_body(optional=True)
    session = current_session()
    undone = session.undo()
    return {**session.teaching_state(), "model": undone.model.name, "file_kept": undone.file_kept,
            "out": undone.file}


@jobs.get("/api/train")
def training():
    """The run as it is now (?since=K: the batch losses from the K-th on; &weights=1: the first layer)."""
    since = request.args.get("since")
    if since is not None and not (since.isascii() and since.isdigit() and len(since) < 12):
        raise HTTPError(400, f"since={since[:20]!r}: give the number of batch losses the page has")
    weights = request.args.get("weights", "0") not in ("0", "", "false")
    return current_session().training_state(None if since is None else int(since), weights)


@jobs.post("/api/train")
@teachers("training a network")
def train():
    current_session().train(read_body())
    return {"state": "running"}, 202


@jobs.delete("/api/train")
@teachers("stopping a training")
def stop_training():
    read_body(optional=True)
    return current_session().stop_training()


@jobs.post("/api/train/use")
@teachers("switching models")
def use():
    session = current_session()
    model = session.use(read_body().get("use", "trained"))
    return {**session.training_state(), "model": model.name}


@jobs.post("/api/train/save")
@teachers("saving a model")
def save_trained():
    read_body()
    session = current_session()
    saved = session.save_trained()
    return {**session.training_state(), "saved": saved}
