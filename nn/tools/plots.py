"""Pictures of a training run, saved as PNG files (by default in temp/).

    training_curves.png    loss, accuracy and learning rate over the run: training, validation
                           (or the test set, reported only), and every step's loss
    confusion_matrix.png   which digits the test set's digits were taken for
    test_predictions.png   test images with the predicted (and true) digit, mistakes in red
    weights.png            the first layer's weights, one 28x28 image per hidden unit (a CNN:
                           one k x k image per filter of its first convolution)

matplotlib uses a non-interactive backend unless a window is asked for (--show, --live-plot)
and a display exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from nn.plumbing.files import atomic_write

if TYPE_CHECKING:
    from nn.training import EpochRecord

FILES = ("training_curves.png", "confusion_matrix.png", "test_predictions.png", "weights.png")


def has_display() -> bool:
    """Whether a plot window could open here."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


_windows = False  # whether plots may open windows; decided before pyplot is first imported


def enable_windows() -> bool:
    """Let plots open windows (--show, --live-plot). False when there is no display."""
    global _windows
    _windows = has_display()
    return _windows


def new_figure(figsize: tuple[float, float]):
    """A figure to draw on: a plain matplotlib Figure, which needs no pyplot (importing pyplot
    and its GUI machinery costs half a second) unless windows are wanted (--show)."""
    if _windows:
        return pyplot().figure(figsize=figsize)
    from matplotlib.figure import Figure  # matplotlib: 0.1 s, only once a picture is drawn

    return Figure(figsize=figsize)


def pyplot():
    """matplotlib.pyplot: the Agg backend (files only) unless enable_windows() succeeded. A
    backend in MPLBACKEND that matplotlib does not know is ignored, with a note, not fatal."""
    if not _windows:
        os.environ["MPLBACKEND"] = "Agg"
    try:
        import matplotlib  # here, where MPLBACKEND is set first
    except ValueError as e:  # an unknown MPLBACKEND is refused as matplotlib is imported
        sys.stderr.write(f"note: ignoring MPLBACKEND={os.environ.get('MPLBACKEND')!r} ({e})\n")
        os.environ["MPLBACKEND"] = "Agg"
        import matplotlib  # again, now that MPLBACKEND is one it knows
    if not _windows:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # 0.3 s more: only for windows, or when asked for

    return plt


def training_curves(records: Sequence[EpochRecord], path: Path | str | None, full_batch: bool = False,
                    figure=None, steps: Sequence[float] = (), lrs: Sequence[float] = ()):
    """Loss, accuracy and learning rate over the run: per epoch (per iteration for full-batch
    runs) for the training set and the held-out set (validation, or the test set reported only),
    and, when given, the loss and the learning rate of every step."""
    fig = figure or new_figure((13, 4))
    fig.clear()
    loss_ax, acc_ax, lr_ax = fig.subplots(1, 3)
    unit = "iteration" if full_batch else "epoch"
    _draw_curves(records, loss_ax, acc_ax, unit, steps)
    _draw_schedule(records, lr_ax, unit, lrs)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.13, top=0.92, wspace=0.22)
    if path is not None:
        save_figure(fig, path)
    return fig


