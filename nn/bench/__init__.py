"""The benchmark, python -m nn.bench (bench.py), and the handwriting sets it reads models with
(handwriting.py): digits from hands that are not MNIST's."""
