"""python -m nn: the other tools (nn/tools/command.py)."""

from nn.plumbing.cli import run
from nn.tools.command import main

run(main, "python -m nn")
