"""A fault-injecting TCP proxy for HTTP/1.1 on loopback (tests only; stdlib only, threads).

It sits between an HTTP client and a real server, reads each request whole (``Content-Length`` or
chunked), and, as a seeded ``random.Random`` decides (the same decisions, in the same order, every
run), passes it on or injects one fault:

- ``drop-mid-request``: part of the request reaches the server, then both connections are closed;
- ``answer-lost``: the server answers, the client gets part of the answer (maybe none), then its
  connection is closed;
- ``delay``: the request waits 50-300 ms before it goes on (other connections proceed meanwhile);
- ``duplicate``: the same request bytes reach the server twice, on two connections at once; the
  client gets one answer (the second copy's);
- ``reorder``: the request is held and the client's connection cut; the client's retry (or any other
  connection's request) passes first, and the held copy reaches the server only after a later
  request was answered (its answer goes nowhere). With HTTP/1.1 keep-alive a connection's requests
  are in order, so this is reordering across connections: late, stale copies of earlier requests.

Every request goes to the server on a connection of its own (a server closing an idle keep-alive
connection can never be mistaken for a fault). ``before_forward``/``after_forward`` hooks let a test
act at a precise point (block a pull, kill the server once a push page is with it).
"""

from __future__ import annotations

import contextlib
import functools
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

KINDS = ("drop-mid-request", "answer-lost", "delay", "duplicate", "reorder")
MAX_LINE = 65536
IO_TIMEOUT_S = 30.0


class IncompleteMessageError(Exception):
    """The peer closed the connection in the middle of a message."""


