"""The recipe part: the README's two CNN recipes, each trained on three seeds, and the shipped
CNN's own record of its recipe.

The three-minute recipe (99.6% in at most 180 s of training) and the fast one (99.5% in at most
90 s) are trained in child processes, one after the other, on seeds 0, 1 and 2, as a user runs
them (`python train.py ...`); each seed's accuracy and training time is a row, and the worst of the
three is held to the goal. With --quick, the three-minute recipe on seed 0 alone. The best recipe,
which made data/pretrained_cnn.npz, is not trained again: its time and accuracy are those
recorded in the file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nn.augment import DEFAULT_AUGMENT
from nn.bench.common import Context, Row, part, whole_command
from nn.files.model_file import load_model
from nn.plumbing.paths import PRETRAINED_CNN, display

THREE_MINUTE_RECIPE = ["--conv", "16", "32", "--hidden", "128", "--augment", "affine", "--epochs", "9", "--lr", "0.1",
                       "--warmup", "469", "--weight-decay", "0.0005"]
FAST_CNN_RECIPE = ["--conv", "16", "32", "--hidden", "128", "--augment", "affine", "--epochs", "4", "--batch-size", "64",
                   "--lr", "0.1", "--warmup", "938", "--weight-decay", "0.0005", "--label-smoothing", "0.1"]
SEEDS = (0, 1, 2)


@part("recipe", "the README's CNN recipes, each on three seeds, and the shipped CNN's own record")
def part_recipe(ctx: Context) -> list[Row]:
    rows = seeds_of("three-minute recipe", THREE_MINUTE_RECIPE, SEEDS[:1] if ctx.quick else SEEDS, 0.996, 180, ctx)
    if not ctx.quick:
        rows += seeds_of("fast recipe", FAST_CNN_RECIPE, SEEDS, 0.995, 90, ctx)
    if PRETRAINED_CNN.exists():
        info = load_model(PRETRAINED_CNN)[1]
        t = info.training
        recipe = recipe_of(t)
        rows += [Row("recipe", f"best CNN recipe ({display(PRETRAINED_CNN)}), training time: train.py {recipe}",
                     t.get("seconds"), "s", f"as recorded in the file when it was trained, {info.created[:10]}"),
                 Row("recipe", f"best CNN recipe, MNIST test: {display(PRETRAINED_CNN)}",
                     100 * info.accuracy["test"] if "test" in info.accuracy else None, "%", "as recorded in the file")]
    return rows


def seeds_of(name: str, args: list[str], seeds: tuple[int, ...], accuracy: float, seconds: float,
             ctx: Context) -> list[Row]:
    """`python train.py ARGS --seed S` for each seed, in a child process: a row per seed, then
    the worst accuracy and the longest training held to the goals."""
    command = f"train.py {' '.join(args)}"
    rows, results = [], []
    for seed in seeds:
        ctx.say(f"recipe: python {command} --seed {seed}")
        with tempfile.TemporaryDirectory() as folder:
            wall = whole_command(["train.py", *args, "--seed", str(seed), "--out", f"{folder}/cnn.npz",
                                  "--plots", "none"])[0]
            info = load_model(Path(folder) / "cnn.npz")[1]
        results.append((info.accuracy["test"], info.training["seconds"]))
        rows.append(Row("recipe", f"{name}, seed {seed}: MNIST test", 100 * results[-1][0], "%",
                        f"training {results[-1][1]:.1f} s as train.py reports it; the whole command {wall:.0f} s"))
    worst, longest = min(a for a, _ in results), max(t for _, t in results)
    rows += [Row("recipe", f"{name}, the worst of {len(seeds)} seed(s): python {command}", 100 * worst, "%",
                 "10,000 digits", f">= {100 * accuracy:g}%", worst >= accuracy),
             Row("recipe", f"{name}, the longest training of {len(seeds)} seed(s)", longest, "s",
                 "training time, as train.py reports it", f"<= {seconds:g} s", longest <= seconds)]
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
