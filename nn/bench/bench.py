"""The benchmark's runner: runs the parts, prints the table, writes temp/bench.json and temp/bench.md.

    python -m nn.bench                    # every part (about 25 minutes on 2 cores, half of it 'recipe')
    python -m nn.bench --quick            # the same parts, shorter
    python -m nn.bench --only epoch floor # some parts; --hidden/--batch-size set the compared network
    python -m nn.bench --help             # every part, with what it measures

The parts are not listed here: `--help` lists them from the registry, PARTS in nn/bench/common.py,
which every part joins when its module is imported below. All are measured in one run, on the same
data, in the order of those imports; the table follows the same order.

A part is one module in nn/bench/parts/, named as `--only` names it: a function decorated with
`@part(name, line)` that takes the Context (the run's settings, and the data loaded once) and
returns Rows. To add one, copy a short part (parts/latency.py), change its name, line and
measurement, and import it below.

The exit status is 0 when every target is met and 1 when one is MISSED (the table says which); a
number without a target is reported only. A part that fails gives one MISSED row saying why, and
the others still run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_info

from nn.bench.common import PARTS, Context, Row
from nn.files.model_file import default_model
from nn.plumbing.cli import ArgumentParser, positive_int
from nn.plumbing.files import atomic_write
from nn.plumbing.paths import TEMP_DIR

# Every part, in the order a run measures them and the table shows them (keep the order): importing
# a part's module registers it. A new part is one more name here.
from nn.bench.parts import (epoch, cnn, floor, time98, newcomer, csv, latency, numbers,  # noqa: F401
                            photos, learning, web, classroom, phones, handwriting, teach, watch, recipe)


def run(parts: Sequence[str], ctx: Context) -> list[Row]:
    """Every part's rows. A part that fails gives one MISSED row saying why, and the others still run:
    a run of many minutes is not lost to one broken measurement."""
    rows: list[Row] = []
    for name in parts:
        try:
            rows += PARTS[name].measure(ctx)
        except Exception as error:  # noqa: BLE001 - reported in the table, and the run goes on
            ctx.say(f"{name}: failed: {type(error).__name__}: {error}")
            rows.append(Row(name, "the part failed", None, "", f"{type(error).__name__}: {error}"[:200],
                            "runs", False))
    return rows


def machine() -> dict:
    """What the numbers were measured on: CPU, cores, Python, NumPy and its BLAS, PyTorch and
    scikit-learn when installed."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    cpu = names[0] if names else cpu
    blas = ", ".join(sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                             if i["user_api"] == "blas"})) or "unknown"
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "system": platform.platform(terse=True)}
    for name, dist in (("torch", "torch"), ("sklearn", "scikit-learn")):
        if importlib.util.find_spec(name) is not None:  # its version, without importing it (seconds)
            info[name] = importlib.metadata.version(dist)
    return info


def render_markdown(rows: list[Row], meta: dict) -> str:
    """The table as Markdown (temp/bench.md), under a line saying when, on what, and with which command."""
    lines = [f"Measured {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
             f"Python {meta['machine']['python']}, NumPy {meta['machine']['numpy']} ({meta['machine']['blas']})"
             + (f", PyTorch {meta['machine']['torch']}" if "torch" in meta["machine"] else "")
             + (f", scikit-learn {meta['machine']['sklearn']}" if "sklearn" in meta["machine"] else "")
             + f", with `{meta['command']}`.", "",
             "| part | measurement | value | target | note |", "|---|---|---|---|---|"]
    def cell(text: str) -> str:  # one table cell: an error's text may hold newlines and bars
        return " ".join(str(text).split()).replace("|", "\\|")

    for r in rows:
        verdict = "" if r.passed is None else (" (met)" if r.passed else " (MISSED)")
        lines.append(f"| {r.part} | {cell(r.what)} | {r.shown()} | {r.target}{verdict} | {cell(r.note)} |")
    return "\n".join(lines) + "\n"


def print_table(rows: list[Row]) -> None:
    width = max(len(r.what) for r in rows) if rows else 10
    print(f"{'part':12s} {'measurement':{width}s} {'value':>12s}  target")
    for r in rows:
        verdict = "" if r.passed is None else ("  met" if r.passed else "  MISSED")
        print(f"{r.part:12s} {r.what:{width}s} {r.shown():>12s}  {r.target}{verdict}"
              + (f"   ({r.note})" if r.note else ""))


def command_line() -> ArgumentParser:
    """The command line; its help ends with every registered part and its line."""
    parser = ArgumentParser(
        prog="python -m nn.bench", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Measure speed, memory and handwriting; print a table and write temp/bench.json\n"
                    "and temp/bench.md. All parts together take about 25 minutes on 2 cores, half of\n"
                    "it the six trainings of 'recipe' (--quick: fewer). Exit status 0 when every\n"
                    "target is met, 1 when one is MISSED.",
        epilog="parts, in the order they run:\n" + "\n".join(f"  {p.name:12s} {p.line}" for p in PARTS.values()))
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None, metavar="PART",
                        help=f"run only these parts: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--hidden", nargs="+", type=positive_int, default=[128], metavar="N",
                        help="hidden layers of the network compared in 'epoch' and 'floor' (default: 128)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="batch size compared in 'epoch', 'cnn' and 'floor' (default: 128)")
    parser.add_argument("--conv", nargs="+", type=positive_int, default=[16, 32], metavar="FILTERS",
                        help="the convolutions of the CNN compared in 'cnn' (default: 16 32)")
    parser.add_argument("--model", type=Path, nargs="+", default=None,
                        help="model(s) for 'latency' and 'handwriting' (default: the one draw.py uses)")
    parser.add_argument("--out", type=Path, default=TEMP_DIR,
                        help="folder for bench.json and bench.md (default: temp/)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """python -m nn.bench: the exit status, 0 when every target is met, 1 when one is missed."""
    args = command_line().parse_args(argv)
    parts = args.only or list(PARTS)
    command = "python -m nn.bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    meta = {"date": _dt.date.today().isoformat(), "machine": machine(), "command": command}
    ctx = Context(args.quick, args.hidden, args.batch_size, args.model or [default_model()],
                  say=lambda text: print(text, file=sys.stderr, flush=True), conv=args.conv)
    rows = run(parts, ctx)

    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {**meta, "rows": [r.__dict__ for r in rows], **ctx.extra}
    with atomic_write(args.out / "bench.json") as f:
        f.write(json.dumps(report, indent=1).encode())
    with atomic_write(args.out / "bench.md") as f:
        f.write(render_markdown(rows, meta).encode())
    print(f"Wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}")
    return 0 if all(r.passed is not False for r in rows) else 1
