"""Nothing lost: interrupted runs, killed writers and failed appends leave every file either as it
was or complete."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import REPO
from nn.files.digits_csv import append_csv, load_csv, write_csv
from nn.errors import ModelError
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.network import Network


@pytest.fixture(scope="module")
def train_csv(tmp_path_factory, mnist_test):
    path = tmp_path_factory.mktemp("data") / "train.csv"
    write_csv(path, mnist_test.images[:3000], mnist_test.labels[:3000])
    return path


def old_model(path) -> bytes:
    net = Network([784, 7, 10], seed=3)
    save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy"))
    return path.read_bytes()


@pytest.mark.parametrize("moments, signum", [
    (("line",), signal.SIGINT),  # as soon as it has said anything: while it reads the data and builds the network
    (("epoch",), signal.SIGINT),  # mid-training, after the first epoch
    (("epoch", 0.0), signal.SIGINT),  # Ctrl-C twice, the second at once: during the test and the save
    (("line", 0.02, 0.02), signal.SIGINT),  # three times
    (("line",), signal.SIGTERM),  # kill: stopped as Ctrl-C stops it
    (("epoch",), signal.SIGTERM),
    (("epoch", 0.0), signal.SIGTERM),
    (("epoch",), signal.SIGHUP),  # its terminal closed
    (("line", 0.02), signal.SIGHUP),
])
def test_ctrl_c_at_any_moment_leaves_the_old_model_or_a_complete_new_one(tmp_path, train_csv, moments, signum):
    """Ctrl-C, SIGTERM and SIGHUP alike: the old model or a complete new one, no temporary file,
    one line at most, and 128 + the signal as the exit status (130, 143, 129)."""
    out = tmp_path / "model.npz"
    before = old_model(out)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--data", str(train_csv), "--test", "none",
         "--hidden", "32", "--batch-size", "16", "--epochs", "500", "--out", str(out), "--plots", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Every moment counts from something the run printed, never from the start of the process:
    # a press while the interpreter itself is still starting up is Python's to handle, not ours.
    for moment in moments:
        if moment == "line":
            process.stdout.readline()
        elif moment == "epoch":
            for line in process.stdout:
                if line.startswith("epoch"):
                    break
        else:
            time.sleep(moment)
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 128 + signum, (process.returncode, stderr)
    assert len(stderr.strip().splitlines()) <= 1
    if out.read_bytes() != before:
        net, info = load_model(out)  # replaced: then by a complete model
        assert info.training["interrupted"] is True
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary files left


KILLER = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from nn.files.digits_csv import append_csv
from nn.files.model_file import ModelInfo, save_model
from nn.network import Network
kind, path = sys.argv[2], sys.argv[3]
print("ready", flush=True)
for i in range(10**6):
    if kind == "model":
        net = Network([784, 300 + i % 50, 10], seed=i)
        save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy"))
    else:
        append_csv(path, np.full((1, 784), i % 256, np.uint8), np.array([i % 10]))
"""


def kill_while_writing(kind: str, path, delay: float) -> None:
    with subprocess.Popen([sys.executable, "-c", KILLER, str(REPO), kind, str(path)],
                          stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.kill()  # SIGKILL: no handler, no cleanup, like a power cut for the process


@pytest.mark.parametrize("kind", ["model", "custom_digits"])
def test_killed_writers_never_leave_a_broken_file(tmp_path, kind):
    delays = [0.15, 0.27, 0.4, 0.55]

    def attempt(delay):
        folder = tmp_path / f"d{delay}"
        folder.mkdir()
        path = folder / ("m.npz" if kind == "model" else "custom_digits.csv")
        kill_while_writing(kind, path, delay)
        if not path.exists():
            return 0  # killed before the first rename: nothing there, nothing broken
        if kind == "model":
            load_model(path)
            return 1
        data = load_csv(path, use_cache=False)  # every row complete: the loader accepts the file
        assert data.labels.tolist() == [i % 10 for i in range(len(data))]
        return len(data)

    with ThreadPoolExecutor(max_workers=3) as pool:
        written = list(pool.map(attempt, delays))
    assert sum(written) > 0  # the writer did get going, so the kills hit it mid-stream


def test_a_failed_append_keeps_every_earlier_row(tmp_path, monkeypatch):
    path = tmp_path / "custom_digits.csv"
    for label in (1, 2, 3):
        append_csv(path, np.full((1, 784), 7, np.uint8), np.array([label]))
    before = path.read_bytes()

    import nn.plumbing.files

    real = nn.plumbing.files.os.fsync

    def power_cut(fd):
        raise KeyboardInterrupt  # the process is stopped after writing, before the rename

    monkeypatch.setattr(nn.plumbing.files.os, "fsync", power_cut)
    with pytest.raises(KeyboardInterrupt):
        append_csv(path, np.full((1, 784), 9, np.uint8), np.array([4]))
    monkeypatch.setattr(nn.plumbing.files.os, "fsync", real)
    assert path.read_bytes() == before
    assert load_csv(path, use_cache=False).labels.tolist() == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["custom_digits.csv"]


def test_a_half_written_custom_file_row_is_reported_not_swallowed(tmp_path):
    """A file broken by some other program (a half row at the end) gives a clear error."""
    path = tmp_path / "custom_digits.csv"
    append_csv(path, np.full((2, 784), 7, np.uint8), np.array([1, 2]))
    path.write_bytes(path.read_bytes() + b"3,0,0,0")
    with pytest.raises(Exception) as info:
        load_csv(path, use_cache=False)
    assert "line 4 has 4 fields, expected 785" in str(info.value)


def test_an_unreadable_model_is_never_overwritten_by_a_failed_run(tmp_path, train_csv):
    out = tmp_path / "model.npz"
    before = old_model(out)
    result = subprocess.run([sys.executable, str(REPO / "train.py"), "--data", str(train_csv),
                             "--test", "none", "--out", str(out), "--lr", "1e9"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and out.read_bytes() == before
    with pytest.raises(ModelError):
        load_model(tmp_path / "absent.npz")



EXITING = """
import signal, sys
sys.path.insert(0, sys.argv[1])
from nn.plumbing.cli import run
from nn.errors import UsageError

def main():
    assert signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.SIG_DFL)
    if sys.argv[2] == "fails":
        raise UsageError("no")
    if sys.argv[2] == "interrupted":
        raise KeyboardInterrupt
    return 0

try:
    run(main, "test")
except SystemExit as e:
    print(e.code, signal.getsignal(signal.SIGINT) is signal.SIG_IGN, file=sys.stderr)
"""


@pytest.mark.parametrize("outcome, status", [("returns", 0), ("fails", 2), ("interrupted", 130)])
def test_once_the_work_is_done_ctrl_c_cannot_cut_the_exit_short(outcome, status):
    """Python puts back the default SIGINT handler while it shuts down: a press at that moment
    would kill the process by the signal (status -2, nothing said) instead of ending it with the
    run's status. So every way out of `run` ignores Ctrl-C from there on."""
    result = subprocess.run([sys.executable, "-c", EXITING, str(REPO), outcome],
                            capture_output=True, text=True, timeout=60)
    assert result.stderr.splitlines()[-1] == f"{status} True", result.stderr
