"""The sync server's API on the real embedded Postgres: enrolment, push and pull, last-writer-wins,
idempotency, problems, request ids, rate limits, metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sync_support import new_gym, server_config

from server_sync import service as svc
from server_sync.api import create_app

T0 = "2026-12-01T10:00:00.000000+00:00"
T1 = "2026-12-01T11:00:00.000000+00:00"


@pytest.fixture
def client(sync_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(server_config(), engine=sync_engine)) as c:
        yield c


def enrol(client: TestClient, engine: Engine, gym: str, name: str = "kiosk") -> dict[str, Any]:
    with engine.begin() as conn:
        code = svc.create_enrol_code(conn, gym)
    r = client.post(
        "/v1/enrol", json={"code": code, "name": name}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def auth(device: dict[str, Any], key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {device['token']}", "Idempotency-Key": key or uuid.uuid4().hex}


def profile(pid: str, name: str, modified_at: str, deleted_at: str | None = None) -> dict[str, Any]:
    return {
        "table": "profiles",
        "row": {
            "id": pid, "name": name, "kind": "member", "pin_hash": None, "unit": "kg",
            "created_at": T0, "modified_at": modified_at, "deleted_at": deleted_at,
        },
    }  # fmt: skip


def cue(cid: str, text: str) -> dict[str, Any]:
    return {
        "table": "cues",
        "row": {"id": cid, "workout_id": "w1", "set_id": None, "t": 1.5, "text": text, "fault": None,
                "created_at": T0, "modified_at": T0, "deleted_at": None},
    }  # fmt: skip


def pull_all(
    client: TestClient, device: dict[str, Any], after: int = 0, *, mine: bool = True
) -> list[dict[str, Any]]:
    r = client.get("/v1/sync/pull", params={"after": after, "mine": mine}, headers=auth(device))
    assert r.status_code == 200, r.text
    changes: list[dict[str, Any]] = r.json()["changes"]
    return changes


def test_health_openapi_metrics_request_id(client: TestClient) -> None:
    r = client.get("/v1/health", headers={"X-Request-ID": "req-42"})
    assert r.json()["status"] == "ok" and r.headers["x-request-id"] == "req-42"
    assert len(client.get("/v1/health").headers["x-request-id"]) == 32  # generated
    doc = client.get("/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    push = doc["paths"]["/v1/sync/push"]["post"]
    assert "application/problem+json" in push["responses"]["422"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in push["parameters"])
    assert "spotter_sync_http_requests_total" in client.get("/metrics").text


def test_errors_are_problems(client: TestClient) -> None:
    r = client.get("/v1/sync/pull")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Device token required" and r.json()["request_id"]
    r = client.get("/v1/nowhere")
    assert r.status_code == 404 and r.json()["status"] == 404
    r = client.post("/v1/enrol", json={"code": "ABCDE"}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 422 and r.json()["errors"]
    r = client.post("/v1/enrol", json={"code": "ABCDE-FGHIJ", "name": "x"})
    assert r.status_code == 422  # no Idempotency-Key
    r = client.post("/v1/enrol", json={"code": "ABCDE-FGHIJ", "name": "x"}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_a_crash_is_a_problem_with_the_request_id(sync_engine: Engine) -> None:
    app = create_app(server_config(), engine=sync_engine)

    @app.get("/v1/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app) as c:
        r = c.get("/v1/crash", headers={"X-Request-ID": "crash-1"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["request_id"] == "crash-1" and r.headers["x-request-id"] == "crash-1"
    assert "boom" not in r.text


def test_enrolment_code_is_spent_once_and_replays(client: TestClient, sync_engine: Engine) -> None:
    with sync_engine.begin() as conn:
        code = svc.create_enrol_code(conn, new_gym())
    body = {"code": code.lower(), "name": "home"}
    first = client.post("/v1/enrol", json=body, headers={"Idempotency-Key": "e1"})
    again = client.post("/v1/enrol", json=body, headers={"Idempotency-Key": "e1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    other = client.post("/v1/enrol", json={**body, "name": "x"}, headers={"Idempotency-Key": "e1"})
    assert other.status_code == 422 and other.json()["title"] == "Idempotency-Key reused"
    spent = client.post("/v1/enrol", json=body, headers={"Idempotency-Key": "e2"})
    assert spent.status_code == 403
    token = first.json()["token"]
    assert client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # once the token has been used, the server forgets the enrolment's answer (the token in clear)
    assert client.post("/v1/enrol", json=body, headers={"Idempotency-Key": "e1"}).status_code == 403


def test_round_trip_between_two_devices(client: TestClient, sync_engine: Engine) -> None:
    gym = new_gym()
    a, b = enrol(client, sync_engine, gym, "home"), enrol(client, sync_engine, gym, "kiosk")
    stranger = enrol(client, sync_engine, new_gym(), "elsewhere")
    pid = uuid.uuid4().hex
    batch = {"changes": [profile(pid, "Ana", T0), cue(uuid.uuid4().hex, "knees out")]}
    r = client.post("/v1/sync/push", json=batch, headers=auth(a))
    assert r.status_code == 200 and r.json()["written"] == 2 and r.json()["conflicts"] == []
    pulled = pull_all(client, b)
    assert [c["table"] for c in pulled] == ["profiles", "cues"]
    assert pulled[0]["row"] == batch["changes"][0]["row"]
    assert pulled[1]["row"]["t"] == 1.5
    assert pull_all(client, stranger) == []  # another gym's rows are never seen
    assert pull_all(client, b, after=pulled[-1]["seq"]) == []
    # a device is not sent back what it pushed, unless it asks (a full resync); the cursor moves on
    own = client.get("/v1/sync/pull", params={"after": 0}, headers=auth(a)).json()
    assert own["changes"] == [] and own["cursor"] == pulled[-1]["seq"]
    assert len(pull_all(client, a, mine=True)) == 2


def test_last_writer_wins_and_tombstones(client: TestClient, sync_engine: Engine) -> None:
    gym = new_gym()
    a, b = enrol(client, sync_engine, gym, "home"), enrol(client, sync_engine, gym, "kiosk")
    pid = uuid.uuid4().hex
    client.post("/v1/sync/push", json={"changes": [profile(pid, "Ana", T1)]}, headers=auth(a))
    # an older edit loses, and its pusher is told the winning version
    r = client.post("/v1/sync/push", json={"changes": [profile(pid, "Anna", T0)]}, headers=auth(b)).json()
    assert r["written"] == 0 and r["conflicts"][0]["row"]["name"] == "Ana"
    # a newer one (a tombstone) wins
    later = "2026-12-01T12:00:00.000000+00:00"
    r = client.post("/v1/sync/push", json={"changes": [profile(pid, "Ana", later, later)]}, headers=auth(b))
    assert r.json()["written"] == 1
    rows = [c["row"] for c in pull_all(client, a) if c["table"] == "profiles"]
    assert len(rows) == 1 and rows[0]["deleted_at"] == later
    # equal modified_at: the greater device id wins, whatever the order of arrival
    qid = uuid.uuid4().hex
    first, second = sorted([a, b], key=lambda d: d["device_id"])
    client.post("/v1/sync/push", json={"changes": [profile(qid, "high", T0)]}, headers=auth(second))
    client.post("/v1/sync/push", json={"changes": [profile(qid, "low", T0)]}, headers=auth(first))
    rows = [c["row"] for c in pull_all(client, a) if c["row"]["id"] == qid]
    assert [r["name"] for r in rows] == ["high"]
    # a version sent back by another device (it was handed it) changes nothing, though that
    # device's id would win a tie
    rid = uuid.uuid4().hex
    client.post("/v1/sync/push", json={"changes": [profile(rid, "same", T0)]}, headers=auth(first))
    seq = pull_all(client, a)[-1]["seq"]
    echo = client.post("/v1/sync/push", json={"changes": [profile(rid, "same", T0)]}, headers=auth(second))
    assert echo.json()["written"] == 0 and echo.json()["conflicts"] == []
    assert pull_all(client, a, after=seq) == []


def test_push_is_idempotent(client: TestClient, sync_engine: Engine) -> None:
    a = enrol(client, sync_engine, new_gym())
    batch = {"changes": [cue(uuid.uuid4().hex, "chest up"), profile(uuid.uuid4().hex, "Bo", T0)]}
    headers = auth(a, key="push-1")
    first = client.post("/v1/sync/push", json=batch, headers=headers).json()
    assert client.post("/v1/sync/push", json=batch, headers=headers).json() == first
    # the same rows under a new key (an answer lost and the key forgotten): nothing doubled
    again = client.post("/v1/sync/push", json=batch, headers=auth(a)).json()
    assert again["written"] == 0 and again["conflicts"] == []
    assert len(pull_all(client, a)) == 2
    other = client.post("/v1/sync/push", json={"changes": batch["changes"][:1]}, headers=headers)
    assert other.status_code == 422


def test_push_refuses_unknown_tables_and_columns(client: TestClient, sync_engine: Engine) -> None:
    a = enrol(client, sync_engine, new_gym())
    bad_table = {"changes": [{"table": "sync_devices", "row": {"id": "x"}}]}
    r = client.post("/v1/sync/push", json=bad_table, headers=auth(a))
    assert r.status_code == 422 and r.json()["title"] == "Unknown table"
    row = profile("p", "Ana", T0)
    row["row"]["gym_id"] = "other"
    r = client.post("/v1/sync/push", json={"changes": [row]}, headers=auth(a))
    assert r.status_code == 422 and r.json()["title"] == "Unknown column"
    row = profile("p", "Ana", T0)
    del row["row"]["name"]
    assert client.post("/v1/sync/push", json={"changes": [row]}, headers=auth(a)).status_code == 422
    late = profile("p", "Ana", "9999")  # would win every conflict, compared as text
    r = client.post("/v1/sync/push", json={"changes": [late]}, headers=auth(a))
    assert r.status_code == 422 and r.json()["title"] == "Invalid time"
    bad = cue("c", "x")
    bad["row"]["t"] = "soon"
    r = client.post("/v1/sync/push", json={"changes": [bad]}, headers=auth(a))
    assert r.status_code == 422 and r.json()["title"] == "Invalid row values"
    assert client.get("/v1/health").status_code == 200


def test_pull_pages_and_summary(client: TestClient, sync_engine: Engine) -> None:
    a = enrol(client, sync_engine, new_gym())
    cues = [cue(uuid.uuid4().hex, f"cue {i}") for i in range(7)]
    client.post("/v1/sync/push", json={"changes": cues}, headers=auth(a))
    seen: list[str] = []
    after, more = 0, True
    while more:
        params = {"after": after, "limit": 3, "mine": True}
        page = client.get("/v1/sync/pull", params=params, headers=auth(a)).json()
        seen += [c["row"]["id"] for c in page["changes"]]
        after, more = page["cursor"], page["more"]
    assert seen == [c["row"]["id"] for c in cues]
    summary = client.get("/v1/sync/summary", headers=auth(a)).json()
    assert summary["tables"]["cues"]["count"] == 7 and summary["server_seq"] == after
    from app.sync.wire import row_digest

    expected = sum(row_digest(c["row"]["id"], T0, None) for c in cues)
    assert summary["tables"]["cues"]["checksum"] == str(expected)


def test_bodies_past_the_limit_are_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server_sync.observe.MAX_BODY_BYTES", 1000)
    big = {"code": "ABCDE-FGHIJ", "name": "x" * 2000}
    r = client.post("/v1/enrol", json=big, headers={"Idempotency-Key": "big"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"code": "ABCDE-FGHIJ", "name": "'
        yield b"x" * 2000
        yield b'"}'

    r = client.post(
        "/v1/enrol", content=chunks(), headers={"Idempotency-Key": "big", "content-type": "application/json"}
    )
    assert r.status_code == 413


def test_rate_limit_per_token(sync_engine: Engine) -> None:
    app = create_app(server_config(rate_per_s=0.5, rate_burst=2), engine=sync_engine)
    with TestClient(app) as c:
        statuses = [
            c.get("/v1/sync/pull", headers={"Authorization": "Bearer t1"}).status_code for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        limited = c.get("/v1/sync/pull", headers={"Authorization": "Bearer t1"})
        assert (
            limited.headers["content-type"] == "application/problem+json" and limited.headers["retry-after"]
        )
        assert c.get("/v1/sync/pull", headers={"Authorization": "Bearer t2"}).status_code == 401


def test_migrations_match_the_schema_and_pgvector_is_there(sync_engine: Engine) -> None:
    """The migrations create exactly ``server_sync.schema`` (a column added on the devices needs a
    server migration too), and the embedded Postgres ships pgvector."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import text

    from server_sync.schema import metadata

    with sync_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        distance = conn.execute(text("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector")).scalar()
        assert distance == 1.0
        conn.rollback()  # the extension is for a later migration (movement signatures)


