"""The README's quick start is what CI runs, and what it promises exists."""

from __future__ import annotations

import re

from conftest import REPO

README = (REPO / "README.md").read_text()
_start = README.index("## Quick start")
QUICK_START = README[_start:README.index("\n## ", _start + 1)]  # up to the next section


def commands() -> list[str]:
    return [line.strip() for line in QUICK_START.splitlines() if line.startswith("    python")]


def test_quick_start_has_exactly_the_two_commands():
    assert commands() == [
        "python -m pip install -r requirements.txt && python train.py",
        "python -m pip install -r requirements-dev.txt && python -m pytest -q",
    ]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert commands()[1] in ci.splitlines()
    assert "venv" in ci


def test_files_the_readme_names_exist():
    for name in re.findall(r"`((?:nn|data|tests|temp)/[\w./]+\.(?:py|md|csv\.gz|npz))`", README):
        if name not in ("data/model.npz", "temp/submission.csv", "temp/bench.md"):  # generated
            assert (REPO / name).exists(), name


def test_requirements_are_only_what_the_product_needs():
    wanted = (REPO / "requirements.txt").read_text().lower()
    for banned in ("torch", "tensorflow", "scikit-learn", "sklearn", "jax"):
        assert banned not in wanted


def test_the_predict_example_is_what_the_command_prints():
    """The README's 'Predicting CSV files' output, as a fresh clone (no data/model.npz) prints it."""
    from conftest import run_command

    start = README.index("    Model: data/pretrained_cnn.npz")
    shown = README[start:README.index("\n\n", start)]
    result = run_command("-m", "nn", "predict", "data/mnist_test.csv.gz", "--model", "data/pretrained_cnn.npz",
                         env={"NN_CACHE_DIR": "off"})
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert [line.strip() for line in shown.splitlines()] == [line.strip() for line in printed]
