"""The drawing window (pygame): paint a digit on a 28x28 grid, press S, see what the network thinks.

    left mouse   paint            right mouse   erase
    S            guess            C, Backspace  clear
    L            live mode (the guess follows your pen)
    0-9          right after a guess: save the drawing with that label to data/custom_digits.csv
    Esc, Q       quit

Every event goes through DrawApp.handle, so tests can post real pygame events and run the app
headless (SDL_VIDEODRIVER=dummy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .canvas import SIZE, Canvas

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no greeting on stdout at import
from .errors import NNError
from .files import atomic_write
from .network import Network
from .preprocess import normalize
from .reading import read, save_drawing

HELP = ("Left: draw   Right: erase   S: guess   C: clear   L: live   "
        "0-9 after a guess: save with that label   Q: quit")
MIN_CELL, DEFAULT_CELL = 16, 20
MARGIN, PANEL, FOOTER = 16, 300, 56
PREVIEW_CELL = 5

BACKGROUND = (28, 30, 38)
CANVAS = (8, 8, 12)
INK = (245, 245, 245)
GRID = (44, 48, 60)
TEXT = (220, 222, 232)
DIM = (140, 145, 160)
ACCENT = (92, 170, 255)
BEST = (110, 220, 140)
WARN = (250, 200, 90)


@dataclass
class Guess:
    probabilities: np.ndarray  # (10,)
    version: int  # the canvas version it was made for

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])


class DrawApp:
    """The window's state and behaviour; `run` is the event loop."""

    def __init__(self, net: Network, model_name: str, custom_path: Path | str,
                 cell: int = DEFAULT_CELL, echo: bool = True):
        import pygame

        self.pygame = pygame
        pygame.display.init()  # not pygame.init(): no sound needed, and no audio warnings
        pygame.font.init()
        self.net = net
        self.model_name = model_name
        self.custom_path = Path(custom_path)
        self.echo = echo  # print each guess on stdout
        self.canvas = Canvas()
        self.field = np.zeros((SIZE, SIZE), dtype=np.float32)  # what the network sees
        self.version = 0  # bumps on every change of the drawing
        self.guess: Guess | None = None
        self.live = False
        self.running = True
        self.pen: str | None = None  # "draw" or "erase" while a button is held
        self.last: tuple[float, float] | None = None
        self.status = "Draw a digit, then press S."
        self.cell = cell
        width, height = self._window_size(cell)
        self.screen = pygame.display.set_mode((width, height), pygame.RESIZABLE)
        pygame.display.set_caption(f"Digit recognizer - {model_name}")
        self.fonts = {size: pygame.font.Font(None, size) for size in (20, 24, 30, 150)}
        # The number row and the keypad (whose codes are not in digit order: KP0 follows KP9).
        self.digit_keys = {getattr(pygame, f"K_{d}"): d for d in range(10)}
        self.digit_keys.update({getattr(pygame, f"K_KP{d}"): d for d in range(10)})
        self._layout(width, height)

    # -- layout ---------------------------------------------------------------------------------

    @staticmethod
    def _window_size(cell: int) -> tuple[int, int]:
        side = SIZE * cell
        return 3 * MARGIN + side + PANEL, 2 * MARGIN + side + FOOTER

    def _layout(self, width: int, height: int) -> None:
        """Fit the grid to the window: the largest whole cell size, at least MIN_CELL pixels."""
        fit = min((width - 3 * MARGIN - PANEL) // SIZE, (height - 2 * MARGIN - FOOTER) // SIZE)
        self.cell = max(MIN_CELL, fit)
        self.origin = (MARGIN, MARGIN)
        self.panel_x = 2 * MARGIN + SIZE * self.cell
        needed = self._window_size(self.cell)
        if width < needed[0] or height < needed[1]:
            # Smaller than the smallest usable window: grow it back.
            self.screen = self.pygame.display.set_mode(
                (max(width, needed[0]), max(height, needed[1])), self.pygame.RESIZABLE)

    def to_cells(self, pos: tuple[int, int]) -> tuple[float, float]:
        """Window pixels -> canvas cells (x, y), fractional."""
        return ((pos[0] - self.origin[0]) / self.cell, (pos[1] - self.origin[1]) / self.cell)

    def to_pixels(self, cells: tuple[float, float]) -> tuple[int, int]:
        """Canvas cells (x, y) -> window pixels."""
        return (round(self.origin[0] + cells[0] * self.cell), round(self.origin[1] + cells[1] * self.cell))

    def on_canvas(self, pos: tuple[int, int]) -> bool:
        x, y = self.to_cells(pos)
        return 0 <= x < SIZE and 0 <= y < SIZE

    # -- events ---------------------------------------------------------------------------------

    def handle(self, event) -> None:
        """React to one pygame event."""
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
        elif kind == pg.MOUSEBUTTONUP and getattr(event, "button", 0) in (1, 3):
            self.pen, self.last = None, None
        elif kind == pg.MOUSEMOTION and self.pen is not None:
            here = self.to_cells(getattr(event, "pos", (0, 0)))
            self._paint(self.last or here, here)
            self.last = here
        elif kind in (pg.VIDEORESIZE, getattr(pg, "WINDOWRESIZED", -1), getattr(pg, "WINDOWSIZECHANGED", -1)):
            width = getattr(event, "w", None) or getattr(event, "x", None) or self.screen.get_width()
            height = getattr(event, "h", None) or getattr(event, "y", None) or self.screen.get_height()
            self._layout(int(width), int(height))

    def _key(self, key: int) -> None:
        pg = self.pygame
        if key in (pg.K_ESCAPE, pg.K_q):
            self.running = False
        elif key == pg.K_s:
            self.predict()
        elif key in (pg.K_c, pg.K_BACKSPACE):
            self.clear()
        elif key == pg.K_l:
            self.live = not self.live
            self.status = "Live mode on: the guess follows your pen." if self.live else "Live mode off."
            if self.live and not self.canvas.blank:
                self.predict(echo=False)
        elif key in self.digit_keys:
            self.save_label(self.digit_keys[key])

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

    # -- actions ----------------------------------------------------------------------------

    def predict(self, echo: bool | None = None) -> Guess | None:
        """Run the network on the normalised drawing (S)."""
        if self.canvas.blank:
            self.guess = None
            self.status = "Draw a digit first."
            return None
        self.guess = Guess(read(self.net, self.canvas.ink).probabilities, self.version)
        if echo if echo is not None else self.echo:
            print(f"Prediction: {self.guess.digit} ({self.guess.confidence:.1%})", flush=True)
        if not self.live:
            self.status = "Wrong? Press the right digit (0-9) to save it for training."
        return self.guess

    def clear(self) -> None:
        self.canvas.clear()
        self.canvas_changed()
        self.guess = None
        self.status = "Cleared. Draw a digit, then press S."

    def save_label(self, digit: int) -> None:
        """0-9 right after a guess: append the normalised drawing, labeled, to the custom CSV."""
        if self.guess is None or self.guess.version != self.version:
            self.status = "Press S first, then the digit to save the drawing with that label."
            return
        try:
            rows = save_drawing(self.custom_path, self.field, digit)
        except OSError as e:
            self.status = f"Could not save to {self.custom_path}: {e.strerror or e}"
            return
        except NNError as e:  # the file became something else while the window was open
            self.status = f"Could not save: {e}"
            return
        self.clear()
        self.status = f"Saved as {digit} ({rows} in {self.custom_path.name}). Draw the next one."

    def update(self) -> None:
        """Once per frame, after the events: keep a live guess in step with the drawing."""
        if self.live:
            if self.canvas.blank:
                self.guess = None
            elif self.guess is None or self.guess.version != self.version:
                self.predict(echo=False)

    # -- drawing ----------------------------------------------------------------------------

    def render(self) -> None:
        pg = self.pygame
        screen = self.screen
        screen.fill(BACKGROUND)
        side = SIZE * self.cell
        screen.blit(self._ink_surface(self.canvas.ink, side), self.origin)
        x0, y0 = self.origin
        for i in range(SIZE + 1):
            pg.draw.line(screen, GRID, (x0 + i * self.cell, y0), (x0 + i * self.cell, y0 + side))
            pg.draw.line(screen, GRID, (x0, y0 + i * self.cell), (x0 + side, y0 + i * self.cell))
        self._render_panel()
        footer_y = 2 * MARGIN + side
        self._text(self.status, (MARGIN, footer_y), 24, WARN if "first" in self.status else TEXT)
        self._text(HELP, (MARGIN, footer_y + 26), 20, DIM)

    def _render_panel(self) -> None:
        pg = self.pygame
        x, y = self.panel_x, MARGIN
        side = SIZE * PREVIEW_CELL
        self.screen.blit(self._ink_surface(self.field, side), (x, y + 4))
        pg.draw.rect(self.screen, GRID, (x - 1, y + 3, side + 2, side + 2), 1)
        self._text("what the network sees", (x, y + side + 10), 20, DIM)
        self._text("Guess" + (" (live)" if self.live else ""), (x + 160, y), 24, TEXT)
        guess = self.guess if self.guess is not None and not self.canvas.blank else None
        if guess is not None:
            stale = guess.version != self.version  # drawn on since the guess
            self._text(str(guess.digit), (x + 172, y + 20), 150, DIM if stale else BEST)
            self._text(f"{guess.confidence:.1%} sure", (x + 160, y + 128), 24, DIM if stale else TEXT)
        else:
            self._text("?", (x + 182, y + 20), 150, GRID)
            self._text("press S", (x + 160, y + 128), 24, DIM)

        top = y + side + 40
        self._text("All ten probabilities", (x, top), 24, TEXT)
        row_height = max(18, min(32, (SIZE * self.cell - (top + 70 - MARGIN)) // 10))
        bar_width = PANEL - 90
        self.bar_rects = []  # where each digit's bar is, for tests and for the eye
        for digit in range(10):
            row_y = top + 26 + digit * row_height
            p = float(guess.probabilities[digit]) if guess is not None else 0.0
            self._text(str(digit), (x, row_y), 24, TEXT)
            track = pg.Rect(x + 20, row_y + 2, bar_width, row_height - 6)
            self.bar_rects.append(track)
            pg.draw.rect(self.screen, GRID, track)
            colour = BEST if guess is not None and digit == guess.digit else ACCENT
            pg.draw.rect(self.screen, colour, (track.x, track.y, round(bar_width * p), track.height))
            if guess is not None:
                self._text(f"{p:.1%}", (x + 26 + bar_width, row_y), 20, DIM)
        model, _, about = self.model_name.partition(" (")
        self._text(f"Model: {model}", (x, top + 32 + 10 * row_height), 20, DIM)
        if about:
            self._text(f"({about}", (x, top + 50 + 10 * row_height), 20, DIM)

    def _ink_surface(self, ink: np.ndarray, side: int):
        """A (28, 28) ink array as a side x side picture: light ink on the dark canvas."""
        pg = self.pygame
        t = np.clip(ink, 0, 1)[..., None]
        rgb = (np.array(CANVAS) * (1 - t) + np.array(INK) * t).astype(np.uint8)
        surface = pg.surfarray.make_surface(rgb.transpose(1, 0, 2))  # surfarray is (x, y)
        return pg.transform.scale(surface, (side, side))

    def _text(self, text: str, pos: tuple[int, int], size: int, colour) -> None:
        self.screen.blit(self.fonts[size].render(text, True, colour), pos)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        clock = self.pygame.time.Clock()
        while self.running:
            self.process_pending()
            self.pygame.display.flip()
            clock.tick(60)
        self.pygame.quit()

    def process_pending(self) -> None:
        """Handle every queued event and draw one frame: one turn of `run`."""
        for event in self.pygame.event.get():
            self.handle(event)
        self.update()
        self.render()

    def save_screenshot(self, path: Path | str) -> None:
        """The window as a picture (PNG, or as the name's extension says), written atomically."""
        self.render()
        with atomic_write(path) as f:
            self.pygame.image.save(self.screen, f, "window" + (Path(path).suffix or ".png"))


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
