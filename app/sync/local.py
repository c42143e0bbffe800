"""The device's side of the rows: what changed since the last acknowledged push, applying what the
server sent, and the per-table counts and checksums. Functions of a SQLAlchemy ``Connection``.

Pushes go table by table in ``SYNCED_TABLES`` order (parents before children), so at any point a
push is cut off the server holds the parent of every child it holds. Pulled rows are applied in
one transaction with foreign keys deferred to its commit (a parent updated after its children comes
after them in the server's order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update

from app.storage import schema as s

from .wire import Change, TableSummary, row_digest

TABLES: dict[str, Table] = {t.name: t for t in s.SYNCED_TABLES}
APPEND_ONLY = frozenset({"reps", "events", "cues"})  # as on the server (server_sync.schema)
APPLY_CHUNK = 500


def current_seq(conn: Connection) -> int:
    """The local change counter: every write so far has a ``seq`` at or below it."""
    return int(conn.execute(select(s.change_seq.c.value).where(s.change_seq.c.id == 1)).scalar_one())


def pending_count(conn: Connection, *, after: int) -> int:
    """Rows written since ``after`` (not yet acknowledged by the server)."""
    total = 0
    for table in TABLES.values():
        total += int(conn.execute(select(func.count()).where(table.c.seq > after)).scalar_one())
    return total


def changes_between(
    read: Callable[[], AbstractContextManager[Connection]], *, after: int, upto: int, page: int
) -> Iterator[list[Change]]:
    """The rows whose ``seq`` is in (``after``, ``upto``], table by table, ``page`` at a time; each
    page read on a connection of its own from ``read`` (none is held while a page is sent)."""
    for name, table in TABLES.items():
        last_id = ""
        while True:
            with read() as conn:
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
    seq_before: int  # the change counter before: rows written here got seq_before+1 .. seq_after
    seq_after: int

    def echo_free_upto(self, pushed_upto: int) -> int | None:
        """Where the push watermark may move: past the rows written here, when every change up to
        them is on the server (they came from it: nothing to send back); None otherwise."""
        return self.seq_after if self.seq_before <= pushed_upto else None


def apply_changes(conn: Connection, changes: Sequence[Change], *, pushed_upto: int) -> Applied:
    """Apply the server's rows in one transaction (the caller's): a row is written when it is new
    here, or newer than ours by ``modified_at`` (equal: when it differs and ours was acknowledged).
    Rows written here get a local ``seq`` like any write (``Applied.echo_free_upto`` says whether
    the push watermark may move past them)."""
    # Python's sqlite3 opens a transaction only at the first write, and the end of each statement
    # outside one (a SELECT) switches defer_foreign_keys off again: write first, then defer.
    c = s.change_seq.c
    base = int(
        conn.execute(
            update(s.change_seq).where(c.id == 1).values(value=c.value).returning(c.value)
        ).scalar_one()
    )
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    seq = base
    written = kept = 0
    by_table: dict[str, dict[str, dict[str, Any]]] = {}
    for change in changes:  # the last version of a row wins (pulled after pushed conflicts)
        table = TABLES.get(change.table)
        if table is None:
            continue  # a table this version does not know (a newer server): left for an upgrade
        row = {k: v for k, v in change.row.items() if k in table.c and k != "seq"}
        by_table.setdefault(change.table, {})[str(row["id"])] = row
    for name, rows in by_table.items():
        table = TABLES[name]
        columns = [c.name for c in table.columns]
        inserts, updates = [], []
        for start in range(0, len(rows), APPLY_CHUNK):
            ids = list(rows)[start : start + APPLY_CHUNK]
            mine = {r["id"]: r for r in conn.execute(select(table).where(table.c.id.in_(ids))).mappings()}
            for row_id in ids:
                row = rows[row_id]
                if row_id not in mine:
                    seq += 1
                    inserts.append({**_complete(table, row), "seq": seq})
                elif _takes(name, row, mine[row_id], pushed_upto):
                    seq += 1
                    updates.append({**{c: mine[row_id][c] for c in columns}, **row, "seq": seq})
                else:
                    kept += 1
        if inserts:
            conn.execute(table.insert(), inserts)
        if updates:
            values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns if c != "id"}
            stmt = table.update().where(table.c.id == bindparam("v_id")).values(values)
            conn.execute(stmt, [{f"v_{k}": v for k, v in u.items()} for u in updates])
        written += len(inserts) + len(updates)
    if seq > base:
        conn.execute(update(s.change_seq).where(s.change_seq.c.id == 1).values(value=seq))
    return Applied(written=written, kept=kept, seq_before=base, seq_after=seq)


def _complete(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Every column (an executemany needs the same keys in each row)."""
    return {c.name: row.get(c.name) for c in table.columns if c.name != "seq"}


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
