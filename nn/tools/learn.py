"""Learning, printed: `python -m nn step` (one step of learning on one drawing, every number of
it, as the README's worked example shows) and `python -m nn dream` (what the network thinks each
digit looks like, as a picture). The numbers come from nn/session/learning.py, as the window's
and the page's do."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nn.dataset import SIDE
from nn.errors import UsageError
from nn.files.digits_csv import load_csv
from nn.files.images import read_image
from nn.files.model_file import load_model, resolve_model
from nn.network import Network
from nn.plumbing.files import check_output
from nn.plumbing.paths import display
from nn.session.learning import LR, LearningStep, check_step, dream, learning_step
from nn.session.preprocess import normalize
from nn.tools.plots import new_figure, save_figure


def step_lines(step: LearningStep, net: Network) -> list[str]:
    """The step as a table: the probabilities before, A - Y, the probabilities after each step,
    the loss; then what the hidden layer did."""
    label, losses, probabilities = step.label, step.losses, step.probabilities
    row = lambda name, values, sign="": f"{name:<13}" + "".join(f"{v:{sign}8.4f}" for v in values)
    lines = [f"{'digit':<13}" + "".join(f"{d:>8}" for d in range(10)),
             row("p before", probabilities[0]),
             row("A - Y", step.output_error, "+")]
    for k, p in enumerate(probabilities[1:], start=1):
        lines.append(row("p after" + (f" {k}" if len(probabilities) > 2 else ""), p))
    lines.append("")
    lines.append(f"loss -log p({label}): {losses[0]:.4f} before, "
                 + ", ".join(f"{v:.4f}" for v in losses[1:]) + f" after {_steps(len(losses) - 1)}")
    if step.hidden_error:
        dz = step.hidden_error[0]
        lines.append(f"hidden layer: dZ = dA * g'(Z) is nonzero for {np.count_nonzero(dz)} of its {len(dz)} "
                     "units (a silent unit has g'(Z) = 0)")
    if step.units and step.filter_change is None:
        j, change = step.units[0], step.weight_change[0]
        lines.append(f"unit {j} moved most: dZ = {step.hidden_error[0][j]:+.4f}, so its 784 weights moved by "
                     f"-lr · x · dZ, up to {np.abs(change).max():.5f}")
    elif step.filter_change is not None:
        f = step.units[0]
        lines.append(f"filter {f} of the first convolution moved most, its weights by up to "
                     f"{np.abs(step.filter_change[f]).max():.5f}")
    return lines


def _steps(n: int) -> str:
    return "the step" if n == 1 else f"each of {n} steps"


def plot_dreams(net: Network, path: Path | str) -> np.ndarray:
    """temp/dreams.png: for each digit the input that most raises its score, with the probability
    the network gives it; returns those probabilities (10,)."""
    pictures = dream(net)
    p = net.predict_proba(pictures)[np.arange(10), np.arange(10)]
    fig = new_figure((9, 4.2))
    for k in range(10):
        ax = fig.add_subplot(2, 5, k + 1)
        ax.imshow(pictures[k].reshape(SIDE, SIDE), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{k}: {p[k]:.1%}")
        ax.axis("off")
    fig.suptitle("What the network thinks each digit looks like (the input that most raises each score)")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.85, wspace=0.1, hspace=0.3)
    save_figure(fig, path)
    return p


# -- the two commands (nn/tools/command.py reads their flags) ----------------------------------

def show_step(args: argparse.Namespace) -> int:
    """One step (or --steps) of learning on one drawing, printed as a table (nn/tools/learn.py)."""
    model_path = resolve_model(args.model)
    net, _ = load_model(model_path)
    if args.image is not None:
        if args.label is None:
            raise UsageError("--image: give the right digit with --label K")
        x, where, label = normalize(read_image(args.image).ink).reshape(-1), display(args.image), args.label
    else:
        data = load_csv(args.data)
        if not 0 <= args.row < len(data.images):
            raise UsageError(f"--row {args.row}: {display(args.data)} has rows 0 to {len(data.images) - 1}")
        x = data.images[args.row].astype(np.float64) / 255
        where = f"row {args.row} of {display(args.data)}"
        if data.labels is not None:
            where += f" (labeled {data.labels[args.row]})"
        label = args.label if args.label is not None else (int(data.labels[args.row]) if data.labels is not None else None)
        if label is None:
            raise UsageError(f"{display(args.data)} has no labels: give the right digit with --label K")
    lr = args.lr if args.lr is not None else LR["cnn" if net.conv else "mlp"]
    label, lr, steps = check_step(label, lr, args.steps, name=lambda setting: f"--{setting}")
    step = learning_step(net, x, label, lr, steps)
    reads = int(np.argmax(step.probabilities[0]))
    print(f"Model: {display(model_path)} ({net.shape_name})")
    print(f"Drawing: {where}, read as {reads}")
    print(f"{'One step' if steps == 1 else f'{steps} steps'} of plain gradient descent toward "
          f"{label}, lr {lr:g}, on this drawing alone (the model file is not changed):")
    print()
    print("\n".join(step_lines(step, net)))
    return 0


def show_dreams(args: argparse.Namespace) -> int:
    """temp/dreams.png: what the network thinks each digit looks like (nn/tools/learn.py)."""
    model_path = resolve_model(args.model)
    check_output(args.out, "picture", [("model", model_path)], kind="picture")
    net, _ = load_model(model_path)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    p = plot_dreams(net, args.out)
    print(f"Model: {display(model_path)} ({net.shape_name})")
    print("Each digit's input that most raises its score, read back by the model: "
          + ", ".join(f"{k} {v:.1%}" for k, v in enumerate(p)))
    print(f"Wrote {display(args.out)}")
    return 0
