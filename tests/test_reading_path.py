"""The README's reading path: the files it names exist, hold no plumbing, and stay short."""

from __future__ import annotations

import re

from conftest import REPO

README = (REPO / "README.md").read_text()
PATH = re.findall(r"^    \d\. (\S+)", README, flags=re.M)


def test_the_path_is_the_network_from_the_data_to_the_training_loop():
    assert PATH == ["train.py", "nn/dataset.py", "nn/layers.py", "nn/activations.py", "nn/losses.py",
                    "nn/network.py", "nn/optim.py", "nn/training.py"]


def test_the_path_s_modules_are_as_long_as_the_readme_says():
    lines = sum(len((REPO / name).read_text().splitlines()) for name in PATH[1:])
    said = int(re.search(r"\(([\d,]+) lines in `nn/`", README).group(1).replace(",", ""))
    assert lines == said, f"the README says {said} lines, the files hold {lines}: update one"
    assert lines <= 1100


def test_the_path_holds_no_plumbing():
    """No signal handlers, terminals, threads or OS calls in the files a learner reads."""
    for name in PATH[1:]:
        text = (REPO / name).read_text()
        for word in ("import signal", "import threading", "import os", "ctypes", "tqdm", "sys.stderr"):
            assert word not in text, (name, word)
