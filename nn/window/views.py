"""The views under the guess (nn/window/state.py's VIEWS), each drawn from the state by one
function: the inside view (V), the steps (P), one step of learning (G) and the dreams (D).

Each takes the painter (nn/window/render.py), the state, and its room (x, top, width, bottom),
and returns where the bars go under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pygame

from nn.dataset import SIDE
from nn.session.learning import FilterMap
from nn.session.pictures import PALETTE, evidence_rgb, ink_rgb, map_mosaic, signed_rgb, unit_grid
from nn.window.state import VIEWS, WindowState

if TYPE_CHECKING:  # the painter's module draws these views: no import at run time
    from nn.window.render import Painter

CANVAS, TEXT, DIM, ACCENT, BEST = PALETTE["canvas"], PALETTE["text"], PALETTE["dim"], PALETTE["accent"], PALETTE["best"]


def draw_learn(paint: Painter, state: WindowState, x: int, top: int, width: int, bottom: int, beside=False) -> int:
    """G: one step of learning on this drawing, every number of it (nn/session/learning.py): the
    loss before and after, the output error A - Y, the error passed back to the hidden layer, and
    the change of the weights into the units that moved most."""
    lesson = state.current_lesson()
    paint.text((f"Learning toward {lesson.label}" if lesson else VIEWS["learn"].title) + f", lr {state.rate:g}",
               (x, top), 24, TEXT, width)
    if lesson is None:
        lines = ["Press the digit your drawing is (0-9): a copy of the",
                 "network takes one step of gradient descent on this",
                 "drawing alone, P -= lr · dP for every weight and bias.",
                 "G: another step.  K: keep it.  Esc: close."]
        for i, line in enumerate(lines):
            paint.text(line, (x, top + 28 + 18 * i), 18, DIM, width)
        return top + 28 + 18 * len(lines) + 10
    r = lesson.result
    losses = [f"{v:.3f}" for v in r.losses]
    shown = " -> ".join(losses if len(losses) <= 4 else losses[:2] + ["...", losses[-1]])
    paint.text(f"loss -log p({r.label}): {shown}", (x, top + 24), 20, TEXT, width)
    y = _output_error(paint, r, x, top + 48, (width - 16) // 2)
    changes = [(f"{j}", w) for j, w in zip(r.units, r.weight_change)]
    about = f"-lr · x · dZ_j: the {len(changes)} units that moved most"
    if r.filter_change is not None:
        changes = [(f"{f}", r.filter_change[f]) for f in r.units]
        about = f"-lr · dW: the {len(changes)} filters that moved most"
    if not changes:
        return y + 4
    paint.text(about, (x, y), 18, TEXT, width - 140 if width >= 440 else width)
    if width >= 440:
        paint.text("green: up, red: down", (x + width - 130, y), 18, DIM, 130)
    per_row = min(len(changes), 8)
    each = min(64, (width - 4 * (per_row - 1)) // per_row)
    scale = max(float(np.abs(w).max()) for _, w in changes)  # one scale: which moved most shows
    for i, (name, w) in enumerate(changes):
        r_, c = divmod(i, per_row)
        px, py = x + c * (each + 4), y + 20 + r_ * (each + 18)
        paint.picture(paint.surface(signed_rgb(w, scale), each, each), (px, py))
        paint.text(name, (px, py + each + 1), 18, DIM)
    return y + 20 + -(-len(changes) // per_row) * (each + 18) + 6


def _output_error(paint: Painter, r, x: int, y: int, half: int) -> int:
    """The output error A - Y as ten signed bars around zero (green where the score will rise),
    and beside it the error passed back to the hidden layer, dZ = dA * g'(Z), a cell per unit."""
    row = 10
    paint.text("output error A - Y", (x, y), 18, TEXT, half)
    zero, span = x + 14 + (half - 64) // 2, (half - 64) // 2
    for d, e in enumerate(r.output_error):
        ry = y + 18 + d * row
        paint.text(str(d), (x, ry - 2), 18, ACCENT if d == r.label else DIM)
        length = max(1, round(span * min(1.0, abs(float(e)))))
        pygame.draw.rect(paint.screen, BEST if e < 0 else PALETTE["against"],
                         (zero - length if e < 0 else zero, ry + 1, length, row - 3))
        paint.text(f"{e:+.3f}", (x + half - 46, ry - 2), 18, TEXT if d == r.label else DIM)
    pygame.draw.line(paint.screen, DIM, (zero, y + 17), (zero, y + 18 + 10 * row))
    hx, side = x + half + 16, min(half, 10 * row + 4)
    if r.hidden_error:
        dz = r.hidden_error[0]
        paint.text(f"hidden error dZ, {len(dz)} units", (hx, y), 18, TEXT, half)
        paint.picture(paint.surface(signed_rgb(unit_grid(-dz)), side, side), (hx, y + 18))
    return y + 18 + max(10 * row, side) + 8


