"""train.py as a user runs it: a subprocess, its output, its files, its exit status."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, assert_user_error, run_command
from nn.files.digits_csv import write_csv
from nn.files.model_file import load_model


@pytest.fixture(scope="module")
def small_csvs(tmp_path_factory, mnist_test):
    """2,000 training rows and 500 test rows from the bundled test set, as .csv.gz files."""
    folder = tmp_path_factory.mktemp("csv")
    write_csv(folder / "train.csv.gz", mnist_test.images[:2000], mnist_test.labels[:2000])
    write_csv(folder / "test.csv.gz", mnist_test.images[9500:], mnist_test.labels[9500:])
    return folder / "train.csv.gz", folder / "test.csv.gz"


def train(tmp_path, small_csvs, *extra, cwd=None, out="m.npz"):
    train_csv, test_csv = small_csvs
    return run_command(str(REPO / "train.py"), "--data", str(train_csv), "--test", str(test_csv),
                       "--hidden", "24", "--epochs", "2", "--out", str(tmp_path / out),
                       "--plots", str(tmp_path), *extra, cwd=cwd)


def test_a_short_run_trains_tests_saves_and_plots(tmp_path, small_csvs):
    plots = tmp_path / "new" / "plots"  # a folder that does not exist yet: made, with its parent
    result = train(tmp_path, small_csvs, "--val-split", "0.1", "--batch-size", "32", "--plots", str(plots),
                   cwd=tmp_path)  # run from another folder than the repository
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Training data:" in out and "2,000 labeled images" in out
    assert "Validation: 200 rows held out, 1,800 left for training" in out
    assert "Network(784-24-10, relu, softmax + cross_entropy" in out
    assert out.count("epoch ") >= 2 and "val " in out
    line = next(l for l in out.splitlines() if l.startswith("Test accuracy:"))
    accuracy = float(line.split()[2].rstrip("%"))
    assert 70 < accuracy <= 100 and line.endswith("(500 images)")
    net, info = load_model(tmp_path / "m.npz")
    assert net.sizes == [784, 24, 10]
    assert info.accuracy["test"] == pytest.approx(accuracy / 100, abs=5e-5)
    assert info.data["train"]["rows"] == 2000 and len(info.data["train"]["sha256"]) == 64
    assert info.data["test"]["rows"] == 500 and info.data["validation_rows"] == 200
    assert info.training["hidden"] == [24] and len(info.training["history"]) == 2
    for name in ("training_curves", "confusion_matrix", "test_predictions", "weights"):
        assert (plots / f"{name}.png").stat().st_size > 5000


@pytest.mark.parametrize("flag", ["--show", "--live-plot"])
def test_showing_plots_that_are_not_drawn_is_refused(tmp_path, small_csvs, flag):
    result = train(tmp_path, small_csvs, "--plots", "none", flag)
    assert_user_error(result, "--show and --live-plot show the plots: leave out --plots none")
    assert not (tmp_path / "m.npz").exists()


def test_each_epoch_reports_the_test_set_and_stale_pictures_are_removed(tmp_path, small_csvs):
    result = train(tmp_path, small_csvs, "--epochs", "1")
    assert result.returncode == 0, result.stderr
    epoch = next(l for l in result.stdout.splitlines() if l.startswith("epoch"))
    assert "  test " in epoch  # measured after every epoch, for the curves
    final = next(l for l in result.stdout.splitlines() if l.startswith("Test accuracy:")).split()[2]
    assert epoch.split("test")[1].split()[0] == final  # the last epoch's test figure is the final one
    assert (tmp_path / "confusion_matrix.png").exists()
    again = run_command(str(REPO / "train.py"), "--data", str(small_csvs[0]), "--test", "none",
                        "--hidden", "24", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
                        "--plots", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "Removed, from an earlier run:" in again.stdout
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["training_curves.png", "weights.png"]


def test_full_batch_prints_iterations(tmp_path, small_csvs):
    result = train(tmp_path, small_csvs, "--batch-size", "0", "--iterations", "20",
                   "--print-every", "5", "--lr", "0.5", "--plots", "none")
    assert result.returncode == 0, result.stderr
    printed = [l.split()[1] for l in result.stdout.splitlines() if l.startswith("iteration")]
    assert printed == ["1/20", "5/20", "10/20", "15/20", "20/20"]
    assert not list(tmp_path.glob("*.png"))


def test_resume_continues_the_saved_network(tmp_path, small_csvs):
    assert train(tmp_path, small_csvs, "--plots", "none").returncode == 0
    before, _ = load_model(tmp_path / "m.npz")
    result = train(tmp_path, small_csvs, "--resume", str(tmp_path / "m.npz"), "--hidden", "24",
                   "--plots", "none", out="m2.npz")
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout
    after, info = load_model(tmp_path / "m2.npz")
    assert after.sizes == before.sizes and not np.array_equal(after.weights[0], before.weights[0])
    assert info.training["resumed_from"]["path"].endswith("m.npz")
    mismatch = train(tmp_path, small_csvs, "--resume", str(tmp_path / "m.npz"), "--hidden", "30")
    assert_user_error(mismatch, "--hidden 30 does not match the resumed model")


def test_divergence_saves_nothing_over_the_existing_model(tmp_path, small_csvs):
    from nn.files.model_file import ModelInfo, save_model
    from nn.network import Network

    precious = Network([784, 5, 10], seed=9)
    save_model(tmp_path / "m.npz", precious, ModelInfo(sizes=precious.sizes, activation="relu",
                                                       loss="cross_entropy"))
    before = (tmp_path / "m.npz").read_bytes()
    result = train(tmp_path, small_csvs, "--lr", "1e6", "--schedule", "constant")
    assert_user_error(result, "diverged", "try --lr 100000")
    assert (tmp_path / "m.npz").read_bytes() == before


def test_a_file_of_another_kind_is_never_replaced_by_an_output(tmp_path, small_csvs):
    """A CSV given as --out, a model given as a screenshot's name: refused, untouched."""
    notes = tmp_path / "notes.csv"
    notes.write_text("my,precious,data\n")
    assert_user_error(train(tmp_path, small_csvs, out="notes.csv"), "already exists and is not a model file")
    model = REPO / "data" / "pretrained.npz"
    copy = tmp_path / "copy.npz"
    copy.write_bytes(model.read_bytes())
    for name in ("copy.npz", "notes.csv"):
        assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(tmp_path / name)),
                          "a screenshot is a picture")
    (tmp_path / "shot.png").write_text("not a picture")
    assert_user_error(run_command("draw.py", "--model", str(model), "--screenshot", str(tmp_path / "shot.png")),
                      "already exists and is not a picture file")
    assert notes.read_text() == "my,precious,data\n" and copy.read_bytes() == model.read_bytes()


