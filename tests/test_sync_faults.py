"""Sync through a hostile network and crashes, on the real server and the real embedded Postgres.

- Three devices (one member training on two of them) sync again and again, concurrently, through
  ``fault_proxy.FaultProxy`` (connections dropped mid-request, answers lost, delays, duplicated and
  reordered requests) until at least 100 faults were injected, adding workouts between syncs; then
  a clean sync: every row of every synced table is on every device and the server, once, equal,
  exactly the rows the devices made, and the counts and checksums agree (no full resync needed on
  the way). The figures are printed (``pytest -s``). The proxy's decisions are the seed's, in
  request order; which device's request is the n-th depends on the threads' timing, so the figures
  move a little from run to run (the rows do not).
- ``spotter-sync serve`` killed with SIGKILL with a push page just handed to it, and once it
  committed one; restarted on the same data folder: the sync resumes, nothing lost or doubled.
- ``spotter sync`` (a child process) killed with SIGKILL in the middle of its pull: nothing of it
  applied, and the next sync ends with every row exactly once.

The client's retries wait little here: ``sync_now(retry=Retry(base_s=0.01, cap_s=0.1, ...))`` (the
existing parameter; 3 attempts, so some syncs fail outright and the next one resumes).
"""

from __future__ import annotations

import functools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fault_proxy import FaultProxy, Request
from sqlalchemy import Engine, select
from sync_support import (
    device_rows,
    free_port,
    new_gym,
    open_folder,
    server_config,
    start_serve,
    stop_everything,
)
from workouts import seed_workouts

from app.errors import SyncError
from app.storage import Database, open_database
from app.storage import operations as ops
from app.sync import local
from app.sync.http import TIMEOUT, Retry
from app.sync.run import SyncReport, enrol, sync_now
from app.sync.state import load_state
from server_sync import service as svc
from server_sync.api import create_app
from server_sync.db import make_engine
from server_sync.embedded import EmbeddedPostgres

SEED = 16
FAULTS_WANTED = 100
FAULT_RATE = 0.3  # of the requests
TRAIN_RATE = 0.8  # of the devices, each round


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@contextmanager
def uvicorn_server(engine: Engine) -> Iterator[int]:
    """The real app served by uvicorn on loopback (in a thread); its port."""
    config = uvicorn.Config(
        create_app(server_config(), engine=engine),
        host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on",
    )  # fmt: skip
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, name="uvicorn-faults", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not http.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield int(http.servers[0].sockets[0].getsockname()[1])
    finally:
        http.should_exit = True
        thread.join(15)
    assert not thread.is_alive()


def enrol_code(engine: Engine, gym: str) -> str:
    with engine.begin() as conn:
        return svc.create_enrol_code(conn, gym)


class Device:
    """A device with its own data folder, enrolled through ``server`` (the proxy); remembers the ids
    of the rows it made itself."""

    def __init__(self, root: Path, name: str, server: str, code: str, *, seed: int) -> None:
        self.name = name
        self.folder = root / name
        self.db: Database = open_database(self.folder)
        self.client = httpx.Client(timeout=TIMEOUT, trust_env=False)
        enrol(self.folder, server, code, name=name, client=self.client)
        self.retried = 0  # retry waits during the current sync
        self.retry = Retry(attempts=3, base_s=0.01, cap_s=0.1, sleep=self._wait, rng=random.Random(seed))
        self.created: dict[str, set[str]] = {t: set() for t in local.TABLES}
        self.syncs = self.syncs_retried = self.syncs_failed = 0
        self.checks: list[str] = []  # the check's outcome, each sync that finished
        self.errors: list[str] = []  # why each sync that failed did

    def _wait(self, seconds: float) -> None:
        self.retried += 1
        time.sleep(seconds)

    def make(self, write: Callable[[Database], object]) -> None:
        """Write here (the rows it adds are this device's)."""
        before = self.ids()
        write(self.db)
        for table, ids in self.ids().items():
            self.created[table] |= set(ids) - set(before[table])

    def train(self, profile: str, days: int = 1) -> None:
        self.make(lambda db: seed_workouts(db, profile, days=days))

    def sync(self) -> SyncReport | None:
        """One sync; None when it failed (what it did is kept, the next one goes on from there)."""
        self.syncs += 1
        self.retried = 0
        try:
            report = sync_now(self.db, self.folder, client=self.client, retry=self.retry)
        except SyncError as exc:
            self.syncs_failed += 1
            self.errors.append(str(exc))
            return None
        finally:
            self.syncs_retried += self.retried > 0
        self.checks.append(report.check)
        return report

    def ids(self) -> dict[str, list[str]]:
        with self.db.read() as conn:
            return {
                name: [str(r[0]) for r in conn.execute(select(t.c.id))] for name, t in local.TABLES.items()
            }

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        return device_rows(self.db, table)

    def reopen(self) -> None:
        self.db = open_database(self.folder)
        self.client = httpx.Client(timeout=TIMEOUT, trust_env=False)

    def close(self) -> None:
        self.db.close()
        self.client.close()


