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


class NothingYet(UsageError):
    """Asked to act on what is not there yet: no trained network to use or save, nothing to undo,
    no learning step to keep (the page answers 409)."""


class NotHere(UsageError):
    """A capability this session does not have (training, when the page was started without
    it): the page answers 404."""


class Crowded(NNError):
    """Too much asked of the machine at once (photos to read from a whole class): try again in a
    moment (the page answers 503)."""


class TrainingDiverged(NNError):
    """The loss became NaN or infinite; nothing was saved."""


def shown(value: object, limit: int = 40, quote: bool = True) -> str:
    """A value the user gave, for a message: quoted (a string, unless quote=False), and cut to
    `limit` characters with how long it was: a setting 5,000 characters long is named, not echoed."""
    text = value if isinstance(value, str) else str(value)
    quoted = quote and isinstance(value, str)
    if len(text) <= limit:
        return repr(text) if quoted else text
    cut = repr(text[:limit])[:-1] + "...'" if quoted else text[:limit] + "..."
    return f"{cut} ({len(text):,} characters)"
