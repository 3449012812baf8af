"""Stock transfers between warehouses: ``requested -> in_transit -> received`` (or ``cancelled`` before
leaving), each step on the transfer's own timeline.

Stock moves with the status and never goes negative: requesting holds the units at the source (a
reservation under the transfer's id, so no order can take them), shipping consumes them there (on hand
drops), receiving adds them on hand at the destination; cancelling a requested transfer releases the hold.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput, NotFound
from orders_core.master_data.repository import MasterDataRepository
from orders_core.stock.model import ReservationLine
from orders_core.stock.service import StockService
from orders_core.stock.tables import StockTransferRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


class TransferNotFound(NotFound):
    """No transfer with this id."""

    code = "transfer_not_found"


class InvalidTransfer(InvalidInput):
    """Same source and destination, an unknown warehouse or SKU, or no lines."""

    code = "invalid_transfer"


class TransferStatusConflict(Conflict):
    """The transfer's status does not allow this step (e.g. receiving one that never left)."""

    code = "invalid_transfer_transition"


NEXT: dict[str, frozenset[str]] = {
    "requested": frozenset({"in_transit", "cancelled"}),
    "in_transit": frozenset({"received"}),
    "received": frozenset(),
    "cancelled": frozenset(),
}


@dataclass(frozen=True)
class TransferEvent:
    """One step of a transfer's history."""

    status: str
    at: datetime
    actor: str
    note: str | None


@dataclass(frozen=True)
class TransferView:
    """A transfer as the API shows it."""

    id: str
    from_warehouse_id: str
    to_warehouse_id: str
    status: str
    lines: tuple[tuple[str, int], ...]
    timeline: tuple[TransferEvent, ...]
    order_id: str | None
    exception_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RequestTransfer:
    """Move ``lines`` (sku, qty) from one warehouse to another, optionally for a held order."""

    from_warehouse_id: str
    to_warehouse_id: str
    lines: tuple[tuple[str, int], ...]
    order_id: str | None = None
    exception_id: str | None = None
    note: str | None = None


