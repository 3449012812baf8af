"""Failed bearer authentications are rate-limited per client address, over HTTP on both backends: after
20 unknown tokens within the window every authenticated request from that address is 429 with
``Retry-After`` (the admin's too), other addresses are untouched, missing tokens are not counted, and the
limit lifts once the failures age out; with Redis, two API processes count together."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .factories import ADMIN, app_client, make_token

BAD = {"Authorization": "Bearer dsp_not-a-real-token"}


def test_twenty_failed_authentications_then_429_with_retry_after(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    dispatcher = make_token(client, "dispatcher")
    for _ in range(30):  # missing tokens are not guesses: never counted
        assert client.get("/v1/warehouses").status_code == 401
    for attempt in range(20):
        answer = client.get("/v1/warehouses", headers=BAD if attempt % 2 else {"Authorization": f"Bearer x{attempt}"})
        assert answer.status_code == 401, (attempt, answer.text)
    for headers in (BAD, ADMIN, dispatcher):
        refused = client.get("/v1/warehouses", headers=headers)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = TestClient(client.app, client=("203.0.113.9", 4000))  # another address is not affected
    assert other.get("/v1/warehouses", headers=ADMIN).status_code == 200
    assert other.get("/v1/warehouses", headers=BAD).status_code == 401


def test_the_limit_lifts_when_the_failures_age_out(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth={"failure_limit": 3, "failure_window_s": 1.0})
    for _ in range(3):
        assert client.get("/v1/warehouses", headers=BAD).status_code == 401
    assert client.get("/v1/warehouses", headers=ADMIN).status_code == 429
    time.sleep(2.1)
    assert client.get("/v1/warehouses", headers=ADMIN).status_code == 200


def test_with_redis_two_processes_count_failures_together(database_url: str, fresh_redis_url: str) -> None:
    options: dict[str, Any] = {"redis_url": fresh_redis_url, "auth": {"failure_limit": 4, "failure_window_s": 3600}}
    with app_client(database_url, **options) as first, app_client(database_url, **options) as second:
        for client in (first, second, first, second):
            assert client.get("/v1/warehouses", headers=BAD).status_code == 401
        for client in (first, second):
            refused = client.get("/v1/warehouses", headers=ADMIN)
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
