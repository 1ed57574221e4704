"""The watch part: training started from the page while it is watched, against python train.py.

python train.py's default run, and the same run started from the page (POST /api/train to
`draw.py --web`) while a client polls its progress and weights four times a second, as the page
does: the training seconds each reports, and their ratio, the cost of watching a network learn.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import tempfile
import time

import numpy as np

from nn.bench.classroom import Server
from nn.bench.common import Context, Row, part
from nn.plumbing.paths import REPO


@part("watch", "training from the page while it is watched, against train.py")
def part_watch(ctx: Context) -> list[Row]:
    epochs, repeats = (2, 2) if ctx.quick else (5, 3)
    ctx.say(f"watch: python train.py --epochs {epochs} and the same from the page, polled 4 times a second, "
            f"{repeats} times each")
    ours, page = watched_training(epochs, repeats)
    ratio = float(np.median(page) / np.median(ours))
    return [Row("watch", f"python train.py --epochs {epochs}: training, median", float(np.median(ours)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in ours)),
            Row("watch", "the same from the page, watched (GET /api/train 4x a second)", float(np.median(page)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in page)),
            Row("watch", "from the page / train.py", ratio, "x", "the cost of watching it learn",
                "<= 1.10x", ratio <= 1.10)]


def watched_training(epochs: int, repeats: int, poll: float = 0.25) -> tuple[list[float], list[float]]:
    """Training seconds of `python train.py --epochs N` and of the same run started from the page
    (POST /api/train {"epochs": N} to `draw.py --web`) while a client polls GET /api/train with
    the weights four times a second, as the page does; each a new process, alternating."""
    ours, page = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            run = subprocess.run([sys.executable, str(REPO / "train.py"), "--epochs", str(epochs), "--plots", "none",
                                  "--out", f"{folder}/model.npz"], capture_output=True, text=True, check=True)
            ours.append(float(run.stdout.split("Training took ")[1].split("s.")[0]))
            server = Server("--custom-csv", f"{folder}/custom.csv", "--out", f"{folder}/page.npz")
            try:
                page.append(_watched(server, epochs, poll))
            finally:
                server.stop()
    return ours, page


def _watched(server: Server, epochs: int, poll: float) -> float:
    """Start training from the page and poll it as the page does until it ends: its training seconds."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    connection.request("POST", "/api/train", json.dumps({"epochs": epochs}), {"Content-Type": "application/json"})
    assert json.loads(connection.getresponse().read()) == {"state": "running"}
    since = 0
    while True:
        connection.request("GET", f"/api/train?since={since}&weights=1")
        state = json.loads(connection.getresponse().read())
        since += len(state["loss"])
        if state["state"] != "running":
            break
        time.sleep(poll)
    connection.close()
    return state["training_seconds"]