@pytest.mark.parametrize("network", [["--hidden", "24"], ["--conv", "4", "--kernel", "3", "--hidden", "8"]],
                         ids=["mlp", "cnn"])
def test_ctrl_c_saves_the_best_model_and_exits_cleanly(tmp_path, small_csvs, network):
    """A CNN's batch runs as two halves on worker threads: Ctrl-C still stops after the batch."""
    train_csv, test_csv = small_csvs
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "--data", str(train_csv), "--test", str(test_csv),
         *network, "--epochs", "1000", "--out", str(tmp_path / "m.npz"), "--plots", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until an epoch has finished, then press Ctrl-C
        if line.startswith("epoch   2/"):
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "Interrupted: keeping the weights of epoch" in out and "Test accuracy:" in out
    net, info = load_model(tmp_path / "m.npz")
    assert info.training["interrupted"] is True and info.training["epochs_run"] >= 2


def test_unlabeled_training_file_is_refused(tmp_path, mnist_test):
    write_csv(tmp_path / "u.csv", mnist_test.images[:50], None)
    result = run_command(str(REPO / "train.py"), "--data", str(tmp_path / "u.csv"), "--test", "none",
                         "--out", str(tmp_path / "m.npz"))
    assert_user_error(result, "u.csv: has no label column")


