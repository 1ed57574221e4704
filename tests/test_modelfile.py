"""Model files: exact round trip, atomic writes, and a clear ModelError for every bad file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from nn.errors import ModelError
from nn.files.model_file import ModelInfo, load_model, save_model
from nn.network import Network


def info_for(net: Network) -> ModelInfo:
    return ModelInfo(sizes=net.sizes, activation=net.activation.name, loss=net.loss.name,
                     accuracy={"test": 0.97}, training={"epochs": 3})


@pytest.mark.parametrize("activation, loss, dtype", [
    ("relu", "cross_entropy", np.float32), ("tanh", "mse", np.float64), ("elu", "cross_entropy", np.float32)])
def test_round_trip_gives_identical_predictions(tmp_path, mnist_test, activation, loss, dtype):
    net = Network([784, 20, 12, 10], activation, loss, dtype=dtype, seed=1)
    for b in net.biases:
        b += 0.01
    path = tmp_path / "m.npz"
    save_model(path, net, info_for(net))
    loaded, info = load_model(path)
    assert loaded.sizes == net.sizes and repr(loaded) == repr(net)
    for p, q in zip(net.parameters(), loaded.parameters()):
        assert p.dtype == q.dtype and np.array_equal(p, q)
    X = mnist_test.images[:500] / np.float32(255)
    assert np.array_equal(net.predict_proba(X), loaded.predict_proba(X))
    assert info.accuracy == {"test": 0.97} and info.training == {"epochs": 3}
    assert info.format_version == 1 and info.created and info.software["numpy"] == np.__version__


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    net = Network([784, 8, 10])
    path = tmp_path / "m.npz"
    save_model(path, net, info_for(net))
    save_model(path, net, info_for(net))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert (path.stat().st_mode & 0o777) != 0o600  # normal permissions, not mkstemp's


def test_failed_save_keeps_the_old_model(tmp_path, monkeypatch):
    net = Network([784, 8, 10])
    path = tmp_path / "m.npz"
    save_model(path, net, info_for(net))
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"half a model")
        raise KeyboardInterrupt  # as if Ctrl-C arrived in the middle of writing

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, Network([784, 9, 10]), info_for(net))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def write_npz(path, arrays: dict) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def good_arrays(meta_changes=None, **array_changes) -> dict:
    net = Network([784, 8, 10], seed=0)
    meta = {"format": "nn-digits-model", "format_version": 1, "sizes": [784, 8, 10],
            "activation": "relu", "loss": "cross_entropy"}
    meta.update(meta_changes or {})
    arrays = {"W0": net.weights[0], "b0": net.biases[0], "W1": net.weights[1], "b1": net.biases[1],
              "meta": np.array(json.dumps(meta))}
    arrays.update(array_changes)
    return {k: v for k, v in arrays.items() if v is not None}


def test_a_hand_built_file_loads(tmp_path):
    write_npz(tmp_path / "m.npz", good_arrays())
    net, info = load_model(tmp_path / "m.npz")
    assert net.sizes == [784, 8, 10]


@pytest.mark.parametrize("content, fragment", [
    (b"", "not a model file"),
    (b"this is not a model", "not a model file"),
    (bytes(range(256)) * 10, "not a model file"),
    (bytes(4096), "not a model file"),
    (b"PK\x03\x04" + bytes(100), "not a readable model file .corrupt or truncated"),
], ids=["empty", "text", "bytes", "zeros", "broken-zip"])
def test_garbage_files(tmp_path, content, fragment):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=fragment):
        load_model(path)


def test_truncated_file(tmp_path):
    write_npz(tmp_path / "full.npz", good_arrays())
    data = (tmp_path / "full.npz").read_bytes()
    for cut in (10, len(data) // 3, len(data) - 30):
        (tmp_path / "m.npz").write_bytes(data[:cut])
        with pytest.raises(ModelError, match="m.npz"):
            load_model(tmp_path / "m.npz")


@pytest.mark.parametrize("meta_changes, array_changes, fragment", [
    ({}, {"meta": None}, "no 'meta' entry"),
    ({}, {"meta": np.array("{not json")}, "not valid JSON"),
    ({"format": "keras"}, {}, "format is not"),
    ({"format_version": 99}, {}, "version 99 is newer"),
    ({"sizes": [784, 8]}, {}, "take"),
    ({"sizes": [100, 8, 10]}, {}, "takes 784 inputs"),
    ({"sizes": [784, -8, 10]}, {}, "positive layer sizes"),
    ({"activation": "swish"}, {}, "'activation' is 'swish'"),
    ({"loss": "hinge"}, {}, "'loss' is 'hinge'"),
    ({}, {"W1": None}, "array W1 is missing"),
    ({}, {"W1": np.zeros((8, 9), np.float32)}, r"W1 has shape \(8, 9\), expected \(8, 10\)"),
    ({}, {"b0": np.full(8, np.nan, np.float32)}, "b0 holds NaN"),
    ({}, {"W0": np.zeros((784, 8), np.int32)}, "W0 holds int32"),
    ({}, {"b1": np.zeros(10, np.float64)}, "mixed types"),
])
def test_mismatched_files(tmp_path, meta_changes, array_changes, fragment):
    path = tmp_path / "m.npz"
    write_npz(path, good_arrays(meta_changes, **array_changes))
    with pytest.raises(ModelError, match=fragment):
        load_model(path)


def test_pickled_objects_are_refused_without_running_them(tmp_path):
    """An npz holding an object array would unpickle (run code) with allow_pickle=True."""
    path = tmp_path / "m.npz"
    arrays = good_arrays()
    arrays["W0"] = np.array([{"evil": 1}, None], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ModelError, match="pickled"):
        load_model(path)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ModelError, match="no model at .*nope.npz; run python train.py or pass --model"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelError, match="is a directory"):
        load_model(tmp_path)


def test_zip_that_is_not_numpy(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("meta.npy", "hello")
    (tmp_path / "m.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ModelError, match="m.npz"):
        load_model(tmp_path / "m.npz")


@pytest.mark.parametrize("field, value", [
    ("accuracy", "high"), ("accuracy", [0.9]), ("accuracy", None), ("accuracy", {"test": "97%"}),
    ("accuracy", {"test": True}), ("accuracy", {"test": 97.0}), ("training", "5 epochs"),
    ("training", None), ("training", [1, 2]), ("data", 42), ("created", 20261122),
    ("software", "numpy"), ("dtype", ["float32"]), ("input_scaling", {"x": 1}),
])
def test_metadata_of_the_wrong_type_is_left_out_not_trusted(tmp_path, field, value):
    path = tmp_path / "m.npz"
    write_npz(path, good_arrays({field: value}))
    net, info = load_model(path)
    assert net.sizes == [784, 8, 10]
    assert isinstance(info.accuracy, dict) and isinstance(info.training, dict)
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in info.accuracy.values())
    assert isinstance(info.created, str) and isinstance(info.data, dict)


@pytest.mark.parametrize("meta_changes, fragment", [
    ({"sizes": "784-8-10"}, "positive layer sizes"), ({"sizes": None}, "positive layer sizes"),
    ({"sizes": [784, True, 10]}, "positive layer sizes"), ({"activation": ["relu"]}, "'activation' is"),
    ({"activation": None}, "'activation' is null"), ({"loss": 3}, "'loss' is 3"),
    ({"format_version": "1"}, "'format_version' is \"1\", not a whole number"),
    ({"format_version": True}, "'format_version' is true"), ({"format_version": 10**400}, "newer than"),
])
def test_required_metadata_of_the_wrong_type_is_a_clear_error(tmp_path, meta_changes, fragment):
    path = tmp_path / "m.npz"
    write_npz(path, good_arrays(meta_changes))
    with pytest.raises(ModelError, match=fragment):
        load_model(path)


def test_metadata_that_is_a_list_or_deeply_nested_is_refused(tmp_path):
    for meta in ("[1, 2]", "[" * 100_000 + "]" * 100_000):
        write_npz(tmp_path / "m.npz", {**good_arrays(), "meta": np.array(meta)})
        with pytest.raises(ModelError, match="m.npz"):
            load_model(tmp_path / "m.npz")


def npy_member(shape, dtype="<f4", data=b"") -> bytes:
    """A .npy file whose header declares `shape`, followed by `data` only."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def test_a_huge_declared_shape_is_refused_before_its_data_is_read(tmp_path):
    """The layers say 784-100000000-10: a 9 MB file must not make the loader allocate 300 GB."""
    import tracemalloc

    meta = {"format": "nn-digits-model", "format_version": 1, "sizes": [784, 60_000, 10],
            "activation": "relu", "loss": "cross_entropy"}
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.array(json.dumps(meta)))
        z.writestr("meta.npy", buffer.getvalue())
        z.writestr("W0.npy", npy_member((784, 60_000), data=bytes(9_000_000)))
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match="W0 is truncated"):
            load_model(path)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()
    # a member whose header disagrees with the layers is refused the same way
    with zipfile.ZipFile(path, "w") as z:
        for name, array in good_arrays().items():
            if name != "W0":
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array)
                z.writestr(f"{name}.npy", buffer.getvalue())
        z.writestr("W0.npy", npy_member((784, 10**9), data=bytes(100)))
    with pytest.raises(ModelError, match=r"W0 has shape \(784, 1000000000\), expected \(784, 8\)"):
        load_model(path)


