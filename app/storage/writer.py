"""The one thread that writes to the database.

``DatabaseWriter`` owns one connection and runs submitted functions one after another, each in
its own transaction: a function that returns has been committed (in the WAL, safe from a crash
of the process) before its future resolves. The queue is bounded; every
blocking call has a timeout of one second or less, and the loop watches one stop event.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from app.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_S = 0.25
PUT_TIMEOUT_S = 1.0


@dataclass(slots=True)
class _Job:
    fn: Callable[[Connection], Any]
    future: Future[Any]


class DatabaseWriter:
    """A named thread owning the only writing connection; ``submit(fn)`` returns a ``Future``."""

    def __init__(self, engine: Engine, *, max_queue: int = 1024, name: str = "db-writer") -> None:
        self._engine = engine
        self._queue: queue.Queue[_Job] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def submit(self, fn: Callable[[Connection], T], *, timeout: float = PUT_TIMEOUT_S) -> Future[T]:
        """Queue ``fn(connection)`` to run in its own transaction on the writer thread.

        Waits up to ``timeout`` seconds for room in the queue (0: never waits, for engine threads).
        """
        if not self.running:
            raise StorageError("The database writer is not running; nothing can be saved.")
        future: Future[T] = Future()
        try:
            self._queue.put(_Job(fn, future), block=timeout > 0, timeout=timeout if timeout > 0 else None)
        except queue.Full:
            raise StorageError(
                "The database writer is not keeping up (queue full); the disk may be very slow."
            ) from None
        return future

    def call(self, fn: Callable[[Connection], T], *, timeout: float = 30.0) -> T:
        """Submit and wait for the result (re-raises what ``fn`` raised)."""
        return self.submit(fn).result(timeout=timeout)

    def stop(self, *, drain: bool = True, timeout: float = 5.0) -> None:
        """Finish the queued jobs (unless ``drain`` is false), then end the thread."""
        if not self._started:
            return
        if drain:
            self._drain_wait(timeout)
        self._stop.set()
        self._thread.join(timeout=timeout)
        self._fail_pending()

    def _drain_wait(self, timeout: float) -> None:
        done = threading.Event()
        try:
            self._queue.put(_Job(lambda _c: done.set(), Future()), timeout=PUT_TIMEOUT_S)
        except queue.Full:
            return
        done.wait(timeout)

    def _fail_pending(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            job.future.set_exception(StorageError("The database writer stopped before this was saved."))

    def _run(self) -> None:
        try:
            with self._engine.connect() as conn:
                while not self._stop.is_set():
                    try:
                        job = self._queue.get(timeout=POLL_S)
                    except queue.Empty:
                        continue
                    self._step(conn, job)
        except Exception:  # the thread's top loop: log and fail whatever is left
            log.exception("database writer failed")
        finally:
            self._stop.set()
            self._fail_pending()

    @staticmethod
    def _step(conn: Connection, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            with conn.begin():
                result = job.fn(conn)
        except SQLAlchemyError as exc:
            job.future.set_exception(StorageError(f"Could not save to the database: {_reason(exc)}"))
        except BaseException as exc:  # handed to the caller through the future
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    if "full" in text.lower():
        return f"{text} (the disk or the database's size limit is full; free some space)"
    if "locked" in text.lower() or "busy" in text.lower():
        return f"{text} (another program is writing to the database; close it and retry)"
    if "readonly" in text.lower() or "read-only" in text.lower():
        return f"{text} (the database file or its folder is read-only)"
    return text
