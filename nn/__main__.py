"""python -m nn predict FILE.csv [--model M] [--out submission.csv]

Labeled data: prints the accuracy, overall and per digit. Unlabeled data (784 pixel columns):
writes a Kaggle-style ImageId,Label file (temp/submission.csv unless --out says otherwise).
"""

from __future__ import annotations

import sys

try:  # a Ctrl-C while Python is still loading this module stops it quietly
    from pathlib import Path
    from typing import Sequence

    from .cli import ArgumentParser, output_file, run
except KeyboardInterrupt:
    sys.exit(130)


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, inside run(): a Ctrl-C while NumPy and pandas load ends quietly too.
    from .errors import UsageError
    from .files import check_output, same_file
    from .modelfile import resolve_model
    from .paths import TEMP_DIR, display
    from .predict import predict_csv, write_submission

    parser = ArgumentParser(prog="python -m nn", description="Digit recognizer tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = commands.add_parser(
        "predict", help="predict the digits in a CSV file",
        description="Predict every row of a digits CSV. Labeled data: print the accuracy, overall "
                    "and per digit. Unlabeled data: write an ImageId,Label file.")
    predict.add_argument("file", type=Path, help="a digits CSV (.csv or .csv.gz)")
    predict.add_argument("--model", type=Path, default=None,
                         help="model file (default: data/model.npz if present, else data/pretrained.npz)")
    predict.add_argument("--out", type=output_file, default=None,
                         help="write ImageId,Label predictions here (default for unlabeled data: "
                              "temp/submission.csv)")
    predict.add_argument("--label-column", default=None, metavar="first|last|NAME",
                         help="where the labels are (default: a column named label, else the first)")
    args = parser.parse_args(argv)

    model_path = resolve_model(args.model)
    inputs = [("CSV to predict", args.file), ("model", model_path)]
    if args.out is not None:
        check_output(args.out, "predictions", inputs, kind="predictions")
    elif any(same_file(TEMP_DIR / "submission.csv", path) for _, path in inputs):
        raise UsageError(f"{args.file}: is temp/submission.csv, where the predictions of an unlabeled "
                         "file go; pass --out with another file")
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
    print(f"Model: {display(model_path)} ({'-'.join(map(str, info.sizes))}, {info.activation}{about})")
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


if __name__ == "__main__":
    run(main, "python -m nn")
