"""local days, holds and program sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00

- ``workouts.utc_offset_min`` and ``sets.utc_offset_min``: the local UTC offset (minutes east of
  UTC) when the workout or set started, so days, weeks and streaks follow the user's calendar
  while times stay UTC. Existing rows get the offset this machine's time zone had at their time.
- ``sets.hold_s``: seconds held, for time-based exercises (plank); NULL for sets of reps.
- ``workouts.program_session``: the 0-based session of ``workouts.program_id`` this workout did.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _offset_min(stamp: str) -> int:
    offset = datetime.fromisoformat(stamp).astimezone().utcoffset()
    return 0 if offset is None else int(offset.total_seconds() // 60)


def _backfill(table: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id, started_at FROM {table}")).all()
    if rows:
        conn.execute(
            sa.text(f"UPDATE {table} SET utc_offset_min = :o WHERE id = :i"),
            [{"o": _offset_min(started), "i": row_id} for row_id, started in rows],
        )


def upgrade() -> None:
    with op.batch_alter_table("workouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("utc_offset_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("program_session", sa.Integer(), nullable=True))
        batch_op.create_index("ix_workouts_program_session", ["program_id", "program_session"], unique=False)
    with op.batch_alter_table("sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("utc_offset_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hold_s", sa.Float(), nullable=True))
    _backfill("workouts")
    _backfill("sets")


def downgrade() -> None:
    with op.batch_alter_table("sets", schema=None) as batch_op:
        batch_op.drop_column("hold_s")
        batch_op.drop_column("utc_offset_min")
    with op.batch_alter_table("workouts", schema=None) as batch_op:
        batch_op.drop_index("ix_workouts_program_session")
        batch_op.drop_column("program_session")
        batch_op.drop_column("utc_offset_min")
