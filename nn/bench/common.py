"""What the bench's parts share: the registry (@part), the Row each part returns, the Context of a run.

A part is a function that takes the Context and returns its rows; `@part(name, line)` registers it
under the name `--only` takes, with the line `--help` shows. Also here: `whole_command`, the time
and peak memory of a command run as a new user runs it (the newcomer and recipe parts use it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nn.dataset import Dataset, to_inputs
from nn.files.digits_csv import load_csv
from nn.plumbing.paths import REPO, TEST_CSV, TRAIN_CSV


@dataclass
class Row:
    """One line of the table: a measurement, and the target it is held to (if any)."""

    part: str
    what: str
    value: float | None  # in `unit`
    unit: str
    note: str = ""
    target: str = ""  # e.g. "< 2 ms"
    passed: bool | None = None

    def shown(self) -> str:
        if self.value is None:
            return "-"
        return SHOWN.get(self.unit, "{:.2f} " + self.unit).format(self.value)


# How a value is written in the table, by its unit (others: two decimals and the unit).
SHOWN = {"%": "{:.2f}%", "x": "{:.2f}x", "MB": "{:,.0f} MB", "GFLOP/s": "{:.0f} GFLOP/s", "ms": "{:.3f} ms",
         "points": "{:+.2f} points"}


@dataclass
class Context:
    """What the parts share: the settings of the run and the data, loaded once."""

    quick: bool
    hidden: list[int]
    batch: int
    models: list[Path]
    say: Callable[[str], None] = print
    extra: dict = field(default_factory=dict)  # what goes into bench.json beside the rows
    ours_epoch: float | None = None  # the epoch part's median, for the floor part
    conv: list[int] = field(default_factory=lambda: [16, 32])  # the CNN of the cnn part
    _data: tuple | None = None

    def data(self) -> tuple[Dataset, Dataset, np.ndarray]:
        """(train, test) Datasets and the training inputs as float32, (60000, 784)."""
        if self._data is None:
            train, test = load_csv(TRAIN_CSV), load_csv(TEST_CSV)
            self._data = (train, test, to_inputs(train.images))
        return self._data


Measure = Callable[[Context], list[Row]]  # a part's function: the run's Context in, its rows out


@dataclass(frozen=True)
class Part:
    name: str  # what --only takes
    line: str  # what it measures, in one line: --help lists it
    measure: Measure


# name -> Part, in the order they registered, which is the order nn/bench/bench.py imports them in
PARTS: dict[str, Part] = {}


def part(name: str, line: str) -> Callable[[Measure], Measure]:
    """Register the decorated function (a Measure) as the bench's part `name`, described by `line`."""

    def register(measure: Measure) -> Measure:
        assert name not in PARTS, f"two bench parts are named {name!r}"
        PARTS[name] = Part(name, line, measure)
        return measure

    return register


def whole_command(args: Sequence[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak memory in MB, stdout) of `python ARGS` run as a child process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURE_CHILD, *args], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()[-300:]}")
    out, _, peak = result.stdout.rpartition("PEAK_KB ")
    return wall, int(peak) / 1024, out


# Runs a script as __main__, then prints its own peak resident memory in kilobytes. On Linux that
# is VmHWM: getrusage's ru_maxrss would include the parent's size at fork (it survives exec).
_MEASURE_CHILD = """
import resource, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    if e.code not in (0, None):
        raise
try:  # VmHWM, in kilobytes; elsewhere ru_maxrss (kilobytes on Linux, bytes on macOS)
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_KB", peak)
"""
