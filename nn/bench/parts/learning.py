"""The learning part: one step of learning on a drawing and its view, in the page and the window; the dreams.

For each shipped model (nn/session/learning.py): the step as the page gets it, POST /api/step
through Flask's test client (the body parsed, the step, its pictures, the JSON; no socket), and as
the window shows it (the step and one frame, SDL's dummy driver); then the ten dreams, found
afresh, each of which the model must read as its digit.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from nn.bench.common import Context, Row, part
from nn.files.model_file import load_model
from nn.plumbing.machine import blas_for_small_products
from nn.plumbing.paths import PRETRAINED_MODELS, display
from nn.session.learning import dream
from nn.session.model_in_use import ModelInUse
from nn.session.session import Session


@part("learning", "one step of learning and its view, in the page and the window; the dreams")
def part_learning(ctx: Context) -> list[Row]:
    # The page's server (Flask) and the window (pygame) are slow to import: only when this part runs.
    from nn.web.app import create_app
    from nn.window.app import DrawApp, headless_if_no_display  # (the same reason)

    blas_for_small_products()
    headless_if_no_display()
    test = ctx.data()[1]
    count, repeats = (10, 2) if ctx.quick else (20, 5)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for path in [p for p in PRETRAINED_MODELS if p.exists()]:
            net, info = load_model(path)
            ctx.say(f"learning: one step and its view, {count} MNIST test digits, {display(path)}")
            session = Session(ModelInUse(net, info, display(path)), Path(folder) / "custom.csv",
                              Path(folder) / "model.npz")
            client = create_app(session).test_client()
            page, window = [], []
            app = DrawApp(session, echo=False)
            state = app.state
            for k in range(count):
                ink = test.images[k].reshape(28, 28) / 255.0
                body = {"grid": np.round(ink, 4).reshape(-1).tolist(), "label": int(test.labels[k])}
                state.canvas.ink[:] = ink
                state.canvas_changed()
                state.on_guess(echo=False)
                state.on_learn()  # the learning view, open
                for _ in range(repeats):
                    started = time.perf_counter()
                    reply = client.post("/api/step", json=body)
                    page.append(time.perf_counter() - started)
                    assert reply.status_code == 200, reply.get_json()
                    state.lesson = None  # each step taken afresh, not one more
                    started = time.perf_counter()
                    state.learn_toward(int(test.labels[k]))
                    app.render()
                    window.append(time.perf_counter() - started)
            limit = 200 if net.conv else 50
            for view, times in (("POST /api/step", page), ("the window: the step and a frame", window)):
                median = 1000 * float(np.median(times))
                rows.append(Row("learning", f"one step and its view, {view}, median: {display(path)}", median, "ms",
                                f"{len(times)} steps; p99 {1000 * float(np.percentile(times, 99)):.1f} ms",
                                f"<= {limit} ms", median <= limit))
            times = []
            for _ in range(2 if ctx.quick else 3):
                started = time.perf_counter()
                pictures = dream(net)
                times.append(time.perf_counter() - started)
            read = net.predict_proba(pictures)[np.arange(10), np.arange(10)]
            seconds = float(np.median(times))
            rows.append(Row("learning", f"the ten dreams, median: {display(path)}", seconds, "s",
                            f"each read as its digit, the least at {read.min():.1%}", "<= 5 s, >= 90%",
                            bool(seconds <= 5 and read.min() >= 0.9)))
    return rows
