"""Fixtures of the API tests: the app started on the test's own database, and the admin's headers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, app_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    """Headers of the admin whose token the test apps are configured with."""
    return dict(ADMIN)


@pytest.fixture
def make_client(database_url: str) -> Iterator[Callable[..., TestClient]]:
    """Start the app on this test's database (keyword arguments as for ``factories.app_client``);
    every app started is shut down after the test."""
    with contextlib.ExitStack() as started:

        def make(**options: Any) -> TestClient:
            return started.enter_context(app_client(database_url, **options))

        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """The app with the test defaults on this test's database (a module may override this fixture)."""
    return make_client()
