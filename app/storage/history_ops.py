"""Reads behind the History screen (Qt-free; any front end may call them).

``member_history`` gathers one profile's (or everyone's) workouts, training days, streak, personal
records and per-workout, per-exercise points (reps, volume, tempo, range of motion);
``progress_series`` turns those points into chart series per workout or per week.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text

from app.programs.metrics import Record, Streak, personal_records, streak, week_start

from . import queries as q
from .db import Database
from .localtime import local_day
from .profiles import require_profile

PER = ("workout", "week")


# ------------------------------------------------------------------------------------ history
@dataclass(frozen=True, slots=True)
class ExercisePoint:
    """One exercise within one workout: what the progress charts plot."""

    workout_id: str
    day: date  # local day
    exercise: str
    sets: int
    reps: int
    volume_kg: float
    timed_reps: int  # reps with a tempo (the weight of the means below)
    eccentric_s: float | None
    pause_s: float | None
    concentric_s: float | None
    rom_reps: int  # reps with an angle range of motion
    rom_deg: float | None


@dataclass(frozen=True, slots=True)
class History:
    profile: str | None  # None: everyone on this device
    today: date
    workouts: tuple[q.WorkoutRow, ...]  # newest first
    days: tuple[date, ...]  # local days with a workout, oldest first
    streak: Streak
    records: tuple[Record, ...]  # by exercise, then kind
    points: tuple[ExercisePoint, ...]  # oldest first

    @property
    def exercises(self) -> tuple[str, ...]:
        return tuple(sorted({p.exercise for p in self.points}))

    def on_day(self, day: date) -> tuple[q.WorkoutRow, ...]:
        """The workouts of one local day, earliest first."""
        return tuple(w for w in reversed(self.workouts) if local_day(w.started_at, w.utc_offset_min) == day)


_POINTS_SQL = f"""
    SELECT s.workout_id, s.exercise, COUNT(*), SUM(s.achieved_reps), SUM({q.VOLUME_KG})
    FROM sets s JOIN workouts w ON w.id = s.workout_id AND w.deleted_at IS NULL
    WHERE s.deleted_at IS NULL AND s.hold_s IS NULL {{who}}
    GROUP BY s.workout_id, s.exercise"""
_MEANS_SQL = """
    SELECT s.workout_id, s.exercise, COUNT(r.eccentric_s), AVG(r.eccentric_s), AVG(r.pause_s),
           AVG(r.concentric_s), COUNT(r.rom_deg), AVG(r.rom_deg)
    FROM sets s JOIN workouts w ON w.id = s.workout_id AND w.deleted_at IS NULL
    JOIN reps r ON r.set_id = s.id AND r.deleted_at IS NULL
    WHERE s.deleted_at IS NULL AND s.hold_s IS NULL {who}
    GROUP BY s.workout_id, s.exercise"""


def member_history(
    db: Database, *, profile: str | None = None, today: date | None = None, limit: int = 10_000
) -> History:
    """The profile called ``profile`` (None: everyone) as the History screen shows it; ``today``
    is the local date the streak ends on (default now). ``StorageError`` for an unknown profile."""
    today = today or date.today()
    with db.read() as conn:
        pid = None if profile is None else require_profile(conn, profile)
        workouts = q.workout_history(conn, profile_id=pid, limit=limit)
        who = "" if pid is None else "AND w.profile_id = :pid"
        totals = conn.execute(text(_POINTS_SQL.format(who=who)), {"pid": pid}).all()
        means = {(r[0], r[1]): r[2:] for r in conn.execute(text(_MEANS_SQL.format(who=who)), {"pid": pid})}
        records = personal_records(q.record_candidates(conn, profile_id=pid)).values()
    days_of = {w.id: local_day(w.started_at, w.utc_offset_min) for w in workouts}
    order = {w.id: i for i, w in enumerate(reversed(workouts))}
    points = []
    for wid, exercise, sets, reps, volume in totals:
        if wid not in days_of:
            continue  # past the limit
        timed, ecc, pause, con, rom_n, rom = means.get((wid, exercise), (0, None, None, None, 0, None))
        points.append(
            ExercisePoint(
                wid, days_of[wid], exercise, sets, reps or 0, round(volume or 0.0, 3),
                timed, ecc, pause, con, rom_n, rom,
            )
        )  # fmt: skip
    points.sort(key=lambda p: (order[p.workout_id], p.exercise))
    days = tuple(sorted(set(days_of.values())))
    return History(
        profile=profile,
        today=today,
        workouts=tuple(workouts),
        days=days,
        streak=streak(days, today=today),
        records=tuple(sorted(records, key=lambda r: (r.exercise, r.kind))),
        points=tuple(points),
    )


@dataclass(frozen=True, slots=True)
class Series:
    """Chart series: one value per workout (or per week, Mondays, gaps filled) in ``labels``."""

    per: str
    exercise: str | None  # None: every exercise together
    labels: tuple[date, ...]
    reps: tuple[float, ...]
    volume_kg: tuple[float, ...]
    eccentric_s: tuple[float | None, ...]
    pause_s: tuple[float | None, ...]
    concentric_s: tuple[float | None, ...]
    rom_deg: tuple[float | None, ...]


def progress_series(history: History, *, exercise: str | None = None, per: str = "workout") -> Series:
    """Reps, volume, tempo and ROM of ``exercise`` (None: all together) per workout or per week;
    tempo and ROM are rep-weighted means (None where no rep has one)."""
    if per not in PER:
        raise ValueError(f"unknown grouping {per!r}; choose from {', '.join(PER)}")
    groups: dict[object, list[ExercisePoint]] = defaultdict(list)
    labels: dict[object, date] = {}
    for p in history.points:
        if exercise is not None and p.exercise != exercise:
            continue
        key: object = p.workout_id if per == "workout" else week_start(p.day)
        groups[key].append(p)
        labels.setdefault(key, p.day if per == "workout" else week_start(p.day))
    keys = list(groups)  # points are oldest first, so groups are too
    if per == "week" and keys:
        first, last = min(labels.values()), max(labels.values())
        weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
        keys, labels = list(weeks), {w: w for w in weeks}
    rows = [groups.get(k, []) for k in keys]
    return Series(
        per=per,
        exercise=exercise,
        labels=tuple(labels[k] for k in keys),
        reps=tuple(float(sum(p.reps for p in g)) for g in rows),
        volume_kg=tuple(round(sum(p.volume_kg for p in g), 3) for g in rows),
        eccentric_s=tuple(_mean(g, "eccentric_s", "timed_reps") for g in rows),
        pause_s=tuple(_mean(g, "pause_s", "timed_reps") for g in rows),
        concentric_s=tuple(_mean(g, "concentric_s", "timed_reps") for g in rows),
        rom_deg=tuple(_mean(g, "rom_deg", "rom_reps") for g in rows),
    )


def _mean(points: Iterable[ExercisePoint], name: str, weight: str) -> float | None:
    pairs = [(getattr(p, name), getattr(p, weight)) for p in points if getattr(p, name) is not None]
    total = sum(n for _, n in pairs)
    return round(sum(v * n for v, n in pairs) / total, 3) if total else None
