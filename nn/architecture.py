"""Which networks can be built: their parameters' shapes and count, the size limit, the memory a
sample needs, and their names (784-256-10; conv 16-32 (5x5), dense 1568-128-10). A network that
cannot be built is refused with one sentence naming the flag; nn/network.py builds the rest."""

from __future__ import annotations

import math
from typing import Sequence

from nn.dataset import SIDE
from nn.errors import UsageError

# Far beyond anything that helps on 28x28 digits (784-4096-4096-10 has 20 million), and small
# enough to fit in memory: a network with more parameters is refused before any is allocated.
MAX_PARAMETERS = 50_000_000
DEFAULT_KERNEL = 5


def parameter_shapes(sizes: Sequence[int], conv: Sequence[int] = (),
                     kernel: int = DEFAULT_KERNEL) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """[(W0's shape, b0's shape), ...] of every layer with parameters, in order."""
    shapes, channels, side = [], 1, SIDE
    for filters in conv:
        shapes.append(((kernel, kernel, channels, filters), (filters,)))
        channels, side = filters, side // 2
    n_in = channels * side * side if conv else sizes[0]
    for n_out in sizes[1:]:
        shapes.append(((n_in, n_out), (n_out,)))
        n_in = n_out
    return shapes


def parameter_count(sizes: Sequence[int], conv: Sequence[int] = (), kernel: int = DEFAULT_KERNEL) -> int:
    """Weights and biases of a network with these layers: sum of (n_in + 1) n_out for dense
    layers, (k·k·C + 1) F for a convolution of F filters on C channels."""
    return sum(math.prod(W) + math.prod(b) for W, b in parameter_shapes(sizes, conv, kernel))


def working_floats(sizes: Sequence[int], conv: Sequence[int] = (), kernel: int = DEFAULT_KERNEL,
                   train: bool = True) -> int:
    """About how many numbers one sample needs while passing through the network: every layer's
    output and each convolution's copies of its input (counted as im2col's k·k of each pixel, an
    upper bound: nn/layers.py makes k for more than one channel); training keeps them all for the
    backward pass (and about as much again for the gradients), predicting only the largest few."""
    sizes_seen, side, channels = [], SIDE, 1
    for filters in conv:
        sizes_seen += [side * side * kernel * kernel * channels, 3 * side * side * filters]
        channels, side = filters, side // 2
    sizes_seen += [3 * n for n in sizes]
    return 2 * sum(sizes_seen) if train else 2 * max(sizes_seen)


def check_architecture(sizes: Sequence[int], conv: Sequence[int] = (),
                       kernel: int = DEFAULT_KERNEL) -> tuple[list[int], list[int], int]:
    """(sizes, conv, kernel) as ints, or a UsageError saying why no such network is built."""
    sizes, conv, kernel = [int(n) for n in sizes], [int(f) for f in conv], int(kernel)
    if len(sizes) < 2 or min(sizes) < 1:
        raise UsageError(f"layer sizes must be at least 1, got {'-'.join(map(str, sizes))}")
    if conv:
        if min(conv) < 1:
            raise UsageError(f"--conv: a convolution needs at least 1 filter, got {' '.join(map(str, conv))}")
        if kernel > SIDE:
            raise UsageError(f"--kernel {kernel} is larger than the {SIDE}x{SIDE} image; "
                             f"use at most {SIDE - 1}")
        if kernel < 1 or kernel % 2 == 0:
            raise UsageError(f"--kernel {kernel}: the kernel's side must be odd and at least 1 "
                             "(3, 5, 7...), so that 'same' padding centres it on each pixel")
        side = SIDE
        for n in range(1, len(conv) + 1):
            if side < 2:
                raise UsageError(f"--conv: {len(conv)} convolutions, each followed by 2x2 pooling, do "
                                 f"not fit a {SIDE}x{SIDE} image: the {_ordinal(n)} would see "
                                 f"{side}x{side}, too small to pool (at most {n - 1} fit)")
            side //= 2
    count = parameter_count(sizes, conv, kernel)
    if count > MAX_PARAMETERS:
        flags = (f"--conv {' '.join(map(str, conv))} " if conv else "") + \
            f"--hidden {' '.join(map(str, sizes[1:-1])) or 0}"
        raise UsageError(f"{flags}: a {shape_name(sizes, conv, kernel, short=True)} network has "
                         f"{count:.3g} parameters, more than the {MAX_PARAMETERS:,} this program trains "
                         "(and more than digits need): ask for fewer units or filters")
    return sizes, conv, kernel


def shape_name(sizes: Sequence[int], conv: Sequence[int] = (), kernel: int = DEFAULT_KERNEL,
               short: bool = False) -> str:
    """784-256-10 for an MLP; conv 16-32 (5x5), dense 1568-128-10 for a CNN."""
    def join(numbers):
        return "-".join(str(n) if n < 10**9 or not short else f"{n:.3g}" for n in numbers)

    if not conv:
        return join(sizes)
    flat = parameter_shapes(sizes, conv, kernel)[len(conv)][0][0]
    return f"conv {join(conv)} ({kernel}x{kernel}), dense {join([flat, *sizes[1:]])}"


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(n, f"{n}th")
