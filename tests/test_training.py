"""The training loop on slices of the bundled data: it learns, it is reproducible, it stops well."""

from __future__ import annotations

import math
import os
import signal

import numpy as np
import pytest

from nn.plumbing.callbacks import StopOnSignals
from nn.errors import TrainingDiverged, UsageError
from nn.network import Network
from nn.training import TrainConfig, evaluate, fit, split_validation


@pytest.fixture(scope="module")
def slices(mnist_test):
    """3,000 training rows and 1,000 other rows to test on."""
    return mnist_test.subset(slice(0, 3000)), mnist_test.subset(slice(9000, 10000))


def train(data, val=None, seed=0, **settings):
    config = TrainConfig(**{"hidden": [32], "epochs": 2, "seed": seed, **settings})
    net = Network([784, *config.hidden, 10], config.activation, config.loss, seed=seed)
    history = fit(net, data, val, config)
    return net, history


def test_learns_well_above_chance(slices):
    data, held_out = slices
    net, history = train(data, epochs=3)
    loss, accuracy = evaluate(net, held_out.images, held_out.labels)
    assert accuracy > 0.85, accuracy  # chance is 0.10
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    assert len(history.epochs) == 3 and not history.interrupted


@pytest.mark.parametrize("settings", [
    {"optimizer": "adam", "lr": 0.002},
    {"optimizer": "sgd", "lr": 0.3, "schedule": "constant"},
    {"activation": "sigmoid", "loss": "mse", "lr": 3.0, "optimizer": "sgd", "batch_size": 10,
     "hidden": [16, 16]},  # the 3Blue1Brown network with Nielsen's settings
    {"weight_decay": 1e-4, "warmup": 20},
    {"label_smoothing": 0.1},
    pytest.param({"augment": "affine,elastic,stroke"}, marks=pytest.mark.slow),  # distortions: 0.5 s
])
def test_other_recipes_learn(slices, settings):
    data, held_out = slices
    net, _ = train(data, epochs=3, **settings)
    assert evaluate(net, held_out.images, held_out.labels)[1] > 0.6


def test_label_smoothing_is_for_training_only(slices):
    """The smoothed targets are training's: the trained network's loss (and every copy a CNN's
    halves train with) is back to plain cross-entropy, as reading and testing expect."""
    data, held_out = slices
    net, history = train(data, label_smoothing=0.2)
    _, plain = train(data)
    assert net.loss.smoothing == 0  # the smoothed loss never reaches 0: it stays above the plain one
    assert history.epochs[-1].train_loss > plain.epochs[-1].train_loss
    assert evaluate(net, held_out.images, held_out.labels)[1] > 0.8
    cnn = Network([784, 16, 10], conv=[2], seed=0)
    fit(cnn, data.subset(slice(0, 256)), None, TrainConfig(hidden=[16], conv=[2], epochs=1, label_smoothing=0.1))
    assert cnn.loss.smoothing == 0


@pytest.mark.parametrize("augmented", ["", pytest.param("affine,elastic,stroke", marks=pytest.mark.slow)])
def test_same_seed_same_weights(slices, augmented):
    data, _ = slices
    a, _ = train(data, seed=4, augment=augmented)
    b, _ = train(data, seed=4, augment=augmented)
    c, _ = train(data, seed=5, augment=augmented)
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p, q)
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_full_batch_gradient_descent(slices):
    data, held_out = slices
    net, history = train(data, batch_size=0, epochs=30, lr=0.5, schedule="constant")
    assert len(history.epochs) == 30
    assert history.epochs[-1].train_loss < 0.5 * history.epochs[0].train_loss
    assert evaluate(net, held_out.images, held_out.labels)[1] > 0.6


