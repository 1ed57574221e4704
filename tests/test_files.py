"""nn/plumbing/files.py: inputs that are regular files, outputs that never destroy anything."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from nn.errors import UsageError
from nn.plumbing.files import (NotRegularFile, atomic_write, check_output, open_input, output_target,
                      read_error, same_file)

needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _raised(function, *args) -> BaseException | None:
    try:
        function(*args)
    except BaseException as e:  # noqa: BLE001 (handed back to the test)
        return e
    return None


# -- inputs -------------------------------------------------------------------------------------

@needs_posix
@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "directory"])
def test_special_inputs_are_refused_at_once(tmp_path, fifo, special):
    path = {"fifo": fifo, "directory": tmp_path}.get(special, special)
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    import threading

    outcome = []
    opener = threading.Thread(target=lambda: outcome.append(_raised(open_input, path)), daemon=True)
    opener.start()
    opener.join(30)  # a FIFO with no writer must not block: opened blocking, it would wait for ever
    assert outcome and isinstance(outcome[0], NotRegularFile), outcome
    info = pytest.ExceptionInfo.from_exc_info((type(outcome[0]), outcome[0], outcome[0].__traceback__))
    message = read_error(path, info.value, "a CSV file")
    assert str(path) in message and ("FIFO" in message or "device" in message or "directory" in message)


def test_regular_inputs_open(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    with open_input(tmp_path / "a.csv") as f:
        assert f.read() == b"1,2\n"
    with pytest.raises(FileNotFoundError):
        open_input(tmp_path / "missing.csv")


# -- outputs ------------------------------------------------------------------------------------

def test_an_output_that_is_an_input_is_refused_by_identity(tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("x")
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for spelling in (data, tmp_path / "." / "train.csv", tmp_path / "link.csv", tmp_path / "hard.csv"):
        with pytest.raises(UsageError, match="is also the training data"):
            check_output(spelling, "model", [("training data", data)])
    assert data.read_text() == "x"
    check_output(tmp_path / "model.npz", "model", [("training data", data)])  # another file: fine


@needs_posix
def test_special_outputs_are_refused(tmp_path, fifo):
    for path, kind in ((fifo, "FIFO"), ("/dev/null", "character device")):
        with pytest.raises(UsageError, match=kind):
            check_output(path, "model")
        with pytest.raises(NotRegularFile):
            with atomic_write(path) as f:
                f.write(b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, not replaced by a file


def test_a_symlink_output_is_written_through(tmp_path):
    target = tmp_path / "real" / "model.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "model.npz"
    link.symlink_to(target)
    assert output_target(link) == target
    with atomic_write(link) as f:
        f.write(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "real" / "new.npz")
    with atomic_write(dangling) as f:
        f.write(b"created")
    assert dangling.is_symlink() and (tmp_path / "real" / "new.npz").read_bytes() == b"created"


def test_names_too_long_are_one_clear_error(tmp_path):
    long = tmp_path / ("a" * 300 + ".npz")
    with pytest.raises(UsageError, match="File name too long"):
        check_output(long, "model")
    with pytest.raises(OSError) as info:
        open_input(long)
    assert "file name too long" in read_error(long, info.value, "a model file")


def test_written_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "new.csv"
    with atomic_write(path) as f:
        f.write(b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)
    with atomic_write(path) as f:
        f.write(b"y")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # a replaced file keeps its permissions


KILL_MID_WRITE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from nn.plumbing.files import atomic_write
with atomic_write(sys.argv[2]) as f:
    f.write(b"x" * 1000)
    print("writing", flush=True)
    time.sleep(60)
"""


def test_temporaries_of_killed_writers_are_cleaned_up(tmp_path):
    from conftest import REPO

    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with subprocess.Popen([sys.executable, "-c", KILL_MID_WRITE, str(REPO), str(target)],
                          stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout.readline().strip() == "writing"
        live = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
        assert len(live) == 1 and live[0].startswith(".model.npz.")
        with atomic_write(target) as f:  # the writer is alive: its file is left alone
            f.write(b"new")
        assert (tmp_path / live[0]).exists()
        process.kill()
    old_style = tmp_path / ".model.npz.abc_123.tmp"  # an older version's name, without a process
    old_style.write_bytes(b"x")
    os.utime(old_style, (time.time() - 7200, time.time() - 7200))
    with atomic_write(target) as f:  # now it is dead: its leftovers go
        f.write(b"newer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert target.read_bytes() == b"newer"


def test_files_not_made_yet_are_the_same_when_they_name_the_same_place(tmp_path):
    """Two outputs (the taught model and the drawings, say) given the same name, however spelled,
    are one file before either exists; different names, or a name too long for the system, not."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    assert same_file(tmp_path / "a", tmp_path / "a")
    assert same_file(tmp_path / "a", tmp_path / "sub" / ".." / "a")
    assert same_file(tmp_path / "sub" / "m.npz", tmp_path / "link" / "m.npz")
    assert not same_file(tmp_path / "a", tmp_path / "b")
    assert not same_file(tmp_path / ("a" * 300), tmp_path / "b")
    (tmp_path / "b").write_bytes(b"x")
    assert not same_file(tmp_path / "a", tmp_path / "b")


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        with atomic_write(path) as f:
            f.write(np.zeros(10).tobytes())
            raise ValueError("stop")
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
