"""Drawing the window's state (nn/window/state.py) with pygame: the grid, the number read, the
guess and its bars, the open view (nn/window/views.py) and the footer. It reads the state and
never changes it; each frame says where it put what can be clicked, and every text it wrote.

Text fits its room: a line too wide for the space left is set in a smaller size, and cut short
as a last resort, so nothing runs past the window (tests/test_window.py renders every view).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pygame

from nn.dataset import SIDE
from nn.session.commands import footer
from nn.session.pictures import PALETTE, heat_rgb, ink_rgb
from nn.window.layout import MARGIN, Layout
from nn.window.state import WindowState
from nn.window.views import VIEW_DRAWERS

BACKGROUND, CANVAS, GRID = PALETTE["background"], PALETTE["canvas"], PALETTE["grid"]
TEXT, DIM, ACCENT, BEST, WARN = PALETTE["text"], PALETTE["dim"], PALETTE["accent"], PALETTE["best"], PALETTE["warn"]
TONES = {"text": TEXT, "dim": DIM, "accent": ACCENT, "best": BEST, "warn": WARN}
SIZES = (16, 18, 20, 24, 30, 48, 110, 150, 220)  # the font sizes the window writes in
FOOTER_KEYS = footer("window")


@dataclass
class Frame:
    """What one frame drew where: the things that can be clicked, and every line of text."""

    bars: list = field(default_factory=list)  # pygame.Rect of each digit's bar, 0-9
    chips: list = field(default_factory=list)  # each digit of the number read, under the grid
    units: tuple | None = None  # (rect, rows, columns, step, tile, count): the hidden units drawn
    texts: list = field(default_factory=list)  # (the text, its pygame.Rect)


class Painter:
    """Pictures and text on the window's surface, each text fitted to its room and noted."""

    def __init__(self, screen, fonts: dict, frame: Frame):
        self.screen, self.fonts, self.frame = screen, fonts, frame

    def text(self, text: str, pos: tuple[int, int], size: int, colour, room: int | None = None) -> None:
        """`text` at `pos`, in a smaller size if it is wider than `room` pixels (default: up to the
        window's right margin), and cut short if even the smallest is too wide."""
        room = room if room is not None else self.screen.get_width() - MARGIN - pos[0]
        font = self.fonts[size]
        for smaller in [s for s in SIZES if s < size][::-1]:
            if font.size(text)[0] <= room:
                break
            font = self.fonts[smaller]
        while font.size(text)[0] > room and len(text) > 4:
            text = text[:-4].rstrip() + "..."
        rendered = font.render(text, True, colour)
        self.screen.blit(rendered, pos)
        self.frame.texts.append((text, rendered.get_rect(topleft=pos)))

    def wrapped(self, text: str, pos: tuple[int, int], width: int, size: int, colour, lines: int) -> None:
        """Text in up to `lines` lines of at most `width` pixels, the last cut to fit."""
        font, words, row = self.fonts[size], text.split(), ""
        x, y = pos
        for k, word in enumerate(words):
            trial = f"{row} {word}".strip()
            if font.size(trial)[0] > width and row:
                if lines == 1:  # the last line takes the rest, cut to fit
                    row = " ".join([row, *words[k:]])
                    break
                self.text(row, (x, y), size, colour, width)
                y, row, lines = y + size - 4, word, lines - 1
            else:
                row = trial
        self.text(row, (x, y), size, colour, width)

    def picture(self, surface, pos: tuple[int, int]) -> None:
        self.screen.blit(surface, pos)
        pygame.draw.rect(self.screen, GRID, (pos[0] - 1, pos[1] - 1, surface.get_width() + 2,
                                             surface.get_height() + 2), 1)

    @staticmethod
    def surface(rgb: np.ndarray, width: int, height: int):
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))  # (x, y)
        return pygame.transform.scale(surface, (width, height))

    def ink_surface(self, ink: np.ndarray, side: int):
        """An ink array as a side x side picture: light ink on the dark canvas."""
        return self.surface(ink_rgb(ink), side, side)

    def heat_surface(self, grid: np.ndarray, side: int):
        """Activations (rows, columns) as a heat map, side pixels wide (nn/session/pictures.py)."""
        rows, columns = grid.shape
        return self.surface(heat_rgb(grid), side, max(1, round(side * rows / columns)))


