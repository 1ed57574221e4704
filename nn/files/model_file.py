"""Model files: the weights as arrays in an .npz archive, everything else as JSON inside it.

    W0, b0, W1, b1, ...   float arrays, one pair for each layer with parameters, in order:
                          a dense layer's W{i} is (n_in, n_out), a convolution's (k, k, C, F);
                          b{i} is (n_out,) or (F,)
    meta                  a JSON string: format and version, layer sizes, convolutions and kernel,
                          activation, loss, the layers in words, input scaling, training settings,
                          data file hashes, accuracies, date

Version 1 files hold a multilayer perceptron (the layer sizes say it all); version 2 adds
convolutions ("conv": the filters of each, "kernel": their side). An MLP is still written as
version 1, so that older copies of this program read it.

Loading uses allow_pickle=False, so a model file can never run code, and checks everything
against the metadata. Writing is atomic: a run that is interrupted never leaves a half-written
model or replaces a good one with a broken one.
"""

from __future__ import annotations

import datetime as _dt
import json
import struct
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from nn import __version__
from nn.activations import ACTIVATIONS
from nn.dataset import N_CLASSES, N_PIXELS
from nn.errors import ModelError, UsageError
from nn.plumbing.files import atomic_write, open_readable
from nn.losses import LOSSES
from nn.network import (DEFAULT_KERNEL, MAX_PARAMETERS, Network, check_architecture, parameter_count,
                      parameter_shapes, shape_name)
from nn.plumbing.paths import MODEL, PRETRAINED_MODELS

FORMAT = "nn-digits-model"
FORMAT_VERSION = 2  # the newest this program reads; CNNs are written as 2, MLPs as 1
INPUT_SCALING = "x = pixel / 255: 784 grey levels, row by row, 0 = background, 1 = full ink"


@dataclass
class ModelInfo:
    """What a model file says about itself, besides its weights."""

    sizes: list[int]  # [784, hidden..., 10]: the dense layers (after the convolutions, if any)
    activation: str
    loss: str
    conv: list[int] = field(default_factory=list)  # filters of each convolution; []: an MLP
    kernel: int = DEFAULT_KERNEL  # the convolutions' kernel side
    layers: list[str] = field(default_factory=list)  # every layer in words (written, not read)
    dtype: str = "float32"
    input_scaling: str = INPUT_SCALING
    training: dict = field(default_factory=dict)  # the TrainConfig, epochs run, seconds...
    data: dict = field(default_factory=dict)  # files trained and tested on, with SHA-256 and rows
    accuracy: dict = field(default_factory=dict)  # train, validation, test (0-1)
    created: str = ""  # ISO 8601 date and time
    software: dict = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION


MAX_META_BYTES = 16 << 20  # what the loader reads of the JSON metadata (stored as 4 bytes a character)
HISTORY_KEPT = 500  # epoch records kept in the metadata; past that, evenly spaced ones stand for all


def compact_history(records: list[dict]) -> tuple[list[dict], str | None]:
    """(records to store, a note when some were left out): up to HISTORY_KEPT evenly spaced
    records, the first and the last among them. A full-batch run of 20,000 iterations has 20,000
    records, about 5 MB of JSON and 20 MB stored: more than the loader reads."""
    if len(records) <= HISTORY_KEPT:
        return records, None
    keep = np.unique(np.linspace(0, len(records) - 1, HISTORY_KEPT).round().astype(int))
    return [records[i] for i in keep], f"{len(keep)} of {len(records):,} records, evenly spaced"


def save_model(path: Path | str, net: Network, info: ModelInfo) -> None:
    """Write the network and its metadata to `path` (.npz), atomically, and only once the new
    file has been read back as load_model reads it: a file this program could not open never
    replaces anything.

    A network whose weights hold NaN or infinite values, or whose outputs are not finite, is
    never written: ModelError, and the file at `path` stays as it was.
    """
    path = Path(path)
    if not net.is_finite():
        raise ModelError("the network's weights, or its outputs, are NaN or infinite (training blew "
                         "up); the model was not saved")
    info.sizes, info.conv, info.kernel = list(net.sizes), list(net.conv), net.kernel
    info.activation = net.activation.name
    info.loss = net.loss.name
    info.dtype = net.dtype.name
    info.layers = net.layer_names()
    info.format_version = 2 if net.conv else 1
    info.created = info.created or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info.software = {"nn": __version__, "numpy": np.__version__}
    arrays = {}
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    meta = asdict(info)
    if not net.conv:  # version 1 has no convolutions: leave their fields out
        del meta["conv"], meta["kernel"]
    if isinstance(meta["training"].get("history"), list):
        meta["training"]["history"], note = compact_history(meta["training"]["history"])
        if note:
            meta["training"]["history_kept"] = note
    arrays["meta"] = np.array(json.dumps(meta, separators=(",", ":"), default=_json_default))
    if arrays["meta"].nbytes > MAX_META_BYTES:
        raise ModelError(f"{path}: the model's metadata would take {arrays['meta'].nbytes:,} bytes, "
                         f"more than the {MAX_META_BYTES:,} a model file may hold; nothing was saved")

    def readable(written: Path) -> None:
        try:
            load_model(written, outputs=net.sizes[-1])
        except ModelError as e:
            raise ModelError(f"{path}: the model written could not be read back "
                             f"({str(e).split(': ', 1)[-1]}); nothing was replaced") from None

    try:
        with atomic_write(path, verify=readable) as f:
            np.savez(f, **arrays)
    except (OSError, MemoryError) as e:
        reason = "out of memory" if isinstance(e, MemoryError) else e.strerror or e
        raise ModelError(f"{path}: cannot write the model ({reason}); nothing was replaced") from None


