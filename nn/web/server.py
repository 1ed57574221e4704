"""The page's server: `python draw.py --web` serves the page (nn/web/app.py) with waitress.

waitress is pure Python, Windows too, and its connections are read by one asynchronous loop, so
a client that sends slowly or keeps its connection idle holds a socket, never a thread. Its
settings are the limits: SERVER below (body, headers, idle time, connections, threads). Three
things waitress has no setting for are added: a request whose bytes trickle in for longer than
REQUEST_DEADLINE is cut off, a client that arrives when every connection is taken gets 503 at
once instead of waiting in the queue (`_Server`), and a photo may be larger than other bodies
(BODY_LIMITS, `_TimedParser`).

On 127.0.0.1 (the default) it is one person's page. Listening beyond (`--host`, `--classroom`),
every request needs a token, and in a classroom the class's token may not train, teach or switch
models (nn/web/access.py). A class of phones in live mode asks for many guesses at once: they
are read in batches (nn/web/batching.py), each request waiting on its own thread.
"""

from __future__ import annotations

import copy
import errno
import ipaddress
import logging
import re
import socket
import threading
import time
import webbrowser
from typing import Callable

import waitress
from threadpoolctl import threadpool_info, threadpool_limits
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.wasyncore import dispatcher

from nn.errors import UsageError
from nn.plumbing.machine import descriptors_free
from nn.session.session import Session
from nn.web.access import CLASS, TEACHER, Access, link
from nn.web.app import create_app
from nn.web.batching import Batcher
from nn.web.requests import is_loopback

MAX_BODY = 256 * 1024  # bytes; a grid of 28 x 112 numbers takes 40 KiB with 4 decimals
MAX_PHOTO = 8 * 1024 * 1024  # bytes; a phone's photo, as the camera took it: 2-6 MB (the page sends it smaller)
BODY_LIMITS = {"/api/photo": MAX_PHOTO}  # a route whose body may be larger than MAX_BODY
REQUEST_DEADLINE = 30.0  # seconds for a whole request, however slowly its bytes trickle in
FD_RESERVE = 24  # file descriptors kept free of connections: the CSV, the model, a save's temporary file...
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b'Content-Length: 72\r\n\r\n{"error": "the server is busy: too many connections at once; try again"}')
SERVER = {  # waitress's settings (waitress.adjustments)
    "max_request_body_size": MAX_BODY,
    "max_request_header_size": 16 * 1024,
    "channel_timeout": 15,  # seconds a connection may sit idle between requests
    "cleanup_interval": 1,  # how often idle and late connections are looked for
    "connection_limit": 400,  # open at once; more get 503 (_Server)
    "threads": 64,  # requests answered at once: with fewer than the clients, each waits a turn of the loop more
    "asyncore_use_poll": True,  # no select(): its 1024-descriptor ceiling would cap connections
    "ident": "nn-digits",
    "clear_untrusted_proxy_headers": False,  # nothing here reads X-Forwarded-*: no need to strip it
    "expose_tracebacks": False,
}


# waitress reports a few things through logging (a client that vanished mid-answer, its queue
# growing under load): not news for the person at the terminal. Errors stay: one line each.
logging.getLogger("waitress").setLevel(logging.ERROR)


# -- the server -----------------------------------------------------------------------------------

