"""One sync of this device with its server: push, pull, apply, check.

1. push every local change since the last acknowledged push (up to the change counter's value when
   the sync started), table by table, each page with an ``Idempotency-Key`` made from its contents,
   so a page sent again after a lost answer is recognised. Rows whose pushed version lost come back
   in the answer (the server's winning version).
2. pull every server row past the cursor, page by page, then apply them with those winning
   versions in one transaction (through the database's writer thread when it runs), and only then
   move the cursor and the push watermark. Cut off anywhere, the next sync starts again from the
   last watermark and cursor: nothing lost, nothing doubled.
3. send the per-table counts and checksums to the server, which compares them with its own (and
   keeps the result on the device's record); a mismatch starts a full resync (push and pull
   everything), and a second mismatch is an error naming the tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Connection

from app.errors import SyncError
from app.storage.db import Database

from . import local
from .http import Retry, SyncHttp
from .state import SyncState, load_state, save_state
from .tokens import load_token, store_token
from .wire import (
    MAX_PULL_ROWS,
    Change,
    CheckRequest,
    CheckResponse,
    EnrolRequest,
    EnrolResponse,
    PullResponse,
    PushRequest,
    PushResponse,
)

log = logging.getLogger(__name__)

PUSH_PAGE = 500
PULL_PAGE = MAX_PULL_ROWS
CHECK_ROUNDS = 3
Progress = Callable[[str], None]


@dataclass
class SyncReport:
    pushed: int = 0  # rows sent
    pulled: int = 0  # rows received
    written: int = 0  # rows written here
    conflicts: int = 0  # pushed rows another device's newer version beat
    check: str = "not run"  # "ok", "ok after a full resync", "deferred: ..."
    mismatched: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"pushed {self.pushed} rows, pulled {self.pulled} ({self.written} written here, "
            f"{self.conflicts} conflicts resolved); check: {self.check}"
        )


def enrol(
    data_dir: Path, server: str, code: str, *, name: str | None = None, client: httpx.Client | None = None
) -> SyncState:
    """Enrol this device with ``server`` using a one-time ``code``; keep its token; start afresh
    (everything local is pushed at the next sync)."""
    http = SyncHttp(server, client=client)
    try:
        device_name = name or platform.node() or "spotter"
        body = EnrolRequest(code=code, name=device_name, platform=platform.system())
        answer = http.post("/v1/enrol", EnrolResponse, body, key=uuid.uuid4().hex)
    finally:
        http.close()
    store = store_token(data_dir, _account(http.server, answer.device_id), answer.token)
    state = SyncState(
        server=http.server,
        device_id=answer.device_id,
        gym=answer.gym,
        device_name=device_name,
        token_store=store,
    )
    save_state(data_dir, state)
    return state


def _account(server: str, device_id: str) -> str:
    return f"{server}|{device_id}"


def connect(
    data_dir: Path, *, client: httpx.Client | None = None, retry: Retry | None = None
) -> tuple[SyncState, SyncHttp]:
    state = load_state(data_dir)
    if state is None:
        raise SyncError("This device is not enrolled: run `spotter sync enrol --server URL --code CODE`.")
    token = load_token(state.token_store, _account(state.server, state.device_id))
    return state, SyncHttp(state.server, token=token, client=client, retry=retry)


def pending_rows(db: Database, state: SyncState) -> int:
    """Local rows not yet acknowledged by the server (``spotter sync status``'s "to push", the app's
    "changes waiting")."""
    with db.read() as conn:
        return local.pending_count(conn, after=state.pushed_upto)


def sync_now(
    db: Database,
    data_dir: Path,
    *,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
    retry: Retry | None = None,
) -> SyncReport:
    """One whole sync (push, pull, check; a full resync on a mismatch). ``SyncError`` if it could
    not finish; what was done by then is kept and the next sync goes on from there."""
    state, http = connect(data_dir, client=client, retry=retry)
    run = _Run(db, data_dir, state, http, progress or (lambda _line: None))
    try:
        run.exchange()
        mismatched = run.check()
        if mismatched:
            run.say(f"checksums differ ({', '.join(mismatched)}): full resync")
            log.warning("sync check failed for %s; full resync", mismatched)
            state.pushed_upto, state.cursor = 0, 0
            run.full = True
            run.exchange()
            mismatched = run.check()
            if mismatched:
                run.report.mismatched = mismatched
                raise SyncError(f"This device and the server still differ after a full resync: {mismatched}.")
            run.report.check = "ok after a full resync"
    finally:
        http.close()
    state.last_sync_at = datetime.now(UTC).isoformat(timespec="seconds")
    state.last_result = run.report.describe()
    save_state(data_dir, state)
    return run.report


@dataclass
class _Run:
    """One sync's context."""

    db: Database
    data_dir: Path
    state: SyncState
    http: SyncHttp
    say: Progress
    report: SyncReport = field(default_factory=SyncReport)
    full: bool = False  # a full resync: this device's own versions come back too
    conflicts: list[Change] = field(default_factory=list)  # pushed rows' winning versions, to apply
    acknowledged: int = 0  # the server has every local change up to this one

    def exchange(self) -> None:
        self.push()
        self.pull()

    def push(self) -> None:
        state = self.state
        with self.db.read() as conn:
            upto = local.current_seq(conn)
            total = local.pending_count(conn, after=state.pushed_upto)
        if total > 0:
            self.say(f"pushing {total} changed rows")
        sent = 0
        for page in local.changes_between(self.db.read, after=state.pushed_upto, upto=upto, page=PUSH_PAGE):
            key = _page_key(state, page)
            answer = self.http.post("/v1/sync/push", PushResponse, PushRequest(changes=page), key=key)
            sent += len(page)
            self.report.pushed += len(page)
            self.conflicts += answer.conflicts  # the server's winning versions: applied with the pull
            self.say(f"pushed {sent}/{total}")
        self.report.conflicts += len(self.conflicts)
        self.acknowledged = max(state.pushed_upto, upto)
        if not self.conflicts:  # else the watermark moves once they are applied (a crash: sent again)
            state.pushed_upto = self.acknowledged
            save_state(self.data_dir, state)

    def pull(self) -> None:
        state = self.state
        pulled: list[Change] = []
        cursor, more = state.cursor, True
        while more:
            params = {"after": cursor, "limit": PULL_PAGE, "mine": self.full}
            page = self.http.get("/v1/sync/pull", PullResponse, params=params)
            pulled += [Change(table=c.table, row=c.row) for c in page.changes]
            cursor, more = page.cursor, page.more
            if page.changes:
                self.say(f"pulled {len(pulled)} rows")
        changes = self.conflicts + pulled  # one transaction; a row pulled after its conflict wins
        acknowledged = max(state.pushed_upto, self.acknowledged)
        if changes:
            applied = self.apply(changes, pushed_upto=acknowledged)
            self.report.pulled += len(pulled)
            self.report.written += applied.written
            acknowledged = max(acknowledged, applied.echo_free_upto(acknowledged) or 0)
        self.conflicts = []
        if (cursor, acknowledged) != (state.cursor, state.pushed_upto):
            state.cursor, state.pushed_upto = cursor, acknowledged
            save_state(self.data_dir, state)

    def check(self) -> list[str]:
        """The tables whose counts or checksums differ from the server's (empty: equal, or the
        check was deferred). The server compares them too and keeps the result."""
        for round_ in range(CHECK_ROUNDS):
            with self.db.read() as conn:
                if local.current_seq(conn) > self.state.pushed_upto:
                    self.report.check = "deferred: local changes made during the sync"
                    return []
                mine = local.summaries(conn)
            body = CheckRequest(cursor=self.state.cursor, tables=mine)
            key = f"check-{self.state.device_id}-{uuid.uuid4().hex}"
            answer = self.http.post("/v1/sync/check", CheckResponse, body, key=key)
            if answer.status != "behind":
                if answer.status == "ok":
                    self.report.check = "ok"
                return answer.differ
            if round_ + 1 < CHECK_ROUNDS:
                self.pull()  # others pushed meanwhile: catch up first
        self.report.check = "deferred: the server kept changing"
        return []

    def apply(self, changes: Sequence[Change], *, pushed_upto: int) -> local.Applied:
        """Apply in one transaction: on the database's writer thread when it runs."""

        def work(conn: Connection) -> local.Applied:
            return local.apply_changes(conn, changes, pushed_upto=pushed_upto)

        if self.db.writer.running:
            return self.db.writer.call(work, timeout=120.0)
        with self.db.engine.begin() as conn:
            return work(conn)


def _page_key(state: SyncState, page: Sequence[Change]) -> str:
    digest = hashlib.sha256(state.device_id.encode())
    digest.update(json.dumps([c.model_dump(mode="json") for c in page], sort_keys=True).encode())
    return "push-" + digest.hexdigest()[:40]
