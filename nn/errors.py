"""The user-facing errors: one small family, caught only by the entry points.

Each message is one line that names the file and, where it helps, the line, column
or field at fault. The entry points print it to stderr and exit with status 2.
"""


class NNError(Exception):
    """A mistake the user can fix: bad data, a bad model file or bad arguments."""


class DataError(NNError):
    """A dataset or image file that cannot be read as digits."""


class ModelError(NNError):
    """A model file that is missing, corrupt, or does not match what is asked of it."""


class UsageError(NNError):
    """Arguments or settings that cannot work (a zero learning rate, an unwritable path...)."""


class TrainingDiverged(NNError):
    """The loss became NaN or infinite; nothing was saved."""