def test_a_network_too_big_to_load_is_refused_from_its_metadata(tmp_path):
    """784-500000-10 of zeros compresses to 1.5 MB but needs 1.6 GB: refused before reading."""
    path = tmp_path / "m.npz"
    write_npz(path, good_arrays({"sizes": [784, 500_000, 10]}))
    with pytest.raises(ModelError, match="397,500,010 parameters, more than the 50,000,000"):
        load_model(path)


def test_big_endian_arrays_load(tmp_path):
    arrays = good_arrays()
    arrays.update({k: v.astype(">f4") for k, v in arrays.items() if k != "meta"})
    write_npz(tmp_path / "m.npz", arrays)
    net, _ = load_model(tmp_path / "m.npz")
    assert net.weights[0].dtype == np.float32 and net.weights[0].dtype.isnative
    assert np.array_equal(net.weights[0], good_arrays()["W0"])


def test_weights_that_are_not_finite_are_never_saved(tmp_path):
    path = tmp_path / "m.npz"
    good = Network([784, 8, 10], seed=0)
    save_model(path, good, info_for(good))
    before = path.read_bytes()
    for broken in ("nan", "inf", "huge"):
        net = Network([784, 8, 10], seed=1)
        if broken == "huge":  # finite, but the forward pass overflows to inf and NaN
            net.weights[0][:] = 3e38
        else:
            net.weights[1][3, 4] = float(broken)
        with pytest.raises(ModelError, match="not saved"):
            save_model(path, net, info_for(net))
        assert path.read_bytes() == before


