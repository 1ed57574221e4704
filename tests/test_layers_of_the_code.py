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


PRODUCT = [*sorted(NN.rglob("*.py")), REPO / "train.py", REPO / "draw.py"]


def test_defences_where_they_belong():
    """At most 0.8 `except` per 100 lines across nn/, train.py and draw.py: errors are caught at the
    boundaries (the command line, the web request, the job thread), not everywhere."""
    lines = sum(len(p.read_text().splitlines()) for p in PRODUCT)
    handlers = sum(isinstance(node, ast.ExceptHandler) for p in PRODUCT for node in ast.walk(ast.parse(p.read_text())))
    assert handlers <= 0.8 * lines / 100, f"{handlers} except clauses in {lines:,} lines"


def test_modules_and_functions_a_reader_can_hold():
    """No module in nn/ over 500 lines, no function over 80."""
    for path in PRODUCT:
        text = path.read_text()
        if path.parent != REPO:
            assert len(text.splitlines()) <= 500, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 80, f"{path.relative_to(REPO)}:{node.lineno} {node.name}"


def test_imports_inside_functions_are_few_and_say_why():
    """At most 30 imports inside functions, each with its reason beside it (a comment on its line or
    the line above): an optional library, a slow one kept off a path that does not need it."""
    inside = []
    for path in PRODUCT:
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        said = "#" in lines[sub.lineno - 1] or lines[sub.lineno - 2].strip().startswith("#")
                        inside.append((f"{path.relative_to(REPO)}:{sub.lineno}", said))
    assert len(set(inside)) <= 30, len(set(inside))
    assert all(said for _, said in inside), [where for where, said in inside if not said]
