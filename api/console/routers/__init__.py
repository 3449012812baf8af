"""The console's pages, one module per page or group of pages.

Every module of this package that defines ``router`` (a FastAPI ``APIRouter`` with paths relative to
``/console``) is included by :func:`console_routers`; adding a page is adding a module, no list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def console_routers() -> list[APIRouter]:
    """The ``router`` of every module in this package, in module-name order (imported here, so that
    importing ``api`` stays cheap and each page registers its navigation entries when the app is built)."""
    routers: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda found: found.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers
