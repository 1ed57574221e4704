"""What the user can do, and what the views say back: one table of commands, one of messages.

The window binds its keys from COMMANDS, its footer and `draw.py --help` print it, and the page
gets both tables from GET /api/model, binds the same keys and shows the same words.

A new command is:
    a line in COMMANDS below (its keys, its footer, what it does), and its words in MESSAGES;
    what it does, once, as a method of the session (nn/session/session.py), if it is new;
    the window: a method `on_<name>(key)` of its state (nn/window/state.py);
    the page: a line `name: (key) => ...` in COMMANDS (nn/web/page/app.js), and a route if the
        page must ask the server (nn/web/routes/, tested by tests/test_access.py's ROUTES);
    a row in the README's key table (tests/test_readme.py checks it against COMMANDS).
tests/test_window_state.py checks that both views carry out every command here.

A command's `keys` are the browser's names for them (KeyboardEvent.key, lowercased), which pygame
also understands (pygame.key.key_code): "s", "backspace", "escape".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Command:
    name: str  # what the views call it: "guess"
    shown: str  # its keys as the help shows them: "C, Backspace"
    keys: tuple[str, ...]  # its keys as the browser and pygame name them: ("c", "backspace")
    footer: str  # in the footer: "C: clear"
    does: str  # in the help and the README: "clear"
    views: str = "window page"  # which views offer it

    def as_dict(self) -> dict:
        return {**asdict(self), "keys": list(self.keys)}


DIGITS = tuple(str(d) for d in range(10))

COMMANDS = [
    Command("paint", "left mouse", (), "Left: draw", "paint"),
    Command("erase", "right mouse", (), "Right: erase", "erase"),
    Command("guess", "S", ("s",), "S: guess", "guess"),
    Command("clear", "C, Backspace", ("c", "backspace"), "C: clear", "clear"),
    Command("eraser", "E", ("e",), "E: eraser", "eraser: the pen rubs out (E again: it paints)"),
    Command("live", "L", ("l",), "L: live", "live mode: the guess follows your pen"),
    Command("inside", "V", ("v",), "V: inside view",
            "the inside view: the hidden layer and the evidence map (click a bar for its digit)"),
    Command("steps", "P", ("p",), "P: steps",
            "the steps from your drawing to what the network sees, each with what it does and why"),
    Command("number", "N", ("n",), "N: number",
            "number mode: a wide grid for a whole number of up to eight digits (N again: one digit)"),
    Command("photo", "O", ("o",), "O: photo",
            "the page: read a number on paper from a photo (a phone opens its camera, a laptop its files)",
            views="page"),
    Command("page", "H", ("h",), "H: save as a page",
            "save the network as one HTML page that reads digits by itself, offline (the window: in temp/; "
            "the page: a download)"),
    Command("learn", "G", ("g",), "G: learn",
            "one step of learning on your drawing: G, then the right digit; G again: another step"),
    Command("rate", "[ ]", ("[", "]"), "[ ]: rate", "halve or double the learning step's rate"),
    Command("keep", "K", ("k",), "K: keep", "keep what the steps taught: the model in use learns it (U undoes)"),
    Command("dreams", "D", ("d",), "D: dreams", "what the network thinks each digit looks like"),
    Command("save", "0-9", DIGITS, "0-9 after a guess: save it as that digit",
            "right after a guess: save the drawing as that digit (to data/custom_digits.csv); "
            "after G: the right digit for the step"),
    Command("teach", "T", ("t",), "T: teach",
            "teach it your handwriting: fine-tune on the saved drawings (T or Esc cancels)"),
    Command("undo", "U", ("u",), "U: undo", "undo the last teaching (or the last step kept)"),
    Command("quit", "Esc, Q", ("escape", "q"), "Esc: quit", "quit", views="window"),
]


def commands_for(view: str) -> list[Command]:
    return [c for c in COMMANDS if view in c.views.split()]


def key_table(view: str = "window") -> str:
    """The commands as `draw.py --help` prints them: one line each."""
    return "\n".join(f"  {c.shown:<13} {c.does}" for c in commands_for(view))


def footer(view: str = "window") -> str:
    return "   ".join(c.footer for c in commands_for(view))


def command_for_key(key: str, view: str = "window") -> tuple[Command, str] | None:
    """(the command, the key) a key name calls, or None."""
    key = key.lower()
    return next(((c, key) for c in commands_for(view) if key in c.keys), None)


# Everything the views say to the user, once. {name} fields are filled in by `say`, in Python and
# on the page alike; {guess}, {clear}, {teach} and {undo} name the view's own key or button
# (TERMS: the window's keys; the page names its buttons).
MESSAGES = {
    "start": "Draw a digit, then press {guess}.",
    "draw_first": "Draw a digit first.",
    "press_s": "Press {guess} to guess.",
    "live_guessing": "Live mode: the guess follows your pen.",
    "cleared": "Cleared. Draw a digit, then press {guess}.",
    "live_on": "Live mode on: the guess follows your pen.",
    "live_off": "Live mode off.",
    "eraser_on": "Eraser on: the pen rubs out.",
    "eraser_off": "Eraser off: the pen paints.",
    "stale": "You drew more since the guess: press {guess} again.",
    "too_small": "Too small to read: draw the digit bigger ({clear} clears).",
    "save_hint": "Right or wrong, save it as training data: press the digit you drew (0-9).",
    "save_needs_guess": "Press {guess} first, then the digit, to save the drawing with that label.",
    "save_stale": "You drew more since the guess: press {guess} again, then the digit.",
    "saved": "Saved as {digit} ({rows} in {file}). Draw the next one.",
    "save_failed": "Could not save: {reason}",
    "teaching": "Teaching your handwriting: {percent}% ({teach} cancels; drawing and guessing go on)",
    "taught": "Taught: {summary} (measured on {held_out} drawings it was not taught). Saved as {model}; "
              "{undo} undoes.",
    "teach_cancelled": "Teaching cancelled: the model is as it was.",
    "teach_failed": "Teaching failed: {error}",
    "undone": "Undone: back to {model}.",
    "undone_file_kept": "Undone: back to {model}. {file} was saved again since, so it was left as it is.",
    "nothing_to_undo": "Nothing to undo: {undo} takes back a teaching ({teach}).",
    "number_on": "Number mode: write a number of up to eight digits, then press {guess}.",
    "number_off": "One digit again: draw a digit, then press {guess}.",
    "number_read": "Read {number}: click a digit for its probabilities and its inside view.",
    "no_number": "No digits found: write a number first.",
    "photo_reading": "Reading the photo…",
    "photo_read": "Read {number} from the photo. Tap a digit on it: it goes on the grid, to look inside, "
                  "save or learn from.",
    "steps_on": "The steps from your drawing to what the network sees ({steps} again: back).",
    "learn_needs_guess": "Press {guess} first; then {learn} and the right digit: one step of learning on your drawing.",
    "learn_on": "Which digit is it? Press it (0-9): one step of learning toward it, on a copy of the model.",
    "learned": "{count} step{s} toward {label}: loss {before} -> {after}. {learn}: one more; {keep}: keep it.",
    "rate_is": "Learning rate {lr} ({rate} halve and double it).",
    "keep_needs_step": "Nothing to keep: take a learning step first ({learn}, then the right digit).",
    "kept": "Kept: the model learned this {label} ({count} step{s} at rate {lr}). Saved as {model}; {undo} undoes.",
    "dreams_on": "What the network thinks each digit looks like: the input that most raises each score "
                 "({dreams} again: back).",
    "model_changed": "Now answering: {model}.",
    "page_saved": "Saved {file}: this network in one page that reads digits offline. Open it in any browser, "
                  "or send it to a phone.",
    "unit_hint": "Click a unit of the hidden layer (a CNN: a feature map) to see its sum written out.",
}
TERMS = {"window": {"guess": "S", "clear": "C", "teach": "T", "undo": "U", "steps": "P", "learn": "G",
                    "rate": "[ ]", "keep": "K", "dreams": "D", "photo": "O",
                    "page": "H"},
         "page": {"guess": "Guess (or S)", "clear": "Clear", "teach": "Teach", "undo": "Undo", "steps": "Steps",
                  "learn": "Step", "rate": "the rate box", "keep": "Keep", "dreams": "Dreams",
                  "photo": "Photo", "page": "Save as a page"}}


def say(name: str, view: str = "window", **values) -> str:
    """MESSAGES[name] with its fields filled in, in the view's terms."""
    return MESSAGES[name].format(**TERMS[view], **values)