def draw_dreams(paint: Painter, state: WindowState, x: int, top: int, width: int, bottom: int, beside=False) -> int:
    """D: for each digit, the input that most raises its score, with the probability the
    network gives it (the session's dreams)."""
    dreams = state.dreams()
    paint.text(VIEWS["dreams"].title, (x, top), 24, TEXT, width)
    each = min(96, (width - 4 * 8) // 5)
    for k in range(10):
        r, c = divmod(k, 5)
        px, py = x + c * (each + 8), top + 26 + r * (each + 22)
        paint.picture(paint.ink_surface(dreams.pictures[k].reshape(SIDE, SIDE), each), (px, py))
        paint.text(f"{k}: {dreams.probabilities[k, k]:.0%}", (px, py + each + 2), 18, DIM, each + 8)
    paint.text("the input that most raises each score, found by", (x, top + 26 + 2 * (each + 22)), 18, DIM, width)
    paint.text("gradient ascent from a blank grid", (x, top + 42 + 2 * (each + 22)), 18, DIM, width)
    return top + 66 + 2 * (each + 22)


def draw_steps(paint: Painter, state: WindowState, x: int, top: int, width: int, bottom: int, beside=False) -> int:
    """P: every step from the drawing (a number's digit shown) to the 784 numbers the network
    receives, each a small picture with what was done and why (nn/session/preprocess.py)."""
    paint.text(VIEWS["steps"].title, (x, top), 24, TEXT, width)
    if state.guess is None:
        paint.text("press S", (x, top + 28), 20, DIM)
        return top + 50
    steps = state.steps()
    row = max(30, min(76, (bottom - top - 30) // len(steps)))
    picture = row - 8
    for k, step in enumerate(steps):
        y = top + 30 + k * row
        h, w = step.picture.shape
        scale = picture / max(h, w)
        paint.picture(paint.surface(ink_rgb(step.picture), max(1, round(w * scale)), max(1, round(h * scale))), (x, y))
        says = step.says
        if step.name == "numbers":  # a few of the 784, as they are
            middle = step.picture[SIDE // 2]
            first = int(np.flatnonzero(middle > 0.3)[0]) if (middle > 0.3).any() else 10
            says += "  Row 14: ... " + " ".join(f"{v:.2f}" for v in middle[first - 1:first + 4]) + " ..."
        paint.wrapped(f"{k + 1}. {says}", (x + picture + 10, y), width - picture - 10, 18,
                      TEXT if k == len(steps) - 1 else DIM, lines=max(1, (row - 4) // 14))
    return bottom


def draw_inside(paint: Painter, state: WindowState, x: int, top: int, width: int, bottom: int, beside=False) -> int:
    """V: the evidence map (or the unit clicked, written out) and the hidden layers, side by side."""
    half = (width - 16) // 2
    side = min(half, 28 * 9, bottom - top - 90 if beside else 10 ** 6)
    if state.unit is not None and state.guess is not None:  # smaller: room for the sum written out
        side = min(side, 112)
    shown = state.inside()
    inside, evidence, unit = shown if shown is not None else (None, None, None)
    if unit is not None:
        _unit(paint, unit, x, top, side)
    elif evidence is not None:
        _evidence(paint, state, evidence, x, top, side, half)
    else:
        paint.text("Evidence", (x, top), 20, TEXT)
        pygame.draw.rect(paint.screen, CANVAS, (x, top + 20, side, side))
        paint.text("press S", (x + 8, top + 28), 18, DIM)
    hx = x + half + 16
    end = _hidden(paint, inside, hx, top, side, half) if inside is not None else top + side + 76
    if inside is None:
        paint.text("Hidden layer", (hx, top), 20, TEXT)
    if unit is not None:  # the sum written out, under both
        _mark_unit(paint, state.unit)
        lines = unit.written() if inside.maps else unit.written(shown=4)
        y = end if inside.maps else top + side + 44
        for i, line in enumerate(lines):
            paint.text(line, (x, y + 15 * i), 18, TEXT if i == 0 else DIM, width)
        end = y + 15 * len(lines) + 6
    return end


def _evidence(paint: Painter, state: WindowState, evidence, x: int, top: int, side: int, room: int) -> None:
    """Which pixels pushed toward the digit and which against; exact for ReLU networks."""
    paint.picture(paint.surface(evidence_rgb(evidence.pixels, state.field), side, side), (x, top + 20))
    paint.text(f"Evidence for {evidence.digit}", (x, top), 20, TEXT, room)
    paint.text("green: for it, red: against", (x, top + side + 24), 18, DIM, room)
    if evidence.exact:  # the identity, in numbers: score = pixels + biases
        sign = "+" if evidence.bias >= 0 else "-"
        paint.text(f"score {evidence.score:.2f} = {evidence.pixels.sum():.2f} {sign} {abs(evidence.bias):.2f}",
                   (x, top + side + 40), 18, DIM, room)
        paint.text("(from pixels + biases)", (x, top + side + 56), 18, DIM, room)
    else:
        paint.text("approximate: gradient x input", (x, top + side + 40), 18, DIM, room)


def _hidden(paint: Painter, inside, hx: int, top: int, side: int, room: int) -> int:
    """The hidden layers as heat maps (a CNN: its feature maps first); notes where their units can
    be clicked; returns where the bars go."""
    if inside.maps:
        end = _maps(paint, inside, hx, top, side)
        h, w, f = inside.maps[0].shape
        columns = int(np.ceil(np.sqrt(f)))
        paint.frame.units = (pygame.Rect(hx, top + 20, side, side), -(-f // columns), columns, w + 1, w, f)
        return end
    if not inside.hidden:
        paint.text("No hidden layer", (hx, top), 20, TEXT, room)
        paint.text("784 pixels straight to", (hx, top + 22), 18, DIM, room)
        paint.text("the 10 outputs", (hx, top + 38), 18, DIM, room)
        return top + side + 76
    layers = inside.hidden
    each = max(24, (side - 14 * (len(layers) - 1)) // max(1, len(layers)))
    paint.text(f"Hidden layer{'s' if len(layers) > 1 else ''}", (hx, top), 20, TEXT, room)
    y = top + 20
    for layer, activations in enumerate(layers):
        grid = unit_grid(activations)
        paint.picture(paint.heat_surface(grid, each), (hx, y))
        if layer == 0:  # the first hidden layer's units can be clicked: their sums written out
            height = max(1, round(each * grid.shape[0] / grid.shape[1]))
            paint.frame.units = (pygame.Rect(hx, y, each, height), *grid.shape, 1, 1, len(activations))
        scale = float(np.abs(activations).max()) or 1.0
        paint.text(f"{len(activations)} units, max {scale:.2g}", (hx, y + each + 2), 18, DIM, room)
        y += each + 18
    return top + side + 76


def _unit(paint: Painter, unit, x: int, top: int, side: int) -> None:
    """Where the evidence map was: a hidden unit's 784 weights as a picture, or a CNN filter and
    its feature map."""
    if isinstance(unit, FilterMap):
        paint.text(f"Filter {unit.unit} and its map", (x, top), 20, TEXT, side + 40)
        small = (side - 6) // 2
        paint.picture(paint.surface(signed_rgb(unit.weights), small, small), (x, top + 20))
        paint.picture(paint.heat_surface(unit.map, small), (x + small + 6, top + 20))
        paint.text("weights (green +, red -)", (x, top + small + 24), 18, DIM, side + 40)
        return
    paint.text(f"Unit {unit.unit}: its 784 weights", (x, top), 20, TEXT, side + 40)
    paint.picture(paint.surface(signed_rgb(unit.weights.reshape(SIDE, SIDE)), side, side), (x, top + 20))
    paint.text("green +, red -", (x, top + side + 24), 18, DIM, side + 40)


def _mark_unit(paint: Painter, unit: int) -> None:
    """A frame around the unit (the map) clicked."""
    if paint.frame.units is None:
        return
    rect, rows, columns, step, tile, n = paint.frame.units
    width, height = columns * step - step + tile, rows * step - step + tile
    r, c = divmod(unit, columns)
    left, right = rect.x + rect.width * c * step / width, rect.x + rect.width * (c * step + tile) / width
    top, bottom = rect.y + rect.height * r * step / height, rect.y + rect.height * (r * step + tile) / height
    pygame.draw.rect(paint.screen, TEXT, (round(left) - 1, round(top) - 1, round(right - left) + 2,
                                          round(bottom - top) + 2), 1)


def _maps(paint: Painter, inside, x: int, top: int, side: int) -> int:
    """A CNN's inside: the first convolution's feature maps as big as the evidence map, then the
    next convolutions' maps and the hidden units below them, smaller, side by side."""
    first, *rest = [map_mosaic(m) for m in inside.maps]
    small = [(grid, f"conv {i + 2}") for i, grid in enumerate(rest)]
    small += [(unit_grid(a), f"{len(a)} units") for a in inside.hidden]
    paint.text(f"Feature maps: {inside.maps[0].shape[2]} filters", (x, top), 20, TEXT, side + 40)
    paint.picture(paint.heat_surface(first, side), (x, top + 20))
    each = (side - 6 * (len(small) - 1)) // max(1, len(small))
    y = top + side + 26
    for k, (grid, caption) in enumerate(small):
        paint.picture(paint.heat_surface(grid, each), (x + k * (each + 6), y))
        paint.text(caption, (x + k * (each + 6), y + each + 2), 18, DIM, each + 6)
    return max(top + side + 76, y + each + 24)


VIEW_DRAWERS = {"inside": draw_inside, "steps": draw_steps, "learn": draw_learn, "dreams": draw_dreams}
