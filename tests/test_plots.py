"""The pictures of a run (nn/tools/plots.py): what each one shows, checked on the figures themselves."""

from __future__ import annotations

import numpy as np
import pytest

from nn.tools import plots
from nn.training import EpochRecord


def records(n: int, test: bool = True, val: bool = False) -> list[EpochRecord]:
    return [EpochRecord(e, 1 / e, 0.9 + e / 100, 1 / e if val else None, 0.91 if val else None, 0.5,
                        0.1 / e, 1.1 / e if test else None, 0.92 + e / 200 if test else None)
            for e in range(1, n + 1)]


def test_the_curves_show_loss_accuracy_and_the_learning_rate(tmp_path):
    steps, lrs = list(np.linspace(2, 0.1, 50)), list(np.linspace(0.2, 0, 50))
    fig = plots.training_curves(records(5), tmp_path / "c.png", steps=steps, lrs=lrs)
    loss, accuracy, lr = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "Learning rate"]
    assert len(loss.lines[0].get_xdata()) == 50  # every batch's loss
    labels = [line.get_label() for line in accuracy.lines]
    assert labels == ["train", "test (reported only)"]
    assert np.allclose(lr.lines[0].get_ydata(), lrs)
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_validation_takes_the_place_of_the_test_curve():
    fig = plots.training_curves(records(3, test=False, val=True), None)
    assert [line.get_label() for line in fig.axes[1].lines] == ["train", "validation"]


def test_a_one_epoch_run_is_readable():
    """One point per curve: labelled with its value, on axes that start at 0, with each batch's loss."""
    fig = plots.training_curves(records(1), None, steps=[2.0, 1.5, 1.0, 0.8], lrs=[0.2, 0.15, 0.1, 0.05])
    loss, accuracy, _ = fig.axes
    texts = [t.get_text() for t in accuracy.texts]
    assert texts == ["91.00%", "92.50%"]
    assert loss.get_xlim()[0] == 0 and len(loss.lines[0].get_xdata()) == 4


@pytest.mark.parametrize("units, title", [(32, "all 32 hidden units"), (1500, "the first 1024 of 1500 units")])
def test_the_weights_picture_has_a_colour_scale_and_says_which_units(tmp_path, units, title):
    W = np.random.default_rng(0).normal(0, 0.1, (784, units)).astype(np.float32)
    fig = plots.plot_weights(W, tmp_path / "w.png")
    assert title in fig.axes[0].get_title()
    assert len(fig.axes) == 2 and "weight" in fig.axes[1].get_ylabel()  # the colour bar
    assert len(fig.axes[0].images) == 1  # one picture, not one axes per unit


def test_the_predictions_are_one_picture_with_mistakes_framed(tmp_path, mnist_test):
    labels = mnist_test.labels[:100]
    predicted = labels.copy()
    predicted[[3, 50, 77]] = (labels[[3, 50, 77]] + 1) % 10
    fig = plots.plot_predictions(mnist_test.images[:100], labels, predicted, tmp_path / "p.png")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.patches) == 3  # a red frame for each mistake
    assert sum("(true" in t.get_text() for t in ax.texts) == 3
