"""One step of learning, shown (nn/session/learning.py): recomputed here with NumPy straight from
the model file, apart from the layers' code, and against finite differences; a unit's sum; the
dreams read as their digits."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from nn.errors import UsageError
from nn.files.digits_csv import load_csv
from nn.files.model_file import load_model
from nn.session.explain import Explainer
from nn.session.learning import dream, filter_map, learning_step, unit_sum

MLP = REPO / "data" / "pretrained.npz"


def by_hand(path, x: np.ndarray, label: int, lr: float, steps: int):
    """The same steps from the file's arrays alone: a 784-h-10 ReLU network, softmax, cross-entropy,
    plain gradient descent, float64. (losses, probabilities, A - Y, dZ of the hidden layer, dW0)"""
    with np.load(path, allow_pickle=False) as z:
        W0, b0, W1, b1 = (z[name].astype(np.float64) for name in ("W0", "b0", "W1", "b1"))
    x = x.astype(np.float64).reshape(1, -1)
    losses, probabilities, first = [], [], None
    for k in range(steps + 1):
        z1 = x @ W0 + b0
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W1 + b1
        p = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum()
        losses.append(-np.log(p[0, label]))
        probabilities.append(p[0])
        if k == steps:
            break
        dz2 = p.copy()
        dz2[0, label] -= 1  # A - Y
        dW1, db1 = a1.T @ dz2, dz2[0]
        dz1 = (dz2 @ W1.T) * (z1 > 0)
        dW0, db0 = x.T @ dz1, dz1[0]
        if first is None:
            first = (dz2[0], dz1[0], dW0)
        W0, b0, W1, b1 = W0 - lr * dW0, b0 - lr * db0, W1 - lr * dW1, b1 - lr * db1
    return losses, probabilities, first


@pytest.fixture(scope="module")
def misread(pretrained, mnist_test):
    """An MNIST test digit the shipped MLP misreads, with its label."""
    images = mnist_test.images[:1000]
    wrong = np.flatnonzero(pretrained.predict(images / 255.0) != mnist_test.labels[:1000])
    return images[wrong[0]] / 255.0, int(mnist_test.labels[wrong[0]])


def test_a_step_is_exactly_the_gradient_descent_written_out(pretrained, misread):
    x, label = misread
    step = learning_step(pretrained, x, label, lr=0.001, steps=3)
    losses, probabilities, (output_error, hidden_error, dW0) = by_hand(MLP, x, label, 0.001, 3)
    np.testing.assert_allclose(step.losses, losses, rtol=0, atol=1e-6)
    np.testing.assert_allclose(step.probabilities, probabilities, rtol=0, atol=1e-6)
    np.testing.assert_allclose(step.output_error, output_error, atol=1e-6)
    np.testing.assert_allclose(step.hidden_error[0], hidden_error, atol=1e-6)
    for unit, change in zip(step.units, step.weight_change):  # dW0's column: the drawing times dZ_j
        np.testing.assert_allclose(change.reshape(-1), -0.001 * dW0[:, unit], atol=1e-9)
        np.testing.assert_allclose(change.reshape(-1), -0.001 * x * hidden_error[unit], atol=1e-9)
    assert step.losses[-1] < step.losses[0] and step.probabilities[-1][label] > step.probabilities[0][label]
    assert abs(step.output_error.sum()) < 1e-9 and step.output_error[label] < 0


def test_the_gradient_agrees_with_finite_differences(pretrained, misread):
    """The step moves every weight by -lr dL/dw: the loss after a step of size h along a weight
    agrees with the change the gradient predicts."""
    x, label = misread
    net = pretrained.astype(np.float64)
    step = learning_step(net, x, label, lr=1e-9, steps=1)
    first = net.layers[0]
    rng = np.random.default_rng(0)
    for _ in range(6):
        i, j = int(rng.integers(784)), int(np.argmax(np.abs(step.hidden_error[0])))
        h = 1e-6
        saved = first.W[i, j]
        first.W[i, j] = saved + h
        up = net.forward(x.reshape(1, -1), np.array([label]))[1]
        first.W[i, j] = saved - h
        down = net.forward(x.reshape(1, -1), np.array([label]))[1]
        first.W[i, j] = saved
        numeric = (up - down) / (2 * h)
        assert numeric == pytest.approx(x[i] * step.hidden_error[0][j], abs=1e-6)


def test_the_model_in_use_is_not_changed(pretrained, misread):
    before = [p.copy() for p in pretrained.parameters()]
    learning_step(pretrained, misread[0], misread[1], lr=0.01, steps=5)
    assert all(np.array_equal(a, b) for a, b in zip(before, pretrained.parameters()))


def test_a_cnn_shows_its_first_filters_change(small_cnn, misread):
    _, net = small_cnn
    step = learning_step(net, misread[0], misread[1], lr=0.001, steps=2)
    assert step.filter_change.shape == (4, 5, 5) and len(step.losses) == 3
    moved = np.abs(step.filter_change).sum(axis=(1, 2))
    assert sorted(step.units) == [0, 1, 2, 3] and list(moved[step.units]) == sorted(moved, reverse=True)
    assert len(step.hidden_error) == 1 and step.hidden_error[0].shape == (32,)
    # one step: the copy's first filters are the model's plus the change shown
    one = learning_step(net, misread[0], misread[1], lr=0.001, steps=1)
    before, after = (next(layer for layer in n.layers if layer.params).W[:, :, 0, :] for n in (net, one.net))
    np.testing.assert_allclose(after - before, np.moveaxis(one.filter_change, 0, -1), atol=1e-7)
    assert np.abs(one.filter_change).max() > 0


def test_a_cnn_s_filter_and_its_map(small_cnn, misread):
    _, net = small_cnn
    shown = filter_map(net, misread[0], 2)
    first = next(layer for layer in net.layers if layer.params)
    np.testing.assert_allclose(shown.weights, first.W[:, :, 0, 2], atol=1e-7)
    inside = Explainer(net).inside(misread[0])
    np.testing.assert_allclose(shown.map, inside.maps[0][:, :, 2], atol=1e-5)
    assert shown.written()[0].startswith("Filter 2: 5x5 weights")
    with pytest.raises(UsageError, match="filters 0 to 3"):
        filter_map(net, misread[0], 4)


def test_a_unit_s_sum_is_written_out(pretrained, misread):
    x = misread[0]
    unit = unit_sum(pretrained, x, 7)
    z = float(x @ pretrained.weights[0][:, 7].astype(np.float64) + pretrained.biases[0][7])
    assert unit.z == pytest.approx(z, abs=1e-5) and unit.a == max(0.0, unit.z)
    assert unit.z == pytest.approx(sum(w * v for _, w, v in unit.terms) + unit.rest + unit.bias, abs=1e-9)
    products = [abs(w * v) for _, w, v in unit.terms]
    assert products == sorted(products, reverse=True)
    with pytest.raises(UsageError, match="units 0 to 511"):
        unit_sum(pretrained, x, 512)
    lines = unit.written(shown=2)  # two terms, the rest folded into "the other ... terms"
    assert len(lines) == 1 + 2 + 2 and f"= z {unit.z:+.3f}" in lines[-1]
    folded = unit.rest + sum(w * v for _, w, v in unit.terms[2:])
    assert f"terms {folded:+.3f}, the bias {unit.bias:+.3f}" in lines[-2]


def test_the_dreams_are_read_as_their_digits(pretrained):
    pictures = dream(pretrained)
    assert pictures.shape == (10, 784) and pictures.min() >= 0 and pictures.max() <= 1
    probabilities = pretrained.predict_proba(pictures)
    assert (probabilities[np.arange(10), np.arange(10)] >= 0.9).all()
    assert 0.02 < pictures.mean() < 0.6  # a picture, not a blank nor a blaze


def test_the_cnn_s_dreams_are_read_as_their_digits(pretrained_cnn):
    probabilities = pretrained_cnn.predict_proba(dream(pretrained_cnn))
    assert (probabilities[np.arange(10), np.arange(10)] >= 0.9).all()


# -- the session: what both views call ---------------------------------------------------------------

@pytest.fixture
def session(pretrained, tmp_path):
    from conftest import session_for

    return session_for(pretrained, "data/pretrained.npz", tmp_path / "custom.csv")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"label": 10}, "label 10: the right digit is a whole number 0-9"),
    ({"label": True}, "label True"),
    ({"label": 3, "steps": 0}, "steps 0: take 1 to 100"),
    ({"label": 3, "steps": 101}, "steps 101: take 1 to 100"),
    ({"label": 3, "lr": 0.0}, "lr 0.0: a learning rate is above 0"),
    ({"label": 3, "lr": 11.0}, "lr 11.0"),
    ({"label": 3, "lr": float("nan")}, "lr nan"),
])
def test_the_session_refuses_a_step_it_cannot_take(session, misread, kwargs, fragment):
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        session.learn(misread[0].reshape(28, 28), **kwargs)


def test_a_blank_drawing_has_nothing_to_learn(session):
    with pytest.raises(UsageError, match="blank"):
        session.learn(np.zeros((28, 28), np.float32), 3)


def test_keeping_a_step_saves_it_as_a_taught_model_and_undo_takes_it_back(session, misread, tmp_path):
    before = session.model
    earlier = MLP.read_bytes()
    session.out.write_bytes(earlier)  # a model that was there before: what undo must put back
    step = session.learn(misread[0].reshape(28, 28), misread[1], steps=2)
    assert session.model is before
    kept = session.keep(step)
    assert session.model is kept and session.can_undo
    net, info = load_model(session.out)
    assert info.training["learned"] == {"label": misread[1], "lr": 0.001, "steps": 2,
                                        "loss": [round(v, 6) for v in step.losses]}
    assert net.dtype == before.net.dtype
    for a, b in zip(net.parameters(), step.net.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # the copy, as float32
    assert session.read(misread[0].reshape(28, 28), drawn=False).probabilities[misread[1]] > \
        before.net.predict_proba(misread[0][None])[0, misread[1]]
    session.undo()
    assert session.model is before and session.out.read_bytes() == earlier


def test_step_prints_the_readme_s_worked_example(capsys):
    """python -m nn step: the numbers are the session's, and agree with the NumPy by hand."""
    from nn.tools.command import main

    assert main(["step", "--row", "340", "--model", str(MLP), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    x = load_csv(REPO / "data" / "mnist_test.csv.gz").images[340] / 255.0
    losses, probabilities, (output_error, _, _) = by_hand(MLP, x, 5, 0.001, 2)
    rows = {line[:13].strip(): line[13:].split() for line in out.splitlines() if line[:13].strip()}
    np.testing.assert_allclose([float(v) for v in rows["p before"]], probabilities[0], atol=5e-5)
    np.testing.assert_allclose([float(v) for v in rows["A - Y"]], output_error, atol=5e-5)
    np.testing.assert_allclose([float(v) for v in rows["p after 2"]], probabilities[2], atol=5e-5)
    assert f"loss -log p(5): {losses[0]:.4f} before, {losses[1]:.4f}, {losses[2]:.4f} after each of 2 steps" in out


def test_dream_writes_the_picture(tmp_path, capsys):
    from nn.tools.command import main

    out = tmp_path / "dreams.png"
    assert main(["dream", "--model", str(MLP), "--out", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as picture:
        assert picture.size == (900, 420)
    printed = capsys.readouterr().out
    assert all(f"{k} " in printed for k in range(10)) and f"Wrote {out}" in printed
