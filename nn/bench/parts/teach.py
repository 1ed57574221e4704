"""The teach part: teaching each shipped model 50 drawings in a style it misreads (nn/session/teach.py).

Each shipped model, whatever --model says, is taught 50 drawings, 5 of each digit, of a hand it
misreads: the time teaching takes, MNIST's test set before and after, and 300 other drawings of
the hand after. Two hands: digits like a clock's seven segments, and an outlined hand (each
stroke drawn as its two edges), the farthest from MNIST.
"""

from __future__ import annotations

import time

import numpy as np

from nn.bench.common import Context, Row, part
from nn.bench.handwriting import outlined_hand, style_digits
from nn.files.model_file import load_model
from nn.plumbing.paths import PRETRAINED_MODELS, display
from nn.session.teach import mnist_sets, teach


@part("teach", "teaching the shipped models 50 drawings of two hands they misread")
def part_teach(ctx: Context) -> list[Row]:
    mnist, mnist_test = mnist_sets()
    hands = {"segments": (style_digits("segments", 5, seed=11), style_digits("segments", 30, seed=99)),
             "outlined": (outlined_hand(5, 11), outlined_hand(30, 99))}
    rows = []
    for path in [p for p in PRETRAINED_MODELS if p.exists()]:
        net, _ = load_model(path)
        limit = 30 if net.conv else 10
        for hand, (drawings, others) in hands.items():
            ctx.say(f"teach: 50 {hand} drawings to {display(path)}")
            before = float(np.mean(net.predict(others.inputs) == others.labels))
            started = time.perf_counter()
            taught, report = teach(net, drawings.as_drawings(), mnist, mnist_test)
            seconds = time.perf_counter() - started
            after = float(np.mean(taught.predict(others.inputs) == others.labels))
            change = 100 * (report.after["mnist"] - report.before["mnist"])
            rows += [Row("teach", f"{hand}: 50 drawings, {report.steps} steps: {display(path)}", seconds, "s",
                         "held out, before evaluation and after, all included", f"<= {limit} s", seconds <= limit),
                     Row("teach", f"{hand}: MNIST test, after - before: {display(path)}", change, "points",
                         f"{report.before['mnist']:.2%} -> {report.after['mnist']:.2%}", ">= -0.3", change >= -0.3),
                     Row("teach", f"{hand}: 300 other drawings of the hand: {display(path)}", 100 * after, "%",
                         f"{before:.1%} before", ">= 97%", after >= 0.97)]
    return rows
