"""Shared fixtures. Tests write only under pytest's tmp_path and need nothing outside the repo."""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores: the commands they start get one BLAS thread, whose helpers would
    # otherwise spin on the core the other worker needs (the suite: 86 s, against 89-93 s).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(REPO))


def _hypothesis_home_in_tmp() -> None:
    """Hypothesis keeps caches in .hypothesis/ in the current folder, as early as collection:
    send them to a temporary folder instead, removed at exit."""
    import atexit
    import shutil
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    home = tempfile.mkdtemp(prefix="nn-tests-hypothesis-")
    set_hypothesis_home_dir(home)
    atexit.register(shutil.rmtree, home, ignore_errors=True)


_hypothesis_home_in_tmp()

from nn.files.digits_csv import load_csv  # noqa: E402
from nn.files.model_file import ModelInfo, save_model  # noqa: E402
from nn.network import Network  # noqa: E402
from nn.training import TrainConfig, fit  # noqa: E402

TEST_CSV = REPO / "data" / "mnist_test.csv.gz"


@pytest.fixture(autouse=True, scope="session")
def _cache_in_tmp(tmp_path_factory):
    """Parsed-CSV caches go to a temporary folder, never into the repository's temp/."""
    os.environ["NN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield


COMMANDS_FILE = "test_commands.py"


# `slow`: everything but the math, the layers and the loaders, so that -m "not slow" runs in
# seconds. The browser and the commands run as a user runs them, the servers, the window, the
# teaching runs, the bench, the pictures and the fuzzing.
SLOW_FILES = ("test_page.py", "test_commands.py", "test_every_start.py", "test_interrupts.py", "test_train_script.py", "test_web.py",
              "test_window.py", "test_teach.py", "test_bench.py", "test_properties.py", "test_plots.py")
SLOW_FIXTURES = {"page", "served", "browser", "app"}  # a real server, a browser, the window
SLOW_CALLS = re.compile(r"\b(run_command|start_command|subprocess\.(run|Popen|check_output))\(")


def _mark_slow(items) -> None:
    """Marks `slow` every test of SLOW_FILES, and elsewhere each test that uses SLOW_FIXTURES or
    whose body starts a command (so a new one is marked by what it does, not by a list)."""
    starts_a_command: dict = {}  # function -> bool: a parametrized test is read once
    for item in items:
        function = getattr(item, "function", None)
        if item.path.name in SLOW_FILES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        elif function is not None:
            if function not in starts_a_command:
                starts_a_command[function] = bool(SLOW_CALLS.search(inspect.getsource(function)))
            if starts_a_command[function]:
                item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """-m "not slow" runs in one process: two workers cost more to start than they save there
    (measured: 16.3 s against 13.8 s); the whole suite runs on two (pytest.ini)."""
    if config.option.markexpr.replace(" ", "") == "notslow" and hasattr(config.option, "numprocesses"):
        config.option.numprocesses, config.option.dist = 0, "no"


def pytest_collection_modifyitems(items):
    """The subprocess matrix (tests/test_commands.py) runs in the background from the start;
    its tests go last, so that they find their results ready. (With pytest-xdist, which orders
    the files itself, the matrix starts when its tests do.)"""
    _mark_slow(items)
    items.sort(key=lambda item: item.path.name == COMMANDS_FILE)


@pytest.fixture(scope="session", autouse=True)
def command_matrix(request, tmp_path_factory):
    """The command cases' results: {case id: future}. Run in the background from the start of the
    session when this process will run tests/test_commands.py; with pytest-xdist, whose workers
    each collect every test, from the moment one of them is first asked for its results."""
    import test_commands

    pool, futures = None, {}

    def started() -> dict:
        nonlocal pool
        if pool is None:
            pool, cases = test_commands.start(tmp_path_factory.mktemp("commands"))
            futures.update(cases)
        return futures

    if not os.environ.get("PYTEST_XDIST_WORKER") and \
            any(item.path.name == COMMANDS_FILE for item in request.session.items):
        started()
    yield started
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def mnist_test():
    """The bundled MNIST test set: images (10000, 784) uint8, labels (10000,)."""
    return load_csv(TEST_CSV)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, mnist_test):
    """(path, network): a 784-32-10 network trained briefly on 8,000 bundled test rows."""
    data = mnist_test.subset(slice(0, 8000))
    config = TrainConfig(hidden=[32], epochs=3, lr=0.1, seed=0)
    net = Network([784, 32, 10], seed=0)
    fit(net, data, None, config)
    path = tmp_path_factory.mktemp("model") / "small.npz"
    save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy",
                                    accuracy={"test": 0.9}))
    return path, net


