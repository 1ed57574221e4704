"""The window's state (nn/window/state.py) without a display: its commands, what it says, and
what it asks of the session; and every command of nn/session/commands.py handled by both views."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

from conftest import REPO, session_for
from nn.files.digits_csv import load_csv
from nn.session.canvas import draw_demo, draw_number
from nn.session.commands import commands_for
from nn.window.state import VIEWS, WindowState


@pytest.fixture
def state(pretrained, tmp_path):
    return WindowState(session_for(pretrained, "data/pretrained.npz", tmp_path / "custom.csv"))


def drawn(state: WindowState, digit: int) -> WindowState:
    draw_demo(state.canvas, digit)
    state.canvas_changed()
    return state


def test_the_state_and_the_layout_import_no_pygame():
    for name in ("state.py", "layout.py"):
        tree = ast.parse((REPO / "nn" / "window" / name).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(m and m.split(".")[0] == "pygame" for m in imported), name
        assert not any(m and m.startswith(("nn.window.render", "nn.window.views", "nn.window.app")) for m in imported)


def test_importing_the_state_loads_no_pygame():
    import subprocess
    import sys

    code = "import sys; import nn.window.state; print('pygame' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_a_guess_its_staleness_and_the_status_line(state):
    lines = []
    state.echo = lines.append
    assert state.status == "Draw a digit, then press S."
    state.command("guess")
    assert state.guess is None and state.status == "Draw a digit first."
    drawn(state, 7)
    assert state.status == "Press S to guess."
    state.command("guess")
    assert state.guess.digit == 7 and not state.stale and lines == [f"Prediction: 7 ({state.guess.confidence:.1%})"]
    assert "save it as training data" in state.status
    state.paint((3, 3), (5, 5))
    assert state.stale and state.status.startswith("You drew more since the guess")
    state.command("clear")
    assert state.guess is None and state.status.startswith("Cleared")


def test_saving_needs_a_guess_of_the_drawing_as_it_is(state, tmp_path):
    drawn(state, 4)
    state.command("save", "4")
    assert "Press S first" in state.status and not (tmp_path / "custom.csv").exists()
    state.command("guess")
    state.command("save", "4")
    assert state.canvas.blank and "Saved as 4 (1 in custom.csv)" in state.status
    assert load_csv(tmp_path / "custom.csv", use_cache=False).labels.tolist() == [4]


def test_the_views_open_and_close_by_their_keys(state):
    drawn(state, 3)
    state.command("guess")
    for name, view in VIEWS.items():
        if name == "learn":
            continue
        state.command(name)
        assert state.view == name and state.message is not None
        state.command(name)
        assert state.view is None
    state.do("explain", 8)  # a click on the 8's bar: its evidence, in the inside view
    assert state.view == "inside" and state.explained_digit() == 8
    inside, evidence, unit = state.inside()
    assert evidence.digit == 8 and unit is None
    state.do("pick_unit", 5)
    assert state.inside()[2].unit == 5
    state.do("pick_unit", 5)
    assert state.unit is None
    dreams = state.dreams()
    assert dreams.pictures.shape == (10, 784) and dreams.probabilities.shape == (10, 10)


def test_learning_steps_their_rate_keeping_and_undo(state, tmp_path):
    drawn(state, 1)
    state.command("learn")
    assert state.view is None and "Press S first" in state.status
    state.command("guess")
    state.command("learn")
    state.command("save", "7")
    assert state.lesson.steps == 1 and state.status.startswith("1 step toward 7")
    state.command("learn")
    assert state.lesson.steps == 2
    state.command("rate", "]")
    assert state.rate == 0.002 and state.lesson.result.lr == 0.002
    for _ in range(40):  # the rate stops at the session's limit
        state.command("rate", "]")
    assert state.rate == 10.0
    state.command("rate", "[")
    before = state.session.model
    state.command("keep")
    assert state.session.model is not before and (tmp_path / "model.npz").exists()
    assert state.status.startswith("Kept: the model learned this 7")
    state.command("undo")
    assert state.session.model is before and state.status.startswith("Undone: back to data/pretrained.npz")
    state.command("undo")
    assert state.status.startswith("Nothing to undo")
    state.command("keep")
    assert "Nothing to keep" in state.status


def test_a_number_is_read_and_each_digit_shown(state):
    state.command("number")
    assert state.number_mode and state.canvas.width == 112 and "Number mode" in state.status
    draw_number(state.canvas, "2026")
    state.canvas_changed()
    state.command("guess")
    assert state.read.text == "2026" and state.status.startswith("Read 2026") and state.guess.digit == 2
    state.do("select", 3)
    assert state.guess.digit == 6 and np.array_equal(state.field, state.read.digits[3].reading.seen)
    assert state.ink.shape == state.read.digits[3].ink.shape  # what a save or a step is about


def test_what_the_session_refuses_goes_to_the_status_line(state, tmp_path):
    state.session.custom = tmp_path  # a folder where the drawings would go
    drawn(state, 2)
    state.command("guess")
    state.command("save", "2")
    assert state.message[1] == "warn" and str(tmp_path) in state.status
    state.command("teach")
    assert state.message[1] == "warn"


def test_esc_closes_the_learning_view_and_q_quits(state):
    drawn(state, 5)
    state.command("guess")
    state.command("learn")
    state.command("quit", "escape")
    assert state.view is None and state.running
    state.command("quit", "q")
    assert not state.running


def test_every_command_is_handled_by_each_view():
    """Each command of nn/session/commands.py is carried out by the window (a key's state method,
    a view, the mouse) and by the page (app.js's COMMANDS, or the mouse)."""
    mouse = {"paint", "erase"}
    assert all(hasattr(WindowState, f"on_{c.name}") for c in commands_for("window") if c.name not in mouse)
    script = (REPO / "nn" / "web" / "page" / "app.js").read_text()
    table = re.search(r"const COMMANDS = \{(.*?)\n\};", script, re.S).group(1)
    page = set(re.findall(r"(\w+):", table)) | mouse
    assert {c.name for c in commands_for("page")} <= page
