"""The API process cancels unpaid prepaid orders on its own, without an operator running a command."""

from __future__ import annotations

import time

from .factories import ADMIN, app_client


def test_unpaid_prepaid_order_is_cancelled_and_released_by_the_background_job(database_url: str) -> None:
    with app_client(database_url, prepaid_timeout_s=1, jobs_interval_s=0.2) as client:
        client.put("/v1/warehouses/W1", json={"name": "W1", "location": {"lat": 30.2, "lng": 120.2}}, headers=ADMIN)
        client.put(
            "/v1/skus/S1", json={"name": "tea", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.01}, headers=ADMIN
        )
        client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 5}, headers=ADMIN)
        client.put("/v1/customers/C1", json={"name": "shop", "credit_limit": "1000", "prepaid": True}, headers=ADMIN)
        placed = client.post(
            "/v1/orders",
            json={
                "customer_id": "C1",
                "lines": [{"sku": "S1", "qty": 2, "unit_price": "10.00"}],
                "delivery": {"lat": 30.25, "lng": 120.21, "address": "1 Tea Road"},
            },
            headers={**ADMIN, "Idempotency-Key": "prepaid-1"},
        )
        assert placed.status_code == 201, placed.text
        assert placed.json()["payment_status"] == "pending"
        assert client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()["reserved"] == 2

        deadline = time.monotonic() + 15
        status = placed.json()["status"]
        while status != "cancelled" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get(f"/v1/orders/{placed.json()['id']}", headers=ADMIN).json()["status"]

        assert status == "cancelled"
        order = client.get(f"/v1/orders/{placed.json()['id']}", headers=ADMIN).json()
        assert order["timeline"][-1]["reason_code"] == "payment_timeout"
        level = client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (5, 0, 5)
