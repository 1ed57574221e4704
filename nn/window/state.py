"""The window's state: what is drawn, what was read, which view is open, and what to say.

It changes only through its commands (the keys' commands of nn/session/commands.py, and the
clicks), each of which asks the session; nn/window/render.py draws it and nn/window/app.py turns
pygame's events into its commands. No pygame here: tests drive it without a display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn.dataset import SIDE
from nn.errors import NNError, NothingYet
from nn.plumbing.paths import TEMP_DIR, display
from nn.session.canvas import NUMBER_WIDTH, Canvas
from nn.session.commands import say
from nn.session.explain import Evidence, Inside
from nn.session.learning import MAX_STEPS, FilterMap, LearningStep, UnitSum, halved_or_doubled
from nn.session.numbers import Number
from nn.session.preprocess import Step, normalize
from nn.session.reading import Reading
from nn.session.session import Dreams, Session


@dataclass(frozen=True)
class View:
    """A view under the guess, opened and closed by its key."""

    name: str  # what the state calls it, and the command that toggles it
    opened: str | None  # the message shown when it opens (nn/session/commands.py)
    title: str  # its heading


# The views under the guess; none open: the bars alone.
VIEWS = {view.name: view for view in [
    View("inside", "unit_hint", "The inside view"),
    View("steps", "steps_on", "From your drawing to what the network sees"),
    View("learn", "learn_on", "One step of learning"),
    View("dreams", "dreams_on", "What it thinks each digit looks like"),
]}


@dataclass(frozen=True)
class Guess:
    """What the network read, and for which drawing (the state's version when it was read)."""

    reading: Reading
    version: int

    @property
    def digit(self) -> int:
        return self.reading.digit

    @property
    def probabilities(self) -> np.ndarray:
        return self.reading.probabilities

    @property
    def confidence(self) -> float:
        return self.reading.confidence


@dataclass(frozen=True)
class Lesson:
    """The learning steps shown (G): toward which digit, how many, for which drawing."""

    label: int
    steps: int
    result: LearningStep
    version: int


class WindowState:
    """Everything the window shows, changed by its commands; `do(name)` runs one, saying in the
    status line what went wrong instead of raising it."""

    def __init__(self, session: Session, echo: Callable[[str], None] | None = None):
        """echo: where to write each guess as a line of text (draw.py: standard output)."""
        self.session, self.echo = session, echo
        self.pages = TEMP_DIR  # where H saves the offline page
        self.canvas = Canvas()
        self.number_mode = False  # N: a wide grid for a whole number
        self.version = 0  # bumps on every change of the drawing
        self.read: Number | None = None  # the last reading (one digit: a number of one)
        self.read_version = -1
        self.selected = 0  # the digit of the number whose guess, bars and inside view are shown
        self.field = np.zeros((SIDE, SIDE), dtype=np.float32)  # what the network sees
        self.view: str | None = None  # one of VIEWS, or None
        self.lesson: Lesson | None = None
        self.lr: float | None = None  # the learning steps' rate ([ and ]); None: the session's
        self.unit: int | None = None  # the unit (a CNN: the filter) clicked in the inside view
        self.explained: int | None = None  # the digit whose evidence is shown; None: the guess
        self.live = self.eraser = False
        self.message: tuple[str, str] | None = None  # news and its tone, until the drawing changes
        self.teaching: str | None = None  # the teaching job's state last seen
        self.shown_model = session.model
        self.running = True
        self.changed = True  # since the last frame

    # -- what is shown ----------------------------------------------------------------------------

    @property
    def guess(self) -> Guess | None:
        if self.read is None or not self.read.digits or self.canvas.blank:
            return None
        return Guess(self.read.digits[self.selected].reading, self.read_version)

    @property
    def stale(self) -> bool:
        """The guess shown is of the drawing before its last strokes."""
        return self.guess is not None and self.guess.version != self.version

    @property
    def rate(self) -> float:
        return self.lr if self.lr is not None else self.session.step_lr

    @property
    def ink(self) -> np.ndarray:
        """The drawing the guess is about: the canvas as it was read, or a number's digit shown."""
        return self.read.digits[self.selected].ink if self.read is not None and self.read.digits else self.canvas.ink

    def current_lesson(self) -> Lesson | None:
        """The learning steps shown, if they were taken on the drawing as it is."""
        return self.lesson if self.lesson is not None and self.lesson.version == self.version else None

    def explained_digit(self) -> int | None:
        guess = self.guess
        return None if guess is None else self.explained if self.explained is not None else guess.digit

    # What the views show, asked of the session (the renderer draws it, computes nothing).

    def inside(self) -> tuple[Inside, Evidence, UnitSum | FilterMap | None] | None:
        """The inside view of the guess: its hidden layers, the evidence for the digit explained,
        and the unit clicked, written out; None without a guess."""
        guess = self.guess
        if guess is None:
            return None
        inside, evidence = self.session.inside(guess.reading, self.explained_digit())
        return inside, evidence, self.session.unit(self.ink, self.unit) if self.unit is not None else None

    def steps(self) -> list[Step]:
        """Every step from the drawing (a number's digit shown) to what the network sees."""
        return self.session.steps(self.ink, self.read if self.read is not None and self.read.digits else None)

    def dreams(self) -> Dreams:
        return self.session.dreams()

    @property
    def model_title(self) -> str:
        return self.session.model.title

    @property
    def teaching_progress(self) -> float:
        return self.session.teaching.progress

    @property
    def status(self) -> str:
        return self.status_line()[0]

    def status_line(self) -> tuple[str, str]:
        """The line under the grid and its tone: news if there is any, else what to do next."""
        if self.teaching == "running":
            return say("teaching", percent=round(100 * self.session.teaching.progress)), "accent"
        if self.message is not None:
            return self.message
        guess = self.guess
        if self.canvas.blank:
            return say("start"), "text"
        if guess is None:
            return say("live_guessing" if self.live else "press_s"), "text"
        if self.stale:
            return say("stale"), "text"
        if self.number_mode:
            return say("number_read", number=self.read.text), "text"
        if guess.reading.verdict == "too small":
            return say("too_small"), "warn"
        return say("save_hint"), "text"

    # -- the commands -------------------------------------------------------------------------------

    # Each command of the session's table (nn/session/commands.py) is the method named on_ and its
    # name, given the key that was pressed (a digit, "[" or "]", "escape" or "q"); the clicks have
    # their own (select, explain, pick_unit). A new command is one more on_ method.

    def command(self, name: str, key: str = "") -> None:
        """The command `name`, from `key`."""
        self.do(f"on_{name}", key)

    def do(self, name: str, *args) -> None:
        """Run a method of the state; what the session refuses (a file, a setting) goes to the
        status line instead of out."""
        self.changed = True
        try:
            getattr(self, name)(*args)
        except NNError as e:
            self.message = (str(e).removeprefix("the drawing: "), "warn")
        except OSError as e:  # a file that became something else while the window was open
            self.message = (f"{e.filename or ''}: {e.strerror or e}".lstrip(": "), "warn")

    def paint(self, start: tuple[float, float], end: tuple[float, float], erase: bool = False) -> None:
        (self.canvas.erase if erase or self.eraser else self.canvas.stroke)(start, end)
        self.canvas_changed()

    def canvas_changed(self) -> None:
        """After the canvas's ink changed: the guess goes stale, the preview follows (one digit;
        a number's digits are found when it is read)."""
        self.version += 1
        self.lesson = None
        if not self.number_mode:
            self.field = normalize(self.canvas.ink)
        self.message = None
        self.changed = True

    def on_guess(self, key: str = "", echo: bool = True) -> None:
        """S: the network reads the drawing: one digit, or in number mode the number."""
        if self.canvas.blank:
            self.read, self.message = None, (say("draw_first"), "warn")
            return
        self.read, self.message = None, None
        number = self.session.read_grid(self.canvas.ink.copy())
        if not number.digits:
            self.message = (say("no_number" if self.number_mode else "draw_first"), "warn")
            return
        self.read, self.read_version, self.explained = number, self.version, None
        self.select(min(self.selected, len(number.digits) - 1))
        if echo and self.echo is not None:
            self.echo(_said(number, self.number_mode))

    def select(self, k: int) -> None:
        """A digit of the number (clicked): its guess, bars and inside view."""
        self.selected, self.explained = k, None
        self.field = self.read.digits[k].reading.seen
        self.changed = True

    def on_clear(self, key: str = "") -> None:
        self.canvas.clear()
        self.canvas_changed()
        self.read = None
        self.message = (say("cleared"), "text")

    def on_live(self, key: str = "") -> None:
        self.live = not self.live
        self.message = (say("live_on" if self.live else "live_off"), "text")
        if self.live and not self.canvas.blank:
            self.on_guess(echo=False)

    def on_eraser(self, key: str = "") -> None:
        self.eraser = not self.eraser
        self.message = (say("eraser_on" if self.eraser else "eraser_off"), "text")

    def on_inside(self, key: str = "") -> None:
        self.toggle("inside")

    def on_steps(self, key: str = "") -> None:
        self.toggle("steps")

    def on_dreams(self, key: str = "") -> None:
        self.toggle("dreams")

    def toggle(self, view: str) -> None:
        """V, P, D: open a view under the guess, or close it (G opens the learning view: on_learn)."""
        self.view = None if self.view == view else view
        self.message = None
        if self.view is not None and (view != "inside" or self.guess is not None):
            self.message = (say(VIEWS[view].opened), "text")

    def close_view(self) -> None:
        self.view, self.message = None, None

    def on_number(self, key: str = "") -> None:
        """N: the wide grid for a whole number, or back to one digit (the drawing starts again)."""
        self.number_mode = not self.number_mode
        self.canvas = Canvas(NUMBER_WIDTH if self.number_mode else SIDE)
        self.read, self.selected = None, 0
        self.canvas_changed()
        self.message = (say("number_on" if self.number_mode else "number_off"), "text")

    def explain(self, digit: int) -> None:
        """A click on a digit's bar: the evidence for that digit, in the inside view."""
        self.explained, self.unit, self.view = digit, None, "inside"

    def pick_unit(self, k: int) -> None:
        """A click on a hidden unit (a feature map): its sum written out; on it again: back."""
        self.unit = None if self.unit == k else k

    # -- learning, shown ------------------------------------------------------------------------------

    def on_learn(self, key: str = "") -> None:
        """G: the learning view, which asks for the right digit; in it, G takes one more step."""
        lesson = self.current_lesson()
        if self.view == "learn" and lesson is not None:
            self._take_steps(lesson.label, lesson.steps + 1)
        elif self.view == "learn":
            self.message = (say("learn_on"), "text")
        elif self.guess is None or self.stale:
            self.message = (say("learn_needs_guess"), "warn")
        else:
            self.view, self.lesson = "learn", None
            self.message = (say("learn_on"), "accent")

    def learn_toward(self, label: int) -> None:
        """A digit in the learning view: one step toward it (the same digit again: one more)."""
        if self.guess is None or self.stale:
            self.message = (say("learn_needs_guess"), "warn")
            return
        lesson = self.current_lesson()
        self._take_steps(label, lesson.steps + 1 if lesson is not None and lesson.label == label else 1)

    def _take_steps(self, label: int, steps: int) -> None:
        """The steps from the model in use, all of them again: a copy learns, the model does not."""
        steps = min(steps, MAX_STEPS)
        result = self.session.learn(self.ink, label, self.rate, steps)
        self.lesson = Lesson(label, steps, result, self.version)
        self.message = (say("learned", count=steps, s="" if steps == 1 else "s", label=label,
                            before=f"{result.losses[0]:.3f}", after=f"{result.losses[-1]:.3f}"), "text")

    def on_rate(self, key: str) -> None:
        """[ halves the learning steps' rate, ] doubles it; the steps shown are taken again."""
        self.lr = halved_or_doubled(self.rate, double=key == "]")
        lesson = self.current_lesson()
        if self.view == "learn" and lesson is not None:
            self._take_steps(lesson.label, lesson.steps)
        else:
            self.message = (say("rate_is", lr=f"{self.rate:g}"), "text")

    def on_keep(self, key: str = "") -> None:
        """K: the model in use becomes the copy the steps taught, saved like a taught model."""
        lesson = self.current_lesson()
        if self.view != "learn" or lesson is None:
            self.message = (say("keep_needs_step"), "warn")
            return
        model = self.session.keep(lesson.result)
        self.model_news()
        self.on_guess(echo=False)  # the new model's guess, bars and all
        self.message = (say("kept", label=lesson.label, count=lesson.steps, s="" if lesson.steps == 1 else "s",
                            lr=f"{lesson.result.lr:g}", model=model.name), "best")

    # -- your digits, taught ---------------------------------------------------------------------------

    def on_save(self, key: str) -> None:
        """0-9: in the learning view, the right digit for the steps; else the label to save."""
        (self.learn_toward if self.view == "learn" else self.save_label)(int(key))

    def save_label(self, digit: int) -> None:
        """0-9 right after a guess: the drawing (a number's digit shown), labeled, to the custom CSV."""
        if self.guess is None:
            self.message = (say("save_needs_guess"), "warn")
            return
        if self.stale:
            self.message = (say("save_stale"), "warn")
            return
        rows = self.session.save(self.ink, digit)
        self.on_clear()
        self.message = (say("saved", digit=digit, rows=rows, file=self.session.custom.name), "text")

    def on_teach(self, key: str = "") -> None:
        """T: the session teaches the saved drawings, on a thread; T again cancels."""
        if self.session.teaching.running:
            self.session.cancel_teaching()
            return
        self.session.teach()
        self.teaching, self.message = "running", None

    def on_undo(self, key: str = "") -> None:
        """U: back to the model from before the last teaching or kept step (and its file)."""
        try:
            undone = self.session.undo()
        except NothingYet:
            self.message = (say("nothing_to_undo"), "warn")
            return
        self.message = (say("undone_file_kept" if undone.file_kept else "undone", model=undone.model.name,
                            file=undone.file), "text")

    def on_page(self, key: str = "") -> None:
        """H: the model in use as one page that reads digits offline, written to temp/."""
        self.pages.mkdir(exist_ok=True)
        path = self.session.save_page(self.pages)
        self.message = (say("page_saved", file=display(path)), "best")

    def on_quit(self, key: str = "escape") -> None:
        """Esc cancels a teaching first, then closes the learning view and the dreams; Q quits."""
        if self.session.teaching.running:
            self.session.cancel_teaching()
        elif key == "escape" and self.view in ("learn", "dreams"):
            self.close_view()
        else:
            self.running = False

    # -- what happened meanwhile -------------------------------------------------------------------------

    def update(self) -> None:
        """Between events: a teaching's end, another model in use, a live guess kept in step."""
        self.teaching_news()
        self.model_news()
        if self.live and not self.canvas.blank and (self.guess is None or self.stale):
            self.on_guess(echo=False)
        elif self.live and self.canvas.blank and self.read is not None:
            self.read, self.changed = None, True

    def model_news(self) -> None:
        """The session answers with another model (taught, undone): guesses from now on are its."""
        if self.session.model is not self.shown_model:
            self.shown_model = self.session.model
            self.read, self.lesson, self.unit = None, None, None
            self.changed = True

    def teaching_news(self) -> None:
        """When the teaching job ends: its report."""
        job = self.session.teaching
        if self.teaching is None:
            return
        self.changed = True  # the progress bar moves
        if job.running:
            return
        self.teaching = None
        report = self.session.report
        if job.state == "done" and report is not None:
            self.message = (say("taught", summary=report.summary(), held_out=report.held_out,
                                model=self.session.model.name), "best")
            if self.echo is not None:
                self.echo(f"Taught: {report.summary()} ({report.how()}); saved {self.session.model.name}")
        elif job.state == "cancelled":
            self.message = (say("teach_cancelled"), "text")
        else:
            self.message = (say("teach_failed", error=job.error), "warn")


def _said(number: Number, whole: bool) -> str:
    """A guess as draw.py prints it."""
    if whole:
        each = ", ".join(f"{d.reading.digit} {d.reading.confidence:.1%}" for d in number.digits)
        return f"Number: {number.text} ({each})"
    reading = number.digits[0].reading
    note = {"too small": " - too small to read: draw a bigger digit",
            "unsure": f" - unsure, or {reading.runner_up}"}.get(reading.verdict, "")
    return f"Prediction: {reading.digit} ({reading.confidence:.1%}){note}"
