"""Security headers over HTTP on both backends: a JSON route, error answers (401, 404, 422, 500), the
public tracking page and the API docs all carry them; ``/v1`` answers are ``no-store``."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.security_headers import CONTENT_SECURITY_POLICY

from .factories import ADMIN
from .test_tracking_api import place, setup


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return setup(make_client(raise_server_exceptions=False))


def assert_secured(answer: Response) -> None:
    for name, value in {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
    }.items():
        assert answer.headers.get_list(name) == [value], (name, answer.headers)
    assert len(answer.headers.get_list("content-security-policy")) == 1


def test_json_answers_and_errors_carry_the_headers_and_v1_is_no_store(client: TestClient) -> None:
    ok = client.get("/v1/warehouses", headers=ADMIN)
    assert ok.status_code == 200 and ok.json()
    unauthorised = client.get("/v1/warehouses")
    missing = client.get("/v1/orders/nosuch", headers=ADMIN)
    invalid = client.post("/v1/orders", json={"customer_id": 3}, headers=ADMIN)
    assert (unauthorised.status_code, missing.status_code, invalid.status_code) == (401, 404, 422)
    for answer in (ok, unauthorised, missing, invalid):
        assert_secured(answer)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers.get_list("cache-control") == ["no-store"]
        assert answer.headers["content-type"].startswith("application/json")
    health = client.get("/healthz")
    assert_secured(health)
    assert "cache-control" not in health.headers  # outside /v1 nothing private is answered


def test_an_unhandled_error_answer_carries_them_too(client: TestClient) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    client.app.add_api_route("/v1/boom-for-test", boom)  # type: ignore[attr-defined]
    answer = client.get("/v1/boom-for-test", headers=ADMIN)
    assert answer.status_code == 500 and answer.json()["error"]["code"]
    assert_secured(answer)
    assert answer.headers["cache-control"] == "no-store"


def test_the_tracking_page_allows_its_inline_styles_and_nothing_else(client: TestClient) -> None:
    order = place(client)
    for url in (order["tracking_url"], "/track/" + "x" * 32):
        page = client.get(url)
        assert page.status_code in (200, 404) and page.headers["content-type"].startswith("text/html")
        assert_secured(page)  # the route's own Referrer-Policy is not duplicated
        policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["style-src"] == "'unsafe-inline'"
        assert policy["frame-ancestors"] == "'none'" and "script-src" not in policy
        assert "<style>" in page.text and "<script" not in page.text  # what the policy allows is what it uses
        assert page.headers["cache-control"] == "no-store"


def test_the_api_docs_may_load_exactly_the_assets_they_use(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert_secured(page)
        policy = page.headers["content-security-policy"]
        scripts = re.findall(r'<script[^>]*src="(https://[^/"]+)', page.text)
        assert scripts and all(host in policy for host in scripts), (scripts, policy)
        assert "frame-ancestors 'none'" in policy
