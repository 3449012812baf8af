"""Every console route, present and future (other pages plug in by adding a module): each POST is
CSRF-checked, each page but the login needs a console session, and the layout helpers pages use."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request

from api.console import layout
from api.console.layout import navigation, register_page, registered_pages, render_page
from api.console.routers import console_routers
from api.console.session import check_csrf, console_user
from api.console.wiring import console_router
from api.tokens import Principal

#: Console routes that need no session: the login form, plotly.js, and logout (which only forgets the
#: cookie, and whose CSRF token is bound to the session all the same).
PUBLIC = {"/console/login", "/console/logout", "/console/static/vendor/plotly.min.js"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., object]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _console_routes() -> list[tuple[str, APIRoute]]:
    """Every page module's routes with their full paths (the root router adds /console and the CSRF check)."""
    routes = [
        ("/console" + route.path, route)
        for router in console_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) >= 10
    return routes


def test_every_console_post_is_csrf_checked_and_every_page_needs_a_session() -> None:
    root = console_router()
    assert [d.dependency for d in root.dependencies] == [check_csrf]  # every route under it, every method
    for path, route in _console_routes():
        if path not in PUBLIC:
            assert console_user in set(_calls(route.dependant)), path


def test_without_a_session_every_console_page_redirects_and_every_form_is_refused(client: TestClient) -> None:
    for full_path, route in _console_routes():
        if full_path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "nobody", full_path)
        for method in route.methods or ():
            answer = client.request(method, path, follow_redirects=False)
            if method == "GET":
                assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), path
            else:
                assert answer.status_code == 403, (method, path)


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/console/x", "headers": [], "query_string": b""})


def test_a_page_plugs_into_the_nav_for_the_roles_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "_PAGES", dict(layout._PAGES))  # this test's registrations stay here
    register_page("analytics", "Test funnel", "/console/analytics/test-funnel", roles=("dispatcher",), order=999)
    register_page("analytics", "Test funnel", "/console/analytics/test-funnel", roles=("dispatcher",), order=999)
    assert [p.path for p in registered_pages()].count("/console/analytics/test-funnel") == 1
    dispatcher = Principal("dispatcher", None, "t1")
    warehouse = Principal("warehouse", "W1", "t2")
    analytics = [s for s in navigation(dispatcher, "analytics") if s.key == "analytics"]
    assert (
        analytics and analytics[0].current and "/console/analytics/test-funnel" in [p.path for p in analytics[0].pages]
    )
    assert "/console/analytics/test-funnel" not in [p.path for s in navigation(warehouse, None) for p in s.pages]
    with pytest.raises(ValueError, match="unknown console section"):
        register_page("reports", "Nope", "/console/nope")


def test_render_page_includes_vendor_scripts_and_refuses_unknown_ones() -> None:
    page = render_page(
        _request(),
        "error.html",
        title="T",
        principal=None,
        context={"status_code": 200, "message": "m"},
        vendors=("plotly", "leaflet"),
        scripts=("pareto.js",),
        lang="zh-CN",
    )
    html = bytes(page.body).decode()
    assert '<html lang="zh-CN">' in html
    assert '<script src="/console/static/vendor/plotly.min.js" defer></script>' in html
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">' in html
    assert '<script src="/console/static/pareto.js" defer></script>' in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    with pytest.raises(ValueError, match="unknown vendor"):
        render_page(_request(), "error.html", title="T", principal=None, vendors=("d3",))
