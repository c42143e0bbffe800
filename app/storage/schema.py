"""The database schema as SQLAlchemy Core tables (the migrations in ``migrations/`` create it).

Sync-ready: every record has a client-generated UUID primary key (32 hex characters),
``modified_at``, a tombstone ``deleted_at`` and ``seq``, the value of the local change counter
(table ``change_seq``) when the record was last written. Times are UTC ISO-8601 text
(``2025-01-31T18:04:05.123456+00:00``), which sorts and compares as text. Workouts and sets also
keep ``utc_offset_min``, the local offset when they started: calendar days (streaks, weeks, "today")
are the user's local days, ``date(started_at, utc_offset_min || ' minutes')``.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _sync_columns() -> list[Column[object]]:
    return [
        Column("created_at", Text, nullable=False),
        Column("modified_at", Text, nullable=False),
        Column("deleted_at", Text, nullable=True),
        Column("seq", Integer, nullable=False, index=True),
    ]


def _id() -> Column[str]:
    return Column("id", Text, primary_key=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, Text, ForeignKey(f"{target}.id"), nullable=nullable)


change_seq = Table(
    "change_seq",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

profiles = Table(
    "profiles",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),  # "home" | "member"
    Column("pin_hash", Text, nullable=True),  # "scrypt$n$r$p$salt_hex$hash_hex"
    Column("unit", Text, nullable=False),  # preferred load unit: "kg" | "lb"
    *_sync_columns(),
    CheckConstraint("kind IN ('home', 'member')", name="kind"),
    CheckConstraint("unit IN ('kg', 'lb')", name="unit"),
)

devices = Table(
    "devices",
    metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("platform", Text, nullable=False),
    *_sync_columns(),
)

programs = Table(
    "programs",
    metadata,
    _id(),
    _fk("profile_id", "profiles"),
    Column("name", Text, nullable=False),
    Column("goal", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("days_per_week", Integer, nullable=False),
    Column("plan_json", Text, nullable=False),  # the whole plan, app.programs.plans.Plan.to_json()
    Column("active", Integer, nullable=False),
    *_sync_columns(),
)

workouts = Table(
    "workouts",
    metadata,
    _id(),
    _fk("profile_id", "profiles"),
    _fk("device_id", "devices", nullable=True),
    _fk("program_id", "programs", nullable=True),
    Column("started_at", Text, nullable=False),
    Column("ended_at", Text, nullable=True),
    Column("source", Text, nullable=False),  # "video" | "live" | "manual"
    Column("notes", Text, nullable=False, default=""),
    Column("utc_offset_min", Integer, nullable=True),  # local UTC offset at started_at, minutes
    Column("program_session", Integer, nullable=True),  # 0-based session of program_id it did
    *_sync_columns(),
    Index("ix_workouts_profile_started", "profile_id", "started_at"),
    Index("ix_workouts_program_session", "program_id", "program_session"),
)

workout_exercises = Table(
    "workout_exercises",
    metadata,
    _id(),
    _fk("workout_id", "workouts"),
    Column("exercise", Text, nullable=False),  # exercise spec id, e.g. "squat"
    Column("position", Integer, nullable=False),
    *_sync_columns(),
    Index("ix_workout_exercises_workout", "workout_id"),
)

sets = Table(
    "sets",
    metadata,
    _id(),
    _fk("workout_exercise_id", "workout_exercises"),
    # Denormalised from the parents so history and leaderboard queries never touch reps.
    _fk("workout_id", "workouts"),
    _fk("profile_id", "profiles"),
    Column("exercise", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("ended_at", Text, nullable=True),
    Column("target_reps", Integer, nullable=True),
    Column("achieved_reps", Integer, nullable=False),
    Column("clean_reps", Integer, nullable=False),  # reps without a form fault
    Column("partial_reps", Integer, nullable=False),
    Column("load", Float, nullable=True),  # None: bodyweight
    Column("unit", Text, nullable=True),
    Column("utc_offset_min", Integer, nullable=True),  # local UTC offset at started_at, minutes
    Column("hold_s", Float, nullable=True),  # seconds held (plank); NULL for a set of reps
    *_sync_columns(),
    CheckConstraint("unit IS NULL OR unit IN ('kg', 'lb')", name="unit"),
    Index("ix_sets_profile_started", "profile_id", "started_at"),
    Index("ix_sets_workout", "workout_id"),
    Index("ix_sets_exercise_started", "profile_id", "exercise", "started_at"),
)

reps = Table(
    "reps",
    metadata,
    _id(),
    _fk("set_id", "sets"),
    Column("idx", Integer, nullable=False),  # RepDetail.index
    Column("start_s", Float, nullable=False),
    Column("turn_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("eccentric_s", Float, nullable=False),
    Column("pause_s", Float, nullable=False),
    Column("concentric_s", Float, nullable=False),
    Column("rom_deg", Float, nullable=True),
    Column("mean_speed_dps", Float, nullable=False),
    Column("peak_speed_dps", Float, nullable=False),
    Column("side", Text, nullable=False),
    Column("faults", Text, nullable=False),  # JSON list of fault ids
    Column("signature", Text, nullable=True),  # JSON list: RepDetail.signature (NULL: none measured)
    *_sync_columns(),
    Index("ix_reps_set_idx", "set_id", "idx"),
)

events = Table(
    "events",
    metadata,
    _id(),
    _fk("workout_id", "workouts"),
    _fk("set_id", "sets", nullable=True),
    Column("t", Float, nullable=False),  # stream time, seconds
    Column("kind", Text, nullable=False),  # event class name, e.g. "FormFault"
    Column("payload", Text, nullable=False),  # JSON object
    *_sync_columns(),
    Index("ix_events_workout", "workout_id"),
)

cues = Table(
    "cues",
    metadata,
    _id(),
    _fk("workout_id", "workouts"),
    _fk("set_id", "sets", nullable=True),
    Column("t", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("fault", Text, nullable=True),
    *_sync_columns(),
    Index("ix_cues_workout", "workout_id"),
)

personal_records = Table(
    "personal_records",
    metadata,
    _id(),
    _fk("profile_id", "profiles"),
    _fk("set_id", "sets", nullable=True),
    Column("exercise", Text, nullable=False),
    Column("kind", Text, nullable=False),  # "max_reps" | "e1rm_epley" | "e1rm_brzycki" | "max_load"
    Column("value", Float, nullable=False),
    Column("unit", Text, nullable=True),
    Column("achieved_at", Text, nullable=False),
    *_sync_columns(),
    Index("ix_personal_records_profile_exercise", "profile_id", "exercise", "kind"),
)

exports = Table(
    "exports",
    metadata,
    _id(),
    _fk("profile_id", "profiles", nullable=True),
    Column("format", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    *_sync_columns(),
)

SYNCED_TABLES = (
    profiles, devices, programs, workouts, workout_exercises, sets, reps, events, cues,
    personal_records, exports,
)  # fmt: skip
