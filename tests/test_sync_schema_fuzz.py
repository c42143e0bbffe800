"""schemathesis against ``/v1/openapi.json`` of the real app on the real embedded Postgres: for every
operation, generated requests (valid and invalid) never get a 5xx, and every response matches the
document (status code, content type, body schema). Once with an enrolled device's token, once
with none (or whatever schemathesis makes up). Derandomized: the same requests every run.

No Hypothesis example database is kept (``database=None``); Hypothesis still caches in .hypothesis/,
which git ignores by itself (a .gitignore of its own)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, create_engine
from sync_support import new_gym, server_config

from server_sync import service as svc
from server_sync.api import create_app

Case = schemathesis.Case[Any]
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,  # nothing written to .hypothesis/
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_app(sync_engine: Engine) -> FastAPI:
    return create_app(server_config(), engine=sync_engine)


@pytest.fixture(scope="module")
def device_token(fuzzed_app: FastAPI, sync_engine: Engine) -> str:
    """The token of a device enrolled in a gym of its own (what the fuzzed requests may touch)."""
    with sync_engine.begin() as conn:
        code = svc.create_enrol_code(conn, new_gym())
    with TestClient(fuzzed_app) as client:
        r = client.post(
            "/v1/enrol", json={"code": code, "name": "fuzz"}, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        # the first use forgets the enrolment's stored answer; later ones are plain requests
        assert client.get("/v1/sync/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return token


# schemathesis's pytest integration needs the schema at import, before any fixture (its lazy
# ``from_fixture`` path fails on pytest 9: ``request.node._nodeid`` is gone), so a stand-in of the app
# serves /v1/openapi.json then: its engine never connects (the document needs no database). The
# requests go to the app the fixture makes on the session's Postgres (``app=``), and
# ``test_the_fuzzed_document_is_the_served_one`` checks that it serves the same document.
DOCUMENT_APP = create_app(server_config(), engine=create_engine("postgresql+psycopg://document-only@/none"))
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", DOCUMENT_APP)
DOCUMENT = copy.deepcopy(schema.raw_schema)


def headers_for(case: Case, token: str | None) -> dict[str, str]:
    """A fresh Idempotency-Key for every POST (a generated one reused with another body is a 422,
    which the document allows, but it would hide the operation behind it); the token if any."""
    headers = {}
    if case.method.upper() == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@schema.parametrize()
@FUZZ
def test_every_operation_with_a_device_token(case: Case, fuzzed_app: FastAPI, device_token: str) -> None:
    case.call_and_validate(headers=headers_for(case, device_token), checks=CHECKS, app=fuzzed_app)


@schema.parametrize()
@FUZZ
def test_every_operation_without_a_valid_token(case: Case, fuzzed_app: FastAPI) -> None:
    case.call_and_validate(headers=headers_for(case, None), checks=CHECKS, app=fuzzed_app)


def test_the_fuzzed_document_is_the_served_one(fuzzed_app: FastAPI) -> None:
    with TestClient(fuzzed_app) as client:
        served = client.get("/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == DOCUMENT
    assert {f"{m.upper()} {p}" for p, ops in served.json()["paths"].items() for m in ops} >= {
        "GET /v1/health", "POST /v1/enrol", "POST /v1/sync/push", "GET /v1/sync/pull",
        "GET /v1/sync/summary", "POST /v1/sync/check",
    }  # fmt: skip
