"""The benchmark, python -m nn.bench: its runner (bench.py), its parts (parts/, one module each,
sharing common.py), and what they measure with: PyTorch's loops (pytorch.py), handwriting that is
not MNIST's (handwriting.py), whole numbers (numbers.py) and a class of phones (classroom.py)."""
