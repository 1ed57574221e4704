"""The recipe part: the README's fast CNN recipe trained, and the shipped CNN's own record of its recipe.

The README gives two CNN recipes: the fast one, which this part trains in a child process (with
--quick only one epoch of it, held to no goal), and the best one, which made
data/pretrained_cnn.npz: its time and accuracy are those recorded in the file when it was trained.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nn.augment import DEFAULT_AUGMENT
from nn.bench.common import Context, Row, part, whole_command
from nn.files.model_file import load_model
from nn.plumbing.paths import PRETRAINED_CNN, display

FAST_CNN_RECIPE = ["--conv", "16", "32", "--hidden", "128", "--augment", "--epochs", "6", "--weight-decay", "0.0005"]


@part("recipe", "the README's fast CNN recipe trained, and the shipped CNN's own record")
def part_recipe(ctx: Context) -> list[Row]:
    args = [*FAST_CNN_RECIPE, "--epochs", "1"] if ctx.quick else FAST_CNN_RECIPE  # the last --epochs counts
    ctx.say(f"recipe: python train.py {' '.join(args)}")
    with tempfile.TemporaryDirectory() as folder:
        wall = whole_command(["train.py", *args, "--out", f"{folder}/cnn.npz", "--plots", "none"])[0]
        info = load_model(Path(folder) / "cnn.npz")[1]
    seconds, test = info.training["seconds"], info.accuracy["test"]
    command = f"train.py {' '.join(args)}"
    rows = [Row("recipe", f"fast CNN recipe, training time: {command}", seconds, "s",
                f"as train.py reports it; the whole command {wall:.0f} s",
                "" if ctx.quick else "<= 180 s", None if ctx.quick else seconds <= 180),
            Row("recipe", f"fast CNN recipe, MNIST test: {command}", 100 * test, "%", "10,000 digits",
                "" if ctx.quick else ">= 99.5%", None if ctx.quick else test >= 0.995)]
    if PRETRAINED_CNN.exists():
        info = load_model(PRETRAINED_CNN)[1]
        t = info.training
        recipe = recipe_of(t)
        rows += [Row("recipe", f"best CNN recipe ({display(PRETRAINED_CNN)}), training time: train.py {recipe}",
                     t.get("seconds"), "s", f"as recorded in the file when it was trained, {info.created[:10]}"),
                 Row("recipe", f"best CNN recipe, MNIST test: {display(PRETRAINED_CNN)}",
                     100 * info.accuracy["test"] if "test" in info.accuracy else None, "%", "as recorded in the file")]
    return rows


def recipe_of(t: dict) -> str:
    """train.py's flags for a model file's recorded training settings (ModelInfo.training)."""
    flags = [f"--conv {' '.join(map(str, t.get('conv', [])))}", f"--hidden {' '.join(map(str, t.get('hidden', [])))}"]
    if t.get("augment"):
        flags.append("--augment" if t["augment"] == DEFAULT_AUGMENT else f"--augment {t['augment']}")
    flags.append(f"--epochs {t.get('epochs')}")
    if t.get("weight_decay"):
        flags.append(f"--weight-decay {t['weight_decay']:g}")
    if t.get("seed"):
        flags.append(f"--seed {t['seed']}")
    return " ".join(flags)
