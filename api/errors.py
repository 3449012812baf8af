"""The one place where domain errors, request-validation failures and store outages become HTTP answers.

Every 4xx uses the contract's shape ``{"error": {"code": str, "message": str}}``. A store that cannot be
reached (PostgreSQL restarting, Redis down, the connection pool exhausted) is 503 ``service_unavailable``
with ``Retry-After``: the client retries the same request (with the same ``Idempotency-Key``), not a 500.
"""

from __future__ import annotations

from typing import Any

import redis.exceptions
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import PresentedJSONResponse
from foundation.errors import DispatchError

log = structlog.get_logger("api.errors")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}

#: Seconds a client should wait before retrying while a store is unreachable (a restart takes a few).
RETRY_AFTER_S = 2

#: Failures of the stores themselves, not of the request: a connection refused, lost or timed out, a
#: database starting up or shutting down, no pooled connection free in time. PEP 249 puts all of these
#: under OperationalError/InterfaceError (SQLAlchemy wraps them); a statement whose connection dropped is a
#: DBAPIError with ``connection_invalidated`` (see :func:`is_store_unavailable`).
STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    # Redis Cluster: a master down or a slot without a node (failover in progress), retries exhausted.
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code, e.g. order_not_found, validation_error, forbidden")
    message: str = Field(description="what is wrong, naming the field or resource")
    details: dict[str, object] | None = Field(
        default=None, description="optional structured facts (validation errors, missing quantities, ...)"
    )


class ErrorOut(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    error: ErrorDetail


#: The error answers every operation documents (registered once on the app, so every route carries them):
#: the real body, not FastAPI's default ``{"detail": ...}``.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    "4XX": {
        "model": ErrorOut,
        "description": "Client error: 400 bad request, 401 no or unknown token, 403 role or scope refused,"
        " 404 not found, 409 conflict with the resource's state, 413 too large, 415 not JSON.",
    },
    422: {"model": ErrorOut, "description": "Input that breaks a rule (code validation_error or a domain code)."},
    503: {
        "model": ErrorOut,
        "description": "A store (database or Redis) is unreachable for now (code service_unavailable); retry after"
        " the Retry-After header's seconds, with the same Idempotency-Key.",
    },
    "5XX": {"model": ErrorOut, "description": "Server error (code internal_error); nothing is half-written."},
}


def refusals(reasons: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """An operation's own error answers, for the rules JSON Schema cannot state (a reference to a row that
    must exist, a polygon that must not cross itself, a state a resource must be in): each status with the
    error body and the codes it may carry, so a generated client knows them beside the schema's rules."""
    return {status: {"model": ErrorOut, "description": reason} for status, reason in reasons.items()}


def created_or_replaced(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The second success of a PUT that creates (201) or replaces (200, the route's own status)."""
    return {201: {"model": model, "description": "Created: there was none with this id."}}


def install_error_docs(app: FastAPI) -> None:
    """Make the OpenAPI document say that errors are JSON even where the success is not (an HTML or PDF
    route documents its :data:`ERROR_RESPONSES` under its own media type otherwise)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for status in ERROR_RESPONSES:
                    content = operation.get("responses", {}).get(str(status), {}).get("content")
                    if content and "application/json" not in content:
                        schema = next(iter(content.values()))["schema"]
                        content.clear()
                        content["application/json"] = {"schema": schema}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def error_body(code: str, message: str, details: object | None = None) -> dict[str, object]:
    """The contract's error envelope."""
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def describe_validation_errors(errors: list[dict[str, object]]) -> str:
    """Turn pydantic's error list into one sentence naming each field and problem."""
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]  # type: ignore[attr-defined]
        where = ".".join(location) or "body"
        if error.get("type") == "json_invalid":
            parts.append(f"malformed JSON: {error.get('msg')}")
            continue
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts) or "invalid request"


def is_store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says a store is unreachable (retry later) rather than that the request or code is wrong."""
    if isinstance(exc, STORE_UNAVAILABLE):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated


def store_unavailable_response(stores: str = "database or Redis") -> JSONResponse:
    """503 ``service_unavailable`` with ``Retry-After``: the answer while a store is down (and of ``/readyz``)."""
    return JSONResponse(
        status_code=503,
        content=error_body(
            "service_unavailable",
            f"a backing store ({stores}) is unreachable; retry in {RETRY_AFTER_S} s with the same Idempotency-Key",
        ),
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DispatchError)
    async def _domain_error(_request: Request, exc: DispatchError) -> JSONResponse:
        # Details follow the one presentation policy too (money as numbers, measures rounded).
        return PresentedJSONResponse(
            status_code=exc.http_status,
            content=error_body(exc.code, exc.message, exc.details or None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        clean = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))} for e in errors]
        return JSONResponse(
            status_code=422,
            content=error_body("validation_error", describe_validation_errors(errors), {"errors": clean}),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            status_code=exc.status_code,
            content=error_body(code, str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store_unavailable", path=request.url.path, error=type(exc).__name__, detail=str(exc)[:200])
        return store_unavailable_response()

    for unavailable in STORE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _store_unavailable)

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _database_error(request: Request, exc: sqlalchemy.exc.DBAPIError) -> JSONResponse:
        # A statement whose connection dropped under it is an outage; any other database error is a bug,
        # raised on to the 500 handler below (and to a test client that raises server exceptions).
        if is_store_unavailable(exc):
            return await _store_unavailable(request, exc)
        raise exc

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(status_code=500, content=error_body("internal_error", "internal server error"))
