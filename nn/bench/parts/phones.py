"""The phones part: `draw.py --web --classroom` with 200 phones in live mode, first as the class's
page works by default (each phone reads its own guesses with a copy of the network, and asks the
server only which model answers, every 5 s), then with `--server-reads` (the server reads every
guess, 6.7 a second a phone, as live mode asks). Server and simulated phones share the machine's
cores; a guess read on a phone is measured in headless Chromium, as it is and 4x slowed down
(DevTools' CPU throttling: a mid-range phone)."""

from __future__ import annotations

import tempfile

import numpy as np

from nn.bench.classroom import Server, cpu_seconds, guesses_on_a_phone, live_clients, live_every, phones_reading
from nn.bench.common import Context, Row, part
from nn.plumbing.paths import display

PHONES = 200


@part("phones", "draw.py --web --classroom: 200 phones live, reading on the phones, then on the server")
def part_phones(ctx: Context) -> list[Row]:
    model, seconds = ctx.models[0], (5.0 if ctx.quick else 10.0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files = ("--host", "127.0.0.1", "--model", str(model), "--custom-csv", f"{folder}/custom.csv",
                 "--out", f"{folder}/model.npz")
        server = Server("--classroom", *files)
        try:
            pupil, teacher = server.tokens["the class"], server.tokens["you"]
            ctx.say(f"phones: {PHONES} phones that read their own guesses, {display(model)}")
            load, joins, share, teacher_times = phones_reading(server, PHONES, seconds, pupil, teacher_token=teacher)
            failed = load.failures
            rows.append(Row("phones", f"{PHONES} phones reading their own, live: the server's share of the CPU",
                            None if share is None else 100 * share, "%",
                            f"{'no /proc to measure it; ' if share is None else ''}{len(load.times)} model checks, "
                            f"{failed} failed; the class joined (model and weights) in {max(joins, default=0):.1f} s",
                            "< 25%, none failing", share is not None and share < 0.25 and failed == 0))
            slowest = 1000 * max(teacher_times, default=float("nan"))
            rows.append(Row("phones", f"the teacher's page while {PHONES} phones draw: slowest answer", slowest, "ms",
                            f"{len(teacher_times)} answers of GET /api/model", "<= 1 s", slowest <= 1000))
            for slowdown in (1, 4):
                times = guesses_on_a_phone(server, pupil, 100 if ctx.quick else 300, slowdown)
                if isinstance(times, str):
                    rows.append(Row("phones", "a guess read on the phone", None, "ms", times, "<= 20 ms", False))
                    break
                p95 = float(np.percentile(times, 95))
                note = f"median {np.median(times):.1f} ms, {len(times)} guesses of the demo digits"
                if slowdown == 1:
                    rows.append(Row("phones", "a guess read on the phone, headless Chromium: p95", p95, "ms", note,
                                    "<= 20 ms", p95 <= 20))
                else:  # what a slower phone would see: reported, the goal is the row above's
                    rows.append(Row("phones", f"the same, the CPU {slowdown}x slowed (a mid-range phone): p95",
                                    p95, "ms", note))
        finally:
            server.stop()
        ctx.say(f"phones: {PHONES} phones that the server reads for (--server-reads)")
        server = Server("--classroom", "--server-reads", *files)
        try:
            every = live_every()
            before = cpu_seconds(server.process.pid)
            load = live_clients(server, PHONES, seconds, server.tokens["the class"], every=every)
            used = cpu_seconds(server.process.pid)
            asked = PHONES / every
            rows.append(Row("phones", f"{PHONES} phones, the server reading (--server-reads): p95", load.percentile(95), "ms",
                            f"p50 {load.percentile(50):.0f} ms; {asked:,.0f} asked, {load.rate:,.0f} answered a second; "
                            f"{load.failures} failed" + ("" if before is None else
                                                         f"; the server busy on {(used - before) / (seconds + 1):.1f} cores")))
        finally:
            server.stop()
    return rows
