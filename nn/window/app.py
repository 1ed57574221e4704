"""The drawing window (pygame): paint a digit on a 28x28 grid, press S, see what the network thinks.

A view of the session (nn/session/session.py): its keys come from the session's table of
commands (nn/session/commands.py, which `draw.py --help` prints too), its words from the table of
messages, its colours from nn/session/pictures.py, and every command is one of the session's
methods; this file only turns events into them and draws the result.

Every event goes through DrawApp.handle, so tests can post real pygame events and run the app
headless (SDL_VIDEODRIVER=dummy). The window draws only when something changed, and at rest it
sleeps in pygame.event.wait: it takes no CPU while nobody draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn.dataset import SIDE
from nn.errors import NNError, UsageError
from nn.plumbing.files import atomic_write
from nn.session.canvas import NUMBER_WIDTH, Canvas
from nn.session.commands import commands_for, footer, say
from nn.session.learning import MAX_STEPS, FilterMap, LearningStep
from nn.session.pictures import PALETTE, evidence_rgb, heat_rgb, ink_rgb, map_mosaic, signed_rgb, unit_grid
from nn.session.preprocess import normalize
from nn.session.numbers import Number
from nn.session.reading import Reading
from nn.session.session import Session

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no greeting on stdout at import

FOOTER_KEYS = footer("window")
DEFAULT_CELL, SMALLEST_CELL = 20, 8
NUMBER_LINE = 60  # under the wide grid: the number read
NUMBER_WINDOW_HEIGHT = 700  # number mode's window at the least: the grid, the number, the panel
MARGIN, FOOTER = 16, 56
PANEL_MIN, PANEL_MAX = 300, 520

BACKGROUND, CANVAS, GRID = PALETTE["background"], PALETTE["canvas"], PALETTE["grid"]
TEXT, DIM, ACCENT, BEST, WARN = PALETTE["text"], PALETTE["dim"], PALETTE["accent"], PALETTE["best"], PALETTE["warn"]


@dataclass
class Guess:
    reading: Reading
    version: int  # the canvas version it was made for

    @property
    def digit(self) -> int:
        return self.reading.digit

    @property
    def probabilities(self) -> np.ndarray:
        return self.reading.probabilities

    @property
    def confidence(self) -> float:
        return self.reading.confidence


@dataclass
class Lesson:
    """The learning steps shown (G): toward which digit, how many, for which drawing."""

    label: int
    steps: int
    result: LearningStep
    version: int  # the canvas version they were taken on


# The session's commands (nn/session/commands.py) and the methods that carry them out here.
COMMAND_METHODS = {"guess": "predict", "clear": "clear", "eraser": "toggle_eraser", "live": "toggle_live",
                   "inside": "toggle_inside", "steps": "toggle_steps", "number": "toggle_number",
                   "learn": "learn", "keep": "keep", "dreams": "toggle_dreams", "teach": "teach", "undo": "undo"}


class DrawApp:
    """The window's state and behaviour; `run` is the event loop."""

    def __init__(self, session: Session, cell: int = DEFAULT_CELL, echo: bool = True):
        import pygame

        self.pygame = pygame
        pygame.display.init()  # not pygame.init(): no sound needed, and no audio warnings
        pygame.font.init()
        self.session = session
        self.echo = echo  # print each guess on stdout
        self.teaching: str | None = None  # the teaching job's state last seen
        self.canvas = Canvas()
        self.number_mode = False  # N: a wide grid for a whole number
        self.number: Number | None = None  # the number read (number mode), with its version:
        self.number_version = -1
        self.selected = 0  # the digit of the number whose guess, bars and inside view are shown
        self.chip_rects: list = []  # where each digit of the number is shown under the grid, for clicks
        self.view: str | None = None  # the view under the guess: "inside" (V), "steps" (P), "learn" (G),
        # "dreams" (D), or none: the bars alone
        self.lesson: Lesson | None = None  # the learning steps shown (G, then a digit)
        self.lr: float | None = None  # the learning steps' rate ([ and ]); None: the session's
        self.unit: int | None = None  # the unit (a CNN: the filter) clicked in the inside view
        self.unit_hit: tuple | None = None  # where the clickable units are: (rect, rows, columns, step, tile, n)
        self.field = np.zeros((SIDE, SIDE), dtype=np.float32)  # what the network sees
        self.version = 0  # bumps on every change of the drawing
        self.guess: Guess | None = None
        self.live = False
        self.eraser = False  # the pen rubs out (E)
        self.explained: int | None = None  # the digit whose evidence is shown; None: the guess
        self.running = True
        self.pen: str | None = None  # "draw" or "erase" while a button is held
        self.last: tuple[float, float] | None = None
        self.message: tuple[str, tuple] | None = None  # news that stays until the drawing changes
        self.dirty = True  # something changed since the last frame
        self.frames = 0  # frames drawn, for tests (and for the curious)
        self.bar_rects: list = []
        self.shown_model = session.model  # the model the window last showed
        width, height = self._window_size(cell)
        self.screen = pygame.display.set_mode((width, height), pygame.RESIZABLE)
        pygame.display.set_caption(f"Digit recognizer - {self.model_name}")
        self.fonts = {size: pygame.font.Font(None, size) for size in (18, 20, 24, 30, 48, 110, 150, 220)}
        # The keys of the session's commands (the keypad's digits too: their codes follow KP9).
        self.keys: dict[int, tuple[str, str]] = {}
        for command in commands_for("window"):
            for key in command.keys:
                self.keys[pygame.key.key_code(key)] = (command.name, key)
        self.keys.update({getattr(pygame, f"K_KP{d}"): ("save", str(d)) for d in range(10)})
        self._layout(width, height)

    @property
    def inside(self) -> bool:
        return self.view == "inside"

    @property
    def steps_view(self) -> bool:
        return self.view == "steps"

    @property
    def net(self):
        return self.session.model.net

    @property
    def model_name(self) -> str:
        return self.session.model.title

    # -- layout ---------------------------------------------------------------------------------

    @staticmethod
    def _window_size(cell: int) -> tuple[int, int]:
        side = SIDE * cell
        return 3 * MARGIN + side + PANEL_MIN, 2 * MARGIN + side + FOOTER

    def _layout(self, width: int, height: int) -> None:
        """Fit everything to the window as it is: the grid takes the largest whole cell size that
        leaves the panel its minimum width, and the panel the width left over (up to a limit); in
        number mode the wide grid runs across the top and the panel lies below it. The window
        itself is never recreated. Shrunk below what the layout needs (pygame has no call for a
        minimum size), the grid keeps SMALLEST_CELL and the rest is cut off."""
        self.origin = (MARGIN, MARGIN)
        if self.number_mode:
            fit = min((width - 2 * MARGIN) // self.canvas.width, (height - FOOTER - 360) // SIDE)
            self.cell = max(4, min(64, fit))
            self.panel_x, self.panel_top = MARGIN, 2 * MARGIN + SIDE * self.cell + NUMBER_LINE
            self.panel_width = max(PANEL_MIN, min(PANEL_MAX, (width - 3 * MARGIN) // 2))
            self.panel_bottom = max(self.panel_top + 200, height - FOOTER - MARGIN)
        else:
            fit = min((width - 3 * MARGIN - PANEL_MIN) // SIDE, (height - 2 * MARGIN - FOOTER) // SIDE)
            self.cell = max(SMALLEST_CELL, min(64, fit))
            self.panel_x, self.panel_top = 2 * MARGIN + SIDE * self.cell, MARGIN
            self.panel_width = max(PANEL_MIN, min(PANEL_MAX, width - self.panel_x - MARGIN))
            self.panel_bottom = 2 * MARGIN + SIDE * self.cell
        self.dirty = True

    def to_cells(self, pos: tuple[int, int]) -> tuple[float, float]:
        """Window pixels -> canvas cells (x, y), fractional."""
        return ((pos[0] - self.origin[0]) / self.cell, (pos[1] - self.origin[1]) / self.cell)

    def to_pixels(self, cells: tuple[float, float]) -> tuple[int, int]:
        """Canvas cells (x, y) -> window pixels."""
        return (round(self.origin[0] + cells[0] * self.cell), round(self.origin[1] + cells[1] * self.cell))

    def on_canvas(self, pos: tuple[int, int]) -> bool:
        x, y = self.to_cells(pos)
        return 0 <= x < self.canvas.width and 0 <= y < SIDE

    # -- events ---------------------------------------------------------------------------------

    def handle(self, event) -> None:
        """React to one pygame event; mark the window for redrawing if anything changed."""
        pg = self.pygame
        kind = event.type
        if kind == pg.QUIT:
            self.running = False
        elif kind == pg.KEYDOWN:
            self._key(event.key)
        elif kind == pg.MOUSEBUTTONDOWN and getattr(event, "button", 0) in (1, 3):
            pos = getattr(event, "pos", (0, 0))
            if self.on_canvas(pos):
                self.pen = "draw" if event.button == 1 and not self.eraser else "erase"
                self.last = self.to_cells(pos)
                self._paint(self.last, self.last)
            elif event.button == 1:
                self._click_bar(pos)
                self._click_chip(pos)
                self._click_unit(pos)
        elif kind == pg.MOUSEBUTTONUP and getattr(event, "button", 0) in (1, 3):
            self.pen, self.last = None, None
        elif kind == pg.MOUSEMOTION and self.pen is not None:
            here = self.to_cells(getattr(event, "pos", (0, 0)))
            self._paint(self.last or here, here)
            self.last = here
        elif kind in (pg.VIDEORESIZE, getattr(pg, "WINDOWRESIZED", -1), getattr(pg, "WINDOWSIZECHANGED", -1)):
            width = getattr(event, "w", None) or getattr(event, "x", None) or self.screen.get_width()
            height = getattr(event, "h", None) or getattr(event, "y", None) or self.screen.get_height()
            self.screen = pg.display.get_surface() or self.screen  # pygame resizes it by itself
            self._layout(int(width), int(height))
        elif kind in (getattr(pg, "VIDEOEXPOSE", -1), getattr(pg, "WINDOWEXPOSED", -1),
                      getattr(pg, "WINDOWSHOWN", -1), getattr(pg, "WINDOWRESTORED", -1)):
            self.dirty = True

    def _key(self, key: int) -> None:
        """A key: the session's command bound to it (nn/session/commands.py)."""
        self.dirty = True
        name, which = self.keys.get(key, (None, None))
        if name == "quit" and self.session.teaching.running:
            self.session.cancel_teaching()  # Esc cancels the teaching first
        elif name == "quit" and which == "escape" and self.view in ("learn", "dreams"):
            self.view, self.message = None, None  # and closes the learning view and the dreams
        elif name == "quit":
            self.running = False
        elif name == "save" and self.view == "learn":
            self.learn_toward(int(which))
        elif name == "save":
            self.save_label(int(which))
        elif name == "rate":
            self.change_rate(which)
        elif name is not None:
            getattr(self, COMMAND_METHODS[name])()
        else:
            self.dirty = False

    def toggle_live(self) -> None:
        self.live = not self.live
        self.message = (say("live_on" if self.live else "live_off"), TEXT)
        if self.live and not self.canvas.blank:
            self.predict(echo=False)

    def toggle_eraser(self) -> None:
        self.eraser = not self.eraser
        self.message = (say("eraser_on" if self.eraser else "eraser_off"), TEXT)

    def _toggle_view(self, view: str) -> None:
        self.view = None if self.view == view else view
        self.message = None

    def toggle_inside(self) -> None:
        self._toggle_view("inside")
        if self.inside and self._current() is not None:
            self.message = (say("unit_hint"), TEXT)

    def toggle_steps(self) -> None:
        self._toggle_view("steps")
        self.message = (say("steps_on"), TEXT) if self.steps_view else None

    def toggle_dreams(self) -> None:
        self._toggle_view("dreams")
        self.message = (say("dreams_on"), TEXT) if self.view == "dreams" else None

    # -- learning, shown ------------------------------------------------------------------------

    def _ink(self) -> np.ndarray:
        """The drawing the guess is about: the canvas, or in number mode the digit shown."""
        return self.number.digits[self.selected].ink if self.number_mode and self.number else self.canvas.ink

    def _guessed(self) -> bool:
        """Whether the guess shown is of the drawing as it is."""
        return self._current() is not None and self.guess.version == self.version

    @property
    def rate(self) -> float:
        return self.lr if self.lr is not None else self.session.step_lr

    def learn(self) -> None:
        """G: the learning view, which asks for the right digit; in it, G takes one more step."""
        if self.view == "learn" and self.lesson is not None and self.lesson.version == self.version:
            self._take_steps(self.lesson.label, self.lesson.steps + 1)
        elif self.view == "learn":
            self.message = (say("learn_on"), TEXT)
        elif not self._guessed():
            self.message = (say("learn_needs_guess"), WARN)
        else:
            self.view, self.lesson = "learn", None
            self.message = (say("learn_on"), ACCENT)

    def learn_toward(self, label: int) -> None:
        """A digit in the learning view: one step toward it (the same digit again: one more)."""
        if not self._guessed():
            self.message = (say("learn_needs_guess"), WARN)
            return
        same = self.lesson is not None and self.lesson.label == label and self.lesson.version == self.version
        self._take_steps(label, self.lesson.steps + 1 if same else 1)

    def _take_steps(self, label: int, steps: int) -> None:
        """The steps from the model in use, all of them again: a copy learns, the model does not."""
        steps = min(steps, MAX_STEPS)
        try:
            result = self.session.learn(self._ink(), label, self.rate, steps)
        except NNError as e:
            self.message = (str(e), WARN)
            return
        self.lesson = Lesson(label, steps, result, self.version)
        self.message = (say("learned", count=steps, s="" if steps == 1 else "s", label=label,
                            before=f"{result.losses[0]:.3f}", after=f"{result.losses[-1]:.3f}"), TEXT)

    def change_rate(self, which: str) -> None:
        """[ halves the learning steps' rate, ] doubles it; the steps shown are taken again."""
        self.lr = min(10.0, max(1e-6, self.rate / 2 if which == "[" else self.rate * 2))
        if self.view == "learn" and self.lesson is not None and self.lesson.version == self.version:
            self._take_steps(self.lesson.label, self.lesson.steps)
        else:
            self.message = (say("rate_is", lr=f"{self.rate:g}"), TEXT)

    def keep(self) -> None:
        """K: the model in use becomes the copy the steps taught, saved like a taught model (U undoes)."""
        lesson = self.lesson
        if self.view != "learn" or lesson is None or lesson.version != self.version:
            self.message = (say("keep_needs_step"), WARN)
            return
        try:
            model = self.session.keep(lesson.result)
        except (OSError, NNError) as e:
            self.message = (f"Could not keep it: {getattr(e, 'strerror', None) or e}", WARN)
            return
        self._model_news()
        self.predict(echo=False)  # the new model's guess, bars and all
        self.message = (say("kept", label=lesson.label, count=lesson.steps, s="" if lesson.steps == 1 else "s",
                            lr=f"{lesson.result.lr:g}", model=model.name), BEST)

    def toggle_number(self) -> None:
        """N: the wide grid for a whole number, or back to one digit (the drawing starts again)."""
        self.number_mode = not self.number_mode
        self.canvas = Canvas(NUMBER_WIDTH if self.number_mode else SIDE)
        self.number, self.guess, self.selected = None, None, 0
        self.canvas_changed()
        width, height = self.screen.get_size()
        if self.number_mode and height < NUMBER_WINDOW_HEIGHT:  # room under the wide grid for the panel
            self.screen = self.pygame.display.set_mode((width, NUMBER_WINDOW_HEIGHT), self.pygame.RESIZABLE)
        self._layout(*self.screen.get_size())
        self.message = (say("number_on" if self.number_mode else "number_off"), TEXT)

    def _click_chip(self, pos: tuple[int, int]) -> None:
        """A click on a digit of the number shows that digit's guess, bars and inside view."""
        for k, rect in enumerate(self.chip_rects):
            if rect.collidepoint(pos) and self.number is not None:
                self._select(k)
                return

    def _select(self, k: int) -> None:
        digit = self.number.digits[k]
        self.selected, self.explained = k, None
        self.guess = Guess(digit.reading, self.number_version)
        self.field = digit.reading.seen
        self.dirty = True

    def _click_bar(self, pos: tuple[int, int]) -> None:
        """A click on a digit's bar shows that digit's evidence, in the inside view."""
        for digit, rect in enumerate(self.bar_rects):
            if rect.inflate(40, 4).collidepoint(pos):
                self.explained, self.unit = digit, None
                self.view = "inside"
                self.dirty = True
                return

    def _click_unit(self, pos: tuple[int, int]) -> None:
        """A click on a hidden unit (a CNN: a feature map) in the inside view writes out its sum
        (its filter and map); a click on it again goes back to the evidence."""
        if not self.inside or self.unit_hit is None or not self.unit_hit[0].collidepoint(pos):
            return
        rect, rows, columns, step, tile, n = self.unit_hit  # one unit each `step` cells, `tile` of them drawn
        x = int((pos[0] - rect.x) / rect.width * (columns * step - step + tile))
        y = int((pos[1] - rect.y) / rect.height * (rows * step - step + tile))
        if x % step >= tile or y % step >= tile:
            return  # the line between two maps
        k = (y // step) * columns + x // step
        if k < n:
            self.unit = None if self.unit == k else k
            self.dirty = True

    def _paint(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        if self.pen == "draw":
            self.canvas.stroke(start, end)
        else:
            self.canvas.erase(start, end)
        self.canvas_changed()

    def canvas_changed(self) -> None:
        """Call after changing the canvas's ink: the guess goes stale, the preview follows (for one
        digit; a number's digits are found when it is read)."""
        self.version += 1
        self.lesson = None
        if not self.number_mode:
            self.field = normalize(self.canvas.ink)
        self.message = None
        self.dirty = True

    # -- actions ----------------------------------------------------------------------------

    def predict(self, echo: bool | None = None) -> Guess | None:
        """Run the network on the normalised drawing (S)."""
        self.dirty = True
        if self.canvas.blank:
            self.guess = None
            self.message = (say("draw_first"), WARN)
            return None
        if self.number_mode:
            return self._read_number(echo)
        self.guess = Guess(self.session.read(self.canvas.ink), self.version)
        self.explained = None
        self.message = None
        if echo if echo is not None else self.echo:
            reading = self.guess.reading
            note = {"too small": " - too small to read: draw a bigger digit",
                    "unsure": f" - unsure, or {reading.runner_up}"}.get(reading.verdict, "")
            print(f"Prediction: {reading.digit} ({reading.confidence:.1%}){note}", flush=True)
        return self.guess

    def _read_number(self, echo: bool | None) -> Guess | None:
        """S in number mode: the number read, its first digit (or the one clicked) shown."""
        try:
            number = self.session.read_number(self.canvas.ink)
        except NNError as e:
            self.number, self.guess, self.message = None, None, (str(e).removeprefix("the drawing: "), WARN)
            return None
        if not number.digits:
            self.number, self.guess, self.message = None, None, (say("no_number"), WARN)
            return None
        self.number, self.number_version = number, self.version
        self._select(min(self.selected, len(number.digits) - 1))
        self.message = None
        if echo if echo is not None else self.echo:
            each = ", ".join(f"{d.reading.digit} {d.reading.confidence:.1%}" for d in number.digits)
            print(f"Number: {number.text} ({each})", flush=True)
        return self.guess

    def clear(self) -> None:
        self.canvas.clear()
        self.canvas_changed()
        self.guess = None
        self.message = (say("cleared"), TEXT)

    def save_label(self, digit: int) -> None:
        """0-9 right after a guess: the session adds the drawing (in number mode, the digit
        shown), labeled, to the custom CSV."""
        self.dirty = True
        if self.guess is None or self.canvas.blank:
            self.message = (say("save_needs_guess"), WARN)
            return
        if self.guess.version != self.version:
            self.message = (say("save_stale"), WARN)
            return
        try:
            rows = self.session.save(self._ink(), digit)
        except (OSError, NNError) as e:  # the file became something else while the window was open
            self.message = (say("save_failed", reason=f"{self.session.custom}: {getattr(e, 'strerror', None) or e}"), WARN)
            return
        self.clear()
        self.message = (say("saved", digit=digit, rows=rows, file=self.session.custom.name), TEXT)

    def teach(self) -> None:
        """T: the session teaches the saved drawings, on a thread; T again cancels."""
        if self.session.teaching.running:
            self.session.cancel_teaching()
            return
        try:
            self.session.teach()
        except NNError as e:
            self.message = (str(e), WARN)
            return
        self.teaching = "running"
        self.message = None

    def undo(self) -> None:
        """U: back to the model from before the last teaching (and its file)."""
        if not self.session.can_undo:
            self.message = (say("nothing_to_undo"), WARN)
            return
        try:
            undone = self.session.undo()
        except OSError as e:
            self.message = (f"Could not undo: {self.session.out}: {e.strerror or e}", WARN)
            return
        if undone is None:
            self.message = (say("nothing_to_undo"), WARN)
            return
        self.message = (say("undone_file_kept" if undone.file_kept else "undone", model=undone.model.name,
                            file=undone.file), TEXT)

    def _model_news(self) -> None:
        """The session answers with another model (taught, undone): guesses from now on are its."""
        if self.session.model is not self.shown_model:
            self.shown_model = self.session.model
            self.guess, self.lesson, self.unit = None, None, None
            self.dirty = True
            self.pygame.display.set_caption(f"Digit recognizer - {self.model_name}")

    def _teaching_news(self) -> None:
        """When the teaching job ends: its report."""
        job = self.session.teaching
        if self.teaching is None:
            return
        if job.running:
            self.dirty = True  # the progress bar moves
            return
        self.teaching = None
        self.dirty = True
        report = self.session.report
        if job.state == "done" and report is not None:
            self.message = (say("taught", summary=report.summary(), held_out=report.held_out,
                                model=self.session.model.name), BEST)
            if self.echo:
                print(f"Taught: {report.summary()} ({report.how()}); saved {self.session.model.name}", flush=True)
        elif job.state == "cancelled":
            self.message = (say("teach_cancelled"), TEXT)
        else:
            self.message = (say("teach_failed", error=job.error), WARN)

    def update(self) -> None:
        """After the events: keep a live guess in step with the drawing."""
        self._teaching_news()
        self._model_news()
        if self.live:
            if self.canvas.blank:
                if self.guess is not None:
                    self.guess = None
                    self.dirty = True
            elif self.guess is None or self.guess.version != self.version:
                self.predict(echo=False)

    @property
    def status(self) -> str:
        return self._status()[0]

    def _status(self) -> tuple[str, tuple]:
        """The line under the grid: news if there is any, else what to do next, from the state."""
        if self.teaching == "running":
            return say("teaching", percent=round(100 * self.session.teaching.progress)), ACCENT
        if self.message is not None:
            return self.message
        if self.canvas.blank:
            return say("start"), TEXT
        if self.guess is None:
            return say("live_guessing" if self.live else "press_s"), TEXT
        if self.guess.version != self.version:
            return say("stale"), TEXT
        if self.number_mode and self.number is not None:
            return say("number_read", number=self.number.text), TEXT
        if self.guess.reading.verdict == "too small":
            return say("too_small"), WARN
        return say("save_hint"), TEXT

    # -- drawing ----------------------------------------------------------------------------

    def render(self) -> None:
        pg = self.pygame
        screen = self.screen
        self.frames += 1
        self.dirty = False
        screen.fill(BACKGROUND)
        side, across = SIDE * self.cell, self.canvas.width * self.cell
        screen.blit(self._surface(ink_rgb(self.canvas.ink), across, side), self.origin)
        x0, y0 = self.origin
        for i in range(self.canvas.width + 1):
            pg.draw.line(screen, GRID, (x0 + i * self.cell, y0), (x0 + i * self.cell, y0 + side))
        for i in range(SIDE + 1):
            pg.draw.line(screen, GRID, (x0, y0 + i * self.cell), (x0 + across, y0 + i * self.cell))
        if self.number_mode:
            self._render_number()
        self._render_panel()
        footer_y = screen.get_height() - FOOTER if self.number_mode else 2 * MARGIN + side
        text, colour = self._status()
        if self.teaching == "running":  # a progress bar behind the line
            width = screen.get_width() - 2 * MARGIN
            pg.draw.rect(screen, GRID, (MARGIN, footer_y + 20, width, 4))
            pg.draw.rect(screen, ACCENT, (MARGIN, footer_y + 20, round(width * self.session.teaching.progress), 4))
        self._text(text, (MARGIN, footer_y), 24, colour)
        self._text(FOOTER_KEYS, (MARGIN, footer_y + 26), 20, DIM, width=screen.get_width() - 2 * MARGIN)

    def _current(self) -> Guess | None:
        return self.guess if self.guess is not None and not self.canvas.blank else None

    def _render_number(self) -> None:
        """Number mode: a box on the grid around each digit read, its guess and confidence on it,
        and the number in large type under the grid, each digit a button that shows it."""
        pg = self.pygame
        number = self.number if self.number is not None and self.number_version == self.version else None
        y = 2 * MARGIN + SIDE * self.cell
        self.chip_rects = []
        if number is None:
            self._text("Read: press S" if not self.canvas.blank else "Write a number of up to eight digits",
                       (MARGIN, y), 30, DIM)
            return
        for k, d in enumerate(number.digits):
            x, top = self.to_pixels((d.box[0], d.box[1]))
            right, bottom = self.to_pixels((d.box[0] + d.box[2], d.box[1] + d.box[3]))
            colour = ACCENT if k == self.selected else BEST if d.reading.verdict == "sure" else WARN
            pg.draw.rect(self.screen, colour, (x - 2, top - 2, right - x + 4, bottom - top + 4), 2)
            self._text(f"{d.reading.digit} {d.reading.confidence:.0%}", (x, max(MARGIN, top - 16)), 18, colour)
        self._text("Read:", (MARGIN, y + 8), 30, TEXT)
        x = MARGIN + 70
        for k, d in enumerate(number.digits):
            rect = pg.Rect(x, y, 40, 44)
            self.chip_rects.append(rect)
            if k == self.selected:
                pg.draw.rect(self.screen, GRID, rect)
                pg.draw.rect(self.screen, ACCENT, rect, 2)
            self._text(str(d.reading.digit), (x + 9, y + 4), 48, BEST if d.reading.verdict == "sure" else WARN)
            x += 44
        self._text(f"{number.confidence:.1%} sure of all {len(number.digits)} (click a digit for its own)",
                   (x + 12, y + 14), 20, DIM)

    def _render_panel(self) -> None:
        x, y = self.panel_x, self.panel_top
        guess = self._current()
        # a wider panel (a bigger window) gets a bigger preview and guess
        small = self.view in ("inside", "learn", "dreams") or self.number_mode
        preview = 112 if small else max(140, min(224, int(self.panel_width * 0.42)))
        self._picture(self._ink_surface(self.field, preview), (x, y + 4))
        self._text("what the network sees", (x, y + preview + 8), 18 if small else 20, DIM)
        self._render_guess(guess, x + preview + 20, y)
        top = y + preview + 34
        bottom = self.panel_bottom
        self.unit_hit = None
        if self.number_mode and self.view is not None:  # beside the bars
            side_x = x + self.panel_width + MARGIN
            area = (side_x, y, self.screen.get_width() - side_x - MARGIN, bottom)
            if self.steps_view:
                self._render_steps(*area)
            elif self.view == "learn":
                self._render_learn(*area)
            elif self.view == "dreams":
                self._render_dreams(*area[:3])
            else:
                self._render_inside(guess, side_x, y, area[2], bottom - y)
        elif self.steps_view:
            self._render_steps(x, top, self.panel_width, bottom)
            return
        elif self.inside:
            top = self._render_inside(guess, x, top)
        elif self.view == "learn":
            top = self._render_learn(x, top, self.panel_width, bottom)
        elif self.view == "dreams":
            top = self._render_dreams(x, top, self.panel_width)
        # the model's name under the bars, unless the inside view leaves them too little room
        # (the window's title names the model too)
        labelled = (bottom - 46 - top - 30) // 10 >= 14
        self._render_bars(guess, x, top, bottom - 46 if labelled else bottom)
        if not labelled:
            return
        model, _, about = self.model_name.partition(" (")
        self._text(f"Model: {model}", (x, bottom - 40), 20, DIM)
        if about:
            self._text(f"({about}", (x, bottom - 22), 20, DIM)

    def _render_guess(self, guess: Guess | None, x: int, y: int) -> None:
        big = 110 if self.view in ("inside", "learn", "dreams") or self.number_mode else \
            220 if self.panel_width >= 480 else 150
        self._text("Guess" + (" (live)" if self.live else ""), (x, y), 24, TEXT)
        if guess is None:
            self._text("?", (x + 12, y + 18), big, DIM)
            self._text("press S", (x, y + 18 + big * 2 // 3), 24, DIM)
            return
        reading = guess.reading
        stale = guess.version != self.version
        if reading.verdict == "too small":
            self._text("?", (x + 12, y + 18), big, WARN)
            self._text("too small:", (x, y + 18 + big * 2 // 3), 24, WARN)
            self._text("draw it bigger", (x, y + 40 + big * 2 // 3), 24, WARN)
            return
        colour = DIM if stale else BEST if reading.verdict == "sure" else WARN
        self._text(str(reading.digit), (x + 12, y + 18), big, colour)
        below = y + 18 + big * 2 // 3
        if stale:
            self._text("before your last", (x, below), 20, DIM)
            self._text("strokes: press S", (x, below + 18), 20, DIM)
        elif reading.verdict == "unsure":
            self._text(f"unsure: {reading.confidence:.0%}", (x, below), 24, WARN)
            second = reading.runner_up
            self._text(f"or {second}? ({reading.probabilities[second]:.0%})", (x, below + 22), 24, WARN)
        else:
            self._text(f"{reading.confidence:.1%} sure", (x, below), 24, TEXT)

    def _render_bars(self, guess: Guess | None, x: int, top: int, bottom: int) -> None:
        pg = self.pygame
        lesson = self._lesson() if self.view == "learn" else None
        if lesson is not None:  # the probabilities after the steps, a tick where they were before
            n = lesson.steps
            title = f"After {'the step' if n == 1 else f'{n} steps'} (white tick: before)"
            before, probabilities = lesson.result.probabilities[0], lesson.result.probabilities[-1]
        else:
            title = "All ten probabilities" + (" (click one)" if self.inside else "")
            before, probabilities = None, guess.probabilities if guess is not None else None
        self._text(title, (x, top), 24, TEXT)
        row_height = max(12, min(44, (bottom - top - 30) // 10))
        bar_width = self.panel_width - 90
        stale = guess is not None and guess.version != self.version
        self.bar_rects = []  # where each digit's bar is, for clicks and for tests
        best_digit = int(np.argmax(probabilities)) if probabilities is not None else None
        for digit in range(10):
            row_y = top + 26 + digit * row_height
            p = float(probabilities[digit]) if probabilities is not None else 0.0
            shown = self.inside and digit == self._explained_digit(guess)
            size = 30 if row_height >= 34 else 24 if row_height >= 20 else 20
            self._text(str(digit), (x, row_y), size, ACCENT if shown else TEXT)
            track = pg.Rect(x + 20, row_y + 2, bar_width, max(6, row_height - 6))
            self.bar_rects.append(track)
            pg.draw.rect(self.screen, GRID, track)
            colour = DIM if stale else BEST if digit == best_digit else ACCENT
            pg.draw.rect(self.screen, colour, (track.x, track.y, round(bar_width * p), track.height))
            if before is not None:
                tick = track.x + round(bar_width * float(before[digit]))
                pg.draw.line(self.screen, TEXT, (tick, track.y - 2), (tick, track.bottom + 1), 2)
            if shown:
                pg.draw.rect(self.screen, TEXT, track.inflate(4, 4), 1)
            if guess is not None:
                self._text(f"{p:.1%}", (x + 26 + bar_width, row_y), 20, DIM)

    def _lesson(self) -> Lesson | None:
        """The learning steps shown, if they were taken on the drawing as it is."""
        return self.lesson if self.lesson is not None and self.lesson.version == self.version else None

    def _render_learn(self, x: int, top: int, width: int, bottom: int) -> int:
        """G: one step of learning on this drawing, every number of it (nn/session/learning.py):
        the loss before and after, the output error A - Y, the error passed back to the hidden
        layer, and the change of the weights into the units that moved most; returns where the
        bars (after the step, with a tick where they were before) go."""
        pg = self.pygame
        lesson = self._lesson()
        self._text((f"Learning toward {lesson.label}" if lesson else "One step of learning") + f", lr {self.rate:g}",
                   (x, top), 24, TEXT)
        if lesson is None:
            lines = ["Press the digit your drawing is (0-9): a copy of the",
                     "network takes one step of gradient descent on this",
                     "drawing alone, P -= lr · dP for every weight and bias.",
                     "G: another step.  K: keep it.  Esc: close."]
            for i, line in enumerate(lines):
                self._text(line, (x, top + 28 + 18 * i), 18, DIM)
            return top + 28 + 18 * len(lines) + 10
        r = lesson.result
        losses = [f"{v:.3f}" for v in r.losses]
        shown = " -> ".join(losses if len(losses) <= 4 else losses[:2] + ["...", losses[-1]])
        self._text(f"loss -log p({r.label}): {shown}", (x, top + 24), 20, TEXT)
        # the output error A - Y: ten signed bars around zero, green where the score will rise
        y, row, half = top + 48, 10, (width - 16) // 2
        self._text("output error A - Y", (x, y), 18, TEXT)
        zero, span = x + 14 + (half - 64) // 2, (half - 64) // 2
        for d, e in enumerate(r.output_error):
            ry = y + 18 + d * row
            self._text(str(d), (x, ry - 2), 18, ACCENT if d == r.label else DIM)
            length = max(1, round(span * min(1.0, abs(float(e)))))
            pg.draw.rect(self.screen, BEST if e < 0 else PALETTE["against"],
                         (zero - length if e < 0 else zero, ry + 1, length, row - 3))
            self._text(f"{e:+.3f}", (x + half - 46, ry - 2), 18, TEXT if d == r.label else DIM)
        pg.draw.line(self.screen, DIM, (zero, y + 17), (zero, y + 18 + 10 * row))
        hx, side = x + half + 16, min(half, 10 * row + 4)
        if r.hidden_error:  # the error passed back: dZ = dA * g'(Z), one cell per unit
            dz = r.hidden_error[0]
            self._text(f"hidden error dZ, {len(dz)} units", (hx, y), 18, TEXT)
            self._picture(self._surface(signed_rgb(unit_grid(-dz)), side, side), (hx, y + 18))
        y += 18 + max(10 * row, side) + 8
        changes = [(f"{j}", w) for j, w in zip(r.units, r.weight_change)]
        about = f"-lr · x · dZ_j: the {len(changes)} units that moved most"
        if r.filter_change is not None:
            changes = [(f"{f}", r.filter_change[f]) for f in r.units]
            about = f"-lr · dW: the {len(changes)} filters that moved most"
        if not changes:
            return y + 4
        self._text(about, (x, y), 18, TEXT)
        if width >= 440:
            self._text("green: up, red: down", (x + width - 130, y), 18, DIM)
        per_row = min(len(changes), 8)
        each = min(64, (width - 4 * (per_row - 1)) // per_row)
        scale = max(float(np.abs(w).max()) for _, w in changes)  # one scale: which moved most shows
        for i, (name, w) in enumerate(changes):
            r_, c = divmod(i, per_row)
            px, py = x + c * (each + 4), y + 20 + r_ * (each + 18)
            self._picture(self._surface(signed_rgb(w, scale), each, each), (px, py))
            self._text(name, (px, py + each + 1), 18, DIM)
        rows = -(-len(changes) // per_row)
        return y + 20 + rows * (each + 18) + 6

    def _render_dreams(self, x: int, top: int, width: int) -> int:
        """D: for each digit, the input that most raises its score (nn/session/learning.py's
        dream), with the probability the network gives it."""
        pictures = self.session.dreams()
        p = self.net.predict_proba(pictures)
        self._text("What it thinks each digit looks like", (x, top), 24, TEXT)
        each = min(96, (width - 4 * 8) // 5)
        for k in range(10):
            r, c = divmod(k, 5)
            px, py = x + c * (each + 8), top + 26 + r * (each + 22)
            self._picture(self._ink_surface(pictures[k].reshape(SIDE, SIDE), each), (px, py))
            self._text(f"{k}: {p[k, k]:.0%}", (px, py + each + 2), 18, DIM)
        self._text("the input that most raises each score, found by", (x, top + 26 + 2 * (each + 22)), 18, DIM)
        self._text("gradient ascent from a blank grid", (x, top + 42 + 2 * (each + 22)), 18, DIM)
        return top + 66 + 2 * (each + 22)

    def _explained_digit(self, guess: Guess | None) -> int | None:
        if guess is None:
            return None
        return self.explained if self.explained is not None else guess.digit

    def _render_steps(self, x: int, top: int, width: int, bottom: int) -> None:
        """P: every step from the drawing (the digit shown, in number mode) to the 784 numbers the
        network receives, each a small picture with what was done and why (nn/session/preprocess.py)."""
        guess = self._current()
        self._text("From your drawing to what the network sees", (x, top), 24, TEXT)
        if guess is None:
            self._text("press S", (x, top + 28), 20, DIM)
            return
        ink = self.number.digits[self.selected].ink if self.number_mode and self.number else self.canvas.ink
        steps = self.session.steps(ink)
        row = max(30, min(76, (bottom - top - 30) // len(steps)))
        picture = row - 8
        for k, step in enumerate(steps):
            y = top + 30 + k * row
            h, w = step.picture.shape
            scale = picture / max(h, w)
            self._picture(self._surface(ink_rgb(step.picture), max(1, round(w * scale)), max(1, round(h * scale))),
                          (x, y))
            says = step.says
            if step.name == "numbers":  # a few of the 784, as they are
                middle = step.picture[SIDE // 2]
                first = int(np.flatnonzero(middle > 0.3)[0]) if (middle > 0.3).any() else 10
                says += "  Row 14: ... " + " ".join(f"{v:.2f}" for v in middle[first - 1:first + 4]) + " ..."
            self._wrapped(f"{k + 1}. {says}", (x + picture + 10, y), width - picture - 10, 18, TEXT if k == len(steps) - 1 else DIM,
                          lines=max(1, (row - 4) // 14))

    def _wrapped(self, text: str, pos: tuple[int, int], width: int, size: int, colour, lines: int) -> None:
        """Text in up to `lines` lines of at most `width` pixels."""
        font, words, row = self.fonts[size], text.split(), ""
        x, y = pos
        for word in words:
            trial = f"{row} {word}".strip()
            if font.size(trial)[0] > width and row:
                self.screen.blit(font.render(row, True, colour), (x, y))
                y, row, lines = y + size - 4, word, lines - 1
                if lines == 1:  # the last line takes the rest, cut to fit
                    row = " ".join(words[words.index(word):])
                    while font.size(row)[0] > width and len(row) > 3:
                        row = row[:-4] + "..."
                    break
            else:
                row = trial
        self.screen.blit(font.render(row, True, colour), (x, y))

    def _render_inside(self, guess: Guess | None, x: int, top: int, width: int | None = None,
                       height: int | None = None) -> int:
        """The evidence map and the hidden layers, side by side; returns where the bars go."""
        width = width or self.panel_width
        half = (width - 16) // 2
        side = min(half, 28 * 9, (height or 10 ** 6) - 90)
        if self.unit is not None and guess is not None:  # smaller: room for the sum written out
            side = min(side, 112)
        digit = self._explained_digit(guess)
        inside, evidence = self.session.inside(guess.reading, digit) if guess is not None else (None, None)
        unit = self.session.unit(self._ink(), self.unit) if guess is not None and self.unit is not None else None
        if unit is not None:
            self._render_unit(unit, x, top, side)
        elif evidence is not None:
            self._picture(self._surface(evidence_rgb(evidence.pixels, self.field), side, side), (x, top + 20))
            self._text(f"Evidence for {digit}", (x, top), 20, TEXT)
            self._text("green: for it, red: against", (x, top + side + 24), 18, DIM)
            if evidence.exact:  # the identity, in numbers: score = pixels + biases
                sign = "+" if evidence.bias >= 0 else "-"
                self._text(f"score {evidence.score:.2f} = {evidence.pixels.sum():.2f} {sign} "
                           f"{abs(evidence.bias):.2f}", (x, top + side + 40), 18, DIM)
                self._text("(from pixels + biases)", (x, top + side + 56), 18, DIM)
            else:
                self._text("approximate: gradient x input", (x, top + side + 40), 18, DIM)
        else:
            self._text("Evidence", (x, top), 20, TEXT)
            self.pygame.draw.rect(self.screen, CANVAS, (x, top + 20, side, side))
            self._text("press S", (x + 8, top + 28), 18, DIM)
        hx = x + half + 16
        bottom = top + side + 76
        if inside is not None and inside.maps:
            bottom = self._render_maps(inside, hx, top, side)
            h, w, f = inside.maps[0].shape
            columns = int(np.ceil(np.sqrt(f)))
            self.unit_hit = (self.pygame.Rect(hx, top + 20, side, side), -(-f // columns), columns, w + 1, w, f)
        elif inside is not None and not inside.hidden:
            self._text("No hidden layer", (hx, top), 20, TEXT)
            self._text("784 pixels straight to", (hx, top + 22), 18, DIM)
            self._text("the 10 outputs", (hx, top + 38), 18, DIM)
        elif inside is not None:
            layers = inside.hidden
            each = max(24, (side - 14 * (len(layers) - 1)) // max(1, len(layers)))
            self._text(f"Hidden layer{'s' if len(layers) > 1 else ''}", (hx, top), 20, TEXT)
            y = top + 20
            for l, activations in enumerate(layers):
                scale = float(np.abs(activations).max()) or 1.0
                grid = unit_grid(activations)
                self._picture(self._heat_surface(grid, each), (hx, y))
                if l == 0:  # the first hidden layer's units can be clicked: their sums written out
                    height = max(1, round(each * grid.shape[0] / grid.shape[1]))
                    self.unit_hit = (self.pygame.Rect(hx, y, each, height), *grid.shape, 1, 1, len(activations))
                self._text(f"{len(activations)} units, max {scale:.2g}", (hx, y + each + 2), 18, DIM)
                y += each + 18
        else:
            self._text("Hidden layer", (hx, top), 20, TEXT)
        if unit is not None:  # the sum written out, under both
            self._mark_unit()
            lines = unit.written() if inside.maps else unit.written(shown=4)
            y = bottom if inside.maps else top + side + 44
            for i, line in enumerate(lines):
                self._text(line, (x, y + 15 * i), 18, TEXT if i == 0 else DIM)
            bottom = y + 15 * len(lines) + 6
        return bottom

    def _render_unit(self, unit, x: int, top: int, side: int) -> None:
        """Where the evidence map was: a hidden unit's 784 weights as a picture, or a CNN filter
        and its feature map."""
        if isinstance(unit, FilterMap):
            self._text(f"Filter {unit.unit} and its map", (x, top), 20, TEXT)
            small = (side - 6) // 2
            self._picture(self._surface(signed_rgb(unit.weights), small, small), (x, top + 20))
            self._picture(self._heat_surface(unit.map, small), (x + small + 6, top + 20))
            self._text("weights (green +, red -)", (x, top + small + 24), 18, DIM)
            return
        self._text(f"Unit {unit.unit}: its 784 weights", (x, top), 20, TEXT)
        self._picture(self._surface(signed_rgb(unit.weights.reshape(SIDE, SIDE)), side, side), (x, top + 20))
        self._text("green +, red -", (x, top + side + 24), 18, DIM)

    def _mark_unit(self) -> None:
        """A frame around the unit (the map) clicked."""
        if self.unit_hit is None or self.unit is None:
            return
        rect, rows, columns, step, tile, n = self.unit_hit
        width, height = columns * step - step + tile, rows * step - step + tile
        r, c = divmod(self.unit, columns)
        left, right = rect.x + rect.width * c * step / width, rect.x + rect.width * (c * step + tile) / width
        top, bottom = rect.y + rect.height * r * step / height, rect.y + rect.height * (r * step + tile) / height
        self.pygame.draw.rect(self.screen, TEXT, (round(left) - 1, round(top) - 1, round(right - left) + 2,
                                                  round(bottom - top) + 2), 1)

    def _render_maps(self, inside, x: int, top: int, side: int) -> int:
        """A CNN's inside: the first convolution's feature maps as big as the evidence map, then the
        next convolutions' maps and the hidden units below them, smaller, side by side; returns
        where the bars go."""
        first, *rest = [map_mosaic(m) for m in inside.maps]
        small = [(grid, f"conv {i + 2}") for i, grid in enumerate(rest)]
        small += [(unit_grid(a), f"{len(a)} units") for a in inside.hidden]
        self._text(f"Feature maps: {inside.maps[0].shape[2]} filters", (x, top), 20, TEXT)
        self._picture(self._heat_surface(first, side), (x, top + 20))
        each = (side - 6 * (len(small) - 1)) // max(1, len(small))
        y = top + side + 26
        for k, (grid, caption) in enumerate(small):
            self._picture(self._heat_surface(grid, each), (x + k * (each + 6), y))
            self._text(caption, (x + k * (each + 6), y + each + 2), 18, DIM)
        return max(top + side + 76, y + each + 24)

        return top + side + 76

    # -- pictures ---------------------------------------------------------------------------

    def _picture(self, surface, pos: tuple[int, int]) -> None:
        self.screen.blit(surface, pos)
        self.pygame.draw.rect(self.screen, GRID, (pos[0] - 1, pos[1] - 1, surface.get_width() + 2,
                                                  surface.get_height() + 2), 1)

    def _surface(self, rgb: np.ndarray, width: int, height: int):
        pg = self.pygame
        surface = pg.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))  # (x, y)
        return pg.transform.scale(surface, (width, height))

    def _ink_surface(self, ink: np.ndarray, side: int):
        """A (28, 28) ink array as a side x side picture: light ink on the dark canvas."""
        return self._surface(ink_rgb(ink), side, side)

    def _heat_surface(self, grid: np.ndarray, side: int):
        """Activations (rows, columns) as a heat map, side pixels wide (nn/session/pictures.py)."""
        rows, columns = grid.shape
        return self._surface(heat_rgb(grid), side, max(1, round(side * rows / columns)))

    def _text(self, text: str, pos: tuple[int, int], size: int, colour, width: int | None = None) -> None:
        font = self.fonts[size]
        if width is not None and font.size(text)[0] > width:  # too long for the window: two lines
            words = text.split("   ")
            half = len(words) // 2 + 1
            self.screen.blit(font.render("   ".join(words[:half]), True, colour), pos)
            self.screen.blit(font.render("   ".join(words[half:]), True, colour), (pos[0], pos[1] + 14))
            return
        self.screen.blit(font.render(text, True, colour), pos)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Sleep until something happens, handle it, and redraw only if anything changed."""
        pg = self.pygame
        try:
            while self.running:
                event = pg.event.wait(250)  # wakes at least 4 times a second, so Ctrl-C gets through
                if event.type != pg.NOEVENT:
                    self.handle(event)
                self.process_pending()
        finally:  # quitting, or told to stop (Ctrl-C, SIGTERM): a teaching stops cleanly first
            self.session.close(60)
            pg.quit()

    def process_pending(self) -> None:
        """Handle every queued event, then draw a frame if anything changed: one turn of `run`."""
        for event in self.pygame.event.get():
            self.handle(event)
        self.update()
        if self.dirty:
            self.render()
            self.pygame.display.flip()

    def save_screenshot(self, path: Path | str) -> None:
        """The window as a picture (PNG, or as the name's extension says), written atomically.
        It is encoded in memory first, so that a full disk is one OSError naming the file, not
        pygame's own errors from halfway through."""
        import io

        self.render()
        picture = io.BytesIO()
        self.pygame.image.save(self.screen, picture, "window" + (Path(path).suffix.lower() or ".png"))
        with atomic_write(path) as f:
            f.write(picture.getvalue())


def open_window(session: Session, cell: int = DEFAULT_CELL) -> DrawApp:
    """The visible window, or a UsageError saying why there is none."""
    if not has_screen():
        raise UsageError("no display: the window needs a screen (set DISPLAY, or use "
                         "--predict IMG for image files, --screenshot PNG for a picture)")
    prefer_x11()
    import pygame

    try:
        app = DrawApp(session, cell=cell)
    except pygame.error as e:
        raise UsageError(f"cannot open the window ({e}); --predict IMG works without one") from None
    invisible = pygame.display.get_driver() in ("offscreen", "dummy")
    if invisible and os.environ.get("SDL_VIDEODRIVER") not in ("offscreen", "dummy"):
        raise UsageError("cannot open a visible window (no working display); "
                         "--predict IMG works without one")
    return app


def has_screen() -> bool:
    """Whether a window can be shown: always on Windows and macOS; on Linux, an X11 or Wayland
    display, or a video driver chosen by hand (SDL_VIDEODRIVER)."""
    import sys

    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("SDL_VIDEODRIVER"))


def prefer_x11() -> None:
    """With only an X11 display, ask SDL for X11: if it does not answer, opening the window fails
    with SDL's reason, instead of falling back to an invisible 'offscreen' window."""
    import sys

    if (sys.platform.startswith("linux") and os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("SDL_VIDEODRIVER")):
        os.environ["SDL_VIDEODRIVER"] = "x11"


def headless_if_no_display() -> None:
    """Use SDL's dummy video driver when there is no screen (screenshots, tests, servers)."""
    if not has_screen():
        os.environ["SDL_VIDEODRIVER"] = "dummy"
