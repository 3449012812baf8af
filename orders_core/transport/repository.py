"""Persistence of transport: shipments' transport state, their lines and load, and e-waybills."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.repository import write_pending_history
from orders_core.orders.tables import OrderRow, ShipmentLineRow, ShipmentRow
from orders_core.transport.model import Load, ShipmentStatus
from orders_core.transport.tables import WaybillRow


class TransportRepository:
    """Reads and writes shipments and waybills in the caller's session (the use case commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- shipments ----------------------------------------------------------------------------
    def shipment_row(self, shipment_id: str, *, for_update: bool = False) -> ShipmentRow | None:
        """The shipment row (locked for the transaction when ``for_update``), or None."""
        write_pending_history(self.session)
        query = select(ShipmentRow).where(ShipmentRow.id == shipment_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).first()

    def shipment_rows(self, shipment_ids: Collection[str], *, for_update: bool = False) -> list[ShipmentRow]:
        """Several shipment rows (locked in id order when ``for_update``: no deadlocks), by id."""
        write_pending_history(self.session)
        query = select(ShipmentRow).where(ShipmentRow.id.in_(sorted(shipment_ids))).order_by(ShipmentRow.id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return list(self.session.scalars(query))

    def shipments_of_order(self, order_id: str) -> list[ShipmentRow]:
        """An order's shipments, by id."""
        write_pending_history(self.session)
        return list(
            self.session.scalars(select(ShipmentRow).where(ShipmentRow.order_id == order_id).order_by(ShipmentRow.id))
        )

    def shipment_lines(self, shipment_ids: Collection[str]) -> dict[str, list[tuple[str, int]]]:
        """Each shipment's (sku, qty) lines in allocation order."""
        lines: dict[str, list[tuple[str, int]]] = {sid: [] for sid in shipment_ids}
        for sid, sku, qty in self.session.execute(
            select(ShipmentLineRow.shipment_id, ShipmentLineRow.sku, ShipmentLineRow.qty)
            .where(ShipmentLineRow.shipment_id.in_(sorted(shipment_ids)))
            .order_by(ShipmentLineRow.id)
        ):
            lines.setdefault(sid, []).append((sku, int(qty)))
        return lines

    def load_of(self, lines: Sequence[tuple[str, int]]) -> Load:
        """Weight and volume of some lines from the SKU master data (an unknown SKU weighs nothing)."""
        skus = MasterDataRepository(self.session).get_skus({sku for sku, _ in lines})
        weight = sum(qty * skus[sku].weight_kg for sku, qty in lines if sku in skus)
        volume = sum(qty * skus[sku].volume_m3 for sku, qty in lines if sku in skus)
        return Load(weight_kg=float(weight), volume_m3=float(volume))

    def auto_assignable(self, order_statuses: Collection[str], limit: int) -> list[ShipmentRow]:
        """Ready shipments without a carrier that automatic assignment has not tried yet, whose order is
        in one of ``order_statuses``; oldest first."""
        return list(
            self.session.scalars(
                select(ShipmentRow)
                .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
                .where(
                    ShipmentRow.status == ShipmentStatus.READY.value,
                    ShipmentRow.carrier_id.is_(None),
                    ShipmentRow.assign_attempts == 0,
                    OrderRow.status.in_(sorted(order_statuses)),
                )
                .order_by(ShipmentRow.created_at, ShipmentRow.id)
                .limit(limit)
            )
        )

    # --- waybills -----------------------------------------------------------------------------
    def add_waybills(self, rows: Sequence[WaybillRow]) -> None:
        """Insert waybills (masters before their children)."""
        self.session.add_all(rows)
        self.session.flush()

    def waybill_row(self, waybill_no: str, *, for_update: bool = False) -> WaybillRow | None:
        """The waybill row, or None."""
        query = select(WaybillRow).where(WaybillRow.waybill_no == waybill_no)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).first()

    def children_of(self, waybill_no: str) -> list[WaybillRow]:
        """The child waybills of a master, by package index."""
        return list(
            self.session.scalars(
                select(WaybillRow).where(WaybillRow.parent_no == waybill_no).order_by(WaybillRow.package_index)
            )
        )
