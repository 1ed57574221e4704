"""The layers of nn/, as the README's map draws them: imports point one way, views -> session ->
files -> the math, with plumbing beside. Read from the code's import statements (every one, those
inside functions too), not from words."""

from __future__ import annotations

import ast

import pytest

from conftest import REPO

NN = REPO / "nn"

# What each layer may import from nn (besides itself). The math is nn/*.py: a learner's files,
# which import nothing of the application, of threads or of plumbing.
MAY_IMPORT = {
    "math": {"math"},
    "plumbing": {"math:nn.errors"},
    "files": {"math", "plumbing"},
    "session": {"math", "plumbing", "files"},
    "window": {"math", "plumbing", "files", "session"},
    "web": {"math", "plumbing", "files", "session"},
    "tools": {"math", "plumbing", "files", "session", "bench"},  # python -m nn bench
    "bench": {"math", "plumbing", "files", "session", "web", "window"},  # it measures the page and the window too
}
MAX_TOP_LEVEL_MODULES = 14


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and (NN / parts[1]).is_dir():
        return parts[1]
    return "math"


def module_name(path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path) -> list[tuple[int, str]]:
    """(line, module) for every import of the nn package in the file, relative ones resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from nn.session import canvas` imports the module nn.session.canvas
            found += [(node.lineno, f"{name}.{alias.name}" if (NN.parent / f"{name}.{alias.name}".replace(".", "/")).with_suffix(".py").exists()
                       else name) for alias in node.names]
    return [(line, name) for line, name in found if name == "nn" or name.startswith("nn.")]


MODULES = sorted(p for p in NN.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(REPO)) for p in MODULES])
def test_imports_point_one_way(path):
    here = layer_of(module_name(path))
    if module_name(path) in ("nn", "nn.__main__"):
        return  # the package's start (NumPy's threads before it loads) and python -m nn's entry
    allowed = MAY_IMPORT[here]
    for line, name in imports_of(path):
        there = layer_of(name)
        if name == "nn" or there == here or there in allowed or f"{there}:{name}" in allowed:
            continue
        pytest.fail(f"{path.relative_to(REPO)}:{line} ({here}) imports {name} ({there})")


def test_views_do_not_import_each_other_and_the_session_imports_no_view():
    assert "web" not in MAY_IMPORT["window"] and "window" not in MAY_IMPORT["web"]
    assert not {"window", "web"} & MAY_IMPORT["session"]


def test_a_newcomer_sees_the_layers_with_ls():
    top = sorted(p.name for p in NN.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    assert {p.name for p in NN.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(MAY_IMPORT) - {"math"}


def test_defences_where_they_belong():
    """At most one `except` per 100 lines across nn/, train.py and draw.py: errors are caught at the
    boundaries (the command line, the web request, the job thread), not everywhere."""
    paths = [*NN.rglob("*.py"), REPO / "train.py", REPO / "draw.py"]
    lines = sum(len(p.read_text().splitlines()) for p in paths)
    handlers = sum(isinstance(node, ast.ExceptHandler) for p in paths for node in ast.walk(ast.parse(p.read_text())))
    assert handlers <= lines / 100, f"{handlers} except clauses in {lines:,} lines"
