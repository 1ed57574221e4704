"""The bench's parts, one module each, named as --only names it; nn/bench/bench.py imports them."""
