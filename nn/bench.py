"""Measurements, apart from training and tests: python -m nn.bench

    python -m nn.bench --only handwriting --model data/pretrained.npz
    python -m nn.bench --only latency

handwriting: how well a model reads digits that are not MNIST's.
    pen     600 digits (60 of each) drawn on the 28x28 grid from the hand-made pen paths in
            nn/canvas.py, each with a random slant, rotation, size, stretch, position, wobble
            and pen width (seeded, so the same everywhere)
    fonts   every digit of every font on this machine (matplotlib's font list), rendered at a
            random size and tilt, saved as PNG, dark-on-light or light-on-dark at random, and
            read back through draw.py's image path (load_image, normalize)

latency: what the window does for one drawing when you press S (or on every stroke in live mode):
    normalize the 28x28 canvas, then the forward pass; median and 99th percentile over drawings
    of every digit at random sizes and places.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .canvas import DEMO_STROKES, Canvas, draw_demo
from .preprocess import load_image, normalize


@dataclass
class Handwriting:
    name: str
    inputs: np.ndarray  # (N, 784) float32, normalised
    labels: np.ndarray  # (N,)
    note: str = ""


def pen_digits(per_digit: int = 60, seed: int = 123) -> Handwriting:
    """DEMO_STROKES drawn with random distortions and pens, normalised like draw.py does."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], []
    for digit, paths in DEMO_STROKES.items():
        for _ in range(per_digit):
            angle = np.radians(rng.uniform(-15, 15))
            shear = rng.uniform(-0.3, 0.3)
            sx, sy = rng.uniform(0.5, 1.15, 2)
            shift = rng.uniform(-5, 5, 2)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            A = rotation @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
            core = rng.uniform(0.45, 1.2)
            canvas = Canvas(core=core, outer=core + rng.uniform(0.6, 1.4))
            for path in paths:
                points = (np.array(path) - 14) @ A.T + 14 + shift
                points += rng.normal(0, 0.35, points.shape)  # a wobbly hand
                for start, end in zip(points, points[1:]):
                    canvas.stroke(tuple(start), tuple(end))
            inputs.append(normalize(canvas.ink).reshape(-1))
            labels.append(digit)
    return Handwriting("pen", np.array(inputs), np.array(labels),
                       f"{len(labels)} distorted pen-path digits")


def font_digits(seed: int = 123) -> Handwriting:
    """Every digit of every font matplotlib finds, as PNG files read back like draw.py --predict."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    found = set(font_manager.findSystemFonts()) | set(font_manager.findSystemFonts(
        fontpaths=[str(Path(font_manager.__file__).parent / "mpl-data" / "fonts" / "ttf")]))
    skip = ("math", "symbol", "dingbat", "fallback", "cmex", "cmsy", "stixsiz", "stixnonuni", "d050000l")
    fonts = sorted(f for f in found if not any(s in Path(f).name.lower() for s in skip))
    inputs, labels, used = [], [], 0
    with tempfile.TemporaryDirectory() as folder:
        for font_path in fonts:
            try:
                font = ImageFont.truetype(font_path, 150)
            except OSError:
                continue
            used += 1
            for digit in range(10):
                dark = rng.random() < 0.5
                paper, pen = (int(rng.integers(200, 256)), int(rng.integers(0, 60))) if dark else \
                    (int(rng.integers(0, 40)), int(rng.integers(190, 256)))
                page = Image.new("L", (300, 300), paper)
                ImageDraw.Draw(page).text((150, 150), str(digit), fill=pen, font=font, anchor="mm")
                side = int(300 * rng.uniform(0.4, 1.3))
                page = page.rotate(rng.uniform(-8, 8), fillcolor=paper).resize((side, side))
                path = Path(folder) / f"{used}_{digit}.png"
                page.save(path)
                field = normalize(load_image(path))
                if field.any():  # fonts without digits render nothing
                    inputs.append(field.reshape(-1))
                    labels.append(digit)
    return Handwriting("fonts", np.array(inputs).reshape(-1, 784), np.array(labels),
                       f"{len(labels)} digits from {used} fonts on this machine")


def handwriting(model_paths: Sequence[Path]) -> list[dict]:
    from .modelfile import load_model

    sets = [pen_digits(), font_digits()]
    rows = []
    for model in model_paths:
        net, info = load_model(model)
        row = {"model": str(model), "mnist_test": info.accuracy.get("test")}
        for s in sets:
            row[s.name] = float(np.mean(net.predict(s.inputs) == s.labels)) if len(s.labels) else None
        rows.append(row)
    print("Digits that are not MNIST's: " + "; ".join(s.note for s in sets))
    print(f"{'model':34s} {'MNIST test':>10s} {'pen':>7s} {'fonts':>7s}")
    for row in rows:
        cells = [f"{row[k]:.1%}" if isinstance(row[k], float) else "-" for k in ("mnist_test", "pen", "fonts")]
        print(f"{row['model']:34s} {cells[0]:>10s} {cells[1]:>7s} {cells[2]:>7s}")
    return rows


def latency(model_path: Path, drawings: int = 200, repeats: int = 10, seed: int = 0) -> dict:
    """Seconds for normalize + forward pass of one drawing: median and p99."""
    from .modelfile import load_model

    net, _ = load_model(model_path)
    rng = np.random.default_rng(seed)
    canvases = []
    for i in range(drawings):
        canvas = Canvas()
        draw_demo(canvas, i % 10, scale=rng.uniform(0.6, 1.1), shift=tuple(rng.uniform(-3, 3, 2)))
        canvases.append(canvas.ink.copy())
    for ink in canvases[:20]:  # warm up
        net.predict_proba(normalize(ink).reshape(1, -1))
    times = []
    for _ in range(repeats):
        for ink in canvases:
            start = time.perf_counter()
            net.predict_proba(normalize(ink).reshape(1, -1))
            times.append(time.perf_counter() - start)
    result = {"model": str(model_path), "median_ms": 1e3 * float(np.median(times)),
              "p99_ms": 1e3 * float(np.percentile(times, 99)), "samples": len(times)}
    print(f"One drawing (normalize + forward, {net.shape_name}): median {result['median_ms']:.3f} ms, "
          f"p99 {result['p99_ms']:.3f} ms over {len(times):,} runs (target: p99 < 2 ms)")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    from .cli import ArgumentParser
    from .modelfile import default_model

    parser = ArgumentParser(prog="python -m nn.bench", description="Measure the project.")
    parser.add_argument("--only", choices=["handwriting", "latency"], default=None,
                        help="run one measurement (default: all)")
    parser.add_argument("--model", type=Path, nargs="+", default=None,
                        help="model file(s) to measure (default: the one draw.py would use)")
    args = parser.parse_args(argv)
    models = args.model or [default_model()]
    if args.only in (None, "latency"):
        latency(models[0])
    if args.only in (None, "handwriting"):
        handwriting(models)
    return 0


if __name__ == "__main__":
    from .cli import run

    run(main, "python -m nn.bench")