def draw(screen, fonts: dict, state: WindowState, layout: Layout) -> Frame:
    """One frame of the window: the state, laid out."""
    frame = Frame()
    paint = Painter(screen, fonts, frame)
    screen.fill(BACKGROUND)
    _grid(paint, state, layout)
    if state.number_mode:
        _number(paint, state, layout)
    _panel(paint, state, layout)
    text, tone = state.status_line()
    y, width = layout.footer_y, screen.get_width() - 2 * MARGIN
    if state.teaching == "running":  # a progress bar behind the line
        pygame.draw.rect(screen, GRID, (MARGIN, y + 20, width, 4))
        pygame.draw.rect(screen, ACCENT, (MARGIN, y + 20, round(width * state.teaching_progress), 4))
    paint.text(text, (MARGIN, y), 24, TONES[tone])
    if fonts[20].size(FOOTER_KEYS)[0] <= width:
        paint.text(FOOTER_KEYS, (MARGIN, y + 26), 20, DIM)
    else:  # too long for the window: two lines
        keys = FOOTER_KEYS.split("   ")
        half = len(keys) // 2 + 1
        paint.text("   ".join(keys[:half]), (MARGIN, y + 26), 20, DIM)
        paint.text("   ".join(keys[half:]), (MARGIN, y + 40), 20, DIM)
    return frame


def _grid(paint: Painter, state: WindowState, layout: Layout) -> None:
    cell, (x0, y0) = layout.cell, layout.origin
    side, across = SIDE * cell, state.canvas.width * cell
    paint.screen.blit(paint.surface(ink_rgb(state.canvas.ink), across, side), layout.origin)
    for i in range(state.canvas.width + 1):
        pygame.draw.line(paint.screen, GRID, (x0 + i * cell, y0), (x0 + i * cell, y0 + side))
    for i in range(SIDE + 1):
        pygame.draw.line(paint.screen, GRID, (x0, y0 + i * cell), (x0 + across, y0 + i * cell))


def _number(paint: Painter, state: WindowState, layout: Layout) -> None:
    """Number mode: a box on the grid around each digit read, its guess and confidence on it, and
    the number in large type under the grid, each digit a button that shows it."""
    number = state.read if state.read is not None and not state.stale else None
    y = 2 * MARGIN + SIDE * layout.cell
    if number is None:
        paint.text("Read: press S" if not state.canvas.blank else "Write a number of up to eight digits",
                   (MARGIN, y), 30, DIM)
        return
    for k, d in enumerate(number.digits):
        x, top = layout.to_pixels((d.box[0], d.box[1]))
        right, bottom = layout.to_pixels((d.box[0] + d.box[2], d.box[1] + d.box[3]))
        colour = ACCENT if k == state.selected else BEST if d.reading.verdict == "sure" else WARN
        pygame.draw.rect(paint.screen, colour, (x - 2, top - 2, right - x + 4, bottom - top + 4), 2)
        paint.text(f"{d.reading.digit} {d.reading.confidence:.0%}", (x, max(MARGIN, top - 16)), 18, colour)
    paint.text("Read:", (MARGIN, y + 8), 30, TEXT)
    x = MARGIN + 70
    for k, d in enumerate(number.digits):
        chip = pygame.Rect(x, y, 40, 44)
        paint.frame.chips.append(chip)
        if k == state.selected:
            pygame.draw.rect(paint.screen, GRID, chip)
            pygame.draw.rect(paint.screen, ACCENT, chip, 2)
        paint.text(str(d.reading.digit), (x + 9, y + 4), 48, BEST if d.reading.verdict == "sure" else WARN)
        x += 44
    paint.text(f"{number.confidence:.1%} sure of all {len(number.digits)} (click a digit for its own)",
               (x + 12, y + 14), 20, DIM)


def _panel(paint: Painter, state: WindowState, layout: Layout) -> None:
    """What the network sees, the guess, the open view and the bars (the model's name under them)."""
    x, y, bottom = layout.panel_x, layout.panel_top, layout.panel_bottom
    # a wider panel (a bigger window) gets a bigger preview and guess
    compact = state.view in ("inside", "learn", "dreams") or state.number_mode
    preview = 112 if compact else max(140, min(224, int(layout.panel_width * 0.42)))
    paint.picture(paint.ink_surface(state.field, preview), (x, y + 4))
    paint.text("what the network sees", (x, y + preview + 8), 18 if compact else 20, DIM, preview + 60)
    _guess(paint, state, x + preview + 20, y, 110 if compact else 220 if layout.panel_width >= 480 else 150)
    top = y + preview + 34
    if state.view is not None and state.number_mode:  # beside the bars, right of the panel
        side_x = x + layout.panel_width + MARGIN
        VIEW_DRAWERS[state.view](paint, state, side_x, y, paint.screen.get_width() - side_x - MARGIN, bottom,
                                 beside=True)
    elif state.view == "steps":  # the steps take the whole panel
        VIEW_DRAWERS["steps"](paint, state, x, top, layout.panel_width, bottom)
        return
    elif state.view is not None:
        top = VIEW_DRAWERS[state.view](paint, state, x, top, layout.panel_width, bottom)
    # the model's name under the bars, unless the view above leaves them too little room (the
    # window's title names the model too)
    labelled = (bottom - 46 - top - 30) // 10 >= 14
    _bars(paint, state, x, top, bottom - 46 if labelled else bottom, layout.panel_width)
    if labelled:
        model, _, about = state.model_title.partition(" (")
        paint.text(f"Model: {model}", (x, bottom - 40), 20, DIM)
        if about:
            paint.text(f"({about}", (x, bottom - 22), 20, DIM)


