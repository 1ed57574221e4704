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


def test_the_pythons_and_packages_the_readme_promises_are_the_ones_ci_tests():
    """The README's versions are .ci/run's matrix: the oldest and newest Python, and every package
    at its lowest allowed version (.ci/lowest.txt pins each lower bound of the requirement files)."""
    ci = (REPO / ".ci" / "run").read_text()
    oldest, newest = re.search(r"^OLDEST=(\S+)$", ci, re.M)[1], re.search(r"^NEWEST=(\S+)$", ci, re.M)[1]
    promise = re.search(r"Python (\d\.\d+) to (\d\.\d+)", QUICK_START)
    assert promise and promise.groups() == (oldest, newest)
    lowest = dict(re.findall(r"^([\w-]+)==(\S+)$", (REPO / ".ci" / "lowest.txt").read_text(), re.M))
    bounds = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            if m := re.match(r"^([\w-]+)>=([\w.]+)", line):
                bounds[m[1]] = m[2]
    def normal(version: str) -> tuple[int, ...]:  # 1.26 and 1.26.0 are one version
        parts = [int(p) for p in version.split(".")]
        return tuple(parts + [0] * (3 - len(parts)))

    assert {k.lower(): normal(v) for k, v in lowest.items()} == {k.lower(): normal(v) for k, v in bounds.items()}
    assert "-c .ci/lowest.txt" in ci or "lowest.txt" in ci
    numpy = re.search(r"NumPy (\d\.\d+) to (\d)\.x", QUICK_START)
    assert numpy and normal(numpy[1]) == normal(bounds["numpy"])
    assert re.search(r"numpy>=[\d.]+,<" + str(int(numpy[2]) + 1) + r"\b", (REPO / "requirements.txt").read_text())


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


def test_the_readme_s_key_table_is_the_session_s():
    from nn.session.commands import COMMANDS

    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", README[README.index("| key | does |"):], flags=re.M)
    assert rows[1:1 + len(COMMANDS)] == [(c.shown, c.does) for c in COMMANDS]


def test_the_map_of_the_code_names_every_module():
    """Every module is named in the README's map; one in a folder of a package's own (nn/web/routes/,
    one module per area) may be named by its folder instead."""
    start = README.index("## The code, and the reading path")
    the_map = README[start:README.index("\n## ", start + 1)]
    for path in sorted((REPO / "nn").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        nested = path.parent.parent not in (REPO, REPO / "nn")
        assert path.name in the_map or (nested and f"{path.parent.name}/" in the_map), path


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


def test_the_worked_example_is_what_the_command_prints(capsys):
    """The math section's one step with numbers: python -m nn step, as shown beside it."""
    from nn.tools.command import main

    start = README.index("    python -m nn step --row 340 --model data/pretrained.npz")
    shown = README[start:README.index("\n\nA - Y is", start)].splitlines()[2:]
    assert main(["step", "--row", "340", "--model", str(REPO / "data" / "pretrained.npz")]) == 0
    printed = capsys.readouterr().out.rstrip("\n").splitlines()
    assert [line.strip() for line in shown] == [line.strip() for line in printed]


def test_every_file_the_docs_and_the_code_name_exists():
    """A path named in the README, the docs or a comment (nn/session/teach.py, docs/web.md) is a
    file or folder of the repository: a move leaves no name behind. What the tools write (temp/,
    data/model.npz, data/custom_digits.csv) and patterns (data/pretrained*.npz) are left out."""
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "data" / "README.md",
             *sorted((REPO / "nn").rglob("*.py")), REPO / "train.py", REPO / "draw.py",
             *sorted((REPO / "tests").glob("*.py")), *sorted((REPO / "nn" / "web" / "page").iterdir())]
    named = re.compile(r"(?<![\w/.-])((?:nn|tests|docs|data|\.ci)/[\w./-]*[\w/])(?![\w*])")
    missing = []
    for path in texts:
        for found in named.finditer(path.read_text(errors="replace")):
            name = found.group(1).rstrip(".")
            if not name.startswith(("data/model.npz", "data/custom_digits.csv")) and not (REPO / name).exists():
                missing.append((path.relative_to(REPO).as_posix(), name))
    assert not missing, missing


def test_the_readme_stays_short():
    """A learner reads it in one sitting: the details live in docs/."""
    assert len(README.splitlines()) <= 300
