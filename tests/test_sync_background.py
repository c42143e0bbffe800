"""The app's background sync against the real server (uvicorn in a thread, real HTTP) on the real
embedded Postgres: syncs on request and after a workout, counts the rows waiting down to 0, says in
plain words that the server is down, backs off, recovers when it is back, never runs two syncs at
once, does nothing when not enrolled, stops with a sync in flight; and the settings screen shows it
and its "Sync now" never blocks the GUI thread."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, text
from sync_support import new_gym, server_config
from ui_support import RecordingNavigator, make_context
from workouts import seed_workouts

from app.storage import Database, open_database
from app.sync import background
from app.sync.background import BackgroundSync, SyncSchedule, SyncStatus, backoff_delay, interval_delay
from app.sync.http import Retry
from app.sync.run import enrol, sync_now
from server_sync import service as svc
from server_sync.api import create_app

WAIT_S = 20.0
NOT_SYNCING = SyncStatus(enrolled=False)
QUIET = SyncSchedule(first_delay_s=3600, interval_s=3600, attempts=1, retry_base_s=0.01)


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


class LiveServer:
    """The sync server on a fixed loopback port, stopped and started again at will."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = create_app(server_config(), engine=self.engine)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + WAIT_S
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            assert not self._thread.is_alive()
        self._server = self._thread = None


@pytest.fixture
def server(sync_engine: Engine) -> Iterator[LiveServer]:
    live = LiveServer(sync_engine)
    live.start()
    yield live
    live.stop()


@dataclass
class Device:
    folder: Path
    db: Database
    gym: str


def enrolled(folder: Path, server: LiveServer, db: Database | None = None) -> Device:
    gym = new_gym()
    with server.engine.begin() as conn:
        code = svc.create_enrol_code(conn, gym)
    enrol(folder, server.url, code, name=folder.name)
    return Device(folder, db or open_database(folder), gym)


@pytest.fixture
def device(tmp_path: Path, server: LiveServer) -> Iterator[Device]:
    made = enrolled(tmp_path / "kiosk", server)
    yield made
    made.db.close()


class Statuses:
    """Every status the service published, and a wait for one that matches."""

    def __init__(self, service: BackgroundSync) -> None:
        self.seen: list[SyncStatus] = []
        self._cond = threading.Condition()
        service.subscribe(self._add)

    def _add(self, status: SyncStatus) -> None:
        with self._cond:
            self.seen.append(status)
            self._cond.notify_all()

    def wait_for(self, done: Callable[[list[SyncStatus]], bool]) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: done(self.seen), WAIT_S), self.seen[-3:]

    def wait(self, match: Callable[[SyncStatus], bool], *, after: int = 0) -> SyncStatus:
        """The first status from number ``after`` on that ``match``es."""
        with self._cond:
            ok = self._cond.wait_for(lambda: any(match(s) for s in self.seen[after:]), WAIT_S)
            assert ok, self.seen[-3:]
            return next(s for s in self.seen[after:] if match(s))


@pytest.fixture
def services() -> Iterator[Callable[..., tuple[BackgroundSync, Statuses]]]:
    """Makes started services; each is stopped afterwards, and its thread must be gone."""
    made: list[BackgroundSync] = []

    def make(d: Device, schedule: SyncSchedule = QUIET) -> tuple[BackgroundSync, Statuses]:
        service = BackgroundSync(d.db, d.folder, schedule=schedule, rng=random.Random(7))
        statuses = Statuses(service)
        made.append(service)
        service.start()
        return service, statuses

    yield make
    for service in made:
        service.stop()
        assert not service.running


def syncs(seen: list[SyncStatus]) -> tuple[int, int]:
    """How many syncs started and ended in ``seen``."""
    pairs = list(zip([NOT_SYNCING, *seen], seen, strict=False))
    started = sum(b.syncing and not a.syncing for a, b in pairs)
    return started, sum(a.syncing and not b.syncing for a, b in pairs)


def done_ok(s: SyncStatus) -> bool:
    return not s.syncing and s.last_attempt is not None and s.last_error is None and s.failures == 0


