"""The device's side of the rows: what changed since the last acknowledged push, applying what the
server sent, and the per-table counts and checksums. Functions of a SQLAlchemy ``Connection``.

Pushes go table by table in ``SYNCED_TABLES`` order (parents before children), so at any point a
push is cut off the server holds the parent of every child it holds. Pulled rows are applied in
one transaction with foreign keys deferred to its commit (a parent updated after its children comes
after them in the server's order).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from app.storage import schema as s
from app.storage.records import next_seq

from .wire import Change, TableSummary, row_digest

TABLES: dict[str, Table] = {t.name: t for t in s.SYNCED_TABLES}
APPEND_ONLY = frozenset({"reps", "events", "cues"})  # as on the server (server_sync.schema)


def current_seq(conn: Connection) -> int:
    """The local change counter: every write so far has a ``seq`` at or below it."""
    return int(conn.execute(select(s.change_seq.c.value).where(s.change_seq.c.id == 1)).scalar_one())


def pending_count(conn: Connection, *, after: int) -> int:
    """Rows written since ``after`` (not yet acknowledged by the server)."""
    total = 0
    for table in TABLES.values():
        total += int(conn.execute(select(func.count()).where(table.c.seq > after)).scalar_one())
    return total


def changes_between(conn: Connection, *, after: int, upto: int, page: int) -> Iterator[list[Change]]:
    """The rows whose ``seq`` is in (``after``, ``upto``], table by table, ``page`` at a time."""
    for name, table in TABLES.items():
        last_id = ""
        while True:
            rows = conn.execute(
                select(table)
                .where(table.c.seq > after, table.c.seq <= upto, table.c.id > last_id)
                .order_by(table.c.id)
                .limit(page)
            ).mappings()
            batch = [Change(table=name, row=_wire_row(r)) for r in rows]
            if not batch:
                break
            yield batch
            last_id = str(batch[-1].row["id"])
            if len(batch) < page:
                break


def _wire_row(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k != "seq"}


@dataclass(frozen=True, slots=True)
class Applied:
    written: int  # rows inserted or replaced
    kept: int  # rows left as they were (the same version, or a newer local one)
    echo_free_upto: int | None  # the push watermark may move here (no local change was pending)


def apply_changes(conn: Connection, changes: Sequence[Change], *, pushed_upto: int) -> Applied:
    """Apply the server's rows in one transaction (the caller's): a row is written when it is new
    here, or newer than ours by ``modified_at`` (equal: when it differs and ours was acknowledged).
    Rows written here get a local ``seq`` like any write; when no local change was pending before,
    the push watermark may move past them (they came from the server: nothing to send back)."""
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    pending_before = current_seq(conn) > pushed_upto
    written = kept = 0
    for change in changes:
        table = TABLES.get(change.table)
        if table is None:
            continue  # a table this version does not know (a newer server): left for an upgrade
        known = {c.name for c in table.columns}
        row = {k: v for k, v in change.row.items() if k in known}
        mine = conn.execute(
            select(table.c.modified_at, table.c.seq, *[table.c[k] for k in row]).where(
                table.c.id == row["id"]
            )
        ).first()
        if mine is None:
            conn.execute(table.insert().values({**row, "seq": next_seq(conn)}))
            written += 1
        elif _takes(change.table, row, mine._mapping, pushed_upto):
            conn.execute(table.update().where(table.c.id == row["id"]).values({**row, "seq": next_seq(conn)}))
            written += 1
        else:
            kept += 1
    return Applied(written=written, kept=kept, echo_free_upto=None if pending_before else current_seq(conn))


def _takes(table: str, theirs: dict[str, Any], mine: Any, pushed_upto: int) -> bool:
    if table in APPEND_ONLY:
        return False
    if str(theirs["modified_at"]) != str(mine["modified_at"]):
        return str(theirs["modified_at"]) > str(mine["modified_at"])
    if int(mine["seq"]) > pushed_upto:
        return False  # ours is unsent with the same time: the server decides when it gets it
    return any(_differs(theirs[k], mine[k]) for k in theirs)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) != float(b)
    return bool(a != b)


def summaries(conn: Connection) -> dict[str, TableSummary]:
    """Per table: rows and the sum of ``row_digest`` (the server's ``/v1/sync/summary``)."""
    out = {}
    for name, table in TABLES.items():
        count, total = 0, 0
        for row_id, modified_at, deleted_at in conn.execute(
            select(table.c.id, table.c.modified_at, table.c.deleted_at)
        ):
            count += 1
            total += row_digest(row_id, modified_at, deleted_at)
        out[name] = TableSummary(count=count, checksum=str(total))
    return out
