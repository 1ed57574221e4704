"""The latency part: one drawing in the window, normalize + forward pass, median and p99.

Each model of --model is held to what live mode needs: it redraws at up to 60 frames a second
(17 ms each), so a p99 under 2 ms for an MLP and 5 ms for a CNN.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nn.bench.common import Context, Row, part
from nn.files.model_file import load_model
from nn.plumbing.machine import blas_for_small_products
from nn.plumbing.paths import display
from nn.session.canvas import Canvas, draw_demo
from nn.session.preprocess import normalize


@part("latency", "one drawing: normalisation and forward pass")
def part_latency(ctx: Context) -> list[Row]:
    rows = []
    for model in ctx.models:
        median, p99 = latency(model, repeats=3 if ctx.quick else 10)
        limit = 5 if load_model(model)[0].conv else 2
        rows += [Row("latency", f"one drawing: normalize + forward, median: {display(model)}", median, "ms"),
                 Row("latency", f"one drawing: normalize + forward, p99: {display(model)}", p99, "ms", "",
                     f"< {limit} ms", p99 < limit)]
    return rows


def latency(model_path: Path, drawings: int = 200, repeats: int = 10, seed: int = 0) -> tuple[float, float]:
    """(median, p99) milliseconds for normalize + forward pass of one drawing, with one BLAS thread
    as the window and the page have it."""
    net, _ = load_model(model_path)
    blas_for_small_products()
    rng = np.random.default_rng(seed)
    canvases = []
    for i in range(drawings):
        canvas = Canvas()
        draw_demo(canvas, i % 10, scale=rng.uniform(0.6, 1.1), shift=tuple(rng.uniform(-3, 3, 2)))
        canvases.append(canvas.ink.copy())
    for ink in canvases[:20]:  # warm up
        net.predict_proba(normalize(ink).reshape(1, -1))
    times = []
    for _ in range(repeats):
        for ink in canvases:
            start = time.perf_counter()
            net.predict_proba(normalize(ink).reshape(1, -1))
            times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 99))
