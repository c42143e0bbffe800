"""Sync in the background: on a schedule, on request and after each workout, on one named thread.

``BackgroundSync`` runs ``sync_now`` on its own thread (``sync``), never two at once: a request
during a sync queues exactly one more. After a failure the next try waits longer (exponential, with
jitter, capped); a success goes back to the schedule. Each change of state is published as a frozen
``SyncStatus`` to the subscribers (called on the sync thread: a GUI hands it to its own thread).
A device that is not enrolled is never synced; its status says "not set up".

Stopping: no request starts after ``stop`` (an httpx request hook refuses it, a retry's pause ends
at once), so a sync in flight ends at its current request; what it did by then is kept and the next
sync goes on from there (the protocol is resumable). Qt-free, like the rest of ``app.sync``.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SpotterError, StorageError, SyncError
from app.storage.db import Database

from .http import TIMEOUT, Retry, ServerRefusedError
from .run import pending_rows, sync_now
from .state import SyncState, load_state

log = logging.getLogger(__name__)

POLL_S = 1.0  # the thread's longest wait: it sees a stop within this


class SyncSchedule(BaseModel):
    """When the background sync runs and how it backs off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval_s: float = Field(15 * 60, gt=0)  # between syncs that went well
    jitter: float = Field(0.1, ge=0, lt=1)  # each interval is stretched or shrunk by up to this share
    first_delay_s: float = Field(10.0, ge=0)  # after start: the app settles first
    backoff_base_s: float = Field(30.0, gt=0)  # after the first failure
    backoff_cap_s: float = Field(30 * 60, gt=0)  # the longest wait after failures
    attempts: int = Field(3, ge=1)  # tries of each request within one sync (``Retry``)
    retry_base_s: float = Field(0.5, gt=0)
    stop_wait_s: float = Field(5.0, ge=0)  # how long ``stop`` waits for a sync in flight


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Where the background sync stands (a snapshot; a new one is published on every change)."""

    enrolled: bool
    server: str | None = None
    gym: str | None = None
    syncing: bool = False
    progress: str | None = None  # what the sync in flight is doing ("pushed 500/1200")
    pending: int | None = None  # local rows not yet on the server (None: unknown)
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None  # in plain words; None once a sync went well
    failures: int = 0  # failed syncs in a row
    next_sync_at: datetime | None = None
    next_delay_s: float | None = None  # the wait chosen after the last sync (backoff after failures)


NOT_STARTED = SyncStatus(enrolled=False)


class _StoppedError(SyncError):
    """The service stopped while a sync was in flight."""


def backoff_delay(failures: int, schedule: SyncSchedule, rng: random.Random) -> float:
    """The wait after ``failures`` failed syncs in a row: base * 2^(failures-1), capped, times a
    random share in [0.5, 1] (so devices that failed together do not retry together)."""
    ceiling = min(schedule.backoff_cap_s, schedule.backoff_base_s * 2.0 ** max(0, failures - 1))
    return ceiling * rng.uniform(0.5, 1.0)


def interval_delay(schedule: SyncSchedule, rng: random.Random) -> float:
    """The wait after a sync that went well: the interval, give or take ``jitter``."""
    return schedule.interval_s * rng.uniform(1 - schedule.jitter, 1 + schedule.jitter)


def plain_error(exc: BaseException) -> str:
    """What went wrong, for a gym member (the log keeps the details)."""
    if isinstance(exc, ServerRefusedError) and exc.status == 401:
        return "The sync server no longer knows this device. Ask staff to set up sync again."
    if isinstance(exc, ServerRefusedError):
        return f"The sync server said no: {exc}"
    if isinstance(exc, SyncError) and "could not be reached" in str(exc):
        return "Could not reach the sync server. Check the network; your workouts are safe on this device."
    if isinstance(exc, SpotterError):
        return str(exc)
    return f"Sync failed unexpectedly ({type(exc).__name__}). The log has the details."


Listener = Callable[[SyncStatus], None]


class BackgroundSync:
    """The app's background sync: ``start``, ``request`` ("sync now"), ``workout_finished``,
    ``refresh`` (the status again, no sync), ``stop``; ``subscribe`` for each new ``SyncStatus``."""

    def __init__(
        self,
        db: Database,
        data_dir: Path,
        *,
        schedule: SyncSchedule | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db, self.data_dir = db, data_dir
        self.schedule = schedule or SyncSchedule()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._wanted = False  # a sync was asked for (one, however many times it was asked)
        self._refresh = True  # the status should be read again (no sync)
        self._due = time.monotonic() + self.schedule.first_delay_s
        self._status = NOT_STARTED
        self._listeners: list[Listener] = []
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)

    # ------------------------------------------------------------------ the app's side
    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def request(self) -> None:
        """Sync as soon as possible (after the one in flight, if any); never blocks."""
        self._poke(sync=True)

    def workout_finished(self) -> None:
        """A workout was saved: send it now."""
        self._poke(sync=True)

    def refresh(self) -> None:
        """Publish the status again (the rows waiting may have changed); no sync."""
        self._poke(sync=False)

    def stop(self) -> None:
        """No new sync or request; waits up to ``stop_wait_s`` for the one in flight to end."""
        with self._lock:
            self._listeners.clear()  # nobody hears from a stopped service (its window may be gone)
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.schedule.stop_wait_s)
            if self._thread.is_alive():
                log.warning("sync still in flight at exit; it is abandoned (the next sync resumes it)")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _poke(self, *, sync: bool) -> None:
        with self._lock:
            self._wanted = self._wanted or sync
            self._refresh = True
            self._wake.set()

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        client = httpx.Client(
            timeout=TIMEOUT, trust_env=True, follow_redirects=False,
            event_hooks={"request": [self._refuse_when_stopped]},
        )  # fmt: skip
        try:
            while not self._stop.is_set():
                try:
                    self._step(client)
                except Exception:  # the thread's top loop: never dies of one bad sync
                    log.exception("background sync step failed")
                    self._stop.wait(POLL_S)
        finally:
            client.close()

    def _step(self, client: httpx.Client) -> None:
        """Wait (at most ``POLL_S``) for a request or the due time; then sync, or only refresh."""
        self._wake.wait(min(POLL_S, max(0.0, self._due - time.monotonic())))
        with self._lock:
            wanted, refresh = self._wanted, self._refresh
            self._wanted = self._refresh = False
            self._wake.clear()
        if self._stop.is_set():
            return
        if wanted or time.monotonic() >= self._due:
            self._sync(client)
        elif refresh:
            self._publish(self._read())

    def _read(self) -> SyncStatus:
        """The status as the state file and the database say it now (keeps the service's own parts)."""
        with self._lock:
            last = self._status
        try:
            state = load_state(self.data_dir)
        except SyncError as exc:
            return replace(NOT_STARTED, last_error=str(exc))
        if state is None:
            return NOT_STARTED
        return replace(
            last, enrolled=True, server=state.server, gym=state.gym,
            last_success=_parse_time(state.last_sync_at), pending=self._pending(state),
        )  # fmt: skip

    def _pending(self, state: SyncState) -> int | None:
        try:
            return pending_rows(self.db, state)
        except (StorageError, SQLAlchemyError) as exc:
            log.info("cannot count the rows waiting: %s", exc)
            return None

    def _sync(self, client: httpx.Client) -> None:
        before = self._read()
        if not before.enrolled:
            self._schedule(before, interval_delay(self.schedule, self._rng))
            return
        started = datetime.now(UTC)
        self._publish(replace(before, syncing=True, progress=None, last_attempt=started))
        retry = Retry(attempts=self.schedule.attempts, base_s=self.schedule.retry_base_s, sleep=self._pause)
        try:
            report = sync_now(self.db, self.data_dir, client=client, progress=self._progress, retry=retry)
        except _StoppedError:
            log.info("background sync stopped mid-way; the next sync resumes it")
            return
        except Exception as exc:  # any failure is reported and backed off from; the log keeps it
            log.warning("background sync failed: %s", exc, exc_info=not isinstance(exc, SpotterError))
            failures = before.failures + 1
            after = replace(self._read(), syncing=False, progress=None, last_error=plain_error(exc))
            delay = backoff_delay(failures, self.schedule, self._rng)
            self._schedule(replace(after, failures=failures), delay)
            return
        log.info("background sync: %s", report.describe())
        after = replace(self._read(), syncing=False, progress=None, last_error=None, failures=0)
        self._schedule(after, interval_delay(self.schedule, self._rng))

    def _schedule(self, status: SyncStatus, delay: float) -> None:
        self._due = time.monotonic() + delay
        when = datetime.now(UTC) + timedelta(seconds=delay)
        self._publish(replace(status, next_sync_at=when, next_delay_s=delay))

    def _progress(self, line: str) -> None:
        with self._lock:
            status = self._status
        self._publish(replace(status, progress=line))

    def _pause(self, seconds: float) -> None:
        """A retry's wait inside one sync; ends the sync at once when the service stops."""
        if self._stop.wait(seconds):
            raise _StoppedError("Sync stopped: the app is closing.")

    def _refuse_when_stopped(self, request: httpx.Request) -> None:
        if self._stop.is_set():
            raise _StoppedError("Sync stopped: the app is closing.")

    def _publish(self, status: SyncStatus) -> None:
        with self._lock:
            self._status = status
            listeners = list(self._listeners)
        for listener in listeners:
            listener(status)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- words
def ago(when: datetime, now: datetime) -> str:
    """How long ago, in words: just now, 5 min ago, 3 h ago, yesterday, 4 days ago."""
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return "yesterday" if days == 1 else f"{days} days ago"


def within(seconds: float) -> str:
    """How soon, in words: in a moment, in 40 s, in 4 min, in 2 h."""
    if seconds < 5:
        return "in a moment"
    if seconds < 90:
        return f"in {int(seconds)} s"
    if seconds < 5400:
        return f"in {round(seconds / 60)} min"
    return f"in {round(seconds / 3600)} h"


def waiting_text(pending: int | None) -> str:
    if pending is None:
        return "Changes waiting: unknown"
    if pending == 0:
        return "Everything is sent"
    return f"{pending} change{'s' if pending != 1 else ''} waiting to be sent"


_PROGRESS = (
    (re.compile(r"pushing (\d+) changed rows"), "sending {0} changes"),
    (re.compile(r"pushed (\d+)/(\d+)"), "sent {0} of {1} changes"),
    (re.compile(r"pulled (\d+) rows"), "received {0} changes"),
    (re.compile(r"checksums differ"), "checking everything again"),
)


def plain_progress(line: str) -> str:
    """A sync's progress line (``sync_now``'s, for a terminal) in a member's words."""
    for pattern, words in _PROGRESS:
        if m := pattern.match(line):
            return words.format(*m.groups())
    return line


def headline(status: SyncStatus, now: datetime) -> str:
    """One line for a member: what the sync is doing or last did."""
    if not status.enrolled:
        return "Not set up: workouts stay on this device"
    if status.syncing:
        return f"Syncing now: {plain_progress(status.progress)}…" if status.progress else "Syncing now…"
    if status.last_error is not None:
        return "Last try failed" + (f" {ago(status.last_attempt, now)}" if status.last_attempt else "")
    if status.last_success is None:
        return "Not synced yet"
    return f"Last synced {ago(status.last_success, now)}"


def indicator(status: SyncStatus, now: datetime) -> str:
    """A few words for a status bar."""
    if not status.enrolled:
        return "Sync: not set up"
    if status.syncing:
        return "Sync: syncing…"
    if status.last_error is not None:
        waiting = f", {status.pending} waiting" if status.pending else ""
        return f"Sync: failed{waiting}"
    if status.last_success is None:
        return "Sync: not synced yet"
    return f"Sync: {ago(status.last_success, now)}"


def next_try_text(status: SyncStatus, now: datetime) -> str:
    """When the next sync runs ("" when none is planned or one is running)."""
    if status.syncing or status.next_sync_at is None or not status.enrolled:
        return ""
    word = "Next try" if status.last_error is not None else "Next sync"
    return f"{word} {within(max(0.0, (status.next_sync_at - now).total_seconds()))}"
