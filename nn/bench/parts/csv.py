"""The csv part: loading data/mnist_train.csv.gz in a new process, cold and warm, and the parsers.

Cold is the first load (no cache: the CSV is parsed), warm the next (the cache it left), each with
the process's peak memory; then the CSV parsers compared on the same file: NumPy's (the loader's),
pandas' C engine, and pandas' pyarrow engine when pyarrow is installed.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nn.bench.common import Context, Row, part
from nn.plumbing.paths import REPO, TRAIN_CSV


@part("csv", "loading the training CSV cold and warm, and the parsers compared")
def part_csv(ctx: Context) -> list[Row]:
    (cold, cold_peak), (warm, warm_peak) = csv_load_times(TRAIN_CSV)
    rows = [Row("csv", "load mnist_train.csv.gz, cold (parse)", cold, "s", "60,000 rows, new process"),
            Row("csv", "load mnist_train.csv.gz, warm (cache)", warm, "s", "", "< 1 s", warm < 1),
            Row("csv", "peak memory, cold load", cold_peak, "MB",
                "the whole process; the arrays are 47 MB, float64 would be 377 MB"),
            Row("csv", "peak memory, warm load", warm_peak, "MB", "the whole process")]
    for name, seconds, note in csv_engines(TRAIN_CSV):
        rows.append(Row("csv", f"parse only: {name}", seconds, "s", note))
    return rows


def csv_load_times(path: Path) -> list[tuple[float, float]]:
    """[(seconds, peak MB) cold, (seconds, peak MB) warm]: a fresh process imports the loader and
    loads `path`, first with an empty cache, then with the cache it left."""
    code = ("import time; t = time.perf_counter(); from nn.files.digits_csv import load_csv; "
            f"load_csv({str(path)!r}); print(time.perf_counter() - t); "
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    with tempfile.TemporaryDirectory() as cache:
        results = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                 env={**os.environ, "NN_CACHE_DIR": cache}, check=True).stdout.split()
            results.append((float(out[0]), int(out[1]) / 1024))
    return results


def csv_engines(path: Path) -> list[tuple[str, float | None, str]]:
    """(parser, seconds, note) for the training CSV read whole into an array, each the best of two
    runs in this process: the loader's NumPy path, pandas' C engine, pandas' pyarrow engine (only
    when pyarrow is installed; it is not a requirement). Decompression is included in each."""
    import pandas as pd  # a slow import (a tenth of a second or more), kept off every other run's start

    def best(read) -> float:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            read()
            times.append(time.perf_counter() - start)
        return min(times)

    def numpy_parser():
        with gzip.open(path, "rb") as f:
            np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.uint8, ndmin=2, quotechar='"')

    rows = [("NumPy's loadtxt into uint8 (the loader's)", best(numpy_parser), "what load_csv uses"),
            ("pandas, C engine", best(lambda: pd.read_csv(path, dtype=np.uint8)), "")]
    if importlib.util.find_spec("pyarrow") is None:
        rows.append(("pandas, pyarrow engine", None, "pyarrow not installed: skipped"))
    else:
        rows.append(("pandas, pyarrow engine", best(lambda: pd.read_csv(path, engine="pyarrow")), ""))
    return rows
