"""What a report shows, gathered from the database into plain data (the PDF code does no I/O).

A report covers one workout (every rep of it) or a calendar week or month of the user's local
days (every workout of it, set by set, with rep means). Charts cover the same span; the weekly
volume and the form trend also show the twelve weeks before it, for context.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection

from app.engine.events import RepDetail
from app.errors import StorageError
from app.programs.metrics import Record, WeekVolume, form_over_time, personal_records, weekly_volume
from app.programs.operations import ProgramProgress, program_progress
from app.storage import queries as q
from app.storage.localtime import local_day
from app.storage.profiles import require_profile

HISTORY = timedelta(weeks=12)
PERIODS = ("week", "month", "year")  # what ``period_bounds`` knows


@dataclass(frozen=True, slots=True)
class ReportSet:
    row: q.SetRow
    reps: list[RepDetail]  # every rep: filled for a one-workout report only
    means: q.RepMeans | None = None  # tempo and ROM averaged over its reps


@dataclass(frozen=True, slots=True)
class ReportWorkout:
    workout: q.WorkoutRow
    sets: list[ReportSet]


@dataclass(frozen=True, slots=True)
class DayPoint:
    """One local day of the period, per exercise: what the period charts plot."""

    day: date
    exercise: str
    sets: int
    reps: int
    eccentric_s: float | None
    pause_s: float | None
    concentric_s: float | None
    rom_deg: float | None


@dataclass(slots=True)
class ReportData:
    title: str
    period: str
    workouts: list[q.WorkoutRow]  # newest first
    details: list[ReportWorkout]  # every workout of the report, oldest first, with its sets
    weekly: list[WeekVolume]
    form: dict[str, list[tuple[date, float]]]
    records: list[Record]
    program: ProgramProgress | None = None  # the profile's active program, if it has one
    span: tuple[date, date] | None = None  # a period report's local days [start, end)
    days: list[DayPoint] = field(default_factory=list)  # per day and exercise, for period charts

    @property
    def sets(self) -> list[ReportSet]:
        return [s for d in self.details for s in d.sets]

    @property
    def detail_workout(self) -> q.WorkoutRow | None:
        """The workout of a one-workout report (None for a period)."""
        return self.details[0].workout if self.span is None and self.details else None


def period_bounds(period: str, today: date) -> tuple[date, date]:
    if period == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = today.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return start, nxt
    if period == "year":
        start = today.replace(month=1, day=1)
        return start, start.replace(year=start.year + 1)
    raise ValueError(f"unknown period {period!r}")


def gather(
    conn: Connection,
    *,
    workout_id: str | None = None,
    period: str | None = None,
    today: date | None = None,
    profile: str | None = None,
) -> ReportData:
    """One workout (``workout_id``), the latest (neither given) or a calendar week/month of local
    days (``today``: the local date, default now); ``profile`` narrows a period to one person."""
    today = today or date.today()
    pid = require_profile(conn, profile) if profile else None
    span: tuple[date, date] | None = None
    if period is not None:
        span = start, end = period_bounds(period, today)
        workouts = q.workout_history(conn, profile_id=pid, since=start.isoformat(), until=end.isoformat())
        label = _period_label(period, start, end)
    else:
        wid = workout_id or q.last_workout_id(conn, profile_id=pid)
        if wid is None:
            raise StorageError(
                "There are no saved workouts yet (save one with `spotter analyze ... --save`)."
            )
        workouts = q.workout_history(conn, workout_id=wid)
        if not workouts:
            raise StorageError(f"No workout with id {wid}.")
        start = end = local_day(workouts[0].started_at, workouts[0].utc_offset_min)
        end += timedelta(days=1)
        label = f"Workout of {workouts[0].local_start:%A %d %B %Y, %H:%M} (local time)"
    details = _details(conn, workouts, with_reps=span is None)
    profiles = sorted({w.profile for w in workouts})
    if pid is None and len(profiles) == 1:
        pid = require_profile(conn, profiles[0])
    summaries = q.set_summaries(
        conn, profile_id=pid, since=(start - HISTORY).isoformat(), until=max(end, today).isoformat()
    )
    one = len(profiles) == 1 or profile is not None
    records = personal_records(q.record_candidates(conn, profile_id=pid)).values() if one else []
    who = profile or ", ".join(profiles[:4]) + (f" and {len(profiles) - 4} more" if len(profiles) > 4 else "")
    return ReportData(
        title=f"Spotter training report{f': {who}' if who else ''}",
        period=label,
        workouts=workouts,
        details=details,
        weekly=weekly_volume(summaries),
        form=form_over_time(s for s in summaries if span is None or start <= s.day < end),
        records=sorted(records, key=lambda r: (r.exercise, r.kind)),
        program=program_progress(conn, profiles[0], today=today) if one and profiles else None,
        span=span,
        days=_day_points(details) if span is not None else [],
    )


def _period_label(period: str, start: date, end: date) -> str:
    last = end - timedelta(days=1)
    if period == "month":
        return f"{start:%B %Y}: {start:%d %b} to {last:%d %b %Y} (local days)"
    if period == "year":
        return f"The year {start:%Y}: {start:%d %b} to {last:%d %b %Y} (local days)"
    return f"Week of {start:%A %d %B %Y}: {start:%d %b} to {last:%d %b %Y} (local days)"


def _details(conn: Connection, workouts: list[q.WorkoutRow], *, with_reps: bool) -> list[ReportWorkout]:
    rows = {w.id: q.workout_sets(conn, w.id) for w in workouts}
    means = q.set_rep_means(conn, [s.id for sets in rows.values() for s in sets])
    out = []
    for w in reversed(workouts):  # oldest first, as a log reads
        sets = [
            ReportSet(s, q.set_reps(conn, s.id) if with_reps else [], means.get(s.id)) for s in rows[w.id]
        ]
        out.append(ReportWorkout(w, sets))
    return out


def _day_points(details: list[ReportWorkout]) -> list[DayPoint]:
    """Per local day and exercise: sets, reps, and rep-weighted mean tempo and ROM."""
    acc: dict[tuple[date, str], list[ReportSet]] = defaultdict(list)
    for d in details:
        day = local_day(d.workout.started_at, d.workout.utc_offset_min)
        for s in d.sets:
            if s.row.hold_s is None:
                acc[day, s.row.exercise].append(s)
    return [
        DayPoint(
            day, ex, len(sets), sum(s.row.achieved_reps for s in sets),
            _weighted(sets, "eccentric_s"), _weighted(sets, "pause_s"), _weighted(sets, "concentric_s"),
            _weighted(sets, "rom_deg"),
        )
        for (day, ex), sets in sorted(acc.items())
    ]  # fmt: skip


def _weighted(sets: list[ReportSet], name: str) -> float | None:
    pairs = [
        (getattr(s.means, name), s.row.achieved_reps)
        for s in sets
        if s.means is not None and getattr(s.means, name) is not None and s.row.achieved_reps
    ]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None
