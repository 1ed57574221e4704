"""A class of phones drawing in live mode, for the benchmark (`python -m nn.bench --only classroom`).

`draw.py --web` runs in its own process, as a teacher starts it; the clients run here, in one
thread: each keeps its connection open and sends its next drawing the moment the last answer
arrives, as the page's live mode does while a pen moves (at most one request on its way). The
requests are written as bytes and the answers read by their Content-Length, so that a client costs
little next to the server it measures: both share the machine's cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from nn.plumbing.paths import REPO
from nn.session.canvas import Canvas, draw_demo


@dataclass
class Load:
    """What `clients` clients got in `seconds`: every answer's time, and the failures."""

    clients: int
    seconds: float
    times: list[float] = field(default_factory=list)  # seconds per answered request
    failures: int = 0
    statuses: dict = field(default_factory=dict)  # status -> count, for failures

    def percentile(self, q: float) -> float:
        return 1000 * float(np.percentile(self.times, q)) if self.times else float("nan")

    @property
    def rate(self) -> float:
        return len(self.times) / self.seconds


def drawings(count: int = 10) -> list[bytes]:
    """JSON bodies of the demo digits, as the page sends them (the plain view: no inside)."""
    bodies = []
    for digit in range(count):
        canvas = Canvas()
        draw_demo(canvas, digit % 10)
        bodies.append(json.dumps({"grid": np.round(canvas.ink.reshape(-1).astype(float), 4).tolist(),
                                  "inside": False}).encode())
    return bodies


class Server:
    """`python draw.py --web` (with `args`) in its own process: its printed links, then stopped."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "draw.py"), "--web", "--no-browser", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        for line in self.process.stdout:
            self.lines.append(line)
            if "Drawing page: " in line or "For the class: " in line:
                break
        text = "".join(self.lines)
        found = re.search(r"http://([\d.]+|\[[\da-f:]+\]|localhost):(\d+)", text)
        if found is None:
            self.stop()
            raise RuntimeError(f"draw.py --web printed no address: {text}{self.process.stderr.read()}")
        self.host, self.port = "127.0.0.1", int(found[2])
        self.tokens = dict(re.findall(r"For (you|the class)[^\n]*?token=([\w-]+)", text))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(method: str, path: str, body: bytes = b"", token: str | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
            f"Content-Length: {len(body)}"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head)[1])
    return status, await reader.readexactly(length)


async def _client(server: Server, bodies: list[bytes], k: int, stop: float, load: Load, token: str | None,
                  path: str, every: float = 0.0) -> None:
    """One client: its next drawing as soon as the last answer came, or (every) not sooner than
    `every` seconds after the last was sent, as the page's live mode paces itself."""
    requests = [request("POST", path, body, token) for body in bodies]
    reader, writer = await asyncio.open_connection(server.host, server.port)
    i = k
    await asyncio.sleep(every * k / max(1, load.clients))  # a class does not start in step
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                writer.write(requests[i % len(requests)])
                status, _ = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                load.failures += 1
                load.statuses["closed"] = load.statuses.get("closed", 0) + 1
                writer.close()
                reader, writer = await asyncio.open_connection(server.host, server.port)
                continue
            if status == 200:
                load.times.append(time.perf_counter() - started)
            else:
                load.failures += 1
                load.statuses[status] = load.statuses.get(status, 0) + 1
            i += 1
            if every:
                await asyncio.sleep(max(0.0, started + every - time.perf_counter()))
    finally:
        writer.close()


def live_clients(server: Server, clients: int, seconds: float, token: str | None = None,
                 path: str = "/api/predict", every: float = 0.0) -> Load:
    """`clients` clients in live mode for `seconds`, after a second of warming up; `every`: each
    sends at most one drawing per `every` seconds (the page's pacing), else one per answer."""
    bodies = drawings()

    async def run(count: int, span: float) -> Load:
        load = Load(count, span)
        stop = time.perf_counter() + span
        await asyncio.gather(*[_client(server, bodies, k, stop, load, token, path, every) for k in range(count)])
        return load

    asyncio.run(run(clients, 1.0))
    return asyncio.run(run(clients, seconds))


