"""The three commands, run as new processes the way users run them, on broken input.

Every bad input must end with exit status 2, one line on stderr naming the file and the line or
field, and no traceback; odd but valid files must load. The processes start in the background
when the test session starts (see conftest.py), a few at a time, while the in-process tests run;
these tests, moved to the end of the session, check their results.
"""

from __future__ import annotations

import os
import subprocess
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

def picture_bytes(grey: np.ndarray, kind: str = "PNG") -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(buffer, kind)
    return buffer.getvalue()


_rows = np.linspace(0, 1, 600)[:, None]
BAD_IMAGES = {
    "one pixel high": (picture_bytes(np.zeros((1, 500))), ["500x1 pixels", "too small to hold a digit"]),
    "one by one": (picture_bytes(np.zeros((1, 1))), ["1x1 pixels", "too small to hold a digit"]),
    "long and thin": (picture_bytes(np.full((8, 10000), 255)), ["10,000x8 pixels", "too long and thin"]),
    "shaded blank photo": (picture_bytes(240 - 110 * _rows + np.random.default_rng(3).normal(0, 4, (600, 800)),
                                         "JPEG"), ["no digit found", "stands out from the paper"]),
    "grey gradient": (picture_bytes(np.tile(np.linspace(80, 250, 400), (300, 1))), ["no digit found"]),
    "a line alone": (picture_bytes(np.pad(np.zeros((2, 180)), ((99, 99), (10, 10)), constant_values=255)),
                     ["no digit found", "only long straight lines across it"]),
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
    "train --hidden 0 16": (["train.py", "--hidden", "0", "16"], ["--hidden", "0 means no hidden layer, so it stands alone"]),
    "train --hidden -3": (["train.py", "--hidden", "-3"], ["--hidden", "integer >= 0, got -3"]),
    "train --activation": (["train.py", "--activation", "swish"], ["--activation", "'swish'"]),
    "train --optimizer": (["train.py", "--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'"]),
    "train --batch-size": (["train.py", "--batch-size", "-5"], ["--batch-size", "integer >= 0"]),
    "train --seed": (["train.py", "--seed", "-1"], ["--seed", "integer >= 0"]),
    "train --val-split": (["train.py", "--val-split", "-0.1"], ["--val-split"]),
    "train --momentum": (["train.py", "--momentum", "1.5"], ["--momentum", "below 1"]),
    "train --unknown": (["train.py", "--learning-rate", "0.1"], ["unrecognized arguments"]),
    "train --lr nan": (["train.py", "--lr", "nan"], ["--lr", "must be a positive number"]),
    "train --hidden x": (["train.py", "--hidden", "12", "x"], ["--hidden", "'x'"]),
    "train --weight-decay": (["train.py", "--weight-decay", "1e300"],
                             ["--weight-decay 1e+300 is too strong for --lr 0.2", "below 5"]),
    "train --lr long": (["train.py", "--lr", "9" * 3000 + "x"], ["--lr", "(3,001 characters)"]),
    "train --out folder": (["train.py", "--out", "/no/such/folder/m.npz"], ["/no/such/folder/m.npz", "does not exist"]),
    "predict no file": (["-m", "nn", "predict"], ["the following arguments are required: file"]),
    "predict --label-column": (["-m", "nn", "predict", "CSV", "--model", PRETRAINED, "--label-column", "klass"],
                               ["no column named 'klass'"]),
    "step nothing": (["-m", "nn", "step"], ["one of the arguments --row --image is required"]),
    "step --row": (["-m", "nn", "step", "--row", "10000", "--model", PRETRAINED], ["--row 10000", "rows 0 to 9999"]),
    "step --steps": (["-m", "nn", "step", "--row", "1", "--steps", "101"], ["--steps 101", "1 to 100 steps"]),
    "step --lr": (["-m", "nn", "step", "--row", "1", "--lr", "0"], ["--lr", "positive number, got 0"]),
    "step --label": (["-m", "nn", "step", "--row", "1", "--label", "12"], ["--label", "invalid choice: 12"]),
    "step --image": (["-m", "nn", "step", "--image", "CSV", "--model", PRETRAINED], ["--image", "--label K"]),
    "step image": (["-m", "nn", "step", "--image", "CSV", "--label", "3", "--model", PRETRAINED],
                   ["good.csv", "not an image"]),
    "step --data": (["-m", "nn", "step", "--row", "1", "--data", "nope.csv", "--model", PRETRAINED],
                    ["nope.csv", "no such file"]),
    "train-judge --out data": (["-m", "nn", "train-judge", "--out", str(REPO / "data" / "mnist_train.csv.gz")],
                               ["mnist_train.csv.gz", "is also the training data"]),
    "train-judge --out csv": (["-m", "nn", "train-judge", "--out", "CSV"], ["good.csv", "is not a model file"]),
    "dream --out": (["-m", "nn", "dream", "--model", PRETRAINED, "--out", PRETRAINED],
                    ["pretrained.npz", "is also the model"]),
    "dream --model": (["-m", "nn", "dream", "--model", "CSV"], ["good.csv", "not a model file"]),
    "draw --cell": (["draw.py", "--cell", "3"], ["--cell must be 16 to 64"]),
    "draw --digit": (["draw.py", "--screenshot", "x.png", "--digit", "12"], ["--digit", "invalid choice"]),
    "draw --json": (["draw.py", "--json"], ["--json goes with --predict"]),
    "draw --spacing": (["draw.py", "--screenshot", "x.png", "--spacing", "10"], ["--spacing goes with --number"]),
    "draw --model": (["draw.py", "--model", "nope.npz", "--predict", "x.png"], ["no model at", "nope.npz"]),
    # what a save would refuse later, refused when the window or the page opens (DIR/: a folder of the test's)
    "window --out = --custom-csv": (["draw.py", "--out", "DIR/same.csv", "--custom-csv", "DIR/./same.csv"],
                                    ["same.csv", "is also the taught model (--out)"]),
    "web --out = --custom-csv": (["draw.py", "--web", "--no-browser", "--port", "0", "--out", "DIR/same.csv",
                                  "--custom-csv", "DIR/same.csv"], ["same.csv", "is also the taught model (--out)"]),
    "classroom --out = --custom-csv": (["draw.py", "--web", "--classroom", "--host", "127.0.0.1", "--no-browser",
                                        "--port", "0", "--out", "DIR/m.npz", "--custom-csv", "DIR/m.npz"],
                                       ["m.npz", "is also the taught model (--out)"]),
    "screenshot --out = --custom-csv": (["draw.py", "--screenshot", "DIR/s.png", "--out", "DIR/c.csv",
                                         "--custom-csv", "DIR/c.csv"], ["c.csv", "is also the taught model"]),
    "web --out = --test": (["draw.py", "--web", "--no-browser", "--port", "0", "--test", "CSV", "--out", "CSV"],
                           ["good.csv", "is also the test data"]),
    "web --custom-csv = --data": (["draw.py", "--web", "--no-browser", "--port", "0", "--data", "CSV",
                                   "--custom-csv", "CSV"], ["good.csv", "is also the training data"]),
    "window --out shipped": (["draw.py", "--out", str(REPO / "data" / "pretrained.npz")], ["is a shipped model"]),
    "web --out a folder": (["draw.py", "--web", "--no-browser", "--port", "0", "--out", "DIR"], ["is a directory"]),
    "window --out nowhere": (["draw.py", "--out", "DIR/none/m.npz"], ["folder", "does not exist"]),
    "window --custom-csv = --model": (["draw.py", "--custom-csv", PRETRAINED, "--model", PRETRAINED],
                                      ["is also the model"]),
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
    (folder / "flags_dir").mkdir()
    for name, (args, _) in BAD_FLAGS.items():
        args = [str(good) if a == "CSV" else a.replace("DIR", str(folder / "flags_dir")) for a in args]
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
    return {key: future.result()[1] for key, future in command_matrix().items()}


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
    done, _, out = results[f"flags/{name}"]
    assert_user_error(done, *BAD_FLAGS[name][1])
    assert "Drawing page:" not in done.stdout and "For the class" not in done.stdout  # refused before serving
    assert not any((out / "flags_dir").iterdir())  # nothing written


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


# -- careless and hostile users: nothing lost, nothing hangs, one line ----------------------------

@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, mnist_test):
    from nn.files.digits_csv import write_csv

    path = tmp_path_factory.mktemp("careless") / "train.csv"
    write_csv(path, mnist_test.images[:1500], mnist_test.labels[:1500])
    return path


