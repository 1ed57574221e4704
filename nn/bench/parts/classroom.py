"""The classroom part: `draw.py --web --classroom` with a class of phones drawing on the same cores.

With the default model (nn/bench/classroom.py runs the clients): one client; 40 and 80 clients
sending their next drawing the moment the last answer comes; 40 paced as the page's live mode
paces itself; the teacher's page while a network trains and 40 draw; 200 devices connecting at
once.
"""

from __future__ import annotations

import tempfile

import numpy as np

from nn.bench.classroom import Server, all_at_once, live_clients, live_every, one_client, teacher_while
from nn.bench.common import Context, Row, part
from nn.plumbing.paths import display


@part("classroom", "draw.py --web --classroom: 40 and 80 phones live, the teacher's page, 200 at once")
def part_classroom(ctx: Context) -> list[Row]:
    model, seconds = ctx.models[0], (3.0 if ctx.quick else 6.0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        server = Server("--classroom", "--host", "127.0.0.1", "--model", str(model),
                        "--custom-csv", f"{folder}/custom.csv", "--out", f"{folder}/model.npz")
        try:
            pupil, teacher = server.tokens["the class"], server.tokens["you"]
            ctx.say(f"classroom: one client, then 40 and 80 live, {display(model)}")
            times = one_client(server, 200 if ctx.quick else 500, pupil)
            median = 1000 * float(np.median(times))
            rows.append(Row("classroom", "one client, POST /api/predict, median", median, "ms",
                            f"p99 {1000 * float(np.percentile(times, 99)):.2f} ms; {display(model)}",
                            "<= 5 ms", median <= 5))
            for clients in (40, 80):
                load = live_clients(server, clients, seconds, pupil)
                goal = clients == 40
                rows.append(Row("classroom", f"{clients} clients, each the moment its answer came: p95",
                                load.percentile(95), "ms",
                                f"p50 {load.percentile(50):.0f} ms, {load.rate:.0f} answers/s, "
                                f"{load.failures} failed", "<= 50 ms, none failing" if goal else "",
                                load.percentile(95) <= 50 and load.failures == 0 if goal else None))
            every = live_every()
            load = live_clients(server, 40, seconds, pupil, every=every)
            rows.append(Row("classroom", f"40 clients paced as the page's live mode ({1 / every:.0f} a second each): p95",
                            load.percentile(95), "ms",
                            f"p50 {load.percentile(50):.1f} ms, {load.rate:.0f} answers/s, {load.failures} failed",
                            "<= 50 ms, none failing", load.percentile(95) <= 50 and load.failures == 0))
            ctx.say("classroom: the teacher trains a network while 40 draw")
            load, answers, state = teacher_while(server, 40, 2 * seconds, teacher, pupil,
                                                 {"hidden": [64], "epochs": 2})
            slowest = max(answers)
            rows.append(Row("classroom", "the teacher's page while it trains and 40 draw: slowest answer",
                            slowest, "s", f"{len(answers)} answers, median {1000 * float(np.median(answers)):.0f} ms; "
                            f"the class's p95 {load.percentile(95):.0f} ms; training {state}",
                            "<= 1 s", slowest <= 1.0))
            ctx.say("classroom: 200 devices at once")
            statuses, devices, teacher_seconds = all_at_once(server, 200, pupil, teacher)
            answered = statuses.get(200, 0) + statuses.get(503, 0)
            rows.append(Row("classroom", "200 devices at once: the teacher's page answers in", teacher_seconds, "s",
                            f"the class: {', '.join(f'{n} got {k}' for k, n in sorted(statuses.items(), key=str))}; "
                            f"the slowest in {devices:.2f} s", "<= 1 s, every device answered",
                            teacher_seconds <= 1.0 and answered == 200))
        finally:
            server.stop()
    return rows