def _view(row: StockTransferRow) -> TransferView:
    return TransferView(
        id=row.id,
        from_warehouse_id=row.from_warehouse_id,
        to_warehouse_id=row.to_warehouse_id,
        status=row.status,
        lines=tuple((str(line["sku"]), int(line["qty"])) for line in row.lines),
        timeline=tuple(
            TransferEvent(
                status=str(e["status"]), at=datetime.fromisoformat(e["at"]), actor=str(e["actor"]), note=e.get("note")
            )
            for e in row.timeline
        ),
        order_id=row.order_id,
        exception_id=row.exception_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _event(status: str, actor: str, note: str | None) -> dict[str, Any]:
    return {"status": status, "at": utc_now().isoformat(), "actor": actor, "note": note}


def _merged(lines: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for sku, qty in lines:
        if qty <= 0:
            raise InvalidTransfer(f"qty of {sku} must be positive, got {qty}")
        totals[sku] = totals.get(sku, 0) + qty
    return sorted(totals.items())


def request_transfer_in(uow: UnitOfWork, stock: StockService, command: RequestTransfer, *, actor: str) -> TransferView:
    """``request_transfer`` inside the caller's transaction (an approval executing a transfer suggestion)."""
    if command.from_warehouse_id == command.to_warehouse_id:
        raise InvalidTransfer("from_warehouse_id and to_warehouse_id must differ")
    lines = _merged(command.lines)
    if not lines:
        raise InvalidTransfer("a transfer needs at least one line")
    master = MasterDataRepository(uow.session)
    for warehouse_id in (command.from_warehouse_id, command.to_warehouse_id):
        if master.get_warehouse(warehouse_id) is None:
            raise InvalidTransfer(f"no warehouse with id {warehouse_id!r}")
    unknown = sorted(set(sku for sku, _ in lines) - set(master.get_skus([sku for sku, _ in lines])))
    if unknown:
        raise InvalidTransfer(f"unknown sku(s): {', '.join(unknown)}")
    if command.order_id is not None:
        from orders_core.orders.tables import OrderRow  # the held order it serves, checked by id only

        if uow.session.get(OrderRow, command.order_id) is None:
            raise InvalidTransfer(f"no order {command.order_id!r}")
    transfer_id = "trf_" + secrets.token_hex(8)
    # Held at the source under the transfer's id: 409 insufficient_stock naming each short line.
    stock.reserve(uow, transfer_id, [ReservationLine(command.from_warehouse_id, sku, qty) for sku, qty in lines])
    now = utc_now()
    row = StockTransferRow(
        id=transfer_id,
        from_warehouse_id=command.from_warehouse_id,
        to_warehouse_id=command.to_warehouse_id,
        status="requested",
        lines=[{"sku": sku, "qty": qty} for sku, qty in lines],
        timeline=[_event("requested", actor, command.note or f"units held at {command.from_warehouse_id}")],
        order_id=command.order_id,
        exception_id=command.exception_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    return _view(row)


def request_transfer(
    new_uow: UnitOfWorkFactory, stock: StockService, command: RequestTransfer, *, actor: str
) -> TransferView:
    """Request a transfer: the units are held at the source at once (409 when not available)."""
    with new_uow() as uow:
        view = request_transfer_in(uow, stock, command, actor=actor)
        uow.commit()
    return view


def _locked(uow: UnitOfWork, transfer_id: str) -> StockTransferRow:
    row = uow.session.scalars(
        select(StockTransferRow)
        .where(StockTransferRow.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise TransferNotFound(f"no transfer {transfer_id!r}")
    return row


def advance_transfer_in(
    uow: UnitOfWork, stock: StockService, transfer_id: str, to_status: str, *, actor: str, note: str | None = None
) -> TransferView:
    """Move a transfer one step (in the caller's transaction), moving its stock accordingly."""
    row = _locked(uow, transfer_id)
    if to_status not in NEXT.get(row.status, frozenset()):
        allowed = ", ".join(sorted(NEXT.get(row.status, frozenset()))) or "none (final)"
        raise TransferStatusConflict(f"transfer {transfer_id} is {row.status}; next may be: {allowed}")
    lines = [(str(line["sku"]), int(line["qty"])) for line in row.lines]
    if to_status == "in_transit":
        stock.consume(uow, transfer_id, [ReservationLine(row.from_warehouse_id, sku, qty) for sku, qty in lines])
        note = note or f"left {row.from_warehouse_id}"
    elif to_status == "received":
        stock.receive(uow, [ReservationLine(row.to_warehouse_id, sku, qty) for sku, qty in lines])
        note = note or f"on hand at {row.to_warehouse_id}"
    elif to_status == "cancelled":
        stock.release(uow, transfer_id)
        note = note or f"hold at {row.from_warehouse_id} released"
    row.status = to_status
    row.updated_at = utc_now()
    row.timeline = [*row.timeline, _event(to_status, actor, note)]
    uow.session.flush()
    return _view(row)


def advance_transfer(
    new_uow: UnitOfWorkFactory,
    stock: StockService,
    transfer_id: str,
    to_status: str,
    *,
    actor: str,
    note: str | None = None,
) -> TransferView:
    """``advance_transfer_in`` in its own transaction."""
    with new_uow() as uow:
        view = advance_transfer_in(uow, stock, transfer_id, to_status, actor=actor, note=note)
        uow.commit()
    return view


def get_transfer(new_uow: UnitOfWorkFactory, transfer_id: str) -> TransferView:
    """One transfer (404 transfer_not_found)."""
    with new_uow() as uow:
        row = uow.session.get(StockTransferRow, transfer_id)
        if row is None:
            raise TransferNotFound(f"no transfer {transfer_id!r}")
        return _view(row)


def list_transfers(
    new_uow: UnitOfWorkFactory, *, status: str | None = None, order_id: str | None = None, limit: int = 100
) -> list[TransferView]:
    """Transfers, oldest first, filtered by status and order."""
    with new_uow() as uow:
        query = select(StockTransferRow)
        if status is not None:
            query = query.where(StockTransferRow.status == status)
        if order_id is not None:
            query = query.where(StockTransferRow.order_id == order_id)
        rows = uow.session.scalars(query.order_by(StockTransferRow.created_at, StockTransferRow.id).limit(limit))
        return [_view(row) for row in rows]
