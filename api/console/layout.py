"""The console's page chrome: the navigation registry, the Jinja2 templates and one way to render a page.

A page registers where it sits in the navigation with :func:`register_page` (at import of its module) and
answers with :func:`render_page`, which puts its template (``{% extends "base.html" %}``) inside the layout
with the navigation its user may see, the CSRF token its forms carry, the scripts it asked for and the
console's own security headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.console.formatting import duration, money, when
from api.console.session import CSRF_FIELD, csrf_token
from api.tokens import Principal

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_URL = "/console/static"

#: The navigation's sections, in order; a section shows when a page the user may see is registered in it.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("orders", "Orders"),
    ("exceptions", "Exceptions"),
    ("map", "Map"),
    ("analytics", "Analytics"),
    ("warehouses", "Warehouses"),
    ("integration", "Integration"),
)
#: Third-party assets a page may ask for by name; each is served from a well-kept package, never a CDN:
#: plotly.js straight from the installed plotly wheel, Leaflet from api/static/vendor (``make frontend``).
VENDOR_SCRIPTS: dict[str, tuple[str, ...]] = {
    "plotly": (f"{STATIC_URL}/vendor/plotly.min.js",),
    "leaflet": ("/static/vendor/leaflet/leaflet.js",),
}
VENDOR_STYLES: dict[str, tuple[str, ...]] = {"leaflet": ("/static/vendor/leaflet/leaflet.css",)}

#: The console's Content-Security-Policy: scripts and styles from this service only (no inline script,
#: so page data travels in ``<script type="application/json">`` blocks read by the page's own script);
#: inline styles are allowed because plotly.js and Leaflet set them; forms post to this origin only.
CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


@dataclass(frozen=True)
class NavPage:
    """A page in the navigation: its section, link text, path and the roles that may see it."""

    section: str
    title: str
    path: str
    roles: frozenset[str]
    order: int = 100


@dataclass(frozen=True)
class NavSection:
    """One entry of the rendered navigation, with the section's pages as sub-entries."""

    key: str
    label: str
    href: str
    current: bool
    pages: tuple[NavPage, ...] = field(default_factory=tuple)


_PAGES: dict[str, NavPage] = {}


def register_page(
    section: str, title: str, path: str, *, roles: Iterable[str] = ("dispatcher", "warehouse"), order: int = 100
) -> NavPage:
    """Put a page in the navigation under ``section`` (one of :data:`SECTIONS`) for ``roles`` (admin always).

    Registering the same path again replaces the entry, so a module may be imported twice harmlessly.
    """
    if section not in dict(SECTIONS):
        raise ValueError(f"unknown console section {section!r}; expected one of {', '.join(dict(SECTIONS))}")
    page = NavPage(section, title, path, frozenset(roles) | {"admin"}, order)
    _PAGES[path] = page
    return page


def registered_pages() -> tuple[NavPage, ...]:
    """Every registered page, by section then order."""
    rank = {key: i for i, (key, _) in enumerate(SECTIONS)}
    return tuple(sorted(_PAGES.values(), key=lambda p: (rank[p.section], p.order, p.path)))


def navigation(principal: Principal | None, section: str | None) -> tuple[NavSection, ...]:
    """The sections ``principal`` may see, each linking to its first page; ``section`` is marked current."""
    if principal is None:
        return ()
    visible = [p for p in registered_pages() if principal.role in p.roles]
    entries: list[NavSection] = []
    for key, label in SECTIONS:
        pages = tuple(p for p in visible if p.section == key)
        if pages:
            entries.append(NavSection(key, label, pages[0].path, key == section, pages))
    return tuple(entries)


def _static_url(path: str) -> str:
    return f"{STATIC_URL}/{path.lstrip('/')}"


def _csrf_input(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = _static_url
    env.filters.update(when=when, duration=duration, money=money)
    return env


templates = _environment()


def content_security_policy(extra: Mapping[str, str] | None = None) -> str:
    """The console's policy, with ``extra`` sources appended per directive (e.g. a map's tile server for
    ``img-src``)."""
    directives = dict(CSP_DIRECTIVES)
    for name, sources in (extra or {}).items():
        directives[name] = f"{directives.get(name, '')} {sources}".strip()
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


def console_headers(csp_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers of every console page: its CSP, no caching (pages show live, per-user data), and a referrer
    policy under which the browser sends the ``Origin`` the CSRF check compares."""
    return {
        "content-security-policy": content_security_policy(csp_extra),
        "cache-control": "no-store",
        "referrer-policy": "same-origin",
    }


def render_page(
    request: Request,
    template: str,
    *,
    title: str,
    principal: Principal | None,
    section: str | None = None,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    vendors: Iterable[str] = (),
    scripts: Iterable[str] = (),
    lang: str = "en",
    csp_extra: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` (which extends ``base.html``) inside the console layout.

    ``vendors`` names third-party assets (``"plotly"``, ``"leaflet"``), ``scripts`` the page's own files
    under ``api/console/static/``; ``lang`` is the page's language (``"en"`` or ``"zh-CN"``).
    """
    vendor_names = tuple(vendors)
    unknown = [name for name in vendor_names if name not in VENDOR_SCRIPTS]
    if unknown:
        raise ValueError(f"unknown vendor assets {unknown}; known: {', '.join(VENDOR_SCRIPTS)}")
    values: dict[str, Any] = {
        "request": request,
        "title": title,
        "principal": principal,
        "nav": navigation(principal, section),
        "section": section,
        "lang": lang,
        "csrf_input": _csrf_input(request),
        "csrf_token": csrf_token(request),
        "vendor_scripts": [src for name in vendor_names for src in VENDOR_SCRIPTS[name]],
        "vendor_styles": [href for name in vendor_names for href in VENDOR_STYLES.get(name, ())],
        "page_scripts": [_static_url(path) for path in scripts],
        **(context or {}),
    }
    html = templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=console_headers(csp_extra))


def render_error(
    request: Request,
    status_code: int,
    message: str,
    *,
    title: str | None = None,
    principal: Principal | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The console's error page (403 refused form, 404, 422 bad filter, 409 conflict...)."""
    principal = principal or getattr(request.state, "principal", None)
    response = render_page(
        request,
        "error.html",
        title=title or {403: "Not allowed", 404: "Not found", 409: "Conflict"}.get(status_code, "Something is wrong"),
        principal=principal,
        context={"status_code": status_code, "message": message},
        status_code=status_code,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
