"""The HTTP API (FastAPI), under ``/v1``; OpenAPI 3.1 at ``/v1/openapi.json``; ``/metrics``.

``create_app(config)``: the lifespan starts the embedded Postgres when no ``database_url`` is set
(and stops it at shutdown: uvicorn never runs ``atexit`` handlers), migrates, and disposes of the
engine at the end. Endpoints are plain functions (run in the thread pool) over ``service``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as FPath
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from app import __version__
from app.errors import StorageError
from app.storage.pins import PinLockout, verify_pin
from app.sync.wire import (
    MAX_PULL_ROWS,
    CheckRequest,
    CheckResponse,
    EnrolRequest,
    EnrolResponse,
    Health,
    PullResponse,
    PushRequest,
    PushResponse,
    Summary,
)

from . import gym, problems, tracing
from . import service as svc
from .config import ServerConfig
from .db import make_engine, migrate
from .embedded import EmbeddedPostgres
from .observe import Metrics, ObserveMiddleware, RateLimiter
from .problems import ProblemError

log = logging.getLogger(__name__)

#: A device's local date: within a century either side of the year 2000 (streaks reach two years
#: back, and no gym trained before 1900).
LocalDate = Annotated[
    date | None,
    Query(description="the asking device's local date", ge=date(1900, 1, 1), le=date(2099, 12, 31)),
]
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, max_length=200, description="any unique string")
]


def create_app(config: ServerConfig, *, engine: Engine | None = None) -> FastAPI:
    """The API; with ``engine`` given, it is used as it is (and not disposed of)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded = None
        own_engine = engine is None
        try:
            if engine is not None:
                app.state.engine = engine
            else:
                url = config.database_url
                if url is None:
                    embedded = EmbeddedPostgres(config.postgres_dir)
                    url = embedded.start()
                app.state.engine = make_engine(url)
                migrate(app.state.engine)
            yield
        finally:
            if app.state.tracer_provider is not None:
                app.state.tracer_provider.shutdown()  # the spans still queued are sent first
            if own_engine and getattr(app.state, "engine", None) is not None:
                app.state.engine.dispose()
            if embedded is not None:
                embedded.stop()
                log.info("embedded Postgres stopped")

    app = FastAPI(
        title="Spotter sync",
        version=__version__,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.metrics = metrics
    problems.install(app)
    limiter = RateLimiter(config.rate_per_s, config.rate_burst) if config.rate_per_s > 0 else None
    app.add_middleware(ObserveMiddleware, metrics=metrics, limiter=limiter)
    _routes(app, metrics)
    _document_problems(app)
    app.state.tracer_provider = tracing.install(app)
    return app


# ----------------------------------------------------------------------------- dependencies
_bearer = HTTPBearer(auto_error=False, description="the device token from /v1/enrol")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@contextmanager
def _transaction(request: Request) -> Iterator[Connection]:
    """One transaction, committed before the endpoint answers (rolled back on any error)."""
    engine: Engine = request.app.state.engine
    try:
        with engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        log.error("database unavailable: %s", exc)
        raise ProblemError(503, "Database unavailable", "The sync database cannot be reached.") from exc


def _device(conn: Connection, credentials: HTTPAuthorizationCredentials | None) -> svc.Device:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "Device token required", headers=challenge)
    device = svc.authenticate(conn, credentials.credentials)
    if device is None:
        raise ProblemError(401, "Unknown device token", "Enrol the device again.", headers=challenge)
    return device


#: Wrong member PINs, per gym and profile, across every device of the server (one per process).
_PINS = PinLockout()


def _check_member_pin(conn: Connection, gym_id: str, profile_id: str, pin: str | None) -> None:
    """A PIN-protected member's data leaves the server only with her PIN; wrong PINs in a row lock
    the profile for a while (a four-digit PIN is not to be found by trying)."""
    stored = conn.execute(
        text("SELECT pin_hash FROM profiles WHERE gym_id = :g AND id = :p"), {"g": gym_id, "p": profile_id}
    ).scalar_one_or_none()
    if stored is None:
        return
    if not pin:
        raise ProblemError(
            403, "Member PIN required", "This member's data is protected by a PIN: send X-Member-PIN."
        )
    who = f"{gym_id}/{profile_id}"
    try:
        _PINS.check(who)
    except StorageError as exc:
        raise ProblemError(429, "Too many wrong PINs", str(exc).replace(who, "this member")) from exc
    if not verify_pin(pin.strip(), stored):
        _PINS.failed(who)
        raise ProblemError(
            403, "Wrong member PIN", "The PIN does not open this member's data; nothing was sent."
        )
    _PINS.succeeded(who)


def _request_hash(body: BaseModel) -> bytes:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).digest()


