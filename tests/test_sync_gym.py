"""Gym-wide views on the real embedded Postgres: leaderboards that agree with the kiosk's own,
plausibility bounds that keep a bad device off them, and a member's exports and the gym's report
made by the devices' own report code."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sync_support import new_gym, server_config
from workouts import seed_workouts

from app.engine.events import RepDetail
from app.reports.operations import export_document, leaderboard_board
from app.storage import Database, open_database
from app.storage import operations as ops
from app.storage.recorder import WorkoutRecorder
from app.sync.http import Retry
from app.sync.run import enrol, sync_now
from server_sync import service as svc
from server_sync.api import create_app


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


class Gym:
    """A gym with a kiosk and a home PC enrolled, and a token to ask the server with."""

    def __init__(self, root: Path, server: TestClient, engine: Engine) -> None:
        self.server = server
        self.name = new_gym()
        self.dbs: dict[str, Database] = {}
        for device in ("kiosk", "home"):
            folder = root / device
            self.dbs[device] = open_database(folder)
            with engine.begin() as conn:
                code = svc.create_enrol_code(conn, self.name)
            enrol(folder, "http://sync.test", code, name=device, client=server)
        self.root = root
        token = (root / "kiosk" / "sync-token").read_text().strip()
        self.auth = {"Authorization": f"Bearer {token}"}

    def sync(self, device: str) -> None:
        retry = Retry(attempts=3, base_s=0.001, sleep=lambda _s: None)
        sync_now(self.dbs[device], self.root / device, client=self.server, retry=retry)

    def sync_all(self) -> None:
        for device in ("home", "kiosk", "home"):
            self.sync(device)

    def get(self, path: str, **params: Any) -> Any:
        return self.server.get(path, params=params, headers=self.auth)


@pytest.fixture
def gym(tmp_path: Path, sync_engine: Engine) -> Iterator[Gym]:
    with TestClient(create_app(server_config(), engine=sync_engine), base_url="http://sync.test") as server:
        made = Gym(tmp_path, server, sync_engine)
        yield made
        for db in made.dbs.values():
            db.close()


def _fabricated_set(db: Database, profile: str, *, reps: int, rep_s: float, load: float | None) -> None:
    """A set no person did: ``reps`` reps of ``rep_s`` seconds each, or an impossible load."""
    r = WorkoutRecorder(db, profile)
    r.start_set("squat", load=load, unit="kg")
    for i in range(1, reps + 1):
        t = i * rep_s
        r.rep(RepDetail(i, t, t + rep_s / 2, t + rep_s, rep_s / 2, 0.0, rep_s / 2, 90.0, 100.0, 150.0))
    r.finish_set()
    r.finish()


def test_the_gym_board_is_the_kiosk_board_over_every_device(gym: Gym) -> None:
    """Ana trains at home, Ben at the kiosk: the server ranks them exactly as a device that has
    pulled everything ranks them with its own leaderboard code."""
    seed_workouts(gym.dbs["home"], "Ana", days=6)
    seed_workouts(gym.dbs["kiosk"], "Ben", days=9)
    gym.sync_all()
    today = date.today()
    for board in ("reps", "volume", "form", "streak"):
        for period in ("week", "month", "all"):
            answer = gym.get(f"/v1/leaderboards/{board}", period=period, today=today.isoformat())
            assert answer.status_code == 200, answer.text
            local = leaderboard_board(gym.dbs["kiosk"], period=period, by=board, today=today)
            got = [
                (r["rank"], r["name"], r["reps"], r["clean_reps"], r["volume_kg"], r["streak"])
                for r in answer.json()["rows"]
            ]
            want = [(rank, m.name, m.reps, m.clean_reps, m.volume_kg, m.streak) for rank, m in local.rows]
            assert got == want, (board, period)
            assert answer.json()["title"] == local.title
    squats = gym.get("/v1/leaderboards/reps", period="all", exercise="squat").json()["rows"]
    everything = gym.get("/v1/leaderboards/reps", period="all").json()["rows"]
    assert {r["name"] for r in squats} == {"Ana", "Ben"}
    assert all(s["reps"] < e["reps"] for s, e in zip(squats, everything, strict=True))


def test_a_bad_device_cannot_top_the_board(gym: Gym) -> None:
    """A set of 400 reps of 0.05 s, and one under a 2-tonne bar: both left out, counted by reason."""
    seed_workouts(gym.dbs["kiosk"], "Ben", days=2)
    _fabricated_set(gym.dbs["home"], "Cheat", reps=400, rep_s=0.05, load=None)
    _fabricated_set(gym.dbs["home"], "Cheat", reps=10, rep_s=2.0, load=2000.0)
    gym.sync_all()
    board = gym.get("/v1/leaderboards/volume", period="week").json()
    assert board["rows"][0]["name"] == "Ben"
    cheat = next(r for r in board["rows"] if r["name"] == "Cheat")
    assert (cheat["reps"], cheat["volume_kg"], cheat["excluded_sets"]) == (0, 0.0, 2)
    assert board["excluded"] == {"pace": 1, "load": 1}


def test_a_members_export_is_the_devices_export(gym: Gym) -> None:
    seed_workouts(gym.dbs["home"], "Ana", days=3)
    seed_workouts(gym.dbs["kiosk"], "Ben", days=2)
    gym.sync_all()
    ana = next(
        r["profile_id"]
        for r in gym.get("/v1/leaderboards/reps", period="all").json()["rows"]
        if r["name"] == "Ana"
    )
    answer = gym.get(f"/v1/profiles/{ana}/export", format="json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    served = answer.json()
    own = export_document(gym.dbs["home"])  # every workout of the gym, pulled: keep Ana's
    own["workouts"] = [w for w in own["workouts"] if w["profile"] == "Ana"]
    own["sets"] = [x for x in own["sets"] if x["workout_id"] in {w["id"] for w in own["workouts"]}]
    own["reps"] = [r for r in own["reps"] if r["set_id"] in {x["id"] for x in own["sets"]}]
    assert own["reps"] and len(own["workouts"]) == 3
    for part in ("workouts", "sets", "reps"):
        assert served[part] == own[part], part
    zipped = zipfile.ZipFile(io.BytesIO(gym.get(f"/v1/profiles/{ana}/export", format="csv").content))
    sets = list(csv.DictReader(io.StringIO(zipped.read("sets.csv").decode())))
    assert len(sets) == len(own["sets"])
    pdf = gym.get(f"/v1/profiles/{ana}/export", format="pdf", period="month")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 5_000
    report = gym.get("/v1/reports/gym", month=date.today().strftime("%Y-%m"))
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert gym.get("/v1/profiles/no-such-member/export").status_code == 404
    assert gym.server.get(f"/v1/profiles/{ana}/export").status_code == 401


def test_a_pin_protected_members_data_needs_her_pin(gym: Gym) -> None:
    ops.add_profile(gym.dbs["kiosk"], "Cleo", pin="4821")
    seed_workouts(gym.dbs["kiosk"], "Cleo", days=1)
    gym.sync("kiosk")
    cleo = gym.get("/v1/leaderboards/reps", period="all").json()["rows"][0]["profile_id"]
    url = f"/v1/profiles/{cleo}/export"
    missing = gym.get(url)
    assert missing.status_code == 403 and "PIN" in missing.json()["title"]
    ok = gym.server.get(url, headers={**gym.auth, "X-Member-PIN": "4821"})
    assert ok.status_code == 200 and json.loads(ok.content)["workouts"]
    answers = [
        gym.server.get(url, headers={**gym.auth, "X-Member-PIN": "0000"}).status_code for _ in range(6)
    ]
    assert answers[:5] == [403] * 5 and answers[5] == 429  # locked out after five wrong PINs in a row
    assert gym.server.get(url, headers={**gym.auth, "X-Member-PIN": "4821"}).status_code == 429
