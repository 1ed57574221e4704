"""Model files: the weights as arrays in an .npz archive, everything else as JSON inside it.

    W0, b0, W1, b1, ...   float arrays, W{i}: (n_i, n_i+1), b{i}: (n_i+1,)
    meta                  a JSON string: format and version, layer sizes, activation, loss,
                          input scaling, training settings, data file hashes, accuracies, date

Loading uses allow_pickle=False, so a model file can never run code, and checks everything
against the metadata. Writing is atomic: a run that is interrupted never leaves a half-written
model or replaces a good one with a broken one.
"""

from __future__ import annotations

import datetime as _dt
import json
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import __version__
from .activations import ACTIVATIONS
from .data import N_PIXELS
from .errors import ModelError
from .files import atomic_write
from .losses import LOSSES, N_CLASSES
from .network import Network
from .paths import MODEL, PRETRAINED

FORMAT = "nn-digits-model"
FORMAT_VERSION = 1
INPUT_SCALING = "x = pixel / 255: 784 grey levels, row by row, 0 = background, 1 = full ink"


@dataclass
class ModelInfo:
    """What a model file says about itself, besides its weights."""

    sizes: list[int]
    activation: str
    loss: str
    dtype: str = "float32"
    input_scaling: str = INPUT_SCALING
    training: dict = field(default_factory=dict)  # the TrainConfig, epochs run, seconds...
    data: dict = field(default_factory=dict)  # files trained and tested on, with SHA-256 and rows
    accuracy: dict = field(default_factory=dict)  # train, validation, test (0-1)
    created: str = ""  # ISO 8601 date and time
    software: dict = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION


def save_model(path: Path | str, net: Network, info: ModelInfo) -> None:
    """Write the network and its metadata to `path` (.npz), atomically."""
    path = Path(path)
    info.sizes = list(net.sizes)
    info.activation = net.activation.name
    info.loss = net.loss.name
    info.dtype = net.dtype.name
    info.created = info.created or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info.software = {"nn": __version__, "numpy": np.__version__}
    arrays = {}
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    arrays["meta"] = np.array(json.dumps(asdict(info), indent=1, default=_json_default))
    try:
        with atomic_write(path) as f:
            np.savez(f, **arrays)
    except OSError as e:
        raise ModelError(f"{path}: cannot write the model ({e.strerror or e})") from None


def load_model(path: Path | str) -> tuple[Network, ModelInfo]:
    """Read a model file. Any problem (missing, truncated, corrupt, mismatched) raises ModelError."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a model file")
    if not path.exists():
        raise ModelError(f"no model at {path}; run python train.py or pass --model")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ModelError(f"{path}: not a model file (a single .npy array, not an .npz archive)")
        with archive:
            if "meta" not in archive.files:
                raise ModelError(f"{path}: not a model file of this project (no 'meta' entry)")
            info = _parse_meta(path, _entry(path, archive, "meta"))
            n_layers = len(info.sizes) - 1
            weights, biases = [], []
            for i in range(n_layers):
                n_in, n_out = info.sizes[i], info.sizes[i + 1]
                weights.append(_array(path, archive, f"W{i}", (n_in, n_out)))
                biases.append(_array(path, archive, f"b{i}", (n_out,)))
    except ModelError:
        raise
    except PermissionError:
        raise ModelError(f"{path}: permission denied") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, TypeError,
            UnicodeDecodeError, RuntimeError, MemoryError) as e:
        reason = "refused: it holds pickled objects" if "pickle" in str(e).lower() else \
            "corrupt or truncated"
        raise ModelError(f"{path}: not a readable model file ({reason})") from None
    dtypes = {W.dtype for W in weights} | {b.dtype for b in biases}
    if len(dtypes) != 1:
        raise ModelError(f"{path}: arrays have mixed types {sorted(map(str, dtypes))}")
    return Network.from_arrays(weights, biases, info.activation, info.loss), info


def _parse_meta(path: Path, raw: np.ndarray) -> ModelInfo:
    if raw.dtype.kind != "U" or raw.shape != ():
        raise ModelError(f"{path}: field 'meta' should be a JSON string")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError:
        raise ModelError(f"{path}: field 'meta' is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not a model file of this project (format is not {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(f"{path}: model format version {version!r} is newer than this program "
                         f"reads ({FORMAT_VERSION}); update the project")
    known = {f.name for f in fields(ModelInfo)}
    try:
        info = ModelInfo(**{k: v for k, v in meta.items() if k in known})
    except TypeError as e:
        raise ModelError(f"{path}: metadata is incomplete ({e})") from None
    sizes = info.sizes
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)):
        raise ModelError(f"{path}: field 'sizes' should list two or more positive layer sizes")
    if sizes[0] != N_PIXELS or sizes[-1] != N_CLASSES:
        raise ModelError(f"{path}: the network is {'-'.join(map(str, sizes))}; a digit model takes "
                         f"{N_PIXELS} inputs and gives {N_CLASSES} outputs")
    if info.activation not in ACTIVATIONS:
        raise ModelError(f"{path}: field 'activation' is {info.activation!r}, not one of "
                         f"{', '.join(ACTIVATIONS)}")
    if info.loss not in LOSSES:
        raise ModelError(f"{path}: field 'loss' is {info.loss!r}, not one of {', '.join(LOSSES)}")
    return info


def _entry(path: Path, archive, name: str) -> np.ndarray:
    if name not in archive.files:
        raise ModelError(f"{path}: array {name} is missing")
    value = archive[name]
    if not isinstance(value, np.ndarray):  # NpzFile hands back raw bytes for non-.npy members
        raise ModelError(f"{path}: entry {name} is not a NumPy array")
    return value


def _array(path: Path, archive, name: str, shape: tuple[int, ...]) -> np.ndarray:
    value = _entry(path, archive, name)
    if value.dtype not in (np.float32, np.float64):
        raise ModelError(f"{path}: array {name} holds {value.dtype}, expected float32 or float64")
    if value.shape != shape:
        raise ModelError(f"{path}: array {name} has shape {value.shape}, expected {shape}")
    if not np.isfinite(value).all():
        raise ModelError(f"{path}: array {name} holds NaN or infinite values")
    return value


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


def default_model() -> Path:
    """data/model.npz if it exists (your own training), else the shipped data/pretrained.npz."""
    return MODEL if MODEL.exists() or not PRETRAINED.exists() else PRETRAINED


def resolve_model(path: Path | str | None) -> Path:
    """The model to use: the one asked for, or the default."""
    return Path(path) if path is not None else default_model()
