"""Soft reservations never cost a firm order: with pre-bookings covering all the stock (and more), 16 threads
post one-unit orders of other customers (and a few of the pre-booking customer's own) against a real server
while another thread books, settles and reads the soft holds; exactly the units physically on hand are sold,
so no firm order was refused while stock was there. On the memory store and Redis, over SQLite and PostGIS."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.settings import Settings, TransportSettings
from benchmarks.live_service import serve_in_thread
from infra.db import make_engine
from orders_core.stock.prebook_service import plan_prebookings, settle_prebookings
from orders_core.unit_of_work import UnitOfWork

from .factories import ADMIN, ADMIN_TOKEN

ON_HAND = 60
OTHER_ORDERS = 76
OWN_ORDERS = 4
THREADS = 16
LOCATION = {"lat": 30.2, "lng": 120.2}


class FixedDemand:
    """A demand source that books more than the warehouse holds (the plug-in point of a forecast)."""

    name = "fixed_test_demand"

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        return {cid: {"S1": 40} for cid in customer_ids if cid.startswith("VIP")}


@pytest.fixture(params=["sqlite+memory", "sqlite+redis", "postgis+memory", "postgis+redis"])
def settings(request: pytest.FixtureRequest) -> Settings:
    database, store = request.param.split("+")
    redis_url = request.getfixturevalue("fresh_redis_url") if store == "redis" else None
    return Settings(
        database_url=request.getfixturevalue(f"{database}_database_url"),
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        payment_secret="race-secret",
        log_json=False,
        jobs_interval_s=0,
        transport=TransportSettings(assign_at="manual"),
    )


def _put(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = client.put(path, json=body)
    assert answer.status_code in (200, 201), answer.text


@pytest.mark.slow
def test_firm_orders_take_every_unit_on_hand_whatever_is_pre_booked(settings: Settings) -> None:
    with serve_in_thread(settings) as (base_url, container):
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            _put(client, "/v1/warehouses/W1", {"name": "W1", "location": LOCATION})
            _put(client, "/v1/skus/S1", {"name": "Rice", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.001})
            for cid in ("VIP1", "VIP2", "O1", "O2", "O3", "O4"):
                _put(client, f"/v1/customers/{cid}", {"name": cid, "credit_limit": "1000000", "location": LOCATION})
            _put(client, "/v1/warehouses/W1/stock/S1", {"on_hand": ON_HAND})
            for cid in ("VIP1", "VIP2"):
                assert client.post(f"/v1/customers/{cid}/health/recompute").status_code == 200
        # 2 x 40 units booked softly against 60 on hand: all of the stock is pre-booked.
        assert len(plan_prebookings(container.uow, FixedDemand(), min_score=0)) == 2
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            level = client.get("/v1/warehouses/W1/stock/S1").json()
        assert level["prebooked"] == ON_HAND == level["available"]

        # The pre-booking customer's own orders are spread among the others' (every 20th).
        orders = [f"O{1 + i % 4}" for i in range(OTHER_ORDERS)]
        for n in range(OWN_ORDERS):
            orders.insert(n * 20, "VIP1")
        statuses: Counter[str] = Counter()
        failures: list[str] = []
        views: list[tuple[int, int]] = []
        guard = threading.Lock()
        done = threading.Event()
        local = threading.local()

        def post(index: int) -> None:
            http = getattr(local, "client", None)
            if http is None:
                http = local.client = httpx.Client(base_url=base_url, headers=ADMIN, timeout=120)
            body = {
                "customer_id": orders[index],
                "lines": [{"sku": "S1", "qty": 1, "unit_price": "10.00"}],
                "delivery": {**LOCATION, "address": "1 Race Road"},
            }
            answer = http.post("/v1/orders", json=body, headers={"Idempotency-Key": f"prebook-race-{index}"})
            with guard:
                if answer.status_code != 201:
                    failures.append(f"{index}: {answer.status_code} {answer.text[:200]}")
                else:
                    statuses[answer.json()["status"]] += 1

        def soft_side() -> None:
            with httpx.Client(base_url=base_url, headers=ADMIN, timeout=120) as http:
                while not done.is_set():
                    settle_prebookings(container.uow)
                    plan_prebookings(container.uow, FixedDemand(), min_score=0)  # idempotent: books nothing
                    seen = http.get("/v1/warehouses/W1/stock/S1").json()
                    http.get("/v1/warehouses/W1/prebooked").raise_for_status()
                    with guard:
                        views.append((seen["prebooked"], seen["available"]))

        side = threading.Thread(target=soft_side, daemon=True)
        side.start()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(post, range(len(orders))))
        done.set()
        side.join(60)
        assert not failures, failures[:5]
        # Every unit on hand went to a firm order; only the orders beyond it wait for stock.
        assert statuses["allocated"] == ON_HAND, statuses
        assert statuses["on_hold"] == len(orders) - ON_HAND, statuses
        assert views and all(0 <= prebooked <= max(available, 0) for prebooked, available in views)

        settle_prebookings(container.uow)
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            level = client.get("/v1/warehouses/W1/stock/S1").json()
            rows = client.get("/v1/warehouses/W1/prebooked").json()["items"][0]["prebookings"]
        assert (level["on_hand"], level["reserved"], level["available"], level["prebooked"]) == (ON_HAND, ON_HAND, 0, 0)
        assert sum(row["held"] for row in rows) == 0
        own = {row["customer_id"]: row["consumed"] for row in rows}
        allocated_own = own.get("VIP1", 0)
        assert 0 <= allocated_own <= OWN_ORDERS
        engine = make_engine(settings.database_url)
        with engine.connect() as connection:
            level_row = connection.execute(text("SELECT on_hand, reserved FROM stock_levels")).one()
            held = connection.execute(
                text("SELECT COALESCE(SUM(qty), 0) FROM stock_reservations WHERE state = 'held'")
            ).scalar_one()
            vip_firm = connection.execute(
                text(
                    "SELECT COALESCE(SUM(r.qty), 0) FROM stock_reservations r JOIN orders o ON o.id = r.order_id"
                    " WHERE o.customer_id = 'VIP1' AND r.state = 'held'"
                )
            ).scalar_one()
        engine.dispose()
        assert tuple(level_row) == (ON_HAND, ON_HAND) and held == ON_HAND  # reserved <= on_hand, no oversell
        assert allocated_own == vip_firm  # VIP1's own firm units consumed its soft hold first
        print(
            f"\n[prebook race {settings.database_url.split(':')[0]}+{'redis' if settings.redis_url else 'memory'}] "
            f"{dict(statuses)}, soft views {len(views)}, VIP1 own firm {vip_firm}"
        )