@dataclass(frozen=True, slots=True)
class Message:
    """One HTTP/1.1 message as it travelled: ``head`` (start line, headers, blank line) and ``body``
    (raw: chunk framing kept)."""

    head: bytes
    body: bytes

    @property
    def raw(self) -> bytes:
        return self.head + self.body

    @property
    def start_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for line in self.head.split(b"\r\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == wanted:
                return value.strip().decode("latin-1")
        return None

    @property
    def closes(self) -> bool:
        """The sender asked for the connection to end after this message."""
        return (self.header("connection") or "").lower() == "close"


def read_message(stream: BinaryIO, *, response_to: str | None = None) -> Message | None:
    """One whole message from ``stream``; None when the peer closed before its first byte.
    ``response_to``: read a response to a request of that method (else a request)."""
    first = stream.readline(MAX_LINE)
    if not first:
        return None
    lines = [first]
    while lines[-1] not in (b"\r\n", b"\n"):
        line = stream.readline(MAX_LINE)
        if not line:
            raise IncompleteMessageError("headers cut off")
        lines.append(line)
    message = Message(b"".join(lines), b"")
    if response_to is not None:
        status = int(first.split()[1])
        if response_to == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return message
    if "chunked" in (message.header("transfer-encoding") or "").lower():
        return Message(message.head, _read_chunked(stream))
    length = message.header("content-length")
    if length is not None:
        return Message(message.head, _read_exactly(stream, int(length)))
    if response_to is not None:  # a response without a length ends with its connection
        return Message(message.head, stream.read())
    return message


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise IncompleteMessageError(f"body cut off at {len(data)} of {size} bytes")
    return data


def _read_chunked(stream: BinaryIO) -> bytes:
    parts = []
    while True:
        size_line = stream.readline(MAX_LINE)
        if not size_line:
            raise IncompleteMessageError("chunk size cut off")
        parts.append(size_line)
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the blank line
                line = stream.readline(MAX_LINE)
                if not line:
                    raise IncompleteMessageError("trailers cut off")
                parts.append(line)
                if line in (b"\r\n", b"\n"):
                    return b"".join(parts)
        parts.append(_read_exactly(stream, size + 2))


@dataclass(frozen=True, slots=True)
class Request:
    """What the hooks are told about a request."""

    number: int  # 1, 2, ... in the order requests reached the proxy
    connection: int  # the client connection it came on
    method: str
    path: str  # without the query
    fault: str | None  # the fault injected on it, if any


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    value: float  # delay in seconds, or the fraction of the message that passes before a cut


Hook = Callable[[Request], None]


class FaultProxy:
    """``FaultProxy(server_port, seed=1, rate=0.4)``: listens on 127.0.0.1 (``url``), forwards to
    127.0.0.1:``server_port``, injects a fault on about ``rate`` of the requests (kinds drawn
    uniformly from ``kinds``). ``rate`` may be changed at any time (0: a clean network); ``injected``
    counts the faults by kind."""

    def __init__(
        self,
        server_port: int,
        *,
        seed: int = 0,
        rate: float = 0.0,
        kinds: tuple[str, ...] = KINDS,
        delay_s: tuple[float, float] = (0.05, 0.3),
    ) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.server = ("127.0.0.1", server_port)
        self.rate = rate
        self.kinds = kinds
        self.delay_s = delay_s
        self.injected: Counter[str] = Counter()
        self.requests = 0  # requests read from clients
        self.late_copies = 0  # held (reordered) copies that reached the server
        self.server_unreachable = 0  # requests the server could not be reached for (not injected)
        self.before_forward: Hook | None = None  # called before a request goes on; may block
        self.after_forward: Hook | None = None  # called once a request is with the server, unanswered
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._held: list[tuple[int, bytes]] = []  # (request number, raw request)
        self._connections = 0
        self._threads: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._spawn(self._accept, "fault-proxy-accept")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def total_injected(self) -> int:
        with self._lock:
            return sum(self.injected.values())

    def figures(self) -> str:
        """``104 (drop-mid-request 23, answer-lost 21, ...)``."""
        with self._lock:
            parts = ", ".join(f"{k} {self.injected[k]}" for k in self.kinds)
            return f"{sum(self.injected.values())} ({parts})"

    def settle(self, timeout: float = 30.0) -> None:
        """Send every held copy now and wait until every late copy was answered."""
        with self._lock:
            held, self._held = self._held, []
        for _number, raw in held:
            self._spawn(functools.partial(self._late_copy, raw), "fault-proxy-late")
        deadline = time.monotonic() + timeout
        for thread in self._live_threads(name="fault-proxy-late"):
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._live_threads():
            thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ internals
    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()

    def _live_threads(self, name: str | None = None) -> list[threading.Thread]:
        me = threading.current_thread()
        with self._lock:
            return [t for t in self._threads if t is not me and t.is_alive() and name in (None, t.name)]

    @contextlib.contextmanager
    def _tracked(self, sock: socket.socket) -> Iterator[socket.socket]:
        with self._lock:
            self._sockets.add(sock)
        try:
            yield sock
        finally:
            with self._lock:
                self._sockets.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections += 1
                number = self._connections
            self._spawn(functools.partial(self._serve, client, number), "fault-proxy-conn")

    def _plan(self) -> tuple[int, _Fault | None]:
        """The next request's number and fault: every draw made here, in request order, so the
        decisions are the seed's whatever the threads' timing."""
        with self._lock:
            self.requests += 1
            number = self.requests
            if self._rng.random() >= self.rate:
                return number, None
            kind = self._rng.choice(self.kinds)
            value = self._rng.uniform(*self.delay_s) if kind == "delay" else self._rng.random()
            return number, _Fault(kind, value)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def _serve(self, client: socket.socket, connection: int) -> None:
        client.settimeout(IO_TIMEOUT_S)
        with self._tracked(client), client.makefile("rb") as reader:
            while not self._closed.is_set():
                try:
                    message = read_message(reader)
                except (IncompleteMessageError, OSError, ValueError):
                    return
                if message is None:
                    return
                number, fault = self._plan()
                method, _, target = message.start_line.partition(" ")
                path = target.split(" ", 1)[0].split("?", 1)[0]
                request = Request(number, connection, method, path, fault.kind if fault else None)
                if self.before_forward is not None:
                    self.before_forward(request)
                try:
                    keep = self._exchange(client, message, request, fault)
                except OSError:  # the client went away
                    return
                if not keep:
                    return

    def _exchange(
        self, client: socket.socket, message: Message, request: Request, fault: _Fault | None
    ) -> bool:
        """Pass one request on (with its fault); whether the client's connection stays open."""
        kind = fault.kind if fault else None
        raw = message.raw
        if fault is not None and kind == "delay":
            self._count("delay")
            time.sleep(fault.value)
        if kind == "reorder":
            with self._lock:
                self._held.append((request.number, raw))
            self._count("reorder")
            return False  # cut without an answer: a later request passes first
        if fault is not None and kind == "drop-mid-request":
            cut = min(len(raw) - 1, max(1, int(len(raw) * fault.value)))
            try:
                with self._tracked(socket.create_connection(self.server, timeout=IO_TIMEOUT_S)) as up:
                    up.sendall(raw[:cut])
            except OSError:
                with self._lock:
                    self.server_unreachable += 1
            self._count("drop-mid-request")
            return False
        copies = 2 if kind == "duplicate" else 1
        try:
            answer = self._forward(raw, request, copies=copies)
        except (OSError, IncompleteMessageError, ValueError):
            with self._lock:
                self.server_unreachable += 1
            return False  # the server is down or died: the client sees its connection closed
        self._release_held(before=request.number)  # this later request was answered: they go on
        if kind == "duplicate":
            self._count("duplicate")
        if fault is not None and kind == "answer-lost":
            client.sendall(answer.raw[: int(len(answer.raw) * fault.value)])
            self._count("answer-lost")
            return False
        client.sendall(answer.raw)
        return not (message.closes or answer.closes)

    def _forward(self, raw: bytes, request: Request, *, copies: int = 1) -> Message:
        """Send ``raw`` to the server ``copies`` times, each on a connection of its own, all before
        any answer is read; the last copy's answer."""
        with contextlib.ExitStack() as stack:
            streams = []
            for _ in range(copies):
                up = stack.enter_context(self._tracked(socket.create_connection(self.server, IO_TIMEOUT_S)))
                up.sendall(raw)
                streams.append(stack.enter_context(up.makefile("rb")))
            if self.after_forward is not None:
                self.after_forward(request)
            answers = [read_message(s, response_to=request.method) for s in streams]
        last = answers[-1]
        if last is None:
            raise IncompleteMessageError("the server closed without answering")
        return last

    def _release_held(self, *, before: int) -> None:
        """Once request ``before`` was answered, the copies held before it go on, late."""
        with self._lock:
            due = [raw for number, raw in self._held if number < before]
            self._held = [(n, raw) for n, raw in self._held if n >= before]
        for raw in due:
            self._spawn(functools.partial(self._late_copy, raw), "fault-proxy-late")

    def _late_copy(self, raw: bytes) -> None:
        method = raw.split(b" ", 1)[0].decode("latin-1")
        try:
            with (
                self._tracked(socket.create_connection(self.server, timeout=IO_TIMEOUT_S)) as up,
                up.makefile("rb") as stream,
            ):
                up.sendall(raw)
                read_message(stream, response_to=method)
        except (OSError, IncompleteMessageError, ValueError):
            with self._lock:
                self.server_unreachable += 1
            return
        with self._lock:
            self.late_copies += 1
