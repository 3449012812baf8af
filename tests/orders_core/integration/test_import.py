"""The import use case end to end on SQLite and PostGIS: GB18030 ERP history, idempotent re-runs, resume
after an interruption, dry runs, failed records fixed and re-imported, records that never half-import,
holds with desk exceptions, deferred records that land when their customer arrives, split by warehouse."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import delete, select

from benchmarks.import_data import ORDER_HEADER
from orders_core.integration.failed_file import write_source_file
from orders_core.integration.importer import ImportOptions, failed_rows, run_import
from orders_core.integration.profile_loader import load_profile, parse_profile
from orders_core.integration.reader import SourceUnreadable
from orders_core.integration.repository import ImportRepository, report_dicts
from orders_core.integration.tables import (
    ImportPendingRow,
    ImportRecordRow,
    ImportRunRow,
    ImportSourceKeyRow,
    SkuPackSizeRow,
)
from orders_core.master_data.tables import SkuRow
from orders_core.orders.tables import ExceptionRow, OrderLineRow, OrderRow, ShipmentRow, TimelineRow
from tests.orders_core.integration.conftest import DATA, PROFILES, Stores

#: The ERP export's columns (Chinese headers, one row per order line), as the import benchmark writes them.
ERP_HEADER = ORDER_HEADER


def _erp_row(order_no: str, sku: str, qty: str = "1", **changes: str) -> list[str]:
    row = dict.fromkeys(ERP_HEADER, "")
    row |= {"订单编号": order_no, "客户编码": "C0001", "下单时间": "2026-02-01 10:00:00", "订单状态": "已签收"}
    row |= {"收货地址": "上海市", "纬度": "31.2297", "经度": "121.4837", "商品编码": sku, "数量": qty, "单位": "件"}
    row |= {"签收时间": "2026-02-02 10:00:00", "单价": "2.00"}
    return list((row | changes).values())


def _erp_file(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ERP_HEADER)
        writer.writerows(rows)
    return path


def _order_of(stores: Stores, source_key: str) -> OrderRow | None:
    with stores.uow() as uow:
        order_id = uow.session.scalar(
            select(ImportSourceKeyRow.entity_id).where(ImportSourceKeyRow.source_key == source_key)
        )
        row = uow.session.get(OrderRow, order_id) if order_id else None
        if row is not None:
            uow.session.expunge(row)
        return row


def _report(stores: Stores, run_id: str | None, outcome: str | None = None) -> dict[str, dict[str, Any]]:
    with stores.uow() as uow:
        rows = ImportRepository(uow.session).report(str(run_id), limit=1000, outcome=outcome)
        return {row["source_key"]: row for row in report_dicts(rows)}


def test_erp_gb18030_history_import_records_orders_as_given(master_loaded: Stores) -> None:
    stores = master_loaded
    summary = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    assert summary.status == "finished"
    assert summary.counts == {"accepted": 3, "held": 0, "rejected": 1, "deferred": 2, "duplicate": 0}
    order = _order_of(stores, "SO2026000001")
    assert order is not None and order.status == "delivered" and order.customer_id == "C0001"
    assert order.total == Decimal("299.7000")  # 2 cases (24 each) + 12 pieces of SKU-0001 at 2.00, 3 x 59.90
    assert order.created_at == datetime(2026, 1, 5, 1, 12, tzinfo=UTC)  # 09:12 Beijing time
    with stores.uow() as uow:
        lines = uow.session.execute(
            select(OrderLineRow.sku, OrderLineRow.qty)
            .where(OrderLineRow.order_id == order.id)
            .order_by(OrderLineRow.line_no)
        ).all()
        timeline = uow.session.execute(
            select(TimelineRow.status, TimelineRow.at).where(TimelineRow.order_id == order.id).order_by(TimelineRow.id)
        ).all()
    assert [tuple(line) for line in lines] == [("SKU-0001", 60), ("SKU-0002", 3)]
    assert [status for status, _ in timeline] == ["placed", "delivered"]
    assert timeline[1][1] == datetime(2026, 1, 6, 7, 30, tzinfo=UTC)
    aliased = _order_of(stores, "SO2026000002")
    assert aliased is not None and aliased.customer_id == "C0002" and aliased.status == "in_transit"
    assert aliased.cash_on_delivery is True and aliased.priority == "urgent"
    report = _report(stores, summary.run_id)
    assert report["SO2026000003"]["outcome"] == "rejected"
    assert "%Y-%m-%d %H:%M:%S" in str(report["SO2026000003"]["reason"])
    assert report["SO2026000005"]["warnings"] == ["qty: 9000 clamped to 5000"]
    assert report["SO2026000004"]["outcome"] == "deferred"


def test_the_same_file_twice_creates_nothing_new(master_loaded: Stores) -> None:
    stores = master_loaded
    first = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    orders, lines = stores.count(OrderRow.__table__), stores.count(OrderLineRow.__table__)
    pending = stores.count(ImportPendingRow.__table__)
    again = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    assert again.run_id != first.run_id
    assert again.counts == {"accepted": 0, "held": 0, "rejected": 1, "deferred": 0, "duplicate": 5}
    assert stores.count(OrderRow.__table__) == orders == 3
    assert stores.count(OrderLineRow.__table__) == lines
    assert stores.count(ImportPendingRow.__table__) == pending == 2


def test_an_interrupted_run_resumes_after_the_last_committed_record(master_loaded: Stores) -> None:
    stores = master_loaded
    first = stores.run("erp_orders_csv", DATA / "erp_orders.csv", stop_after=2, batch_size=1)
    assert first.status == "interrupted" and first.records == 2
    assert stores.count(OrderRow.__table__) == 2
    second = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    assert second.run_id == first.run_id and second.resumed_after == 2 and second.records == 4
    with stores.uow() as uow:
        run = uow.session.get(ImportRunRow, first.run_id)
        assert run is not None
        assert (run.status, run.last_record, run.accepted, run.rejected, run.deferred) == ("finished", 6, 3, 1, 2)
    assert stores.count(OrderRow.__table__) == 3
    assert stores.count(ImportRecordRow.__table__, ImportRecordRow.run_id == first.run_id) == 6


def test_a_dry_run_validates_everything_and_writes_nothing(master_loaded: Stores) -> None:
    stores = master_loaded
    tables = [t.__table__ for t in (OrderRow, ImportRunRow, ImportRecordRow, ImportSourceKeyRow, ImportPendingRow)]
    before = [stores.count(table) for table in tables]
    rows: list[dict[str, object]] = []
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    summary = run_import(
        stores.uow, profile, DATA / "erp_orders.csv", options=ImportOptions(dry_run=True), report_sink=rows.extend
    )
    assert summary.run_id is None
    assert summary.counts == {"accepted": 3, "held": 0, "rejected": 1, "deferred": 2, "duplicate": 0}
    assert [stores.count(table) for table in tables] == before
    assert [row["outcome"] for row in rows] == ["accepted", "accepted", "rejected", "deferred", "accepted", "deferred"]


def test_failed_records_come_back_in_the_source_format_and_reimport_once_fixed(
    master_loaded: Stores, tmp_path: Path
) -> None:
    stores = master_loaded
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    summary = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    failed = tmp_path / "failed.csv"
    assert write_source_file(profile, failed, summary.header, failed_rows(stores.uow, str(summary.run_id))) == 1
    text = failed.read_bytes().decode("gb18030")  # same encoding
    assert text.splitlines()[0] == ",".join(ERP_HEADER)  # same columns
    failed.write_bytes(
        text.replace("2026/01/05 11:00", "2026-01-05 11:00:00").replace(",abc,", ",7,").encode("gb18030")
    )
    fixed = stores.run("erp_orders_csv", failed)
    assert fixed.counts["accepted"] == 1
    order = _order_of(stores, "SO2026000003")
    assert order is not None and order.status == "placed"


def test_a_record_the_database_refuses_midway_leaves_nothing_behind(master_loaded: Stores, tmp_path: Path) -> None:
    stores = master_loaded
    with stores.uow() as uow:
        stale = ImportRepository(uow.session).master_index()  # the run's snapshot, then the SKU goes away
        uow.session.execute(delete(SkuPackSizeRow).where(SkuPackSizeRow.sku == "SKU-0002"))
        uow.session.execute(delete(SkuRow).where(SkuRow.sku == "SKU-0002"))
        uow.commit()
    path = _erp_file(
        tmp_path / "orders.csv",
        [_erp_row("A", "SKU-0001"), _erp_row("B", "SKU-0001"), _erp_row("B", "SKU-0002"), _erp_row("C", "RICE-5")],
    )
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    summary = run_import(stores.uow, profile, path, master=stale)
    assert summary.counts["accepted"] == 2 and summary.counts["rejected"] == 1
    assert _order_of(stores, "B") is None
    assert stores.count(OrderRow.__table__) == 2
    assert stores.count(OrderLineRow.__table__) == 2  # B's first line did not stay either
    assert stores.count(TimelineRow.__table__) == 4  # placed + delivered for A and C only
    (b,) = _report(stores, summary.run_id, "rejected").values()
    assert b["source_key"] == "B" and "refused by the database" in str(b["reason"])


def test_hold_for_review_stores_the_order_on_hold_with_a_desk_exception_and_the_record(
    master_loaded: Stores, tmp_path: Path
) -> None:
    stores = master_loaded
    text = (PROFILES / "erp_orders_csv.yaml").read_text(encoding="utf-8")
    text = text.replace(
        'promised_by: {column: 要求送达日期, format: "%Y-%m-%d", required: false}',
        'promised_by: {column: 要求送达日期, format: "%Y-%m-%d", required: false, on_invalid: hold_for_review}',
    ).replace(
        "customer_id: {column: 客户编码, on_unknown: defer_missing_master}",
        "customer_id: {column: 客户编码, on_unknown: hold_for_review}",
    )
    profile = parse_profile(text, file="held.yaml", base_dir=PROFILES)
    path = _erp_file(
        tmp_path / "o.csv",
        [_erp_row("H1", "SKU-0001", 要求送达日期="下周二"), _erp_row("H2", "SKU-0001", 客户编码="C777")],
    )
    summary = run_import(stores.uow, profile, path)
    assert summary.counts["held"] == 2
    order = _order_of(stores, "H1")
    assert order is not None and order.status == "on_hold" and order.held_from == "delivered"
    with stores.uow() as uow:
        (exception,) = uow.session.scalars(select(ExceptionRow).where(ExceptionRow.order_id == order.id))
        assert exception.kind == "import_review" and exception.status == "open"
        assert "promised_by" in exception.message
        assert exception.details["record"][0]["要求送达日期"] == "下周二"
        (waiting,) = uow.session.scalars(select(ImportPendingRow).where(ImportPendingRow.source_key == "H2"))
        assert waiting.status == "held" and waiting.raw[0]["客户编码"] == "C777"
    assert _order_of(stores, "H2") is None  # no customer to hang an order on: held in the import's list


def test_a_deferred_record_lands_when_its_customer_arrives(master_loaded: Stores, tmp_path: Path) -> None:
    stores = master_loaded
    stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    assert _order_of(stores, "SO2026000004") is None
    customers = tmp_path / "c.csv"
    customers.write_bytes(
        '客户编码,客户名称,信用额度,纬度,经度\nC0009,广州新客户,"10,000",23.13,113.26\n'.encode("gb18030")
    )
    arrived = stores.run("erp_customers_csv", customers)
    assert arrived.counts["accepted"] == 2  # the customer, then the order waiting for it
    order = _order_of(stores, "SO2026000004")
    assert order is not None and order.customer_id == "C0009"
    with stores.uow() as uow:
        statuses = dict(uow.session.execute(select(ImportPendingRow.source_key, ImportPendingRow.status)).all())
    assert statuses == {"SO2026000004": "accepted", "SO2026000006": "deferred"}  # SKU-9999 still unknown


def _xlsx(path: Path, rows: list[dict[str, object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "订单明细"
    header = list(rows[0])
    sheet.append(header)
    for row in rows:
        sheet.append([row[column] for column in header])
    workbook.save(path)
    return path


def _two_warehouse_order(tmp_path: Path) -> Path:
    base: dict[str, object] = {
        "订单编号": "X1",
        "客户编码": "C0001",
        "下单时间": "2026-11-30 10:00:00",
        "收货地址": "上海市黄浦区",
    }
    base |= {"收货人": "张三", "联系电话": "139", "纬度": 31.2317, "经度": 121.4787, "优先级": "普通", "单位": "件"}
    return _xlsx(
        tmp_path / "orders.xlsx",
        [
            base | {"商品编码": "SKU-0001", "数量": 5, "单价": 2.0},
            base | {"商品编码": "SKU-0002", "数量": 5, "单价": 59.9},
        ],
    )


def test_split_by_warehouse_lets_allocation_ship_from_two_warehouses(master_loaded: Stores, tmp_path: Path) -> None:
    stores = master_loaded
    with stores.uow() as uow:
        stores.stock.set_on_hand(uow, "WH-SH", "SKU-0001", 10)
        stores.stock.set_on_hand(uow, "WH-BJ", "SKU-0002", 10)
        uow.commit()
    summary = stores.run("erp_orders_xlsx", _two_warehouse_order(tmp_path))
    assert summary.counts["accepted"] == 1
    order = _order_of(stores, "X1")
    assert order is not None and order.status == "allocated"
    with stores.uow() as uow:
        warehouses = set(uow.session.scalars(select(ShipmentRow.warehouse_id).where(ShipmentRow.order_id == order.id)))
    assert warehouses == {"WH-SH", "WH-BJ"}


def test_without_split_by_warehouse_an_order_needing_two_warehouses_is_held(
    master_loaded: Stores, tmp_path: Path
) -> None:
    stores = master_loaded
    with stores.uow() as uow:
        stores.stock.set_on_hand(uow, "WH-SH", "SKU-0001", 10)
        stores.stock.set_on_hand(uow, "WH-BJ", "SKU-0002", 10)
        uow.commit()
    text = (
        (PROFILES / "erp_orders_xlsx.yaml")
        .read_text(encoding="utf-8")
        .replace("  - strategy: split_by_warehouse\n", "")
    )
    profile = parse_profile(text, file="nosplit.yaml", base_dir=PROFILES)
    summary = run_import(stores.uow, profile, _two_warehouse_order(tmp_path), stock=stores.stock)
    assert summary.counts["held"] == 1
    order = _order_of(stores, "X1")
    assert order is not None and order.status == "on_hold"
    with stores.uow() as uow:
        kinds = list(uow.session.scalars(select(ExceptionRow.kind).where(ExceptionRow.order_id == order.id)))
    assert kinds == ["import_review"]


def test_a_wms_stock_snapshot_sets_on_hand_in_pieces(master_loaded: Stores) -> None:
    stores = master_loaded
    summary = stores.run("wms_stock_csv", DATA / "wms_stock.csv")
    assert summary.counts == {"accepted": 2, "held": 1, "rejected": 1, "deferred": 0, "duplicate": 0}
    with stores.uow() as uow:
        assert stores.stock.level(uow, "WH-SH", "SKU-0001").on_hand == 1200  # "1 200" with a space separator
        assert stores.stock.level(uow, "WH-SH", "SKU-0002").on_hand == 100  # 25 CS x 4 per case
    report = _report(stores, summary.run_id)
    assert "3,5" in str(report["WH02|SKU-0001"]["reason"])  # held: a fraction of a piece
    assert "unknown unit 'BOX'" in str(report["WH02|SKU-0002"]["reason"])


def test_an_ecommerce_json_order_export_enters_the_pipeline(master_loaded: Stores) -> None:
    stores = master_loaded
    with stores.uow() as uow:
        stores.stock.set_on_hand(uow, "WH-SH", "TEA-500", 50)
        stores.stock.set_on_hand(uow, "WH-SH", "RICE-5", 50)
        uow.commit()
    summary = stores.run("ecommerce_orders_json", DATA / "shop_orders.json")
    assert summary.counts == {"accepted": 1, "held": 2, "rejected": 0, "deferred": 0, "duplicate": 0}
    tea = _order_of(stores, "T1001")
    assert tea is not None and tea.status == "allocated" and tea.priority == "high"
    with stores.uow() as uow:
        assert uow.session.execute(
            select(OrderLineRow.sku, OrderLineRow.qty).where(OrderLineRow.order_id == tea.id)
        ).all() == [("TEA-500", 3)]
    far = _order_of(stores, "T1002")  # the Beijing customer's order delivered in Shanghai
    assert far is not None and far.status == "on_hold"
    with stores.uow() as uow:
        kinds = list(uow.session.scalars(select(ExceptionRow.kind).where(ExceptionRow.order_id == far.id)))
    assert kinds == ["address_far_from_customer"]
    assert _order_of(stores, "T1003") is None  # unknown SKU held for review in the import's list


def test_a_file_the_profile_cannot_read_is_refused_before_anything_is_stored(stores: Stores, tmp_path: Path) -> None:
    path = tmp_path / "utf8.csv"
    path.write_text((DATA / "erp_orders.csv").read_bytes().decode("gb18030"), encoding="utf-8")
    with pytest.raises(SourceUnreadable, match="gb18030"):
        stores.run("erp_orders_csv", path)
    assert stores.count(ImportRunRow.__table__) == 0


def test_dedupe_source_key_skips_a_record_repeated_later_in_the_file(master_loaded: Stores, tmp_path: Path) -> None:
    stores = master_loaded
    rows = [_erp_row("D1", "SKU-0001"), _erp_row("D2", "SKU-0001"), _erp_row("D1", "SKU-0001", 数量="9")]
    summary = stores.run("erp_orders_csv", _erp_file(tmp_path / "dup.csv", rows), batch_size=1)
    assert summary.counts == {"accepted": 2, "held": 0, "rejected": 0, "deferred": 0, "duplicate": 1}
    order = _order_of(stores, "D1")
    assert order is not None and order.total == Decimal("2.0000")  # the first D1 (qty 1), not the repeat
    report = _report(stores, summary.run_id)  # keyed by source key: D1's last row is the repeat
    assert report["D1"]["record_no"] == 3 and report["D1"]["outcome"] == "duplicate"
    assert report["D1"]["reason"] == "source key 'D1' was imported already (its record is in the service)"
