"""E-waybills: issued when a shipment gets a carrier, cancelled when it loses it, read by the desk and by
the carrier that holds it, and announced to that carrier through the webhook outbox.

One master waybill per shipment. A shipment packed into several packages (``packaging.pack``) also gets
one child waybill per package (the master/sub scheme of e-waybill standards): the master carries the whole
shipment and the list of packages, each child its package's items, weight and volume.

Every change writes an outbox row in the same transaction (topic ``carrier.webhook``, aggregate the
master waybill number) whose ``data`` is the waybill exactly as ``GET /v1/waybills/{no}`` answers it; the
webhook delivery worker sends it to the carrier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from foundation.clock import rfc3339, utc_now
from foundation.money import to_money
from orders_core.master_data.repository import MasterDataRepository
from orders_core.master_data.tables import CustomerRow
from orders_core.orders.tables import OrderLineRow, OrderRow, ShipmentRow
from orders_core.transport.model import WaybillNotFound, WaybillStatus
from orders_core.transport.packaging import ItemUnit, PackingLimits, pack
from orders_core.transport.repository import TransportRepository
from orders_core.transport.tables import WaybillRow
from orders_core.transport.waybill_numbers import child_number, is_valid, new_master_number
from orders_core.transport.webhooks.outbox import announce_waybill_event
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class WaybillPolicy:
    """How waybills are made: package limits and the delivery promise (hours after the order was placed)."""

    packing: PackingLimits = field(default_factory=PackingLimits)
    promise_s: float = 24 * 3600.0


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` (the contract's time format), or None."""
    if moment is None:
        return None
    return rfc3339(moment)


def mask_phone(phone: str | None) -> str | None:
    """A phone number as printed on a label: the first 3 and last 4 digits, stars between
    (``13812345678`` -> ``138****5678``); short numbers keep only their last 2 digits."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 3:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def _location(lat: float, lng: float) -> dict[str, float]:
    return {"lat": float(lat), "lng": float(lng)}


def _cash_on_delivery(uow: UnitOfWork, order: OrderRow, lines: list[tuple[str, int]]) -> dict[str, float] | None:
    """What the driver collects: for an order placed with ``cash_on_delivery`` and not paid yet, the value
    of this shipment's goods at the order's unit prices (so a split order collects each part once)."""
    if not order.cash_on_delivery or order.payment_status == "paid":
        return None
    prices: dict[str, Decimal] = {}
    for row in uow.session.query(OrderLineRow).filter(OrderLineRow.order_id == order.id):
        prices.setdefault(row.sku, Decimal(row.unit_price))
    amount = sum((prices.get(sku, Decimal(0)) * qty for sku, qty in lines), Decimal(0))
    return {"amount": float(to_money(amount))}  # money is a JSON number everywhere (README, "Money")


def _document(
    uow: UnitOfWork, shipment: ShipmentRow, order: OrderRow, lines: list[tuple[str, int]], policy: WaybillPolicy
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fixed part of a master waybill, and one dict per package (index, items, weight, volume)."""
    master = MasterDataRepository(uow.session)
    warehouse = master.get_warehouse(shipment.warehouse_id)
    customer = uow.session.get(CustomerRow, order.customer_id)
    skus = master.get_skus({sku for sku, _ in lines})
    items = []
    units = []
    for sku, qty in lines:
        item = skus.get(sku)
        unit_kg = item.weight_kg if item else 0.0
        unit_m3 = item.volume_m3 if item else 0.0
        items.append(
            {
                "sku": sku,
                "name": item.name if item else sku,
                "qty": qty,
                "unit_weight_kg": unit_kg,
                "unit_volume_m3": unit_m3,
            }
        )
        units.append(ItemUnit(sku=sku, qty=qty, unit_weight_kg=unit_kg, unit_volume_m3=unit_m3))
    packages = pack(units, policy.packing)
    document: dict[str, Any] = {
        "sender": {
            "warehouse_id": shipment.warehouse_id,
            "name": warehouse.name if warehouse else shipment.warehouse_id,
            "address": None,  # warehouses have no postal address in the master data (yet)
            "location": _location(warehouse.lat, warehouse.lng) if warehouse else None,
        },
        "receiver": {
            "customer_id": order.customer_id,
            "name": order.delivery_contact_name or (customer.name if customer else order.customer_id),
            "phone": mask_phone(order.delivery_contact_phone or (customer.phone if customer else None)),
            "address": order.delivery_address,
            "location": _location(order.delivery_lat, order.delivery_lng),
        },
        "items": items,
        "cash_on_delivery": _cash_on_delivery(uow, order, lines),
        # The order's own promise (orders_core.orders.promise); orders stored before promises: the policy's.
        "promised_delivery_at": iso_utc(order.promised_by or order.created_at + timedelta(seconds=policy.promise_s)),
    }
    package_docs = [
        {
            "index": p.index,
            "items": [{"sku": sku, "qty": qty} for sku, qty in p.items],
            "weight_kg": round(p.weight_kg, 3),
            "volume_m3": round(p.volume_m3, 6),
        }
        for p in packages
    ]
    return document, package_docs


