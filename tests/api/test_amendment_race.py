"""Amendments racing intake over real HTTP (sqlite+memory and postgis+redis): the stock difference is
reserved atomically, never oversold; a key sent many times at once amends once; what the durable mirror
holds and what the fast store (Redis) holds agree after growing and after shrinking an order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api.settings import Settings, TransportSettings
from benchmarks.live_service import serve_in_thread
from orders_core.stock.repository import StockRepository

from .factories import ADMIN, ADMIN_TOKEN

ON_HAND = 20
COPIES = 4  # concurrent copies of the one amendment (same Idempotency-Key)
RIVALS = 8  # concurrent two-unit orders competing for the same stock


@pytest.fixture(params=["sqlite+memory", "postgis+redis"])
def settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "sqlite+memory":
        database_url, redis_url = request.getfixturevalue("sqlite_database_url"), None
    else:
        database_url = request.getfixturevalue("postgis_database_url")
        redis_url = request.getfixturevalue("fresh_redis_url")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        payment_secret="race-secret",
        log_json=False,
        transport=TransportSettings(assign_at="manual"),
    )


def _order(qty: int) -> dict[str, Any]:
    return {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": 10}],
        "delivery": {"lat": 31.23, "lng": 121.47},
    }


def _levels(container: Any) -> tuple[tuple[int, int], tuple[int, int], int]:
    """(durable on_hand/reserved, fast-store on_hand/reserved, sum of held rows)."""
    with container.uow() as uow:
        durable = StockRepository(uow.session).level("W1", "S1")
        held = StockRepository(uow.session).held_totals().get(("W1", "S1"), 0)
        fast = container.stock.level(uow, "W1", "S1")
    assert durable is not None
    return (durable.on_hand, durable.reserved), (fast.on_hand, fast.reserved), held


def test_amendments_and_orders_race_without_overselling(settings: Settings) -> None:
    with serve_in_thread(settings, quiet=True) as (base_url, container):
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=120) as client:
            for url, body in (
                ("/v1/warehouses/W1", {"name": "W1", "location": {"lat": 31.2, "lng": 121.4}}),
                ("/v1/skus/S1", {"name": "Rice", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.001}),
                ("/v1/customers/C1", {"name": "C1", "credit_limit": 1_000_000}),
            ):
                assert client.put(url, json=body).status_code in (200, 201)
            assert client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": ON_HAND}).status_code == 200
            first = client.post("/v1/orders", json=_order(5)).json()
            assert first["status"] == "allocated"

        def amend(_: int) -> httpx.Response:
            with httpx.Client(base_url=base_url, headers=ADMIN, timeout=120) as own:
                return own.post(
                    f"/v1/orders/{first['id']}/amend",
                    json={"lines": [{"sku": "S1", "qty": 13}]},
                    headers={"Idempotency-Key": "grow-once"},
                )

        def rival(_: int) -> httpx.Response:
            with httpx.Client(base_url=base_url, headers=ADMIN, timeout=120) as own:
                return own.post("/v1/orders", json=_order(2))

        with ThreadPoolExecutor(max_workers=COPIES + RIVALS) as pool:
            amend_futures = [pool.submit(amend, i) for i in range(COPIES)]
            rival_futures = [pool.submit(rival, i) for i in range(RIVALS)]
            amended = [f.result() for f in amend_futures]
            rivals = [f.result() for f in rival_futures]

        print("\n[amendment race]", [r.status_code for r in amended], [r.json()["status"] for r in rivals])
        assert all(r.status_code in (200, 409) for r in amended), [r.text[:200] for r in amended]
        assert all(r.status_code == 201 for r in rivals), [r.text[:200] for r in rivals]
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            order = client.get(f"/v1/orders/{first['id']}").json()
            others = [client.get(f"/v1/orders/{r.json()['id']}").json() for r in rivals]
            grown = [e for e in order["timeline"] if e["reason_code"] == "order_amended"]
            assert len(grown) <= 1  # four copies of one key amend at most once
            qty = order["lines"][0]["qty"]
            assert qty == (13 if grown else 5)
            if any(r.status_code == 200 for r in amended):
                assert grown  # a 200 answers an applied amendment (or its replay)
            allocated = qty + sum(2 for o in others if o["status"] == "allocated")
            assert allocated <= ON_HAND
            (durable, fast, held) = _levels(container)
            assert durable == fast == (ON_HAND, allocated) and held == allocated

            # Shrinking gives back exactly the difference, in the database and in the fast store.
            shrink = client.post(f"/v1/orders/{first['id']}/amend", json={"lines": [{"sku": "S1", "qty": 1}]})
            assert shrink.status_code == 200, shrink.text
            (durable, fast, held) = _levels(container)
            assert durable == fast == (ON_HAND, allocated - qty + 1) and held == allocated - qty + 1
