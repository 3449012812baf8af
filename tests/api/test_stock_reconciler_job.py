"""The API process runs the stock reconciler on its own (DISPATCH_STOCK__RECONCILE_INTERVAL_S) and counts every
repair in /metrics; ``dispatch stock reconcile`` is the same pass, once."""

from __future__ import annotations

import time

from orders_core.doctor import run_doctor
from orders_core.stock.model import ReservationLine

from .factories import ADMIN, app_client, put_master_data


def _repairs(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('dispatch_stock_repaired_units_total{kind="hold_freed"}'):
            return float(line.split()[-1])
    return 0.0


def test_the_background_reconciler_frees_a_hold_without_its_row_and_counts_it(database_url: str) -> None:
    stock = {"reconcile_interval_s": 0.2, "reconcile_grace_s": 0, "lease_s": 0.5}
    with app_client(database_url, stock=stock) as client:
        put_master_data(
            client,
            warehouses={"W1": {"name": "W1", "location": {"lat": 30.2, "lng": 120.2}}},
            skus={"S1": {"name": "tea", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.01}},
            customers={"C1": {"name": "shop", "credit_limit": "1000", "prepaid": True}},
            stock={("W1", "S1"): 5},
        )
        placed = client.post(
            "/v1/orders",
            json={
                "customer_id": "C1",
                "lines": [{"sku": "S1", "qty": 2, "unit_price": "10.00"}],
                "delivery": {"lat": 30.25, "lng": 120.21, "address": "1 Tea Road"},
            },
            headers={**ADMIN, "Idempotency-Key": "reconcile-1"},
        )
        assert placed.status_code == 201, placed.text
        container = client.app.state.container  # type: ignore[attr-defined]
        assert run_doctor(container.uow, None).consistent  # a prepaid order awaiting payment holds its stock
        before = _repairs(client.get("/metrics").text)
        # A use case that died after its fast-store hold: no lease left, no durable row.
        # (Not read back here: the job runs every 0.2 s and may free it before any GET; the repair counter
        # below is the proof that the job, not the test, gave the 3 units back.)
        container.stock.locks.reserve("ord-dead", [ReservationLine("W1", "S1", 3)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()["available"] == 3:
                break
            time.sleep(0.2)
        level = client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (5, 2, 3)
        assert _repairs(client.get("/metrics").text) == before + 3
        assert container.reconcile_stock() == {}  # nothing left: the CLI's one-shot pass finds no drift
