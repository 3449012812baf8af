"""The customer's public tracking page (the ``tracking_url`` of every order answer), outside ``/v1``.

``GET /track/{token}`` answers a small HTML page of that one order, no login: the secret token in the
link is the key. ``GET /track/{token}.json`` (or ``?format=json``) answers the same data as JSON.
Simplified Chinese by default; English when ``?lang=en`` or ``Accept-Language`` prefers it; ``?elder=1``
is the elder-friendly mode (kept in every link of the page). A page with a map (``api.tracking_map``)
gets a Content-Security-Policy that lets it run the service's own scripts (and load the configured tiles).

An unknown token answers 404 with the same page (or JSON error) whatever it looks like. Against token
guessing, a client address that asked for ``DISPATCH_TRACKING__MISS_LIMIT`` (20) unknown tokens within
``DISPATCH_TRACKING__MISS_WINDOW_S`` (60 s) is answered 429 with ``Retry-After`` on every tracking request
until its misses age out (``api.tracking_guard``; counted in Redis when configured). The address is the
connection's peer: behind a reverse proxy, run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` so it is the client's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.container import Container
from api.deps import get_container
from api.errors import error_body
from api.routers.orders import accepted_language
from api.schemas.tracking import TrackingOut, tracking_out
from api.tracking_map import tile_source, tracking_map
from api.tracking_page import PageLinks, render_missing_page, render_tracking_page
from foundation.clock import utc_now
from orders_core.orders.delays import Language
from orders_core.orders.tracking_view import TrackingNotFound, tracking_view

router = APIRouter(prefix="/track", tags=["tracking"])

#: The link is a secret: never cached by shared caches, never sent on as a referrer, never indexed.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
JSON_SUFFIX = ".json"


def map_page_policy(tile_url: str | None) -> str:
    """The page's Content-Security-Policy when it shows a map: ``api.security_headers``' policy plus our own
    scripts and styles, and the tiles' origin if they come from elsewhere."""
    images = " ".join(filter(None, ["'self'", "data:", tile_source(tile_url)]))
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src {images}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _language(lang: str | None, accept_language: str | None) -> Language:
    if lang in ("zh", "en"):
        return lang  # type: ignore[return-value]
    return accepted_language(accept_language) or "zh"


def _answer(content: Any, status: int, as_json: bool, headers: dict[str, str] | None = None) -> Response:
    merged = {**PRIVATE_HEADERS, **(headers or {})}
    if as_json:
        return JSONResponse(content, status_code=status, headers=merged)
    return HTMLResponse(content, status_code=status, headers=merged)


@router.get(
    "/{reference}",
    response_model=TrackingOut,
    responses={404: {"description": "no such tracking link"}, 429: {"description": "too many unknown links"}},
)
def track(
    reference: str,
    request: Request,
    lang: Annotated[str | None, Query(max_length=8)] = None,
    format: Annotated[str | None, Query(max_length=8)] = None,
    elder: Annotated[str | None, Query(max_length=8)] = None,
    accept_language: Annotated[str | None, Header(alias="Accept-Language", max_length=200)] = None,
    container: Container = Depends(get_container),
) -> Response:
    """One order's tracking page (HTML), or its data as JSON (``{token}.json`` or ``?format=json``)."""
    as_json = format == "json" or reference.endswith(JSON_SUFFIX)
    token = reference.removesuffix(JSON_SUFFIX)
    language = _language(lang, accept_language)
    client = request.client.host if request.client is not None else "unknown"
    limiter = container.tracking_misses
    wait_s = limiter.retry_after_s(client)
    if wait_s is not None:
        body: Any = (
            error_body("rate_limited", f"too many unknown tracking links; retry in {wait_s} s")
            if as_json
            else render_missing_page(language, wait_s)
        )
        return _answer(body, 429, as_json, {"Retry-After": str(wait_s)})
    try:
        now = utc_now()
        settings = container.settings
        view = tracking_view(container.uow, token, targets=settings.delivery, now=now, policy=settings.carrier_events)
    except TrackingNotFound as missing:
        limiter.record_miss(client)
        body = error_body(missing.code, "no such tracking link") if as_json else render_missing_page(language)
        return _answer(body, 404, as_json)
    answer = tracking_out(view, language)
    if as_json:
        return _answer(answer.model_dump(mode="json"), 200, True)
    shown = tracking_map(answer, settings.tracking, settings.carrier_events)
    links = PageLinks(request.url.path, elder=elder in ("1", "true", "on"))
    page = render_tracking_page(answer, links, tracking_map=shown)
    headers = None if shown is None else {"Content-Security-Policy": map_page_policy(settings.tracking.tile_url)}
    return _answer(page, 200, False, headers)
