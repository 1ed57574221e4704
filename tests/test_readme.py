"""The README's quick start is what CI runs, and what it promises exists."""

from __future__ import annotations

import re

from conftest import REPO

README = (REPO / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((REPO / "docs").glob("*.md"))}
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


def test_files_the_readme_and_the_docs_name_exist():
    for text in [README, *DOCS.values()]:
        for name in re.findall(r"`((?:nn|data|tests|temp)/[\w./]+\.(?:py|md|csv\.gz|npz))`", text):
            if name not in ("data/model.npz", "temp/submission.csv", "temp/bench.md"):  # generated
                assert (REPO / name).exists(), name


def test_links_between_the_readme_and_the_docs_lead_somewhere():
    for where, text in [("README.md", README), *DOCS.items()]:
        folder = REPO if where == "README.md" else REPO / "docs"
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|png))(?:#[^)]*)?\)", text):
            assert (folder / target).exists(), (where, target)


def test_the_readme_s_key_table_is_the_window_s():
    from nn.window import KEYS

    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", README[README.index("| key | does |"):], flags=re.M)
    assert rows[1:1 + len(KEYS)] == [(key, does) for key, _, does in KEYS]


def test_the_map_of_the_code_names_every_module():
    start = README.index("## The code, and the reading path")
    the_map = README[start:README.index("\n## ", start + 1)]
    for path in sorted((REPO / "nn").rglob("*.py")):
        if path.name != "__init__.py":
            assert path.name in the_map, path


def test_requirements_are_only_what_the_product_needs():
    wanted = (REPO / "requirements.txt").read_text().lower()
    for banned in ("torch", "tensorflow", "scikit-learn", "sklearn", "jax"):
        assert banned not in wanted


def test_the_predict_example_is_what_the_command_prints():
    """docs/data.md's 'Predicting CSV files' output, as a fresh clone (no data/model.npz) prints it."""
    from conftest import run_command

    page = DOCS["data.md"]
    start = page.index("    Model: data/pretrained_cnn.npz")
    shown = page[start:page.index("\n\n", start)]
    result = run_command("-m", "nn", "predict", "data/mnist_test.csv.gz", "--model", "data/pretrained_cnn.npz",
                         env={"NN_CACHE_DIR": "off"})
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert [line.strip() for line in shown.splitlines()] == [line.strip() for line in printed]
