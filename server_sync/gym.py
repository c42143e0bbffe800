"""Gym-wide views of the synced rows: leaderboards, a member's exports, the gym's monthly report.

Leaderboards rank members with the kiosk's own definitions (``app.programs.metrics``: the boards,
form-weighted reps, shared ranks), computed in Postgres over every device's sets. A set enters a
board only when it is plausible (``PLAUSIBLE``): a device with a broken clock, a bad import or a
tampered database must not top a gym's board. What was left out is counted, by reason, in the
answer.

Exports and reports reuse ``app/reports``: the rows they need are applied, as a device's pull would
apply them (``app.sync.local.apply_changes``), to a throwaway device database, and the device's
report and export operations run on it. A PDF from the server is the PDF a device prints.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select, text

from app.engine.exercises.signature import SIZE as SIGNATURE_SIZE
from app.programs.metrics import BOARDS, LB_TO_KG, MemberStats, board_score, leaderboard, streak
from app.reports.data import period_bounds
from app.reports.operations import BOARD_TITLES, export_document, export_files, write_report
from app.storage.db import Database, open_database
from app.storage.localtime import utc_bounds
from app.sync.local import apply_changes
from app.sync.wire import Change

from . import schema as s


@dataclass(frozen=True, slots=True)
class Plausible:
    """What a set may hold to enter a leaderboard. Pace is judged on the reps' own timing (stream
    seconds), not on the set's wall-clock span: a video analysed in seconds is a real set, and a
    device's clock may be wrong. A set claiming more reps than it timed is judged on its claim."""

    max_reps_per_s: float = 4.0  # skipping rope and high knees stay under 3.5 a second
    max_set_reps: int = 1000
    max_load_kg: float = 500.0  # past the deadlift world record


PLAUSIBLE = Plausible()
#: Streaks are counted over this many days before ``today`` (two years, as on the kiosk).
STREAK_DAYS = 730
#: A period report also shows the weeks before it (its trend charts): the rows copied for it.
REPORT_HISTORY = timedelta(days=120)

_LOAD_KG = f"COALESCE(CASE s.unit WHEN 'lb' THEN s.load * {LB_TO_KG} ELSE s.load END, 0)"
#: The local day a set counts for: its UTC start moved by the device's offset at the time.
_SHIFT = "COALESCE(s.utc_offset_min, 0) * interval '1 minute'"
_LOCAL_DAY = f"((s.started_at::timestamptz AT TIME ZONE 'UTC') + {_SHIFT})::date"

