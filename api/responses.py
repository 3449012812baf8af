"""The app's default JSON answer: every response model's content passes the one presentation policy."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from api.schemas.presentation import present_json


class PresentedJSONResponse(JSONResponse):
    """A JSON answer whose measured quantities are rounded to what they mean (``present_json``).

    FastAPI builds this class for every route that returns data (the app's ``default_response_class``);
    a route that builds its own ``JSONResponse`` can use it too.
    """

    def render(self, content: Any) -> bytes:
        return super().render(present_json(content))
