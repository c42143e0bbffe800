"""device checks: when each device last compared its counts and checksums, and the result

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 19:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("sync_devices", sa.Column("last_check_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sync_devices", sa.Column("last_check", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("sync_devices", "last_check")
    op.drop_column("sync_devices", "last_check_at")