Board = Literal["reps", "volume", "streak", "form"]
Period = Literal["week", "month", "all"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BoardRow(_Model):
    rank: int
    profile_id: str
    name: str
    score: float
    reps: int
    clean_reps: int
    volume_kg: float
    streak: int  # current streak of local days with a plausible set (of the exercise, if one)
    excluded_sets: int  # this member's sets left out as implausible


class Leaderboard(_Model):
    board: Board
    period: Period
    label: str  # "this week (from 2026-11-30)", "all time"
    title: str  # what the score is: "reps", "volume (kg)", "streak (days)", "form-weighted reps"
    exercise: str | None
    today: date
    rows: list[BoardRow]
    excluded: dict[str, int]  # sets left out of the board, by reason: "counts", "load", "pace"


# ----------------------------------------------------------------------------------- boards
def gym_leaderboard(
    conn: Connection,
    gym_id: str,
    *,
    board: Board,
    period: Period,
    today: date,
    exercise: str | None = None,
    limit: int = 20,
    bounds: Plausible = PLAUSIBLE,
) -> Leaderboard:
    """One board of the gym's members over this (local) week or month, or all time."""
    assert board in BOARDS
    if period == "all":
        since, until, label = date.min, date.max, "all time"
    else:
        since, until = period_bounds(period, today)
        label = f"this {period} (from {since})"
    streak_from = today - timedelta(days=STREAK_DAYS)
    params: dict[str, Any] = {
        "gym": gym_id,
        "exercise": exercise,
        "lb": LB_TO_KG,
        "rate": bounds.max_reps_per_s,
        "max_reps": bounds.max_set_reps,
        "max_load": bounds.max_load_kg,
        "since": since,
        "until": until,
        "streak_from": streak_from,
    }
    judged = f"""
        WITH timed AS (
            SELECT set_id, COUNT(*) AS n, AVG(end_s - start_s) AS rep_s
            FROM reps WHERE gym_id = :gym AND deleted_at IS NULL GROUP BY set_id
        ), judged AS (
            SELECT s.profile_id, s.achieved_reps AS reps, s.clean_reps AS clean,
                   {_LOAD_KG} * s.achieved_reps AS volume, {_LOCAL_DAY} AS day,
                   CASE WHEN s.achieved_reps < 0 OR s.achieved_reps > :max_reps
                             OR s.clean_reps < 0 OR s.clean_reps > s.achieved_reps THEN 'counts'
                        WHEN {_LOAD_KG} < 0 OR {_LOAD_KG} > :max_load THEN 'load'
                        WHEN t.n > 0 AND (t.rep_s < 1.0 / :rate OR s.achieved_reps > t.n + 1) THEN 'pace'
                   END AS flaw
            FROM sets s LEFT JOIN timed t ON t.set_id = s.id
            WHERE s.gym_id = :gym AND s.deleted_at IS NULL
              AND (CAST(:exercise AS text) IS NULL OR s.exercise = :exercise)
        )"""
    totals = conn.execute(
        text(f"""{judged}
            SELECT p.id, p.name,
                   COALESCE(SUM(j.reps) FILTER (WHERE j.flaw IS NULL), 0),
                   COALESCE(SUM(j.clean) FILTER (WHERE j.flaw IS NULL), 0),
                   COALESCE(SUM(j.volume) FILTER (WHERE j.flaw IS NULL), 0),
                   COUNT(*) FILTER (WHERE j.flaw IS NOT NULL)
            FROM judged j JOIN profiles p ON p.gym_id = :gym AND p.id = j.profile_id
            WHERE p.deleted_at IS NULL AND j.day >= :since AND j.day < :until
            GROUP BY p.id, p.name"""),
        params,
    ).all()
    excluded = {
        str(reason): int(n)
        for reason, n in conn.execute(
            text(f"""{judged}
                SELECT j.flaw, COUNT(*) FROM judged j
                JOIN profiles p ON p.gym_id = :gym AND p.id = j.profile_id
                WHERE p.deleted_at IS NULL AND j.flaw IS NOT NULL AND j.day >= :since AND j.day < :until
                GROUP BY j.flaw"""),
            params,
        ).all()
    }
    days: dict[str, list[date]] = {}
    for pid, day in conn.execute(
        text(
            f"{judged} SELECT DISTINCT profile_id, day FROM judged WHERE flaw IS NULL AND day >= :streak_from"
        ),
        params,
    ).all():
        days.setdefault(pid, []).append(day)
    members: dict[int, tuple[str, int]] = {}  # id(MemberStats) -> (profile id, excluded sets)
    stats: list[MemberStats] = []
    for pid, name, reps, clean, volume, flawed in totals:
        m = MemberStats(
            name,
            int(reps),
            int(clean),
            round(float(volume), 3),
            streak(days.get(pid, []), today=today).current,
        )
        stats.append(m)
        members[id(m)] = (pid, int(flawed))
    rows = [
        BoardRow(
            rank=rank,
            profile_id=members[id(m)][0],
            name=m.name,
            score=board_score(m, board),
            reps=m.reps,
            clean_reps=m.clean_reps,
            volume_kg=m.volume_kg,
            streak=m.streak,
            excluded_sets=members[id(m)][1],
        )
        for rank, m in leaderboard(stats, by=board)[:limit]
    ]
    return Leaderboard(
        board=board,
        period=period,
        label=label,
        title=BOARD_TITLES[board],
        exercise=exercise,
        today=today,
        rows=rows,
        excluded=excluded,
    )


# ---------------------------------------------------------------------------------- exports
def profile_exists(conn: Connection, gym_id: str, profile_id: str) -> str | None:
    """The profile's name, or None when the gym has no such (live) profile."""
    t = s.SYNCED["profiles"]
    return conn.execute(
        select(t.c.name).where(t.c.gym_id == gym_id, t.c.id == profile_id, t.c.deleted_at.is_(None))
    ).scalar_one_or_none()


@contextmanager
def device_copy(
    conn: Connection, gym_id: str, *, profile_id: str | None, since: date | None
) -> Iterator[Database]:
    """A throwaway device database holding the gym's rows a report or export needs: one member's
    (``profile_id``) or everyone's, every workout or those from ``since`` (a local day)."""
    with tempfile.TemporaryDirectory(prefix="spotter-report-") as folder:
        db = open_database(Path(folder))
        try:
            changes = list(_rows_for(conn, gym_id, profile_id=profile_id, since=since))
            db.writer.call(lambda c: apply_changes(c, changes, pushed_upto=0))
            yield db
        finally:
            db.close()


def _rows_for(
    conn: Connection, gym_id: str, *, profile_id: str | None, since: date | None
) -> Iterator[Change]:
    """Parents before children, as a pull delivers them; children only of parents sent."""
    lo = utc_bounds(since.isoformat(), "9999")[0] if since is not None else ""
    mine = "AND profile_id = :pid" if profile_id else ""
    when = "AND started_at >= :lo" if lo else ""
    p = {"g": gym_id, "pid": profile_id, "lo": lo}
    queries = {
        "profiles": f"SELECT * FROM profiles WHERE gym_id = :g {'AND id = :pid' if profile_id else ''}",
        "devices": "SELECT * FROM devices WHERE gym_id = :g",
        "programs": f"SELECT * FROM programs WHERE gym_id = :g {mine}",
        "workouts": f"SELECT * FROM workouts WHERE gym_id = :g {mine} {when}",
        "workout_exercises": "SELECT e.* FROM workout_exercises e JOIN workouts w ON w.gym_id = e.gym_id "
        f"AND w.id = e.workout_id WHERE e.gym_id = :g {mine.replace('profile_id', 'w.profile_id')} "
        f"{when.replace('started_at', 'w.started_at')}",
        "sets": f"SELECT * FROM sets WHERE gym_id = :g {mine} {when}",
        "reps": "SELECT r.* FROM reps r JOIN sets x ON x.gym_id = r.gym_id AND x.id = r.set_id "
        f"WHERE r.gym_id = :g {mine.replace('profile_id', 'x.profile_id')} "
        f"{when.replace('started_at', 'x.started_at')}",
        "personal_records": f"SELECT * FROM personal_records WHERE gym_id = :g {mine}",
    }
    for table, sql in queries.items():
        keep = s.ROW_COLUMNS[table]
        for row in conn.execute(text(sql), p).mappings():
            yield Change(table=table, row={k: row[k] for k in keep})


def member_export(db: Database, fmt: Literal["json", "csv"]) -> tuple[bytes, str]:
    """The member's data as the device exports it: one JSON document, or a zip of CSV files."""
    if fmt == "json":
        return json.dumps(export_document(db), indent=1).encode(), "application/json"
    with tempfile.TemporaryDirectory(prefix="spotter-export-") as folder:
        out = Path(folder) / "export"
        export_files(db, "csv", out)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(out.iterdir()):
                zf.write(f, f.name)
    return buffer.getvalue(), "application/zip"


def report_pdf(db: Database, *, period: str, today: date, profile: str | None, pin: str | None) -> bytes:
    """The device's PDF report of ``period`` (one member's with ``profile``, else everyone's)."""
    with tempfile.TemporaryDirectory(prefix="spotter-pdf-") as folder:
        path = write_report(
            db, Path(folder) / "report.pdf", period=period, profile=profile, today=today, pin=pin
        )
        return path.read_bytes()


def report_since(period: str, today: date) -> date:
    """The first local day a ``period`` report of ``today`` reads (its trend charts included)."""
    return period_bounds(period, today)[0] - REPORT_HISTORY


# ------------------------------------------------------------------------- movement signatures
class SimilarRep(_Model):
    rep_id: str
    exercise: str
    member: str
    started_at: str  # the set's start (UTC)
    rom_deg: float | None
    distance: float  # Euclidean, between signatures (``app.engine.exercises.signature``)


class Similar(_Model):
    rep_id: str
    exercise: str
    anomaly: float | None  # how unusual the rep is for this member and exercise (about 1: typical)
    reps: list[SimilarRep]


class Signature(_Model):
    #: joint angles over 180 degrees: a real one lies in [0, 1]
    signature: list[Annotated[float, Field(ge=-10.0, le=10.0)]] = Field(
        min_length=SIGNATURE_SIZE, max_length=SIGNATURE_SIZE
    )
    k: int = Field(15, ge=1, le=100)  # neighbours that vote


class Recognition(_Model):
    exercise: str | None  # None when the gym has no signed reps yet
    confidence: float  # the winner's share of the neighbours' weight
    votes: dict[str, float]


#: Neighbours behind an anomaly score, and the member's reps sampled for its baseline.
ANOMALY_K = 5
ANOMALY_BASELINE = 40

_REP_JOIN = (
    "reps r JOIN sets s ON s.gym_id = r.gym_id AND s.id = r.set_id "
    "JOIN profiles p ON p.gym_id = s.gym_id AND p.id = s.profile_id"
)
_LIVE = "r.gym_id = :g AND r.deleted_at IS NULL AND s.deleted_at IS NULL AND r.embedding IS NOT NULL"


def _filtered_search(conn: Connection) -> None:
    """An HNSW scan filtered by gym (and member) keeps scanning until it has enough rows."""
    conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))