def issue_waybill(
    uow: UnitOfWork,
    shipment: ShipmentRow,
    order: OrderRow,
    carrier_id: str,
    lines: list[tuple[str, int]],
    policy: WaybillPolicy,
) -> str:
    """Issue the master waybill (and children for several packages) of a shipment to ``carrier_id``, sets
    the shipment's load and waybill number, and writes the ``waybill.created`` event; answers the number."""
    now = utc_now()
    document, packages = _document(uow, shipment, order, lines, policy)
    master_no = new_master_number()
    pieces = len(packages)
    weight = round(sum(p["weight_kg"] for p in packages), 3)
    volume = round(sum(p["volume_m3"] for p in packages), 6)
    if pieces > 1:
        for package in packages:
            package["waybill_no"] = child_number(master_no, package["index"])
        document["packages"] = packages
    else:
        document["packages"] = []
    rows = [
        WaybillRow(
            waybill_no=master_no,
            parent_no=None,
            package_index=None,
            shipment_id=shipment.id,
            order_id=order.id,
            carrier_id=carrier_id,
            status=WaybillStatus.ISSUED.value,
            weight_kg=weight,
            volume_m3=volume,
            pieces=pieces,
            document=document,
            created_at=now,
            updated_at=now,
        )
    ]
    if pieces > 1:
        rows += [
            WaybillRow(
                waybill_no=package["waybill_no"],
                parent_no=master_no,
                package_index=package["index"],
                shipment_id=shipment.id,
                order_id=order.id,
                carrier_id=carrier_id,
                status=WaybillStatus.ISSUED.value,
                weight_kg=package["weight_kg"],
                volume_m3=package["volume_m3"],
                pieces=1,
                document={"items": package["items"]},
                created_at=now,
                updated_at=now,
            )
            for package in packages
        ]
    TransportRepository(uow.session).add_waybills(rows)
    shipment.waybill_no = master_no
    shipment.weight_kg = weight
    shipment.volume_m3 = volume
    shipment.pieces = pieces
    announce(uow, rows[0], shipment, "waybill.created")
    return master_no


def cancel_waybill(uow: UnitOfWork, waybill_no: str, shipment: ShipmentRow) -> WaybillRow | None:
    """Cancel a master waybill and its children and tell its carrier (``waybill.cancelled``)."""
    repository = TransportRepository(uow.session)
    row = repository.waybill_row(waybill_no, for_update=True)
    if row is None or row.status == WaybillStatus.CANCELLED.value:
        return row
    now = utc_now()
    for waybill in [row, *repository.children_of(waybill_no)]:
        waybill.status = WaybillStatus.CANCELLED.value
        waybill.updated_at = now
        waybill.cancelled_at = now
    uow.session.flush()
    announce(uow, row, shipment, "waybill.cancelled")
    return row


