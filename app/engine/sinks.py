"""Event sinks: where the engine's events go.

``QueueSink`` buffers events for a consumer that polls (the desktop app's bridge, a CLI loop);
``CallbackSink`` hands each event to a function; ``TeeSink`` fans out to several; ``ListSink`` keeps
everything, for tests. All are safe to call from several engine threads at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from app.engine.events import Event, EventSink

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class QueueSink:
    """A bounded event buffer; when full the oldest event is dropped and counted."""

    def __init__(self, maxlen: int = 1024) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self._events: deque[Event] = deque()
        self._maxlen = maxlen
        self._cond = threading.Condition(threading.Lock())
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Events thrown away because nobody took them in time."""
        return self._dropped

    def emit(self, event: Event) -> None:
        with self._cond:
            if len(self._events) >= self._maxlen:
                self._events.popleft()
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 100 == 0:
                    log.warning("Event queue full: %d events dropped so far", self._dropped)
            self._events.append(event)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Event | None:
        """The oldest event, waiting up to ``timeout`` seconds for one; None if none came."""
        with self._cond:
            if not self._events and not self._cond.wait_for(lambda: bool(self._events), timeout):
                return None
            return self._events.popleft()

    def drain(self) -> list[Event]:
        """Every buffered event, oldest first, without waiting."""
        with self._cond:
            events = list(self._events)
            self._events.clear()
            return events

    def __len__(self) -> int:
        with self._cond:
            return len(self._events)


class TeeSink:
    """Hands every event to each of several sinks, in order; one failing sink does not starve the rest."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:
                log.exception("Event sink %s failed on %s", type(sink).__name__, type(event).__name__)


class CallbackSink:
    """Calls ``callback(event)`` on the emitting (engine) thread; the callback must be quick."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self._callback = callback

    def emit(self, event: Event) -> None:
        self._callback(event)


class ListSink:
    """Keeps every event in order; ``wait_for`` lets tests wait for an event instead of sleeping."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._cond = threading.Condition(threading.Lock())

    def emit(self, event: Event) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()

    @property
    def events(self) -> list[Event]:
        """A copy of the events so far."""
        with self._cond:
            return list(self._events)

    def of_type(self, kind: type[E]) -> list[E]:
        """The events so far that are instances of ``kind``."""
        with self._cond:
            return [e for e in self._events if isinstance(e, kind)]

    def wait_for(self, kind: type[E], timeout: float, *, count: int = 1) -> list[E]:
        """Wait until ``count`` events of ``kind`` arrived (or ``timeout`` passed); returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self._events if isinstance(e, kind)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._cond.wait(min(remaining, 1.0))

    def clear(self) -> None:
        with self._cond:
            self._events.clear()

    def __len__(self) -> int:
        with self._cond:
            return len(self._events)