@dataclass(frozen=True, slots=True)
class _Signed:
    """A signed rep: its signature (pgvector text), exercise, member and set."""

    vector: str
    exercise: str
    profile: str
    set_id: str


def similar_reps(conn: Connection, gym_id: str, rep_id: str, *, k: int, same_member: bool) -> Similar | None:
    """The ``k`` reps of the gym (or of the same member) moved most like ``rep_id``; None if the
    rep is unknown or has no signature."""
    found = conn.execute(
        text(
            "SELECT CAST(r.embedding AS text), s.exercise, s.profile_id, r.set_id "
            f"FROM {_REP_JOIN} WHERE {_LIVE} AND r.id = :r"
        ),
        {"g": gym_id, "r": rep_id},
    ).first()
    if found is None:
        return None
    me = _Signed(*found)
    _filtered_search(conn)
    member = "AND s.profile_id = :pid" if same_member else ""
    rows = conn.execute(
        text(
            "SELECT r.id, s.exercise, p.name, s.started_at, r.rom_deg, "
            f"r.embedding <-> CAST(:v AS vector) AS d FROM {_REP_JOIN} WHERE {_LIVE} AND r.id <> :r {member} "
            "ORDER BY r.embedding <-> CAST(:v AS vector) LIMIT :k"
        ),
        {"g": gym_id, "r": rep_id, "v": me.vector, "pid": me.profile, "k": k},
    ).all()
    reps = [
        SimilarRep(rep_id=i, exercise=e, member=n, started_at=t, rom_deg=rom, distance=round(float(d), 4))
        for i, e, n, t, rom, d in rows
    ]
    return Similar(rep_id=rep_id, exercise=me.exercise, anomaly=_anomaly(conn, gym_id, me), reps=reps)


