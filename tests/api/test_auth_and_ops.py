"""Auth by role, the error envelope, request ids and metrics, on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(log_json=True)


def test_healthz_needs_no_token(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_missing_token_is_401_with_contract_error_shape(client: TestClient) -> None:
    answer = client.get("/v1/tokens")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert "bearer" in answer.json()["error"]["message"].lower()


def test_unknown_token_is_401(client: TestClient) -> None:
    answer = client.get("/v1/tokens", headers={"Authorization": "Bearer dsp_not-a-real-token"})
    assert answer.status_code == 401


def test_wrong_role_is_403(client: TestClient) -> None:
    warehouse = make_token(client, "warehouse")
    answer = client.get("/v1/tokens", headers=warehouse)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_created_token_is_stored_hashed_and_listed_without_value(client: TestClient) -> None:
    headers = make_token(client, "dispatcher")
    value = headers["Authorization"].split()[1]
    listed = client.get("/v1/tokens", headers=ADMIN).json()["items"]
    assert any(row["role"] == "dispatcher" for row in listed)
    assert value not in str(listed)


def test_customer_token_requires_subject(client: TestClient) -> None:
    answer = client.post("/v1/tokens", json={"role": "customer"}, headers=ADMIN)
    assert answer.status_code == 422
    assert "subject" in answer.json()["error"]["message"]


def test_revoked_token_stops_working(client: TestClient) -> None:
    created = client.post("/v1/tokens", json={"role": "admin"}, headers=ADMIN).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/v1/tokens", headers=headers).status_code == 200
    assert client.delete(f"/v1/tokens/{created['id']}", headers=ADMIN).status_code == 204
    assert client.get("/v1/tokens", headers=headers).status_code == 401


def test_malformed_json_is_a_4xx_not_a_500(client: TestClient) -> None:
    answer = client.post("/v1/tokens", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500
    assert "error" in answer.json()


def test_request_id_is_echoed_and_metrics_exposed(client: TestClient) -> None:
    answer = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert answer.headers["X-Request-ID"] == "abc123"
    client.get("/v1/tokens", headers=ADMIN)
    metrics = client.get("/metrics").text
    assert "dispatch_http_request_duration_seconds" in metrics
    assert 'route="/v1/tokens"' in metrics
