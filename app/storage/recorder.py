"""Recording a workout through the writer: one commit per rep, so a counted rep is a saved rep."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from app.engine.events import Event, RepCounted, RepDetail
from app.programs.metrics import Record, SetSummary, new_records

from . import records as rec
from . import schema as s
from .db import Database
from .localtime import local_day
from .program_link import link_workout
from .queries import best_records

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SetResult:
    set_id: str
    reps: int
    records: tuple[Record, ...]
    hold_s: float | None = None  # seconds held, for a hold (plank)


class WorkoutRecorder:
    """One workout of one profile; ``rep()`` may be called from an engine thread (it only queues).

    The ``*_in(conn, ...)`` steps do the same work inside a transaction the caller already holds
    on the writer thread (``RecordingSink`` runs them there, one job per engine event); the
    blocking methods wrap them in ``writer.call``. Use one style per set, not both.
    """

    def __init__(
        self, db: Database, profile: str, *, source: str = "live", started_at: str | None = None
    ) -> None:
        self._db = db
        self._backdated = started_at  # a workout logged after the fact: its sets share its time
        self.profile_id = db.writer.call(lambda c: rec.profile_id_for(c, profile))
        self.workout_id = db.writer.call(
            lambda c: rec.start_workout(c, self.profile_id, source=source, started_at=started_at)
        )
        self._positions: dict[str, str] = {}
        self._set_counts: dict[str, int] = {}
        self._set_id: str | None = None
        self._set_plan: rec.SetPlan | None = None
        self._pending: list[Future[str]] = []
        self.program_session: int | None = None  # the active program's session this workout did

    def start_set(
        self,
        exercise: str,
        *,
        target_reps: int | None = None,
        load: float | None = None,
        unit: str | None = None,
    ) -> str:
        return self._db.writer.call(
            lambda c: self.start_set_in(c, exercise, target_reps=target_reps, load=load, unit=unit)
        )

    @property
    def set_open(self) -> bool:
        return self._set_id is not None

    @property
    def set_id(self) -> str | None:
        """The open set, if any."""
        return self._set_id

    def start_set_in(
        self,
        conn: Connection,
        exercise: str,
        *,
        target_reps: int | None = None,
        load: float | None = None,
        unit: str | None = None,
        started_at: str | None = None,
    ) -> str:
        if exercise not in self._positions:
            pos = len(self._positions)
            self._positions[exercise] = rec.add_exercise(conn, self.workout_id, exercise, pos)
        self._set_counts[exercise] = self._set_counts.get(exercise, 0) + 1
        plan = rec.SetPlan(
            workout_id=self.workout_id,
            workout_exercise_id=self._positions[exercise],
            profile_id=self.profile_id,
            exercise=exercise,
            position=self._set_counts[exercise] - 1,
            target_reps=target_reps,
            load=load,
            unit=unit if load is not None else None,
            started_at=self._backdated or started_at,
        )
        self._set_plan = plan
        self._set_id = rec.start_set(conn, plan)
        if self.program_session is None:
            self.program_session = link_workout(conn, self.workout_id, self.profile_id, exercise)
        return self._set_id

    def hold(self, exercise: str, seconds: float) -> SetResult:
        return self._db.writer.call(lambda c: self.hold_in(c, exercise, seconds))

    def hold_in(
        self, conn: Connection, exercise: str, seconds: float, *, ended_ago_s: float = 0.0
    ) -> SetResult:
        """Save one hold of a time-based exercise as a set of its own: the time held is its amount.

        ``ended_ago_s``: how long ago (wall time) the hold ended, so a live hold is dated when held.
        """
        if self._set_id is not None:
            self.finish_set_in(conn)
        started = None
        if self._backdated is None:
            end = datetime.now(UTC) - timedelta(seconds=max(0.0, ended_ago_s))
            started = (end - timedelta(seconds=seconds)).isoformat(timespec="microseconds")
        self.start_set_in(conn, exercise, started_at=started)
        assert self._set_id is not None
        rec.record_hold(conn, self._set_id, seconds)
        return self.finish_set_in(conn)

    def rep_in(self, conn: Connection, rep: RepDetail) -> str:
        return rec.record_rep(conn, self._require_set(), rep)

    def event_in(self, conn: Connection, event: Event) -> str:
        return rec.record_event(conn, self.workout_id, event, set_id=self._set_id)

    def rep(self, rep: RepDetail) -> Future[str]:
        """Queue the rep; the future resolves once it is committed."""
        set_id = self._require_set()
        future = self._db.writer.submit(lambda c: rec.record_rep(c, set_id, rep))
        self._pending.append(future)
        return future

    def event(self, event: Event) -> None:
        if isinstance(event, RepCounted):
            self.rep(event.rep)
            return
        self._db.writer.submit(lambda c: rec.record_event(c, self.workout_id, event, set_id=self._set_id))

    def finish_set(self, *, partial_reps: int = 0) -> SetResult:
        self._require_set()
        for f in self._pending:
            f.result(timeout=30)
        self._pending.clear()
        return self._db.writer.call(lambda c: self.finish_set_in(c, partial_reps=partial_reps))

    def finish_set_in(self, conn: Connection, *, partial_reps: int = 0) -> SetResult:
        """Close the open set and store the personal records it set."""
        set_id, plan = self._require_set(), self._set_plan
        assert plan is not None
        rec.finish_set(conn, set_id, partial_reps=partial_reps)
        row = conn.exec_driver_sql(
            "SELECT achieved_reps, clean_reps, started_at, utc_offset_min, hold_s FROM sets WHERE id = ?",
            (set_id,),
        ).one()
        day = local_day(row[2], row[3])
        summary = SetSummary(plan.exercise, day, row[0], row[1], plan.load, plan.unit, row[4])
        found = new_records(best_records(conn, self.profile_id), summary)
        for r in found:
            pr = rec.PersonalRecord(r.exercise, r.kind, r.value, r.unit)
            rec.record_personal_record(conn, self.profile_id, pr, set_id=set_id, achieved_at=row[2])
        self._set_id = self._set_plan = None
        return SetResult(set_id, int(row[0]), tuple(found), row[4])

    def finish(self) -> str:
        if self._set_id is not None:
            self.finish_set()
        self._db.writer.call(self.finish_in)
        return self.workout_id

    def finish_in(self, conn: Connection) -> None:
        """End the workout (closing an open set); an empty workout is tombstoned, not kept."""
        if self._set_id is not None:
            self.finish_set_in(conn)
        rec.finish_workout(conn, self.workout_id)
        if not self._set_counts:
            rec.soft_delete(conn, s.workouts, self.workout_id)

    def _require_set(self) -> str:
        if self._set_id is None:
            raise RuntimeError("start_set() first")
        return self._set_id
