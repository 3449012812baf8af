"""Logs with a request id (readable lines on a terminal, JSON lines elsewhere) and request-latency
metrics, as one middleware."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from fastapi import FastAPI, Request, Response

from api.metrics import REQUEST_LATENCY

REQUEST_ID_HEADER = "X-Request-ID"
LogFormat = Literal["console", "json"]


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing (test runners and the CLI swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def resolve_log_format(
    log_format: str = "auto", *, log_json: bool | None = None, stream: TextIO | None = None
) -> LogFormat:
    """``console`` or ``json``: as asked, else as the older ``log_json`` switch says, else console on a terminal."""
    if log_format == "console":
        return "console"
    if log_format == "json":
        return "json"
    if log_format != "auto":
        raise ValueError(f"log format must be auto, console or json, got {log_format!r}")
    if log_json is not None:
        return "json" if log_json else "console"
    isatty = getattr(stream if stream is not None else sys.stderr, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def _request_line(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Console only: a request reads ``PUT /v1/skus/SKU-1 201 3.2 ms`` (the request id stays as a field)."""
    if event.get("event") == "request" and "path" in event:
        method, path = event.pop("method", "?"), event.pop("path")
        status, duration_ms = event.pop("status", "?"), event.pop("duration_ms", "?")
        event["event"] = f"{method} {path} {status} {duration_ms} ms"
    return event


def configure_logging(
    log_format: str = "auto", level: int = logging.INFO, *, log_json: bool | None = None, stream: TextIO | None = None
) -> LogFormat:
    """Route structlog to stderr (or ``stream``) through one renderer; answers the format chosen.

    ``console``: one short, readable line per event (colours on a terminal); ``json``: one JSON object per
    line for log collectors. ``auto`` picks console when the stream is a terminal (see :func:`resolve_log_format`).
    """
    chosen = resolve_log_format(log_format, log_json=log_json, stream=stream)
    out: Any = stream if stream is not None else _CurrentStderr()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    processors: list[structlog.types.Processor]
    if chosen == "json":
        processors = [
            *shared,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ]
    else:
        colors = bool(getattr(stream if stream is not None else sys.stderr, "isatty", lambda: False)())
        processors = [
            *shared,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            _request_line,
            structlog.dev.ConsoleRenderer(colors=colors, pad_event_to=0),
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    return chosen


def install_request_middleware(app: FastAPI) -> None:
    """Give every request an id (echoed in the response), log it, and time it by route template."""
    log = structlog.get_logger("api.request")

    @app.middleware("http")
    async def _request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(request.method, template, f"{status // 100}xx").observe(elapsed)
            if template not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "request",
                    method=request.method,
                    path=request.url.path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
