"""The three commands, run as new processes the way users run them, on broken input.

Every bad input must end with exit status 2, one line on stderr naming the file and the line or
field, and no traceback; odd but valid files must load. The processes start in the background
when the test session starts (see conftest.py), a few at a time, while the in-process tests run;
these tests, moved to the end of the session, check their results.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import forkrun
from conftest import REPO, assert_user_error

PRETRAINED = str(REPO / "data" / "pretrained.npz")
HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def row(label="5", pixels=None, changes=None) -> str:
    values = list(pixels) if pixels is not None else ["0"] * 784
    values[100:104] = ["10", "200", "255", "30"]  # some ink, so the file is not all zeros
    for index, value in (changes or {}).items():
        values[index] = value
    return ",".join([label] + values)


def csv(*lines: str, header: bool = True) -> bytes:
    return ("\n".join(([HEADER] if header else []) + list(lines)) + "\n").encode()


# name: (file content, or None for a missing file, or "DIR"; fragments the one error line must hold)
BAD_CSVS = {
    "missing": (None, ["no such file"]),
    "directory": ("DIR", ["is a directory"]),
    "empty": (b"", ["file is empty"]),
    "binary": (np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes(), ["binary data"]),
    "semicolons": (row().replace(",", ";").encode() + b"\n", ["separated by semicolons"]),
    "tabs": (row().replace(",", "\t").encode() + b"\n", ["separated by tabs"]),
    "columns": (b"1,2,3\n4,5,6\n", ["line 1 has 3 columns"]),
    "ragged": (csv(row(), row() + ",0", row()), ["line 3 has 786 fields, expected 785"]),
    "short row": (csv(row(), ",".join(row().split(",")[:700])), ["line 3 has 700 fields"]),
    "nan": (csv(row(), row(changes={5: "NaN"})), ["line 3", "'pixel5'", "missing value"]),
    "empty cell": (csv(row(changes={783: ""})), ["line 2", "'pixel783'", "empty value"]),
    "label 10": (csv(row(), row("10")), ["line 3", "'label'", "label 10 is not a digit"]),
    "label -1": (csv(row("-1")), ["line 2", "'label'", "label -1 is not a digit"]),
    "pixel 256": (csv(row(changes={7: "256"})), ["line 2", "'pixel7'", "pixel value 256 is outside 0-255"]),
    "pixel -1": (csv(row(), row(), row(changes={0: "-1"})), ["line 4", "'pixel0'", "pixel value -1"]),
    "text": (csv(row(changes={50: "seven"})), ["line 2", "'pixel50'", "not a number: 'seven'"]),
    "overflow": (csv(row(changes={60: "1e300"})), ["line 2", "'pixel60'", "1e300 is outside 0-255"]),
    "unclosed quote": (b'"5,0' + b",0" * 783 + b"\n", ["line 1", "quote"]),
    "truncated gzip": ("GZIP-CUT", ["corrupt or truncated"]),
    "broken zip": (b"PK\x03\x04" + b"\x00" * 60, ["corrupt zip archive"]),
    "zip of two": ("ZIP-TWO", ["zip archive should hold one CSV file, it holds 2"]),
}

# python -m nn predict reads CSVs through the same loader as train.py: it gets every mistake found on
# the first line, and a sample of those found while parsing (each of those runs loads pandas).
PREDICT_CASES = [name for name in BAD_CSVS if name not in (
    "short row", "empty cell", "label -1", "pixel -1", "overflow", "text", "unclosed quote")]

# Odd but valid: these must load.
VALID_CSVS = {
    "bom": b"\xef\xbb\xbf" + csv(row("3"), row("4")),
    "crlf": csv(row("3"), row("4")).replace(b"\n", b"\r\n"),
    "trailing blank lines": csv(row("3"), row("4")) + b"\n\n\n",
    "spaces": csv(row("3").replace(",", " , "), " " + row("4") + " "),
    "latin-1 header": ("l\xe4bel," + ",".join(f"pix\xe9l{i}" for i in range(784)) + "\n"
                       + row("3") + "\n").encode("latin-1"),
    "no header, label last": ("\n".join(",".join(row(d).split(",")[1:] + [d]) for d in "0123456789") + "\n").encode(),
}

BAD_IMAGES = {
    "missing": (None, ["no such file"]),
    "directory": ("DIR", ["is a directory"]),
    "empty": (b"", ["not an image"]),
    "binary": (np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes(), ["not an image"]),
    "text": (b"this is a note, not a picture\n", ["not an image"]),
    "truncated png": ("PNG-CUT", ["corrupt or truncated"]),
}

BAD_FLAGS = {
    "train --epochs -1": (["train.py", "--epochs", "-1"], ["--epochs", "positive integer, got -1"]),
    "train --lr 0": (["train.py", "--lr", "0"], ["--lr", "positive number, got 0"]),
    "train --hidden 0": (["train.py", "--hidden", "0"], ["--hidden", "positive integer, got 0"]),
    "train --activation": (["train.py", "--activation", "swish"], ["--activation", "'swish'"]),
    "train --optimizer": (["train.py", "--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'"]),
    "train --batch-size": (["train.py", "--batch-size", "-5"], ["--batch-size", "integer >= 0"]),
    "train --seed": (["train.py", "--seed", "-1"], ["--seed", "integer >= 0"]),
    "train --val-split": (["train.py", "--val-split", "-0.1"], ["--val-split"]),
    "train --momentum": (["train.py", "--momentum", "1.5"], ["--momentum", "below 1"]),
    "train --unknown": (["train.py", "--learning-rate", "0.1"], ["unrecognized arguments"]),
    "train --lr nan": (["train.py", "--lr", "nan"], ["--lr", "must be a positive number"]),
    "train --hidden x": (["train.py", "--hidden", "12", "x"], ["--hidden", "'x'"]),
    "train --out folder": (["train.py", "--out", "/no/such/folder/m.npz"], ["/no/such/folder/m.npz", "does not exist"]),
    "predict no file": (["-m", "nn", "predict"], ["the following arguments are required: file"]),
    "predict --label-column": (["-m", "nn", "predict", "CSV", "--model", PRETRAINED, "--label-column", "klass"],
                               ["no column named 'klass'"]),
    "draw --cell": (["draw.py", "--cell", "3"], ["--cell must be 16 to 64"]),
    "draw --digit": (["draw.py", "--screenshot", "x.png", "--digit", "12"], ["--digit", "invalid choice"]),
    "draw --json": (["draw.py", "--json"], ["--json goes with --predict"]),
    "draw --model": (["draw.py", "--model", "nope.npz", "--predict", "x.png"], ["no model at", "nope.npz"]),
}


def materialise(folder: Path, name: str, content, suffix: str) -> Path:
    path = folder / (name.replace(" ", "_") + suffix)
    if content is None:
        return path
    if content == "DIR":
        path.mkdir()
    elif content == "GZIP-CUT":
        import gzip

        path.write_bytes(gzip.compress(csv(*[row()] * 50))[:-300])
    elif content == "ZIP-TWO":
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.csv", csv(row()))
            archive.writestr("b.csv", csv(row()))
    elif content == "PNG-CUT":
        from PIL import Image

        Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 120), dtype=np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:400])
    else:
        path.write_bytes(content)
    return path


def start(folder: Path) -> tuple[ThreadPoolExecutor, dict]:
    """Write every case's files into `folder` and start running them, three at a time, in the
    background: (the pool, {case id: future of (CompletedProcess, the file, out dir)})."""
    good = materialise(folder, "good", csv(row("3"), row("7")), ".csv")
    jobs = {}
    for name, (content, _) in BAD_CSVS.items():
        path = materialise(folder, name, content, ".csv")
        out = folder / f"out_{name.replace(' ', '_')}"
        out.mkdir()
        jobs[f"train/{name}"] = (["train.py", "--data", str(path), "--test", "none",
                                  "--out", str(out / "m.npz"), "--plots", str(out)], path, out)
        if name in PREDICT_CASES:
            jobs[f"predict/{name}"] = (["-m", "nn", "predict", str(path), "--model", PRETRAINED,
                                        "--out", str(out / "s.csv")], path, out)
    for name, content in VALID_CSVS.items():
        path = materialise(folder, "valid_" + name, content, ".csv")
        out = folder / f"valid_out_{name.replace(' ', '_')}"
        out.mkdir()
        jobs[f"train-valid/{name}"] = (["train.py", "--data", str(path), "--test", "none", "--hidden", "8",
                                        "--epochs", "1", "--out", str(out / "m.npz"), "--plots", "none"], path, out)
        jobs[f"predict-valid/{name}"] = (["-m", "nn", "predict", str(path), "--model", PRETRAINED], path, out)
    for name, (content, _) in BAD_IMAGES.items():
        path = materialise(folder, "image_" + name, content, ".png")
        jobs[f"draw/{name}"] = (["draw.py", "--model", PRETRAINED, "--predict", str(path)], path, folder)
    for name, (args, _) in BAD_FLAGS.items():
        args = [str(good) if a == "CSV" else a for a in args]
        extra = ["--test", "none"] + ([] if "--out" in args else ["--out", str(folder / "flags.npz")])
        jobs[f"flags/{name}"] = (args + (extra if args[0] == "train.py" else []), Path(args[0]), folder)
    unwritable = "/proc/self/model.npz"  # procfs takes no new files, not even from root
    jobs["unwritable/train"] = (["train.py", "--data", str(good), "--test", "none", "--out", unwritable],
                                Path(unwritable), folder)
    jobs["unwritable/predict"] = (["-m", "nn", "predict", str(good), "--model", PRETRAINED, "--out",
                                   "/proc/self/s.csv"], Path("/proc/self/s.csv"), folder)
    jobs["unwritable/plots"] = (["train.py", "--data", str(good), "--test", "none", "--out",
                                 str(folder / "p.npz"), "--plots", "/proc/self"], Path("/proc/self"), folder)
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}

    def run(item):
        key, (args, path, out) = item
        return key, (forkrun.run(args, REPO, env), path, out)

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="commands")
    return pool, {key: pool.submit(run, (key, job)) for key, job in jobs.items()}


@pytest.fixture(scope="module")
def results(command_matrix):
    """{case id: (CompletedProcess, the file, out dir)}, waiting for the cases still running."""
    return {key: future.result()[1] for key, future in command_matrix.items()}


@pytest.mark.parametrize("command, name", [("train", n) for n in BAD_CSVS] +
                                          [("predict", n) for n in PREDICT_CASES])
def test_bad_csv(results, command, name):
    done, path, out = results[f"{command}/{name}"]
    assert_user_error(done, str(path), *BAD_CSVS[name][1])
    assert not any(p.suffix in (".npz", ".png", ".csv") for p in out.iterdir())  # nothing written


@pytest.mark.parametrize("command", ["train-valid", "predict-valid"])
@pytest.mark.parametrize("name", list(VALID_CSVS))
def test_odd_but_valid_csv(results, command, name):
    done, _, out = results[f"{command}/{name}"]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if command == "train-valid":
        assert (out / "m.npz").exists()
    else:
        assert "Accuracy:" in done.stdout


@pytest.mark.parametrize("name", list(BAD_IMAGES))
def test_bad_image(results, name):
    done, path, _ = results[f"draw/{name}"]
    assert_user_error(done, str(path), *BAD_IMAGES[name][1])
    assert done.stdout == ""


@pytest.mark.parametrize("name", list(BAD_FLAGS))
def test_bad_flags(results, name):
    done, _, _ = results[f"flags/{name}"]
    assert_user_error(done, *BAD_FLAGS[name][1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc as an unwritable folder")
@pytest.mark.parametrize("name, fragments", [
    ("train", ["/proc/self/model.npz", "cannot write the model there"]),
    ("predict", ["/proc/self/s.csv", "cannot write the predictions there"]),
    ("plots", ["/proc/self", "cannot write the plots there"]),
])
def test_unwritable_output(results, name, fragments):
    done, _, _ = results[f"unwritable/{name}"]
    assert_user_error(done, *fragments)
    assert "Training" not in done.stdout  # refused before any work, not after
