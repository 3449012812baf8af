"""Helpers of the console tests: log in through the form as a browser would, read a page's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def bearer(headers: dict[str, str]) -> str:
    """The token of ``Authorization: Bearer`` headers (as ``make_token`` answers them)."""
    return headers["Authorization"].removeprefix("Bearer ")


def login(client: TestClient, token: str, next_path: str = "/console") -> tuple[int, str]:
    """Log in through the form; answers the status and the Location."""
    form = client.get("/console/login")
    csrf = CSRF.search(form.text)
    assert csrf, form.text
    answer = client.post(
        "/console/login",
        data={"token": token, "csrf_token": csrf.group(1), "next": next_path},
        follow_redirects=False,
    )
    return answer.status_code, answer.headers.get("location", "")


def page_csrf(client: TestClient, path: str = "/console/account") -> str:
    """The CSRF token the forms of a console page carry."""
    found = CSRF.search(client.get(path).text)
    assert found
    return found.group(1)
