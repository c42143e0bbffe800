"""initial schema: gyms, devices, enrolment codes, idempotency records, the synced tables

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-06 18:53:32.635704
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("sync_seq")))
    op.create_table(
        "cues",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workout_id", sa.Text(), nullable=False),
        sa.Column("set_id", sa.Text(), nullable=True),
        sa.Column("t", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fault", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_cues")),
    )
    op.create_index("ix_cues_gym_seq", "cues", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "devices",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_devices")),
    )
    op.create_index("ix_devices_gym_seq", "devices", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "events",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workout_id", sa.Text(), nullable=False),
        sa.Column("set_id", sa.Text(), nullable=True),
        sa.Column("t", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_gym_seq", "events", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "exports",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_gym_seq", "exports", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "personal_records",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("set_id", sa.Text(), nullable=True),
        sa.Column("exercise", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("achieved_at", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_personal_records")),
    )
    op.create_index("ix_personal_records_gym_seq", "personal_records", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "profiles",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_profiles")),
    )
    op.create_index("ix_profiles_gym_seq", "profiles", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "programs",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("days_per_week", sa.BigInteger(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("active", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_programs")),
    )
    op.create_index("ix_programs_gym_seq", "programs", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "reps",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("set_id", sa.Text(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("start_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("turn_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("end_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("eccentric_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("pause_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("concentric_s", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("rom_deg", sa.DOUBLE_PRECISION(), nullable=True),
        sa.Column("mean_speed_dps", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("peak_speed_dps", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("faults", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_reps")),
    )
    op.create_index("ix_reps_gym_seq", "reps", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "sets",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workout_exercise_id", sa.Text(), nullable=False),
        sa.Column("workout_id", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("exercise", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.Text(), nullable=True),
        sa.Column("target_reps", sa.BigInteger(), nullable=True),
        sa.Column("achieved_reps", sa.BigInteger(), nullable=False),
        sa.Column("clean_reps", sa.BigInteger(), nullable=False),
        sa.Column("partial_reps", sa.BigInteger(), nullable=False),
        sa.Column("load", sa.DOUBLE_PRECISION(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("utc_offset_min", sa.BigInteger(), nullable=True),
        sa.Column("hold_s", sa.DOUBLE_PRECISION(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_sets")),
    )
    op.create_index("ix_sets_gym_seq", "sets", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "sync_gyms",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_gyms")),
        sa.UniqueConstraint("name", name=op.f("uq_sync_gyms_name")),
    )
    op.create_table(
        "sync_idempotency",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_sync_idempotency")),
    )
    op.create_index("ix_sync_idempotency_created_at", "sync_idempotency", ["created_at"], unique=False)
    op.create_table(
        "workout_exercises",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("workout_id", sa.Text(), nullable=False),
        sa.Column("exercise", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_workout_exercises")),
    )
    op.create_index(
        "ix_workout_exercises_gym_seq", "workout_exercises", ["gym_id", "server_seq"], unique=False
    )
    op.create_table(
        "workouts",
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("profile_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("utc_offset_min", sa.BigInteger(), nullable=True),
        sa.Column("program_session", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("modified_at", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Text(), nullable=True),
        sa.Column("origin_device", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("gym_id", "id", name=op.f("pk_workouts")),
    )
    op.create_index("ix_workouts_gym_seq", "workouts", ["gym_id", "server_seq"], unique=False)
    op.create_table(
        "sync_devices",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["gym_id"], ["sync_gyms.id"], name=op.f("fk_sync_devices_gym_id_sync_gyms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sync_devices_token_hash")),
    )
    op.create_table(
        "sync_enrol_codes",
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("gym_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gym_id"], ["sync_gyms.id"], name=op.f("fk_sync_enrol_codes_gym_id_sync_gyms")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_sync_enrol_codes")),
    )


def downgrade() -> None:
    op.drop_table("sync_enrol_codes")
    op.drop_table("sync_devices")
    op.drop_index("ix_workouts_gym_seq", table_name="workouts")
    op.drop_table("workouts")
    op.drop_index("ix_workout_exercises_gym_seq", table_name="workout_exercises")
    op.drop_table("workout_exercises")
    op.drop_index("ix_sync_idempotency_created_at", table_name="sync_idempotency")
    op.drop_table("sync_idempotency")
    op.drop_table("sync_gyms")
    op.drop_index("ix_sets_gym_seq", table_name="sets")
    op.drop_table("sets")
    op.drop_index("ix_reps_gym_seq", table_name="reps")
    op.drop_table("reps")
    op.drop_index("ix_programs_gym_seq", table_name="programs")
    op.drop_table("programs")
    op.drop_index("ix_profiles_gym_seq", table_name="profiles")
    op.drop_table("profiles")
    op.drop_index("ix_personal_records_gym_seq", table_name="personal_records")
    op.drop_table("personal_records")
    op.drop_index("ix_exports_gym_seq", table_name="exports")
    op.drop_table("exports")
    op.drop_index("ix_events_gym_seq", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_devices_gym_seq", table_name="devices")
    op.drop_table("devices")
    op.drop_index("ix_cues_gym_seq", table_name="cues")
    op.drop_table("cues")
    op.execute(sa.schema.DropSequence(sa.Sequence("sync_seq")))
