"""Saving a live workout as it happens: an ``EventSink`` that hands each event to the writer.

``RecordingSink.emit`` runs on the engine's inference thread, so it never waits: it queues one job
per event on the ``DatabaseWriter`` (without blocking, even on a full queue) and returns. On the
writer thread each job drives a ``WorkoutRecorder`` inside its own transaction, so every counted
rep is committed on its own, about a millisecond after it was counted, and survives a kill of the
process. A hold of a timed exercise (plank) is saved, when it ends, as a set of its own whose
``hold_s`` is the time held. The coach's lines (``CueSpoken``) are kept as cues and voice commands
as events; "log twenty kilos" sets the load of the open set and the next ones, "next set" closes the
open set. A failed save is logged and counted, never raised into the engine.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from pathlib import Path

from sqlalchemy import Connection

from app.engine.events import (
    EngineFailed,
    Event,
    EventSink,
    FormFault,
    HoldEnded,
    PartialRep,
    RepCounted,
    SetFinished,
    SetStarted,
    StreamEnded,
)
from app.errors import StorageError
from app.voice.control import VoiceCommand
from app.voice.cues import CueSpoken

from . import records as rec
from .db import Database, open_database
from .recorder import SetResult, WorkoutRecorder

log = logging.getLogger(__name__)

STORED = (
    SetStarted,
    RepCounted,
    FormFault,
    PartialRep,
    SetFinished,
    HoldEnded,
    StreamEnded,
    EngineFailed,
    CueSpoken,
    VoiceCommand,
)


class RecordingSink:
    """Records one live workout; forwards every event to ``downstream`` (the display) as well."""

    def __init__(
        self,
        recorder: WorkoutRecorder,
        db: Database,
        *,
        load: float | None = None,
        unit: str | None = None,
        downstream: EventSink | None = None,
        owns_db: bool = True,
        target_reps: int | None = None,
    ) -> None:
        self._recorder, self._db = recorder, db
        self._owns_db = owns_db  # False: the caller's database (the app's) stays open after close()
        self._load, self._unit = load, unit if load is not None else None
        self._target = target_reps  # the planned reps of the sets to come
        self._downstream = downstream
        self._lock = threading.Lock()
        self._failed = 0
        self._ended = False  # writer thread only
        self.saved_reps = 0  # writer thread only; read after close()
        self.sets: list[SetResult] = []

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None,
        profile: str,
        *,
        load: float | None = None,
        unit: str | None = None,
        downstream: EventSink | None = None,
    ) -> RecordingSink:
        """Open the database and start a live workout for ``profile``; ``close()`` ends both."""
        db = open_database(data_dir)
        try:
            recorder = WorkoutRecorder(db, profile, source="live")
        except Exception:
            db.close()
            raise
        return cls(recorder, db, load=load, unit=unit, downstream=downstream)

    @property
    def workout_id(self) -> str:
        return self._recorder.workout_id

    @property
    def failed(self) -> int:
        """Events that could not be saved."""
        with self._lock:
            return self._failed

    def emit(self, event: Event) -> None:
        if isinstance(event, STORED):
            try:
                future = self._db.writer.submit(lambda c: self._apply(c, event), timeout=0.0)
            except StorageError as exc:
                self._lost(event, exc)
            else:
                future.add_done_callback(lambda f: self._check(f, event))
        if self._downstream is not None:
            self._downstream.emit(event)

    def next_sets(self, load: float | None, unit: str | None, target_reps: int | None) -> None:
        """The load and target of the sets that start from now on (the next exercise of a session);
        unlike "log twenty kilos", the open set keeps its own. Queued behind the events already emitted."""

        def apply(_c: Connection) -> None:
            self._load, self._unit = load, unit if load is not None else None
            self._target = target_reps

        try:
            self._db.writer.submit(apply, timeout=0.0)
        except StorageError as exc:
            log.error("Could not set the next load: %s", exc)

    def close(self, *, timeout: float = 10.0) -> str:
        """End the workout (after every queued event), close the database if it owns it; a summary line."""
        try:
            self._db.writer.call(self._end, timeout=timeout)
        finally:
            if self._owns_db:
                self._db.close()
        lost = f", {self.failed} events NOT saved (see the log)" if self.failed else ""
        holds = [r.hold_s for r in self.sets if r.hold_s is not None]
        held = f" and {len(holds)} holds ({sum(holds):.0f} s)" if holds else ""
        return (
            f"saved {self.saved_reps} reps{held} in {len(self.sets)} set{'' if len(self.sets) == 1 else 's'} "
            f"(workout {self.workout_id}){lost}"
        )

    # ------------------------------------------------------------------- writer thread
    def _apply(self, c: Connection, event: Event) -> None:
        r = self._recorder
        if self._ended:
            return
        if isinstance(event, SetStarted | RepCounted) and not r.set_open:
            r.start_set_in(c, event.exercise, target_reps=self._target, load=self._load, unit=self._unit)
        if isinstance(event, RepCounted):
            r.rep_in(c, event.rep)
            self.saved_reps += 1
        elif isinstance(event, SetFinished):
            r.event_in(c, event)
            if r.set_open:
                self.sets.append(r.finish_set_in(c, partial_reps=event.partial_reps))
        elif isinstance(event, HoldEnded):  # a hold is a set of its own: the time held is its amount
            if r.set_open:
                self.sets.append(r.finish_set_in(c))
            ago = max(0.0, event.t - event.end_s)
            held = r.hold_in(c, event.exercise, event.end_s - event.start_s, ended_ago_s=ago)
            self.sets.append(held)
            rec.record_event(c, r.workout_id, event, set_id=held.set_id)
        elif isinstance(event, CueSpoken):
            fault = event.kind if event.kind in {"form", "safety"} else None  # a correction, not a count
            rec.record_cue(c, r.workout_id, event.text, t=event.t, fault=fault, set_id=r.set_id)
        elif isinstance(event, VoiceCommand):
            r.event_in(c, event)
            self._command(c, event)
        elif isinstance(event, StreamEnded | EngineFailed):
            if isinstance(event, EngineFailed):
                r.event_in(c, event)
            self._end(c)
        elif not isinstance(event, SetStarted):
            r.event_in(c, event)

    def _command(self, c: Connection, command: VoiceCommand) -> None:
        r = self._recorder
        if command.intent == "log_weight":
            value, unit = command.slots.get("value"), command.slots.get("unit")
            if isinstance(value, int | float) and unit in {"kg", "lb"}:
                self._load, self._unit = float(value), str(unit)
                if r.set_id is not None:
                    rec.set_load(c, r.set_id, self._load, self._unit)
        elif command.intent == "next_set" and r.set_open:
            self.sets.append(r.finish_set_in(c))

    def _end(self, c: Connection) -> None:
        if not self._ended:
            self._ended = True
            if self._recorder.set_open:
                self.sets.append(self._recorder.finish_set_in(c))
            self._recorder.finish_in(c)

    # ------------------------------------------------------------------- failures
    def _check(self, future: Future[None], event: Event) -> None:
        exc = future.exception()
        if exc is not None:
            self._lost(event, exc)

    def _lost(self, event: Event, exc: BaseException) -> None:
        with self._lock:
            self._failed += 1
            first = self._failed == 1
        if first or isinstance(event, RepCounted):
            log.error("Could not save %s at %.2f s: %s", type(event).__name__, event.t, exc)
