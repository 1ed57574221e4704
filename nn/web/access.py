"""Who may use the page: tokens, the teacher and the class, and the limits on a device.

On this computer only (127.0.0.1, the default), the page is open, as it always was. Listening
beyond it (`--host`), it makes a random token and prints a link that carries it; in a classroom
(`--classroom`), two: the teacher's, which may do everything, and the class's, which may draw,
guess, look inside, take learning steps and save drawings, but not train, teach, undo, switch or
save models. Every request needs a valid token, page and API alike: `?token=` in the address (the
page's link; the server answers with a cookie and sends the browser on to the address without
it), the cookie, or an `Authorization: Bearer` header (scripts). As Jupyter does.

A token is compared in constant time (hmac.compare_digest). A device that sends wrong tokens is
slowed down: after WRONG_TRIES of them, each further try waits a while, twice as long each time.
A device may save SAVES_IN_A_ROW drawings at once, then one every SAVE_EVERY seconds, and have
photos read likewise (LIMITS); a save or a photo that is refused or fails does not count. A device is its address on the network.
"""

from __future__ import annotations

import hmac
import io
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import segno

TEACHER, CLASS, OPEN = "teacher", "class", "open"
COOKIE = "nn_token"
WRONG_TRIES = 5  # wrong tokens from one device before it is slowed down
LONGEST_WAIT = 60.0  # seconds: the longest a device that keeps guessing is made to wait
LIMITS = {  # what a device may do how often where the page has tokens: (so many at once, then one every s)
    "save": (10, 3.0),
    "photo": (5, 2.0),  # reading a photo takes a core for half a second
}
SAVES_IN_A_ROW, SAVE_EVERY = LIMITS["save"]
PHOTOS_IN_A_ROW, PHOTO_EVERY = LIMITS["photo"]
MAX_DEVICES = 4096  # devices remembered at once


class Refused(Exception):
    """A request that may not go on: its HTTP status, the reason, and how long to wait (429)."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.status, self.retry_after = status, retry_after


@dataclass
class _Device:
    wrong: int = 0  # wrong tokens in a row
    blocked_until: float = 0.0
    turns: dict = field(default_factory=dict)  # "save" -> [turns it has now (refilled over time), when counted]


class Access:
    """The tokens of a page and what each may do. Access(None) is the open page (loopback)."""

    def __init__(self, roles: tuple[str, ...] | None):
        self.tokens = {role: secrets.token_urlsafe(16) for role in roles or ()}
        self.class_link: str | None = None  # the class's link, once the page knows its address
        # a class's phones guess with the page's own reader (nn/session/page/reading.js), and ask
        # the server only for what needs it; False: the server reads every guess (--server-reads)
        self.phones_read = True
        self._devices: dict[str, _Device] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_page(cls, loopback_only: bool, classroom: bool) -> "Access":
        if classroom:
            return cls((TEACHER, CLASS))
        return cls(None if loopback_only else (TEACHER,))

    @property
    def open(self) -> bool:
        return not self.tokens

    def role(self, token: str | None, device: str) -> str:
        """The role a request's token gives, or Refused: 401 without a valid one, 429 for a
        device that has sent too many wrong ones."""
        if self.open:
            return OPEN
        now = time.monotonic()
        with self._lock:
            if len(self._devices) > MAX_DEVICES:  # a network of strangers: forget the harmless ones
                self._devices = {k: d for k, d in self._devices.items() if d.blocked_until > now}
            state = self._devices.setdefault(device, _Device())
            if now < state.blocked_until:
                wait = state.blocked_until - now
                raise Refused(429, f"too many wrong tokens from this device: wait {wait:.0f} s", wait)
        if not token:
            raise Refused(401, "this page needs its link: open the address draw.py printed, with its "
                               "?token=... (scripts: ?token= or an Authorization: Bearer header)")
        found = None
        for role, expected in self.tokens.items():  # every token compared, each in constant time
            if hmac.compare_digest(token.encode(), expected.encode()):
                found = role
        with self._lock:
            if found is not None:
                state.wrong = 0
                return found
            state.wrong += 1
            if state.wrong >= WRONG_TRIES:
                state.blocked_until = now + min(LONGEST_WAIT, 2.0 ** (state.wrong - WRONG_TRIES))
        raise Refused(401, "wrong token: open the link draw.py printed")

    @contextmanager
    def turn(self, device: str, what: str) -> Iterator[None]:
        """Hold while a device saves a drawing ("save") or has a photo read ("photo"). Where the
        page has tokens, a device may do so LIMITS[what] times at once, then once every so many
        seconds, whoever it is (with --host alone, every phone holds the teacher's link);
        Refused(429) past that. One that fails (a blank drawing, a file that cannot be written, a
        photo with no number) gives its turn back: a refusal never costs the user. The open page
        (this computer only) has no limit."""
        if self.open:
            yield
            return
        at_once, every = LIMITS[what]
        now = time.monotonic()
        with self._lock:
            turns = self._devices.setdefault(device, _Device()).turns.setdefault(what, [float(at_once), now])
            turns[0] = min(at_once, turns[0] + (now - turns[1]) / every)
            turns[1] = now
            if turns[0] < 1:
                wait = (1 - turns[0]) * every
                raise Refused(429, f"too many {what}s from this device: one every {every:.0f} s "
                                   f"(wait {wait:.0f} s)", wait)
            turns[0] -= 1  # taken before the work, so that requests at once cannot all pass
        try:
            yield
        except BaseException:
            with self._lock:
                turns[0] = min(at_once, turns[0] + 1)
            raise

    @staticmethod
    def teacher_only(role: str, what: str) -> None:
        if role == CLASS:
            raise Refused(403, f"{what} is the teacher's: the class's link may draw, guess, look inside, "
                               "take learning steps and save drawings")


def link(base: str, token: str | None) -> str:
    """The page's address with its token: http://192.168.1.20:8028/?token=..."""
    return f"{base}/?token={token}" if token else base


def qr_text(url: str) -> str:
    """`url` as a QR code drawn in text, two rows of modules per line (segno), for the terminal."""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """`url` as a QR code in SVG, for the teacher's page to show large on the projector."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, xmldecl=False)
    return out.getvalue()
