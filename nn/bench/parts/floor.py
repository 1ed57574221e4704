"""The floor part: the matrix products' floor, and our epoch against it.

The floor is the FLOPs of one epoch divided by the sgemm throughput measured now, at the shapes
training multiplies; our epoch time divided by it says how much of an epoch is not the products.
--hidden and --batch-size set the network; the epoch part's time is used when it ran first.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from nn.bench.common import Context, Row, part
from nn.bench.parts.epoch import epoch_ours


@part("floor", "our epoch against the matrix products' floor")
def part_floor(ctx: Context) -> list[Row]:
    train, _, _ = ctx.data()
    if ctx.ours_epoch is None:
        ctx.ours_epoch = float(np.median(epoch_ours(train.images, train.labels, ctx.hidden, ctx.batch, 2)))
    sizes = [784, *ctx.hidden, 10]
    throughput = sgemm_throughput(sizes, ctx.batch, 1.0 if ctx.quick else 3.0)
    flops = flops_per_epoch(sizes, len(train.images))
    floor = flops / throughput
    return [Row("floor", "sgemm at the training shapes", throughput / 1e9, "GFLOP/s"),
            Row("floor", f"FLOPs per epoch / sgemm: the floor ({flops / 1e9:.1f} GFLOP)", floor, "s"),
            Row("floor", "our epoch / the floor", ctx.ours_epoch / floor, "x", target="<= 2x",
                passed=ctx.ours_epoch / floor <= 2)]


def flops_per_epoch(sizes: Sequence[int], rows: int) -> float:
    """Multiply-adds x 2 for Z = A W (forward), dW = Aᵀ dZ, and dA = dZ Wᵀ (not for the input)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * a * b for a, b in pairs)
    weights = forward
    inputs_grad = sum(2 * a * b for a, b in pairs[1:])
    return float(rows * (forward + weights + inputs_grad))


def sgemm_throughput(sizes: Sequence[int], batch: int, seconds: float = 2.0) -> float:
    """FLOP/s of float32 matrix products at the shapes one training step uses (median of rounds)."""
    rng = np.random.default_rng(0)
    shapes = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        shapes.append(((batch, a), (a, b)))  # Z = A W
        shapes.append(((a, batch), (batch, b)))  # dW = Aᵀ dZ
    operands = [(rng.random(p, dtype=np.float32), rng.random(q, dtype=np.float32)) for p, q in shapes]
    flops = sum(2 * p[0] * p[1] * q[1] for p, q in shapes)
    rounds = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rounds) < 20:
        start = time.perf_counter()
        for _ in range(10):
            for p, q in operands:
                p @ q
        rounds.append(10 * flops / (time.perf_counter() - start))
    return float(np.median(rounds))
