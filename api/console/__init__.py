"""The dispatch console: server-rendered pages for the desk, served by the service under ``/console``.

Pieces:

- ``session.py``: login with an API token kept in an HttpOnly, SameSite=Strict cookie (Secure on https,
  path ``/console``), the ``console_user`` / ``console_roles(...)`` dependencies, CSRF (every console POST,
  checked by the root router before any handler runs).
- ``layout.py``: the navigation registry, the Jinja2 templates (``templates/``) and ``render_page``.
- ``wiring.py``: ``install_console(app)``, the one line in ``api/app.py``: routes, static files, plotly.js
  from the plotly wheel, HTML error pages on console paths.
- ``routers/``: the pages, one module each; every module there with a ``router`` is included automatically.
- ``static/``: the console's CSS and the pages' own scripts (served at ``/console/static/``).

How another page plugs in (e.g. ``api/console/routers/pareto.py``)::

    from fastapi import APIRouter, Depends, Request
    from fastapi.responses import HTMLResponse

    from api.console.layout import register_page, render_page
    from api.console.session import console_roles
    from api.tokens import Principal

    router = APIRouter()  # paths relative to /console; no prefix needed, no list to edit
    register_page("analytics", "Pareto by cause", "/console/analytics/pareto", roles=("dispatcher",), order=20)

    @router.get("/analytics/pareto", response_class=HTMLResponse)
    def pareto(request: Request, principal: Principal = Depends(console_roles("dispatcher"))) -> HTMLResponse:
        data = ...  # call the use case in orders_core (no business logic here)
        return render_page(request, "pareto.html", title="Pareto by cause", principal=principal,
                           section="analytics", context={"data": data}, vendors=("plotly",),
                           scripts=("pareto.js",))

- Sections (``layout.SECTIONS``): orders, exceptions, map, analytics, warehouses. A section shows in the nav
  once a page its user may see is registered in it; it links to its lowest-``order`` page, and a section
  with several pages shows them as a sub-navigation.
- The template (``api/console/templates/pareto.html``) starts with ``{% extends "base.html" %}`` and fills
  ``{% block content %}``; forms put ``{{ csrf_input }}`` inside every ``<form method="post">``.
- Scripts: no inline ``<script>`` runs (CSP ``script-src 'self'``). Put the page's code in
  ``api/console/static/<page>.js`` (``scripts=(...)``), and its data in the template as
  ``<script type="application/json" id="data">{{ data|tojson }}</script>`` for that file to read.
- Third-party assets by name with ``vendors=``: ``"plotly"`` (``/console/static/vendor/plotly.min.js``,
  straight from the installed plotly wheel), ``"leaflet"`` (``/static/vendor/leaflet/``, vendored by
  ``make frontend``). A page that needs a tile server adds it with ``csp_extra={"img-src": "https://tiles..."}``.
- Roles: ``console_roles("dispatcher")`` admits admin and dispatchers; warehouse tokens scoped to one
  warehouse are held to it on ``{warehouse_id}`` paths, and lists use ``api.auth.scoped_warehouse_filter``.
  Domain errors raised on a console page are rendered as an HTML error page with their HTTP status.
"""

from __future__ import annotations