def load_model(path: Path | str, outputs: int = N_CLASSES) -> tuple[Network, ModelInfo]:
    """Read a model file. Any problem (missing, truncated, corrupt, mismatched) raises ModelError.
    outputs: what the network must give (the digits; 11 for numbers' judge of cuts, whose 11th
    output says "not one digit").

    Every array's header is read and checked against the metadata before its data is: a file
    cannot make this allocate more than its layers need, nor unpickle anything.
    """
    path = Path(path)
    with open_readable(path, "a model file", ModelError,
                       missing=f"no model at {path}; run python train.py or pass --model") as f:
        magic = f.read(6)
        f.seek(0)
        if magic.startswith(b"\x93NUMPY"):
            raise ModelError(f"{path}: not a model file (a single .npy array, not an .npz archive)")
        if not magic.startswith(b"PK\x03\x04"):
            raise ModelError(f"{path}: not a model file (a model is the .npz archive that "
                             "train.py writes)")
        try:
            with zipfile.ZipFile(f) as archive:
                members = {name[:-4]: item for name, item in
                           ((i.filename, i) for i in archive.infolist()) if name.endswith(".npy")}
                if "meta" not in members:
                    raise ModelError(f"{path}: not a model file of this project (no 'meta' entry)")
                meta = _read_member(path, archive, members, "meta", None, MAX_META_BYTES)
                info = _parse_meta(path, meta, outputs)
                arrays = []
                for i, (W, b) in enumerate(parameter_shapes(info.sizes, info.conv, info.kernel)):
                    arrays.append(_read_member(path, archive, members, f"W{i}", W))
                    arrays.append(_read_member(path, archive, members, f"b{i}", b))
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, TypeError, MemoryError,
                UnicodeDecodeError, RuntimeError, NotImplementedError, struct.error,
                zlib.error) as e:
            reason = ("out of memory while reading it" if isinstance(e, MemoryError) else
                      "refused: it holds pickled objects" if "pickle" in str(e).lower() else "corrupt or truncated")
            raise ModelError(f"{path}: not a readable model file ({reason})") from None
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1:
        raise ModelError(f"{path}: arrays have mixed types {sorted(map(str, dtypes))}")
    net = Network(info.sizes, info.activation, info.loss, conv=info.conv, kernel=info.kernel, arrays=arrays)
    if not net.is_finite():
        raise ModelError(f"{path}: the weights are so large that the network's outputs overflow")
    return net, info


def _read_member(path: Path, archive: zipfile.ZipFile, members: dict, name: str,
                 shape: tuple[int, ...] | None, limit: int | None = None) -> np.ndarray:
    """One array of the archive: its .npy header first (type and shape checked, and the member's
    size against them), then its data. shape None: the JSON metadata, a 0-d string."""
    if name not in members:
        raise ModelError(f"{path}: array {name} is missing")
    item = members[name]
    with archive.open(item) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ModelError(f"{path}: entry {name} is not a NumPy array")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        declared, fortran, dtype = read_header(member)
        if dtype.hasobject:
            raise ModelError(f"{path}: array {name} holds Python objects (pickle), which are refused: "
                             "a model file holds numbers only")
        if shape is None:
            if dtype.kind != "U" or declared != ():
                raise ModelError(f"{path}: field 'meta' should be a JSON string")
        else:
            if dtype.kind != "f" or dtype.itemsize not in (4, 8):  # either byte order
                raise ModelError(f"{path}: array {name} holds {dtype}, expected float32 or float64")
            if declared != shape:
                raise ModelError(f"{path}: array {name} has shape {declared}, expected {shape}")
        size = dtype.itemsize * int(np.prod(declared))
        if limit is not None and size > limit:
            raise ModelError(f"{path}: entry {name} is {size:,} bytes, more than a model's {limit:,}")
        if item.file_size < size:
            raise ModelError(f"{path}: array {name} is truncated ({item.file_size:,} bytes "
                             f"for {size:,} of data)")
        data = member.read(size)
    if len(data) != size:
        raise ModelError(f"{path}: array {name} is truncated")
    value = np.frombuffer(data, dtype=dtype)
    value = value.reshape(declared, order="F" if fortran else "C")
    if shape is not None and not np.isfinite(value).all():
        raise ModelError(f"{path}: array {name} holds NaN or infinite values")
    return np.array(value, dtype=dtype.newbyteorder("="), order="C")