def _draw_curves(records, loss_ax, acc_ax, unit: str, steps: Sequence[float] = ()) -> None:
    x = [r.epoch for r in records]
    few = len(x) <= 2  # one or two points: no line to follow, so label them
    if len(steps) and len(x) and not unit == "iteration":
        per_epoch = len(steps) / len(x)
        at = (np.arange(len(steps)) + 1) / per_epoch
        loss_ax.plot(at, steps, color="tab:blue", alpha=0.25 if len(steps) > 200 else 0.6, linewidth=0.8,
                     label="train, each batch")
    curves = [("train", "train_loss", "train_accuracy", "o-", "tab:blue"),
              ("validation", "val_loss", "val_accuracy", "s-", "tab:orange"),
              ("test (reported only)", "test_loss", "test_accuracy", "^-", "tab:green")]
    for name, loss, accuracy, style, colour in curves:
        if not records or getattr(records[0], accuracy) is None:
            continue
        losses = [getattr(r, loss) for r in records]
        accuracies = [100 * getattr(r, accuracy) for r in records]
        loss_ax.plot(x, losses, style, color=colour, markersize=5, label=name)
        acc_ax.plot(x, accuracies, style, color=colour, markersize=5, label=name)
        if few:
            for xi, value in zip(x, accuracies):
                acc_ax.annotate(f"{value:.2f}%", (xi, value), textcoords="offset points",
                                xytext=(6, 4), fontsize=9, color=colour)
    loss_ax.set(xlabel=unit, ylabel="loss", title="Loss")
    acc_ax.set(xlabel=unit, ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if len(x) and max(x) <= 30:
            ax.set_xticks(x if len(x) <= 15 else x[::2])
        if few:
            ax.set_xlim(0 if len(steps) and unit != "iteration" else min(x) - 0.5, max(x) + 0.5)


def _draw_schedule(records, ax, unit: str, lrs: Sequence[float] = ()) -> None:
    """The learning rate: every step's when known, else each epoch's last."""
    if len(lrs) and records:
        at = (np.arange(len(lrs)) + 1) * (len(records) / len(lrs))
        ax.plot(at, lrs, color="tab:purple")
    elif records:
        ax.plot([r.epoch for r in records], [r.lr for r in records], "o-", color="tab:purple")
    ax.set(xlabel=unit, ylabel="learning rate", title="Learning rate")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


class LiveCurves:
    """A window with the training curves, redrawn after every epoch (--live-plot)."""

    def __init__(self, full_batch: bool = False):
        self.plt = pyplot()
        self.plt.ion()
        self.figure = self.plt.figure("Training", figsize=(13, 4))
        self.full_batch = full_batch
        self.records: list[EpochRecord] = []

    def update(self, record: EpochRecord) -> None:
        self.records.append(record)
        training_curves(self.records, None, self.full_batch, figure=self.figure)
        self.plt.pause(0.001)

    def close(self) -> None:
        self.plt.ioff()


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """counts (10, 10): counts[t, p] is how many digits t were predicted as p."""
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def plot_confusion(labels: np.ndarray, predicted: np.ndarray, path: Path | str):
    counts = confusion_matrix(labels, predicted)
    fig = new_figure((6.5, 5.5))
    ax = fig.subplots()
    shown = counts.astype(float)
    np.fill_diagonal(shown, np.nan)  # the mistakes get the colour scale; the diagonal is text
    image = ax.imshow(shown, cmap="Reds")
    for t in range(10):
        for p in range(10):
            if counts[t, p]:
                bold = t == p
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                        fontweight="bold" if bold else "normal",
                        color="black" if bold or shown[t, p] < 0.6 * np.nanmax(shown) else "white")
    accuracy = np.trace(counts) / max(1, counts.sum())
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
           title=f"Confusion matrix: {accuracy:.2%} of {counts.sum():,} test images right")
    fig.colorbar(image, ax=ax, label="mistakes")
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.1, top=0.93)
    save_figure(fig, path)
    return fig