@pytest.fixture
def old_model(tmp_path):
    from nn.files.model_file import ModelInfo, save_model
    from nn.network import Network

    net = Network([784, 7, 10], seed=3)
    path = tmp_path / "model.npz"
    save_model(path, net, ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy"))
    return path, path.read_bytes()


def train(*args: str, **options):
    from conftest import run_command

    return run_command("train.py", "--plots", "none", *args, **options)


def test_an_output_that_is_an_input_is_refused_before_anything(tmp_path, small_csv, old_model):
    from conftest import run_command

    data = tmp_path / "data.csv"
    data.write_bytes(small_csv.read_bytes())
    (tmp_path / "alias.csv").symlink_to(data)
    before = data.read_bytes()
    for out in (data, tmp_path / "alias.csv", tmp_path / "." / "data.csv"):
        assert_user_error(train("--data", str(data), "--test", "none", "--out", str(out)),
                          "is also the training data")
        assert_user_error(train("--data", str(small_csv), "--test", str(data), "--out", str(out)),
                          "is also the test data")
    model, model_bytes = old_model
    assert_user_error(run_command("-m", "nn", "predict", str(data), "--model", str(model), "--out",
                                  str(tmp_path / "alias.csv")), "is also the CSV to predict")
    assert_user_error(run_command("-m", "nn", "predict", str(data), "--model", str(model), "--out",
                                  str(model)), "is also the model")
    assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(model)),
                      "a screenshot is a picture")
    (tmp_path / "model.png").symlink_to(model)
    assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(tmp_path / "model.png")),
                      "is also the model")
    assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(tmp_path / "s.png"),
                                  "--custom-csv", str(model)), "is also the model")
    assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(tmp_path / "s.png"),
                                  "--custom-csv", str(data.with_name("notes.txt"))) if
                      data.with_name("notes.txt").write_text("my notes\n") else None,
                      "is not a custom-digits CSV")
    assert data.read_bytes() == before and model.read_bytes() == model_bytes
    assert data.with_name("notes.txt").read_text() == "my notes\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_special_files_are_refused_as_outputs_and_inputs(tmp_path, small_csv, old_model):
    from conftest import run_command

    model, _ = old_model
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_user_error(train("--data", str(small_csv), "--test", "none", "--out", str(fifo)), "FIFO")
    assert_user_error(train("--data", str(small_csv), "--test", "none", "--out", "/dev/null"),
                      "character device")
    assert_user_error(run_command("-m", "nn", "predict", str(small_csv), "--model", str(model),
                                  "--out", str(fifo)), "FIFO")
    for args in (["train.py", "--data", str(fifo), "--test", "none", "--out", str(tmp_path / "m.npz")],
                 ["train.py", "--data", "/dev/zero", "--test", "none", "--out", str(tmp_path / "m.npz")],
                 ["train.py", "--data", "/dev/stdin", "--test", "none", "--out", str(tmp_path / "m.npz")],
                 ["-m", "nn", "predict", str(fifo), "--model", str(model)],
                 ["-m", "nn", "predict", str(small_csv), "--model", str(fifo)],
                 ["-m", "nn", "predict", str(small_csv), "--model", "/dev/zero"],
                 ["draw.py", "--model", str(model), "--predict", str(fifo)],
                 ["draw.py", "--model", str(model), "--predict", "/dev/zero"]):
        result = run_command(*args, timeout=20)  # a FIFO must be refused, not waited on
        line = assert_user_error(result)
        assert "FIFO" in line or "device" in line, line
    assert os.path.exists(fifo) and not (tmp_path / "m.npz").exists()