def set_waybill_status(uow: UnitOfWork, waybill_no: str, status: WaybillStatus) -> None:
    """Move a master waybill and its children to ``status`` and announce ``waybill.updated`` (for the
    carrier-callback and route-planning use cases; a route change is announced with ``announce_change``)."""
    repository = TransportRepository(uow.session)
    row = repository.waybill_row(waybill_no, for_update=True)
    if row is None:
        raise WaybillNotFound(f"no waybill {waybill_no!r}")
    now = utc_now()
    for waybill in [row, *repository.children_of(waybill_no)]:
        waybill.status = status.value
        waybill.updated_at = now
    uow.session.flush()
    shipment = repository.shipment_row(row.shipment_id)
    assert shipment is not None  # a waybill's shipment is never deleted
    announce(uow, row, shipment, "waybill.updated")


def announce_change(uow: UnitOfWork, waybill_no: str) -> None:
    """Tell the carrier that its waybill changed (e.g. route planning filled the route and loading
    position on the shipment): ``waybill.updated`` with the current document."""
    repository = TransportRepository(uow.session)
    row = repository.waybill_row(waybill_no)
    if row is None:
        raise WaybillNotFound(f"no waybill {waybill_no!r}")
    row.updated_at = utc_now()
    shipment = repository.shipment_row(row.shipment_id)
    assert shipment is not None
    announce(uow, row, shipment, "waybill.updated")


def announce(uow: UnitOfWork, row: WaybillRow, shipment: ShipmentRow, event_type: str) -> None:
    """Write the carrier webhook event of a master waybill to the outbox, in the caller's transaction."""
    data = waybill_json(row, shipment, TransportRepository(uow.session).children_of(row.waybill_no))
    announce_waybill_event(uow, carrier_id=row.carrier_id, event_type=event_type, waybill=data)


def waybill_json(row: WaybillRow, shipment: ShipmentRow, children: list[WaybillRow]) -> dict[str, Any]:
    """The e-waybill as the API answers it and as webhooks carry it (plain JSON values only)."""
    route = {
        "route_id": shipment.route_id,
        "stop_sequence": shipment.stop_sequence,
        "loading_position": shipment.loading_position,
    }
    common = {
        "shipment_id": row.shipment_id,
        "order_id": row.order_id,
        "carrier_id": row.carrier_id,
        "status": row.status,
        "weight_kg": row.weight_kg,
        "volume_m3": row.volume_m3,
        "pieces": row.pieces,
        **route,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "cancelled_at": iso_utc(row.cancelled_at),
    }
    document = dict(row.document)
    if row.parent_no is None:
        return {
            "waybill_no": row.waybill_no,
            "kind": "master" if children else "single",
            "parent_waybill_no": None,
            "child_waybill_nos": [child.waybill_no for child in children],
            **common,
            **document,
        }
    return {
        "waybill_no": row.waybill_no,
        "kind": "child",
        "parent_waybill_no": row.parent_no,
        "package_index": row.package_index,
        **common,
        **document,
    }


def waybill_view(uow: UnitOfWork, waybill_no: str, *, carrier_id: str | None = None) -> dict[str, Any]:
    """The waybill as JSON; a child also shows the master's sender, receiver and promise. With
    ``carrier_id`` only that carrier's waybills exist (another's answers WaybillNotFound, 404)."""
    repository = TransportRepository(uow.session)
    row = repository.waybill_row(waybill_no) if is_valid(waybill_no) else None
    if row is None or (carrier_id is not None and row.carrier_id != carrier_id):
        raise WaybillNotFound(f"no waybill {waybill_no!r}")
    shipment = repository.shipment_row(row.shipment_id)
    assert shipment is not None
    if row.parent_no is None:
        return waybill_json(row, shipment, repository.children_of(row.waybill_no))
    parent = repository.waybill_row(row.parent_no)
    assert parent is not None
    answer = waybill_json(row, shipment, [])
    for key in ("sender", "receiver", "promised_delivery_at"):
        answer[key] = parent.document.get(key)
    answer["cash_on_delivery"] = None  # collected once, on the master
    return answer


def get_waybill(new_uow: UnitOfWorkFactory, waybill_no: str, *, carrier_id: str | None = None) -> dict[str, Any]:
    """``waybill_view`` in its own (read-only) transaction."""
    with new_uow() as uow:
        return waybill_view(uow, waybill_no, carrier_id=carrier_id)
