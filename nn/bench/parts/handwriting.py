"""The handwriting part: how well models read digits that are not MNIST's, and MNIST's test set.

Each model of --model reads every set of other hands (nn/bench/handwriting.py: pen-drawn digits,
the machine's fonts, and six more hands); the rows give each set, their mean (every set counts the
same), MNIST's test set, and how the "unsure" threshold (nn/session/reading.py: SURE) splits the
pen digits. The shipped CNN, the default model of a fresh clone, is held to 98% and 99.6%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from nn.bench.common import Context, Row, part
from nn.bench.handwriting import font_digits, other_hands, pen_digits
from nn.dataset import Dataset, to_inputs
from nn.files.model_file import load_model
from nn.plumbing.paths import PRETRAINED_CNN, display
from nn.session.reading import SURE


@part("handwriting", "how well models read eight sets of other hands, and MNIST's test set")
def part_handwriting(ctx: Context) -> list[Row]:
    ctx.extra["handwriting"] = handwriting(ctx.models, ctx.data()[1], ctx.quick)
    rows = []
    for k, row in enumerate(ctx.extra["handwriting"]):
        default = Path(ctx.models[k]).resolve() == PRETRAINED_CNN.resolve()
        for name, found in row["sets"].items():
            rows.append(Row("handwriting", f"{name}: {row['model']}", 100 * found["accuracy"], "%", found["note"]))
        rows.append(Row("handwriting", f"the mean of the {len(row['sets'])} sets: {row['model']}", 100 * row["mean"],
                        "%", "every set counts the same; misses by digit: "
                        + (", ".join(f"{d}s {m}" for d, m in row["missed"].items()) or "none"),
                        ">= 98%" if default else "",
                        row["mean"] >= 0.98 if default else None))
        mnist = row["mnist_test"]
        rows.append(Row("handwriting", f"MNIST test: {row['model']}", 100 * mnist, "%", "10,000 digits",
                        ">= 99.6%" if default else "", mnist >= 0.996 if default else None))
        unsure = row["unsure"]
        if unsure["right_when_unsure"] is not None:
            rows.append(Row("handwriting", f"pen, shown as unsure (< {SURE:.0%}): {row['model']}",
                            100 * unsure["share"], "%", f"right {unsure['right_when_unsure']:.0%} of the "
                            f"time, the others {unsure['right_when_sure']:.1%}"))
    return rows


def handwriting(model_paths: Sequence[Path], test: Dataset, quick: bool = False) -> list[dict]:
    """Accuracy of each model on every set of other hands (nn/bench/handwriting.py), their mean,
    MNIST's test set, and how the "unsure" threshold (nn/session/reading.py: SURE) splits the pen
    digits: one dict per model, as bench.json keeps them."""
    sets = [pen_digits(20 if quick else 60), font_digits(), *other_hands(10 if quick else 40)]
    rows = []
    for model in model_paths:
        net = load_model(model)[0]
        mnist = float(np.mean(net.predict(to_inputs(test.images)) == test.labels))
        row = {"model": display(model), "mnist_test": mnist, "sets": {}}
        missed = np.zeros(10, int)  # misses of each digit, over all the sets
        for s in sets:
            if len(s.labels):
                wrong = net.predict(s.inputs) != s.labels
                row["sets"][s.name] = {"accuracy": float(1 - wrong.mean()), "note": s.note}
                missed += np.bincount(s.labels[wrong], minlength=10)
        row["mean"] = float(np.mean([v["accuracy"] for v in row["sets"].values()]))
        row["missed"] = {int(d): int(missed[d]) for d in np.argsort(-missed, kind="stable") if missed[d]}
        probabilities = net.predict_proba(sets[0].inputs)
        right = probabilities.argmax(axis=1) == sets[0].labels
        unsure = probabilities.max(axis=1) < SURE
        row["unsure"] = {"share": float(unsure.mean()),
                         "right_when_unsure": float(right[unsure].mean()) if unsure.any() else None,
                         "right_when_sure": float(right[~unsure].mean()) if (~unsure).any() else None}
        rows.append(row)
    return rows
