"""GET /v1/forecasts and GET /v1/warehouses/{id}/replenishment over a stored run, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from infra.db import make_engine, make_session_factory
from orders_core.planning.forecast import run_forecast
from orders_core.unit_of_work import UnitOfWork
from tests.api.factories import ADMIN, make_token
from tests.orders_core.planning_support import HANGZHOU, NOW, SHANGHAI, START, WEEKS, write_history


def test_forecast_reads_before_and_after_a_run(database_url: str, make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    empty = client.get("/v1/forecasts", headers=ADMIN)
    assert empty.status_code == 200 and empty.json() == {"run": None, "items": [], "next_cursor": None}

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        written = write_history(uow.session)
    summary = run_forecast(lambda: UnitOfWork(factory), now=NOW)
    engine.dispose()

    pages, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/v1/forecasts", params=params, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    items = [item for page in pages for item in page["items"]]
    assert len(items) == summary.forecasts == len({(s, r) for s, r, _ in written.weekly}) * 3
    assert len({(i["sku"], i["region"], i["week"]) for i in items}) == len(items)
    assert pages[0]["run"]["id"] == summary.run_id and pages[0]["run"]["h3_resolution"] == 5
    assert all(0 <= i["lo"] <= i["forecast"] <= i["hi"] for i in items)

    sku = written.skus[0]
    wednesday = (START + timedelta(weeks=WEEKS + 1, days=2)).isoformat()
    one = client.get("/v1/forecasts", params={"sku": sku, "region": SHANGHAI, "week": wednesday}, headers=ADMIN)
    assert one.status_code == 200
    [only] = one.json()["items"]
    assert only["week"] == (START + timedelta(weeks=WEEKS + 1)).isoformat() and only["step"] == 2
    assert {
        i["region"] for i in client.get("/v1/forecasts", params={"region": HANGZHOU}, headers=ADMIN).json()["items"]
    } == {HANGZHOU}

    refill = client.get("/v1/warehouses/W-SH/replenishment", headers=ADMIN)
    assert refill.status_code == 200, refill.text
    body = refill.json()
    assert body["warehouse_id"] == "W-SH" and body["run"]["id"] == summary.run_id
    assert [s["sku"] for s in body["items"]] == written.skus
    for suggestion in body["items"]:
        assert suggestion["order_up_to"] >= 0 and suggestion["order_qty"] >= 0
        assert sum(t["qty"] for t in suggestion["transfers"]) == suggestion["transfer_in"]

    missing = client.get("/v1/warehouses/nowhere/replenishment", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "warehouse_not_found"
    bad_week = client.get("/v1/forecasts", params={"week": "next tuesday"}, headers=ADMIN)
    assert bad_week.status_code == 422 and "error" in bad_week.json()
    carrier = make_token(client, "carrier", "K1")
    assert client.get("/v1/forecasts", headers=carrier).status_code == 403
    assert client.get("/v1/warehouses/W-SH/replenishment", headers=carrier).status_code == 403