def test_validation_split_and_best_epoch(slices):
    data, _ = slices
    train_part, val = split_validation(data, 0.2, seed=0)
    assert (len(train_part), len(val)) == (2400, 600)
    assert len(split_validation(data, 500, seed=0)[1]) == 500
    net, history = train(train_part, val, epochs=3)
    best = max(history.epochs, key=lambda r: r.val_accuracy)
    assert history.best_epoch == best.epoch
    # The network holds the best epoch's weights.
    assert evaluate(net, val.images, val.labels)[1] == pytest.approx(best.val_accuracy)
    with pytest.raises(UsageError, match="asks for 3,000 validation rows, but the training data has only 3,000"):
        split_validation(data, 3000, seed=0)


@pytest.mark.parametrize("lr", [1e6, 1e30])
def test_divergence_is_reported_not_trained_through(slices, lr):
    """A loss that explodes (1e6: huge but finite) or overflows (1e30: inf/NaN) stops training."""
    data, _ = slices
    with pytest.raises(TrainingDiverged, match=r"diverged: the loss went from .* try --lr"):
        train(data, lr=lr, schedule="constant")


def test_ctrl_c_between_epochs_stops_there(slices):
    data, _ = slices
    net = Network([784, 32, 10], seed=0)
    seen = []
    handler = signal.getsignal(signal.SIGINT)

    def on_epoch(record):
        seen.append(record.epoch)
        if record.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C

    with StopOnSignals() as stop:  # train.py's Ctrl-C: stops at the next batch or epoch boundary
        history = fit(net, data, None, TrainConfig(hidden=[32], epochs=50),
                      on_epoch=lambda r: on_epoch(r) or stop.requested, on_batch=stop)
    assert history.interrupted and seen == [1, 2] and len(history.epochs) == 2
    assert signal.getsignal(signal.SIGINT) is handler  # put back as it was


def test_ctrl_c_mid_epoch_stops_after_the_current_batch(slices):
    """Ctrl-C pressed during step 10 of epoch 2: that step finishes, the epoch ends there and is
    kept, and nothing else runs."""
    data, _ = slices
    steps_per_epoch = math.ceil(len(data) / 32)
    press_at = steps_per_epoch + 10

    class PressesCtrlC(Network):
        calls = 0

        def backward(self, A, y):
            PressesCtrlC.calls += 1
            if PressesCtrlC.calls == press_at:
                os.kill(os.getpid(), signal.SIGINT)  # as the user would, mid-step
            return super().backward(A, y)

    net = PressesCtrlC([784, 32, 10], seed=0)
    with StopOnSignals() as stop:
        history = fit(net, data, None, TrainConfig(hidden=[32], epochs=5, batch_size=32), on_batch=stop)
    assert history.interrupted and len(history.epochs) == 2 and history.best_epoch == 2
    assert len(history.step_losses) == press_at == PressesCtrlC.calls
    assert all(np.isfinite(p).all() for p in net.parameters())


def test_a_ctrl_c_swallowed_before_training_still_stops_it(slices):
    """A press whose KeyboardInterrupt a library swallowed (a compiled module being imported can)
    must still stop the run: the command's handler remembers it, and training stops after its
    first batch instead of running to its last epoch."""
    from nn.plumbing.cli import _note_ctrl_c

    data, _ = slices
    pressed = _note_ctrl_c()
    try:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the press, while something else runs...
            for _ in range(1000):
                pass
        except KeyboardInterrupt:
            pass  # ...that swallows what it raised
        assert pressed
        with StopOnSignals() as stop:
            history = fit(Network([784, 32, 10], seed=0), data, None,
                          TrainConfig(hidden=[32], epochs=5, batch_size=32), on_batch=stop)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert history.interrupted and len(history.epochs) == 1 and len(history.step_losses) == 1


def test_unlabeled_data_cannot_be_trained(slices, tmp_path):
    from nn.dataset import Dataset

    data, _ = slices
    unlabeled = Dataset(data.images, None, "u.csv", "x")
    with pytest.raises(UsageError, match="has no labels"):
        train(unlabeled)
