"""Every endpoint declares its roles, and 401/403 answer exactly as declared, for every route the app
serves (new routes are covered automatically): no or bad token -> 401, a role outside the list -> 403,
an allowed role gets past auth. Ownership checks (a carrier or customer reading another's record) are
403 too, with their own message."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.routers import all_routers

from .factories import ADMIN, make_token

ROLES = ("dispatcher", "warehouse", "carrier", "customer")
#: Routes authenticated by other means than a bearer token.
#: Public on purpose: the gateway signs its callbacks; the tracking page is reached by its unguessable link.
UNAUTHENTICATED = {("POST", "/v1/payments/notify"), ("GET", "/track/{reference}")}


def _declared_roles(dependant: Dependant) -> list[frozenset[str]]:
    """The ``allowed`` sets of every require_roles(...) dependency under a route."""
    found: list[frozenset[str]] = []
    for sub in dependant.dependencies:
        call = sub.call
        closure = getattr(call, "__closure__", None) or ()
        if getattr(call, "__name__", "") == "dependency":
            found += [c.cell_contents for c in closure if isinstance(c.cell_contents, frozenset)]
        found += _declared_roles(sub)
    return found


def _routes() -> list[tuple[str, str, frozenset[str] | None]]:
    out = []
    for router in all_routers():
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            declared = _declared_roles(route.dependant)
            for method in sorted(route.methods or ()):
                allowed = frozenset.intersection(*declared) if declared else None
                out.append((method, route.path, allowed))
    return out


ROUTES = _routes()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nobody", path)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> tuple[TestClient, dict[str, dict[str, str]]]:
    # One unknown token per route is presented below, more than the failed-auth limit (tested on its own in
    # test_auth_failure_limit.py): the limit is raised so every answer is the route's own.
    test_client = make_client(auth={"failure_limit": 100_000})
    return test_client, {role: make_token(test_client, role, "nobody") for role in ROLES}


def test_every_route_declares_roles() -> None:
    undeclared = [(m, p) for m, p, allowed in ROUTES if allowed is None and (m, p) not in UNAUTHENTICATED]
    assert undeclared == []
    assert len(ROUTES) >= 30


def test_401_and_403_follow_the_declared_roles(client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    test_client, headers = client
    table = []
    for method, path, allowed in ROUTES:
        if allowed is None:
            continue
        url = _concrete(path)
        for auth in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dGVzdA=="}):
            answer = test_client.request(method, url, json={}, headers=auth)
            assert answer.status_code == 401, (method, path, auth, answer.text)
            assert answer.json()["error"]["code"] == "unauthenticated"
        for role in ROLES:
            answer = test_client.request(method, url, json={}, headers=headers[role])
            table.append((method, path, role, answer.status_code))
            assert answer.status_code != 401, (method, path, role, answer.text)
            if role in allowed:
                assert "may not call this endpoint" not in answer.text, (method, path, role)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert answer.json()["error"]["code"] == "forbidden"
            assert answer.status_code < 500, (method, path, role, answer.text)
    assert table


def test_a_revoked_token_is_401(client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    test_client, _ = client
    created = test_client.post("/v1/tokens", json={"role": "dispatcher"}, headers=ADMIN).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert test_client.get("/v1/warehouses", headers=auth).status_code == 200
    assert test_client.delete(f"/v1/tokens/{created['id']}", headers=ADMIN).status_code == 204
    answer = test_client.get("/v1/warehouses", headers=auth)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthenticated"
