"""``dispatch export`` on SQLite and PostGIS: orders, shipments and waybills written in a target system's format
through a profile, read back through the same profile and compared field by field with what the API answers
(codes, times in the target's zone, GCJ-02 coordinates, encodings all undone); the orders export also passes
the import itself (a dry run accepts every record)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from orders_core.integration.importer import ImportOptions, run_import
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.profile_records import ITEMS, canonical_records

from .factories import ADMIN, put_master_data
from .test_reconciliation_api import SKUS, _place_orders

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    # No webhook worker: on SQLite its write transactions would keep the CLI's reads waiting for the lock.
    test_client = make_client(
        transport={"assign_at": "manual", "retry_interval_s": 0}, webhooks={"worker_enabled": False}
    )
    put_master_data(
        test_client,
        warehouses={"WH-HZ": {"name": "杭州仓", "location": {"lat": 30.25, "lng": 120.17}}},
        skus={sku: {"name": sku, "unit_price": str(p), "weight_kg": 1, "volume_m3": 0.001} for sku, p in SKUS.items()},
        customers={f"C{n:04d}": {"name": f"客户{n}", "credit_limit": 10_000_000} for n in range(1, 6)},
        stock={("WH-HZ", sku): 100_000 for sku in SKUS},
    )
    return test_client


def _export(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from api.settings import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["export", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("profile_name", ["erp_orders_csv", "ecommerce_orders_json"])
def test_orders_export_reads_back_field_by_field_and_imports(
    client: TestClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile_name: str
) -> None:
    orders = {o["id"]: o for o in _place_orders(client, 12, seed=4)}
    profile = load_profile(PROFILES / f"{profile_name}.yaml")
    out = tmp_path / f"orders.{profile.source.format}"
    printed = _export(database_url, monkeypatch, profile_name, "--entity", "orders", "--out", str(out))
    assert "written to" in printed
    back = {r["order_no"]: r for r in canonical_records(profile, out)}
    assert set(back) == set(orders)
    mapped = {spec.name for spec in profile.fields}
    for order_id, record in back.items():
        order = orders[order_id]
        assert record["customer_id"] == order["customer_id"]  # C0001 went out as KH-OLD-0001 in the ERP's file
        # Whole seconds in the target's format and zone, back in UTC.
        assert abs((record["placed_at"] - _utc(order["created_at"])).total_seconds()) < 1
        assert record["delivery_address"] == order["delivery"]["address"]
        assert abs(record["delivery_lat"] - order["delivery"]["lat"]) < 1e-5
        assert abs(record["delivery_lng"] - order["delivery"]["lng"]) < 1e-5
        if "status" in mapped:
            assert record["status"] == order["status"]
        if "cash_on_delivery" in mapped:
            assert record["cash_on_delivery"] == order["delivery"]["cash_on_delivery"]
        lines = [(i["sku"], i["qty"], Decimal(i["unit_price"])) for i in record[ITEMS]]
        assert lines == [(ln["sku"], ln["qty"], Decimal(str(ln["unit_price"]))) for ln in order["lines"]]
    if profile_name == "erp_orders_csv":
        text = out.read_bytes().decode("gb18030")
        assert text.startswith("订单编号,")
        aliased = {o["customer_id"] for o in orders.values()} & {"C0001", "C0002"}
        assert aliased and all(f"KH-OLD-{c[1:]}" in text and f",{c}," not in text for c in aliased)
    report: list[dict[str, Any]] = []
    container = client.app.state.container  # type: ignore[attr-defined]
    summary = run_import(
        container.uow,
        profile,
        out,
        options=ImportOptions(dry_run=True, actor="test"),
        stock=container.stock,
        report_sink=report.extend,
    )
    assert summary.counts["accepted"] == len(orders), report
    assert summary.counts["rejected"] == summary.counts["held"] == 0


def test_shipments_and_waybills_export_in_the_tms_formats(
    client: TestClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"name": "van", "vehicle_type": "van", "capacity_kg": 5000, "capacity_m3": 50, "coverage": None}
    assert client.put("/v1/carriers/CAR-1", json=body, headers=ADMIN).status_code in (200, 201)
    position = {"carrier_id": "CAR-1", "lat": 30.251, "lng": 120.171, "ts": datetime.now().astimezone().isoformat()}
    assert client.post("/v1/carriers/positions", json={"positions": [position]}, headers=ADMIN).status_code == 200
    orders = _place_orders(client, 5, seed=8)
    waybills = {}
    for order in orders:
        for shipment in order["shipments"]:
            assigned = client.post(f"/v1/shipments/{shipment['id']}/assign", json={}, headers=ADMIN)
            assert assigned.status_code == 200, assigned.text
            number = assigned.json()["waybill_no"]
            waybills[number] = client.get(f"/v1/waybills/{number}", headers=ADMIN).json()

    shipments_csv = tmp_path / "shipments.csv"
    _export(database_url, monkeypatch, "tms_shipments_csv", "--entity", "shipments", "--out", str(shipments_csv))
    shipments = load_profile(PROFILES / "tms_shipments_csv.yaml")
    back = {r["shipment_id"]: r for r in canonical_records(shipments, shipments_csv)}
    expected = {s["id"]: (o, s) for o in orders for s in o["shipments"]}
    assert set(back) == set(expected)
    for shipment_id, record in back.items():
        order, shipment = expected[shipment_id]
        assert (record["order_no"], record["warehouse_id"], record["status"]) == (order["id"], "WH-HZ", "assigned")
        assert record["carrier_id"] == "CAR-1" and record["waybill_no"] in waybills
        assert [(i["sku"], i["qty"]) for i in record[ITEMS]] == [(ln["sku"], ln["qty"]) for ln in shipment["lines"]]
        assert abs(record["delivery_lat"] - order["delivery"]["lat"]) < 1e-5
    assert "已分配" in shipments_csv.read_bytes().decode("gb18030")

    waybills_json = tmp_path / "waybills.json"
    _export(database_url, monkeypatch, "tms_waybills_json", "--entity", "waybills", "--out", str(waybills_json))
    document = json.loads(waybills_json.read_text(encoding="utf-8"))
    assert len(document["data"]["waybills"]) == len(waybills)
    profile = load_profile(PROFILES / "tms_waybills_json.yaml")
    for record in canonical_records(profile, waybills_json):
        issued = waybills[record["waybill_no"]]
        assert (record["shipment_id"], record["order_no"], record["status"]) == (
            issued["shipment_id"],
            issued["order_id"],
            "issued",
        )
        assert record["receiver_address"] == issued["receiver"]["address"]
        assert abs(record["receiver_lat"] - issued["receiver"]["location"]["lat"]) < 1e-5
        assert abs(record["sender_lng"] - issued["sender"]["location"]["lng"]) < 1e-5
        assert record["pieces"] == issued["pieces"] and abs(record["weight_kg"] - issued["weight_kg"]) < 1e-6
        assert [(i["sku"], i["qty"]) for i in record[ITEMS]] == [(i["sku"], i["qty"]) for i in issued["items"]]
    # The file itself holds GCJ-02: shifted by hundreds of metres from what the API answers.
    raw = document["data"]["waybills"][0]
    assert abs(raw["receiver"]["lat"] - waybills[raw["billCode"]]["receiver"]["location"]["lat"]) > 1e-4


def test_an_entity_the_profile_does_not_map_is_refused(
    client: TestClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        args = ["export", "erp_orders_csv", "--entity", "waybills", "--out", str(tmp_path / "x.csv")]
        result = CliRunner().invoke(cli_app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "export refused" in result.output
    assert not (tmp_path / "x.csv").exists()