def test_a_symlink_output_writes_the_model_through_the_link(tmp_path, small_csv):
    from nn.files.model_file import load_model

    (tmp_path / "models").mkdir()
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "models" / "run1.npz")
    result = train("--data", str(small_csv), "--test", "none", "--hidden", "16", "--epochs", "1",
                   "--out", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and load_model(tmp_path / "models" / "run1.npz")[0].sizes == [784, 16, 10]


@pytest.mark.parametrize("option", ["--data", "--test", "--out", "--plots", "--resume", "predict",
                                    "predict --model", "predict --out", "draw --model",
                                    "draw --predict", "draw --screenshot", "draw --custom-csv"])
def test_a_file_name_longer_than_the_system_allows_is_one_line(tmp_path, small_csv, old_model, option):
    from conftest import run_command

    model, _ = old_model
    long = str(tmp_path / ("n" * 300 + ".x"))
    base = ["--data", str(small_csv), "--test", "none", "--out", str(tmp_path / "m.npz")]
    commands = {
        "--data": ["train.py", "--data", long, "--test", "none"],
        "--test": ["train.py", "--data", str(small_csv), "--test", long],
        "--out": ["train.py", "--data", str(small_csv), "--test", "none", "--out", long],
        "--plots": ["train.py", *base, "--plots", long],
        "--resume": ["train.py", *base, "--resume", long],
        "predict": ["-m", "nn", "predict", long, "--model", str(model)],
        "predict --model": ["-m", "nn", "predict", str(small_csv), "--model", long],
        "predict --out": ["-m", "nn", "predict", str(small_csv), "--model", str(model), "--out", long],
        "draw --model": ["draw.py", "--model", long, "--predict", "x.png"],
        "draw --predict": ["draw.py", "--model", str(model), "--predict", long],
        "draw --screenshot": ["draw.py", "--model", str(model), "--screenshot", long + ".png"],
        "draw --custom-csv": ["draw.py", "--model", str(model), "--screenshot", str(tmp_path / "s.png"),
                              "--custom-csv", long],
    }
    line = assert_user_error(run_command(*commands[option]), "nnnnnnnn")
    assert "too long" in line.lower() and len(line) < 400
    assert not (tmp_path / "m.npz").exists()


def test_a_cache_folder_name_too_long_only_skips_the_cache(tmp_path, small_csv):
    result = train("--data", str(small_csv), "--test", "none", "--hidden", "8", "--epochs", "1",
                   "--out", str(tmp_path / "m.npz"), env={"NN_CACHE_DIR": str(tmp_path / ("c" * 300))})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.npz").exists()


def shell(command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """A real shell, for what only a shell can set up: closed descriptors, pipes, /dev/full."""
    return subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHON": sys.executable})


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_never_stops_training_nor_prints_a_traceback(tmp_path, small_csv,
                                                                                 old_model):
    model, _ = old_model
    run = (f'"$PYTHON" train.py --data {small_csv} --test none --hidden 16 --epochs 2 --plots none '
           f'--out {tmp_path}/m.npz')
    closed = shell(f"{run} 2>&-")  # stderr closed: the progress bar must not stop the run
    assert closed.returncode == 0, closed.stdout and (tmp_path / "m.npz").exists()
    (tmp_path / "m.npz").unlink()
    full = shell(f"{run} > /dev/full")  # a full disk on stdout
    assert full.returncode == 0 and (tmp_path / "m.npz").exists()
    assert "Traceback" not in full.stderr and "cannot write to standard output" in full.stderr
    predict = shell(f'"$PYTHON" -m nn predict {small_csv} --model {model} > /dev/full')
    assert predict.returncode == 2 and "Traceback" not in predict.stderr
    assert predict.stderr.strip() == "python -m nn: error: standard output: No space left on device"


def test_a_closed_pipe_ends_the_output_quietly(tmp_path):
    from PIL import Image

    Image.new("L", (28, 28), 255).save(tmp_path / "blank.png")
    Image.fromarray(np.pad(np.full((20, 4), 0, np.uint8), 4, constant_values=255)).save(tmp_path / "one.png")
    files = " ".join(["one.png"] * 3000)
    result = shell(f'cd {tmp_path} && "$PYTHON" {REPO / "draw.py"} --model {PRETRAINED} --predict {files} '
                   '| head -1; echo "status ${PIPESTATUS[0]}" >&2')
    assert result.stdout.count("\n") == 1
    assert result.stderr.strip() == "status 141", result.stderr  # quiet, like other tools


def test_a_run_whose_last_step_blows_up_saves_nothing(tmp_path, small_csv, old_model):
    model, before = old_model
    result = train("--data", str(small_csv), "--test", "none", "--batch-size", "0", "--epochs", "1",
                   "--optimizer", "sgd", "--lr", "1e30", "--out", str(model))
    line = assert_user_error(result)
    assert "diverged" in line or "not saved" in line
    assert model.read_bytes() == before


def test_a_run_that_learns_nothing_keeps_the_old_model(tmp_path, small_csv, old_model):
    model, before = old_model
    result = train("--data", str(small_csv), "--test", "none", "--loss", "mse", "--lr", "500",
                   "--epochs", "2", "--out", str(model))
    assert_user_error(result, "training learned nothing", "no better than always answering",
                      "was not saved", "--lr 50")
    assert model.read_bytes() == before


def test_resume_converts_to_the_dtype_asked_for(tmp_path, small_csv, old_model):
    from nn.files.model_file import load_model

    model, _ = old_model
    out = tmp_path / "m64.npz"
    result = train("--data", str(small_csv), "--test", "none", "--epochs", "1", "--resume", str(model),
                   "--dtype", "float64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "converted from float32 to float64" in result.stdout
    assert load_model(out)[0].dtype == np.float64


@pytest.mark.parametrize("value, fragment", [("inf", "'inf'"), ("1e400", "'1e400'"), ("nan", "'nan'"),
                                             ("99999", "asks for 99,999 validation rows, but the training "
                                                       "data has only 1,500 rows")])
def test_val_split_values_are_checked(tmp_path, small_csv, value, fragment):
    assert_user_error(train("--data", str(small_csv), "--test", "none", "--val-split", value,
                            "--out", str(tmp_path / "m.npz")), fragment)


def test_names_that_break_lines_or_encodings_still_give_one_line(tmp_path, small_csv):
    from conftest import run_command

    odd = tmp_path / "no\nsuch.csv"
    line = assert_user_error(train("--data", str(odd), "--test", "none"))
    assert "no\\nsuch.csv" in line
    unicode = tmp_path / "dätä ünï.csv"
    unicode.write_bytes(small_csv.read_bytes())
    result = run_command("-m", "nn", "predict", str(unicode), "--model", PRETRAINED,
                         env={"PYTHONIOENCODING": "ascii"}, fresh=True)
    assert result.returncode == 0, result.stderr
    assert "d\\xe4t\\xe4" in result.stdout  # shown escaped, not a UnicodeEncodeError


def test_an_unknown_matplotlib_backend_does_not_stop_a_run(tmp_path, small_csv):
    result = train("--data", str(small_csv), "--test", "none", "--hidden", "8", "--epochs", "1",
                   "--out", str(tmp_path / "m.npz"), "--plots", str(tmp_path), env={"MPLBACKEND": "bogus"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "training_curves.png").exists()


def test_outputs_named_like_folders_and_networks_too_big_are_refused_at_once(tmp_path, small_csv):
    from conftest import run_command

    assert_user_error(train("--data", str(small_csv), "--out", str(tmp_path / "newdir") + "/"),
                      "names a folder")
    assert not (tmp_path / "newdir").exists()
    assert_user_error(run_command("-m", "nn", "predict", str(small_csv), "--out", str(tmp_path) + "/"),
                      "names a folder")
    for hidden in ("100000000", "1" + "0" * 30):
        line = assert_user_error(train("--data", str(small_csv), "--hidden", "16", hidden))
        assert "more than the 50,000,000 this program trains" in line
        assert line.startswith(f"train.py: error: --hidden 16 {hidden}: a 784-16-")  # the flag it came from
    line = assert_user_error(train("--data", str(small_csv), "--conv", "2000", "2000"))
    assert line.startswith("train.py: error: --conv 2000 2000 --hidden 128: ")
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    assert_user_error(train("--data", str(loop), "--test", "none"), "symbolic links")


def test_a_run_from_a_deleted_folder_names_what_failed(tmp_path, small_csv):
    gone = tmp_path / "gone"
    gone.mkdir()
    result = shell(f'cd {gone} && rmdir {gone} && "$PYTHON" {REPO / "train.py"} --data {small_csv} '
                   f'--test none --hidden 8 --epochs 1 --plots none --out {tmp_path}/m.npz')
    assert result.returncode == 0, result.stderr  # every path given is absolute: nothing needs the folder
    assert (tmp_path / "m.npz").exists()


def test_ctrl_c_during_the_final_test_still_saves_the_model(tmp_path, small_csv, mnist_test):
    import signal

    from nn.files.digits_csv import load_csv, write_csv
    from nn.files.model_file import load_model

    big_test = tmp_path / "big_test.csv"
    write_csv(big_test, np.tile(mnist_test.images[:5000], (4, 1)), np.tile(mnist_test.labels[:5000], 4))
    load_csv(big_test)  # parsed and cached now: the run below reads it at once
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--data", str(small_csv), "--test", str(big_test),
         "--hidden", "1024", "--epochs", "1", "--val-split", "100",  # no test after the epoch
         "--plots", "none", "--out", str(tmp_path / "m.npz")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("Training took"):
            process.send_signal(signal.SIGINT)  # while the 20,000 test rows are being predicted
            break
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert (tmp_path / "m.npz").exists(), (stdout, stderr)
    if "skipping the test" in stdout:  # the press landed in the test, as meant
        assert load_model(tmp_path / "m.npz")[1].training["interrupted"] is True
    assert (tmp_path / "m.npz").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limits as Linux has them")
@pytest.mark.parametrize("megabytes", [150, 230, 330])  # Python itself; the libraries; the data
@pytest.mark.parametrize("command", ["train", "predict"])
def test_a_memory_limit_gives_one_line_never_a_crash(tmp_path, small_csv, command, megabytes):
    """Under `ulimit -v`, whatever runs out (the libraries, OpenBLAS's own buffers, the data, the
    training) ends in one line saying what ran out, and status 2: not a traceback, not OpenBLAS's
    message and status 1."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    args = (["train.py", "--data", str(REPO / "data" / "mnist_train.csv.gz"), "--epochs", "1",
             "--out", str(tmp_path / "m.npz"), "--plots", "none"] if command == "train"
            else ["-m", "nn", "predict", str(REPO / "data" / "mnist_test.csv.gz"), "--model", PRETRAINED])
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120,
                            preexec_fn=limit, env={**os.environ, "NN_CACHE_DIR": str(tmp_path / "cache")})
    if result.returncode == 0:
        return  # enough memory at this limit on this machine
    line = assert_user_error(result)
    assert "memory" in line, line
