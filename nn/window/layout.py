"""Where everything goes in the window: the grid, the panel beside it (or, for a number, below
it) and the footer, fitted to the window's size. Plain arithmetic, no pygame."""

from __future__ import annotations

from dataclasses import dataclass

from nn.dataset import SIDE

DEFAULT_CELL, SMALLEST_CELL = 20, 8  # pixels per grid cell
MARGIN, FOOTER = 16, 56
PANEL_MIN, PANEL_MAX = 300, 520
NUMBER_LINE = 60  # under the wide grid: the number read
NUMBER_WINDOW_HEIGHT = 700  # number mode's window at the least: the grid, the number, the panel


@dataclass(frozen=True)
class Layout:
    """The window's parts, in pixels, for a window `width` x `height` and a grid `columns` wide."""

    width: int
    height: int
    columns: int
    number_mode: bool
    cell: int
    panel_x: int
    panel_top: int
    panel_width: int
    panel_bottom: int
    origin: tuple[int, int] = (MARGIN, MARGIN)

    @property
    def footer_y(self) -> int:
        return self.height - FOOTER if self.number_mode else 2 * MARGIN + SIDE * self.cell

    def to_cells(self, pos: tuple[int, int]) -> tuple[float, float]:
        """Window pixels -> grid cells (x, y), fractional."""
        return ((pos[0] - self.origin[0]) / self.cell, (pos[1] - self.origin[1]) / self.cell)

    def to_pixels(self, cells: tuple[float, float]) -> tuple[int, int]:
        """Grid cells (x, y) -> window pixels."""
        return (round(self.origin[0] + cells[0] * self.cell), round(self.origin[1] + cells[1] * self.cell))

    def on_canvas(self, pos: tuple[int, int]) -> bool:
        x, y = self.to_cells(pos)
        return 0 <= x < self.columns and 0 <= y < SIDE


def fit(width: int, height: int, columns: int, number_mode: bool) -> Layout:
    """The grid takes the largest whole cell size that leaves the panel its minimum width, and the
    panel the width left over (up to a limit); in number mode the wide grid runs across the top
    and the panel lies below it. Shrunk below what the layout needs (pygame has no call for a
    minimum size), the grid keeps SMALLEST_CELL and the rest is cut off."""
    if number_mode:
        cell = max(4, min(64, (width - 2 * MARGIN) // columns, (height - FOOTER - 360) // SIDE))
        return Layout(width, height, columns, True, cell, MARGIN, 2 * MARGIN + SIDE * cell + NUMBER_LINE,
                      max(PANEL_MIN, min(PANEL_MAX, (width - 3 * MARGIN) // 2)),
                      max(2 * MARGIN + SIDE * cell + NUMBER_LINE + 200, height - FOOTER - MARGIN))
    cell = max(SMALLEST_CELL, min(64, (width - 3 * MARGIN - PANEL_MIN) // SIDE, (height - 2 * MARGIN - FOOTER) // SIDE))
    panel_x = 2 * MARGIN + SIDE * cell
    return Layout(width, height, columns, False, cell, panel_x, MARGIN,
                  max(PANEL_MIN, min(PANEL_MAX, width - panel_x - MARGIN)), 2 * MARGIN + SIDE * cell)


def window_size(cell: int = DEFAULT_CELL) -> tuple[int, int]:
    """The window a grid of `cell`-pixel cells asks for at first: the grid, the panel, the footer."""
    side = SIDE * cell
    return 3 * MARGIN + side + PANEL_MIN, 2 * MARGIN + side + FOOTER
