"""A single-item, thread-safe hand-over slot between two threads: the newest item wins.

In the default (latest-wins) mode ``put`` never waits: an item nobody has taken yet is replaced
and counted in ``dropped``. That is what a live camera wants: inference always works on the newest
frame, and slow inference shows up as a drop count instead of a growing queue.

In ``blocking`` mode ``put`` waits (up to its timeout) until the previous item was taken, so no item
is ever dropped: that is back-pressure for offline runs over a file, where every frame counts.

``close`` ends the hand-over: later puts are refused, waiting threads wake up, and ``get`` still
returns an item that was put before the close (so the last frame of a file is not lost), then None.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item; see the module docstring for the two modes."""

    def __init__(self, *, blocking: bool = False) -> None:
        self._blocking = blocking
        self._cond = threading.Condition(threading.Lock())
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._dropped = 0
        self._delivered = 0
        self._put = 0

    @property
    def blocking(self) -> bool:
        return self._blocking

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> int:
        """Items replaced before anybody took them (always 0 in blocking mode)."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """Items handed out by ``get``."""
        return self._delivered

    @property
    def accepted(self) -> int:
        """Items accepted by ``put``."""
        return self._put

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Offer ``item``; True if it was stored.

        Latest-wins mode stores at once (replacing and counting an unconsumed item). Blocking mode
        waits up to ``timeout`` seconds (None: until taken or closed) for the slot to be free and
        returns False if it was not, so the caller can check its stop flag and try again. A closed
        slot refuses every item.
        """
        with self._cond:
            if self._blocking and self._full and not self._closed:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._full and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            if self._closed:
                return False
            if self._full:
                self._dropped += 1
            self._item = item
            self._full = True
            self._put += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to ``timeout`` seconds; None on timeout or when closed
        and empty."""
        with self._cond:
            if not self._full and not self._closed:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not self._full and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return None
                    self._cond.wait(remaining)
            if not self._full:
                return None
            item = self._item
            self._item = None
            self._full = False
            self._delivered += 1
            self._cond.notify_all()
            return item

    def peek(self) -> T | None:
        """The item waiting in the slot, without taking it (None if empty)."""
        with self._cond:
            return self._item if self._full else None

    def close(self) -> None:
        """Refuse further puts and wake every waiting thread. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return 1 if self._full else 0