def on_server(engine: Engine, gym: str, table: str = "workouts") -> int:
    query = text(f"SELECT count(*) FROM {table} t JOIN sync_gyms g ON g.id = t.gym_id WHERE g.name = :gym")
    with engine.connect() as conn:
        return int(conn.execute(query, {"gym": gym}).scalar_one())


def test_syncs_on_request_and_after_a_workout(device: Device, server: LiveServer, services: Any) -> None:
    seed_workouts(device.db, "Ana", days=2)
    service, statuses = services(device)
    first = statuses.wait(lambda s: s.enrolled)
    assert first.pending is not None and first.pending > 50 and first.server == server.url
    assert first.last_success is None and not first.syncing

    service.request()
    synced = statuses.wait(done_ok)
    assert synced.pending == 0 and synced.last_success is not None
    assert any(s.syncing and s.progress and "pushed" in s.progress for s in statuses.seen)
    assert on_server(server.engine, device.gym) == 2
    assert synced.next_delay_s is not None and 3600 * 0.9 <= synced.next_delay_s <= 3600 * 1.1

    seed_workouts(device.db, "Ana", days=1)  # a workout is saved
    n = len(statuses.seen)
    service.refresh()
    assert (statuses.wait(lambda s: not s.syncing, after=n).pending or 0) > 0
    n = len(statuses.seen)
    service.workout_finished()
    assert statuses.wait(done_ok, after=n).pending == 0
    assert on_server(server.engine, device.gym) == 3


def test_server_down_is_said_plainly_backed_off_from_and_recovered(
    device: Device, server: LiveServer, services: Any
) -> None:
    seed_workouts(device.db, "Bea", days=1)
    server.stop()
    schedule = QUIET.model_copy(update={"backoff_base_s": 0.2, "backoff_cap_s": 0.6})
    service, statuses = services(device, schedule)
    service.request()
    failed = [statuses.wait(lambda s, n=n: s.failures == n and not s.syncing) for n in (1, 2, 3)]
    for n, s in enumerate(failed, start=1):
        assert s.last_error is not None and s.last_error.startswith("Could not reach the sync server")
        assert "127.0.0.1" not in s.last_error and "Errno" not in s.last_error  # plain words
        assert s.pending is not None and s.pending > 0 and s.last_success is None
        ceiling = min(0.6, 0.2 * 2 ** (n - 1))
        assert s.next_delay_s is not None and ceiling / 2 <= s.next_delay_s <= ceiling  # grows, jittered
    assert background.headline(failed[-1], datetime.now(UTC)) == "Last try failed just now"

    server.start()  # back: the next scheduled try goes through, without being asked
    back = statuses.wait(done_ok, after=len(statuses.seen))
    assert back.pending == 0 and back.last_success is not None
    assert on_server(server.engine, device.gym) == 1


