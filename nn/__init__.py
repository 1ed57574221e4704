"""A handwritten-digit recognizer written from scratch with NumPy.

One concern per module; each module's first line says which (the README's map of the code says
which to read first, and in what order).
"""


__version__ = "0.1.0"

