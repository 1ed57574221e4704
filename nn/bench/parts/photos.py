"""The photos part: phone photos of numbers on paper (nn/bench/photos.py makes them from MNIST's
test digits), read as `draw.py --predict` and the page's Photo button read them.

The rows: each condition read exactly (goal 90% each), all of them (95%), the count of digits
right, the time of a photo (median and 95th percentile, goal 0.5 s), the same for photos as large
as a phone's camera takes them (3000 to 4000 pixels), and pictures with no number on them (a
blank page, a wall, a face, a page of text...) refused, every one.
"""

from __future__ import annotations

import time

import numpy as np

from nn.bench.common import Context, Row, part
from nn.bench.photos import CONDITIONS, NOT_NUMBERS, not_numbers, photos
from nn.errors import NNError
from nn.files.model_file import load_model
from nn.plumbing.machine import blas_for_small_products
from nn.plumbing.paths import display
from nn.session.photo import read_photo


@part("photos", "phone photos of numbers on paper: read right in every condition, how fast, no made-up numbers")
def part_photos(ctx: Context) -> list[Row]:
    blas_for_small_products()
    net = load_model(ctx.models[0])[0]
    test = ctx.data()[1]
    count = 10 if ctx.quick else 30
    model = display(ctx.models[0])

    def read(data: bytes) -> tuple[str | None, float]:
        started = time.perf_counter()
        try:
            text = read_photo(net, data).number.text
        except NNError:  # refused: counted wrong for a number, right for a picture of none
            text = None
        return text, time.perf_counter() - started

    rows, right, digits, total, seconds = [], 0, 0, 0, []
    for condition in CONDITIONS:
        shot = photos(test, condition, count, seed=1)
        read_back = [read(p.jpeg) for p in shot]
        seconds += [s for _, s in read_back]
        exact = sum(text == p.text for (text, _), p in zip(read_back, shot))
        right += exact
        digits += sum(text is not None and len(text) == len(p.text) for (text, _), p in zip(read_back, shot))
        total += len(shot)
        rows.append(Row("photos", f"photos read exactly: {condition}", 100 * exact / len(shot), "%",
                        f"{len(shot)} photos, {model}", ">= 90%", exact / len(shot) >= 0.9))
    rows.append(Row("photos", "photos read exactly, every condition", 100 * right / total, "%",
                    f"{total} photos of 1-6 digits", ">= 95%", right / total >= 0.95))
    rows.append(Row("photos", "photos whose count of digits is right", 100 * digits / total, "%", f"{total} photos"))
    rows += _times("a photo read (1000-1800 px), median", seconds)
    large = [p for c in ("plain paper", "ruled paper") for p in photos(test, c, 2 if ctx.quick else 5, seed=2,
                                                                        side=(3000, 4001))]
    read_large = [read(p.jpeg) for p in large]
    rows += _times("a phone's photo read (3000-4000 px), median", [s for _, s in read_large],
                   f", {sum(t == p.text for (t, _), p in zip(read_large, large))} of {len(large)} read exactly")
    refused = [(p.condition, read(p.jpeg)[0]) for seed in range(1 if ctx.quick else 3) for p in not_numbers(test, seed)]
    wrong = [f"{kind}: {text}" for kind, text in refused if text is not None]
    rows.append(Row("photos", "pictures with no number refused", 100 * (1 - len(wrong) / len(refused)), "%",
                    f"{len(refused)} pictures of {len(NOT_NUMBERS)} kinds" + (f"; read: {', '.join(wrong)}" if wrong else ""),
                    "100%", not wrong))
    return rows


def _times(name: str, seconds: list[float], note: str = "") -> list[Row]:
    median, p95 = (1000 * float(np.percentile(seconds, q)) for q in (50, 95))
    return [Row("photos", name, median, "ms", f"{len(seconds)} photos, 95th percentile {p95:.0f} ms{note}",
                "<= 500 ms", median <= 500)]
