"""What the endpoints do, as functions of a SQLAlchemy ``Connection``: enrolment, devices, push,
pull and the count/checksum summary. No HTTP here; ``ProblemError``s carry the status to answer.

Ordering: every write of a gym's rows takes that gym's advisory transaction lock before it draws
sequence numbers, so a gym's rows commit in the order of their ``server_seq``, and a device that
has read up to N can never later find a row below N committed (the pull cursor is safe).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, Text, and_, bindparam, column, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB, insert

from app.sync.wire import (
    MAX_PULL_ROWS,
    Change,
    CheckRequest,
    CheckResponse,
    EnrolResponse,
    PulledChange,
    PullResponse,
    PushRequest,
    PushResponse,
    Summary,
    TableSummary,
)

from . import schema as s
from .problems import ProblemError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 10
CODE_TTL = timedelta(hours=24)
KEEP_SPENT_CODES = timedelta(days=30)  # expired codes are kept this long (who enrolled what), then dropped
KEEP_RESPONSES = timedelta(hours=24)  # how long a POST's answer is replayed for its Idempotency-Key
INSERT_CHUNK = 500
TIME_COLUMNS = ("created_at", "modified_at", "deleted_at")


def sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------- enrolment
def create_enrol_code(conn: Connection, gym: str, *, ttl: timedelta = CODE_TTL) -> str:
    """A one-time device enrolment code for ``gym`` (created if new), valid for ``ttl``."""
    gym_id = conn.execute(select(s.gyms.c.id).where(s.gyms.c.name == gym)).scalar()
    if gym_id is None:
        gym_id = secrets.token_hex(16)
        conn.execute(s.gyms.insert().values(id=gym_id, name=gym, created_at=now()))
    ec = s.enrol_codes.c
    conn.execute(s.enrol_codes.delete().where(ec.expires_at < now() - KEEP_SPENT_CODES))  # old ones go
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    conn.execute(
        s.enrol_codes.insert().values(
            code_hash=sha256(normalise_code(code)), gym_id=gym_id, created_at=now(), expires_at=now() + ttl
        )
    )
    return f"{code[:5]}-{code[5:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def enrol_scope(code: str) -> str:
    return "enrol:" + sha256(normalise_code(code)).hex()


def enrol_device(conn: Connection, code: str, *, name: str, platform: str) -> EnrolResponse:
    """Spend the one-time ``code``: a new device of its gym, and the device's bearer token (only
    its hash is kept)."""
    code_hash = sha256(normalise_code(code))
    row = conn.execute(
        select(s.enrol_codes, s.gyms.c.name.label("gym_name"))
        .join(s.gyms, s.gyms.c.id == s.enrol_codes.c.gym_id)
        .where(s.enrol_codes.c.code_hash == code_hash)
        .with_for_update(of=s.enrol_codes)
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise ProblemError(403, "Invalid enrolment code", "The code is unknown, used or expired.")
    device_id = secrets.token_hex(16)
    token = "spd_" + secrets.token_urlsafe(32)
    conn.execute(
        s.devices_auth.insert().values(
            id=device_id, gym_id=row.gym_id, name=name, platform=platform,
            token_hash=sha256(token), created_at=now(),
        )
    )  # fmt: skip
    conn.execute(
        update(s.enrol_codes)
        .where(s.enrol_codes.c.code_hash == code_hash)
        .values(used_at=now(), device_id=device_id)
    )
    return EnrolResponse(device_id=device_id, gym=row.gym_name, token=token)


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    gym_id: str
    name: str


def authenticate(conn: Connection, token: str) -> Device | None:
    """The device holding ``token``; None for an unknown or revoked one. The first use of a token
    forgets the enrolment's stored response (the only copy of the token the server ever kept)."""
    d = s.devices_auth
    row = conn.execute(
        select(d.c.id, d.c.gym_id, d.c.name, d.c.last_seen_at).where(
            d.c.token_hash == sha256(token), d.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    if row.last_seen_at is None:
        scopes = select(func.concat("enrol:", func.encode(s.enrol_codes.c.code_hash, "hex"))).where(
            s.enrol_codes.c.device_id == row.id
        )
        conn.execute(s.idempotency.delete().where(s.idempotency.c.scope.in_(scopes)))
    conn.execute(update(d).where(d.c.id == row.id).values(last_seen_at=now()))
    return Device(id=row.id, gym_id=row.gym_id, name=row.name)


# ------------------------------------------------------------------------------- idempotency
def stored_response(conn: Connection, scope: str, key: str, request_hash: bytes) -> dict[str, Any] | None:
    """The response stored under (``scope``, ``key``); 422 when the key came with another body."""
    row = conn.execute(
        select(s.idempotency.c.request_hash, s.idempotency.c.body).where(
            s.idempotency.c.scope == scope, s.idempotency.c.key == key
        )
    ).first()
    if row is None:
        return None
    if bytes(row.request_hash) != request_hash:
        raise ProblemError(
            422, "Idempotency-Key reused", "This Idempotency-Key was used with another request body."
        )
    body: dict[str, Any] = row.body
    return body


def store_response(conn: Connection, scope: str, key: str, request_hash: bytes, body: dict[str, Any]) -> None:
    conn.execute(
        insert(s.idempotency)
        .values(scope=scope, key=key, request_hash=request_hash, status_code=200, body=body, created_at=now())
        .on_conflict_do_nothing()
    )


def forget_old_responses(conn: Connection, scope: str, *, older_than: timedelta = KEEP_RESPONSES) -> None:
    """Drop the responses stored under ``scope`` longer ago than ``older_than``."""
    conn.execute(
        s.idempotency.delete().where(
            s.idempotency.c.scope == scope, s.idempotency.c.created_at < now() - older_than
        )
    )


def lock_gym(conn: Connection, gym_id: str) -> None:
    lock_scope(conn, f"gym:{gym_id}")


def lock_scope(conn: Connection, scope: str) -> None:
    """Serialise transactions on ``scope`` until this one ends (an advisory transaction lock)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": scope})


# -------------------------------------------------------------------------------------- push
def validate(request: PushRequest) -> dict[str, list[dict[str, Any]]]:
    """The pushed rows by table, complete (absent nullable columns as None), one version per id
    (the newest); 422 for an unknown table or column, or a missing required one."""
    by_table: dict[str, dict[str, dict[str, Any]]] = {}
    for n, change in enumerate(request.changes):
        table = s.SYNCED.get(change.table)
        if table is None:
            raise ProblemError(422, "Unknown table", f"changes[{n}]: no synced table {change.table!r}.")
        allowed = s.ROW_COLUMNS[change.table]
        extra = set(change.row) - set(allowed)
        if extra:
            raise ProblemError(422, "Unknown column", f"changes[{n}]: {sorted(extra)} not in {change.table}.")
        row: dict[str, Any] = {}
        for name in allowed:
            value = change.row.get(name)
            if value is None and not table.c[name].nullable:
                raise ProblemError(422, "Missing column", f"changes[{n}]: {change.table}.{name} is required.")
            row[name] = value
        for name in TIME_COLUMNS:
            if row[name] is not None and not _is_time(row[name]):
                raise ProblemError(
                    422,
                    "Invalid time",
                    f"changes[{n}]: {change.table}.{name} is not an ISO-8601 time with offset.",
                )
        rows = by_table.setdefault(change.table, {})
        old = rows.get(row["id"])
        if old is None or str(old["modified_at"]) <= str(row["modified_at"]):
            rows[row["id"]] = row
    return {name: list(rows.values()) for name, rows in by_table.items()}


def _is_time(value: object) -> bool:
    """An ISO-8601 time with its UTC offset, as the devices write them (last-writer-wins compares
    ``modified_at`` as text, so garbage there would win or lose every conflict)."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def push(conn: Connection, device: Device, request: PushRequest) -> PushResponse:
    """Store a device's batch: append-only rows are inserted once (a replay is ignored), mutable
    rows are last-writer-wins by (``modified_at``, ``origin_device``). Safe to replay."""
    by_table = validate(request)
    lock_gym(conn, device.gym_id)
    written = 0
    conflicts: list[Change] = []
    for name, rows in by_table.items():
        table = s.SYNCED[name]
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            won = _upsert(conn, table, device, chunk)
            written += len(won)
            if name not in s.APPEND_ONLY:
                lost = [r for r in chunk if r["id"] not in won]
                conflicts += _newer_versions(conn, table, device, lost)
    seq = conn.execute(text("SELECT last_value FROM sync_seq")).scalar()
    return PushResponse(
        received=len(request.changes), written=written, conflicts=conflicts, server_seq=int(seq or 0)
    )


def _upsert(conn: Connection, table: Table, device: Device, rows: list[dict[str, Any]]) -> set[str]:
    """Insert or update ``rows``; the ids actually written. The rows travel as one JSON parameter
    that Postgres unpacks (``jsonb_to_recordset``): one short statement per table, parsed once,
    where a VALUES list of every row costs the API more time than Postgres spends writing them."""
    result = conn.execute(
        _upsert_statement(table.name), {"rows": rows, "gym": device.gym_id, "device": device.id}
    )
    return {str(r[0]) for r in result}


@cache
def _upsert_statement(name: str) -> Any:
    table = s.SYNCED[name]
    names = list(s.ROW_COLUMNS[name])
    source = (
        func.jsonb_to_recordset(bindparam("rows", type_=JSONB))
        .table_valued(*[column(n, table.c[n].type) for n in names])
        .render_derived(name="r", with_types=True)
    )
    stmt = insert(table).from_select(
        [*names, "gym_id", "origin_device", "server_seq"],
        select(
            *[source.c[n] for n in names],
            bindparam("gym", type_=Text),
            bindparam("device", type_=Text),
            s.sync_seq.next_value(),
        ),
    )
    key = [table.c.gym_id, table.c.id]
    if name in s.APPEND_ONLY:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    else:
        ex = stmt.excluded
        content = [c for c in names if c != "id"]
        columns = [*content, "origin_device", "server_seq"]
        stmt = stmt.on_conflict_do_update(
            index_elements=key,
            set_={c: ex[c] for c in columns},
            where=and_(
                tuple_(table.c.modified_at, table.c.origin_device) < tuple_(ex.modified_at, ex.origin_device),
                # the same version sent again by another device is not a change (no echo rewrites)
                tuple_(*[table.c[c] for c in content]).is_distinct_from(tuple_(*[ex[c] for c in content])),
            ),
        )
    return stmt.returning(table.c.id)


def _newer_versions(
    conn: Connection, table: Table, device: Device, lost: list[dict[str, Any]]
) -> list[Change]:
    """The server's versions of ``lost`` rows that differ from the pushed ones (a replay is none)."""
    if not lost:
        return []
    pushed = {r["id"]: r for r in lost}
    rows = conn.execute(
        select(table).where(table.c.gym_id == device.gym_id, table.c.id.in_(list(pushed)))
    ).mappings()
    out = []
    for row in rows:
        theirs = _device_row(row)
        if theirs == pushed[row["id"]]:
            continue  # the same version (a replay, or the device sending back what it was given)
        out.append(Change(table=table.name, row=theirs))
    return out


def _device_row(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in s.SERVER_ONLY_COLUMNS}


# -------------------------------------------------------------------------------------- pull
def pull(
    conn: Connection, device: Device, *, after: int, limit: int = MAX_PULL_ROWS, mine: bool = False
) -> PullResponse:
    """The gym's rows written after ``after``, in server sequence order, ``limit`` at most. The
    versions this device pushed itself are left out unless ``mine`` (a full resync): it has them.
    ``cursor`` is past every row looked at, sent or not."""
    limit = max(1, min(limit, MAX_PULL_ROWS))
    parts = [
        f"SELECT '{name}' AS tbl, server_seq, origin_device, "
        f"to_jsonb(src) - '{{{','.join(s.SERVER_ONLY_COLUMNS)}}}'::text[] AS data "
        f"FROM {name} src WHERE gym_id = :g AND server_seq > :after"
        for name in s.SYNCED
    ]
    sql = " UNION ALL ".join(f"({p} ORDER BY server_seq LIMIT :n)" for p in parts)
    rows = conn.execute(
        text(f"SELECT tbl, server_seq, origin_device, data FROM ({sql}) u ORDER BY server_seq LIMIT :n"),
        {"g": device.gym_id, "after": after, "n": limit + 1},
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        PulledChange(table=r.tbl, seq=int(r.server_seq), row=r.data)
        for r in rows
        if mine or r.origin_device != device.id
    ]
    cursor = int(rows[-1].server_seq) if rows else after
    return PullResponse(changes=changes, cursor=cursor, more=more)


# ----------------------------------------------------------------------------------- summary
def summary(conn: Connection, device: Device) -> Summary:
    """Per table: rows and the checksum of (id, modified_at, deleted_at) (``app.sync.wire.row_digest``),
    with the newest server sequence of the gym's rows. Run it in a REPEATABLE READ transaction."""
    tables: dict[str, TableSummary] = {}
    newest = 0
    digest = (
        "coalesce(sum(('x' || substr(md5(id || '|' || modified_at || '|' || coalesce(deleted_at, '')),"
        " 1, 15))::bit(60)::bigint), 0)::text"
    )
    for name in s.SYNCED:
        row = conn.execute(
            text(f"SELECT count(*), {digest}, coalesce(max(server_seq), 0) FROM {name} WHERE gym_id = :g"),
            {"g": device.gym_id},
        ).one()
        tables[name] = TableSummary(count=int(row[0]), checksum=str(row[1]))
        newest = max(newest, int(row[2]))
    return Summary(tables=tables, server_seq=newest)


def check(conn: Connection, device: Device, request: CheckRequest) -> CheckResponse:
    """Compare the device's counts and checksums with the gym's (run it in REPEATABLE READ); the
    result is kept on the device's record. "behind" when rows past its cursor exist."""
    mine = summary(conn, device)
    if mine.server_seq > request.cursor:
        return CheckResponse(status="behind", differ=[], server_seq=mine.server_seq)
    differ = sorted(name for name, ours in mine.tables.items() if request.tables.get(name) != ours)
    result = "ok" if not differ else "mismatch: " + ", ".join(differ)
    d = s.devices_auth
    conn.execute(update(d).where(d.c.id == device.id).values(last_check_at=now(), last_check=result))
    return CheckResponse(status="ok" if not differ else "mismatch", differ=differ, server_seq=mine.server_seq)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    gym: str
    name: str
    platform: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    last_check: str | None


def devices(conn: Connection, *, gym: str | None = None) -> list[DeviceInfo]:
    """The enrolled devices (of ``gym``), by gym and enrolment."""
    d = s.devices_auth
    query = (
        select(d.c.id, s.gyms.c.name.label("gym"), d.c.name, d.c.platform, d.c.created_at, d.c.last_seen_at,
               d.c.revoked_at, d.c.last_check)
        .join(s.gyms, s.gyms.c.id == d.c.gym_id)
        .order_by(s.gyms.c.name, d.c.created_at)
    )  # fmt: skip
    if gym is not None:
        query = query.where(s.gyms.c.name == gym)
    return [DeviceInfo(**r._mapping) for r in conn.execute(query)]


def revoke_device(conn: Connection, device_id: str) -> bool:
    """Revoke the device's token; False when there is no such device."""
    d = s.devices_auth
    done = conn.execute(
        update(d).where(d.c.id == device_id).values(revoked_at=func.coalesce(d.c.revoked_at, now()))
    )
    return bool(done.rowcount)


def device_rows(conn: Connection, gym_id: str, table: str) -> Sequence[dict[str, Any]]:
    """Every row of ``table`` for ``gym_id`` as devices see them (tests, dumps)."""
    t = s.SYNCED[table]
    return [_device_row(r) for r in conn.execute(select(t).where(t.c.gym_id == gym_id)).mappings()]


def gym_id_of(conn: Connection, gym: str) -> str | None:
    value = conn.execute(select(s.gyms.c.id).where(s.gyms.c.name == gym)).scalar()
    return None if value is None else str(value)
