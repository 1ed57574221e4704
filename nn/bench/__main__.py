"""python -m nn.bench: the benchmark (nn/bench/bench.py)."""

from nn.bench.bench import main
from nn.plumbing.cli import run

run(main, "python -m nn.bench")