def cnn_arrays(meta_changes=None, **array_changes) -> dict:
    """A version 2 file by hand: conv 2-3 (3x3), dense 147-8-10."""
    net = Network([784, 8, 10], seed=0, conv=[2, 3], kernel=3)
    meta = {"format": "nn-digits-model", "format_version": 2, "sizes": [784, 8, 10], "conv": [2, 3],
            "kernel": 3, "activation": "relu", "loss": "cross_entropy"}
    meta.update(meta_changes or {})
    arrays = {f"{kind}{i}": p for i, pair in enumerate(zip(net.weights, net.biases))
              for kind, p in zip("Wb", pair)}
    arrays["meta"] = np.array(json.dumps(meta))
    arrays.update(array_changes)
    return {k: v for k, v in arrays.items() if v is not None}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_cnn_round_trip_gives_identical_predictions(tmp_path, mnist_test, dtype):
    net = Network([784, 12, 10], "relu", dtype=dtype, seed=3, conv=[4, 5], kernel=3)
    for b in net.biases:
        b += 0.01
    save_model(tmp_path / "c.npz", net, info_for(net))
    loaded, info = load_model(tmp_path / "c.npz")
    assert (loaded.conv, loaded.kernel, loaded.sizes) == ([4, 5], 3, [784, 12, 10])
    assert repr(loaded) == repr(net) and info.format_version == 2
    assert info.layers[1] == "Conv2D(1 -> 4, 3x3)" and info.conv == [4, 5]
    X = mnist_test.images[:200] / np.float32(255)
    assert np.array_equal(net.predict_proba(X), loaded.predict_proba(X))


def test_an_mlp_is_still_written_as_version_1_with_no_convolution_fields(tmp_path):
    """So that an older copy of the program, which reads version 1 only, still opens it."""
    net = Network([784, 8, 10])
    save_model(tmp_path / "m.npz", net, info_for(net))
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        meta = json.loads(str(np.load(io.BytesIO(archive.read("meta.npy")))))
    assert meta["format_version"] == 1 and "conv" not in meta and "kernel" not in meta
    assert meta["layers"] == ["Dense(784 -> 8)", "relu", "Dense(8 -> 10)"]


def test_the_shipped_model_and_a_hand_built_version_1_file_still_load(tmp_path, pretrained):
    """Files written before convolutions existed (data/pretrained.npz among them)."""
    assert pretrained.sizes == [784, 512, 10] and pretrained.conv == []
    write_npz(tmp_path / "v1.npz", good_arrays())
    assert load_model(tmp_path / "v1.npz")[0].conv == []