def _guess(paint: Painter, state: WindowState, x: int, y: int, big: int) -> None:
    """The digit read, large, and how sure the network is (or why there is none)."""
    guess = state.guess
    room = paint.screen.get_width() - MARGIN - x
    paint.text("Guess" + (" (live)" if state.live else ""), (x, y), 24, TEXT)
    below = y + 18 + big * 2 // 3
    if guess is None:
        paint.text("?", (x + 12, y + 18), big, DIM)
        paint.text("press S", (x, below), 24, DIM)
        return
    reading = guess.reading
    if reading.verdict == "too small":
        paint.text("?", (x + 12, y + 18), big, WARN)
        paint.text("too small:", (x, below), 24, WARN)
        paint.text("draw it bigger", (x, below + 22), 24, WARN)
        return
    paint.text(str(reading.digit), (x + 12, y + 18), big, DIM if state.stale else BEST if reading.verdict == "sure" else WARN)
    if state.stale:
        paint.text("before your last", (x, below), 20, DIM, room)
        paint.text("strokes: press S", (x, below + 18), 20, DIM, room)
    elif reading.verdict == "unsure":
        paint.text(f"unsure: {reading.confidence:.0%}", (x, below), 24, WARN, room)
        second = reading.runner_up
        paint.text(f"or {second}? ({reading.probabilities[second]:.0%})", (x, below + 22), 24, WARN, room)
    else:
        paint.text(f"{reading.confidence:.1%} sure", (x, below), 24, TEXT, room)


def _bars(paint: Painter, state: WindowState, x: int, top: int, bottom: int, width: int) -> None:
    """Ten bars, one per digit: the probabilities of the guess (after learning steps, with a tick
    where each was before them)."""
    guess = state.guess
    lesson = state.current_lesson() if state.view == "learn" else None
    if lesson is not None:
        n = lesson.steps
        title = f"After {'the step' if n == 1 else f'{n} steps'} (white tick: before)"
        before, probabilities = lesson.result.probabilities[0], lesson.result.probabilities[-1]
    else:
        title = "All ten probabilities" + (" (click one)" if state.view == "inside" else "")
        before, probabilities = None, guess.probabilities if guess is not None else None
    paint.text(title, (x, top), 24, TEXT, width)
    row_height = max(12, min(44, (bottom - top - 30) // 10))
    bar_width = width - 90
    best_digit = int(np.argmax(probabilities)) if probabilities is not None else None
    explained = state.explained_digit() if state.view == "inside" else None
    for digit in range(10):
        row_y = top + 26 + digit * row_height
        p = float(probabilities[digit]) if probabilities is not None else 0.0
        size = 30 if row_height >= 34 else 24 if row_height >= 20 else 20
        paint.text(str(digit), (x, row_y), size, ACCENT if digit == explained else TEXT)
        track = pygame.Rect(x + 20, row_y + 2, bar_width, max(6, row_height - 6))
        paint.frame.bars.append(track)
        pygame.draw.rect(paint.screen, GRID, track)
        colour = DIM if state.stale else BEST if digit == best_digit else ACCENT
        pygame.draw.rect(paint.screen, colour, (track.x, track.y, round(bar_width * p), track.height))
        if before is not None:
            tick = track.x + round(bar_width * float(before[digit]))
            pygame.draw.line(paint.screen, TEXT, (tick, track.y - 2), (tick, track.bottom + 1), 2)
        if digit == explained:
            pygame.draw.rect(paint.screen, TEXT, track.inflate(4, 4), 1)
        if guess is not None:
            paint.text(f"{p:.1%}", (x + 26 + bar_width, row_y), 20, DIM)
