"""python -m nn export MODEL OUT: a network taken out of the app, as an ONNX model (OUT.onnx) or
as one HTML file that reads digits by itself, offline (OUT.html)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nn.errors import UsageError
from nn.files.model_file import load_model, resolve_model
from nn.files.onnx_file import save_onnx
from nn.plumbing.files import check_output
from nn.plumbing.paths import display
from nn.session.export import offline_page, save_page
from nn.session.model_in_use import ModelInUse

KINDS = {".onnx": "ONNX model", ".html": "page", ".htm": "page"}


def main(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; give the file to write, e.g. {out / 'digits.html'}")
    kind = KINDS.get(out.suffix.lower())
    if kind is None:
        raise UsageError(f"{out}: unknown kind of file {out.suffix or '(no extension)'!r}; "
                         "name it .onnx (an ONNX model) or .html (a page that reads digits offline)")
    model_path = resolve_model(args.model)
    check_output(out, kind, [("model", model_path)])
    if out.exists() and not args.force:
        raise UsageError(f"{out}: already exists; pass --force to replace it")
    net, info = load_model(model_path)
    name = display(model_path)
    if kind == "page":
        size = save_page(out, offline_page(ModelInUse(net, info, name)))
        print(f"Wrote {display(out)} ({size / 1e6:.2f} MB): {name} ({net.shape_name}) in one page that reads "
              "digits offline. Open it in any browser, or send it to a phone.")
    else:
        size = save_onnx(out, net, name)
        print(f"Wrote {display(out)} ({size / 1e6:.2f} MB): {name} ({net.shape_name}) as ONNX; input "
              "'pixels' (N, 784) float32 0-1, normalised as the app does; output 'probabilities' (N, 10).")
    return 0
