"""The FastAPI application: routers, auth, error mapping, logs and metrics, wired to a container."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.console.wiring import install_console
from api.container import Container
from api.errors import ERROR_RESPONSES, install_error_docs, install_error_handlers, store_unavailable_response
from api.input_guard import RequestInputGuard
from api.observability import configure_logging, install_request_middleware
from api.readiness import unreachable_stores
from api.responses import PresentedJSONResponse
from api.routers import all_routers
from api.security_headers import SecurityHeaders
from api.settings import Settings, get_settings
from api.startup_checks import check_startup_settings
from api.static_files import STATIC_PREFIX, static_files


def create_app(
    settings: Settings | None = None,
    *,
    on_started: list[Callable[[Container], object]] | None = None,
    demo: bool = False,
) -> FastAPI:
    """Build the app; the container (stores, indexes) is created and migrated at startup.

    ``on_started`` callbacks run once the container is up, before the first request is served (the CLI
    loads the demo data there). ``demo``: the app serves the demo data set, so the demo's public payment
    secret is allowed; otherwise it raises InsecureSettings before anything starts.
    """
    settings = settings or get_settings()
    check_startup_settings(settings, demo=demo)
    configure_logging(settings.log_format, log_json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = Container(settings)
        container.start()
        app.state.container = container
        for callback in on_started or []:
            callback(container)
        # The matcher's compiled kernels load (or, on a first run, compile: a minute) while the service
        # already answers; a match that arrives meanwhile waits for them, so its answer is the same.
        threading.Thread(target=container.carriers.index.warm_up, name="matcher-warm-up", daemon=True).start()
        try:
            yield
        finally:
            container.close()

    app = FastAPI(
        title="Dispatch",
        version="0.1.0",
        description="Order pipeline, stock locks, carrier matching and pick paths for a regional distributor.",
        lifespan=lifespan,
        default_response_class=PresentedJSONResponse,  # one presentation policy for every answer
        responses=ERROR_RESPONSES,  # every operation documents the real error body
    )
    install_error_handlers(app)
    install_error_docs(app)
    app.add_middleware(RequestInputGuard)  # inside the request middleware: refusals are logged and counted too
    install_request_middleware(app)
    # Around the whole stack, Starlette's 500 handler included: every answer carries the security headers.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build_stack())  # type: ignore[method-assign]

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=None)
    def readyz(request: Request) -> dict[str, str] | Response:
        """Readiness: 200 when the database (and Redis, if configured) answer, else 503 with Retry-After."""
        down = unreachable_stores(request.app.state.container)
        if down:
            return store_unavailable_response(" and ".join(down))
        return {"status": "ready"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus exposition (the orders-by-status gauge is counted in the database first, if stale)."""
        request.app.state.container.orders_gauge.refresh()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in all_routers():
        app.include_router(router)
    app.mount(STATIC_PREFIX, static_files(), name="static")  # scripts and styles the pages use, cached long
    install_console(app)  # the dispatch console's pages under /console (api/console: how a page plugs in)
    return app
