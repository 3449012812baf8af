"""History-mode orders land with everything the rest of the service reads from an order: the first time
at each main-line node (as the timeline writer keeps it), the furthest node and the stage-timing counts (as
a rebuild from those times gives them), the delivery point's H3 cells (as intake sets them), and text exactly
as given, whatever characters it holds (COPY's text format on PostGIS)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import func, select

from geo.h3_cells import point_cells
from orders_core.integration.history_rows import fresh_ids
from orders_core.integration.repository import ImportRepository, report_dicts
from orders_core.integration.tables import ImportSourceKeyRow
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.stage_durations import fold_stage_durations, rebuild_stage_durations
from orders_core.orders.tables import OrderRow, TimelineRow
from orders_core.orders.tables import StageDurationCountRow as COUNTS_ROW
from tests.orders_core.integration.conftest import DATA, Stores
from tests.orders_core.integration.test_import import _erp_file, _erp_row


def test_imported_orders_carry_their_first_times_and_heat_cells(master_loaded: Stores) -> None:
    stores = master_loaded
    summary = stores.run("erp_orders_csv", DATA / "erp_orders.csv")
    assert summary.counts["accepted"] == 3
    with stores.uow() as uow:
        orders = list(uow.session.scalars(select(OrderRow)))
        uow.session.expunge_all()
        firsts = {
            (order_id, status): at
            for order_id, status, at in uow.session.execute(
                select(TimelineRow.order_id, TimelineRow.status, func.min(TimelineRow.at)).group_by(
                    TimelineRow.order_id, TimelineRow.status
                )
            )
        }
    assert len(orders) == 3
    statuses = set()
    for order in orders:
        for status, column in MILESTONE_COLUMNS.items():
            # What migration 0024 backfills from the timeline: MIN(at) per main-line node.
            assert getattr(order, column) == firsts.get((order.id, status)), (order.id, column)
        assert order.first_placed_at == order.created_at
        reached = [index for index, status in enumerate(MILESTONE_COLUMNS) if (order.id, status) in firsts]
        assert order.furthest_node == max(reached)
        cells = point_cells(order.delivery_lat, order.delivery_lng)
        assert {res: getattr(order, f"delivery_h3_r{res}") for res in cells} == cells
        statuses.add(order.status)
    assert {"delivered", "in_transit"} <= statuses  # more than the placed node is compared
    with stores.uow() as uow:
        assert fold_stage_durations(uow.session) > 0  # the import inserted deltas; fold them as the job does
        kept = {(r.day, r.from_node, r.to_node, r.bucket): r.orders for r in uow.session.scalars(select(COUNTS_ROW))}
        rebuild_stage_durations(uow.session.connection())  # in this transaction only: rolled back below
        rebuilt = {(r.day, r.from_node, r.to_node, r.bucket): r.orders for r in uow.session.scalars(select(COUNTS_ROW))}
    assert kept == rebuilt
    assert sum(n for (_, a, b, _), n in kept.items() if (a, b) == ("placed", "delivered")) >= 1


def test_text_with_tabs_newlines_and_backslashes_lands_as_given(master_loaded: Stores, tmp_path: Path) -> None:
    stores = master_loaded
    address = "上海市\t浦东\\新区\n世纪大道 1 号\r\nB 座"
    path = _erp_file(
        tmp_path / "orders.csv",
        [
            _erp_row("T1", "SKU-0001", 收货地址=address, 收货人="王\\五"),
            _erp_row("T2", "SKU-0001", 下单时间="明天\t\\N"),  # rejected: its raw row goes to the report
        ],
    )
    summary = stores.run("erp_orders_csv", path)
    assert summary.counts["accepted"] == 1 and summary.counts["rejected"] == 1
    with stores.uow() as uow:
        order_id = uow.session.scalar(select(ImportSourceKeyRow.entity_id).where(ImportSourceKeyRow.source_key == "T1"))
        order = uow.session.get(OrderRow, order_id)
        assert order is not None
        assert (order.delivery_address, order.delivery_contact_name) == (address, "王\\五")
        (rejected,) = report_dicts(ImportRepository(uow.session).report(str(summary.run_id), outcome="rejected"))
        raw = ImportRepository(uow.session).report(str(summary.run_id), outcome="rejected")[0].raw
    assert rejected["source_key"] == "T2" and repr("明天\t\\N") in str(rejected["reason"])
    assert raw is not None and raw[0]["下单时间"] == "明天\t\\N"


def test_fresh_ids_are_unique_fit_the_id_columns_and_grow_with_time() -> None:
    pairs = fresh_ids(5000)
    assert len({order_id for order_id, _ in pairs}) == len({token for _, token in pairs}) == 5000
    assert all(re.fullmatch(r"ord_[0-9a-f]{28}", order_id) for order_id, _ in pairs)
    time.sleep(0.002)
    assert max(order_id for order_id, _ in pairs) < min(order_id for order_id, _ in fresh_ids(3))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for _, token in pairs)
    assert fresh_ids(0) == []