def teacher_while(server: Server, clients: int, seconds: float, token: str | None, class_token: str | None,
                  training: dict) -> tuple[Load, list[float], str]:
    """The class drawing live while the teacher trains a network from the page: the class's load,
    the teacher's page's answer times (GET /api/train, as its Train panel polls, and /api/predict),
    and how the training ended."""
    bodies = drawings()
    teacher_times: list[float] = []

    async def teacher(stop: float) -> str:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(request("POST", "/api/train", json.dumps(training).encode(), token))
        status, reply = await _answer(reader)
        if status != 202:
            raise RuntimeError(f"the teacher's training was refused: {status} {reply[:200]!r}")
        state = "running"
        while time.perf_counter() < stop:
            for message in (request("GET", "/api/train?since=0", token=token),
                            request("POST", "/api/predict", bodies[len(teacher_times) % 10], token)):
                started = time.perf_counter()
                writer.write(message)
                status, reply = await _answer(reader)
                teacher_times.append(time.perf_counter() - started)
                if message.startswith(b"GET"):
                    state = json.loads(reply)["state"]
            await asyncio.sleep(0.25)
        writer.write(request("DELETE", "/api/train", token=token))
        await _answer(reader)
        writer.close()
        return state

    async def run() -> tuple[Load, str]:
        load = Load(clients, seconds)
        stop = time.perf_counter() + seconds
        results = await asyncio.gather(teacher(stop), *[
            _client(server, bodies, k, stop, load, class_token, "/api/predict") for k in range(clients)])
        return load, results[0]

    load, state = asyncio.run(run())
    return load, teacher_times, state


def one_client(server: Server, requests: int, token: str | None = None) -> list[float]:
    """One client's answer times, one request at a time (after 50 to warm up)."""
    load = live_clients(server, 1, 0.0, token)  # connects, warms up
    del load
    bodies = drawings()

    async def run() -> list[float]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        times = []
        for i in range(requests):
            started = time.perf_counter()
            writer.write(request("POST", "/api/predict", bodies[i % 10], token))
            status, _ = await _answer(reader)
            if status != 200:
                raise RuntimeError(f"one client's request failed: {status}")
            times.append(time.perf_counter() - started)
        writer.close()
        return times

    return asyncio.run(run())



def all_at_once(server: Server, count: int, token: str | None, teacher_token: str | None) -> tuple[dict, float, float]:
    """`count` devices connecting at the same moment, each sending one drawing, and the teacher's
    page asking for the model meanwhile: (status -> count, the slowest device's seconds, the
    teacher's seconds)."""
    body = drawings(1)[0]

    async def device() -> tuple[int | str, float]:
        started = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(request("POST", "/api/predict", body, token))
            status, _ = await asyncio.wait_for(_answer(reader), 30)
            writer.close()
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
            return type(e).__name__, time.perf_counter() - started
        return status, time.perf_counter() - started

    async def teacher() -> float:
        await asyncio.sleep(0.01)  # while the class's requests are arriving
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(request("GET", "/api/model", token=teacher_token))
        status, _ = await _answer(reader)
        writer.close()
        if status != 200:
            raise RuntimeError(f"the teacher's page got {status}")
        return time.perf_counter() - started

    async def run():
        return await asyncio.gather(teacher(), *[device() for _ in range(count)])

    teacher_seconds, *devices = asyncio.run(run())
    statuses: dict = {}
    for status, _ in devices:
        statuses[status] = statuses.get(status, 0) + 1
    return statuses, max(t for _, t in devices), teacher_seconds


def live_every() -> float:
    """Seconds between two live guesses of the page (LIVE_EVERY in page/app.js): the bench's paced
    clients follow the page."""
    text = (REPO / "nn" / "web" / "page" / "app.js").read_text()
    return int(re.search(r"const LIVE_EVERY = (\d+);", text)[1]) / 1000


# -- a class whose phones read their own guesses (the default of --classroom) ----------------------

