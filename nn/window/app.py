"""The drawing window (pygame): paint a digit on a 28x28 grid, press S, see what the network thinks.

    left mouse   paint            right mouse   erase
    S            guess            C, Backspace  clear
    L            live mode (the guess follows your pen)
    V            the inside view: the hidden layer and the evidence map (click a bar for its digit)
    0-9          right after a guess: save the drawing with that label to data/custom_digits.csv
    T            teach: fine-tune the model on the saved drawings (T or Esc again cancels)
    U            undo the last teaching
    Esc, Q       quit

Every event goes through DrawApp.handle, so tests can post real pygame events and run the app
headless (SDL_VIDEODRIVER=dummy). The window draws only when something changed, and at rest it
sleeps in pygame.event.wait: it takes no CPU while nobody draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn.session.canvas import Canvas
from nn.dataset import SIDE

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no greeting on stdout at import
from nn.errors import NNError, UsageError
from nn.session.explain import Explainer, map_mosaic, unit_grid
from nn.plumbing.files import atomic_write
from nn.session.jobs import ModelInUse, Teacher
from nn.network import Network
from nn.session.preprocess import normalize
from nn.session.reading import Reading, read, save_drawing

# The window's keys, the one list of them: (key, in the footer, what it does). draw.py --help
# prints KEY_TABLE, the footer shows FOOTER_KEYS, and tests/test_readme.py checks the README's table.
KEYS = [
    ("left mouse", "Left: draw", "paint"),
    ("right mouse", "Right: erase", "erase"),
    ("S", "S: guess", "guess"),
    ("C, Backspace", "C: clear", "clear"),
    ("L", "L: live", "live mode: the guess follows your pen"),
    ("V", "V: inside view", "the inside view: the hidden layer and the evidence map (click a bar for its digit)"),
    ("0-9", "0-9 after a guess: save it as that digit",
     "right after a guess: save the drawing as that digit (to data/custom_digits.csv)"),
    ("T", "T: teach", "teach it your handwriting: fine-tune on the saved drawings (T or Esc cancels)"),
    ("U", "U: undo", "undo the last teaching"),
    ("Esc, Q", "Esc: quit", "quit"),
]
KEY_TABLE = "\n".join(f"  {key:<13} {does}" for key, _, does in KEYS)
FOOTER_KEYS = "   ".join(short for _, short, _ in KEYS)
DEFAULT_CELL, SMALLEST_CELL = 20, 8
MARGIN, FOOTER = 16, 56
PANEL_MIN, PANEL_MAX = 300, 520

BACKGROUND = (28, 30, 38)
CANVAS = (8, 8, 12)
INK = (245, 245, 245)
GRID = (44, 48, 60)
TEXT = (220, 222, 232)
DIM = (140, 145, 160)
ACCENT = (92, 170, 255)
BEST = (110, 220, 140)
WARN = (250, 200, 90)
AGAINST = (240, 96, 80)
ACTIVE = (250, 190, 80)


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


class DrawApp:
    """The window's state and behaviour; `run` is the event loop."""

    def __init__(self, net: Network, model_name: str, custom_path: Path | str,
                 cell: int = DEFAULT_CELL, echo: bool = True, teacher: Teacher | None = None):
        import pygame

        self.pygame = pygame
        pygame.display.init()  # not pygame.init(): no sound needed, and no audio warnings
        pygame.font.init()
        self.net = net
        self.explainer = Explainer(net)
        self.model_name = model_name
        self.custom_path = Path(custom_path)
        self.echo = echo  # print each guess on stdout
        self.teacher = teacher  # T teaches, U undoes (None: no teaching)
        self.teaching: str | None = None  # the teaching job's state last seen
        self.canvas = Canvas()
        self.field = np.zeros((SIDE, SIDE), dtype=np.float32)  # what the network sees
        self.version = 0  # bumps on every change of the drawing
        self.guess: Guess | None = None
        self.live = False
        self.inside = False  # the inside view (V)
        self.explained: int | None = None  # the digit whose evidence is shown; None: the guess
        self.running = True
        self.pen: str | None = None  # "draw" or "erase" while a button is held
        self.last: tuple[float, float] | None = None
        self.message: tuple[str, tuple] | None = None  # news that stays until the drawing changes
        self.dirty = True  # something changed since the last frame
        self.frames = 0  # frames drawn, for tests (and for the curious)
        self.bar_rects: list = []
        width, height = self._window_size(cell)
        self.screen = pygame.display.set_mode((width, height), pygame.RESIZABLE)
        pygame.display.set_caption(f"Digit recognizer - {model_name}")
        self.fonts = {size: pygame.font.Font(None, size) for size in (18, 20, 24, 30, 110, 150, 220)}
        # The number row and the keypad (whose codes are not in digit order: KP0 follows KP9).
        self.digit_keys = {getattr(pygame, f"K_{d}"): d for d in range(10)}
        self.digit_keys.update({getattr(pygame, f"K_KP{d}"): d for d in range(10)})
        self._layout(width, height)

    # -- layout ---------------------------------------------------------------------------------

    @staticmethod
    def _window_size(cell: int) -> tuple[int, int]:
        side = SIDE * cell
        return 3 * MARGIN + side + PANEL_MIN, 2 * MARGIN + side + FOOTER

    def _layout(self, width: int, height: int) -> None:
        """Fit everything to the window as it is: the grid takes the largest whole cell size that
        leaves the panel its minimum width, and the panel the width left over (up to a limit).
        The window itself is never recreated. Shrunk below what the layout needs (pygame has no
        call for a minimum size), the grid keeps SMALLEST_CELL and the rest is cut off."""
        fit = min((width - 3 * MARGIN - PANEL_MIN) // SIDE, (height - 2 * MARGIN - FOOTER) // SIDE)
        self.cell = max(SMALLEST_CELL, min(64, fit))
        self.origin = (MARGIN, MARGIN)
        self.panel_x = 2 * MARGIN + SIDE * self.cell
        self.panel_width = max(PANEL_MIN, min(PANEL_MAX, width - self.panel_x - MARGIN))
        self.dirty = True

    def to_cells(self, pos: tuple[int, int]) -> tuple[float, float]:
        """Window pixels -> canvas cells (x, y), fractional."""
        return ((pos[0] - self.origin[0]) / self.cell, (pos[1] - self.origin[1]) / self.cell)

    def to_pixels(self, cells: tuple[float, float]) -> tuple[int, int]:
        """Canvas cells (x, y) -> window pixels."""
        return (round(self.origin[0] + cells[0] * self.cell), round(self.origin[1] + cells[1] * self.cell))

    def on_canvas(self, pos: tuple[int, int]) -> bool:
        x, y = self.to_cells(pos)
        return 0 <= x < SIDE and 0 <= y < SIDE

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
                self.pen = "draw" if event.button == 1 else "erase"
                self.last = self.to_cells(pos)
                self._paint(self.last, self.last)
            elif event.button == 1:
                self._click_bar(pos)
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
        pg = self.pygame
        self.dirty = True
        if key == pg.K_ESCAPE and self.teacher is not None and self.teacher.job.running:
            self.teacher.job.cancel()  # Esc cancels the teaching first
        elif key in (pg.K_ESCAPE, pg.K_q):
            self.running = False
        elif key == pg.K_t:
            self.teach()
        elif key == pg.K_u:
            self.undo()
        elif key == pg.K_s:
            self.predict()
        elif key in (pg.K_c, pg.K_BACKSPACE):
            self.clear()
        elif key == pg.K_l:
            self.live = not self.live
            self.message = ("Live mode on: the guess follows your pen." if self.live
                            else "Live mode off.", TEXT)
            if self.live and not self.canvas.blank:
                self.predict(echo=False)
        elif key == pg.K_v:
            self.inside = not self.inside
            self.message = None
        elif key in self.digit_keys:
            self.save_label(self.digit_keys[key])
        else:
            self.dirty = False

    def _click_bar(self, pos: tuple[int, int]) -> None:
        """A click on a digit's bar shows that digit's evidence, in the inside view."""
        for digit, rect in enumerate(self.bar_rects):
            if rect.inflate(40, 4).collidepoint(pos):
                self.explained = digit
                self.inside = True
                self.dirty = True
                return

    def _paint(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        if self.pen == "draw":
            self.canvas.stroke(start, end)
        else:
            self.canvas.erase(start, end)
        self.canvas_changed()

    def canvas_changed(self) -> None:
        """Call after changing the canvas's ink: the guess goes stale, the preview follows."""
        self.version += 1
        self.field = normalize(self.canvas.ink)
        self.message = None
        self.dirty = True

    # -- actions ----------------------------------------------------------------------------

    def predict(self, echo: bool | None = None) -> Guess | None:
        """Run the network on the normalised drawing (S)."""
        self.dirty = True
        if self.canvas.blank:
            self.guess = None
            self.message = ("Draw a digit first.", WARN)
            return None
        self.guess = Guess(read(self.net, self.canvas.ink, drawn=True), self.version)
        self.explained = None
        self.message = None
        if echo if echo is not None else self.echo:
            reading = self.guess.reading
            note = {"too small": " - too small to read: draw a bigger digit",
                    "unsure": f" - unsure, or {reading.runner_up}"}.get(reading.verdict, "")
            print(f"Prediction: {reading.digit} ({reading.confidence:.1%}){note}", flush=True)
        return self.guess

    def clear(self) -> None:
        self.canvas.clear()
        self.canvas_changed()
        self.guess = None
        self.message = ("Cleared. Draw a digit, then press S.", TEXT)

    def save_label(self, digit: int) -> None:
        """0-9 right after a guess: append the normalised drawing, labeled, to the custom CSV."""
        self.dirty = True
        if self.guess is None or self.canvas.blank:
            self.message = ("Press S first, then the digit, to save the drawing with that label.", WARN)
            return
        if self.guess.version != self.version:
            self.message = ("You drew more since the guess: press S again, then the digit.", WARN)
            return
        try:
            rows = save_drawing(self.custom_path, self.field, digit)
        except OSError as e:
            self.message = (f"Could not save to {self.custom_path}: {e.strerror or e}", WARN)
            return
        except NNError as e:  # the file became something else while the window was open
            self.message = (f"Could not save: {e}", WARN)
            return
        self.clear()
        self.message = (f"Saved as {digit} ({rows} in {self.custom_path.name}). Draw the next one.", TEXT)

    def teach(self) -> None:
        """T: fine-tune the model on the saved drawings, on a thread (nn/jobs.py); T again cancels."""
        if self.teacher is None:
            self.message = ("Teaching is not available here: start the window with python draw.py.", WARN)
        elif self.teacher.job.running:
            self.teacher.job.cancel()
        else:
            try:
                self.teacher.start()
            except NNError as e:
                self.message = (str(e), WARN)
                return
            self.teaching = "running"
            self.message = None

    def undo(self) -> None:
        """U: back to the model from before the last teaching (and its file)."""
        if self.teacher is None or not self.teacher.can_undo:
            self.message = ("Nothing to undo: U takes back a teaching (T).", WARN)
            return
        try:
            model = self.teacher.undo()
        except OSError as e:
            self.message = (f"Could not undo: {self.teacher.out}: {e.strerror or e}", WARN)
            return
        self._use(model)
        self.message = (f"Undone: back to {model.name}.", TEXT)

    def _use(self, model: ModelInUse) -> None:
        """Answer with another network from now on."""
        test = model.info.accuracy.get("test")
        name = model.name + (f" ({test:.2%} on MNIST test)" if isinstance(test, float) else "")
        self.net, self.explainer, self.model_name = model.net, Explainer(model.net), name
        self.guess = None
        self.pygame.display.set_caption(f"Digit recognizer - {name}")

    def _teaching_news(self) -> None:
        """When the teaching job ends: its report, and its model in use."""
        job = self.teacher.job if self.teacher is not None else None
        if job is None or self.teaching is None:
            return
        if job.running:
            self.dirty = True  # the progress bar moves
            return
        self.teaching = None
        self.dirty = True
        if job.state == "done" and self.teacher.report is not None:
            model = self.teacher.model
            self._use(model)
            report = self.teacher.report
            self.message = (f"Taught: {report.summary()} (on {report.held_out} drawings not taught). "
                            "U undoes.", BEST)
            if self.echo:
                print(f"Taught: {report.summary()} ({report.how()}); saved {model.name}", flush=True)
        elif job.state == "cancelled":
            self.message = ("Teaching cancelled: the model is as it was.", TEXT)
        else:
            self.message = (f"Teaching failed: {job.error}", WARN)

    def update(self) -> None:
        """After the events: keep a live guess in step with the drawing."""
        self._teaching_news()
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
            return (f"Teaching your handwriting: {self.teacher.job.progress:.0%} "
                    "(T or Esc cancels; drawing and guessing go on)", ACCENT)
        if self.message is not None:
            return self.message
        if self.canvas.blank:
            return "Draw a digit, then press S.", TEXT
        if self.guess is None:
            return ("Live mode: the guess follows your pen." if self.live else "Press S to guess."), TEXT
        if self.guess.version != self.version:
            return "You drew more since the guess: press S again.", TEXT
        if self.guess.reading.verdict == "too small":
            return "Too small to read: draw the digit bigger (C clears).", WARN
        return "To save this drawing as training data, press the digit you drew (0-9).", TEXT

    # -- drawing ----------------------------------------------------------------------------

    def render(self) -> None:
        pg = self.pygame
        screen = self.screen
        self.frames += 1
        self.dirty = False
        screen.fill(BACKGROUND)
        side = SIDE * self.cell
        screen.blit(self._ink_surface(self.canvas.ink, side), self.origin)
        x0, y0 = self.origin
        for i in range(SIDE + 1):
            pg.draw.line(screen, GRID, (x0 + i * self.cell, y0), (x0 + i * self.cell, y0 + side))
            pg.draw.line(screen, GRID, (x0, y0 + i * self.cell), (x0 + side, y0 + i * self.cell))
        self._render_panel()
        footer_y = 2 * MARGIN + side
        text, colour = self._status()
        if self.teaching == "running":  # a progress bar behind the line
            width = screen.get_width() - 2 * MARGIN
            pg.draw.rect(screen, GRID, (MARGIN, footer_y + 20, width, 4))
            pg.draw.rect(screen, ACCENT, (MARGIN, footer_y + 20, round(width * self.teacher.job.progress), 4))
        self._text(text, (MARGIN, footer_y), 24, colour)
        self._text(FOOTER_KEYS, (MARGIN, footer_y + 26), 20, DIM, width=screen.get_width() - 2 * MARGIN)

    def _current(self) -> Guess | None:
        return self.guess if self.guess is not None and not self.canvas.blank else None

    def _render_panel(self) -> None:
        x, y = self.panel_x, MARGIN
        guess = self._current()
        # a wider panel (a bigger window) gets a bigger preview and guess
        preview = 112 if self.inside else max(140, min(224, int(self.panel_width * 0.42)))
        self._picture(self._ink_surface(self.field, preview), (x, y + 4))
        self._text("what the network sees", (x, y + preview + 8), 18 if self.inside else 20, DIM)
        self._render_guess(guess, x + preview + 20, y)
        top = y + preview + 34
        if self.inside:
            top = self._render_inside(guess, x, top)
        bottom = 2 * MARGIN + SIDE * self.cell
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
        big = 110 if self.inside else 220 if self.panel_width >= 480 else 150
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
        self._text("All ten probabilities" + (" (click one)" if self.inside else ""), (x, top), 24, TEXT)
        row_height = max(14, min(44, (bottom - top - 30) // 10))
        bar_width = self.panel_width - 90
        stale = guess is not None and guess.version != self.version
        self.bar_rects = []  # where each digit's bar is, for clicks and for tests
        for digit in range(10):
            row_y = top + 26 + digit * row_height
            p = float(guess.probabilities[digit]) if guess is not None else 0.0
            shown = self.inside and digit == self._explained_digit(guess)
            size = 30 if row_height >= 34 else 24 if row_height >= 20 else 20
            self._text(str(digit), (x, row_y), size, ACCENT if shown else TEXT)
            track = pg.Rect(x + 20, row_y + 2, bar_width, max(6, row_height - 6))
            self.bar_rects.append(track)
            pg.draw.rect(self.screen, GRID, track)
            best = guess is not None and digit == guess.digit
            colour = DIM if stale else BEST if best else ACCENT
            pg.draw.rect(self.screen, colour, (track.x, track.y, round(bar_width * p), track.height))
            if shown:
                pg.draw.rect(self.screen, TEXT, track.inflate(4, 4), 1)
            if guess is not None:
                self._text(f"{p:.1%}", (x + 26 + bar_width, row_y), 20, DIM)

    def _explained_digit(self, guess: Guess | None) -> int | None:
        if guess is None:
            return None
        return self.explained if self.explained is not None else guess.digit

    def _render_inside(self, guess: Guess | None, x: int, top: int) -> int:
        """The evidence map and the hidden layers, side by side; returns where the bars go."""
        width = self.panel_width
        half = (width - 16) // 2
        side = min(half, 28 * 9)
        digit = self._explained_digit(guess)
        inside = self.explainer.inside(self.field.reshape(-1)) if guess is not None else None
        if inside is not None and digit is not None:
            evidence = self.explainer.evidence(inside, digit)
            scale = float(np.abs(evidence.pixels).max()) or 1.0
            self._picture(self._evidence_surface(evidence.pixels, side, scale), (x, top + 20))
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
        elif inside is not None and not inside.hidden:
            self._text("No hidden layer", (hx, top), 20, TEXT)
            self._text("784 pixels straight to", (hx, top + 22), 18, DIM)
            self._text("the 10 outputs", (hx, top + 38), 18, DIM)
        elif inside is not None:
            layers = inside.hidden
            each = max(24, (side - 14 * (len(layers) - 1)) // max(1, len(layers)))
            self._text(f"Hidden layer{'s' if len(layers) > 1 else ''}", (hx, top), 20, TEXT)
            y = top + 20
            for activations in layers:
                scale = float(np.abs(activations).max()) or 1.0
                self._picture(self._units_surface(unit_grid(activations), each, scale), (hx, y))
                self._text(f"{len(activations)} units, max {scale:.2g}", (hx, y + each + 2), 18, DIM)
                y += each + 18
        else:
            self._text("Hidden layer", (hx, top), 20, TEXT)
        return bottom

    def _render_maps(self, inside, x: int, top: int, side: int) -> int:
        """A CNN's inside: the first convolution's feature maps as big as the evidence map, then the
        next convolutions' maps and the hidden units below them, smaller, side by side; returns
        where the bars go."""
        first, *rest = [map_mosaic(m) for m in inside.maps]
        small = [(grid, f"conv {i + 2}") for i, grid in enumerate(rest)]
        small += [(unit_grid(a), f"{len(a)} units") for a in inside.hidden]
        self._text(f"Feature maps: {inside.maps[0].shape[2]} filters", (x, top), 20, TEXT)
        self._picture(self._units_surface(first, side, float(np.nanmax(first)) or 1.0), (x, top + 20))
        each = (side - 6 * (len(small) - 1)) // max(1, len(small))
        y = top + side + 26
        for k, (grid, caption) in enumerate(small):
            scale = float(np.nanmax(np.abs(grid))) or 1.0
            self._picture(self._units_surface(grid, each, scale), (x + k * (each + 6), y))
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
        t = np.clip(ink, 0, 1)[..., None]
        rgb = (np.array(CANVAS) * (1 - t) + np.array(INK) * t).astype(np.uint8)
        return self._surface(rgb, side, side)

    def _evidence_surface(self, pixels: np.ndarray, side: int, scale: float):
        """Evidence (784,) in two colours over a faint copy of the input."""
        base = np.array(CANVAS) + 0.25 * self.field.reshape(SIDE, SIDE, 1) * (np.array(INK) - np.array(CANVAS))
        t = np.clip(pixels.reshape(SIDE, SIDE) / scale, -1, 1)
        t = (np.sign(t) * np.sqrt(np.abs(t)))[..., None]  # square root: small shares stay visible
        toward = base + np.clip(t, 0, 1) * (np.array(BEST) - base)
        rgb = toward + np.clip(-t, 0, 1) * (np.array(AGAINST) - toward)
        return self._surface(rgb.astype(np.uint8), side, side)

    def _units_surface(self, grid: np.ndarray, side: int, scale: float):
        """One hidden layer's units as a heat grid: dark = silent, bright = active, blue below 0."""
        rows, columns = grid.shape
        t = np.nan_to_num(grid / scale, nan=0.0)[..., None]
        rgb = np.array(CANVAS) + np.clip(t, 0, 1) * (np.array(ACTIVE) - np.array(CANVAS))
        rgb = rgb + np.clip(-t, 0, 1) * (np.array(ACCENT) - rgb)
        rgb[np.isnan(grid)] = BACKGROUND
        height = max(1, round(side * rows / columns))
        return self._surface(rgb.astype(np.uint8), side, height)

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
            if self.teacher is not None and self.teacher.job.running:
                self.teacher.job.cancel()
                self.teacher.job.wait(60)
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


def open_window(net: Network, model_name: str, custom_path: Path | str, cell: int = DEFAULT_CELL,
                teacher: Teacher | None = None) -> DrawApp:
    """The visible window, or a UsageError saying why there is none."""
    if not has_screen():
        raise UsageError("no display: the window needs a screen (set DISPLAY, or use "
                         "--predict IMG for image files, --screenshot PNG for a picture)")
    prefer_x11()
    import pygame

    try:
        app = DrawApp(net, model_name, custom_path, cell=cell, teacher=teacher)
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
