"""Movement signatures on the real embedded Postgres with pgvector: reps counted from real clips by
other people, synced, then searched by likeness (HNSW), scored for how unusual they are, and used
to recognise a clip the gym has never seen."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from shared_data import manifest, poses_of
from sqlalchemy import Engine, text
from sync_support import new_gym, server_config

from app.engine.events import RepDetail
from app.engine.exercises.signature import SIZE
from app.engine.offline import count_track
from app.storage import Database, open_database
from app.storage.recorder import WorkoutRecorder
from app.sync.http import Retry
from app.sync.run import enrol, sync_now
from server_sync import service as svc
from server_sync.api import create_app

#: Sets Ana did (one clip each), by exercise; and clips the gym never saw, to recognise.
SETS = {
    "squat": ["squat_01.mp4", "squat_08.mp4", "squat_09.mp4"],
    "biceps_curl": ["curl_01.mp4", "curl_04.mp4", "curl_05.mp4"],
}
UNSEEN = {"squat_13.mp4": "squat", "curl_06.mp4": "biceps_curl"}


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def reps_of(name: str, estimator: Any) -> list[RepDetail]:
    analyzer, _ = count_track(poses_of(name, estimator), manifest()[name]["exercise"])
    return list(analyzer.reps)


def record(db: Database, exercise: str, reps: list[RepDetail]) -> None:
    r = WorkoutRecorder(db, "Ana")
    r.start_set(exercise)
    for rep in reps:
        r.rep(rep)
    r.finish_set()
    r.finish()


@pytest.fixture
def gym(
    tmp_path: Path, sync_engine: Engine, litert_full: Any
) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    with TestClient(create_app(server_config(), engine=sync_engine), base_url="http://sync.test") as server:
        db = open_database(tmp_path / "kiosk")
        with sync_engine.begin() as conn:
            code = svc.create_enrol_code(conn, new_gym())
        enrol(tmp_path / "kiosk", "http://sync.test", code, name="kiosk", client=server)
        for exercise, clips in SETS.items():
            for clip in clips:
                record(db, exercise, reps_of(clip, litert_full))
        # a curl recorded in a squat set: a rep unlike the member's squats
        record(db, "squat", reps_of("curl_01.mp4", litert_full)[1:2])
        sync_now(
            db,
            tmp_path / "kiosk",
            client=server,
            retry=Retry(attempts=3, base_s=0.001, sleep=lambda _s: None),
        )
        token = (tmp_path / "kiosk" / "sync-token").read_text().strip()
        yield server, {"Authorization": f"Bearer {token}"}, db
        db.close()


def rep_ids(db: Database, exercise: str) -> list[str]:
    with db.read() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT r.id FROM reps r JOIN sets s ON s.id = r.set_id WHERE s.exercise = :e "
                    "ORDER BY s.started_at, r.idx"
                ),
                {"e": exercise},
            )
        ]


def test_reps_are_found_by_likeness_and_odd_ones_stand_out(
    gym: tuple[TestClient, dict[str, str], Database],
) -> None:
    server, auth, db = gym
    squats = rep_ids(db, "squat")
    odd = squats[-1]  # the curl in the last squat set
    answer = server.get(f"/v1/reps/{squats[0]}/similar", params={"k": 5}, headers=auth)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["exercise"] == "squat" and len(found["reps"]) == 5
    assert [r["exercise"] for r in found["reps"]].count("squat") >= 4  # squats lie near squats
    distances = [r["distance"] for r in found["reps"]]
    assert distances == sorted(distances)
    typical = [server.get(f"/v1/reps/{rid}/similar", headers=auth).json()["anomaly"] for rid in squats[:6]]
    unusual = server.get(f"/v1/reps/{odd}/similar", headers=auth).json()["anomaly"]
    assert all(a is not None for a in typical) and unusual is not None
    # the squat sets are three people's clips, so even typical squats differ; the curl still stands out
    assert unusual > 1.2 * max(typical), (unusual, typical)
    assert server.get("/v1/reps/no-such-rep/similar", headers=auth).status_code == 404


def test_an_unseen_clip_is_recognised_by_its_neighbours(
    gym: tuple[TestClient, dict[str, str], Database], litert_full: Any
) -> None:
    server, auth, _ = gym
    for clip, exercise in UNSEEN.items():
        votes: dict[str, int] = {}
        for rep in reps_of(clip, litert_full):
            assert len(rep.signature) == SIZE
            answer = server.post(
                "/v1/recognise",
                json={"signature": list(rep.signature)},
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert answer.status_code == 200, answer.text
            name = answer.json()["exercise"]
            votes[name] = votes.get(name, 0) + 1
        assert max(votes, key=lambda e: votes[e]) == exercise, (clip, votes)


def test_an_odd_signature_never_blocks_a_sync(
    gym: tuple[TestClient, dict[str, str], Database], sync_engine: Engine
) -> None:
    """A signature of the wrong length (a device of another version) is stored as sent, with no
    vector; the push goes through."""
    server, auth, db = gym
    set_id = db.writer.call(lambda c: c.execute(text("SELECT id FROM sets LIMIT 1")).scalar_one())
    row = {
        "id": uuid.uuid4().hex, "set_id": set_id, "idx": 99, "start_s": 0.0, "turn_s": 1.0, "end_s": 2.0,
        "eccentric_s": 1.0, "pause_s": 0.0, "concentric_s": 1.0, "rom_deg": 90.0, "mean_speed_dps": 90.0,
        "peak_speed_dps": 120.0, "side": "", "faults": "[]", "signature": json.dumps([0.5] * 7),
        "created_at": "2026-12-06T10:00:00+00:00", "modified_at": "2026-12-06T10:00:00+00:00",
        "deleted_at": None,
    }  # fmt: skip
    answer = server.post(
        "/v1/sync/push",
        json={"changes": [{"table": "reps", "row": row}]},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    with sync_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT signature, embedding FROM reps WHERE id = :i"), {"i": row["id"]}
        ).one()
    assert stored.signature == row["signature"] and stored.embedding is None


def test_the_engines_neighbour_vote_follows_the_nearest_reps() -> None:
    """The engine's own vote (no server): reps near one exercise's signatures vote for it, a
    signature of another length is left out of the bank and casts no vote."""
    from app.engine.exercises.neighbours import NeighbourBank

    rng = np.random.default_rng(3)
    squat, curl = rng.uniform(0.3, 0.9, SIZE), rng.uniform(0.3, 0.9, SIZE)
    bank = NeighbourBank.of(
        [(tuple(squat + rng.normal(0, 0.02, SIZE)), "squat") for _ in range(20)]
        + [(tuple(curl + rng.normal(0, 0.02, SIZE)), "biceps_curl") for _ in range(20)]
        + [((0.5,) * 7, "push_up")]
    )
    assert len(bank) == 40
    exercise, confidence = bank.recognise([tuple(squat + rng.normal(0, 0.02, SIZE)) for _ in range(3)])
    assert exercise == "squat" and confidence > 0.5
    assert bank.recognise([(0.5,) * 7]) == (None, 0.0)
