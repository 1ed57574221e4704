"""The digit recognizer's other tools, as one command:

    python -m nn predict FILE.csv [--model M] [--out submission.csv]   predict a CSV, or write a Kaggle file
    python -m nn convert-idx IMAGES LABELS OUT.csv[.gz]               MNIST's IDX files -> a digits CSV
    python -m nn step (--row N | --image IMG) [--label K] [--lr X]    one step of learning, every number of it
    python -m nn dream [--model M] [--out temp/dreams.png]            what it thinks each digit looks like
    python -m nn export MODEL OUT.onnx|OUT.html [--force]             the network as ONNX, or as an offline page
    python -m nn train-judge [--out data/judge.npz]                   the judge of cuts, for touching digits
    python -m nn bench [--quick] [--only PART ...]                    the speed and handwriting benchmark
    python -m nn --version

Training is `python train.py`; the drawing window and its web page are `python draw.py [--web]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from nn import __version__
from nn.plumbing.cli import ArgumentParser, memory_for, output_file, positive_float, positive_int
from nn.errors import UsageError
from nn.plumbing.files import check_output, same_file
from nn.files.idx import convert_idx
from nn.files.model_file import DEFAULT_MODEL_HELP, resolve_model
from nn.network import shape_name
from nn.plumbing.paths import JUDGE, TEMP_DIR, TEST_CSV, display
from nn.tools.predict import predict_csv, write_submission


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m nn", description="Digit recognizer tools.",
        epilog="Training: python train.py. Drawing: python draw.py (the window), python draw.py --web "
               "(the page, phones included), python draw.py --predict IMAGE... (picture files).")
    parser.add_argument("--version", action="version", version=f"nn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser(
        "predict", help="predict the digits in a CSV file (accuracy, or a Kaggle submission)",
        description="Predict every row of a digits CSV. Labeled data: print the accuracy, overall "
                    "and per digit. Unlabeled data: write an ImageId,Label file.")
    predict.add_argument("file", type=Path, help="a digits CSV (.csv, or compressed: .gz, .bz2, .xz, .zip)")
    predict.add_argument("--model", type=Path, default=None,
                         help=f"model file (default: {DEFAULT_MODEL_HELP})")
    predict.add_argument("--out", type=output_file, default=None,
                         help="write ImageId,Label predictions here (default for unlabeled data: "
                              "temp/submission.csv)")
    predict.add_argument("--label-column", default=None, metavar="first|last|NAME",
                         help="where the labels are (default: a column named label, else the first or the "
                              "last column, whichever alone holds digits 0-9)")

    convert = commands.add_parser(
        "convert-idx", help="convert MNIST's IDX files (plain or .gz) to a digits CSV",
        description="Write IMAGES and LABELS (IDX files, plain or .gz) as a CSV with the header "
                    "label,pixel0,...,pixel783 and one image per row (pixels 0-255). "
                    "OUT ending in .gz is compressed.")
    convert.add_argument("images", type=Path, help="IDX images, e.g. train-images-idx3-ubyte.gz")
    convert.add_argument("labels", type=Path, help="IDX labels, e.g. train-labels-idx1-ubyte.gz")
    convert.add_argument("out", type=output_file, help="the CSV to write, e.g. data/mnist_train.csv.gz")

    step = commands.add_parser(
        "step", help="one step of learning on one drawing, with every number of it",
        description="Take one step of plain gradient descent (P -= lr · dP) on one drawing alone, "
                    "toward its right digit, on a copy of the model (which is not changed), and print "
                    "the probabilities before, the output error A - Y, the probabilities after and the "
                    "loss: the numbers the window (G) and the page (Learn) show.")
    drawing = step.add_mutually_exclusive_group(required=True)
    drawing.add_argument("--row", type=int, default=None, metavar="N",
                         help="row N of --data (from 0), as it is: MNIST's rows are already what the network sees")
    drawing.add_argument("--image", type=Path, default=None, metavar="IMG",
                         help="a picture of one digit (PNG, JPEG...), prepared as the window prepares a drawing")
    step.add_argument("--data", type=Path, default=TEST_CSV, help=f"a digits CSV (default: {display(TEST_CSV)})")
    step.add_argument("--label", type=int, default=None, choices=range(10), metavar="K",
                      help="the right digit (default: the row's label; needed with --image)")
    step.add_argument("--lr", type=positive_float, default=None,
                      help="the learning rate (default: 0.001 for an MLP, 0.0003 for a CNN)")
    step.add_argument("--steps", type=positive_int, default=1, help="how many steps, 1 to 100 (default: 1)")
    step.add_argument("--model", type=Path, default=None, help=f"model file (default: {DEFAULT_MODEL_HELP})")

    dream = commands.add_parser(
        "dream", help="what the network thinks each digit looks like (a picture)",
        description="For each digit, find the input that most raises its score (gradient ascent from a "
                    "blank grid, kept in [0, 1]) and draw the ten as one picture.")
    dream.add_argument("--model", type=Path, default=None, help=f"model file (default: {DEFAULT_MODEL_HELP})")
    dream.add_argument("--out", type=output_file, default=TEMP_DIR / "dreams.png",
                       help="the picture to write (default: temp/dreams.png)")

    add_export_and_judge(commands)

    commands.add_parser("bench", add_help=False, help="the benchmark: speed, memory, handwriting "
                        "(python -m nn bench --help for its options)")
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "bench":  # its options are its own: passed on whole
        return argparse.Namespace(command="bench", rest=list(argv[1:]))
    return parser.parse_args(argv)


def add_export_and_judge(commands) -> None:
    """python -m nn export and python -m nn train-judge."""
    export = commands.add_parser(
        "export", help="the network as an ONNX model, or as one HTML page that reads digits offline",
        description="OUT.onnx: the network as an ONNX model (input 'pixels' (N, 784) float32, the "
                    "normalised drawing; output 'probabilities' (N, 10)). OUT.html: one self-contained page "
                    "(the grid, the guess, the ten bars, the weights and the JavaScript that runs them) "
                    "that reads digits in any browser with no server and no network.")
    export.add_argument("model", type=Path, nargs="?", default=None,
                        help=f"the model file (default: {DEFAULT_MODEL_HELP})")
    export.add_argument("out", type=output_file, help="the file to write: .onnx or .html")
    export.add_argument("--force", action="store_true", help="replace OUT if it exists")

    judge = commands.add_parser(
        "train-judge", help="train the judge of cuts: which parts of a number are one digit",
        description="Train the network that tells a whole number's reader whether a part of it is one "
                    "digit (and which) or not (two that touch, half of one): numbers written with MNIST's "
                    "training digits, cut as the reader cuts them (nn/tools/judge.py). About 14 minutes "
                    "on 2 cores.")
    judge.add_argument("--out", type=output_file, default=JUDGE, help="where to save it (default: data/judge.npz)")
    judge.add_argument("--numbers", type=positive_int, default=10000,
                       help="numbers written to learn from (default: 10000)")
    judge.add_argument("--epochs", type=positive_int, default=6, help="passes over the examples (default: 6)")
    judge.add_argument("--seed", type=int, default=0, help="same seed, same judge (default: 0)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "bench":
        from nn.bench.bench import main as bench  # every part of the bench: only for python -m nn bench

        return bench(args.rest)
    if args.command == "export":
        from nn.tools import export  # imports onnx: only when asked

        return export.main(args)
    if args.command == "train-judge":
        from nn.tools import judge  # writes numbers with the bench's writer: only when asked

        return judge.main(args)
    if args.command in ("step", "dream"):
        # kept off predict's path, which runs under tight memory limits too (ulimit -v)
        from nn.tools import learn

        return learn.show_step(args) if args.command == "step" else learn.show_dreams(args)
    if args.command == "convert-idx":
        check_output(args.out, "CSV", [("images file", args.images), ("labels file", args.labels)],
                     kind="digits CSV")
        rows = convert_idx(args.images, args.labels, args.out)
        print(f"Wrote {rows:,} rows to {args.out}")
        return 0
    return predict(args)


def predict(args: argparse.Namespace) -> int:
    """Labeled data: the accuracy, overall and per digit. Unlabeled: an ImageId,Label file."""
    model_path = resolve_model(args.model)
    inputs = [("CSV to predict", args.file), ("model", model_path)]
    if args.out is not None:
        check_output(args.out, "predictions", inputs, kind="predictions")
    elif any(same_file(TEMP_DIR / "submission.csv", path) for _, path in inputs):
        raise UsageError(f"{args.file}: is temp/submission.csv, where the predictions of an unlabeled "
                         "file go; pass --out with another file")
    with memory_for(f"predicting {display(args.file)} with {display(model_path)}"):
        result, info = predict_csv(args.file, model_path, args.label_column)
    n = len(result.digits)
    # The file first: a terminal or pipe that fails below must not cost the predictions.
    out = args.out
    if out is None and result.accuracy is None:
        TEMP_DIR.mkdir(exist_ok=True)
        out = TEMP_DIR / "submission.csv"
    if out is not None:
        write_submission(out, result.digits)
    test = info.accuracy.get("test")
    about = f", test accuracy {test:.2%}" if isinstance(test, float) else ""
    print(f"Model: {display(model_path)} ({shape_name(info.sizes, info.conv, info.kernel)}, "
          f"{info.activation}{about})")
    kind = "labeled" if result.data.labeled else "unlabeled"
    print(f"Data: {display(args.file)}: {n:,} {kind} images")
    if result.accuracy is not None:
        right = int(round(result.accuracy * n))
        print(f"Accuracy: {result.accuracy:.2%} ({right:,} of {n:,})")
        print("digit  images  accuracy")
        for digit, count, correct in result.per_digit():
            shown = f"{correct / count:8.2%}" if count else "       -"
            print(f"{digit:5d}  {count:6,d}  {shown}")
    if out is not None:
        print(f"Wrote {n:,} predictions to {display(out)} (ImageId,Label)")
    return 0
