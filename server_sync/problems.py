"""Every error the API returns is Problem Details JSON (RFC 9457, ``application/problem+json``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class ProblemError(Exception):
    """Raised anywhere below an endpoint: answered as a problem with ``status``."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, *, headers: dict[str, str] | None = None
    ):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def problem_response(
    request: Request, status: int, title: str, detail: str | None = None, *,
    headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
) -> JSONResponse:  # fmt: skip
    body = Problem(
        title=title, status=status, detail=detail, instance=request.url.path,
        request_id=getattr(request.state, "request_id", None), **(extra or {}),
    )  # fmt: skip
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _problem_content() -> dict[str, Any]:
    return {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses (422 and 500 always), as problems."""
    names = {
        400: "Bad request", 401: "No or unknown device token", 403: "Forbidden", 404: "Not found",
        413: "Request too large", 422: "Invalid request", 429: "Too many requests", 500: "Server error",
        503: "Database unavailable",
    }  # fmt: skip
    return {
        code: {"description": names.get(code, "Error"), "model": Problem, "content": _problem_content()}
        for code in sorted({*statuses, 422, 500})
    }


def install(app: FastAPI) -> None:
    """Answer every error as a problem."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            request, exc.status_code, title, detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return problem_response(
            request, 422, "Invalid request", "The request does not match the API.", extra={"errors": errors}
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return problem_response(request, 500, "Server error", "The server failed; the request id is logged.")