class _TimedParser(HTTPRequestParser):
    """waitress's request parser, noting when the request's first bytes came (for the deadline),
    and letting a photo be larger than other bodies: its limit is the path's (BODY_LIMITS), which
    the parser checks against the Content-Length as soon as the headers are in."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.time()

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        limit = BODY_LIMITS.get(self.path)
        if limit is not None:
            self.adj = copy.copy(self.adj)
            self.adj.max_request_body_size = limit


class _Channel(HTTPChannel):
    parser_class = _TimedParser

    def writable(self) -> bool:
        """Not while a task is answering: the task sends its answer itself, holding the channel's
        lock, and waitress's loop, polling the socket meanwhile, found it writable, failed to take
        the lock and polled again, a spin that held Python's lock the task needed to finish (0.7
        of a core and 5 times fewer answers with 40 clients, measured). The task wakes the loop
        when it is done, and anything left unsent is sent then; an answer past the high-water
        mark, which the task waits for the loop to send, is polled as before."""
        if self.requests and not self.will_close and self.total_outbufs_len <= self.adj.outbuf_high_watermark:
            return False
        return super().writable()


class _Server(TcpWSGIServer):
    """waitress, with the two limits it has no setting for (see the module's docstring)."""

    channel_class = _Channel

    def readable(self) -> bool:
        super().readable()  # waitress's own housekeeping: idle connections closed
        return self.accepting  # past the limit too: a client there is refused at once

    def handle_accept(self) -> None:
        if len(self.active_channels) < self.adj.connection_limit:
            return super().handle_accept()
        try:
            connection, _ = self.socket.accept()
        except OSError:  # gone already, or out of descriptors: the next turn tries again
            return
        with connection:
            connection.setblocking(False)
            try:
                connection.send(BUSY)
                connection.shutdown(socket.SHUT_WR)
                connection.recv(65536)  # its request, if it came: closing on unread bytes resets
            except OSError:
                pass  # it left, or sent nothing yet: either way, it has been told

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        for channel in list(self.active_channels.values()):
            started = getattr(channel.request, "started", None)
            if started is not None and now - started > REQUEST_DEADLINE:
                channel.will_close = True  # trickling its request for too long: cut off


class Page:
    """The page's server for a session: start() serves it on a thread, stop() ends it."""

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0, classroom: bool = False,
                 **settings):
        host = listen_address(host)
        self.session = session
        self.batcher = Batcher()
        session.forward = self.batcher.probabilities  # drawings that arrive together: one forward pass
        self.loopback_only = is_loopback(host)
        self.access = Access.for_page(self.loopback_only, classroom)
        self.app = create_app(session, self.loopback_only, self.access)
        # Under a low limit of open files (ulimit -n), fewer connections, so that accepting one (if
        # only to refuse it) never fails for want of a descriptor: waitress would retry at once,
        # for ever, and take a whole core doing it.
        limit = max(2, min(SERVER["connection_limit"], descriptors_free() - FD_RESERVE))
        adjustments = waitress.adjustments.Adjustments(
            host=host, port=port, **{**SERVER, "connection_limit": limit, **settings})
        try:
            self.server = _Server(self.app, map={}, adj=adjustments)
        except OSError as e:
            raise _cannot_listen(e, host, port) from None
        self.host, self.port = host, int(self.server.effective_port)
        if CLASS in self.access.tokens:
            self.access.class_link = self.link(CLASS, lan=True)
        self.blas_cores = _blas_cores()  # BLAS's threads as the process started
        self._blas_for_jobs: bool | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def every_address(self) -> bool:
        return self.host in ("0.0.0.0", "::", "")

    @property
    def url(self) -> str:
        host = self.host
        if self.every_address:  # listening everywhere: this machine's own browser uses loopback
            host = "::1" if ":" in host else "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def link(self, role: str = TEACHER, lan: bool = False) -> str:
        """The address to open, with the role's token: on this computer, or (lan) as a phone on
        the same network reaches it."""
        base = self.url
        if lan and self.every_address and (address := lan_address()):
            base = f"http://{address}:{self.port}"
        elif lan and not self.every_address and not self.loopback_only:
            base = f"http://{self.host}:{self.port}" if ":" not in self.host else f"http://[{self.host}]:{self.port}"
        return link(base, self.access.tokens.get(role))

    def start(self) -> "Page":
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="page")
        self._thread.start()
        return self

    def tend(self) -> None:
        """On the main thread, every fraction of a second: BLAS gets one thread while the page
        only guesses (one drawing is a small product, and BLAS's helpers would only spin on the
        cores the other requests need: a third more CPU per request, measured), and every core
        while a network trains or is taught, as train.py has. OpenBLAS takes a raise of its
        thread count only from the main thread (asked from the training thread, it stays at one:
        1.4 times train.py's epoch, measured)."""
        busy = self.session.busy
        if busy != self._blas_for_jobs:
            threadpool_limits(limits=self.blas_cores if busy else 1, user_api="blas")
            self._blas_for_jobs = busy

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening; cancel a teaching or a training and wait (up to `timeout`) for it, for
        a save under way and for the requests in hand; then close every connection."""
        if self._stopped:
            return
        self._stopped = True
        running = self._thread is not None and self._thread.is_alive()

        def on_the_server(action: Callable[[], None]) -> None:  # between two turns of its loop
            if running:
                done = threading.Event()
                self.server.trigger.pull_trigger(lambda: (action(), done.set()))
                done.wait(timeout)
            else:
                action()

        on_the_server(lambda: dispatcher.close(self.server))  # the listening socket only
        self.session.close(timeout)
        self.batcher.close()
        self.session.forward = None
        self.server.task_dispatcher.shutdown(timeout=timeout)

        def close_all() -> None:
            for connection in list(self.server._map.values()):
                if connection in self.server.active_channels.values():
                    connection.handle_close()  # a channel's own close: its socket and its buffers,
                    # which hold an answer of over 1 MB in a temporary file until it is sent
                elif connection is not self.server.trigger:
                    connection.close()
            self.server.trigger.close()  # the map is empty: the loop ends

        if running:
            self.server.trigger.pull_trigger(close_all)
            self._thread.join(timeout)
        else:
            close_all()


def _blas_cores() -> int:
    return max([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] or [1])


def _cannot_listen(e: OSError, host: str, port: int) -> UsageError:
    if e.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} is in use (another program, or draw.py --web already running); "
                          "choose another with --port N, or --port 0 for any free one")
    if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"--host {host}: not an address of this machine ({e.strerror or e})")
    if e.errno == errno.EACCES:
        return UsageError(f"--port {port}: permission denied (ports below 1024 need administrator rights; "
                          "try --port 8028)")
    return UsageError(f"cannot serve on {host}:{port} ({e.strerror or e})")


def lan_address() -> str | None:
    """This machine's address on the local network, as a phone would reach it (no packet is sent:
    connecting a UDP socket only picks the route)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.254.254.254", 1))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def serve(page: Page, announce: Callable[[], None], open_browser: bool) -> int:
    """Say where the page is (`announce`), serve until Ctrl-C, then finish what is under way and
    stop quietly. The socket is already listening, so the page loads as soon as it is announced."""
    page.start()
    try:
        announce()
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(page.link(),), daemon=True).start()  # with its token
        while True:
            page.tend()
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        page.stop()
    return 0


HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def listen_address(host: str) -> str:
    """The address `--host` names, as the IP address the server listens on and its links show
    (a name such as localhost resolved, [::1] without its brackets); UsageError for anything this
    machine cannot listen on, said as a flag's mistake."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    shown = f"--host {host[:60]!r}"
    if name.count(":") == 1 and HOST_NAME.fullmatch(name.split(":")[0]) and name.split(":")[1].isdigit():
        raise UsageError(f"{shown}: give the address alone, and the port with --port")
    if len(name) > 253 or not HOST_NAME.fullmatch(name):
        raise UsageError(f"{shown}: not an address or a host name (e.g. 127.0.0.1, or 0.0.0.0 for every address)")
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:  # socket.gaierror: a name no resolver knows
        raise UsageError(f"{shown}: no such address or host name here ({getattr(e, 'strerror', None) or e})") from None
    return str(found[0][4][0])
