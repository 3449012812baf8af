"""The service's own scripts, styles and images under ``/static`` (no CDN at run time: desks sit on
intranets, phones on slow links). A link made by ``asset_url`` carries ``?v=``, a hash of the file's
content, so a new build is a new URL: such answers are cached for a year as immutable. A link without
``?v=`` (a page that names the plain path) is revalidated on every use (``ETag``/``Last-Modified``, 304),
so it can never serve yesterday's file."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
#: A year, immutable: the content hash in the link changes when the file does.
LONG_CACHE = "public, max-age=31536000, immutable"
#: A plain link: the browser keeps the file but asks whether it changed before each use.
REVALIDATE = "public, no-cache"


class CachedStaticFiles(StaticFiles):
    """Starlette's static files with cache headers: a year for content-hashed links, revalidation otherwise."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file (or 304/404) as Starlette answers it, with the ``Cache-Control`` its link deserves."""
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = any(part.startswith(b"v=") for part in scope.get("query_string", b"").split(b"&"))
            response.headers["Cache-Control"] = LONG_CACHE if versioned else REVALIDATE
        return response


def static_files() -> CachedStaticFiles:
    """The ``/static`` app (``api.app`` mounts it)."""
    return CachedStaticFiles(directory=STATIC_DIR)


@cache
def asset_url(relative: str) -> str:
    """``/static/<relative>?v=<content hash>``: the link a page uses, so a long cache never serves stale code."""
    digest = hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{relative}?v={digest}"
