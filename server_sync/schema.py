"""The server's schema (SQLAlchemy Core; the migrations in ``migrations/`` create it).

Every table the devices sync (``app.storage.schema.SYNCED_TABLES``) has a copy here with the same
name and columns, less the device's own change counter ``seq``, plus:

- ``gym_id``: whose row it is; the primary key is (``gym_id``, ``id``), so a device of one gym can
  never touch another gym's rows whatever UUIDs it sends;
- ``origin_device``: the server id of the device whose version this is, the tie-break of
  last-writer-wins by (``modified_at``, ``origin_device``);
- ``server_seq``: the value of the sequence ``sync_seq`` when the row was last written, every
  device's pull cursor.

There are no foreign keys between synced rows: a batch may hold a child before its parent, and
the devices check their own. Server-only tables are prefixed ``sync_``.
"""

from __future__ import annotations

from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    SmallInteger,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB
from sqlalchemy.types import TypeEngine

from app.engine.exercises.signature import SIZE as SIGNATURE_SIZE
from app.storage import schema as local

metadata = MetaData(naming_convention=local.metadata.naming_convention)  # the devices' names

sync_seq = Sequence("sync_seq", metadata=metadata)

#: Rows that are written once and never change: a replayed one is simply ignored.
APPEND_ONLY = frozenset({"reps", "events", "cues"})
#: Columns of a synced row as the devices send it (their own ``seq`` is not sent).
LOCAL_ONLY_COLUMNS = frozenset({"seq"})

gyms = Table(
    "sync_gyms",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

devices_auth = Table(
    "sync_devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("gym_id", Text, ForeignKey("sync_gyms.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),  # sha256 of the bearer token
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_check_at", DateTime(timezone=True), nullable=True),
    Column("last_check", Text, nullable=True),  # "ok" or "mismatch: <tables>"
)

enrol_codes = Table(
    "sync_enrol_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),  # sha256 of the one-time code
    Column("gym_id", Text, ForeignKey("sync_gyms.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("device_id", Text, nullable=True),
)

idempotency = Table(
    "sync_idempotency",
    metadata,
    Column("scope", Text, nullable=False),  # "device:<id>" or "enrol:<device id>"
    Column("key", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    Index("ix_sync_idempotency_created_at", "created_at"),
)


def _server_type(column: Column[Any]) -> TypeEngine[Any]:
    if isinstance(column.type, Integer):
        return BigInteger()
    if isinstance(column.type, Float):
        return DOUBLE_PRECISION()
    return Text()


def _synced_copy(source: Table) -> Table:
    columns: list[Column[Any]] = [
        Column(c.name, _server_type(c), nullable=c.nullable and not c.primary_key)
        for c in source.columns
        if c.name not in LOCAL_ONLY_COLUMNS
    ]
    return Table(
        source.name,
        metadata,
        Column("gym_id", Text, nullable=False),
        *columns,
        Column("origin_device", Text, nullable=False),
        Column("server_seq", BigInteger, nullable=False),
        PrimaryKeyConstraint("gym_id", "id"),
        Index(f"ix_{source.name}_gym_seq", "gym_id", "server_seq"),
    )


SYNCED: dict[str, Table] = {t.name: _synced_copy(t) for t in local.SYNCED_TABLES}

#: A rep's movement signature as a pgvector, computed from the ``signature`` text the device sends
#: (a JSON list); NULL when there is none or it is not ``SIGNATURE_SIZE`` numbers, so an odd
#: signature never stops a device's sync. HNSW-indexed for nearest-neighbour search.
EMBEDDING_SQL = (
    r"CASE WHEN signature ~ '^\[[-+0-9.eE, ]*\]$' THEN CASE WHEN json_array_length(signature::json) = "
    f"{SIGNATURE_SIZE} THEN signature::vector({SIGNATURE_SIZE}) END END"
)
SYNCED["reps"].append_column(
    Column("embedding", Vector(SIGNATURE_SIZE), Computed(EMBEDDING_SQL, persisted=True))
)
Index(
    "ix_reps_embedding",
    SYNCED["reps"].c.embedding,
    postgresql_using="hnsw",
    postgresql_ops={"embedding": "vector_l2_ops"},
)
#: Server-side columns a device never sends nor receives.
SERVER_ONLY_COLUMNS = ("gym_id", "origin_device", "server_seq", "embedding")
#: The columns a device sends for each table.
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in local.metadata.tables[name].columns if c.name not in LOCAL_ONLY_COLUMNS)
    for name in SYNCED
}