def test_help_lists_every_group():
    result = run_command(str(REPO / "train.py"), "--help")
    assert result.returncode == 0
    for flag in ("--data", "--test", "--label-column", "--val-split", "--hidden", "--activation",
                 "--loss", "--optimizer", "--lr", "--momentum", "--weight-decay", "--schedule",
                 "--batch-size", "--epochs", "--print-every", "--seed", "--resume", "--out",
                 "--plots", "--show", "--live-plot"):
        assert flag in result.stdout


def test_every_command_has_help_that_lists_what_the_readme_uses():
    tools = run_command("-m", "nn", "--help")
    assert tools.returncode == 0
    for command in ("predict", "convert-idx", "bench", "train.py", "draw.py --web"):
        assert command in tools.stdout
    version = run_command("-m", "nn", "--version")
    assert version.returncode == 0 and version.stdout.startswith("nn ")
    draw = run_command(str(REPO / "draw.py"), "--help")
    assert draw.returncode == 0
    keys = draw.stdout.split("the window's keys:")[1]
    for key in ("left mouse", "right mouse", "S ", "C, Backspace", "L ", "V ", "0-9", "Esc"):
        assert f"\n  {key}" in keys, key


def train_cnn(tmp_path, small_csvs, *extra, out="cnn.npz"):
    train_csv, test_csv = small_csvs
    return run_command(str(REPO / "train.py"), "--data", str(train_csv), "--test", str(test_csv),
                       "--conv", "4", "6", "--kernel", "3", "--hidden", "16", "--epochs", "2",
                       "--batch-size", "64", "--out", str(tmp_path / out), "--plots", str(tmp_path), *extra)


