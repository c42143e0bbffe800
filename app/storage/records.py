"""Writes, as functions of a ``Connection``: hand them to ``DatabaseWriter.submit``.

Each insert stamps ``created_at``/``modified_at`` and the next value of the local change counter.
Deletions are tombstones (``deleted_at``), never ``DELETE``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from app.engine.events import Event, RepDetail
from app.programs.plans import Plan

from . import schema as s
from .localtime import offset_min
from .pins import hash_pin


def new_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def next_seq(conn: Connection) -> int:
    row = conn.execute(
        update(s.change_seq).where(s.change_seq.c.id == 1).values(value=s.change_seq.c.value + 1)
        .returning(s.change_seq.c.value)
    ).one()  # fmt: skip
    return int(row[0])


def _insert(conn: Connection, table: Table, values: dict[str, Any], *, at: str | None = None) -> str:
    stamp = at or now_iso()
    row = {"id": new_id(), "created_at": stamp, "modified_at": stamp, "seq": next_seq(conn), **values}
    conn.execute(table.insert().values(row))
    return str(row["id"])


def _touch(conn: Connection, table: Table, row_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        update(table).where(table.c.id == row_id).values(modified_at=now_iso(), seq=next_seq(conn), **values)
    )


def deactivate_programs(conn: Connection, profile_id: str) -> None:
    """Mark the profile's active programs inactive (each one a change that syncs)."""
    active = conn.execute(
        select(s.programs.c.id).where(s.programs.c.profile_id == profile_id, s.programs.c.active == 1)
    ).scalars()
    for program_id in list(active):
        _touch(conn, s.programs, program_id, {"active": 0})


def soft_delete(conn: Connection, table: Table, row_id: str) -> None:
    _touch(conn, table, row_id, {"deleted_at": now_iso()})


# ------------------------------------------------------------------------- profiles, devices
def create_profile(
    conn: Connection, name: str, *, kind: str = "home", pin: str | None = None, unit: str = "kg"
) -> str:
    pin_hash = hash_pin(pin) if pin else None
    return _insert(conn, s.profiles, {"name": name, "kind": kind, "pin_hash": pin_hash, "unit": unit})


def find_profile(conn: Connection, name: str) -> str | None:
    row = conn.execute(
        select(s.profiles.c.id).where(s.profiles.c.name == name, s.profiles.c.deleted_at.is_(None))
    ).first()
    return None if row is None else str(row[0])


def profile_id_for(conn: Connection, name: str) -> str:
    """The profile called ``name``, created (kind "home", no PIN) if there is none yet."""
    return find_profile(conn, name) or create_profile(conn, name)


def register_device(conn: Connection, name: str, platform: str) -> str:
    return _insert(conn, s.devices, {"name": name, "platform": platform})


# ------------------------------------------------------------------------ workouts and sets
@dataclass(frozen=True, slots=True)
class SetPlan:
    """What is known when a set starts."""

    workout_id: str
    workout_exercise_id: str
    profile_id: str
    exercise: str
    position: int
    target_reps: int | None = None
    load: float | None = None
    unit: str | None = None
    started_at: str | None = None
    utc_offset_min: int | None = None  # None: this machine's offset at started_at


def start_workout(
    conn: Connection,
    profile_id: str,
    *,
    source: str = "live",
    started_at: str | None = None,
    device_id: str | None = None,
    program_id: str | None = None,
    utc_offset_min: int | None = None,
) -> str:
    """A new workout; ``utc_offset_min`` defaults to this machine's local offset at ``started_at``."""
    at = started_at or now_iso()
    values = {
        "profile_id": profile_id, "device_id": device_id, "program_id": program_id,
        "started_at": at, "source": source, "notes": "",
        "utc_offset_min": offset_min(at) if utc_offset_min is None else utc_offset_min,
    }  # fmt: skip
    return _insert(conn, s.workouts, values)


def link_program_session(conn: Connection, workout_id: str, program_id: str, session: int) -> None:
    """Record ``workout_id`` as (part of) session ``session`` of ``program_id``."""
    _touch(conn, s.workouts, workout_id, {"program_id": program_id, "program_session": session})


def add_exercise(conn: Connection, workout_id: str, exercise: str, position: int) -> str:
    return _insert(
        conn, s.workout_exercises, {"workout_id": workout_id, "exercise": exercise, "position": position}
    )


def start_set(conn: Connection, plan: SetPlan) -> str:
    at = plan.started_at or now_iso()
    offset = offset_min(at) if plan.utc_offset_min is None else plan.utc_offset_min
    values = {
        "workout_exercise_id": plan.workout_exercise_id, "workout_id": plan.workout_id,
        "profile_id": plan.profile_id, "exercise": plan.exercise, "position": plan.position,
        "started_at": at, "target_reps": plan.target_reps, "achieved_reps": 0, "clean_reps": 0,
        "partial_reps": 0, "load": plan.load, "unit": plan.unit, "utc_offset_min": offset,
    }  # fmt: skip
    return _insert(conn, s.sets, values)


