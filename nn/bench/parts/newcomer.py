"""The newcomer part: the whole `python train.py` as a new user runs it, first and again.

The first time parses the CSV (no cache yet, as in a fresh clone); the second finds the parsed
CSV cached (warm). Each run is a new process; the rows are medians of a few runs, with the test
accuracy train.py printed and the process's peak memory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from nn.bench.common import Context, Row, part, whole_command


@part("newcomer", "the whole python train.py, first run and warm, accuracy and memory")
def part_newcomer(ctx: Context) -> list[Row]:
    ctx.say("newcomer: the whole python train.py, first run (cold) and again (warm)")
    runs = 1 if ctx.quick else 3
    cold, warm, peaks, accuracies = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(runs):
            cache = Path(folder) / f"cache{i}"  # empty: this run parses the CSV, as a fresh clone does
            wall, peak, out = whole_command(["train.py", "--out", f"{folder}/model.npz", "--plots", folder],
                                            env={"NN_CACHE_DIR": str(cache)})
            cold.append(wall)
            wall, peak, out = whole_command(["train.py", "--out", f"{folder}/model.npz", "--plots", folder],
                                            env={"NN_CACHE_DIR": str(cache)})
            warm.append(wall)
            peaks.append(peak)
            accuracies.append(next((l.split()[2] for l in out.splitlines() if l.startswith("Test accuracy")), "?"))
    accuracy = accuracies[-1]
    reached = accuracy != "?" and float(accuracy.rstrip("%")) >= 98.0
    return [Row("newcomer", "python train.py, first run (parses the CSV)", float(np.median(cold)), "s",
                f"median of {runs}" if runs > 1 else "", "<= 10 s", float(np.median(cold)) <= 10),
            Row("newcomer", "python train.py, warm (parsed CSV cached)", float(np.median(warm)), "s",
                "each: " + ", ".join(f"{t:.2f}" for t in warm), "<= 5 s", float(np.median(warm)) <= 5),
            Row("newcomer", "its test accuracy", float(accuracy.rstrip("%")) if accuracy != "?" else None, "%",
                "", ">= 98.0%", reached),
            Row("newcomer", "peak memory of python train.py", float(np.median(peaks)), "MB",
                "resident set, the whole process", "< 1 GB", float(np.median(peaks)) < 1024)]