def test_every_error_is_documented_as_a_problem(client: TestClient) -> None:
    doc = client.get("/v1/openapi.json").json()
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = {code for code in op["responses"] if code[0] in "45"}
            assert {"422", "500"} <= codes, (method, path)
            for code in codes:
                assert list(op["responses"][code]["content"]) == ["application/problem+json"], (path, code)


def test_concurrent_pushes_never_hide_a_row_from_a_puller(sync_engine: Engine) -> None:
    """Pushes of one gym commit in server-sequence order, so a device pulling while others push
    sees every row exactly once."""
    import threading

    from app.sync.wire import PushRequest

    gym = new_gym()
    with sync_engine.begin() as conn:
        pushers = [
            svc.authenticate(
                conn, svc.enrol_device(conn, svc.create_enrol_code(conn, gym), name=n, platform="").token
            )
            for n in ("a", "b", "c", "reader")
        ]
    assert all(pushers)
    reader = pushers.pop()
    assert reader is not None
    pushed: list[str] = []

    def push(device: svc.Device) -> None:
        for _ in range(15):
            batch = [cue(uuid.uuid4().hex, "x") for _ in range(20)]
            with sync_engine.begin() as conn:
                svc.push(conn, device, PushRequest.model_validate({"changes": batch}))
            pushed.extend(c["row"]["id"] for c in batch)

    threads = [threading.Thread(target=push, args=(d,), name=f"push-{i}") for i, d in enumerate(pushers) if d]
    for t in threads:
        t.start()
    seen: list[str] = []
    cursor = 0
    while True:
        pushing = any(t.is_alive() for t in threads)  # before the pull: a last one after they end
        with sync_engine.begin() as conn:
            page = svc.pull(conn, reader, after=cursor, limit=37)
        seen += [str(c.row["id"]) for c in page.changes]
        cursor = page.cursor
        if not pushing and not page.more:
            break
    for t in threads:
        t.join()
    assert len(seen) == len(set(seen)) == len(pushed) == 3 * 15 * 20
    assert set(seen) == set(pushed)


