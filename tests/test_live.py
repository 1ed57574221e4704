"""Training from the page (nn/session/trainer.py): the settings as train.py reads them, and /api/train
against a real server: start, progress, stop, 409, bad settings, save, switch, a closed tab."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest

import train as train_script
from conftest import digit_rows, running_page, session_for, write_csv
from nn.errors import UsageError
from nn.files.model_file import load_model
from nn.session.trainer import read_settings, weights_picture
from nn.training import CONV_HIDDEN, CONV_LR, DEFAULT_LR, FULL_BATCH_EPOCHS, TrainConfig
from test_web import call, demo_grid

# -- the settings: train.py's, from JSON -----------------------------------------------------------

@pytest.mark.parametrize("flags, settings", [
    ([], {}),
    (["--hidden", "64"], {"hidden": [64]}),
    (["--hidden", "0"], {"hidden": [0]}),
    (["--hidden", "32", "16", "--activation", "tanh", "--optimizer", "adam"],
     {"hidden": [32, 16], "activation": "tanh", "optimizer": "adam"}),
    (["--conv", "8", "16"], {"conv": [8, 16]}),
    (["--conv", "4", "--kernel", "3", "--hidden", "20", "--lr", "0.01"],
     {"conv": [4], "kernel": 3, "hidden": [20], "lr": 0.01}),
    (["--batch-size", "0"], {"batch_size": 0}),
    (["--augment"], {"augment": True}),
    (["--augment", "elastic"], {"augment": "elastic"}),
    (["--epochs", "2", "--seed", "3", "--momentum", "0.5", "--weight-decay", "0.001", "--schedule", "constant",
      "--warmup", "10", "--val-split", "0.1", "--dtype", "float64", "--loss", "mse"],
     {"epochs": 2, "seed": 3, "momentum": 0.5, "weight_decay": 0.001, "schedule": "constant", "warmup": 10,
      "val_split": 0.1, "dtype": "float64", "loss": "mse"}),
])
def test_the_page_s_settings_are_train_py_s_flags(flags, settings):
    expected = train_script.training_config(train_script.parse_args(flags))
    assert read_settings(settings) == expected


def test_left_out_settings_take_train_py_s_defaults():
    assert read_settings({}) == TrainConfig()
    cnn = read_settings({"conv": [16, 32]})
    assert cnn.hidden == CONV_HIDDEN and cnn.lr == CONV_LR["momentum"]
    assert read_settings({"optimizer": "adam"}).lr == DEFAULT_LR["adam"]
    assert read_settings({"batch_size": 0}).epochs == FULL_BATCH_EPOCHS
    assert read_settings({"hidden": None, "epochs": None}) == TrainConfig()  # null: left out


@pytest.mark.parametrize("settings, reason", [
    ({"hiden": [64]}, "unknown setting 'hiden'"),
    ({"hidden": 64}, "hidden: give a list of whole numbers"),
    ({"hidden": ["64"]}, "hidden: give a list of whole numbers"),
    ({"hidden": [64.5]}, "hidden: give a list of whole numbers"),
    ({"hidden": [-3]}, "hidden: must be an integer >= 0"),
    ({"hidden": [0, 16]}, "hidden: 0 means no hidden layer, so it stands alone"),
    ({"hidden": [100_000, 1000]}, "--hidden 100000 1000: a 784-100000-1000-10 network has"),
    ({"conv": [0]}, "conv: must be a positive integer"),
    ({"conv": [8], "kernel": 4}, "--kernel 4: the kernel's side must be odd"),
    ({"conv": [4, 4, 4, 4, 4, 4]}, "do not fit a 28x28 image"),
    ({"kernel": 3}, "kernel sets the size of the convolutions' kernels: give conv too"),
    ({"activation": "swish"}, "activation: 'swish' is not one of relu"),
    ({"optimizer": 3}, "optimizer: 3 is not one of"),
    ({"activation": [1, 2]}, "activation: [1, 2] is not one of"),
    ({"loss": {"a": 1}}, "loss: {'a': 1} is not one of"),
    ({"weight_decay": 1e300}, "weight_decay 1e+300 is too strong for lr 0.2: each step would take"),
    ({"weight_decay": 6}, "give a weight decay below 5 (usual"),
    ({"weight_decay": 0.004, "lr": 500.0}, "weight_decay 0.004 is too strong for lr 500"),
    ({"lr": 0}, "lr: must be a positive number"),
    ({"lr": "fast"}, "lr: give a number, not 'fast'"),
    ({"lr": True}, "lr: give a number, not True"),
    ({"epochs": 0}, "epochs: must be a positive integer"),
    ({"epochs": 2.5}, "epochs: give a whole number"),
    ({"batch_size": -1}, "batch_size: must be an integer >= 0"),
    ({"momentum": 1}, "momentum: must be at least 0 and below 1"),
    ({"val_split": 1.5}, "val_split: must be a fraction between 0 and 1"),
    ({"augment": "wobble"}, "augment: unknown distortion 'wobble'"),
    ({"augment": 1}, "augment: give true, false or kinds"),
])
def test_settings_train_py_would_refuse_are_refused_with_the_reason(settings, reason):
    with pytest.raises(UsageError, match=None) as refused:
        read_settings(settings)
    assert reason in str(refused.value)


@pytest.mark.parametrize("value", ["x" * 5000, list(range(5000)), int("9" * 4000), 1e300, {"a": [1] * 3000},
                                   [[1] * 100] * 100, -1e300, None])
def test_every_setting_refused_is_named_in_a_short_reason(value):
    """A value 5,000 characters long, a list, an object, a huge number: the reason names the setting
    and stays short (the value is cut, with its length), and nothing but a UsageError comes out."""
    from nn.session.trainer import SETTINGS

    for name in [*SETTINGS, "x" * 5000]:
        try:
            read_settings({name: value})
        except UsageError as e:
            reason = str(e)
            assert len(reason) < 300 and "\n" not in reason, (name[:20], reason[:400])
            assert reason.startswith((name, f"--{name.replace('_', '-')}", "unknown setting")), reason


def test_the_weights_are_pictured_on_one_scale_with_zero_in_the_middle():
    W = np.zeros((784, 3), np.float32)
    W[0, 0], W[5, 1], W[7, 2] = 2.0, -2.0, 1.0
    picture = weights_picture(W)
    levels = np.frombuffer(base64.b64decode(picture["levels"]), np.uint8).reshape(3, 28, 28)
    assert picture["units"] == picture["of"] == 3 and picture["side"] == 28 and picture["limit"] == 2.0
    assert levels[0, 0, 0] == 255 and levels[1, 0, 5] == 0 and levels[2, 0, 7] == 191
    assert np.count_nonzero(levels == 128) == 3 * 784 - 3  # zero is the middle level
    wide = weights_picture(np.ones((784, 300), np.float32))
    assert (wide["units"], wide["of"]) == (100, 300)  # the first 100, as the page says
    filters = weights_picture(np.arange(5 * 5 * 1 * 4, dtype=np.float32).reshape(5, 5, 1, 4))
    levels = np.frombuffer(base64.b64decode(filters["levels"]), np.uint8).reshape(4, 5, 5)
    assert (filters["units"], filters["side"]) == (4, 5) and levels[3, 4, 4] == 255  # filter 3, its last weight


# -- /api/train against a real server --------------------------------------------------------------

@pytest.fixture(scope="module")
def small_files(mnist_test, tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    train = write_csv(folder / "train.csv", digit_rows(mnist_test.images[:1500], mnist_test.labels[:1500]))
    test = write_csv(folder / "test.csv", digit_rows(mnist_test.images[9000:9500], mnist_test.labels[9000:9500]))
    return train, test


@pytest.fixture
def page(small_model, small_files, tmp_path):
    """A server as draw.py --web starts it: a teacher and a trainer, with small training files."""
    _, net = small_model
    session = session_for(net, "small.npz", tmp_path / "custom_digits.csv", accuracy=0.9,
                          data=[small_files[0]], test=small_files[1])
    with running_page(session) as server:
        yield server


def wait_for(server, *states, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, reply, _ = call(server, "GET", "/api/train")
        assert status == 200
        if reply["state"] in states:
            return reply
        time.sleep(0.05)
    raise AssertionError(f"still {reply['state']} after {timeout} s")


def test_a_run_trains_reports_every_batch_and_epoch_and_can_be_used_and_saved(page, tmp_path):
    status, idle, _ = call(page, "GET", "/api/train")
    assert status == 200 and idle["state"] == "idle" and not idle["trained"]
    assert idle["defaults"] == TrainConfig().as_dict() and "relu" in idle["choices"]["activation"]

    status, reply, _ = call(page, "POST", "/api/train", {"hidden": [24], "epochs": 3, "batch_size": 100})
    assert (status, reply) == (202, {"state": "running"})
    done = wait_for(page, "done")
    assert (done["epoch"], done["epochs"], done["step"], done["steps"]) == (3, 3, 45, 45)
    assert len(done["loss"]) == 45 and done["loss_from"] == 0 and done["loss"][-1] < done["loss"][0]
    history = done["history"]
    assert history["epoch"] == [1, 2, 3] and len(history["test_accuracy"]) == 3
    assert history["train_loss"][2] < history["train_loss"][0]
    assert 0.7 < done["test_accuracy"] <= 1 and done["shape"] == "784-24-10" and done["rows"] == 1500
    confusion = np.array(done["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 500
    assert np.trace(confusion) / 500 == pytest.approx(done["test_accuracy"])
    later = call(page, "GET", "/api/train?since=40&weights=1")[1]
    assert later["loss_from"] == 40 and later["loss"] == done["loss"][40:]
    assert later["weights"]["units"] == 24 and later["weights"]["side"] == 28

    # the page still guesses with the model it had, until it is told to switch
    assert call(page, "GET", "/api/model")[1]["name"] == "small.npz"
    status, used, _ = call(page, "POST", "/api/train/use", {"use": "trained"})
    assert status == 200 and used["using_trained"] and "784-24-10 trained here" in used["model"]
    model = call(page, "GET", "/api/model")[1]
    assert model["shape"] == "784-24-10" and model["accuracy"] == pytest.approx(done["test_accuracy"])
    assert call(page, "POST", "/api/predict", {"grid": demo_grid(1)})[0] == 200

    status, saved, _ = call(page, "POST", "/api/train/save", {})
    assert status == 200 and saved["saved"] == str(tmp_path / "model.npz")
    assert call(page, "GET", "/api/model")[1]["name"] == str(tmp_path / "model.npz")
    net, info = load_model(tmp_path / "model.npz")
    assert net.sizes == [784, 24, 10] and info.accuracy["test"] == pytest.approx(done["test_accuracy"])
    assert info.training["epochs_run"] == 3 and len(info.training["history"]) == 3

    status, back, _ = call(page, "POST", "/api/train/use", {"use": "previous"})
    assert status == 200 and back["model"] == "small.npz" and not back["using_trained"]
    assert call(page, "GET", "/api/model")[1]["name"] == "small.npz"


def test_one_job_at_a_time_and_stop_keeps_the_best_weights(page, tmp_path):
    assert call(page, "POST", "/api/train", {"hidden": [8], "epochs": 500, "batch_size": 10})[0] == 202
    running = wait_for(page, "running")
    assert running["state"] == "running"
    status, reply, _ = call(page, "POST", "/api/train", {})
    assert status == 409 and "training is running already" in reply["error"] and "DELETE /api/train" in reply["error"]
    status, reply, _ = call(page, "POST", "/api/teach", {})
    assert status == 409 and "training is running already" in reply["error"]
    assert call(page, "POST", "/api/train/save", {})[0] == 409
    assert call(page, "POST", "/api/train/use", {"use": "trained"})[0] == 409
    assert call(page, "POST", "/api/predict", {"grid": demo_grid(7)})[0] == 200  # it still guesses
    while call(page, "GET", "/api/train")[1]["step"] < 160:  # past the first epoch
        time.sleep(0.02)
    status, reply, _ = call(page, "DELETE", "/api/train")
    assert status == 200
    stopped = wait_for(page, "stopped")
    assert stopped["trained"] and stopped["best_epoch"] >= 1 and stopped["stopped_because"] is None
    assert stopped["test_accuracy"] is not None and stopped["epoch"] < 500
    assert call(page, "POST", "/api/train/save", {})[0] == 200  # a stopped run can be saved
    assert load_model(tmp_path / "model.npz")[1].training["interrupted"] is True


def test_a_run_nobody_watches_stops_and_waits_to_be_used(page):
    page.session.trainer.unwatched = 0.3
    assert call(page, "POST", "/api/train", {"hidden": [8], "epochs": 500, "batch_size": 10})[0] == 202
    assert page.session.trainer.job.wait(30)  # nobody asks: it stops by itself
    reply = call(page, "GET", "/api/train")[1]
    assert reply["state"] == "stopped" and reply["stopped_because"] == "nobody watched it for 0.3 s"
    assert reply["trained"] and reply["epoch"] < 500


@pytest.mark.parametrize("settings, reason", [
    ({"hidden": [16], "epochs": "two"}, "epochs: give a whole number"),
    ({"hidden": [16], "warmup": 1000, "epochs": 1}, "--warmup 1,000 steps is as long as the whole run (12 steps)"),
    ({"val_split": 2000}, "--val-split 2000 asks for 2,000 validation rows"),
    ({"hidden": [10_000, 10_000]}, "more than the"),
])
def test_bad_settings_get_400_with_the_reason_and_start_nothing(page, settings, reason):
    status, reply, _ = call(page, "POST", "/api/train", settings)
    assert status == 400 and reason in reply["error"]
    assert call(page, "GET", "/api/train")[1]["state"] == "idle"


def test_a_run_that_blows_up_says_why_and_the_terminal_stays_quiet(small_files, tmp_path):
    """draw.py --web as a user starts it: runs whose weights overflow (the learning rate far too
    high, step by step and full batch) fail with one line naming the setting to change, and the
    server's terminal shows its own lines only, none of NumPy's warnings."""
    import json
    import signal
    import urllib.request

    from test_web import start_command

    process, url = start_command("--port", "0", "--data", str(small_files[0]), "--test", "none",
                                 "--custom-csv", str(tmp_path / "c.csv"), "--out", str(tmp_path / "m.npz"))

    def ask(method: str, path: str, body=None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url + path, data, {"Content-Type": "application/json"}, method=method)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    try:
        for settings, blamed in [({"hidden": [16], "epochs": 1, "lr": 1e38, "optimizer": "sgd"}, "learning rate 1e+38"),
                                 ({"hidden": [16], "epochs": 1, "lr": 1e20, "optimizer": "adam"}, "learning rate 1e+20"),
                                 ({"hidden": [16], "epochs": 3, "lr": 1e30, "batch_size": 0}, "learning rate 1e+30")]:
            ask("POST", "/api/train", settings)
            deadline = time.monotonic() + 60  # a guard against a hang
            while (state := ask("GET", "/api/train"))["state"] == "running" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert state["state"] == "failed" and blamed in state["error"], state["error"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert stderr == "", stderr


def test_other_sites_cannot_train_and_nothing_is_saved_before_training(page, tmp_path):
    status, reply, _ = call(page, "POST", "/api/train", {}, headers={"Origin": "http://evil.example"})
    assert status == 403 and call(page, "GET", "/api/train")[1]["state"] == "idle"
    status, _, _ = call(page, "GET", "/api/train", headers={"Host": "evil.example:80"})
    assert status == 403
    status, reply, _ = call(page, "POST", "/api/train/save", {})
    assert status == 409 and "no trained network to save yet" in reply["error"]
    assert call(page, "POST", "/api/train/use", {"use": "nonsense"})[0] == 409
    status, _, _ = call(page, "GET", "/api/train?since=-1")
    assert status == 400
    assert not (tmp_path / "model.npz").exists()


def test_a_save_that_cannot_be_written_keeps_the_file_and_says_why(page, tmp_path):
    assert call(page, "POST", "/api/train", {"hidden": [8], "epochs": 1})[0] == 202
    wait_for(page, "done")
    (tmp_path / "model.npz").mkdir()  # a folder where the model would go
    status, reply, _ = call(page, "POST", "/api/train/save", {})
    assert status == 400 and "model.npz" in reply["error"]
    assert (tmp_path / "model.npz").is_dir()


def test_stopping_the_server_stops_the_run(page):
    assert call(page, "POST", "/api/train", {"hidden": [8], "epochs": 500, "batch_size": 10})[0] == 202
    wait_for(page, "running")
    page.stop()  # it waits for the run to see the stop, at the end of its batch
    assert not page.session.trainer.job.running
    assert page.session.trainer.job.state == "cancelled"


def test_blas_gets_every_core_while_a_network_trains_and_one_thread_otherwise(page):
    from threadpoolctl import threadpool_info, threadpool_limits

    def threads() -> int:
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    cores = page.blas_cores
    try:
        page.tend()  # as serve() does on the main thread, every fraction of a second
        assert threads() == 1
        assert call(page, "POST", "/api/train", {"hidden": [8], "epochs": 500, "batch_size": 10})[0] == 202
        page.tend()
        assert threads() == cores
        call(page, "DELETE", "/api/train")
        page.session.trainer.job.wait(30)
        page.tend()
        assert threads() == 1
    finally:
        threadpool_limits(cores, user_api="blas")
