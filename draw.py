"""Paint a digit and see what the network thinks.

    python draw.py                          # the window: draw with the mouse, press S
    python draw.py --model my.npz           # another model
    python draw.py --predict a.png b.jpg    # read image files, no window: PATH, NUMBER, CONFIDENCE
    python draw.py --predict *.png --json   # the same as JSON: each digit, its box, its confidence
    python draw.py --screenshot shot.png    # draw a 3 by script, press S, save the window
    python draw.py --web                    # the same in a browser page, phones included

The keys are in nn/session/commands.py (and `python draw.py --help`); the window is nn/window,
the page nn/web.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nn.errors import DataError, UsageError
from nn.files.model_file import DEFAULT_MODEL_HELP, load_model, resolve_model
from nn.plumbing.cli import ArgumentParser, nonnegative_int, one_line, output_file, positive_float, positive_int, run, say, shown_name
from nn.plumbing.files import check_output, open_input
from nn.plumbing.machine import blas_for_small_products
from nn.plumbing.paths import CUSTOM_DIGITS, MODEL, PRETRAINED_MODELS, TEST_CSV, TRAIN_CSV, display
from nn.session.canvas import draw_demo, draw_number
from nn.session.commands import key_table
from nn.session.model_in_use import ModelInUse
from nn.session.session import Session
from nn.web.access import qr_text
from nn.web.server import Page, lan_address, serve
from nn.window.app import DrawApp, has_screen, headless_if_no_display, open_window

WEB_PORT = 8028  # --web's default port
PICTURES = (".png", ".jpg", ".jpeg", ".bmp", ".tga")  # what --screenshot can write
AUGMENT_NOTE = ("note: this model was trained without --augment; {pretrained} reads most "
                "people's handwriting better (add --model {pretrained})")


def main(argv=None) -> int:
    args = parse_args(argv)
    model_path = resolve_model(args.model)
    custom = args.custom_csv or CUSTOM_DIGITS
    # Fail before opening anything: a screenshot that would replace something else (the files a
    # view saves to are checked by the session it opens).
    if args.screenshot:
        check_output(args.screenshot, "screenshot", [("model", model_path)], kind="picture")
    net, info = load_model(model_path)
    if not args.web:  # the page's server sets BLAS's threads itself: it also trains (nn/web)
        blas_for_small_products()  # one drawing at a time, from here on

    if args.predict:
        return predict_files(net, args.predict, args.json)
    model = ModelInUse(net, info, display(model_path))
    shipped = next((p for p in PRETRAINED_MODELS if p.exists()), None)
    note = (AUGMENT_NOTE.format(pretrained=display(shipped))
            if args.model is None and not info.training.get("augment") and shipped is not None else None)
    if args.web:
        test_csv = TEST_CSV if args.test is None else None if args.test.lower() == "none" else Path(args.test)
        for path in [*(args.data or []), *([test_csv] if args.test is not None and test_csv else [])]:
            with open_input(path):  # a file that is not there is said now, not at the first Train
                pass
        session = Session(model, custom, args.out, data=args.data or [TRAIN_CSV], test=test_csv, model_file=model_path)
        return serve_page(session, args, note)
    session = Session(model, custom, args.out, model_file=model_path)
    if args.screenshot:
        return screenshot(session, args)

    app = open_window(session, cell=args.cell)
    say(f"Model: {model.title}")
    if note:
        say(note)
    app.run()
    return 0


def parse_args(argv=None):
    p = ArgumentParser(prog="draw.py", description="Draw a digit in a window and let the network "
                       "guess it, or predict digits in image files.",
                       epilog="the window's keys:\n" + key_table("window"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None,
                   help=f"model file (default: {DEFAULT_MODEL_HELP})")
    p.add_argument("--predict", nargs="+", type=Path, metavar="IMG",
                   help="predict these image files (PNG, JPG, BMP...) instead of opening the window")
    p.add_argument("--json", action="store_true", help="with --predict: print JSON with all ten probabilities")
    p.add_argument("--screenshot", type=output_file, metavar="PNG",
                   help="draw a digit by script, press S, save the window to PNG and exit")
    p.add_argument("--digit", type=int, choices=range(10), default=3,
                   help="the digit --screenshot draws (default: 3)")
    p.add_argument("--inside", action="store_true",
                   help="with --screenshot: the inside view (hidden layer and evidence map, key V)")
    p.add_argument("--steps", action="store_true",
                   help="with --screenshot: the steps from the drawing to what the network sees (key P)")
    p.add_argument("--learn", type=int, choices=range(10), default=None, metavar="K",
                   help="with --screenshot: one step of learning toward digit K (keys G, then K)")
    p.add_argument("--dreams", action="store_true",
                   help="with --screenshot: what the network thinks each digit looks like (key D)")
    p.add_argument("--number", default=None, metavar="DIGITS",
                   help="with --screenshot: write this number (up to 8 digits) in number mode (key N)")
    p.add_argument("--spacing", type=positive_float, default=13.0, metavar="CELLS",
                   help="with --number: cells from one digit to the next (default: 13; at 10 they touch)")
    p.add_argument("--cell", type=positive_int, default=20,
                   help="pixels per grid cell, 16 to 64 (default: 20)")
    p.add_argument("--custom-csv", type=output_file, default=None, metavar="CSV",
                   help="where labeled drawings are saved (default: data/custom_digits.csv)")
    p.add_argument("--out", type=output_file, default=MODEL, metavar="MODEL",
                   help="where teaching (T in the window, Teach on the page) saves the taught model "
                        "(default: data/model.npz; the shipped data/pretrained*.npz never)")
    g = p.add_argument_group("the web page")
    g.add_argument("--web", action="store_true",
                   help="serve the drawing page to a browser instead of opening the window")
    g.add_argument("--port", type=nonnegative_int, default=None,
                   help=f"with --web: the port (default: {WEB_PORT}; 0 = any free port)")
    g.add_argument("--host", default=None,
                   help="with --web: the address to listen on (default: 127.0.0.1, this computer "
                        "only; 0.0.0.0 lets phones on your network in, and anyone else on it)")
    g.add_argument("--classroom", action="store_true",
                   help="with --web: serve a class: listen on every address (unless --host says otherwise) "
                        "and print two links with tokens, the teacher's and the class's (with a QR code); "
                        "the class may draw, guess and save, only the teacher may train, teach and switch models")
    g.add_argument("--server-reads", action="store_true",
                   help="with --classroom: the server reads every guess of the class, as before; by default "
                        "each phone reads its own with a copy of the network (fetched once, and again when the "
                        "teacher switches models), and asks the server only to save, look inside and learn")
    g.add_argument("--no-browser", action="store_true", help="with --web: do not open a browser")
    g.add_argument("--data", nargs="+", type=Path, default=None, metavar="CSV",
                   help="with --web: what the page's Train panel trains on (default: data/mnist_train.csv.gz)")
    g.add_argument("--test", default=None, metavar="CSV|none",
                   help="with --web: what it tests on (default: data/mnist_test.csv.gz)")
    return checked(p.parse_args(argv))


def checked(args: argparse.Namespace) -> argparse.Namespace:
    """The options that go together, or do not: a UsageError names the one that does not fit."""
    if args.json and not args.predict:
        raise UsageError("--json goes with --predict")
    views = (("--inside", args.inside, "V"), ("--steps", args.steps, "P"), ("--learn", args.learn is not None, "G"),
             ("--dreams", args.dreams, "D"))
    for flag, value, key in views + (("--number", args.number, "N"),):
        if value and not args.screenshot:
            raise UsageError(f"{flag} goes with --screenshot (in the window, press {key})")
    if sum(bool(value) for _, value, _ in views) > 1:
        raise UsageError("--inside, --steps, --learn and --dreams are views of one window: choose one")
    if args.spacing != 13.0 and args.number is None:
        raise UsageError("--spacing goes with --number")
    if args.number is not None and not (args.number.isascii() and args.number.isdigit() and 1 <= len(args.number) <= 8):
        raise UsageError(f"--number {args.number[:20]!r}: give 1 to 8 digits, e.g. --number 2026")
    if args.web and (args.predict or args.screenshot):
        raise UsageError("--web serves the page; leave out --predict and --screenshot")
    if args.web and (args.cell != 20 or args.digit != 3):
        raise UsageError("--cell and --digit are for the window and --screenshot; the page fits "
                         "its grid to the browser")
    for flag, value in (("--port", args.port), ("--host", args.host), ("--no-browser", args.no_browser),
                        ("--classroom", args.classroom),
                        ("--data", args.data), ("--test", args.test)):
        if value not in (None, False) and not args.web:
            raise UsageError(f"{flag} goes with --web")
    if args.server_reads and not args.classroom:
        raise UsageError("--server-reads goes with --classroom")
    if args.port is not None and args.port > 65535:
        raise UsageError(f"--port must be 0 to 65535, got {args.port}")
    if not 16 <= args.cell <= 64:
        raise UsageError(f"--cell must be 16 to 64 pixels, got {args.cell}")
    if args.screenshot and args.screenshot.suffix.lower() not in PICTURES:
        raise UsageError(f"{args.screenshot}: a screenshot is a picture: end its name in .png, "
                         ".jpg, .bmp or .tga")
    return args


def predict_files(net, paths: list[Path], as_json: bool) -> int:
    """One line per image (PATH<TAB>NUMBER<TAB>CONFIDENCE: a whole number, or one digit), or
    JSON; a bad file gets an error line."""
    from nn.session.photo import read_photo  # scipy's image tools (0.2 s): only when pictures are read

    results, failed = [], 0
    for path in paths:
        try:
            photo = read_photo(net, path)
        except DataError as e:
            sys.stderr.write(f"draw.py: error: {one_line(str(e))}\n")
            failed += 1
            continue
        except MemoryError:
            sys.stderr.write(f"draw.py: error: {one_line(str(path))}: out of memory while reading it\n")
            failed += 1
            continue
        number = photo.number
        if as_json:
            results.append(number_json(path, photo))
        else:  # a name holding a tab or a line break is escaped, so every line keeps its three fields
            print(f"{shown_name(str(path))}\t{number.text}\t{number.confidence:.4f}", flush=True)
    if as_json:
        print(json.dumps(results, indent=1))
    return 2 if failed else 0


def number_json(path: Path, photo) -> dict:
    """--json for one picture: the number, each digit with its box in the picture's pixels, and
    for a single digit its probabilities, as before numbers were read."""
    number = photo.number
    entry = {"path": str(path), "number": number.text,
             "digits": [{"digit": d.reading.digit, "confidence": round(d.reading.confidence, 6),
                         "box": photo.box(d)} for d in number.digits]}
    if len(number.digits) == 1:
        reading = number.digits[0].reading
        entry.update({"digit": reading.digit, "confidence": round(reading.confidence, 6),
                      "probabilities": [round(float(p), 6) for p in reading.probabilities]})
    return entry


def screenshot(session: Session, args) -> int:
    """Draw a digit by script, press S (and V for --inside), save the window as a picture."""
    headless_if_no_display()
    app = DrawApp(session, cell=args.cell)
    state = app.state
    if args.number:
        app.key(app.pygame.K_n)
        draw_number(state.canvas, args.number, step=args.spacing)
    else:
        draw_demo(state.canvas, args.digit)
    state.canvas_changed()
    state.command("guess")
    for view, asked in (("inside", args.inside), ("steps", args.steps), ("dreams", args.dreams)):
        if asked:
            state.command(view)
    if args.learn is not None:
        state.command("learn")
        state.command("save", str(args.learn))
    app.save_screenshot(args.screenshot)
    say(f"Saved the window to {display(args.screenshot)}")
    return 0


def serve_page(session: Session, args, note: str | None) -> int:
    """--web: serve the drawing page until Ctrl-C; --classroom: to a class, with two links."""
    host = args.host if args.host is not None else "0.0.0.0" if args.classroom else "127.0.0.1"
    page = Page(session, host, WEB_PORT if args.port is None else args.port, classroom=args.classroom)
    page.access.phones_read = not args.server_reads
    browser = not args.no_browser and has_screen()

    def announce():
        say(f"Model: {session.model.title}")
        if note:
            say(note)
        if args.classroom:
            say(f"For you (teacher): {page.link('teacher', lan=True)}")
            say(f"For the class:     {page.link('class', lan=True)}")
            code = qr_text(page.link("class", lan=True)).rstrip("\n")
            try:
                code.encode(sys.stdout.encoding or "ascii")
            except (UnicodeEncodeError, LookupError):  # a terminal or file that cannot show it
                code = "(The QR code needs a terminal that shows Unicode; the teacher's page shows it: Class link.)"
            say(code)
            say("The class's phones read their own guesses (--server-reads: this server reads them)."
                if page.access.phones_read else "This server reads the class's guesses (--server-reads).")
            say("The class's link draws, guesses and saves drawings; training, teaching and switching models "
                "are yours. Anyone without a link gets nothing. Ctrl-C stops the server.")
        elif not page.loopback_only:
            sys.stderr.write(f"draw.py: warning: listening on {host} (--host): anyone on your network with "
                             "the link below can use this page and add rows to "
                             f"{display(session.custom)}; without it, nothing\n")
            if page.every_address and lan_address():
                say(f"On a phone on the same network: {page.link(lan=True)}")
        if not args.classroom:
            say(f"Drawing page: {page.link()}  (Ctrl-C stops the server)")
        if not browser and not args.no_browser:
            say("No display here to open a browser on: open the address above in one.")

    return serve(page, announce, open_browser=browser)


if __name__ == "__main__":
    run(main, "draw.py")