def test_never_two_syncs_at_once(device: Device, services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = sync_now
    hold, held = threading.Event(), threading.Event()
    lock = threading.Lock()
    calls, running, most = [0], [0], [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[0] += 1
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            if calls[0] == 1:
                held.set()
                assert hold.wait(WAIT_S)
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(background, "sync_now", counted)
    service, statuses = services(device)
    service.request()
    assert held.wait(WAIT_S)  # the first sync is under way

    def poke() -> None:
        for _ in range(3):
            service.request()
            service.workout_finished()

    pokers = [threading.Thread(target=poke) for _ in range(3)]
    for t in pokers:
        t.start()
    for t in pokers:
        t.join()
    hold.set()
    statuses.wait_for(lambda seen: syncs(seen) == (2, 2))
    time.sleep(0.3)  # room for a third, which must not come
    assert calls[0] == 2 and most[0] == 1  # the requests during the first queued exactly one more
    assert syncs(statuses.seen) == (2, 2) and done_ok(statuses.seen[-1])


def test_does_nothing_when_not_enrolled(
    tmp_path: Path, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("sync_now called on a device that is not enrolled")

    monkeypatch.setattr(background, "sync_now", refuse)
    db = open_database(tmp_path / "home")
    try:
        schedule = QUIET.model_copy(update={"first_delay_s": 0.0, "interval_s": 0.1})
        service, statuses = services(Device(tmp_path / "home", db, ""), schedule)
        service.request()
        service.workout_finished()
        time.sleep(0.5)  # the schedule comes round a few times
        status = statuses.wait(lambda s: s.next_sync_at is not None)
        assert not status.enrolled and status.pending is None and status.last_error is None
        assert not any(s.syncing for s in statuses.seen)
        assert background.headline(status, datetime.now(UTC)) == "Not set up: workouts stay on this device"
        service.stop()
    finally:
        db.close()


def test_stops_at_once_with_a_sync_in_flight(
    device: Device, server: LiveServer, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_workouts(device.db, "Cy", days=1)
    server.stop()
    monkeypatch.setattr(Retry, "delay", lambda self, attempt, retry_after=None: 30.0)
    service, statuses = services(device, QUIET.model_copy(update={"attempts": 5}))
    service.request()
    statuses.wait(lambda s: s.syncing)
    time.sleep(0.2)  # into the first retry's 30 s pause
    t0 = time.monotonic()
    service.stop()
    assert time.monotonic() - t0 < 2.0 and not service.running
    assert statuses.seen[-1].syncing  # nothing published after the stop


def test_backoff_and_interval_bounds() -> None:
    schedule = SyncSchedule(backoff_base_s=30, backoff_cap_s=1800, interval_s=900, jitter=0.1)
    rng = random.Random(1)
    for failures in range(1, 12):
        ceiling = min(1800, 30 * 2 ** (failures - 1))
        delays = [backoff_delay(failures, schedule, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not one value
    intervals = [interval_delay(schedule, rng) for _ in range(200)]
    assert all(810 <= d <= 990 for d in intervals) and max(intervals) - min(intervals) > 60


# ---------------------------------------------------------------------------------- the GUI
def test_settings_screen_shows_the_state_and_sync_now_never_blocks(
    qtbot: QtBot, tmp_path: Path, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QTimer

    from app.ui.screens.settings import SettingsScreen
    from app.ui.sync import AppSync
    from app.ui.widgets.sync_status import SyncIndicatorWidget

    real = sync_now
    hold, held = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        held.set()
        assert hold.wait(WAIT_S)
        return real(*args, **kwargs)

    monkeypatch.setattr(background, "sync_now", slow)
    context = make_context(tmp_path)
    d = enrolled(tmp_path, server, context.db)
    seed_workouts(context.db, "Dee", days=1)
    context.sync = sync = AppSync(BackgroundSync(context.db, d.folder, schedule=QUIET))
    try:
        screen = SettingsScreen(context, RecordingNavigator())
        qtbot.addWidget(screen)
        indicator = SyncIndicatorWidget(sync)
        qtbot.addWidget(indicator)
        screen.resize(1280, 800)
        screen.show()
        sync.start()
        screen.entered()
        panel = screen.sync_panel
        qtbot.waitUntil(lambda: "changes waiting to be sent" in panel.waiting.text(), timeout=10_000)
        assert panel.server.text().startswith(server.url) and "gym " in panel.server.text()
        assert panel.state.text() == "Not synced yet" and panel.sync_button.isEnabled()
        assert indicator.text() == "Sync: not synced yet"

        ticks = [0]
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
        timer.start(10)
        panel.sync_button.click()  # returns at once; the sync is held on its thread
        assert held.wait(WAIT_S)
        qtbot.waitUntil(lambda: panel.state.text().startswith("Syncing now"), timeout=5_000)
        start = ticks[0]
        qtbot.waitUntil(lambda: ticks[0] >= start + 10, timeout=5_000)  # the event loop runs meanwhile
        assert not panel.sync_button.isEnabled() and indicator.text() == "Sync: syncing…"
        hold.set()
        qtbot.waitUntil(lambda: panel.state.text() == "Last synced just now", timeout=15_000)
        timer.stop()
        assert panel.waiting.text() == "Everything is sent" and panel.sync_button.isEnabled()
        assert not panel.problem.isVisible() and panel.next.text().startswith("Next sync in")
        assert indicator.text() == "Sync: just now" and on_server(server.engine, d.gym) == 1

        context.workout_saved()  # the app's call after a workout: a sync follows, nothing waits
        qtbot.waitUntil(lambda: sync.status.syncing, timeout=5_000)
        qtbot.waitUntil(lambda: not sync.status.syncing, timeout=15_000)
    finally:
        hold.set()
        sync.stop()
        context.db.close()
    assert not sync.service.running
