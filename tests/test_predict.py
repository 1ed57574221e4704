"""python -m nn predict: accuracy for labeled CSVs, a Kaggle submission for unlabeled ones."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_user_error, digit_rows, run_command, write_csv
from nn.files.digits_csv import write_csv as write_digits
from nn.tools.predict import predict_csv


def test_predict_csv_matches_the_network(tmp_path, small_model, mnist_test):
    path, net = small_model
    write_digits(tmp_path / "d.csv", mnist_test.images[:300], mnist_test.labels[:300])
    result, info = predict_csv(tmp_path / "d.csv", path)
    expected = net.predict(mnist_test.images[:300] / np.float32(255))
    assert np.array_equal(result.digits, expected)
    assert result.accuracy == pytest.approx(np.mean(expected == mnist_test.labels[:300]))
    per_digit = result.per_digit()
    assert sum(count for _, count, _ in per_digit) == 300
    assert sum(right for _, _, right in per_digit) == round(result.accuracy * 300)


def test_labeled_file_prints_accuracy_per_digit(tmp_path, small_model, mnist_test):
    path, _ = small_model
    # label last, no header: another common layout
    write_csv(tmp_path / "d.csv", digit_rows(mnist_test.images[:200], mnist_test.labels[:200], "last"))
    result = run_command("-m", "nn", "predict", str(tmp_path / "d.csv"), "--model", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Model: ") and "784-32-10" in lines[0]
    assert "200 labeled images" in lines[1]
    assert lines[2].startswith("Accuracy: ") and "of 200)" in lines[2]
    assert lines[3].split() == ["digit", "images", "accuracy"]
    assert [int(l.split()[0]) for l in lines[4:14]] == list(range(10))


def test_unlabeled_file_writes_a_submission(tmp_path, small_model, mnist_test):
    path, net = small_model
    header = ",".join(f"pixel{i}" for i in range(784))  # Kaggle's test.csv
    write_csv(tmp_path / "test.csv", digit_rows(mnist_test.images[:50], mnist_test.labels, "none"), header)
    out = tmp_path / "submission.csv"
    result = run_command("-m", "nn", "predict", str(tmp_path / "test.csv"), "--model", str(path),
                         "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Wrote 50 predictions" in result.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 51
    expected = net.predict(mnist_test.images[:50] / np.float32(255))
    assert [l for l in lines[1:]] == [f"{i},{d}" for i, d in enumerate(expected, start=1)]


def test_missing_model_says_how_to_get_one(tmp_path, mnist_test):
    write_csv(tmp_path / "d.csv", digit_rows(mnist_test.images[:5], mnist_test.labels[:5]))
    result = run_command("-m", "nn", "predict", str(tmp_path / "d.csv"), "--model",
                         str(tmp_path / "none.npz"))
    assert_user_error(result, "no model at", "none.npz", "run python train.py or pass --model")


def test_corrupt_model(tmp_path, mnist_test):
    write_csv(tmp_path / "d.csv", digit_rows(mnist_test.images[:5], mnist_test.labels[:5]))
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    result = run_command("-m", "nn", "predict", str(tmp_path / "d.csv"), "--model", str(tmp_path / "bad.npz"))
    assert_user_error(result, "bad.npz", "not a readable model file")


def test_unwritable_output(tmp_path, small_model, mnist_test):
    path, _ = small_model
    write_csv(tmp_path / "d.csv", digit_rows(mnist_test.images[:5], mnist_test.labels[:5], "none"))
    result = run_command("-m", "nn", "predict", str(tmp_path / "d.csv"), "--model", str(path),
                         "--out", str(tmp_path / "missing" / "s.csv"))
    assert_user_error(result, "s.csv", "does not exist")


def test_a_cnn_predicts_csv_files_and_image_files(tmp_path, small_cnn, mnist_test):
    """python -m nn predict and draw.py --predict, with a CNN model."""
    from PIL import Image

    path, net = small_cnn
    write_digits(tmp_path / "d.csv", mnist_test.images[:300], mnist_test.labels[:300])
    result = run_command("-m", "nn", "predict", str(tmp_path / "d.csv"), "--model", str(path))
    assert result.returncode == 0, result.stderr
    assert "(conv 4-8 (5x5), dense 392-32-10, relu, test accuracy 90.00%)" in result.stdout.splitlines()[0]
    expected = net.predict(mnist_test.images[:300] / np.float32(255))
    right = int(np.sum(expected == mnist_test.labels[:300]))
    assert f"({right:,} of 300)" in result.stdout
    Image.fromarray(255 - mnist_test.images[0].reshape(28, 28)).resize((112, 112)).save(tmp_path / "7.png")
    shown = run_command("draw.py", "--model", str(path), "--predict", str(tmp_path / "7.png"), "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"probabilities"' in shown.stdout