def test_a_hand_built_cnn_file_loads(tmp_path):
    write_npz(tmp_path / "c.npz", cnn_arrays())
    net, _ = load_model(tmp_path / "c.npz")
    assert net.conv == [2, 3] and net.weights[0].shape == (3, 3, 1, 2)


@pytest.mark.parametrize("meta_changes, array_changes, fragment", [
    ({}, {"W1": np.zeros((3, 3, 2, 4), np.float32)}, r"W1 has shape \(3, 3, 2, 4\), expected \(3, 3, 2, 3\)"),
    ({}, {"W0": np.zeros((5, 5, 1, 2), np.float32)}, r"W0 has shape \(5, 5, 1, 2\), expected \(3, 3, 1, 2\)"),
    ({}, {"W2": np.zeros((784, 8), np.float32)}, r"W2 has shape \(784, 8\), expected \(147, 8\)"),
    ({}, {"b3": None}, "array b3 is missing"),
    ({"conv": [2]}, {}, r"W1 has shape \(3, 3, 2, 3\), expected \(392, 8\)"),
    ({"kernel": 4}, {}, "odd"),
    ({"kernel": 0}, {}, "odd"),
    ({"kernel": 31}, {}, "larger than the 28x28 image"),
    ({"kernel": "3"}, {}, "'kernel' is \"3\""),
    ({"conv": [2, 3, 4, 5, 6]}, {}, "too small to pool"),
    ({"conv": [2, -3]}, {}, "'conv' should list"),
    ({"conv": "2-3"}, {}, "'conv' should list"),
    ({"conv": [2, True]}, {}, "'conv' should list"),
    ({"conv": [1 << 20, 1 << 20]}, {}, "more than the 50,000,000"),
    ({"format_version": 1}, {}, "a version 1 model has no convolutions"),
])
def test_cnn_files_whose_arrays_do_not_match_their_layers_are_refused(tmp_path, meta_changes,
                                                                     array_changes, fragment):
    path = tmp_path / "c.npz"
    write_npz(path, cnn_arrays(meta_changes, **array_changes))
    with pytest.raises(ModelError, match=fragment):
        load_model(path)


def test_a_long_history_is_kept_compact_so_the_file_still_loads(tmp_path):
    """A full-batch run of 20,000 iterations has 20,000 epoch records: stored whole, 20 MB of
    metadata, past what the loader reads. Evenly spaced ones are kept, first and last among them."""
    from nn.files.model_file import HISTORY_KEPT

    net = Network([784, 8, 10])
    history = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.5, "val_loss": None,
                "val_accuracy": None, "seconds": 0.01, "lr": 0.5, "test_loss": None,
                "test_accuracy": 0.9} for e in range(1, 20_001)]
    info = ModelInfo(sizes=net.sizes, activation="relu", loss="cross_entropy",
                     training={"epochs_run": 20_000, "history": history})
    save_model(tmp_path / "m.npz", net, info)
    _, loaded = load_model(tmp_path / "m.npz")
    kept = loaded.training["history"]
    assert len(kept) == HISTORY_KEPT and kept[0]["epoch"] == 1 and kept[-1]["epoch"] == 20_000
    assert loaded.training["history_kept"] == f"{HISTORY_KEPT} of 20,000 records, evenly spaced"
    assert (tmp_path / "m.npz").stat().st_size < 1_000_000


def test_a_model_that_would_not_load_back_never_replaces_the_old_one(tmp_path, monkeypatch):
    """Whatever the reason a new file could not be opened by load_model (here metadata past the
    reader's limit), saving refuses before the old file is touched."""
    import nn.files.model_file

    net = Network([784, 8, 10])
    save_model(tmp_path / "m.npz", net, info_for(net))
    before = (tmp_path / "m.npz").read_bytes()
    monkeypatch.setattr(nn.files.model_file, "MAX_META_BYTES", 100)  # the reader's limit, made tiny
    with pytest.raises(ModelError, match="metadata would take .* bytes, more than the 100"):
        save_model(tmp_path / "m.npz", net, info_for(net))
    real_load = nn.files.model_file.load_model
    monkeypatch.setattr(nn.files.model_file, "MAX_META_BYTES", 16 << 20)
    monkeypatch.setattr(nn.files.model_file, "load_model", lambda p, outputs: (_ for _ in ()).throw(ModelError(f"{p}: broken")))
    with pytest.raises(ModelError, match="could not be read back .*broken.*nothing was replaced"):
        save_model(tmp_path / "m.npz", Network([784, 9, 10]), info_for(net))
    monkeypatch.setattr(nn.files.model_file, "load_model", real_load)
    assert (tmp_path / "m.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left