def cpu_seconds(pid: int) -> float | None:
    """The CPU time a process has used so far (user + system), from /proc; None elsewhere."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phones_reading(server: Server, clients: int, seconds: float, token: str | None, check_every: float = 5.0,
                   teacher_token: str | None = None) -> tuple[Load, list[float], float | None, list[float]]:
    """`clients` phones that read their own guesses: each fetches the model (GET /api/model, then
    the reader's weights, GET /api/model/reader), then only asks every `check_every` seconds which
    model answers, as the page does, while its owner draws. Returns the load of those asks, each
    phone's time to join (both fetches), the server's share of the machine's CPU while they draw
    (None without /proc), and the teacher's page's answer times (GET /api/model) meanwhile."""
    load, joins, teacher_times = Load(clients, seconds), [], []

    async def phone(k: int, stop: float) -> None:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            for path in ("/api/model", "/api/model/reader"):
                writer.write(request("GET", path, token=token))
                status, _ = await _answer(reader)
                if status != 200:
                    load.failures += 1
                    load.statuses[status] = load.statuses.get(status, 0) + 1
                    return
            joins.append(time.perf_counter() - started)
            await asyncio.sleep(check_every * k / clients)  # a class does not ask in step
            while time.perf_counter() < stop:
                asked = time.perf_counter()
                writer.write(request("GET", "/api/model/in-use", token=token))
                status, _ = await _answer(reader)
                if status == 200:
                    load.times.append(time.perf_counter() - asked)
                else:
                    load.failures += 1
                    load.statuses[status] = load.statuses.get(status, 0) + 1
                await asyncio.sleep(max(0.0, asked + check_every - time.perf_counter()))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            load.failures += 1
            load.statuses["closed"] = load.statuses.get("closed", 0) + 1
        finally:
            writer.close()

    async def teacher(stop: float) -> None:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        while time.perf_counter() < stop:
            await asyncio.sleep(0.5)
            asked = time.perf_counter()
            writer.write(request("GET", "/api/model", token=teacher_token))
            await _answer(reader)
            teacher_times.append(time.perf_counter() - asked)
        writer.close()

    async def run() -> float | None:
        joined = time.perf_counter() + seconds + 30  # the class joins, then draws for `seconds`
        tasks = [asyncio.ensure_future(phone(k, joined)) for k in range(clients)]
        while len(joins) + load.failures < clients and time.perf_counter() < joined - seconds:
            await asyncio.sleep(0.05)
        stop = time.perf_counter() + seconds
        before, at = cpu_seconds(server.process.pid), time.perf_counter()
        await teacher(stop)
        after, wall = cpu_seconds(server.process.pid), time.perf_counter() - at
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return None if before is None or after is None else (after - before) / wall / (os.cpu_count() or 1)

    share = asyncio.run(run())
    return load, joins, share, teacher_times


def guesses_on_a_phone(server: Server, token: str, reads: int = 200, slowdown: float = 1.0) -> list[float] | str:
    """Milliseconds per guess read on the class's page in headless Chromium (its own Reading.read on
    the demo digits, as live mode reads them), the CPU slowed `slowdown` times as DevTools slows it
    to stand for a phone; or why it could not be measured (no Playwright, no Chromium)."""
    chromium = next((shutil.which(name) for name in (os.environ.get("NN_CHROMIUM"), "chromium", "chromium-browser",
                                                      "google-chrome") if name and shutil.which(name)), None)
    try:
        from playwright.sync_api import sync_playwright  # a test requirement: the bench runs without it
    except ImportError:
        return "no Playwright (python -m pip install -r requirements-dev.txt)"
    if chromium is None:
        return "no Chromium (apt-get install chromium)"
    inks = [np.round(json.loads(body)["grid"], 4).tolist() for body in drawings()]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 375, "height": 667})
            page.goto(f"http://127.0.0.1:{server.port}/?token={token}")
            deadline = time.monotonic() + 30  # (wait_for_function would need the page's CSP to allow eval)
            while not page.evaluate("() => session.reader !== null") and time.monotonic() < deadline:
                time.sleep(0.05)
            if slowdown > 1:
                page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
            return page.evaluate("""([inks, reads]) => {
                const times = [];
                for (let i = 0; i < reads; i++) {
                    const started = performance.now();
                    Reading.read(session.reader, Float32Array.from(inks[i % inks.length]));
                    times.push(performance.now() - started);
                }
                return times; }""", [inks, reads])
        finally:
            browser.close()
