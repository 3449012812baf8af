"""FastAPI dependencies that hand routers the process's wiring (the container)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from api.container import Container


def get_container(request: Request) -> Container:
    """The container built at app start."""
    container: Container = request.app.state.container
    return container
