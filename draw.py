"""Paint a digit and see what the network thinks.

    python draw.py                          # the window: draw with the mouse, press S
    python draw.py --model my.npz           # another model
    python draw.py --predict a.png b.jpg    # predict image files, no window: PATH, DIGIT, CONFIDENCE
    python draw.py --predict *.png --json   # the same as JSON, with all ten probabilities
    python draw.py --screenshot shot.png    # draw a 3 by script, press S, save the window
"""

from __future__ import annotations

import sys

try:  # a Ctrl-C while this script is still loading stops it as quietly as one later on
    import json
    import os
    from pathlib import Path

    from nn.cli import ArgumentParser, positive_int, run
except KeyboardInterrupt:
    sys.exit(130)


def parse_args(argv=None):
    p = ArgumentParser(prog="draw.py", description="Draw a digit in a window and let the network "
                       "guess it, or predict digits in image files.")
    p.add_argument("--model", type=Path, default=None,
                   help="model file (default: data/model.npz if present, else data/pretrained.npz)")
    p.add_argument("--predict", nargs="+", type=Path, metavar="IMG",
                   help="predict these image files (PNG, JPG, BMP...) instead of opening the window")
    p.add_argument("--json", action="store_true", help="with --predict: print JSON with all ten probabilities")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="draw a digit by script, press S, save the window to PNG and exit")
    p.add_argument("--digit", type=int, choices=range(10), default=3,
                   help="the digit --screenshot draws (default: 3)")
    p.add_argument("--cell", type=positive_int, default=20,
                   help="pixels per grid cell, 16 to 64 (default: 20)")
    p.add_argument("--custom-csv", type=Path, default=None, metavar="CSV",
                   help="where labeled drawings are saved (default: data/custom_digits.csv)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    from nn.errors import UsageError
    from nn.modelfile import load_model, resolve_model
    from nn.paths import CUSTOM_DIGITS, PRETRAINED, display

    args = parse_args(argv)
    if args.json and not args.predict:
        raise UsageError("--json goes with --predict")
    if not 16 <= args.cell <= 64:
        raise UsageError(f"--cell must be 16 to 64 pixels, got {args.cell}")
    model_path = resolve_model(args.model)
    net, info = load_model(model_path)
    if args.predict:
        return predict_files(net, args.predict, args.json)

    from nn.window import DrawApp, has_screen, headless_if_no_display, prefer_x11

    test = info.accuracy.get("test")
    name = display(model_path) + (f" ({test:.2%} on MNIST test)" if isinstance(test, float) else "")
    if args.screenshot:
        headless_if_no_display()
        from nn.canvas import draw_demo

        app = DrawApp(net, name, args.custom_csv or CUSTOM_DIGITS, cell=args.cell)
        draw_demo(app.canvas, args.digit)
        app.canvas_changed()
        app.predict()
        app.save_screenshot(args.screenshot)
        print(f"Saved the window to {display(args.screenshot)}")
        return 0
    if not has_screen():
        raise UsageError("no display: the window needs a screen (set DISPLAY, or use "
                         "--predict IMG for image files, --screenshot PNG for a picture)")
    print(f"Model: {name}")
    if args.model is None and not info.training.get("augment") and PRETRAINED.exists():
        print("note: this model was trained without --augment; data/pretrained.npz reads most "
              "people's handwriting better (python draw.py --model data/pretrained.npz)")
    prefer_x11()
    try:
        app = DrawApp(net, name, args.custom_csv or CUSTOM_DIGITS, cell=args.cell)
    except pygame_error() as e:
        raise UsageError(f"cannot open the window ({e}); --predict IMG works without one") from None
    invisible = app.pygame.display.get_driver() in ("offscreen", "dummy")
    if invisible and os.environ.get("SDL_VIDEODRIVER") not in ("offscreen", "dummy"):
        raise UsageError("cannot open a visible window (no working display); "
                         "--predict IMG works without one")
    app.run()
    return 0


def pygame_error() -> type:
    import pygame

    return pygame.error


def predict_files(net, paths: list[Path], as_json: bool) -> int:
    """One line per image (PATH<TAB>DIGIT<TAB>CONFIDENCE), or JSON; a bad file gets an error line."""
    from nn.errors import DataError
    from nn.preprocess import load_image, normalize

    results, failed = [], 0
    for path in paths:
        try:
            field = normalize(load_image(path))
        except DataError as e:
            sys.stderr.write(f"draw.py: error: {e}\n")
            failed += 1
            continue
        if not field.any():
            sys.stderr.write(f"draw.py: error: {path}: no digit found (the picture is blank)\n")
            failed += 1
            continue
        probabilities = net.predict_proba(field.reshape(1, -1))[0]
        digit = int(probabilities.argmax())
        if as_json:
            results.append({"path": str(path), "digit": digit,
                            "confidence": round(float(probabilities[digit]), 6),
                            "probabilities": [round(float(p), 6) for p in probabilities]})
        else:
            print(f"{path}\t{digit}\t{probabilities[digit]:.4f}", flush=True)
    if as_json:
        print(json.dumps(results, indent=1))
    return 2 if failed else 0


if __name__ == "__main__":
    run(main, "draw.py")