@pytest.fixture(scope="session")
def small_cnn(tmp_path_factory, mnist_test):
    """(path, network): a conv 4-8 (5x5), dense 392-32-10 CNN trained briefly on 4,000 rows."""
    data = mnist_test.subset(slice(0, 4000))
    config = TrainConfig(hidden=[32], conv=[4, 8], epochs=1, lr=0.05, batch_size=64, seed=0)
    net = Network([784, 32, 10], seed=0, conv=[4, 8])
    fit(net, data, None, config)
    path = tmp_path_factory.mktemp("model") / "cnn.npz"
    save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy",
                                    accuracy={"test": 0.9}))
    return path, net


@pytest.fixture(scope="session")
def pretrained():
    """The shipped MLP, data/pretrained.npz (part of the repository)."""
    from nn.files.model_file import load_model

    return load_model(REPO / "data" / "pretrained.npz")[0]


@pytest.fixture(scope="session")
def pretrained_cnn():
    """The shipped CNN, data/pretrained_cnn.npz (part of the repository)."""
    from nn.files.model_file import load_model

    return load_model(REPO / "data" / "pretrained_cnn.npz")[0]


def write_csv(path: Path, rows, header: str | None = None, newline: str = "\n") -> Path:
    """Write rows (lists of values or ready strings) as CSV text."""
    lines = [header] if header is not None else []
    for row in rows:
        lines.append(row if isinstance(row, str) else ",".join(str(v) for v in row))
    path.write_text(newline.join(lines) + newline)
    return path


def digit_rows(images: np.ndarray, labels: np.ndarray, label_at: str = "first") -> list[list[int]]:
    """Rows for write_csv: the label first, last, or left out (label_at='none')."""
    rows = []
    for image, label in zip(images, labels):
        pixels = [int(v) for v in image]
        rows.append([int(label)] + pixels if label_at == "first"
                    else pixels + [int(label)] if label_at == "last" else pixels)
    return rows


KAGGLE_HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def run_command(*args: str, cwd: Path | None = None, timeout: float = 120,
                env: dict | None = None, fresh: bool = False) -> subprocess.CompletedProcess:
    """Run `python ARGS...` as a user would, from `cwd` (default: the repository): a new process
    with its own output and exit status, forked from a server that has NumPy and pandas loaded
    (tests/forkrun.py), or with fresh=True a new interpreter from scratch."""
    full_env = {**os.environ, **(env or {})}
    if not fresh:
        import forkrun

        return forkrun.run(list(args), cwd or REPO, full_env, timeout)
    return subprocess.run([sys.executable, *args], cwd=cwd or REPO, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, one line on stderr containing every fragment, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def session_for(net, name: str, custom: Path, out: Path | None = None, accuracy: float | None = None,
                data=None, test=None):
    """A session as draw.py makes one: `net` in use, shown as `name`; drawings saved to `custom`,
    taught or trained models to `out` (default: model.npz beside `custom`); with `data`, it trains."""
    from nn.session.model_in_use import ModelInUse
    from nn.session.session import Session

    info = ModelInfo(sizes=net.sizes, activation=net.activation.name, loss=net.loss.name, conv=net.conv,
                     kernel=net.kernel, accuracy={"test": accuracy} if accuracy is not None else {})
    return Session(ModelInUse(net, info, name), custom, out or Path(custom).parent / "model.npz",
                   data=data, test=test)


class running_page:
    """with running_page(session, **waitress settings) as page: the page served on a free port of
    127.0.0.1 (page.port) until the block ends."""

    def __init__(self, session, **settings):
        from nn.web.server import Page

        self.page = Page(session, **settings)

    def __enter__(self):
        return self.page.start()

    def __exit__(self, *exc):
        self.page.stop()


# -- the system's Chromium, for the page's tests (test_page.py, test_export.py) ------------------------

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    for name in (os.environ.get("NN_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def missing_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (python -m pip install -r requirements-dev.txt)"
    if find_chromium() is None:
        return "no Chromium on this machine (apt-get install chromium, or set NN_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("NN_REQUIRE_BROWSER"):
            pytest.fail(f"NN_REQUIRE_BROWSER is set, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
