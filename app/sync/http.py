"""The HTTP side of the client: httpx with timeouts, and retries with exponential backoff and
jitter for what may pass (a refused or dropped connection, a timeout, 429, 502-504). A POST carries
an ``Idempotency-Key``, so sending it again is safe whether or not the first one arrived."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from app.errors import SyncError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
RETRY_STATUS = frozenset({429, 502, 503, 504})
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class ServerRefusedError(SyncError):
    """The server answered with an error that retrying will not mend (a problem document)."""

    def __init__(self, status: int, title: str, detail: str | None) -> None:
        why = f": {detail.rstrip('.')}" if detail else ""
        super().__init__(f"The sync server refused: {title} ({status}){why}.")
        self.status = status


@dataclass
class Retry:
    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)], never below Retry-After."""
        backoff = self.rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))
        return max(backoff, min(retry_after or 0.0, self.cap_s * 4))


class SyncHttp:
    """Calls to one server with one device token (none for enrolment)."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        client: httpx.Client | None = None,
        retry: Retry | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT, trust_env=True, follow_redirects=False)
        self._own = client is None
        self.token = token
        self.retry = retry or Retry()

    def close(self) -> None:
        if self._own:
            self.client.close()

    def get(self, path: str, model: type[M], *, params: dict[str, Any] | None = None) -> M:
        return self._call("GET", path, model, params=params)

    def post(self, path: str, model: type[M], body: BaseModel, *, key: str) -> M:
        return self._call("POST", path, model, json=body.model_dump(mode="json"), key=key)

    def _call(self, method: str, path: str, model: type[M], *, key: str | None = None, **kw: Any) -> M:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        url = f"{self.server}{path}"
        last = "no attempt"
        for attempt in range(self.retry.attempts):
            retry_after = None
            try:
                response = self.client.request(method, url, headers=headers, **kw)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    return _parse(response, model)
                if response.status_code not in RETRY_STATUS:
                    raise _refused(response)
                last = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
            if attempt + 1 < self.retry.attempts:
                wait = self.retry.delay(attempt, retry_after)
                log.info("%s %s failed (%s); retrying in %.1f s", method, path, last, wait)
                self.retry.sleep(wait)
        raise SyncError(f"The sync server {self.server} could not be reached ({last}).")


def _parse(response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise SyncError(f"The sync server's answer was not understood: {exc.errors()[:1]}") from exc


def _refused(response: httpx.Response) -> ServerRefusedError:
    try:
        body = response.json()
        return ServerRefusedError(response.status_code, str(body.get("title")), body.get("detail"))
    except ValueError:
        return ServerRefusedError(response.status_code, response.reason_phrase, None)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