def test_each_request_is_logged_as_json_with_its_request_id(client: TestClient) -> None:
    import io
    import json
    import logging

    from server_sync.observe import json_handler

    stream = io.StringIO()
    handler = json_handler(stream)
    access = logging.getLogger("server_sync.access")
    old_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/v1/sync/pull", headers={"X-Request-ID": "trace-7", "Authorization": "Bearer nope"})
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["request_id"] == "trace-7" and line["status"] == 401 and line["route"] == "/v1/sync/pull"
    assert line["caller"].startswith("tok:") and "nope" not in stream.getvalue()
    assert 0 <= line["ms"] < 5000


def test_check_compares_on_the_server_and_keeps_the_result(client: TestClient, sync_engine: Engine) -> None:
    from sqlalchemy import select

    from server_sync.schema import devices_auth

    a = enrol(client, sync_engine, new_gym())
    cues = [cue(uuid.uuid4().hex, f"cue {i}") for i in range(3)]
    client.post("/v1/sync/push", json={"changes": cues}, headers=auth(a))
    server = client.get("/v1/sync/summary", headers=auth(a)).json()
    body = {"cursor": 0, "tables": server["tables"]}
    assert client.post("/v1/sync/check", json=body, headers=auth(a)).json()["status"] == "behind"
    body["cursor"] = server["server_seq"]
    assert client.post("/v1/sync/check", json=body, headers=auth(a)).json() == {
        "status": "ok", "differ": [], "server_seq": server["server_seq"],
    }  # fmt: skip
    body["tables"] = {**server["tables"], "cues": {"count": 2, "checksum": "1"}}
    answer = client.post("/v1/sync/check", json=body, headers=auth(a)).json()
    assert answer["status"] == "mismatch" and answer["differ"] == ["cues"]
    with sync_engine.connect() as conn:
        kept = conn.execute(
            select(devices_auth.c.last_check).where(devices_auth.c.id == a["device_id"])
        ).scalar()
    assert kept == "mismatch: cues"
    assert 'spotter_sync_checks_total{result="mismatch"} 1.0' in client.get("/metrics").text


def test_devices_are_listed_and_revoked(
    client: TestClient, sync_engine: Engine, sync_postgres: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from server_sync.cli import main

    gym = new_gym()
    a = enrol(client, sync_engine, gym, "front desk")
    assert client.get("/v1/sync/pull", headers=auth(a)).status_code == 200
    monkeypatch.setenv("DATABASE_URL", sync_postgres)
    assert main(["devices", "--gym", gym]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(a["device_id"]) and "front desk" in line and "not checked" in line
    assert main(["revoke", a["device_id"]]) == 0
    r = client.get("/v1/sync/pull", headers=auth(a))
    assert r.status_code == 401 and r.json()["title"] == "Unknown device token"
    assert main(["devices", "--gym", gym]) == 0
    assert capsys.readouterr().out.rstrip().endswith("revoked")
    assert main(["revoke", "no-such-device"]) == 2
