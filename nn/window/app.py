"""The drawing window (pygame): paint a digit on a 28x28 grid, press S, see what the network thinks.

A view of the session (nn/session/session.py) in three parts: the window's state and its commands
(nn/window/state.py, no pygame), the renderer that draws it (nn/window/render.py, views.py), and
this event loop, which turns pygame's events into the state's commands: the keys of the session's
table of commands (nn/session/commands.py, which `draw.py --help` prints too), the mouse's strokes,
and clicks on what the last frame drew.

Every event goes through DrawApp.handle, so tests can post real pygame events and run the app
headless (SDL_VIDEODRIVER=dummy). The window draws only when something changed, and at rest it
sleeps in pygame.event.wait: it takes no CPU while nobody draws.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from nn.errors import UsageError
from nn.plumbing.files import atomic_write
from nn.session.commands import commands_for
from nn.session.session import Session
from nn.window.layout import DEFAULT_CELL, NUMBER_WINDOW_HEIGHT, fit, window_size
from nn.window.state import WindowState

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no greeting on stdout at import

class DrawApp:
    """The window: its state, its frames, and the loop that feeds the state the events."""

    def __init__(self, session: Session, cell: int = DEFAULT_CELL, echo: bool = True):
        # pygame takes a fifth of a second to import: only the window needs it, not --predict or --web
        import pygame

        from nn.window.render import SIZES, draw  # it draws with pygame

        self.pygame, self._draw = pygame, draw
        pygame.display.init()  # not pygame.init(): no sound needed, and no audio warnings
        pygame.font.init()
        self.state = WindowState(session, echo=_print if echo else None)
        self.screen = pygame.display.set_mode(window_size(cell), pygame.RESIZABLE)
        self.fonts = {size: pygame.font.Font(None, size) for size in SIZES}
        self.layout = fit(*self.screen.get_size(), self.state.canvas.width, self.state.number_mode)
        self.frame = None  # where the last frame put what can be clicked (render.Frame)
        self.frames = 0  # frames drawn, for tests (and for the curious)
        self.pen: tuple[float, float] | None = None  # where the pen is while a button is held
        self.erasing = False
        self.title = ""
        # The keys of the session's commands (the keypad's digits too: their codes follow KP9).
        self.keys: dict[int, tuple[str, str]] = {}
        for command in commands_for("window"):
            for key in command.keys:
                self.keys[pygame.key.key_code(key)] = (command.name, key)
        self.keys.update({getattr(pygame, f"K_KP{d}"): ("save", str(d)) for d in range(10)})

    # -- events ---------------------------------------------------------------------------------

    def handle(self, event) -> None:
        """React to one pygame event: the state's commands, the pen, a click, a resize."""
        pg, state = self.pygame, self.state
        kind = event.type
        if kind == pg.QUIT:
            state.running = False
        elif kind == pg.KEYDOWN:
            self.key(event.key)
        elif kind == pg.MOUSEBUTTONDOWN and getattr(event, "button", 0) in (1, 3):
            self.press(getattr(event, "pos", (0, 0)), event.button)
        elif kind == pg.MOUSEBUTTONUP and getattr(event, "button", 0) in (1, 3):
            self.pen = None
        elif kind == pg.MOUSEMOTION and self.pen is not None:
            here = self.layout.to_cells(getattr(event, "pos", (0, 0)))
            state.paint(self.pen, here, erase=self.erasing)
            self.pen = here
        elif kind in (pg.VIDEORESIZE, getattr(pg, "WINDOWRESIZED", -1), getattr(pg, "WINDOWSIZECHANGED", -1)):
            self.screen = pg.display.get_surface() or self.screen  # pygame resizes it by itself
            width = getattr(event, "w", None) or getattr(event, "x", None) or self.screen.get_width()
            height = getattr(event, "h", None) or getattr(event, "y", None) or self.screen.get_height()
            self.relayout(int(width), int(height))
        elif kind in (getattr(pg, "VIDEOEXPOSE", -1), getattr(pg, "WINDOWEXPOSED", -1),
                      getattr(pg, "WINDOWSHOWN", -1), getattr(pg, "WINDOWRESTORED", -1)):
            state.changed = True

    def key(self, code: int) -> None:
        """A key: the session's command bound to it (nn/session/commands.py)."""
        state = self.state
        name, key = self.keys.get(code, (None, None))
        if name is None:
            return
        state.command(name, key)
        if state.canvas.width != self.layout.columns:  # N: the wide grid, or back
            self.fit_number_mode()

    def press(self, pos: tuple[int, int], button: int) -> None:
        """A button pressed: on the grid, the pen goes down (the right button rubs out); elsewhere,
        a click on what the last frame drew there."""
        state = self.state
        if self.layout.on_canvas(pos):
            self.erasing = button == 3
            self.pen = self.layout.to_cells(pos)
            state.paint(self.pen, self.pen, erase=self.erasing)
        elif button == 1 and self.frame is not None:
            self.click(pos)

    def click(self, pos: tuple[int, int]) -> None:
        """A bar (that digit's evidence), a digit of the number (its guess), a hidden unit (its sum)."""
        state, frame = self.state, self.frame
        bar = next((d for d, rect in enumerate(frame.bars) if rect.inflate(40, 4).collidepoint(pos)), None)
        chip = next((k for k, rect in enumerate(frame.chips) if rect.collidepoint(pos)), None)
        if bar is not None:
            state.do("explain", bar)
        elif chip is not None and state.read is not None:
            state.do("select", chip)
        elif state.view == "inside" and frame.units is not None and frame.units[0].collidepoint(pos):
            unit = _unit_at(frame.units, pos)
            if unit is not None:
                state.do("pick_unit", unit)

    def relayout(self, width: int, height: int) -> None:
        self.layout = fit(width, height, self.state.canvas.width, self.state.number_mode)
        self.state.changed = True

    def fit_number_mode(self) -> None:
        """Number mode needs room under the wide grid for the panel: a taller window if need be."""
        width, height = self.screen.get_size()
        if self.state.number_mode and height < NUMBER_WINDOW_HEIGHT:
            self.screen = self.pygame.display.set_mode((width, NUMBER_WINDOW_HEIGHT), self.pygame.RESIZABLE)
        self.relayout(*self.screen.get_size())

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Sleep until something happens, handle it, and redraw only if anything changed."""
        pg = self.pygame
        try:
            while self.state.running:
                event = pg.event.wait(250)  # wakes at least 4 times a second, so Ctrl-C gets through
                if event.type != pg.NOEVENT:
                    self.handle(event)
                self.process_pending()
        finally:  # quitting, or told to stop (Ctrl-C, SIGTERM): a teaching stops cleanly first
            self.state.session.close(60)
            pg.quit()

    def process_pending(self) -> None:
        """Handle every queued event, then draw a frame if anything changed: one turn of `run`."""
        for event in self.pygame.event.get():
            self.handle(event)
        self.state.update()
        if self.state.changed:
            self.render()
            self.pygame.display.flip()

    def render(self) -> None:
        """One frame of the state; the window's title names the model in use."""
        self.frame = self._draw(self.screen, self.fonts, self.state, self.layout)
        self.frames += 1
        self.state.changed = False
        title = f"Digit recognizer - {self.state.model_title}"
        if title != self.title:
            self.pygame.display.set_caption(title)
            self.title = title

    def save_screenshot(self, path: Path | str) -> None:
        """The window as a picture (PNG, or as the name's extension says), written atomically.
        It is encoded in memory first, so that a full disk is one OSError naming the file, not
        pygame's own errors from halfway through."""
        self.render()
        picture = io.BytesIO()
        self.pygame.image.save(self.screen, picture, "window" + (Path(path).suffix.lower() or ".png"))
        with atomic_write(path) as f:
            f.write(picture.getvalue())


