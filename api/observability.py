"""Logs with a request id (readable lines on a terminal, JSON lines elsewhere) and request-latency
metrics, as one middleware."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    app.add_middleware(RequestContext)


class RequestContext:
    """Pure ASGI middleware: request id (bound for the logs, echoed as ``X-Request-ID``), latency by route
    template, one log line per request.

    Pure ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the rest of
    the app in a task group with memory streams for every request, a fixed cost on every order posted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("api.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_LATENCY.labels(scope["method"], template, f"{status // 100}xx").observe(elapsed)
            if template not in ("/healthz", "/readyz", "/metrics"):
                self.log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