def server_rows(engine: Engine, gym: str, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        gym_id = svc.gym_id_of(conn, gym)
        assert gym_id is not None
        return [dict(r) for r in svc.device_rows(conn, gym_id, table)]


def server_summaries(engine: Engine, gym: str) -> dict[str, Any]:
    with engine.connect() as conn:
        gym_id = svc.gym_id_of(conn, gym)
        assert gym_id is not None
        return dict(svc.summary(conn, svc.Device(id="audit", gym_id=gym_id, name="audit")).tables)


def audit(devices: list[Device], engine: Engine, gym: str) -> tuple[int, int, int]:
    """Every synced table the same, row by row, on every device and the server; each row once;
    exactly the rows the devices made. (rows on each side, lost, doubled)."""
    lost = doubled = total = 0
    for table in local.TABLES:
        made = set().union(*(d.created[table] for d in devices))
        on_server = server_rows(engine, table=table, gym=gym)
        server_ids = [str(r["id"]) for r in on_server]
        sides = [server_ids] + [d.ids()[table] for d in devices]
        for ids in sides:
            lost += len(made - set(ids))
            doubled += len(ids) - len(set(ids)) + len(set(ids) - made)
        total += len(made)
        server_by_id = {str(r["id"]): r for r in on_server}
        for d in devices:
            assert d.rows(table) == server_by_id, f"{table} differs between {d.name} and the server"
    summary = server_summaries(engine, gym)
    for d in devices:
        with d.db.read() as conn:
            assert local.summaries(conn) == summary, f"counts or checksums differ on {d.name}"
    return total, lost, doubled


def run_concurrently(work: list[Callable[[], None]]) -> None:
    """``work`` in threads of its own; the first exception any raised, raised here."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a device's sync hung"
    if errors:
        raise errors[0]


def train_and_sync(device: Device, member: str | None) -> None:
    if member is not None:
        device.train(member)
    device.sync()


def test_a_hundred_faults_lose_and_double_nothing(
    tmp_path: Path, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.sync.run.PUSH_PAGE", 60)  # more pages: more requests for faults to hit
    monkeypatch.setattr("app.sync.run.PULL_PAGE", 300)
    gym = new_gym()
    rng = random.Random(SEED)
    with uvicorn_server(sync_engine) as port, FaultProxy(port, seed=SEED) as proxy:
        kiosk, home, studio = devices = [
            Device(tmp_path, name, proxy.url, enrol_code(sync_engine, gym), seed=SEED + n)
            for n, name in enumerate(("kiosk", "home", "studio"))
        ]
        hit: Counter[str] = Counter()  # faults by operation
        lock = threading.Lock()

        def tally(request: Request) -> None:
            if request.fault is not None:
                with lock:
                    hit[request.path.rsplit("/", 1)[-1]] += 1

        proxy.before_forward = tally
        try:
            proxy.rate = FAULT_RATE  # from the first sync on
            kiosk.make(lambda db: ops.add_profile(db, "Ana"))  # Ana signs up at the kiosk
            kiosk.train("Bo", days=8)
            studio.train("Cy", days=5)
            for d in (kiosk, home):  # her profile reaches home before she trains there
                assert any(d.sync() is not None for _ in range(10)), f"{d.name} never synced"
            assert [p.name for p in ops.list_profiles(home.db)] == ["Ana", "Bo"]
            members = {kiosk: ["Ana", "Bo"], home: ["Ana"], studio: ["Cy", "Di"]}
            rounds = 0
            while proxy.total_injected < FAULTS_WANTED:
                rounds += 1
                assert rounds <= 100, f"only {proxy.figures()} faults after 100 rounds"
                trains = [rng.choice(members[d]) if rng.random() < TRAIN_RATE else None for d in devices]
                run_concurrently(
                    [functools.partial(train_and_sync, d, m) for d, m in zip(devices, trains, strict=True)]
                )

            proxy.rate = 0.0  # a clean network; the held copies arrive, late
            proxy.settle()
            figures = proxy.figures()
            faulty_syncs = sum(d.syncs for d in devices)
            retried = sum(d.syncs_retried for d in devices)
            failed = sum(d.syncs_failed for d in devices)
            for _ in range(2):  # each device sends what it has left, then gets what the others sent
                for d in devices:
                    assert d.sync() is not None, f"{d.name}: a clean sync failed"
            final = [d.sync() for d in devices]
            assert [r.check if r else "failed" for r in final] == ["ok"] * 3
            assert all(r is not None and r.pushed == r.pulled == 0 for r in final)
            total, lost, doubled = audit(devices, sync_engine, gym)
            resyncs = sum(c.endswith("full resync") for d in devices for c in d.checks)
            print(
                f"\nfaults injected: {figures}, on push {hit['push']}, pull {hit['pull']}, check "
                f"{hit['check']}; {proxy.late_copies} late copies reached the server; "
                f"syncs {faulty_syncs} in {rounds} rounds of 3 devices ({retried} retried through "
                f"faults, {failed} failed and resumed by the next; {resyncs} full resyncs); rows "
                f"{total:,} on every side (3 devices and the server), {lost} lost, {doubled} doubled, "
                "counts and checksums equal"
            )
            assert proxy.total_injected >= FAULTS_WANTED and all(proxy.injected[k] > 0 for k in proxy.kinds)
            assert all(hit[op] > 0 for op in ("push", "pull", "check"))
            assert lost == 0 and doubled == 0
            assert resyncs == 0  # a mismatch would mean rows went astray (repaired, but astray)
            assert all("could not be reached" in e for d in devices for e in d.errors)
            anas = [w.id for w in ops.workout_history(home.db, profile="Ana")]
            assert len(anas) > 1 and anas == [w.id for w in ops.workout_history(kiosk.db, profile="Ana")]
        finally:
            for d in devices:
                d.close()


# ------------------------------------------------------------------------- crashes, for real
def serve_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SPOTTER_SYNC_RATE_PER_S"] = "0"  # no rate limit: the test syncs fast
    return env


KILL_AT_PAGE = 7


@pytest.mark.parametrize("committed", [False, True], ids=["page-in-flight", "page-committed"])
def test_server_sigkilled_mid_push_resumes_with_nothing_lost_or_doubled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    """Killed with a push page just handed to it (rolled back, or not), or once it committed one
    (its answer lost or the last thing it sent): either way the next sync, on the restarted server,
    ends with every row on both sides once."""
    monkeypatch.setattr("app.sync.run.PUSH_PAGE", 50)
    root = open_folder("spotter-sync-kill-")
    data, log, port, gym = root / "server", root / "serve.log", free_port(), "Killed mid-push"
    pg = data / "postgres"
    procs: list[subprocess.Popen[bytes]] = []
    engine: Engine | None = None
    devices: list[Device] = []
    try:
        procs.append(start_serve(data, port, log, env=serve_env()))
        engine = make_engine(EmbeddedPostgres(pg).url, pool_size=1)  # the server's Postgres, to look in
        cli = [sys.executable, "-m", "server_sync.cli", "--data-dir", str(data), "enrol-code", "--gym", gym]

        def code() -> str:
            made = subprocess.run(
                cli, env=serve_env(), capture_output=True, text=True, timeout=60, check=True
            )
            return made.stdout.strip()

        with FaultProxy(port, seed=SEED) as proxy:
            kiosk = Device(tmp_path, "kiosk", proxy.url, code(), seed=SEED)
            devices.append(kiosk)
            kiosk.train("Eve", days=6)
            rows = sum(len(ids) for ids in kiosk.created.values())
            with kiosk.db.read() as conn:
                upto = local.current_seq(conn)
            pages = [len(p) for p in local.changes_between(kiosk.db.read, after=0, upto=upto, page=50)]
            assert len(pages) >= 8 and sum(pages) == rows

            answered = sum(pages[: KILL_AT_PAGE - 1])
            with_page = answered + pages[KILL_AT_PAGE - 1]
            pushes: list[int] = []

            def server_holds() -> int:
                assert engine is not None
                return sum(len(server_rows(engine, gym, t)) for t in local.TABLES)

            def kill_at_the_seventh_page(request: Request) -> None:
                if request.path == "/v1/sync/push":
                    pushes.append(request.number)
                    if len(pushes) == KILL_AT_PAGE:  # the page is with the server
                        deadline = time.monotonic() + 15
                        while committed and server_holds() < with_page and time.monotonic() < deadline:
                            time.sleep(0.01)
                        procs[0].send_signal(signal.SIGKILL)
                        procs[0].wait(10)

            proxy.after_forward = kill_at_the_seventh_page
            assert kiosk.sync() is None  # the server is gone: retries exhausted
            proxy.after_forward = None
            assert len(pushes) == KILL_AT_PAGE
            state = load_state(kiosk.folder)
            assert state is not None
            with kiosk.db.read() as conn:
                assert local.pending_count(conn, after=state.pushed_upto) == rows  # nothing marked as sent
            held = server_holds()  # Postgres lived on
            assert held == with_page if committed else held in (answered, with_page)  # a page: all or nothing
            killed_page = "committed" if held > answered else "rolled back"

            procs.append(
                start_serve(data, port, log, env=serve_env())
            )  # the same folder: its Postgres taken over
            report = kiosk.sync()
            assert report is not None and report.check == "ok"
            home = Device(tmp_path, "home", proxy.url, code(), seed=SEED + 1)
            devices.append(home)
            report = home.sync()
            assert report is not None and report.check == "ok" and report.pulled == rows
            total, lost, doubled = audit(devices, engine, gym)
            print(
                f"\nserver SIGKILLed with push page {KILL_AT_PAGE} of {len(pages)} in flight ({held} of "
                f"{rows} rows on the server, the page {killed_page}); restarted, resumed: rows {total:,} "
                f"on both devices and the server, {lost} lost, {doubled} doubled"
            )
            assert (total, lost, doubled) == (rows, 0, 0)
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(30) in (0, -signal.SIGTERM)
    finally:
        for d in devices:
            d.close()
        if engine is not None:
            engine.dispose()
        stop_everything(procs, pg, root)


CHILD_SYNC = (
    "import sys\n"
    "import app.sync.run\n"
    "from app.cli import main\n"
    "app.sync.run.PULL_PAGE = 40\n"  # pages: the kill comes after some were pulled
    "raise SystemExit(main(['--data-dir', sys.argv[1], 'sync']))\n"
)


def test_client_sigkilled_mid_pull_ends_with_every_row_once(tmp_path: Path, sync_engine: Engine) -> None:
    gym = new_gym()
    with uvicorn_server(sync_engine) as port, FaultProxy(port, seed=SEED) as proxy:
        kiosk = Device(tmp_path, "kiosk", proxy.url, enrol_code(sync_engine, gym), seed=SEED)
        home = Device(tmp_path, "home", proxy.url, enrol_code(sync_engine, gym), seed=SEED + 1)
        devices = [kiosk, home]
        try:
            kiosk.train("Fay", days=4)
            assert kiosk.sync() is not None
            home.train("Gil", days=1)
            own = {t: set(ids) for t, ids in home.ids().items()}
            home.close()  # the child has the folder now

            pulls: list[int] = []
            holding, release = threading.Event(), threading.Event()

            def hold_the_third_pull(request: Request) -> None:
                if request.path == "/v1/sync/pull":
                    pulls.append(request.number)
                    if len(pulls) == 3:
                        holding.set()
                        release.wait(60)

            proxy.before_forward = hold_the_third_pull
            log = tmp_path / "child.log"
            with log.open("wb") as out:
                child = subprocess.Popen(
                    [sys.executable, "-c", CHILD_SYNC, str(home.folder)],
                    stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
                )  # fmt: skip
            try:
                assert holding.wait(60), log.read_text()[-2000:]
                child.send_signal(signal.SIGKILL)  # two pages pulled, the third on its way
                assert child.wait(10) == -signal.SIGKILL
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait(10)
                release.set()
            proxy.before_forward = None
            assert "pushed" in log.read_text()  # its own workout went first

            home.reopen()
            assert {t: set(ids) for t, ids in home.ids().items()} == own  # nothing half-applied
            report = home.sync()
            assert report is not None and report.check == "ok" and report.pushed == 0
            assert kiosk.sync() is not None
            total, lost, doubled = audit(devices, sync_engine, gym)
            print(
                f"\nclient SIGKILLed mid-pull (2 of {-(-report.pulled // 40)} pages pulled, the 3rd held); "
                f"synced again: rows {total:,} on both devices and the server, {lost} lost, {doubled} doubled"
            )
            assert lost == doubled == 0
            assert total == sum(len(ids) for d in devices for ids in d.created.values())
        finally:
            for d in devices:
                d.close()