def plot_predictions(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                     path: Path | str, count: int = 40, columns: int = 10):
    """A grid of test images, half the first ones and half mistakes; mistakes framed in red.
    One picture on one set of axes (40 small axes cost ten times as long to draw)."""
    from matplotlib.patches import Rectangle  # as Figure above: when a picture is drawn

    wrong = np.flatnonzero(predicted != labels)[:count // 2]
    shown_wrong = set(wrong.tolist())
    first = [i for i in range(min(len(labels), count)) if i not in shown_wrong]
    chosen = first[:count - len(wrong)] + wrong.tolist()
    rows = (len(chosen) + columns - 1) // columns
    cell_w, cell_h = 32, 42  # 28x28 image, a margin, and room for its title above
    mosaic = np.zeros((rows * cell_h, columns * cell_w))
    fig = new_figure((columns * 1.0, rows * 1.3))
    ax = fig.subplots()
    for n, i in enumerate(chosen):
        r, c = divmod(n, columns)
        top, left = r * cell_h + 12, c * cell_w + 2
        mosaic[top:top + 28, left:left + 28] = images[i].reshape(28, 28)
        ok = predicted[i] == labels[i]
        ax.text(left + 14, top - 2, f"{predicted[i]}" if ok else f"{predicted[i]} (true {labels[i]})",
                ha="center", va="bottom", fontsize=9, color="black" if ok else "red")
        if not ok:
            ax.add_patch(Rectangle((left - 1.5, top - 1.5), 30, 30, fill=False, edgecolor="red", linewidth=2))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.axis("off")
    ax.set_title("Test predictions (mistakes in red: predicted, then true digit)", fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    save_figure(fig, path)
    return fig


def plot_weights(W: np.ndarray, path: Path | str, max_units: int = 1024, outputs: bool = False):
    """The first layer's weights, red positive, blue negative, on one colour scale: for an MLP
    (W: (784, H)) each unit's 784 incoming weights as a 28x28 square, every unit up to
    `max_units`; for a CNN (W: (k, k, 1, F)) each filter as the k x k kernel it is."""
    if W.ndim == 4:
        side, units = W.shape[0], W.shape[3]
        squares = W[:, :, 0, :].transpose(2, 0, 1)         # (F, k, k)
        what = f"the first convolution's {units} filters, {side}x{side} each"
    else:
        side, units = 28, min(W.shape[1], max_units)
        squares = W[:, :units].T.reshape(units, 28, 28)
        what = (f"the {units} output units, digits 0-9 in order (no hidden layer)" if outputs
                else f"all {units} hidden units" if units == W.shape[1]
                else f"the first {units} of {W.shape[1]} units")
    columns = int(np.ceil(np.sqrt(units)))
    rows = (units + columns - 1) // columns
    cell = side + 1
    mosaic = np.full((rows * cell + 1, columns * cell + 1), np.nan)
    for k in range(units):
        r, c = divmod(k, columns)
        mosaic[1 + r * cell:1 + r * cell + side, 1 + c * cell:1 + c * cell + side] = squares[k]
    limit = float(np.nanpercentile(np.abs(mosaic), 99.5)) or 1.0
    size = min(10.0, max(5.0, columns * 0.45))
    fig = new_figure((size + 1.4, size * rows / columns + 0.7))
    ax = fig.subplots()
    image = ax.imshow(mosaic, cmap="seismic", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.axis("off")
    ax.set_title(f"First-layer weights:\n{what}" if W.ndim == 4 else
                 f"First-layer weights: {what}, one square each", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02,
                 label=f"weight (red +, blue -; beyond ±{limit:.2g} shown as ±{limit:.2g})")
    fig.subplots_adjust(left=0.01, right=0.88, bottom=0.01, top=0.92 if W.ndim == 4 else 0.95)
    save_figure(fig, path)
    return fig


def save_figure(fig, path: Path | str) -> None:
    """Write the figure as PNG, atomically (a run stopped mid-write leaves the old picture).
    zlib's fastest level: the files are a third larger, and written in a fifth of the time."""
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100, pil_kwargs={"compress_level": 1})


def save_all(records: Sequence[EpochRecord], full_batch: bool, test_images: np.ndarray | None,
             test_labels: np.ndarray | None, predicted: np.ndarray | None, W0: np.ndarray,
             folder: Path | str, keep_open: bool = False, steps: Sequence[float] = (),
             lrs: Sequence[float] = (), outputs: bool = False) -> list[Path]:
    """Draw every plot into `folder`; return the files written. keep_open leaves them for show();
    outputs: W0 is the output layer itself (a network with no hidden layer)."""
    folder = Path(folder)
    written = [folder / "training_curves.png"]
    training_curves(records, written[-1], full_batch, steps=steps, lrs=lrs)
    if test_labels is not None and predicted is not None:
        written.append(folder / "confusion_matrix.png")
        plot_confusion(test_labels, predicted, written[-1])
        written.append(folder / "test_predictions.png")
        plot_predictions(test_images, test_labels, predicted, written[-1])
    written.append(folder / "weights.png")
    plot_weights(W0, written[-1], outputs=outputs)
    if _windows and not keep_open:
        pyplot().close("all")
    return written
