"""Request ids, JSON logs, Prometheus metrics and per-token rate limits: one ASGI middleware.

``X-Request-ID`` is echoed when the client sent a sane one, generated otherwise, put on the
response and on every log line written while the request runs. Each request is logged once (method,
route, status, duration, device token's hash prefix) and counted in ``/metrics``.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import MEDIA_TYPE

log = logging.getLogger("server_sync.access")

REQUEST_ID = contextvars.ContextVar[str]("request_id", default="-")
MAX_BODY_BYTES = 32 * 1024 * 1024  # a push of 2,000 rows is about 1 MB
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (for the JSON formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing one JSON object a line, each with the request id of its request."""
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", timestamp=False)
    )
    handler.addFilter(RequestIdFilter())
    return handler


def configure_json_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for everything the server logs, uvicorn included."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler()]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"  # we log each request ourselves


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "spotter_sync_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "spotter_sync_http_request_seconds", "HTTP request duration", ["route"], registry=self.registry
        )
        self.rows_pushed = Counter(
            "spotter_sync_rows_pushed", "rows received in pushes", registry=self.registry
        )
        self.rows_written = Counter("spotter_sync_rows_written", "pushed rows stored", registry=self.registry)
        self.rows_pulled = Counter("spotter_sync_rows_pulled", "rows sent in pulls", registry=self.registry)
        self.checks = Counter(
            "spotter_sync_checks", "count/checksum checks by result", ["result"], registry=self.registry
        )
        self.rate_limited = Counter(
            "spotter_sync_rate_limited", "requests refused (429)", registry=self.registry
        )


@dataclass
class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, ``burst`` at once."""

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> float:
        """0 when the request may go ahead; else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, limiter: RateLimiter | None) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        span = trace.get_current_span()  # the request's span when tracing is on (``tracing``)
        if span.is_recording():
            span.set_attribute("spotter.request_id", request_id)
        started = time.perf_counter()
        status = 500
        caller = _caller(headers, scope)

        responded = False  # the response has begun
        too_large = False  # the body went past MAX_BODY_BYTES: whatever the app answers becomes 413

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if too_large:
                return
            if message["type"] == "http.response.start":
                status, responded = int(message["status"]), True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES and not responded:
                too_large = True
                raise _TooLargeError
            return message

        try:
            wait = self.limiter.allow(caller) if self.limiter and scope["path"].startswith("/v1/") else 0.0
            if wait > 0:
                self.metrics.rate_limited.inc()
                await _problem(send_with_id, scope, request_id, 429, "Too many requests", retry=wait)
            elif _declared_length(headers) > MAX_BODY_BYTES:
                await _problem(send_with_id, scope, request_id, 413, "Request too large", retry=None)
            else:
                try:
                    await self.app(scope, receive_limited, send_with_id)
                except _TooLargeError:
                    pass
                except Exception:
                    logging.getLogger(__name__).exception("unhandled error")
                    if not responded:
                        await _problem(send_with_id, scope, request_id, 500, "Server error", retry=None)
            if too_large:  # the app saw the body fail (FastAPI answers 400): ours instead
                too_large = False
                await _problem(send_with_id, scope, request_id, 413, "Request too large", retry=None)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            log.info(
                "%s %s %d %.1f ms", scope["method"], scope["path"], status, elapsed * 1000,
                extra={"status": status, "route": route, "ms": round(elapsed * 1000, 1), "caller": caller},
            )  # fmt: skip
            REQUEST_ID.reset(token)


class _TooLargeError(Exception):
    """A request body past ``MAX_BODY_BYTES``."""


def _declared_length(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0


def _caller(headers: dict[str, str], scope: Scope) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return "tok:" + hashlib.sha256(auth[7:].strip().encode()).hexdigest()[:12]
    client = scope.get("client")
    return f"ip:{client[0] if client else '-'}"


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(unmatched)"


async def _problem(
    send: Send, scope: Scope, request_id: str, status: int, title: str, *, retry: float | None
) -> None:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "instance": scope["path"],
        "request_id": request_id,
    }
    headers = [(b"content-type", MEDIA_TYPE.encode())]
    if retry is not None:
        headers.append((b"retry-after", str(max(1, round(retry + 0.5))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
