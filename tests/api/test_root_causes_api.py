"""The root-cause Pareto and its drill-down (issue 10, item 4) on both backends, checked against an
independent count of seeded records (tests.analytics.root_cause_seed), plus roles and warehouse scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient

from tests.analytics.root_cause_seed import PERIOD, SeededException, expected_counts, expected_orders, seed

from .factories import ADMIN, make_token

DIMENSIONS = ("cause", "warehouse", "customer", "sku", "carrier")


@pytest.fixture
def seeded(database_url: str, client: TestClient) -> list[SeededException]:
    """The app is started (migrated) first, then the records are written under it."""
    return seed(database_url)


def _pareto(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    answer = client.get("/v1/analytics/root-causes", params={**PERIOD, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _all_orders(client: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    """Every order id of a drill-down, page by page (3 per page, so paging is exercised)."""
    ids: list[str] = []
    cursor = None
    path, _, query = url.partition("?")
    while True:
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True)) | {"limit": 3}
        params |= {"cursor": cursor} if cursor else {}
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def _check_bars(body: dict[str, Any], expected: dict[str | None, tuple[int, int]]) -> None:
    got = {bar["key"]: (bar["exceptions"], bar["orders"]) for bar in body["bars"]}
    assert got == expected
    counts = [bar["exceptions"] for bar in body["bars"]]
    assert counts == sorted(counts, reverse=True)
    total = sum(counts)
    running = 0
    for bar in body["bars"]:
        running += bar["exceptions"]
        assert bar["share"] == pytest.approx(bar["exceptions"] / total, abs=1e-6)
        assert bar["cumulative_share"] == pytest.approx(running / total, abs=1e-6)
    assert body["bars"][-1]["cumulative_share"] == pytest.approx(1.0)


@pytest.mark.parametrize("by", DIMENSIONS)
def test_pareto_counts_match_an_independent_count_of_the_seed(
    client: TestClient, seeded: list[SeededException], by: str
) -> None:
    body = _pareto(client, ADMIN, by=by)
    _check_bars(body, expected_counts(seeded, by))
    assert body["exceptions"] == sum(1 for e in seeded if e.in_period)
    if by == "cause":
        assert body["bars"][0]["key"] == "supplier_lead_time"
        assert body["bars"][0]["label"] == "Supplier lead time"


@pytest.mark.parametrize("by", ["warehouse", "carrier", "sku"])
def test_drill_down_returns_exactly_the_seeded_orders_of_each_bar(
    client: TestClient, seeded: list[SeededException], by: str
) -> None:
    body = _pareto(client, ADMIN, by=by, cause="supplier_lead_time")
    _check_bars(body, expected_counts(seeded, by, cause="supplier_lead_time"))
    assert body["bars"], "the seed has supplier lead time exceptions"
    for bar in body["bars"]:
        ids = _all_orders(client, bar["orders_url"], ADMIN)
        assert len(ids) == len(set(ids)), "an order listed twice"
        assert set(ids) == expected_orders(seeded, by, bar["key"], cause="supplier_lead_time")
        assert len(ids) == bar["orders"]


def test_drill_down_combines_selectors(client: TestClient, seeded: list[SeededException]) -> None:
    wanted = {
        e.order.id
        for e in seeded
        if e.in_period and e.order.customer == "C2" and "S3" in e.order.skus and e.root_cause == "address"
    }
    params = {**PERIOD, "cause": "address", "customer": "C2", "sku": "S3"}
    url = "/v1/analytics/root-causes/orders?" + urlencode(params)
    assert set(_all_orders(client, url, ADMIN)) == wanted


def test_a_warehouse_token_sees_only_its_warehouse(client: TestClient, seeded: list[SeededException]) -> None:
    w2 = make_token(client, "warehouse", "W2")
    for by in ("cause", "warehouse", "carrier"):
        _check_bars(_pareto(client, w2, by=by), expected_counts(seeded, by, scope="W2"))
    assert [bar["key"] for bar in _pareto(client, w2, by="warehouse")["bars"]] == ["W2"]
    every = _all_orders(client, "/v1/analytics/root-causes/orders?" + _query(PERIOD), w2)
    assert set(every) == {e.order.id for e in seeded if e.in_period and "W2" in {w for w, _ in e.order.shipments}}
    elsewhere = _all_orders(client, "/v1/analytics/root-causes/orders?" + _query({**PERIOD, "warehouse": "W1"}), w2)
    assert elsewhere == [], "another warehouse's orders are not reachable through a selector"


def _query(params: dict[str, str]) -> str:
    return urlencode(params)


@pytest.mark.parametrize("role", ["customer", "carrier"])
def test_other_roles_are_refused(client: TestClient, role: str) -> None:
    headers = make_token(client, role, "X1")
    for path in ("/v1/analytics/root-causes", "/v1/analytics/root-causes/orders"):
        assert client.get(path, params=PERIOD, headers=headers).status_code == 403


def test_a_dispatcher_reads_it(client: TestClient, seeded: list[SeededException]) -> None:
    dispatcher = make_token(client, "dispatcher")
    assert _pareto(client, dispatcher)["exceptions"] == sum(1 for e in seeded if e.in_period)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cause": "gremlins"}, "invalid_filter"),
        ({"by": "planet"}, "validation_error"),
        ({"from": "2026-03-08T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
    ],
)
def test_bad_input_is_a_clear_422(client: TestClient, params: dict[str, str], code: str) -> None:
    answer = client.get("/v1/analytics/root-causes", params={**PERIOD, **params}, headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == code


def test_the_taxonomy_endpoint_lists_every_root_cause_with_its_codes(client: TestClient) -> None:
    body = client.get("/v1/analytics/root-cause-taxonomy", headers=ADMIN).json()
    by_code = {entry["code"]: entry for entry in body}
    assert "address_outside_coverage" in by_code["address"]["exception_kinds"]
    assert by_code["failed_delivery"]["delay_codes"] == ["failed_delivery_attempt", "returned_to_warehouse"]
