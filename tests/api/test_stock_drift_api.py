"""When the fast stock store is wrong, the database refuses the oversell and the API answers cleanly: an order
placed against phantom stock is held with a stock_shortage (201, nothing held), and a count below what orders
durably hold is 409, never a 500."""

from __future__ import annotations

from .factories import ADMIN, app_client, put_master_data


def test_phantom_stock_in_the_fast_store_is_refused_by_the_database(database_url: str) -> None:
    with app_client(database_url, stock={"reconcile_interval_s": 0}) as client:
        put_master_data(
            client,
            warehouses={"W1": {"name": "W1", "location": {"lat": 30.2, "lng": 120.2}}},
            skus={"S1": {"name": "tea", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.01}},
            customers={"C1": {"name": "shop", "credit_limit": "100000"}},
            stock={("W1", "S1"): 2},
        )
        container = client.app.state.container  # type: ignore[attr-defined]
        container.stock.locks.put_on_hand("W1", "S1", 50)  # drift: the fast store believes in 48 phantom units
        placed = client.post(
            "/v1/orders",
            json={
                "customer_id": "C1",
                "lines": [{"sku": "S1", "qty": 5, "unit_price": "10.00"}],
                "delivery": {"lat": 30.25, "lng": 120.21, "address": "1 Tea Road"},
            },
            headers={**ADMIN, "Idempotency-Key": "drift-1"},
        )
        assert placed.status_code == 201, placed.text
        order = client.get(f"/v1/orders/{placed.json()['id']}", headers=ADMIN).json()
        assert order["status"] == "on_hold" and "stock_shortage" in str(order)
        assert container.stock.locks.holds(placed.json()["id"]) == []  # the fast store gave the hold back

        kept = client.post(
            "/v1/orders",
            json={
                "customer_id": "C1",
                "lines": [{"sku": "S1", "qty": 2, "unit_price": "10.00"}],
                "delivery": {"lat": 30.25, "lng": 120.21, "address": "2 Tea Road"},
            },
            headers={**ADMIN, "Idempotency-Key": "drift-2"},
        )
        assert client.get(f"/v1/orders/{kept.json()['id']}", headers=ADMIN).json()["status"] == "allocated"
        container.stock.locks.release(kept.json()["id"])  # drift: the fast store forgets a durable hold
        below = client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 1}, headers=ADMIN)
        assert below.status_code == 409, below.text
        assert below.json()["error"]["code"] == "stock_below_reserved"
