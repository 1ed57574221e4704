"""The colours of what the views show, computed once: the drawing, the evidence map, the hidden
units and the feature maps as RGB pictures (H, W, 3) uint8. The window blits them; the page gets
the same bytes from the API and paints them, so the two can never disagree about a colour."""

from __future__ import annotations

import base64
import io

import numpy as np

from PIL import Image

from nn.dataset import SIDE

PALETTE = {
    "background": (28, 30, 38),
    "canvas": (8, 8, 12),
    "ink": (245, 245, 245),
    "grid": (44, 48, 60),
    "text": (220, 222, 232),
    "dim": (140, 145, 160),
    "accent": (92, 170, 255),  # the bars; below zero in a heat map
    "best": (110, 220, 140),  # the guess; evidence for the digit
    "warn": (250, 200, 90),
    "against": (240, 96, 80),  # evidence against the digit
    "active": (250, 190, 80),  # an active unit or a strong feature
}
_C = {name: np.array(rgb, dtype=np.float64) for name, rgb in PALETTE.items()}


def ink_rgb(ink: np.ndarray) -> np.ndarray:
    """Ink (H, W) in [0, 1] as light ink on the dark canvas."""
    t = np.clip(ink, 0, 1)[..., None]
    return (_C["canvas"] * (1 - t) + _C["ink"] * t).astype(np.uint8)


def evidence_rgb(pixels: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """An evidence map (784,) over a faint copy of the input seen (28, 28): green where a pixel
    pushed toward the digit, red where against, by the square root of its share of the largest
    (so that small shares stay visible)."""
    base = _C["canvas"] + 0.25 * np.asarray(seen, np.float64).reshape(SIDE, SIDE, 1) * (_C["ink"] - _C["canvas"])
    scale = float(np.abs(pixels).max()) or 1.0
    t = np.clip(np.asarray(pixels, np.float64).reshape(SIDE, SIDE) / scale, -1, 1)
    t = (np.sign(t) * np.sqrt(np.abs(t)))[..., None]
    toward = base + np.clip(t, 0, 1) * (_C["best"] - base)
    return (toward + np.clip(-t, 0, 1) * (_C["against"] - toward)).astype(np.uint8)


def signed_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Signed numbers (rows, columns) as a picture: green where positive (goes up), red where
    negative (goes down), dark at zero, by the square root of their share of `scale` (default: the
    largest); the background colour where they hold NaN (past the last unit of a grid)."""
    values = np.asarray(values, np.float64)
    if scale is None:
        scale = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    t = np.clip(np.nan_to_num(values / (scale or 1.0)), -1, 1)
    t = (np.sign(t) * np.sqrt(np.abs(t)))[..., None]
    rgb = _C["canvas"] + np.clip(t, 0, 1) * (_C["best"] - _C["canvas"])
    rgb = rgb + np.clip(-t, 0, 1) * (_C["against"] - rgb)
    rgb[np.isnan(values)] = _C["background"]
    return rgb.astype(np.uint8)


def heat_rgb(grid: np.ndarray, scale: float | None = None) -> np.ndarray:
    """A grid of activations (rows, columns) as a heat map: dark = silent, bright = active, blue
    below 0, the background colour where the grid holds NaN (past the last unit)."""
    if scale is None:
        scale = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    t = np.nan_to_num(grid / (scale or 1.0), nan=0.0)[..., None]
    rgb = _C["canvas"] + np.clip(t, 0, 1) * (_C["active"] - _C["canvas"])
    rgb = rgb + np.clip(-t, 0, 1) * (_C["accent"] - rgb)
    rgb[np.isnan(grid)] = _C["background"]
    return rgb.astype(np.uint8)


def unit_grid(activations: np.ndarray) -> np.ndarray:
    """One hidden layer's activations (n,) laid out as a near-square grid (rows, columns), row by
    row, padded with NaN: 256 units as 16x16, 512 as 23x23 (the last row part empty)."""
    n = len(activations)
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.full(rows * columns, np.nan)
    grid[:n] = activations
    return grid.reshape(rows, columns)


def map_mosaic(maps: np.ndarray) -> np.ndarray:
    """One convolution's feature maps (H, W, F) side by side as one picture, a near-square grid of
    F maps with a NaN line between them: 16 maps of 28x28 as 4 x 4 maps, 115 x 115 numbers."""
    h, w, f = maps.shape
    columns = int(np.ceil(np.sqrt(f)))
    rows = int(np.ceil(f / columns))
    mosaic = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for k in range(f):
        r, c = divmod(k, columns)
        mosaic[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = maps[:, :, k]
    return mosaic


def as_base64(rgb: np.ndarray) -> dict:
    """An RGB picture for the page: {"width", "height", "rgb": base64 of its bytes, row by row}."""
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
            "rgb": base64.b64encode(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()).decode("ascii")}


def as_png(rgb: np.ndarray) -> dict:
    """A larger RGB picture for the page (a photo's steps): {"width", "height", "png": base64 of
    it as PNG}, which ink on a plain background shrinks tenfold."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(out, "PNG", optimize=False)
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "png": base64.b64encode(out.getvalue()).decode("ascii")}