def set_load(conn: Connection, set_id: str, load: float, unit: str) -> None:
    """The load of a set, told after it started (a voice command: "log twenty kilos")."""
    _touch(conn, s.sets, set_id, {"load": load, "unit": unit})


def record_hold(conn: Connection, set_id: str, seconds: float) -> None:
    """Store the time held on a set of a time-based exercise (plank): its achieved amount."""
    _touch(conn, s.sets, set_id, {"hold_s": round(seconds, 2)})


def rep_values(set_id: str, rep: RepDetail, idx: int | None = None) -> dict[str, Any]:
    return {
        "set_id": set_id, "idx": rep.index if idx is None else idx, "start_s": rep.start_s,
        "turn_s": rep.turn_s, "end_s": rep.end_s, "eccentric_s": rep.eccentric_s, "pause_s": rep.pause_s,
        "concentric_s": rep.concentric_s, "rom_deg": rep.rom_deg, "mean_speed_dps": rep.mean_speed_dps,
        "peak_speed_dps": rep.peak_speed_dps, "side": rep.side, "faults": json.dumps(list(rep.faults)),
        "signature": json.dumps(list(rep.signature)) if rep.signature else None,
    }  # fmt: skip


def record_rep(conn: Connection, set_id: str, rep: RepDetail) -> str:
    """Count one rep on its set and insert it (one transaction: both or neither). The rep is numbered
    within its set, by the count the update returns (the engine numbers reps across all sets of an
    exercise)."""
    clean = 0 if rep.faults else 1
    counted = conn.execute(
        update(s.sets).where(s.sets.c.id == set_id).values(
            achieved_reps=s.sets.c.achieved_reps + 1, clean_reps=s.sets.c.clean_reps + clean,
            modified_at=now_iso(), seq=next_seq(conn),  # a changed set is synced again
        ).returning(s.sets.c.achieved_reps)
    ).scalar()  # fmt: skip
    return _insert(conn, s.reps, rep_values(set_id, rep, counted))  # no such set: the foreign key refuses


def finish_set(conn: Connection, set_id: str, *, partial_reps: int = 0, ended_at: str | None = None) -> None:
    _touch(conn, s.sets, set_id, {"partial_reps": partial_reps, "ended_at": ended_at or now_iso()})


def finish_workout(conn: Connection, workout_id: str, *, ended_at: str | None = None) -> None:
    _touch(conn, s.workouts, workout_id, {"ended_at": ended_at or now_iso()})


# ----------------------------------------------------------------- events, cues, PRs, exports
def record_event(conn: Connection, workout_id: str, event: Event, *, set_id: str | None = None) -> str:
    payload = {k: v for k, v in dataclasses.asdict(event).items() if k != "t"}
    if isinstance(payload.get("rep"), dict):
        payload["rep"].pop("signature", None)  # kept once, on the rep's own row
    values = {
        "workout_id": workout_id, "set_id": set_id, "t": event.t, "kind": type(event).__name__,
        "payload": json.dumps(payload, default=str),
    }  # fmt: skip
    return _insert(conn, s.events, values)


def record_cue(
    conn: Connection,
    workout_id: str,
    text: str,
    *,
    t: float,
    fault: str | None = None,
    set_id: str | None = None,
) -> str:
    values = {"workout_id": workout_id, "set_id": set_id, "t": t, "text": text, "fault": fault}
    return _insert(conn, s.cues, values)


@dataclass(frozen=True, slots=True)
class PersonalRecord:
    exercise: str
    kind: str  # "max_reps" | "max_load" | "e1rm_epley" | "e1rm_brzycki"
    value: float
    unit: str | None = None


def record_personal_record(
    conn: Connection, profile_id: str, record: PersonalRecord, *, set_id: str | None, achieved_at: str
) -> str:
    values = {
        "profile_id": profile_id, "set_id": set_id, "exercise": record.exercise, "kind": record.kind,
        "value": record.value, "unit": record.unit, "achieved_at": achieved_at,
    }  # fmt: skip
    return _insert(conn, s.personal_records, values)


def record_export(conn: Connection, fmt: str, path: str, rows: int, *, profile_id: str | None = None) -> str:
    return _insert(conn, s.exports, {"profile_id": profile_id, "format": fmt, "path": path, "rows": rows})


def create_program(conn: Connection, profile_id: str, plan: Plan, *, name: str) -> str:
    r = plan.request
    values = {
        "profile_id": profile_id, "name": name, "goal": r.goal.value, "level": r.level.value,
        "days_per_week": r.days_per_week, "plan_json": plan.dumps(), "active": 1,
    }  # fmt: skip
    return _insert(conn, s.programs, values)
