"""rep signatures: the devices' new ``reps.signature``, and its pgvector with an HNSW index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

from app.engine.exercises.signature import SIZE as SIGNATURE_SIZE
from server_sync.schema import EMBEDDING_SQL

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.add_column("reps", sa.Column("signature", sa.Text(), nullable=True))
    op.add_column(
        "reps",
        sa.Column(
            "embedding", Vector(SIGNATURE_SIZE), sa.Computed(EMBEDDING_SQL, persisted=True), nullable=True
        ),
    )
    op.create_index(
        "ix_reps_embedding",
        "reps",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_l2_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_reps_embedding", table_name="reps")
    op.drop_column("reps", "embedding")
    op.drop_column("reps", "signature")
