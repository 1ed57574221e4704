"""Run the commands (train.py, draw.py, python -m nn ...) as new processes, without paying each time
for Python, NumPy and pandas to start.

A fork server (multiprocessing's "forkserver") imports the heavy modules once; every command then
runs in a fresh process forked from it, with its own argv, working folder, environment, stdout and
stderr (real file descriptors), and exit status, exactly as `python ARGS...` would give them, in
about a tenth of the time. Tests that are about start-up itself (Ctrl-C while loading, a closed
stderr) use a real new interpreter instead: conftest.run_command(..., fresh=True).
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PRELOAD = ["numpy", "pandas", "PIL.Image", "scipy.ndimage", "matplotlib", "matplotlib.pyplot",
           "tqdm", "threadpoolctl", "nn.files.digits_csv", "nn.dataset", "nn.files.idx", "nn.training", "nn.files.model_file", "nn.session.preprocess",
           "nn.tools.plots", "nn.tools.predict", "nn.plumbing.cli", "nn.web.server", "nn.window.app", "nn.session.reading", "nn.session.explain",
           "nn.session.canvas", "nn.session.trainer", "nn.session.jobs", "nn.session.teach", "nn.plumbing.callbacks", "nn.settings", "nn.architecture",
           "nn.augment", "nn.bench.handwriting", "nn.layers", "nn.parallel", "forkrun"]

_context = None
# Process.start() polls every other started Process to tidy up (multiprocessing.process._children),
# and that poll can take the exit status that another thread is about to read, which then reads
# 255. Each start happens under this lock and takes its process off that list at once.
_start_lock = threading.Lock()


def _forkserver():
    global _context
    if _context is None:
        os.environ.setdefault("MPLBACKEND", "Agg")
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _child(args: list[str], cwd: str, env: dict, out_path: str, err_path: str) -> None:
    """In the forked process: become `python ARGS...` and run it."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    sys.stdin = open(os.devnull)
    code = 0
    try:
        if args[0] == "-m":
            sys.modules.pop(args[1], None)  # preloaded here, but `python -m` starts without it
            sys.argv = [args[1], *args[2:]]
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        elif args[0] == "-c":
            sys.argv = ["-c", *args[2:]]
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            script = str(Path(args[0]) if Path(args[0]).is_absolute() else Path(cwd) / args[0])
            sys.argv = [script, *args[1:]]
            sys.path.insert(0, str(Path(script).parent))
            runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, (int, type(None))):
            sys.stderr.write(f"{e.code}\n")
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
    os._exit(code)


def run(args: list[str], cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Like subprocess.run([sys.executable, *args], capture_output=True, text=True)."""
    context = _forkserver()
    with tempfile.TemporaryDirectory(prefix="nn-forkrun-") as folder:
        out_path, err_path = os.path.join(folder, "out"), os.path.join(folder, "err")
        process = context.Process(target=_child, args=(list(args), str(cwd), dict(env), out_path, err_path))
        with _start_lock:
            process.start()
            multiprocessing.process._children.discard(process)
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([sys.executable, *args], timeout)
        stdout = Path(out_path).read_text(errors="replace") if os.path.exists(out_path) else ""
        stderr = Path(err_path).read_text(errors="replace") if os.path.exists(err_path) else ""
    return subprocess.CompletedProcess([sys.executable, *args], process.exitcode, stdout, stderr)
