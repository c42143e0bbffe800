"""The sync client against the real server app on the real embedded Postgres: a round trip, one
member on two devices, concurrent edits, tombstones, a push cut off (answer lost, then retries
exhausted) that resumes with nothing lost or doubled, a checksum mismatch that triggers a full
resync, and the ``spotter sync`` commands over real HTTP."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from sync_support import device_rows, new_gym, server_config
from workouts import seed_workouts

from app.errors import SyncError
from app.storage import Database, open_database
from app.storage import operations as ops
from app.storage import schema as s
from app.sync import local
from app.sync.http import Retry
from app.sync.run import enrol, sync_now
from app.sync.state import load_state
from server_sync import service as svc
from server_sync.api import create_app


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def server(sync_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(server_config(), engine=sync_engine), base_url="http://sync.test") as c:
        yield c


class Device:
    """A device: its own data folder and database, enrolled in ``gym``."""

    def __init__(self, root: Path, name: str, server: TestClient, engine: Engine, gym: str) -> None:
        self.folder = root / name
        self.db: Database = open_database(self.folder)
        self.client = server
        with engine.begin() as conn:
            code = svc.create_enrol_code(conn, gym)
        enrol(self.folder, "http://sync.test", code, name=name, client=server)

    def sync(self, client: httpx.Client | None = None, *, attempts: int = 6) -> Any:
        retry = Retry(attempts=attempts, base_s=0.001, sleep=lambda _s: None)
        return sync_now(self.db, self.folder, client=client or self.client, retry=retry)

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        return device_rows(self.db, table)


@pytest.fixture
def devices(tmp_path: Path, server: TestClient, sync_engine: Engine) -> Iterator[list[Device]]:
    gym = new_gym()
    made = [Device(tmp_path, name, server, sync_engine, gym) for name in ("home", "kiosk")]
    yield made
    for d in made:
        d.db.close()


def assert_same(a: Device, b: Device) -> None:
    for table in local.TABLES:
        assert a.rows(table) == b.rows(table), table


def test_round_trip_and_one_member_on_two_devices(devices: list[Device]) -> None:
    home, kiosk = devices
    ops.add_profile(kiosk.db, "Ana", pin="2468")  # a member signs up at the kiosk
    kiosk.sync()
    report = home.sync()
    assert report.check == "ok" and [p.name for p in ops.list_profiles(home.db)] == ["Ana"]
    seed_workouts(home.db, "Ana", days=3)  # she trains at home...
    seed_workouts(kiosk.db, "Ana", days=2)  # ...and at the gym
    assert home.sync().check == "ok"
    assert kiosk.sync().check == "ok"
    assert home.sync().check == "ok"
    assert_same(home, kiosk)
    history = [w.id for w in ops.workout_history(home.db, profile="Ana")]
    assert len(history) == 5
    assert history == [w.id for w in ops.workout_history(kiosk.db, profile="Ana")]
    assert len(kiosk.rows("reps")) == len(home.rows("reps")) > 100
    assert ops.pin_matches(home.db, "Ana", "2468")  # her PIN came along


def test_a_workout_synced_while_under_way(devices: list[Device], monkeypatch: pytest.MonkeyPatch) -> None:
    """A workout synced mid-set, then finished: its row (and its set's) changes after its reps were
    sent, so a device pulling afresh gets children before their parents (foreign keys deferred)."""
    from app.engine.events import RepDetail
    from app.storage.recorder import WorkoutRecorder

    home, kiosk = devices
    monkeypatch.setattr("app.sync.run.PULL_PAGE", 7)
    recorder = WorkoutRecorder(home.db, "Hal")
    recorder.start_set("squat", load=60.0, unit="kg", target_reps=5)
    for i in range(1, 4):
        recorder.rep(RepDetail(i, 0, 1, 2, 1.0, 0.2, 0.8, 90.0, 100.0, 150.0))
    home.sync()  # mid-set: 3 reps
    for i in range(4, 6):
        recorder.rep(RepDetail(i, 0, 1, 2, 1.0, 0.2, 0.8, 90.0, 100.0, 150.0))
    recorder.finish_set()
    recorder.finish()
    assert home.sync().check == "ok"
    assert kiosk.sync().check == "ok"
    assert_same(home, kiosk)
    (row,) = kiosk.rows("sets").values()
    assert row["achieved_reps"] == 5 and row["ended_at"] is not None
    assert next(iter(kiosk.rows("workouts").values()))["ended_at"] is not None


def test_concurrent_edits_last_writer_wins(devices: list[Device]) -> None:
    home, kiosk = devices
    ops.add_profile(home.db, "Bo")
    home.sync()
    kiosk.sync()
    pid = next(iter(home.rows("profiles")))

    def rename(device: Device, name: str, at: str) -> None:
        def write(conn: Any) -> None:
            seq = local.current_seq(conn) + 1
            conn.execute(update(s.change_seq).values(value=seq))
            conn.execute(
                update(s.profiles).where(s.profiles.c.id == pid).values(name=name, modified_at=at, seq=seq)
            )

        device.db.writer.call(write)

    rename(kiosk, "Bo (gym)", "2030-01-01T10:00:00.000000+00:00")
    rename(home, "Bo (home)", "2030-01-01T09:00:00.000000+00:00")  # older, though synced last
    kiosk.sync()
    report = home.sync()
    assert report.conflicts == 1
    assert home.sync().pushed == 0  # the winning version it was handed is not sent back
    kiosk.sync()
    assert home.rows("profiles")[pid]["name"] == kiosk.rows("profiles")[pid]["name"] == "Bo (gym)"
    assert_same(home, kiosk)


def test_tombstones_travel(devices: list[Device]) -> None:
    home, kiosk = devices
    ops.add_profile(home.db, "Cy")
    seed_workouts(home.db, "Cy", days=1)
    home.sync()
    kiosk.sync()
    assert [p.name for p in ops.list_profiles(kiosk.db)] == ["Cy"]
    ops.remove_profile(kiosk.db, "Cy")
    kiosk.sync()
    home.sync()
    assert ops.list_profiles(home.db) == []
    (row,) = home.rows("profiles").values()
    assert row["deleted_at"] is not None
    assert len(home.rows("workouts")) == 1  # the workouts are kept, as on the device that removed her
    assert_same(home, kiosk)


class Flaky(httpx.BaseTransport):
    """Delegates to the app; on the pushes numbered in ``lose``, the server does the work and the
    answer is lost (a read error); with ``down`` set, nothing gets through."""

    def __init__(self, inner: httpx.BaseTransport, lose: set[int]) -> None:
        self.inner, self.lose, self.pushes, self.down = inner, lose, 0, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/sync/push":
            self.pushes += 1
            if self.pushes in self.lose:
                response.read()
                raise httpx.ReadError("connection reset", request=request)
        return response


def test_push_cut_off_resumes_with_nothing_lost_or_doubled(
    devices: list[Device], server: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, kiosk = devices
    monkeypatch.setattr("app.sync.run.PUSH_PAGE", 40)
    seed_workouts(home.db, "Di", days=2)
    flaky = Flaky(server._transport, lose={2, 3})
    with httpx.Client(transport=flaky, base_url="http://sync.test") as client:
        report = home.sync(client)  # answers of pushes 2 and 3 lost: the same pages are sent again
    assert report.check == "ok"
    kiosk.sync()
    assert_same(home, kiosk)

    seed_workouts(home.db, "Di", days=2)
    flaky = Flaky(server._transport, lose=set())
    with httpx.Client(transport=flaky, base_url="http://sync.test") as client:
        original = flaky.handle_request

        def cut(request: httpx.Request) -> httpx.Response:
            if flaky.pushes == 3:
                flaky.down = True  # the network goes at the fourth page, for good
            return original(request)

        flaky.handle_request = cut  # type: ignore[method-assign]
        with pytest.raises(SyncError, match="could not be reached"):
            home.sync(client, attempts=2)
    state = load_state(home.folder)
    assert state is not None
    with home.db.read() as conn:
        assert local.pending_count(conn, after=state.pushed_upto) > 0  # not marked as sent
    assert home.sync().check == "ok"
    kiosk.sync()
    assert_same(home, kiosk)
    assert len(kiosk.rows("workouts")) == 4 and len(kiosk.rows("sets")) == 16


def test_pull_cut_off_resumes_with_nothing_lost_or_doubled(
    devices: list[Device], server: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, kiosk = devices
    seed_workouts(home.db, "Gus", days=2)
    home.sync()
    assert len(home.rows("reps")) > 50
    monkeypatch.setattr("app.sync.run.PULL_PAGE", 50)  # many pages

    class CutPull(httpx.BaseTransport):
        def __init__(self) -> None:
            self.pulls = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/v1/sync/pull":
                self.pulls += 1
                if self.pulls == 2:
                    raise httpx.RemoteProtocolError("server disconnected", request=request)
            response: httpx.Response = server._transport.handle_request(request)
            return response

    with httpx.Client(transport=CutPull(), base_url="http://sync.test") as client, pytest.raises(SyncError):
        kiosk.sync(client, attempts=1)
    assert kiosk.rows("reps") == {}  # nothing applied from the pages before the cut
    assert kiosk.sync().check == "ok"
    assert_same(home, kiosk)


def test_checksum_mismatch_triggers_a_full_resync(devices: list[Device]) -> None:
    home, kiosk = devices
    seed_workouts(home.db, "Ed", days=1)
    home.sync()
    seed_workouts(kiosk.db, "Ed", days=1)
    kiosk.sync()
    reps = kiosk.rows("reps")
    # rows lost behind the sync's back (a restored backup, a bug), the kiosk's own among them: no
    # change counter moves, so only the check can tell
    with kiosk.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM reps"))
    report = kiosk.sync()
    assert report.check == "ok after a full resync"
    assert kiosk.rows("reps") == reps
    assert home.sync().check == "ok"
    assert_same(home, kiosk)


def test_spotter_sync_commands_over_http(
    tmp_path: Path, sync_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    app = create_app(server_config(), engine=sync_engine)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not http.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = http.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        with sync_engine.begin() as conn:
            code = svc.create_enrol_code(conn, new_gym())
        folder = tmp_path / "device"
        assert main(["--data-dir", str(folder), "sync", "enrol", "--server", url, "--code", code]) == 0
        out = capsys.readouterr()
        assert "enrolled" in out.out and "no keyring" in out.err
        token_file = folder / "sync-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        with open_database(folder) as db:
            seed_workouts(db, "Flo", days=1)
        assert main(["--data-dir", str(folder), "sync", "status"]) == 0
        assert "to push" in capsys.readouterr().out
        assert main(["--data-dir", str(folder), "sync"]) == 0
        out = capsys.readouterr()
        assert "check: ok" in out.out and "sync: pushed" in out.err
        assert main(["--data-dir", str(folder), "sync", "status"]) == 0
        status = capsys.readouterr().out
        assert "to push     0 rows" in status and str(token_file) in status
        token_file.write_text("spd_wrong")
        assert main(["--data-dir", str(folder), "sync"]) == 2
        assert "Unknown device token" in capsys.readouterr().err
    finally:
        http.should_exit = True
        thread.join(10)
    assert not thread.is_alive()
    assert os.environ.get("PYTHON_KEYRING_BACKEND") == "keyring.backends.fail.Keyring"


def test_retries_back_off_with_jitter_and_honour_retry_after() -> None:
    from app.sync.http import ServerRefusedError, SyncHttp
    from app.sync.wire import Health

    answers: Iterator[int | Exception] = iter([httpx.ConnectError("refused"), 503, 429, 200])
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        if answer == 200:
            return httpx.Response(200, json={"status": "ok", "database": "ok", "version": "x"})
        return httpx.Response(answer, headers={"Retry-After": "3"}, json={"title": "busy", "status": answer})

    retry = Retry(attempts=5, base_s=0.5, cap_s=8.0, sleep=waits.append)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        health = SyncHttp("http://sync.test", client=client, retry=retry).get("/v1/health", Health)
    assert health.status == "ok"
    assert len(waits) == 3 and 0 <= waits[0] <= 0.5 and waits[1] >= 3.0 and waits[2] >= 3.0
    assert all(retry.delay(n) <= 8.0 for n in range(20))

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"title": "Invalid enrolment code", "status": 403})

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        http = SyncHttp("http://sync.test", client=client, retry=retry)
        with pytest.raises(ServerRefusedError, match="Invalid enrolment code"):
            http.get("/v1/health", Health)  # not retried
    assert len(waits) == 3


def test_token_goes_to_the_keyring_when_there_is_one(tmp_path: Path) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    from app.sync.tokens import load_token, store_token

    class MemoryKeyring(KeyringBackend):
        priority = 1
        stored: dict[tuple[str, str], str] = {}  # noqa: RUF012

        def set_password(self, service: str, username: str, password: str) -> None:
            self.stored[(service, username)] = password

        def get_password(self, service: str, username: str) -> str | None:
            return self.stored.get((service, username))

        def delete_password(self, service: str, username: str) -> None:
            self.stored.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # type: ignore[no-untyped-call]
    try:
        assert store_token(tmp_path, "http://s|d1", "spd_secret") == "keyring"
        assert load_token("keyring", "http://s|d1") == "spd_secret"
        assert not (tmp_path / "sync-token").exists()
    finally:
        keyring.set_keyring(previous)
