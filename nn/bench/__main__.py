"""python -m nn.bench: the benchmark (its runner is nn/bench/bench.py)."""

from nn.bench.bench import main
from nn.plumbing.cli import run

run(main, "python -m nn.bench")