def _parse_meta(path: Path, raw: np.ndarray, outputs: int = N_CLASSES) -> ModelInfo:
    try:
        meta = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError):
        raise ModelError(f"{path}: field 'meta' is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not a model file of this project (format is not {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelError(f"{path}: field 'format_version' is {json.dumps(version)[:30]}, not a whole number")
    if version > FORMAT_VERSION:
        raise ModelError(f"{path}: model format version {str(version)[:30]} is newer than this "
                         f"program reads ({FORMAT_VERSION}); update the project")
    sizes = meta.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 < n < 2**31 for n in sizes)):
        raise ModelError(f"{path}: field 'sizes' should list two or more positive layer sizes")
    conv, kernel = meta.get("conv", []), meta.get("kernel", DEFAULT_KERNEL)
    if version < 2 and ("conv" in meta or "kernel" in meta):
        raise ModelError(f"{path}: a version 1 model has no convolutions, but this one has fields "
                         "'conv' or 'kernel'")
    if (not isinstance(conv, list) or len(conv) > 8
            or not all(isinstance(f, int) and not isinstance(f, bool) and 0 < f < 2**31 for f in conv)):
        raise ModelError(f"{path}: field 'conv' should list the filters of each convolution")
    if not isinstance(kernel, int) or isinstance(kernel, bool):
        raise ModelError(f"{path}: field 'kernel' is {json.dumps(kernel)[:30]}, not a whole number")
    if parameter_count(sizes, conv, kernel) > MAX_PARAMETERS:
        raise ModelError(f"{path}: declares a {shape_name(sizes, conv, kernel, short=True)} network, "
                         f"{parameter_count(sizes, conv, kernel):,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} this program loads")
    try:
        check_architecture(sizes, conv, kernel)
    except UsageError as e:
        raise ModelError(f"{path}: not a network this program builds ({str(e).removeprefix('--conv: ')})") from None
    if sizes[0] != N_PIXELS or sizes[-1] != outputs:
        raise ModelError(f"{path}: the network is {'-'.join(map(str, sizes))}; a digit model takes "
                         f"{N_PIXELS} inputs and gives {outputs} outputs")
    for name, table in (("activation", ACTIVATIONS), ("loss", LOSSES)):
        value = meta.get(name)
        if not isinstance(value, str) or value not in table:
            shown = repr(value) if isinstance(value, str) else json.dumps(value)[:40]
            raise ModelError(f"{path}: field {name!r} is {shown}, not one of {', '.join(table)}")
    # The rest only describes the model: a field of the wrong type is left out, not trusted.
    info = ModelInfo(sizes=sizes, activation=meta["activation"], loss=meta["loss"], conv=conv, kernel=kernel)
    for field_ in fields(ModelInfo):
        value = meta.get(field_.name)
        if field_.name in ("sizes", "activation", "loss", "conv", "kernel") or value is None:
            continue
        default = getattr(info, field_.name)
        if type(default) is type(value) or (isinstance(default, dict) and isinstance(value, dict)):
            setattr(info, field_.name, value)
    info.accuracy = {k: float(v) for k, v in info.accuracy.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1}
    return info


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


DEFAULT_MODEL_HELP = ("data/model.npz if present, else the shipped model that reads handwriting best: "
                      + ", then ".join(path.name for path in PRETRAINED_MODELS))


def default_model() -> Path:
    """data/model.npz if it exists (your own training), else the shipped model that reads
    handwriting best (nn/plumbing/paths.py: PRETRAINED_MODELS)."""
    if MODEL.exists():
        return MODEL
    return next((path for path in PRETRAINED_MODELS if path.exists()), MODEL)


def resolve_model(path: Path | str | None) -> Path:
    """The model to use: the one asked for, or the default."""
    return Path(path) if path is not None else default_model()
