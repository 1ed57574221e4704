"""Undo never destroys a newer save (nn/session/session.py): every pair of the actions that write
the model file (a teaching, a kept learning step, a trained network saved, another program's
save) in any order, then undo, twice: the file holds the newest save, or undo says why not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import session_for
from nn.files.digits_csv import append_csv, write_csv
from nn.errors import NothingYet
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.network import Network
from nn.session.canvas import Canvas, draw_demo

ACTIONS = ["teach", "keep", "save", "another program"]


@pytest.fixture
def session(small_model, mnist_test, tmp_path, monkeypatch):
    """A session over the small MLP that teaches in a blink (MNIST cut down, 8 steps) and trains
    on 600 rows; 30 drawings saved to teach from."""
    import nn.session.teach

    monkeypatch.setattr(nn.session.teach, "mnist_sets", lambda: (mnist_test.subset(slice(0, 1000)),
                                                         mnist_test.subset(slice(9000, 9500))))
    monkeypatch.setitem(nn.session.teach.STEPS, "mlp", 8)
    write_csv(tmp_path / "train.csv", mnist_test.images[:600], mnist_test.labels[:600])
    append_csv(tmp_path / "custom_digits.csv", mnist_test.images[1000:1030], mnist_test.labels[1000:1030])
    made = session_for(small_model[1], "small.npz", tmp_path / "custom_digits.csv", tmp_path / "model.npz",
                       data=[tmp_path / "train.csv"], test=None)
    yield made
    made.close(10)


def drawing(digit: int) -> np.ndarray:
    canvas = Canvas()
    draw_demo(canvas, digit)
    return canvas.ink


def act(session, action: str, k: int) -> None:
    if action == "teach":
        session.teach()
        session.teaching.wait(60)
        assert session.teaching.state == "done", session.teaching.error
    elif action == "keep":
        session.keep(session.learn(drawing(7), 1, steps=2))
    elif action == "save":  # the issue's order: train a network, use it, save it
        session.train({"hidden": [8 + k], "epochs": 1, "seed": k})
        session.trainer.job.wait(60)
        assert session.trainer.job.state == "done", session.trainer.job.error
        session.use("trained")
        session.save_trained()
    else:  # python train.py --out data/model.npz, run beside the page
        net = Network([784, 5 + k, 10], seed=k)
        save_model(session.out, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy"))


def contents(path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("first, second", list(itertools.product(ACTIONS, repeat=2)))
def test_undo_after_any_two_writes_keeps_the_newest_save(session, first, second):
    out = session.out
    changes = []  # (the model in use before, the file before, the file after): what undo takes back
    for k, action in enumerate([first, second]):
        model, before = session.model, contents(out)
        act(session, action, k)
        if action in ("teach", "keep"):
            changes.append((model, before, contents(out)))
    assert session.can_undo == bool(changes)
    while changes:
        model, before, written = changes.pop()
        now = contents(out)
        undone = session.undo()
        assert undone.model is model and session.model is model  # the model in use goes back
        if now == written:  # nothing saved since the change: the file goes back too
            assert not undone.file_kept and contents(out) == before
        else:  # saved since: never written over, and undo says so
            assert undone.file_kept and contents(out) == now
        if contents(out) is not None:
            load_model(out)  # whatever is there is a whole model
    assert not session.can_undo
    with pytest.raises(NothingYet, match="nothing to undo"):
        session.undo()


def test_the_issue_s_case_keep_train_use_save_undo(session):
    """Keep a step, train a network, use it, save it: undo puts the model from before the step
    back in use and leaves the saved network on disk."""
    before = session.model
    act(session, "keep", 0)
    act(session, "save", 0)
    saved = contents(session.out)
    undone = session.undo()
    assert undone.file_kept and contents(session.out) == saved and session.model is before
    net, info = load_model(session.out)
    assert net.sizes == [784, 8, 10] and info.training.get("trained_on") == "the page"


def test_a_save_that_lands_while_undo_writes_is_not_written_over(session, monkeypatch):
    """Another program saves while undo writes the old file back: the look undo takes just
    before its rename sees it, and the file keeps that save."""
    import nn.session.session as session_module

    act(session, "keep", 0)
    act(session, "keep", 1)
    looks = []
    real = session_module._sha256

    def look_then_save(path):
        looks.append(path)
        if len(looks) == 1:  # the old file written beside it, not yet renamed: another program saves
            act(session, "another program", 9)
        return real(path)

    monkeypatch.setattr(session_module, "_sha256", look_then_save)
    undone = session.undo()
    monkeypatch.undo()
    assert undone.file_kept and load_model(session.out)[0].sizes == [784, 14, 10]


def test_the_page_says_the_file_was_left(session):
    from nn.web.app import create_app

    client = create_app(session).test_client()
    grid = [round(float(v), 4) for v in drawing(7).reshape(-1)]
    assert client.post("/api/step/keep", json={"grid": grid, "label": 1}).status_code == 200
    act(session, "another program", 3)
    reply = client.post("/api/teach/undo", json={})
    assert reply.status_code == 200
    answer = reply.get_json()
    assert answer["file_kept"] is True and answer["out"].endswith("model.npz") and answer["model"] == "small.npz"
    assert load_model(session.out)[0].sizes == [784, 8, 10]
    assert client.post("/api/teach/undo", json={}).status_code == 409


def test_undoing_a_teaching_puts_back_what_the_file_held_just_before_it_was_saved(session, monkeypatch):
    """Another program saves while the teaching runs: undoing the teaching gives back that save,
    not the file as it was when the teaching started."""
    report = session.teaching.report_progress
    saved = []

    def progress(share: float) -> None:
        if not saved:
            act(session, "another program", 4)
            saved.append(contents(session.out))
        report(share)

    monkeypatch.setattr(session.teaching, "report_progress", progress)
    act(session, "teach", 0)
    assert contents(session.out) != saved[0]  # the taught model, saved after
    assert not session.undo().file_kept and contents(session.out) == saved[0]