# ----------------------------------------------------------------------------------- routes
def _routes(app: FastAPI, metrics: Metrics) -> None:
    @app.get("/v1/health", response_model=Health, responses=problems.responses(503), tags=["meta"])
    def health(request: Request) -> Health:
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise ProblemError(503, "Database unavailable", str(exc.orig)) from exc
        return Health(status="ok", database="ok", version=__version__)

    @app.post(
        "/v1/enrol",
        response_model=EnrolResponse,
        responses=problems.responses(403, 413, 429),
        tags=["devices"],
    )
    def enrol(request: Request, body: EnrolRequest, idempotency_key: IdempotencyKey) -> Any:
        scope, digest = svc.enrol_scope(body.code), _request_hash(body)
        with _transaction(request) as conn:
            svc.lock_scope(conn, scope)
            stored = svc.stored_response(conn, scope, idempotency_key, digest)
            if stored is not None:
                return stored
            result = svc.enrol_device(conn, body.code, name=body.name, platform=body.platform)
            svc.store_response(conn, scope, idempotency_key, digest, result.model_dump(mode="json"))
        log.info("device %s enrolled in gym %s", result.device_id, result.gym)
        return result

    @app.post(
        "/v1/sync/push",
        response_model=PushResponse,
        responses=problems.responses(401, 413, 429),
        tags=["sync"],
    )
    def push(request: Request, body: PushRequest, auth: Bearer, idempotency_key: IdempotencyKey) -> Any:
        digest = _request_hash(body)
        with _transaction(request) as conn:
            device = _device(conn, auth)
            scope = f"device:{device.id}"
            svc.lock_gym(conn, device.gym_id)  # replays and first tries of one key never overlap
            stored = svc.stored_response(conn, scope, idempotency_key, digest)
            if stored is not None:
                return stored
            try:
                with conn.begin_nested():
                    result = svc.push(conn, device, body)
            except (DataError, IntegrityError) as exc:
                raise ProblemError(422, "Invalid row values", str(exc.orig).splitlines()[0]) from exc
            svc.store_response(conn, scope, idempotency_key, digest, result.model_dump(mode="json"))
            svc.forget_old_responses(conn, scope)
        metrics.rows_pushed.inc(result.received)
        metrics.rows_written.inc(result.written)
        return result

    @app.get(
        "/v1/sync/pull", response_model=PullResponse, responses=problems.responses(401, 429), tags=["sync"]
    )
    def pull(
        request: Request,
        auth: Bearer,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL_ROWS)] = MAX_PULL_ROWS,
        mine: Annotated[bool, Query(description="include this device's own versions (full resync)")] = False,
    ) -> PullResponse:
        with _transaction(request) as conn:
            device = _device(conn, auth)
            limit = min(limit, app.state.config.pull_limit)
            result = svc.pull(conn, device, after=after, limit=limit, mine=mine)
        metrics.rows_pulled.inc(len(result.changes))
        return result

    @app.get(
        "/v1/sync/summary", response_model=Summary, responses=problems.responses(401, 429), tags=["sync"]
    )
    def summary(request: Request, auth: Bearer) -> Summary:
        with _transaction(request) as conn:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            return svc.summary(conn, _device(conn, auth))

    @app.post(
        "/v1/sync/check",
        response_model=CheckResponse,
        responses=problems.responses(401, 413, 429),
        tags=["sync"],
    )
    def check(request: Request, body: CheckRequest, auth: Bearer, idempotency_key: IdempotencyKey) -> Any:
        digest = _request_hash(body)
        with _transaction(request) as conn:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            device = _device(conn, auth)
            scope = f"device:{device.id}"
            stored = svc.stored_response(conn, scope, idempotency_key, digest)
            if stored is not None:
                return stored
            result = svc.check(conn, device, body)
            svc.store_response(conn, scope, idempotency_key, digest, result.model_dump(mode="json"))
        metrics.checks.labels(result.status).inc()
        if result.status == "mismatch":
            log.warning("device %s differs from the server in %s", device.id, result.differ)
        return result

    @app.get(
        "/v1/leaderboards/{board}",
        response_model=gym.Leaderboard,
        responses=problems.responses(401, 429),
        tags=["gym"],
    )
    def leaderboard(
        request: Request,
        auth: Bearer,
        *,
        board: gym.Board,
        period: gym.Period = "week",
        exercise: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = None,
        today: LocalDate = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> gym.Leaderboard:
        """The gym's members ranked on one board (the kiosk's boards), plausible sets only."""
        with _transaction(request) as conn:
            device = _device(conn, auth)
            return gym.gym_leaderboard(
                conn,
                device.gym_id,
                board=board,
                period=period,
                today=today or date.today(),
                exercise=exercise,
                limit=limit,
            )

    @app.get(
        "/v1/profiles/{profile_id}/export",
        responses={
            200: {"content": {t: {} for t in ("application/json", "application/zip", "application/pdf")}},
            **problems.responses(401, 403, 404, 429),
        },
        response_class=Response,
        tags=["gym"],
    )
    def member_export(
        request: Request,
        auth: Bearer,
        *,
        profile_id: Annotated[str, FPath(min_length=1, max_length=64)],
        format: Literal["json", "csv", "pdf"] = "json",
        period: Literal["week", "month", "year"] = "month",
        today: LocalDate = None,
        pin: Annotated[str | None, Header(alias="X-Member-PIN", max_length=32)] = None,
    ) -> Response:
        """A member's data as a device exports it (JSON, or CSV files in a zip) or prints it (the
        PDF report of ``period``). A PIN-protected member's needs her PIN (``X-Member-PIN``)."""
        day = today or date.today()
        with _transaction(request) as conn:
            device = _device(conn, auth)
            name = gym.profile_exists(conn, device.gym_id, profile_id)
            if name is None:
                raise ProblemError(404, "No such member", f"The gym has no profile {profile_id}.")
            _check_member_pin(conn, device.gym_id, profile_id, pin)
            since = gym.report_since(period, day) if format == "pdf" else None
            with gym.device_copy(conn, device.gym_id, profile_id=profile_id, since=since) as db:
                if format == "pdf":
                    body, media = (
                        gym.report_pdf(db, period=period, today=day, profile=name, pin=pin),
                        "application/pdf",
                    )
                else:
                    body, media = gym.member_export(db, format)
        filename = f"spotter-{profile_id[:8]}.{'zip' if format == 'csv' else format}"
        return Response(
            body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )

    @app.get(
        "/v1/reports/gym",
        responses={200: {"content": {"application/pdf": {}}}, **problems.responses(401, 429)},
        response_class=Response,
        tags=["gym"],
    )
    def gym_report(
        request: Request,
        auth: Bearer,
        month: Annotated[
            str | None, Query(pattern=r"^(19|20)\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM, 1900 to 2099")
        ] = None,
    ) -> Response:
        """The gym's monthly report: every member's workouts of the month, as a device prints it."""
        day = date.fromisoformat(f"{month}-01") if month else date.today()
        with _transaction(request) as conn:
            device = _device(conn, auth)
            with gym.device_copy(
                conn, device.gym_id, profile_id=None, since=gym.report_since("month", day)
            ) as db:
                body = gym.report_pdf(db, period="month", today=day, profile=None, pin=None)
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="spotter-gym-{day:%Y-%m}.pdf"'},
        )

    @app.get(
        "/v1/reps/{rep_id}/similar",
        response_model=gym.Similar,
        responses=problems.responses(401, 404, 429),
        tags=["signatures"],
    )
    def similar(
        request: Request,
        auth: Bearer,
        rep_id: Annotated[str, FPath(min_length=1, max_length=64)],
        k: Annotated[int, Query(ge=1, le=50)] = 10,
        member: Annotated[bool, Query(description="only the same member's reps")] = True,
    ) -> gym.Similar:
        """The reps moved most like this one (by movement signature, pgvector HNSW), and how
        unusual it is for its member and exercise (``anomaly``: about 1 typical, 2 and more odd)."""
        with _transaction(request) as conn:
            device = _device(conn, auth)
            found = gym.similar_reps(conn, device.gym_id, rep_id, k=k, same_member=member)
        if found is None:
            raise ProblemError(404, "No such signed rep", f"The gym has no rep {rep_id} with a signature.")
        return found

    @app.post(
        "/v1/recognise",
        response_model=gym.Recognition,
        responses=problems.responses(401, 413, 429),
        tags=["signatures"],
    )
    def recognise(
        request: Request, body: gym.Signature, auth: Bearer, idempotency_key: IdempotencyKey
    ) -> gym.Recognition:
        """The exercise of a movement, by the nearest signed reps of the gym (a second opinion
        for the engine's recogniser). Reads only: the key is required like on every POST."""
        with _transaction(request) as conn:
            device = _device(conn, auth)
            return gym.recognise(conn, device.gym_id, body.signature, k=body.k)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document names ``Problem`` as every error's body (422 included)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = original()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = problems.Problem.model_json_schema()
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path in doc.get("paths", {}).values():
            for op in path.values():
                if "requestBody" in op:  # a body that is not JSON at all: 400, before validation
                    op["responses"].setdefault("400", {"description": "Bad Request"})
                for code, resp in op.get("responses", {}).items():
                    if code.startswith(("4", "5")):
                        resp["content"] = {
                            problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        }
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
