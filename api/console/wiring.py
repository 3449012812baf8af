"""Mount the console on the app: its routes under /console (CSRF-checked), its static files, plotly.js
from the plotly wheel, and HTML answers instead of JSON for errors raised on console pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.layout import STATIC, STATIC_URL, console_headers, render_error
from api.console.routers import console_routers
from api.console.routers.login import home
from api.console.session import LOGIN_PATH, SESSION_COOKIE, LoginRequired, check_csrf, end_session
from api.errors import describe_validation_errors
from foundation.errors import DispatchError

Handler = Callable[[Request, Exception], Awaitable[Response]]
#: plotly.js as the installed plotly wheel ships it (served from there, never copied into the repository).
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
VENDOR_MAX_AGE_S = 24 * 3600


def _vendor_router() -> APIRouter:
    router = APIRouter()

    @router.get("/static/vendor/plotly.min.js")
    def plotly_js() -> FileResponse:
        """plotly.js from the plotly wheel (its version is the wheel's: ``plotly.__version__``)."""
        return FileResponse(
            PLOTLY_JS,
            media_type="text/javascript",
            headers={"cache-control": f"public, max-age={VENDOR_MAX_AGE_S}"},
        )

    return router


def console_router() -> APIRouter:
    """Every console route under /console, each POST checked against CSRF before its handler runs."""
    root = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)], include_in_schema=False)
    root.include_router(_vendor_router())
    root.add_api_route("", home, methods=["GET"])  # /console itself (a sub-router cannot have an empty path)
    for router in console_routers():
        root.include_router(router)
    return root


def _is_console_page(request: Request) -> bool:
    path = request.url.path
    return (path == "/console" or path.startswith("/console/")) and not path.startswith(STATIC_URL + "/")


def _html_for_console(json_handler: Handler | None, render: Callable[[Request, Exception], Response]) -> Handler:
    """An exception handler that answers an HTML page on console pages and defers to ``json_handler``
    (the API's JSON error body) everywhere else."""

    async def handler(request: Request, exc: Exception) -> Response:
        if _is_console_page(request) or json_handler is None:
            return render(request, exc)
        return await json_handler(request, exc)

    return handler


def _domain_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DispatchError)
    return render_error(request, exc.http_status, exc.message)


def _validation_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return render_error(request, 422, describe_validation_errors(list(exc.errors())), title="Check the form")


def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return render_error(request, exc.status_code, str(exc.detail), headers=exc.headers)


def _login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = LOGIN_PATH
    if exc.next_path not in ("/console", "/console/"):
        target += "?" + urlencode({"next": exc.next_path})
    response = RedirectResponse(target, status_code=303, headers=console_headers())
    if request.cookies.get(SESSION_COOKIE):  # a token that stopped working: forget it
        end_session(request, response)
    return response


def install_console(app: FastAPI) -> None:
    """Add the console to ``app`` (after the API's error handlers, which it wraps for console pages)."""
    app.include_router(console_router())
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="console-static")
    for exc_type, render in (
        (DispatchError, _domain_error_page),
        (RequestValidationError, _validation_error_page),
        (StarletteHTTPException, _http_error_page),
    ):
        existing = app.exception_handlers.get(exc_type)
        app.add_exception_handler(exc_type, _html_for_console(existing, render))  # type: ignore[arg-type]

    async def login_redirect(request: Request, exc: Exception) -> Response:
        return _login_redirect(request, exc)

    app.add_exception_handler(LoginRequired, login_redirect)
