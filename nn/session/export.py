"""A network taken out of the app: described for the browser's reader (page/reading.js), and
written as one HTML file that reads digits with no server and no network.

    reader_spec(net, name)      the layers and their weights, as page/reading.js builds them
    offline_page(model)         the whole page, weights inside: the grid, the guess, the bars
    save_page(path, html)       written atomically

The page is the app's page in miniature: the same brush, the same normalisation and forward pass
(in plain JavaScript, page/reading.js, checked against nn/session/reading.py by tests/test_export.py).
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path

import numpy as np

from nn.activations import Activation
from nn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Unflatten
from nn.network import Network
from nn.plumbing.files import atomic_write
from nn.session.canvas import BRUSH, ERASER
from nn.session.commands import MESSAGES, TERMS
from nn.session.model_in_use import ModelInUse
from nn.session.pictures import PALETTE

PAGE = Path(__file__).with_name("page")
READING_JS = PAGE / "reading.js"  # the reader: also served to the class's phones (nn/web)
GRID_JS = PAGE / "grid.js"  # the brush: also the web page's


def _array(a: np.ndarray) -> dict:
    """An array as JSON: its shape, and its bytes (little-endian) in base64."""
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return {"shape": list(a.shape), "dtype": a.dtype.name, "data": base64.b64encode(a.tobytes()).decode()}


def _layer(layer: Layer) -> dict:
    if isinstance(layer, Dense):
        return {"type": "dense", "W": _array(layer.W), "b": _array(layer.b)}
    if isinstance(layer, Conv2D):
        return {"type": "conv2d", "W": _array(layer.W), "b": _array(layer.b)}
    if isinstance(layer, MaxPool2D):
        return {"type": "maxpool2d"}
    if isinstance(layer, Flatten):
        return {"type": "flatten"}
    if isinstance(layer, Unflatten):
        return {"type": "unflatten", "shape": list(layer.shape)}
    if isinstance(layer, Activation):
        return {"type": "activation", "name": layer.name}
    raise TypeError(f"no JavaScript for the layer {layer!r}")


def reader_spec(net: Network, name: str) -> dict:
    """The network as page/reading.js's Reading.network(spec) takes it (JSON-able): each layer
    with its weights, and the output layer (softmax, or sigmoid for a network trained with mse)."""
    return {"name": name, "shape": net.shape_name, "layers": [_layer(layer) for layer in net.layers],
            "output": net.loss.output}


def _script_json(value) -> str:
    """JSON safe inside a <script> element: no "</script>" or "<!--" can end it early."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def offline_page(model: ModelInUse, spec: dict | None = None) -> str:
    """One self-contained HTML file: the grid and the brush, S guesses, C clears, the guess in
    id="guess", the ten bars and what the network sees; the weights and the JavaScript inside.
    spec: the model's reader_spec, when it was made already (the session keeps one)."""
    settings = {"model": spec or reader_spec(model.net, model.name), "title": model.title,
                "brush": {"core": BRUSH[0], "outer": BRUSH[1]}, "eraser": {"core": ERASER[0], "outer": ERASER[1]},
                "colours": PALETTE, "messages": MESSAGES, "terms": TERMS["page"]}
    parts = {"/*STYLE*/": (PAGE / "offline.css").read_text(encoding="utf-8"),
             "/*SETTINGS*/": _script_json(settings),
             "/*SCRIPT*/": "\n".join(p.read_text(encoding="utf-8") for p in (READING_JS, GRID_JS, PAGE / "offline.js")),
             "<!--TITLE-->": escape(model.title)}
    template = (PAGE / "offline.html").read_text(encoding="utf-8")
    # one pass: a mark inside what replaced another (a model's name) stays as it is
    page = re.sub("|".join(re.escape(mark) for mark in parts), lambda m: parts[m[0]], template)
    return page


def save_page(path: Path | str, html: str) -> int:
    """Write an offline page (offline_page's) to `path` atomically; its size in bytes."""
    data = html.encode("utf-8")
    with atomic_write(path) as f:
        f.write(data)
    return len(data)
