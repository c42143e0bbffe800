"""Reads behind history, reports and the leaderboard (any thread, any connection).

Summaries aggregate the ``sets`` table, whose rows carry the counts of their reps, so none of these
queries scans ``reps``; tombstoned rows are left out everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from app.engine.events import RepDetail
from app.programs.metrics import LB_TO_KG, MemberStats, SetSummary, streak

VOLUME_KG = f"s.achieved_reps * COALESCE(CASE s.unit WHEN 'lb' THEN s.load * {LB_TO_KG} ELSE s.load END, 0)"


@dataclass(frozen=True, slots=True)
class WorkoutRow:
    id: str
    profile: str
    started_at: str
    sets: int
    reps: int
    clean_reps: int
    volume_kg: float
    exercises: str  # comma-separated exercise ids


@dataclass(frozen=True, slots=True)
class SetRow:
    id: str
    exercise: str
    position: int
    started_at: str
    target_reps: int | None
    achieved_reps: int
    clean_reps: int
    partial_reps: int
    load: float | None
    unit: str | None


def workout_history(
    conn: Connection,
    *,
    profile_id: str | None = None,
    since: str = "",
    until: str = "9999",
    limit: int = 10_000,
) -> list[WorkoutRow]:
    """One row per workout started in ``[since, until)``, newest first."""
    where = "s.deleted_at IS NULL AND s.started_at >= :since AND s.started_at < :until"
    if profile_id is not None:
        where += " AND s.profile_id = :pid"
    sql = f"""
        SELECT w.id, p.name, w.started_at, agg.n, agg.reps, agg.clean, agg.vol, agg.ex
        FROM (SELECT s.workout_id AS wid, COUNT(*) AS n, SUM(s.achieved_reps) AS reps,
                     SUM(s.clean_reps) AS clean, SUM({VOLUME_KG}) AS vol,
                     GROUP_CONCAT(DISTINCT s.exercise) AS ex
              FROM sets s WHERE {where} GROUP BY s.workout_id) agg
        JOIN workouts w ON w.id = agg.wid AND w.deleted_at IS NULL
        JOIN profiles p ON p.id = w.profile_id
        ORDER BY w.started_at DESC LIMIT :limit"""
    rows = conn.execute(text(sql), {"since": since, "until": until, "pid": profile_id, "limit": limit})
    return [
        WorkoutRow(r[0], r[1], r[2], r[3], r[4] or 0, r[5] or 0, round(r[6] or 0.0, 3), r[7] or "")
        for r in rows
    ]


def set_summaries(
    conn: Connection, *, profile_id: str | None = None, since: str = "", until: str = "9999"
) -> list[SetSummary]:
    where = "deleted_at IS NULL AND started_at >= :since AND started_at < :until"
    if profile_id is not None:
        where += " AND profile_id = :pid"
    sql = (
        "SELECT exercise, substr(started_at, 1, 10), achieved_reps, clean_reps, load, unit "
        f"FROM sets WHERE {where}"
    )
    rows = conn.execute(text(sql), {"since": since, "until": until, "pid": profile_id})
    return [SetSummary(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def leaderboard_stats(conn: Connection, *, since: str, until: str, today: date) -> list[MemberStats]:
    """Per profile: reps, clean reps and volume in ``[since, until)``, and the current streak."""
    totals = conn.execute(
        text(f"""
        SELECT p.id, p.name, SUM(s.achieved_reps), SUM(s.clean_reps), SUM({VOLUME_KG})
        FROM profiles p JOIN sets s ON s.profile_id = p.id
        WHERE p.deleted_at IS NULL AND s.deleted_at IS NULL
          AND s.started_at >= :since AND s.started_at < :until
        GROUP BY p.id"""),
        {"since": since, "until": until},
    ).all()
    out: list[MemberStats] = []
    for pid, name, reps, clean, volume in totals:
        days = conn.execute(
            text(
                "SELECT DISTINCT substr(started_at, 1, 10) FROM workouts "
                "WHERE profile_id = :pid AND deleted_at IS NULL AND started_at >= :floor"
            ),
            {"pid": pid, "floor": _streak_floor(today)},
        ).scalars()
        current = streak((date.fromisoformat(d) for d in days), today=today).current
        out.append(MemberStats(name, reps or 0, clean or 0, round(volume or 0.0, 3), current))
    return out


def _streak_floor(today: date) -> str:
    """Streaks are counted over the last two years (enough for any kiosk board, and quick)."""
    return date(today.year - 2, today.month, min(today.day, 28)).isoformat()


def workout_sets(conn: Connection, workout_id: str) -> list[SetRow]:
    rows = conn.execute(
        text(
            "SELECT id, exercise, position, started_at, target_reps, achieved_reps, clean_reps, "
            "partial_reps, load, unit FROM sets WHERE workout_id = :w AND deleted_at IS NULL "
            "ORDER BY started_at, rowid"
        ),
        {"w": workout_id},
    )
    return [SetRow(*r) for r in rows]


def set_reps(conn: Connection, set_id: str) -> list[RepDetail]:
    rows = conn.execute(
        text(
            "SELECT idx, start_s, turn_s, end_s, eccentric_s, pause_s, concentric_s, rom_deg, "
            "mean_speed_dps, peak_speed_dps, side, faults FROM reps "
            "WHERE set_id = :s AND deleted_at IS NULL ORDER BY idx"
        ),
        {"s": set_id},
    )
    return [
        RepDetail(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            side=r[10],
            faults=tuple(json.loads(r[11])),
        )
        for r in rows
    ]


def last_workout_id(conn: Connection, *, profile_id: str | None = None) -> str | None:
    sql = "SELECT id FROM workouts WHERE deleted_at IS NULL"
    if profile_id is not None:
        sql += " AND profile_id = :pid"
    row = conn.execute(text(sql + " ORDER BY started_at DESC LIMIT 1"), {"pid": profile_id}).first()
    return None if row is None else str(row[0])


def best_records(conn: Connection, profile_id: str) -> dict[tuple[str, str], float]:
    rows = conn.execute(
        text(
            "SELECT exercise, kind, MAX(value) FROM personal_records "
            "WHERE profile_id = :pid AND deleted_at IS NULL GROUP BY exercise, kind"
        ),
        {"pid": profile_id},
    )
    return {(r[0], r[1]): float(r[2]) for r in rows}


def record_candidates(conn: Connection, *, profile_id: str | None = None) -> list[SetSummary]:
    """One row per distinct (exercise, reps, load, unit), on its first day: all that records need."""
    where = "deleted_at IS NULL AND achieved_reps > 0"
    if profile_id is not None:
        where += " AND profile_id = :pid"
    sql = (
        "SELECT exercise, MIN(substr(started_at, 1, 10)), achieved_reps, load, unit "
        f"FROM sets WHERE {where} GROUP BY exercise, achieved_reps, load, unit"
    )
    rows = conn.execute(text(sql), {"pid": profile_id})
    return [SetSummary(r[0], date.fromisoformat(r[1]), r[2], 0, r[3], r[4]) for r in rows]