def _unit_at(units: tuple, pos: tuple[int, int]) -> int | None:
    """Which unit (feature map) of those drawn in `units` is at `pos`; None on the lines between."""
    rect, rows, columns, step, tile, n = units  # one unit each `step` cells, `tile` of them drawn
    x = int((pos[0] - rect.x) / rect.width * (columns * step - step + tile))
    y = int((pos[1] - rect.y) / rect.height * (rows * step - step + tile))
    if x % step >= tile or y % step >= tile:
        return None
    k = (y // step) * columns + x // step
    return k if k < n else None


def _print(line: str) -> None:
    print(line, flush=True)


def open_window(session: Session, cell: int = DEFAULT_CELL) -> DrawApp:
    """The visible window, or a UsageError saying why there is none."""
    if not has_screen():
        raise UsageError("no display: the window needs a screen (set DISPLAY, or use "
                         "--predict IMG for image files, --screenshot PNG for a picture)")
    prefer_x11()
    try:
        app = DrawApp(session, cell=cell)
    except RuntimeError as e:  # pygame.error: SDL could not open a window
        raise UsageError(f"cannot open the window ({e}); --predict IMG works without one") from None
    invisible = app.pygame.display.get_driver() in ("offscreen", "dummy")
    if invisible and os.environ.get("SDL_VIDEODRIVER") not in ("offscreen", "dummy"):
        raise UsageError("cannot open a visible window (no working display); "
                         "--predict IMG works without one")
    return app


def has_screen() -> bool:
    """Whether a window can be shown: always on Windows and macOS; on Linux, an X11 or Wayland
    display, or a video driver chosen by hand (SDL_VIDEODRIVER)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("SDL_VIDEODRIVER"))


def prefer_x11() -> None:
    """With only an X11 display, ask SDL for X11: if it does not answer, opening the window fails
    with SDL's reason, instead of falling back to an invisible 'offscreen' window."""
    if (sys.platform.startswith("linux") and os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("SDL_VIDEODRIVER")):
        os.environ["SDL_VIDEODRIVER"] = "x11"


def headless_if_no_display() -> None:
    """Use SDL's dummy video driver when there is no screen (screenshots, tests, servers)."""
    if not has_screen():
        os.environ["SDL_VIDEODRIVER"] = "dummy"
