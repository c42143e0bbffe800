"""Linking saved workouts to the sessions of the profile's active program (the rule is in
``app.programs.sessions``); functions of a ``Connection``, run on the writer thread."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, text

from app.programs.plans import Plan
from app.programs.sessions import match_session

from . import records as rec
from .localtime import local_day, local_day_sql


@dataclass(frozen=True, slots=True)
class ActiveProgram:
    id: str
    plan: Plan
    created_at: str


def active_program_of(conn: Connection, profile_id: str) -> ActiveProgram | None:
    row = conn.execute(
        text(
            "SELECT id, plan_json, created_at FROM programs WHERE profile_id = :p AND active = 1 "
            "AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1"
        ),
        {"p": profile_id},
    ).first()
    return None if row is None else ActiveProgram(row[0], Plan.from_json(json.loads(row[1])), row[2])


def sessions_done(conn: Connection, program_id: str) -> int:
    """How many sessions of the program have been done (the next one's number)."""
    top = conn.execute(
        text("SELECT MAX(program_session) FROM workouts WHERE program_id = :g AND deleted_at IS NULL"),
        {"g": program_id},
    ).scalar()
    return 0 if top is None else int(top) + 1


def link_workout(conn: Connection, workout_id: str, profile_id: str, exercise: str) -> int | None:
    """Link the workout to a session of the active program if ``exercise`` fits one; the session."""
    row = conn.execute(
        text("SELECT started_at, utc_offset_min, program_session FROM workouts WHERE id = :w"),
        {"w": workout_id},
    ).one()
    if row[2] is not None:
        return int(row[2])
    program = active_program_of(conn, profile_id)
    if program is None or row[0] < program.created_at:
        return None
    same_day = conn.execute(
        text(
            "SELECT MAX(program_session) FROM workouts WHERE program_id = :g AND deleted_at IS NULL "
            f"AND {local_day_sql()} = :day"
        ),
        {"g": program.id, "day": local_day(row[0], row[1]).isoformat()},
    ).scalar()
    session = match_session(
        program.plan, exercise, next_session=sessions_done(conn, program.id), same_day_session=same_day
    )
    if session is not None:
        rec.link_program_session(conn, workout_id, program.id, session)
    return session
