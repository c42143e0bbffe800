"""What a report shows, gathered from the database into plain data (the PDF code does no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection

from app.engine.events import RepDetail
from app.errors import StorageError
from app.programs.commands import ProgramProgress, program_progress
from app.programs.metrics import Record, WeekVolume, form_over_time, personal_records, weekly_volume
from app.storage import queries as q


@dataclass(frozen=True, slots=True)
class ReportSet:
    row: q.SetRow
    reps: list[RepDetail]


@dataclass(slots=True)
class ReportData:
    title: str
    period: str
    workouts: list[q.WorkoutRow]
    detail_workout: q.WorkoutRow | None  # the workout whose sets and reps are shown in full
    sets: list[ReportSet]
    weekly: list[WeekVolume]
    form: dict[str, list[tuple[date, float]]]
    records: list[Record]
    program: ProgramProgress | None = None  # the profile's active program, if it has one


def period_bounds(period: str, today: date) -> tuple[date, date]:
    if period == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = today.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return start, nxt
    raise ValueError(f"unknown period {period!r}")


def gather(
    conn: Connection, *, workout_id: str | None = None, period: str | None = None, today: date | None = None
) -> ReportData:
    """One workout (``workout_id``), the latest (neither given) or a calendar week/month."""
    today = today or date.today()
    if period is not None:
        start, end = period_bounds(period, today)
        workouts = q.workout_history(conn, since=start.isoformat(), until=end.isoformat())
        label = f"{period.title()} {start.isoformat()} to {(end - timedelta(days=1)).isoformat()}"
        detail = workouts[0] if workouts else None
    else:
        wid = workout_id or q.last_workout_id(conn)
        if wid is None:
            raise StorageError(
                "There are no saved workouts yet (save one with `spotter analyze ... --save`)."
            )
        detail = next((w for w in q.workout_history(conn) if w.id == wid), None)
        if detail is None:
            raise StorageError(f"No workout with id {wid}.")
        workouts = [detail]
        label = f"Workout {detail.started_at[:16].replace('T', ' ')} UTC"
        start = date.fromisoformat(detail.started_at[:10])
    sets = [ReportSet(r, q.set_reps(conn, r.id)) for r in q.workout_sets(conn, detail.id)] if detail else []
    history_from = (start - timedelta(weeks=12)).isoformat()
    summaries = q.set_summaries(conn, since=history_from, until=(today + timedelta(days=1)).isoformat())
    records = sorted(personal_records(q.record_candidates(conn)).values(), key=lambda r: (r.exercise, r.kind))
    profile = detail.profile if detail else ""
    return ReportData(
        title=f"Spotter training report{f': {profile}' if profile else ''}",
        period=label,
        workouts=workouts,
        detail_workout=detail,
        sets=sets,
        weekly=weekly_volume(summaries),
        form=form_over_time(summaries),
        records=records,
        program=program_progress(conn, profile, today=today) if profile else None,
    )
