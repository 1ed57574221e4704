"""The numbers part: whole numbers of 2-6 MNIST test digits, read as the window and the page read them.

Three kinds (nn/bench/numbers.py makes them): digits apart with gaps, a touching pair, a digit in
two pieces. The rows: each kind read exactly, the count of digits right over all three, and the
time of a six-digit number, with the default model (one BLAS thread, as the window and the page
run).
"""

from __future__ import annotations

import time

import numpy as np

from nn.bench.common import Context, Row, part
from nn.bench.numbers import KINDS, compose
from nn.errors import NNError
from nn.files.model_file import load_model
from nn.plumbing.machine import blas_for_small_products
from nn.plumbing.paths import display
from nn.session.numbers import read_number


@part("numbers", "whole numbers made from MNIST's test digits: read right, and how fast")
def part_numbers(ctx: Context) -> list[Row]:
    blas_for_small_products()
    net = load_model(ctx.models[0])[0]
    test = ctx.data()[1]
    count = 100 if ctx.quick else 300
    goals = {"gaps": 0.99, "touching": 0.95, "pieces": 0.97}
    rows, counted, total, six = [], 0, 0, []
    for kind in KINDS:
        numbers = compose(test, kind, count)
        read = []
        for number in numbers:
            started = time.perf_counter()
            text = _text(net, number.ink)
            if len(number.text) == 6:
                six.append(time.perf_counter() - started)
            read.append(text)
        exact = float(np.mean([r == n.text for r, n in zip(read, numbers)]))
        counted += sum(len(r) == len(n.text) for r, n in zip(read, numbers))
        total += len(numbers)
        goal = goals.get(kind)
        rows.append(Row("numbers", f"numbers of 2-6 digits read exactly: {kind}", 100 * exact, "%",
                        f"{count} numbers, {display(ctx.models[0])}", f">= {goal:.0%}" if goal else "",
                        exact >= goal if goal else None))
    rows.append(Row("numbers", "the count of digits right, all three kinds", 100 * counted / total, "%",
                    f"{total} numbers", ">= 99.5%", counted / total >= 0.995))
    median = 1000 * float(np.median(six))
    rows.append(Row("numbers", "one six-digit number read, median", median, "ms", f"{len(six)} numbers",
                    "<= 50 ms", median <= 50))
    numbers = compose(test, "touching", count)  # what the judge of cuts buys: the same, without it
    alone = float(np.mean([_text(net, n.ink, judge=None) == n.text for n in numbers]))
    rows.append(Row("numbers", "touching, cut by the network's confidence alone (no judge)", 100 * alone, "%",
                    f"{count} numbers, as before the judge of cuts"))
    return rows


def _text(net, ink, judge=...) -> str:
    """The number read; a number refused (a scribble, noise) reads as nothing: counted wrong."""
    try:
        return read_number(net, ink, judge=judge).text
    except NNError:
        return ""
