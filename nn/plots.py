"""Pictures of a training run, saved as PNG files (by default in temp/).

    training_curves.png    loss and accuracy per epoch, training vs validation
    confusion_matrix.png   which digits the test set's digits were taken for
    test_predictions.png   test images with the predicted (and true) digit, mistakes in red
    weights.png            the first layer's weights, one 28x28 image per hidden unit

matplotlib uses a non-interactive backend unless a window is asked for (--show, --live-plot)
and a display exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from .files import atomic_write
from .training import EpochRecord

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


def pyplot():
    """matplotlib.pyplot: the Agg backend (files only) unless enable_windows() succeeded."""
    import matplotlib

    if not _windows:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(records: Sequence[EpochRecord], path: Path | str, full_batch: bool = False,
                    figure=None):
    """Loss and accuracy per epoch (per iteration for full-batch runs), train vs validation."""
    plt = pyplot()
    fig = figure or plt.figure(figsize=(10, 4))
    fig.clear()
    loss_ax, acc_ax = fig.subplots(1, 2)
    _draw_curves(records, loss_ax, acc_ax, "iteration" if full_batch else "epoch")
    fig.tight_layout()
    if path is not None:
        _save(fig, path)
    return fig


def _draw_curves(records, loss_ax, acc_ax, unit: str) -> None:
    x = [r.epoch for r in records]
    loss_ax.plot(x, [r.train_loss for r in records], "o-", label="train", markersize=3)
    acc_ax.plot(x, [100 * r.train_accuracy for r in records], "o-", label="train", markersize=3)
    if any(r.val_accuracy is not None for r in records):
        loss_ax.plot(x, [r.val_loss for r in records], "s-", label="validation", markersize=3)
        acc_ax.plot(x, [100 * r.val_accuracy for r in records], "s-", label="validation",
                    markersize=3)
    loss_ax.set(xlabel=unit, ylabel="loss", title="Loss")
    acc_ax.set(xlabel=unit, ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
        if len(x) and max(x) <= 30:
            ax.set_xticks(x if len(x) <= 15 else x[::2])


class LiveCurves:
    """A window with the training curves, redrawn after every epoch (--live-plot)."""

    def __init__(self, full_batch: bool = False):
        self.plt = pyplot()
        self.plt.ion()
        self.figure = self.plt.figure("Training", figsize=(10, 4))
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
    plt = pyplot()
    counts = confusion_matrix(labels, predicted)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
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
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_predictions(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                     path: Path | str, count: int = 40, columns: int = 10):
    """A grid of test images, half the first ones and half mistakes; mistakes framed in red."""
    plt = pyplot()
    wrong = np.flatnonzero(predicted != labels)[:count // 2]
    shown_wrong = set(wrong.tolist())
    first = [i for i in range(min(len(labels), count)) if i not in shown_wrong]
    chosen = first[:count - len(wrong)] + wrong.tolist()
    rows = (len(chosen) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, chosen):
        ok = predicted[i] == labels[i]
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{predicted[i]}" if ok else f"{predicted[i]} (true {labels[i]})",
                     fontsize=9, color="black" if ok else "red")
        if not ok:
            ax.axis("on")
            ax.set(xticks=[], yticks=[])
            for spine in ax.spines.values():
                spine.set(color="red", linewidth=2)
    fig.suptitle("Test predictions (mistakes in red: predicted, then true digit)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_weights(W: np.ndarray, path: Path | str, max_units: int = 128):
    """The first layer's weights (784, H): each column drawn as a 28x28 image, red +, blue -."""
    plt = pyplot()
    units = min(W.shape[1], max_units)
    columns = 16 if units > 64 else 8
    rows = (units + columns - 1) // columns
    mosaic = np.full((rows * 29 + 1, columns * 29 + 1), np.nan)
    for k in range(units):
        r, c = divmod(k, columns)
        mosaic[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = W[:, k].reshape(28, 28)
    limit = np.nanpercentile(np.abs(mosaic), 99.5)
    fig, ax = plt.subplots(figsize=(columns * 0.75, rows * 0.75 + 0.6))
    ax.imshow(mosaic, cmap="seismic", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.axis("off")
    more = f" (first {units} of {W.shape[1]})" if units < W.shape[1] else ""
    ax.set_title(f"First-layer weights, one hidden unit per square{more}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return fig


def _save(fig, path: Path | str) -> None:
    """Write the figure as PNG, atomically (a run stopped mid-write leaves the old picture)."""
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100)


def save_all(records: Sequence[EpochRecord], full_batch: bool, test_images: np.ndarray | None,
             test_labels: np.ndarray | None, predicted: np.ndarray | None, W0: np.ndarray,
             folder: Path | str, keep_open: bool = False) -> list[Path]:
    """Draw every plot into `folder`; return the files written. keep_open leaves them for show()."""
    plt = pyplot()
    folder = Path(folder)
    written = [folder / "training_curves.png"]
    training_curves(records, written[-1], full_batch)
    if test_labels is not None and predicted is not None:
        written.append(folder / "confusion_matrix.png")
        plot_confusion(test_labels, predicted, written[-1])
        written.append(folder / "test_predictions.png")
        plot_predictions(test_images, test_labels, predicted, written[-1])
    written.append(folder / "weights.png")
    plot_weights(W0, written[-1])
    if not keep_open:
        plt.close("all")
    return written
