"""The sync protocol's messages (JSON over HTTP, version 1), shared by the client and the server.

A row travels as the device stores it: every column of its table except the device's own change
counter ``seq``, its UUID ``id`` and its tombstone ``deleted_at`` included.

- push: ``PushRequest`` (the device's changes since its last acknowledged push, in its change
  order) -> ``PushResponse`` (the server's versions of the rows whose pushed version lost).
- pull: ``GET /v1/sync/pull?after=N`` -> ``PullResponse``: rows whose server sequence is past N, in
  that order; ``cursor`` is the next ``after``.
- check: ``POST /v1/sync/check`` with the device's per-table counts and checksums of
  (id, modified_at, deleted_at) (``row_digest``) -> ``CheckResponse``: the server compares them
  with its own (``GET /v1/sync/summary``) and keeps the result on the device's record.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
MAX_PUSH_ROWS = 2000
MAX_PULL_ROWS = 5000

JsonValue = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Change(_Model):
    """One row of one table."""

    table: str
    row: dict[str, JsonValue]


class PushRequest(_Model):
    changes: list[Change] = Field(max_length=MAX_PUSH_ROWS)


class PushResponse(_Model):
    received: int  # rows in the request
    written: int  # rows the server stored (new, or newer than its own)
    conflicts: list[Change]  # rows whose pushed version lost: the server's (winning) version
    server_seq: int  # the server's sequence after this push


class PulledChange(_Model):
    table: str
    seq: int  # server sequence of this version
    row: dict[str, JsonValue]


class PullResponse(_Model):
    changes: list[PulledChange]
    cursor: int  # pass as ``after`` next time
    more: bool  # more rows past ``cursor`` right now


class TableSummary(_Model):
    count: int
    checksum: str  # decimal sum of row_digest over the table's rows


class Summary(_Model):
    tables: dict[str, TableSummary]
    server_seq: int


class CheckRequest(_Model):
    """The device's own counts and checksums, after it pulled up to ``cursor``."""

    cursor: int
    tables: dict[str, TableSummary]


class CheckResponse(_Model):
    status: str  # "ok", "mismatch" (see ``differ``), "behind" (pull past ``server_seq`` first)
    differ: list[str]
    server_seq: int


class EnrolRequest(_Model):
    code: str = Field(min_length=4, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    platform: str = Field(default="", max_length=100)


class EnrolResponse(_Model):
    device_id: str
    gym: str
    token: str


class Health(_Model):
    status: str
    database: str
    version: str
    protocol: int = PROTOCOL_VERSION


def row_digest(row_id: str, modified_at: str, deleted_at: str | None) -> int:
    """A row's part of its table's checksum: the first 60 bits of md5(id|modified_at|deleted_at).

    The server computes the same in SQL; a table's checksum is the sum over its rows, so it does not
    depend on their order."""
    text = f"{row_id}|{modified_at}|{deleted_at or ''}"
    return int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:15], 16)