def _knn_distance(conn: Connection, gym_id: str, rep: _Signed) -> float | None:
    """Mean distance to the member's ``ANOMALY_K`` nearest reps of the exercise, from other sets."""
    d = conn.execute(
        text(
            f"SELECT avg(d) FROM (SELECT r.embedding <-> CAST(:v AS vector) AS d FROM {_REP_JOIN} "
            f"WHERE {_LIVE} AND s.profile_id = :pid AND s.exercise = :ex AND r.set_id <> :set "
            "ORDER BY r.embedding <-> CAST(:v AS vector) LIMIT :k) nn"
        ),
        {
            "g": gym_id,
            "v": rep.vector,
            "pid": rep.profile,
            "ex": rep.exercise,
            "set": rep.set_id,
            "k": ANOMALY_K,
        },
    ).scalar()
    return None if d is None else float(d)


def _anomaly(conn: Connection, gym_id: str, rep: _Signed) -> float | None:
    """The rep's distance to its nearest like reps, over the same for the member's other reps of the
    exercise (median of a sample): about 1 for a typical rep, higher for an unusual one; None until
    the member has reps of the exercise in two other sets."""
    mine = _knn_distance(conn, gym_id, rep)
    if mine is None:
        return None
    sample = conn.execute(
        text(
            f"SELECT CAST(r.embedding AS text), r.set_id FROM {_REP_JOIN} WHERE {_LIVE} "
            "AND s.profile_id = :pid AND s.exercise = :ex AND r.set_id <> :set ORDER BY r.id LIMIT :n"
        ),
        {"g": gym_id, "pid": rep.profile, "ex": rep.exercise, "set": rep.set_id, "n": ANOMALY_BASELINE},
    ).all()
    base = [_knn_distance(conn, gym_id, _Signed(v, rep.exercise, rep.profile, sid)) for v, sid in sample]
    usual = [b for b in base if b is not None and b > 0]
    if len(usual) < 3:
        return None
    return round(mine / float(np.median(usual)), 3)


def recognise(conn: Connection, gym_id: str, signature: list[float], *, k: int = 15) -> Recognition:
    """The exercise of a movement by its ``k`` nearest signed reps in the gym, weighted by nearness."""
    _filtered_search(conn)
    rows = conn.execute(
        text(
            f"SELECT s.exercise, r.embedding <-> CAST(:v AS vector) AS d FROM {_REP_JOIN} WHERE {_LIVE} "
            "ORDER BY r.embedding <-> CAST(:v AS vector) LIMIT :k"
        ),
        {"g": gym_id, "v": str(list(signature)), "k": k},
    ).all()
    votes: dict[str, float] = {}
    for exercise, d in rows:
        votes[exercise] = votes.get(exercise, 0.0) + 1.0 / (float(d) + 0.05)
    total = sum(votes.values())
    if not total:
        return Recognition(exercise=None, confidence=0.0, votes={})
    best = max(votes, key=lambda e: votes[e])
    return Recognition(
        exercise=best,
        confidence=round(votes[best] / total, 3),
        votes={e: round(v / total, 3) for e, v in votes.items()},
    )
