"""The benchmark's arithmetic and material, and a short run of it (no timing is asserted)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO
from nn.bench.bench import main, render_markdown
from nn.bench.common import PARTS, Part, Row
from nn.bench.handwriting import other_hands, outlined_hand, pen_digits
from nn.bench.parts.floor import flops_per_epoch
from nn.bench.parts.recipe import recipe_of
from nn.files.model_file import load_model


def test_flops_per_epoch_counts_forward_weights_and_hidden_gradients():
    # 784-128-10: forward 2(784*128 + 128*10), dW the same, dA only for the hidden layer.
    per_row = 2 * (784 * 128 + 128 * 10) * 2 + 2 * 128 * 10
    assert flops_per_epoch([784, 128, 10], 60_000) == 60_000 * per_row
    assert abs(flops_per_epoch([784, 128, 10], 60_000) / 1e9 - 24.5) < 0.1


def test_pen_digits_are_normalised_and_the_pretrained_model_reads_them(pretrained):
    digits = pen_digits(per_digit=12, seed=7)
    assert digits.inputs.shape == (120, 784) and sorted(set(digits.labels)) == list(range(10))
    assert digits.inputs.max() <= 1 and digits.inputs.min() >= 0
    assert np.array_equal(pen_digits(per_digit=12, seed=7).inputs, digits.inputs)  # seeded
    assert np.mean(pretrained.predict(digits.inputs) == digits.labels) >= 0.9


def test_the_other_hands_are_pictures_of_every_digit_that_the_cnn_mostly_reads(pretrained_cnn):
    """Each set of other hands: every digit, normalised inputs in [0, 1], different sets from one
    another; the shipped CNN reads most of them (the bench holds it to a mean of 98% on 40 of
    each digit)."""
    sets = other_hands(per_digit=2)
    assert [s.name for s in sets] == ["thick pen", "thin pen", "low resolution", "slanted", "off-centre",
                                      "European 1, 4, 7"]
    for s in sets:
        assert s.inputs.shape == (20, 784) and sorted(set(s.labels)) == list(range(10)), s.name
        assert 0 <= s.inputs.min() and s.inputs.max() <= 1 and s.inputs.dtype == np.float32, s.name
    assert not np.array_equal(sets[0].inputs, sets[1].inputs)
    read = np.concatenate([pretrained_cnn.predict(s.inputs) == s.labels for s in sets])
    assert read.mean() >= 0.9


def test_an_outlined_hand_is_hollow_and_far_from_mnist(pretrained):
    """The taught hand of the bench's teach part: each stroke drawn as its two edges, so a digit
    has two rings of ink where MNIST has one stroke; the shipped MLP reads few of them."""
    outlined = outlined_hand(3, seed=5)
    assert outlined.inputs.shape == (30, 784) and sorted(set(outlined.labels)) == list(range(10))
    one = outlined.inputs[outlined.labels == 1][0].reshape(28, 28)
    middle = one[14]  # across the 1's upright: ink, a gap inside the outline, ink
    inked = np.flatnonzero(middle > 0.5)
    assert len(inked) >= 2 and (middle[inked[0]:inked[-1]] < 0.5).any()
    assert np.mean(pretrained.predict(outlined.inputs) == outlined.labels) <= 0.7


def test_markdown_table():
    rows = [Row("epoch", "ours", 0.27, "s"), Row("floor", "ours / floor", 1.75, "x", target="<= 2x", passed=True)]
    meta = {"date": "2026-11-22", "command": "python -m nn.bench",
            "machine": {"cpu": "CPU", "cores": 2, "python": "3.11", "numpy": "2", "blas": "openblas"}}
    text = render_markdown(rows, meta)
    assert "| epoch | ours | 0.27 s |" in text and "| floor | ours / floor | 1.75x | <= 2x (met) |" in text
    # an error's text in a note stays in its cell: no new line, no column of its own
    broken = render_markdown([Row("web", "the part failed", None, "", "OSError: a | b\n  c", "runs", False)], meta)
    assert broken.splitlines()[-1] == "| web | the part failed | - | runs (MISSED) | OSError: a \\| b c |"


def test_the_shipped_cnn_s_recipe_is_the_readme_s():
    """The bench prints the recipe the shipped CNN records; the README shows the same command."""
    recipe = recipe_of(load_model(REPO / "data" / "pretrained_cnn.npz")[1].training)
    assert recipe == "--conv 16 32 --hidden 128 --augment --epochs 20 --weight-decay 0.0005 --seed 1"
    assert f"python train.py {recipe}" in (REPO / "README.md").read_text()


def test_a_quick_run_writes_json_and_markdown(tmp_path, capsys):
    code = main(["--only", "latency", "--quick", "--out", str(tmp_path), "--model",
                 str(REPO / "data" / "pretrained_cnn.npz"), str(REPO / "data" / "pretrained.npz")])
    assert code in (0, 1)  # 1 when a target is missed: timing is not tested, a busy machine is slow
    report = json.loads((tmp_path / "bench.json").read_text())
    assert [r["part"] for r in report["rows"]] == ["latency"] * 4
    # live mode's limits: 5 ms for a CNN, 2 ms for an MLP
    assert [r["target"] for r in report["rows"][1::2]] == ["< 5 ms", "< 2 ms"]
    assert report["machine"]["cores"] >= 1
    assert "one drawing" in (tmp_path / "bench.md").read_text()
    assert "p99" in capsys.readouterr().out


def test_every_part_is_in_the_table_and_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in PARTS:
        assert name in text
    assert "MISSED" in text and "minutes" in text


def test_a_failing_part_is_a_missed_row_and_the_others_still_run(monkeypatch, tmp_path):
    """A run of many minutes is not lost to one broken measurement."""
    def broken(ctx):
        raise RuntimeError("no server answered")

    monkeypatch.setitem(PARTS, "web", Part("web", "broken on purpose", broken))
    code = main(["--only", "web", "latency", "--quick", "--out", str(tmp_path), "--model",
                 str(REPO / "data" / "pretrained.npz")])
    assert code == 1
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert rows[0]["part"] == "web" and "no server answered" in rows[0]["note"] and rows[0]["passed"] is False
    assert [r["part"] for r in rows[1:]] == ["latency", "latency"]


def test_the_registry_is_the_part_modules_the_help_and_a_whole_run(monkeypatch, tmp_path, capsys):
    """Each module of nn/bench/parts/ registers the part it is named for; --help lists every part
    with its line, in the order they run; a run without --only runs exactly the registered parts."""
    modules = {p.stem for p in (REPO / "nn" / "bench" / "parts").glob("*.py") if p.stem != "__init__"}
    assert set(PARTS) == modules
    for name, p in PARTS.items():
        assert p.name == name and p.line and p.measure.__module__ == f"nn.bench.parts.{name}"

    with pytest.raises(SystemExit):
        main(["--help"])
    help_lines = capsys.readouterr().out.split("parts, in the order they run:\n")[1].splitlines()
    assert [line.split()[0] for line in help_lines] == list(PARTS)
    for line, p in zip(help_lines, PARTS.values()):
        assert line.endswith(f" {p.line}"), line

    ran = []
    for name, p in PARTS.items():
        def measure(ctx, name=name):
            ran.append(name)
            return [Row(name, "measured", 1.0, "s")]
        monkeypatch.setitem(PARTS, name, Part(name, p.line, measure))
    assert main(["--out", str(tmp_path)]) == 0
    assert ran == list(PARTS)
    assert [r["part"] for r in json.loads((tmp_path / "bench.json").read_text())["rows"]] == list(PARTS)
