"""The console's pages over HTTP on both backends: orders (filters, search, pages), an order's page, the
exception inbox with its decisions and audit trail, the carrier override, warehouse scoping, and CSRF
refusals that change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.webhook_receiver import wait_until

from .console_support import bearer, login, page_csrf
from .factories import ADMIN, ADMIN_TOKEN, make_token, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(console={"exception_targets_s": {"price_conflict": 3600, "credit_limit_exceeded": 0.001}})
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "North", "location": {"lat": 31.23, "lng": 121.47}},
            "W2": {"name": "South", "location": {"lat": 31.10, "lng": 121.40}},
        },
        skus={
            "S1": {"name": "Bolt", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "Nut", "unit_price": 5, "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={
            "C1": {"name": "Huadong Mart", "credit_limit": 1000},
            "C2": {"name": "Pudong Store", "credit_limit": 1000},
        },
        stock={("W1", "S1"): 1000, ("W2", "S2"): 100},
    )
    return test_client


def place(client: TestClient, customer: str, sku: str, qty: int, price: float) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "lines": [{"sku": sku, "qty": qty, "unit_price": price}],
        "delivery": {"lat": 31.2, "lng": 121.45, "address": "88 Century Ave"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def order_status(client: TestClient, order_id: str) -> str:
    return str(client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()["status"])


def open_exceptions(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/exceptions", params={"status": "open"}, headers=ADMIN).json()["items"]
    return items


def decide(client: TestClient, exception_id: str, form: dict[str, str]) -> Any:
    """Post a decision from the inbox with the session's CSRF token, as the inbox's form does."""
    data = {"csrf_token": page_csrf(client, "/console/exceptions"), **form}
    return client.post(f"/console/exceptions/{exception_id}/decide", data=data, follow_redirects=False)


def order_ids_on(page: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)"', page)


def test_order_list_filters_searches_and_pages(client: TestClient) -> None:
    a = place(client, "C1", "S1", 1, 10)  # allocated from W1
    b = place(client, "C2", "S2", 1, 5)  # allocated from W2
    c = place(client, "C1", "S1", 1, 8)  # price conflict: on hold
    login(client, ADMIN_TOKEN)
    everything = client.get("/console/orders")
    assert everything.status_code == 200
    assert order_ids_on(everything.text) == [c["id"], b["id"], a["id"]]  # newest first
    assert order_ids_on(client.get("/console/orders", params={"status": "on_hold"}).text) == [c["id"]]
    assert order_ids_on(client.get("/console/orders", params={"warehouse": "W2"}).text) == [b["id"]]
    assert order_ids_on(client.get("/console/orders", params={"customer": "C1"}).text) == [c["id"], a["id"]]
    assert order_ids_on(client.get("/console/orders", params={"q": "pudong"}).text) == [b["id"]]
    assert order_ids_on(client.get("/console/orders", params={"q": a["id"]}).text) == [a["id"]]
    empty = client.get("/console/orders", params={"from": "2000-01-01", "to": "2000-01-02"})
    assert order_ids_on(empty.text) == []
    today = a["created_at"][:10]
    assert len(order_ids_on(client.get("/console/orders", params={"from": today, "to": today}).text)) == 3
    first = client.get("/console/orders", params={"limit": 2, "customer": "", "status": ""})
    assert order_ids_on(first.text) == [c["id"], b["id"]]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_url
    second = client.get(next_url.group(1).replace("&amp;", "&"))
    assert order_ids_on(second.text) == [a["id"]]
    assert 'rel="next"' not in second.text


def test_a_bad_filter_is_a_422_page_not_a_500(client: TestClient) -> None:
    login(client, ADMIN_TOKEN)
    for params in (
        {"status": "lost"},
        {"from": "yesterday"},
        {"warehouse": "W 1"},
        {"from": "2026-02-02", "to": "2026-02-01"},
    ):
        answer = client.get("/console/orders", params=params)
        assert answer.status_code == 422, params
        assert "text/html" in answer.headers["content-type"]


def test_order_page_shows_timeline_lines_shipments_and_exceptions(client: TestClient) -> None:
    order = place(client, "C1", "S1", 3, 8)
    login(client, ADMIN_TOKEN)
    page = client.get(f"/console/orders/{order['id']}")
    assert page.status_code == 200
    text = page.text
    assert 'id="order-status" data-status="on_hold"' in text
    assert '<li data-status="placed">' in text and '<li data-status="on_hold">' in text
    assert "price_conflict" in text and "S1" in text
    assert "Decide in the inbox" in text
    assert client.get("/console/orders/nope").status_code == 404


def test_approving_in_the_inbox_moves_the_order_on_and_records_who_decided(client: TestClient) -> None:
    order = place(client, "C1", "S1", 1, 8)
    (exception,) = open_exceptions(client)
    dispatcher = make_token(client, "dispatcher")
    token_id = client.get("/v1/tokens", headers=ADMIN).json()["items"][-1]["id"]
    login(client, bearer(dispatcher))
    inbox = client.get("/console/exceptions")
    assert f'data-exception="{exception["id"]}"' in inbox.text
    assert 'data-wait="within"' in inbox.text  # price conflicts may wait an hour here
    decided = decide(
        client,
        exception["id"],
        {
            "action": "approve",
            "reason_code": "customer_confirmed",
            "note": "called the store",
        },
    )
    assert decided.status_code == 303, decided.text
    assert order_status(client, order["id"]) == "allocated"
    resolved = client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()
    assert resolved["status"] == "approved"
    assert resolved["resolved_by"] == f"dispatcher:{token_id}"
    detail = client.get(f"/console/exceptions/{exception['id']}").text
    assert f"dispatcher:{token_id}" in detail and "(customer_confirmed)" in detail and "called the store" in detail
    order_page = client.get(f"/console/orders/{order['id']}").text
    assert 'id="audit-trail"' in order_page and f"dispatcher:{token_id}" in order_page
    assert 'data-status="allocated"' in order_page
    again = decide(
        client,
        exception["id"],
        {
            "action": "reject",
            "reason_code": "other",
            "note": "x",
        },
    )
    assert again.status_code == 409
    assert order_status(client, order["id"]) == "allocated"
    trail = client.get(f"/console/exceptions/{exception['id']}").text.split('class="audit"')[1]
    assert trail.count("<tr><td><time") == 1  # the refused second decision left no record


def test_rejecting_cancels_the_order(client: TestClient) -> None:
    order = place(client, "C1", "S1", 1, 8)
    (exception,) = open_exceptions(client)
    login(client, ADMIN_TOKEN)
    answer = decide(
        client,
        exception["id"],
        {
            "action": "reject",
            "reason_code": "price_not_accepted",
            "next": f"/console/orders/{order['id']}",
        },
    )
    assert (answer.status_code, answer.headers["location"]) == (303, f"/console/orders/{order['id']}")
    assert order_status(client, order["id"]) == "cancelled"


@pytest.mark.parametrize(
    "form",
    [
        {"action": "approve", "reason_code": "price_not_accepted"},  # a reject reason
        {"action": "approve", "reason_code": "made_up"},
        {"action": "approve", "reason_code": "other", "note": "  "},  # other needs a note
        {"action": "maybe", "reason_code": "other", "note": "x"},
    ],
)
def test_a_decision_without_a_documented_reason_changes_nothing(client: TestClient, form: dict[str, str]) -> None:
    order = place(client, "C1", "S1", 1, 8)
    (exception,) = open_exceptions(client)
    login(client, ADMIN_TOKEN)
    answer = decide(client, exception["id"], form)
    assert answer.status_code == 422
    assert order_status(client, order["id"]) == "on_hold"
    assert [x["id"] for x in open_exceptions(client)] == [exception["id"]]


@pytest.mark.parametrize("csrf", [None, "", "0" * 64, "bad"])
def test_a_decision_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, csrf: str | None
) -> None:
    order = place(client, "C1", "S1", 1, 8)
    (exception,) = open_exceptions(client)
    login(client, ADMIN_TOKEN)
    form = {"action": "approve", "reason_code": "customer_confirmed"}
    if csrf is not None:
        form["csrf_token"] = csrf
    answer = client.post(f"/console/exceptions/{exception['id']}/decide", data=form)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    assert order_status(client, order["id"]) == "on_hold"
    assert open_exceptions(client)[0]["status"] == "open"
    assert "No decision recorded." in client.get(f"/console/exceptions/{exception['id']}").text


def test_another_sessions_csrf_token_is_refused(client: TestClient) -> None:
    place(client, "C1", "S1", 1, 8)
    (exception,) = open_exceptions(client)
    login(client, ADMIN_TOKEN)
    admins_token = page_csrf(client, "/console/exceptions")
    client.cookies.clear()
    login(client, bearer(make_token(client, "dispatcher")))
    answer = client.post(
        f"/console/exceptions/{exception['id']}/decide",
        data={"csrf_token": admins_token, "action": "approve", "reason_code": "customer_confirmed"},
    )
    assert answer.status_code == 403
    assert open_exceptions(client)[0]["status"] == "open"


def test_an_exception_over_its_target_says_so_in_colour_and_words(client: TestClient) -> None:
    place(client, "C1", "S1", 200, 10)  # 2000 > the credit limit of 1000; its target here is a millisecond
    login(client, ADMIN_TOKEN)
    inbox = client.get("/console/exceptions", params={"kind": "credit_limit_exceeded"}).text
    assert 'class="badge over" data-wait="over"' in inbox
    assert "Over target: waited" in inbox


def test_warehouse_token_sees_only_its_warehouse(client: TestClient) -> None:
    a = place(client, "C1", "S1", 1, 10)  # ships from W1
    b = place(client, "C2", "S2", 1, 5)  # ships from W2
    login(client, bearer(make_token(client, "warehouse", "W1")))
    listed = client.get("/console/orders").text
    assert order_ids_on(listed) == [a["id"]]
    assert b["id"] not in listed
    assert client.get("/console/orders", params={"warehouse": "W2"}).status_code == 403
    assert client.get(f"/console/orders/{b['id']}").status_code == 403
    assert client.get(f"/console/orders/{a['id']}").status_code == 200
    assert client.get("/console/warehouses/W2").status_code == 403
    assert client.get("/console/warehouses/W1").status_code == 200
    redirect = client.get("/console/warehouses", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (303, "/console/warehouses/W1")


def test_warehouse_token_may_read_the_inbox_but_not_decide(client: TestClient) -> None:
    order = place(client, "C1", "S1", 1, 8)  # held at intake: no warehouse yet, so every warehouse sees it
    (exception,) = open_exceptions(client)
    login(client, bearer(make_token(client, "warehouse", "W1")))
    inbox = client.get("/console/exceptions")
    assert exception["id"] in inbox.text and "Only dispatchers decide exceptions." in inbox.text
    answer = decide(
        client,
        exception["id"],
        {
            "action": "approve",
            "reason_code": "within_policy",
        },
    )
    assert answer.status_code == 403
    assert order_status(client, order["id"]) == "on_hold"


def test_the_nav_lists_the_sections_a_role_may_see(client: TestClient) -> None:
    login(client, ADMIN_TOKEN)
    page = client.get("/console/orders").text
    nav = page[page.index('aria-label="Console sections"') : page.index("</nav>")]
    labels = re.findall(r">([A-Za-z ]+)</a>", nav)
    assert labels[:2] == ["Orders", "Exceptions"] and "Warehouses" in labels
    assert 'aria-current="page"' in nav
    home = client.get("/console", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/console/orders")


def test_carrier_override_assigns_through_the_transport_use_case(client: TestClient) -> None:
    carrier = {"name": "Swift", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5}
    assert client.put("/v1/carriers/K1", json=carrier, headers=ADMIN).status_code == 201
    order = place(client, "C1", "S1", 2, 10)
    (shipment,) = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["shipments"]
    login(client, ADMIN_TOKEN)
    page = client.get(f"/console/orders/{order['id']}").text
    assert f'action="/console/shipments/{shipment["id"]}/assign"' in page
    form = {"order_id": order["id"], "carrier_id": "K1", "reason_code": "customer_request", "note": "store asked"}
    refused = client.post(f"/console/shipments/{shipment['id']}/assign", data=form)
    assert refused.status_code == 403  # no CSRF token
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["shipments"][0].get("carrier_id") is None
    form["csrf_token"] = page_csrf(client, f"/console/orders/{order['id']}")
    done = client.post(f"/console/shipments/{shipment['id']}/assign", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assigned = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["shipments"][0]
    assert assigned["carrier_id"] == "K1" and assigned["waybill_no"]
    after = client.get(done.headers["location"]).text
    assert assigned["waybill_no"] in after  # the waybill table
    # The outbox worker turns the waybill's event into a delivery (skipped: K1 has no webhook URL).
    assert wait_until(lambda: client.get("/v1/webhooks/deliveries", headers=ADMIN).json()["items"] != [])
    deliveries = client.get(f"/console/orders/{order['id']}").text
    assert "<td>waybill.created</td>" in deliveries and "No webhook deliveries." not in deliveries


def test_a_credit_hold_is_approved_with_a_temporary_limit_and_a_price_conflict_at_the_catalogue_price(
    client: TestClient,
) -> None:
    held = place(client, "C1", "S1", 200, 10)  # 2000 > the credit limit of 1000
    (credit,) = open_exceptions(client)
    assert credit["kind"] == "credit_limit_exceeded"
    login(client, ADMIN_TOKEN)
    inbox = client.get("/console/exceptions").text
    assert f'id="credit-{credit["id"]}"' in inbox
    bad = decide(
        client,
        credit["id"],
        {
            "action": "approve",
            "reason_code": "credit_extended",
            "credit_limit": "lots",
        },
    )
    assert bad.status_code == 422 and order_status(client, held["id"]) == "on_hold"
    done = decide(
        client,
        credit["id"],
        {
            "action": "approve",
            "reason_code": "credit_extended",
            "credit_limit": "5000",
        },
    )
    assert done.status_code == 303, done.text
    assert order_status(client, held["id"]) == "allocated"
    assert client.get("/v1/customers/C1", headers=ADMIN).json()["effective_credit_limit"] == 5000

    quoted_low = place(client, "C2", "S2", 2, 4)  # catalogue 5
    (conflict,) = open_exceptions(client)
    decide(
        client,
        conflict["id"],
        {
            "action": "approve",
            "reason_code": "within_policy",
            "price": "catalogue",
        },
    )
    after = client.get(f"/v1/orders/{quoted_low['id']}", headers=ADMIN).json()
    assert after["status"] == "allocated" and after["total"] == 10