def test_a_cnn_trains_tests_saves_plots_and_resumes(tmp_path, small_csvs):
    result = train_cnn(tmp_path, small_csvs, "--val-split", "0.1", "--augment")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Network(conv 4-6 (3x3), dense 294-16-10, relu, softmax + cross_entropy" in out
    assert "Layers: Unflatten(28x28x1) -> Conv2D(1 -> 4, 3x3) -> relu -> MaxPool2D(2x2) -> " in out
    assert "momentum (lr 0.05, cosine)" in out  # a CNN's default learning rate
    accuracy = float(next(l for l in out.splitlines() if l.startswith("Test accuracy:")).split()[2].rstrip("%"))
    assert accuracy > 50
    net, info = load_model(tmp_path / "cnn.npz")
    assert (net.conv, net.kernel, net.sizes) == ([4, 6], 3, [784, 16, 10]) and info.format_version == 2
    assert info.training["conv"] == [4, 6] and info.training["augment"] == "affine,stroke"
    assert (tmp_path / "weights.png").stat().st_size > 5000

    resumed = run_command(str(REPO / "train.py"), "--data", str(small_csvs[0]), "--test", "none",
                          "--resume", str(tmp_path / "cnn.npz"), "--epochs", "1", "--plots", "none",
                          "--out", str(tmp_path / "again.npz"))
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stdout and "lr 0.05" in resumed.stdout
    again, _ = load_model(tmp_path / "again.npz")
    assert again.conv == [4, 6] and not np.array_equal(again.weights[0], net.weights[0])
    mismatch = run_command(str(REPO / "train.py"), "--resume", str(tmp_path / "cnn.npz"), "--conv", "8",
                           "--out", str(tmp_path / "x.npz"))
    assert_user_error(mismatch, "--conv 8 does not match the resumed model")


@pytest.mark.parametrize("flags, fragment", [
    (["--conv", "16", "32", "--kernel", "0"], "--kernel: must be a positive integer, got 0"),
    (["--conv", "16", "32", "--kernel", "30"], "--kernel 30 is larger than the 28x28 image"),
    (["--conv", "16", "32", "--kernel", "4"], "--kernel 4: the kernel's side must be odd"),
    (["--conv", "8", "8", "8", "8", "8"], "the fifth would see 1x1, too small to pool (at most 4 fit)"),
    (["--conv", "0"], "--conv: must be a positive integer, got 0"),
    (["--conv"], "--conv: expected at least one argument"),
    (["--kernel", "3"], "--kernel sets the size of the convolutions' kernels: give --conv too"),
    (["--conv", "4000", "4000"], "parameters, more than the 50,000,000"),
])
def test_convolutions_that_cannot_fit_are_refused_before_any_data_is_read(tmp_path, flags, fragment):
    result = run_command(str(REPO / "train.py"), "--data", str(tmp_path / "not-there.csv"), *flags,
                         "--out", str(tmp_path / "m.npz"))
    assert_user_error(result, fragment)
    assert not (tmp_path / "m.npz").exists()


def test_a_cnn_too_big_for_memory_is_refused_before_it_allocates(tmp_path, small_csvs):
    """Full batch: every row's im2col at once, about 128 GB for these 2,000 rows."""
    result = train_cnn(tmp_path, small_csvs, "--batch-size", "0", "--conv", "1024", "1024", "--kernel", "5")
    assert_user_error(result, "would need about", "GB of memory", "use a smaller --batch-size or fewer --conv")
    assert not (tmp_path / "cnn.npz").exists()


def test_hidden_alone_or_zero_means_no_hidden_layer():
    import train

    def hidden(*flags):
        return train.training_config(train.parse_args(["--hidden", *flags])).hidden

    assert hidden() == hidden("0") == []


def test_no_hidden_layer_is_logistic_regression_and_works_everywhere(tmp_path, small_csvs):
    """784-10: the pixels straight to the outputs. It trains, saves, plots its ten weight squares
    as the outputs they are, and every front end reads it. (--hidden alone means the same:
    the test above.)"""
    result = run_command(str(REPO / "train.py"), "--data", str(small_csvs[0]), "--test", str(small_csvs[1]),
                         "--hidden", "--epochs", "2", "--out", str(tmp_path / "m.npz"), "--plots", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Network(784-10, relu, softmax + cross_entropy, 7,850 parameters, float32)" in result.stdout
    net, info = load_model(tmp_path / "m.npz")
    assert net.sizes == [784, 10] and info.training["hidden"] == []
    assert (tmp_path / "weights.png").stat().st_size > 5000
    predicted = run_command("-m", "nn", "predict", str(small_csvs[1]), "--model", str(tmp_path / "m.npz"))
    assert predicted.returncode == 0 and "(784-10, relu" in predicted.stdout
    shot = run_command("draw.py", "--model", str(tmp_path / "m.npz"), "--screenshot", str(tmp_path / "w.png"),
                       "--inside")
    assert shot.returncode == 0, shot.stderr
    resumed = run_command(str(REPO / "train.py"), "--data", str(small_csvs[0]), "--test", "none",
                          "--resume", str(tmp_path / "m.npz"), "--hidden", "0", "--epochs", "1",
                          "--plots", "none", "--out", str(tmp_path / "again.npz"))
    assert resumed.returncode == 0, resumed.stderr


def test_testing_on_the_training_data_says_it_is_no_test(tmp_path, small_csvs):
    """--test the same content as --data (here a copy under another name): one warning line."""
    import shutil

    copy = tmp_path / "copy.csv.gz"
    shutil.copy(small_csvs[0], copy)
    result = run_command(str(REPO / "train.py"), "--data", str(small_csvs[0]), "--test", str(copy),
                         "--hidden", "8", "--epochs", "1", "--out", str(tmp_path / "m.npz"), "--plots", "none")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"train.py: warning: {copy} has the same content as training data, so its accuracy says how well "
        "the network learned those digits, not how it reads new ones (give another --test, or --val-split)"]
