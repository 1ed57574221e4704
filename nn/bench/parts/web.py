"""The web part: POST /api/predict of `draw.py --web` on localhost, one client and eight at once.

One client gives the median and p99 milliseconds of an answer; 8 clients posting at once give
requests per second and failures. Both for the page's plain view (the guess alone) and its inside
view (the hidden layer and the evidence map too). The server is `draw.py --web` in its own
process, as a user starts it, with the first model of --model.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from nn.bench.classroom import Server
from nn.bench.common import Context, Row, part
from nn.files.model_file import load_model
from nn.plumbing.paths import display
from nn.session.canvas import Canvas, draw_demo


@part("web", "POST /api/predict of draw.py --web, one client and eight")
def part_web(ctx: Context) -> list[Row]:
    ctx.say("web: draw.py --web on localhost, one client, then 8 at once; the guess, then the inside view")
    requests, seconds = (150, 1.5) if ctx.quick else (400, 3.0)
    median, p99, rate, failures = web_speed(ctx.models[0], requests, seconds)
    # Eight people in live mode, each at 25 guesses a second, need 200 a second; an MLP, whose
    # forward pass is a fifth of a CNN's, has room for more.
    least = 200 if load_model(ctx.models[0])[0].conv else 300
    rows = [Row("web", "POST /api/predict, one client, median", median, "ms", display(ctx.models[0]),
                "<= 5 ms", median <= 5),
            Row("web", "POST /api/predict, one client, p99", p99, "ms"),
            Row("web", "POST /api/predict, 8 clients at once", rate, "requests/s", f"{failures} failed",
                f">= {least}/s, none failing", rate >= least and failures == 0)]
    median, p99, rate, failures = web_speed(ctx.models[0], requests, seconds, inside=True)
    rows += [Row("web", "with the inside view, one client, median", median, "ms", "hidden layer and evidence map too"),
             Row("web", "with the inside view, 8 clients at once", rate, "requests/s", f"{failures} failed")]
    return rows


def web_speed(model_path: Path, requests: int = 400, seconds: float = 3.0, clients: int = 8,
              inside: bool = False) -> tuple[float, float, float, int]:
    """(median ms, p99 ms) of POST /api/predict for one client, then (requests per second,
    failures) for `clients` clients posting at once for `seconds`. The server is `draw.py --web`
    in its own process, as a user starts it; every client keeps its connection open, as a browser
    does. inside: ask for the hidden layer and the evidence map too, as the page's inside view
    does (the page's plain view asks for the guess alone)."""
    bodies = []
    for digit in range(10):
        canvas = Canvas()
        draw_demo(canvas, digit)
        bodies.append(json.dumps({"grid": np.round(canvas.ink.reshape(-1).astype(float), 4).tolist(),
                                  "inside": inside}))
    with tempfile.TemporaryDirectory() as folder:
        server = Server("--model", str(model_path), "--custom-csv", f"{folder}/custom.csv")
        try:
            one = http.client.HTTPConnection(server.host, server.port, timeout=10)
            for i in range(50):  # warm up
                _post(one, bodies[i % 10])
            times = []
            for i in range(requests):
                start = time.perf_counter()
                _post(one, bodies[i % 10])
                times.append(time.perf_counter() - start)
            one.close()
            rate, failures = _at_once(server, bodies, clients, seconds)
        finally:
            server.stop()
    return 1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 99)), rate, failures


def _post(connection: http.client.HTTPConnection, body: str) -> bool:
    connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    reply = response.read()
    return response.status == 200 and b'"digit"' in reply


def _at_once(server: Server, bodies: list[str], clients: int, seconds: float) -> tuple[float, int]:
    """(answers per second, failures) of `clients` threads posting for `seconds`, each on its own
    connection, opened again after a failure."""
    counts, failures = [0] * clients, [0] * clients
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        i = k
        while time.perf_counter() < stop:
            try:
                ok = _post(connection, bodies[i % 10])
            except (OSError, http.client.HTTPException):  # counted as a failure; the client goes on
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
            counts[k] += ok
            failures[k] += not ok
            i += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started), sum(failures)
