"""A handwritten-digit recognizer written from scratch with NumPy.

One concern per module; each module's first line says which (the README's map of the code says
which to read first, and in what order).
"""

from nn.plumbing.machine import one_blas_thread_under_a_memory_limit

__version__ = "0.1.0"

one_blas_thread_under_a_memory_limit()  # must come before NumPy loads
