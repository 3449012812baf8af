"""Dual-run reconciliation over HTTP and the CLI, on SQLite and PostGIS: orders placed through the API, their
other-system export (built from the API's own answers, with planted differences, written as the ERP's
GB18030 CSV) uploaded to ``POST /v1/reconciliations``; every planted difference is found and no other; the
run is listed, its differences paged and downloadable; bad uploads are clear 4xx that store nothing."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from orders_core.integration.planted_export import plant_differences, write_planted_export
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.profile_records import ITEMS

from .factories import ADMIN, make_token, put_master_data

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
SKUS = {f"SKU-{n:04d}": Decimal(price) for n, price in enumerate(("12.50", "3.20", "88.00", "1250.00", "0.95"), 1)}
ORDERS = 40


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"WH-HZ": {"name": "杭州仓", "location": {"lat": 30.25, "lng": 120.17}}},
        skus={sku: {"name": sku, "unit_price": str(p), "weight_kg": 1, "volume_m3": 0.001} for sku, p in SKUS.items()},
        customers={f"C{n:04d}": {"name": f"客户{n}", "credit_limit": 10_000_000} for n in range(1, 6)},
        stock={("WH-HZ", sku): 100_000 for sku in SKUS},
    )
    return test_client


def _place_orders(client: TestClient, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    answers = []
    for number in range(count):
        skus = rng.sample(sorted(SKUS), rng.choice((1, 2, 3)))
        body = {
            "customer_id": f"C{rng.randrange(1, 6):04d}",
            "lines": [{"sku": sku, "qty": rng.randrange(1, 30), "unit_price": str(SKUS[sku])} for sku in skus],
            "delivery": {
                "lat": round(30.2 + rng.random() * 0.1, 6),
                "lng": round(120.1 + rng.random() * 0.1, 6),
                "address": f"杭州市西湖区文三路{number + 1}号",
                "contact_name": "王芳",
                "contact_phone": "13800001111",
                "cash_on_delivery": number % 4 == 0,
            },
        }
        answer = client.post("/v1/orders", json=body, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        answers.append(answer.json())
    return answers


def _as_their_record(order: dict[str, Any]) -> dict[str, Any]:
    """The other system's view of an order, built from the API's answer (not from the code under test)."""
    warehouses = sorted({s["warehouse_id"] for s in order["shipments"]})
    return {
        "order_no": order["id"],
        "customer_id": order["customer_id"],
        "placed_at": datetime.fromisoformat(order["created_at"].replace("Z", "+00:00")),
        "status": order["status"],
        "delivery_lat": order["delivery"]["lat"],
        "delivery_lng": order["delivery"]["lng"],
        "delivery_address": order["delivery"]["address"],
        "contact_name": order["delivery"]["contact_name"],
        "contact_phone": order["delivery"]["contact_phone"],
        "cash_on_delivery": order["delivery"]["cash_on_delivery"],
        "promised_by": datetime.fromisoformat(order["promised_by"].replace("Z", "+00:00"))
        if order.get("promised_by")
        else None,
        "delivered_at": None,
        "priority": order["priority"],
        "warehouse_id": ",".join(warehouses) or None,
        ITEMS: [
            {"sku": line["sku"], "qty": line["qty"], "unit_price": Decimal(str(line["unit_price"]))}
            for line in order["lines"]
        ],
    }


def _all_differences(client: TestClient, run_id: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/reconciliations/{run_id}/differences", params=params, headers=ADMIN)
        assert page.status_code == 200, page.text
        found.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


def test_an_uploaded_export_finds_every_planted_difference_and_no_other(client: TestClient, tmp_path: Path) -> None:
    orders = _place_orders(client, ORDERS, seed=5)
    _, theirs, planted = plant_differences([_as_their_record(o) for o in orders], 5, duplicate_on_ours=False)
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    export = tmp_path / "erp_export.csv"
    write_planted_export(profile, theirs, export, 5)
    times = [datetime.fromisoformat(o["created_at"].replace("Z", "+00:00")) for o in orders]
    period = {
        "from": (min(times) - timedelta(minutes=1)).isoformat(),
        "to": (max(times) + timedelta(minutes=1)).isoformat(),
    }

    with export.open("rb") as handle:
        answer = client.post(
            "/v1/reconciliations",
            data={"profile": "erp_orders_csv", **period},
            files={"file": ("erp_export.csv", handle, "text/csv")},
            headers={**ADMIN, "Idempotency-Key": "recon-1"},
        )
    assert answer.status_code == 201, answer.text
    run = answer.json()
    compared = set(run["summary"]["fields"])
    found = sorted((d["key"], d["cause"], d["field"], d["side"]) for d in _all_differences(client, run["id"]))
    expected = sorted(p.identity for p in planted if not p.field or p.field in compared)
    assert found == expected
    assert {"total", "units", "customer_id", "delivery_lat", "placed_at", "warehouse_id"} <= compared
    assert run["summary"]["ours_records"] == ORDERS and run["differences"] == len(expected)
    inconsistent = {key for key, *_ in expected}
    assert run["summary"]["consistent_keys"] == run["summary"]["union_keys"] - len(inconsistent)

    listed = client.get("/v1/reconciliations", params={"order": "desc"}, headers=ADMIN).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    only = client.get(
        f"/v1/reconciliations/{run['id']}/differences", params={"cause": "missing_on_theirs"}, headers=ADMIN
    ).json()
    assert len(only["items"]) == 3 and {d["side"] for d in only["items"]} == {"ours"}
    report = client.get(f"/v1/reconciliations/{run['id']}/differences.csv", headers=ADMIN)
    assert report.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(report.text)))) == len(expected)

    with export.open("rb") as handle:  # the same key and file: the first run, nothing new stored
        again = client.post(
            "/v1/reconciliations",
            data={"profile": "erp_orders_csv", **period},
            files={"file": ("erp_export.csv", handle, "text/csv")},
            headers={**ADMIN, "Idempotency-Key": "recon-1"},
        )
    assert again.status_code == 200 and again.json()["id"] == run["id"]


def test_bad_uploads_are_refused_and_store_nothing(client: TestClient, tmp_path: Path) -> None:
    def post(profile: str, content: bytes, headers: dict[str, str] = ADMIN) -> Any:
        return client.post(
            "/v1/reconciliations", data={"profile": profile}, files={"file": ("x.csv", content)}, headers=headers
        )

    unknown = post("no_such_profile", b"a,b\n")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_profile"
    unreadable = post("erp_orders_csv", b"wrong,header\n1,2\n")
    assert unreadable.status_code == 422 and unreadable.json()["error"]["code"] == "export_unreadable"
    not_orders = post("wms_stock_csv", b"x\n")
    assert not_orders.status_code == 422 and not_orders.json()["error"]["code"] == "reconciliation_refused"
    assert post("erp_orders_csv", b"", make_token(client, "carrier", "CAR-1")).status_code == 403
    assert client.get("/v1/reconciliations", headers=ADMIN).json()["items"] == []
    assert client.get("/v1/reconciliations/REC-NOPE", headers=ADMIN).status_code == 404


def test_the_cli_prints_consistency_and_grouped_mismatches_and_writes_the_csv(
    client: TestClient, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = _place_orders(client, 30, seed=9)
    _, theirs, planted = plant_differences([_as_their_record(o) for o in orders], 9, duplicate_on_ours=False)
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    export = tmp_path / "erp.csv"
    write_planted_export(profile, theirs, export, 9)
    from api.settings import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        out_csv = tmp_path / "diff.csv"
        result = CliRunner().invoke(
            cli_app, ["reconcile", "erp_orders_csv", str(export), "--csv", str(out_csv), "--json", "--store"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert "consistency" in result.output and "by field:" in result.output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    expected = sorted(p.identity for p in planted if not p.field or p.field in summary["fields"])
    assert sorted((r["key"], r["cause"], r["field"], r["side"]) for r in rows) == expected
    assert (
        summary["run_id"] and client.get(f"/v1/reconciliations/{summary['run_id']}", headers=ADMIN).status_code == 200
    )


def test_an_xlsx_export_uploads_whole_despite_its_nul_bytes(client: TestClient, tmp_path: Path) -> None:
    orders = _place_orders(client, 32, seed=3)
    _, theirs, planted = plant_differences([_as_their_record(o) for o in orders], 3, duplicate_on_ours=False)
    profile = load_profile(PROFILES / "erp_orders_xlsx.yaml")
    export = tmp_path / "erp.xlsx"
    write_planted_export(profile, theirs, export, 3)
    assert b"\x00" in export.read_bytes()  # a zip: the JSON NUL guard must not refuse it
    with export.open("rb") as handle:
        answer = client.post(
            "/v1/reconciliations",
            data={"profile": "erp_orders_xlsx"},
            files={"file": ("erp.xlsx", handle, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
            headers=ADMIN,
        )
    assert answer.status_code == 201, answer.text
    run = answer.json()
    found = sorted((d["key"], d["cause"], d["field"], d["side"]) for d in _all_differences(client, run["id"]))
    assert found == sorted(p.identity for p in planted if not p.field or p.field in run["summary"]["fields"])
