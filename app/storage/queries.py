"""Reads behind history, reports and the leaderboard (any thread, any connection).

Summaries aggregate the ``sets`` table, whose rows carry the counts of their reps, so none of these
queries scans ``reps``; tombstoned rows are left out everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from app.engine.events import RepDetail
from app.programs.metrics import LB_TO_KG, MemberStats, SetSummary, streak

from .localtime import local_datetime, local_day_sql, utc_bounds

VOLUME_KG = f"s.achieved_reps * COALESCE(CASE s.unit WHEN 'lb' THEN s.load * {LB_TO_KG} ELSE s.load END, 0)"


@dataclass(frozen=True, slots=True)
class WorkoutRow:
    id: str
    profile: str
    started_at: str  # UTC
    sets: int
    reps: int
    clean_reps: int
    volume_kg: float
    exercises: str  # comma-separated exercise ids
    utc_offset_min: int | None = None  # local offset when it started
    hold_s: float = 0.0  # seconds held over its hold sets

    @property
    def local_start(self) -> datetime:
        return local_datetime(self.started_at, self.utc_offset_min)


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
    hold_s: float | None = None  # seconds held: a set of a time-based exercise


def _day_range(alias: str, since: str, until: str) -> str:
    """SQL keeping rows whose local day is in ``[:since, :until)`` (bind ``:lo``/``:hi`` too)."""
    p = f"{alias}." if alias else ""
    sql = f"{p}started_at >= :lo AND {p}started_at < :hi"
    if since:
        sql += f" AND {local_day_sql(alias)} >= :since"
    if until < "9999":
        sql += f" AND {local_day_sql(alias)} < :until"
    return sql


def _range_params(since: str, until: str) -> dict[str, str]:
    lo, hi = utc_bounds(since, until)
    return {"since": since, "until": until, "lo": lo, "hi": hi}


def workout_history(
    conn: Connection,
    *,
    profile_id: str | None = None,
    since: str = "",
    until: str = "9999",
    limit: int = 10_000,
    workout_id: str | None = None,
) -> list[WorkoutRow]:
    """One row per workout with sets whose local day is in ``[since, until)``, newest first.

    ``since``/``until`` are local days (``YYYY-MM-DD``; ``""``/``"9999"``: open). The newest
    ``limit`` workouts are picked first (an index walk on ``workouts``), then only their sets are
    summed, so "the last 30 workouts" reads 30 workouts' sets, not the whole history.
    """
    where = f"w.deleted_at IS NULL AND {_day_range('w', since, until)}"
    if profile_id is not None:
        where += " AND w.profile_id = :pid"
    if workout_id is not None:
        where += " AND w.id = :wid"
    sql = f"""
        WITH pick AS (
            SELECT w.id, w.profile_id, w.started_at, w.utc_offset_min FROM workouts w
            WHERE {where} AND EXISTS
                (SELECT 1 FROM sets s WHERE s.workout_id = w.id AND s.deleted_at IS NULL)
            ORDER BY w.started_at DESC LIMIT :limit)
        SELECT pick.id, p.name, pick.started_at, COUNT(*), SUM(s.achieved_reps), SUM(s.clean_reps),
               SUM({VOLUME_KG}), GROUP_CONCAT(DISTINCT s.exercise), pick.utc_offset_min, SUM(s.hold_s)
        FROM pick
        JOIN sets s ON s.workout_id = pick.id AND s.deleted_at IS NULL
        JOIN profiles p ON p.id = pick.profile_id
        GROUP BY pick.id ORDER BY pick.started_at DESC"""
    params: dict[str, object] = {
        **_range_params(since, until), "pid": profile_id, "wid": workout_id, "limit": limit,
    }  # fmt: skip
    rows = conn.execute(text(sql), params)
    return [
        WorkoutRow(
            r[0], r[1], r[2], r[3], r[4] or 0, r[5] or 0, round(r[6] or 0.0, 3), r[7] or "", r[8],
            round(r[9] or 0.0, 2),
        )
        for r in rows
    ]  # fmt: skip


def set_summaries(
    conn: Connection, *, profile_id: str | None = None, since: str = "", until: str = "9999"
) -> list[SetSummary]:
    """Every set whose local day is in ``[since, until)``, on its local day."""
    where = f"deleted_at IS NULL AND {_day_range('', since, until)}"
    if profile_id is not None:
        where += " AND profile_id = :pid"
    sql = (
        f"SELECT exercise, {local_day_sql()}, achieved_reps, clean_reps, load, unit, hold_s "
        f"FROM sets WHERE {where}"
    )
    rows = conn.execute(text(sql), {**_range_params(since, until), "pid": profile_id})
    return [SetSummary(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]


def leaderboard_stats(conn: Connection, *, since: str, until: str, today: date) -> list[MemberStats]:
    """Per profile: reps, clean reps and volume in local days ``[since, until)``, and the current
    streak (of local days, ending ``today``, the local date)."""
    totals = conn.execute(
        text(f"""
        SELECT p.id, p.name, SUM(s.achieved_reps), SUM(s.clean_reps), SUM({VOLUME_KG})
        FROM profiles p JOIN sets s ON s.profile_id = p.id
        WHERE p.deleted_at IS NULL AND s.deleted_at IS NULL AND {_day_range("s", since, until)}
        GROUP BY p.id"""),
        _range_params(since, until),
    ).all()
    floor, _ = utc_bounds(_streak_floor(today), "9999")
    out: list[MemberStats] = []
    for pid, name, reps, clean, volume in totals:
        days = conn.execute(
            text(
                f"SELECT DISTINCT {local_day_sql()} FROM workouts "
                "WHERE profile_id = :pid AND deleted_at IS NULL AND started_at >= :floor"
            ),
            {"pid": pid, "floor": floor},
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
            "partial_reps, load, unit, hold_s FROM sets WHERE workout_id = :w AND deleted_at IS NULL "
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
    """One row per distinct (exercise, reps, load, unit), and per distinct (exercise, time held),
    on its first local day: all that records need."""
    where = "deleted_at IS NULL"
    if profile_id is not None:
        where += " AND profile_id = :pid"
    day = local_day_sql()
    reps = (
        f"SELECT exercise, MIN({day}), achieved_reps, load, unit FROM sets "
        f"WHERE {where} AND achieved_reps > 0 GROUP BY exercise, achieved_reps, load, unit"
    )
    holds = (
        f"SELECT exercise, MIN({day}), hold_s FROM sets "
        f"WHERE {where} AND hold_s > 0 GROUP BY exercise, hold_s"
    )
    out = [
        SetSummary(r[0], date.fromisoformat(r[1]), r[2], 0, r[3], r[4])
        for r in conn.execute(text(reps), {"pid": profile_id})
    ]
    out += [
        SetSummary(r[0], date.fromisoformat(r[1]), 0, hold_s=r[2])
        for r in conn.execute(text(holds), {"pid": profile_id})
    ]
    return out


@dataclass(frozen=True, slots=True)
class RepMeans:
    """Means over the reps of one set (None where the set has no reps, or no angle ROM)."""

    eccentric_s: float | None
    pause_s: float | None
    concentric_s: float | None
    rom_deg: float | None


def set_rep_means(conn: Connection, set_ids: list[str]) -> dict[str, RepMeans]:
    """Tempo and range of motion per set, averaged in SQL (a month's report needs no rep rows)."""
    out: dict[str, RepMeans] = {}
    for i in range(0, len(set_ids), 500):
        chunk = set_ids[i : i + 500]
        marks = ", ".join(f":s{k}" for k in range(len(chunk)))
        rows = conn.execute(
            text(
                "SELECT set_id, AVG(eccentric_s), AVG(pause_s), AVG(concentric_s), AVG(rom_deg) FROM reps "
                f"WHERE set_id IN ({marks}) AND deleted_at IS NULL GROUP BY set_id"
            ),
            {f"s{k}": sid for k, sid in enumerate(chunk)},
        )
        out.update({r[0]: RepMeans(r[1], r[2], r[3], r[4]) for r in rows})
    return out


def signed_reps(conn: Connection) -> Iterator[tuple[list[float], str]]:
    """(signature, exercise) of every live rep that has a signature."""
    rows = conn.execute(
        text(
            "SELECT r.signature, s.exercise FROM reps r JOIN sets s ON s.id = r.set_id "
            "WHERE r.signature IS NOT NULL AND r.deleted_at IS NULL AND s.deleted_at IS NULL"
        )
    )
    for signature, exercise in rows:
        yield json.loads(signature), exercise
