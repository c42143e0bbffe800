"""rep signatures

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 21:30:00

- ``reps.signature``: the rep's movement signature (``app.engine.exercises.signature``) as a JSON
  list, for comparing reps (the sync server indexes it with pgvector). NULL for reps recorded
  before: their frames are gone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("reps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reps", schema=None) as batch_op:
        batch_op.drop_column("signature")
