"""``dispatch doctor``: is the service's state consistent across its stores? (and repair what may be repaired)

Four checks, each answering ``{"ok": bool, "problems": [...]}``:

- ``stock_fast_store``: the fast stock store (Redis or in-process) against the database, order hold by
  order hold and count by count (``reconcile.StockReconciler``; ``--repair`` settles it on the database);
- ``reservations_vs_orders``: every held reservation belongs to an order (or transfer) in a status that
  holds stock, every order that must hold stock holds some, and each level's ``reserved`` equals the sum
  of its held rows (``--repair`` recomputes ``reserved`` from the rows);
- ``outbox_vs_deliveries``: every published carrier-webhook outbox event has its delivery and every
  delivery its event (unpublished events are pending, not a problem);
- ``stock_constraints``: no level with ``reserved > on_hand`` or a negative count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from orders_core.orders.model import OrderStatus
from orders_core.orders.tables import OrderRow, OutboxRow
from orders_core.stock.locks import StockLocks
from orders_core.stock.reconcile import ReconcileReport, RepairHook, StockReconciler
from orders_core.stock.repository import HELD
from orders_core.stock.tables import StockLevelRow, StockReservationRow, StockTransferRow
from orders_core.transport.webhooks.model import TOPIC
from orders_core.transport.webhooks.tables import WebhookDeliveryRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: Orders in these statuses hold no stock (not allocated yet, or finished).
HOLDS_NOTHING = frozenset({OrderStatus.PLACED, OrderStatus.CREDIT_REVIEW, OrderStatus.DELIVERED, OrderStatus.CANCELLED})
#: Orders in these statuses hold every unit they were allocated (nothing picked or shipped yet).
MUST_HOLD = frozenset({OrderStatus.STOCK_LOCKED, OrderStatus.ALLOCATED})
#: Transfers hold stock at their source while requested.
TRANSFER_HOLDS = "requested"
#: Longest problem list per check in the answer (the counts stay exact).
MAX_LISTED = 50


@dataclass
class Check:
    """One check's verdict."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    repaired_units: int = 0
    #: Why the check could not look (it then passes: there is nothing it can see to disagree).
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the doctor's contract."""
        answer = {"ok": not self.problems, "problems": self.problems[:MAX_LISTED], "count": len(self.problems)}
        if self.skipped:
            answer["skipped"] = self.skipped
        return answer


@dataclass
class DoctorReport:
    """All four checks."""

    checks: dict[str, Check]

    @property
    def consistent(self) -> bool:
        """Every check passed."""
        return all(not check.problems for check in self.checks.values())

    @property
    def repaired_units(self) -> int:
        """Units the repairs moved (fast-store holds and counts, durable ``reserved``)."""
        return sum(check.repaired_units for check in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        """``{"consistent", "repaired_units", "checks": {name: {"ok", "problems"}}}``."""
        return {
            "consistent": self.consistent,
            "repaired_units": self.repaired_units,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
        }


def check_stock_fast_store(
    new_uow: UnitOfWorkFactory,
    locks: StockLocks,
    *,
    repair: bool,
    wait_s: float = 0.0,
    on_repair: RepairHook | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Check:
    """Fast store vs database. With ``repair``, passes repeat for up to ``wait_s`` while differences remain
    that are in flight (a lease not yet expired: a process that died mid-reservation) or moved meanwhile."""
    reconciler = StockReconciler(new_uow, locks, grace_s=0.0, on_repair=on_repair)
    deadline = time.monotonic() + wait_s
    repaired = 0
    while True:
        report: ReconcileReport = reconciler.run(repair=repair)
        repaired += report.repaired_units
        if not repair or not report.unresolved or time.monotonic() >= deadline:
            break
        sleep(0.5)
    if repair:
        final = reconciler.run(repair=False)
        problems = [d.as_dict() for d in final.drifts]
    else:
        problems = [d.as_dict() for d in report.drifts]
    return Check(problems=problems, repaired_units=repaired)


def check_reservations_vs_orders(new_uow: UnitOfWorkFactory, *, repair: bool) -> Check:
    """Held rows vs orders and transfers, and ``reserved`` vs the held rows."""
    check = Check()
    with new_uow() as uow:
        session = uow.session
        held = session.execute(
            select(StockReservationRow.order_id, func.sum(StockReservationRow.qty))
            .where(StockReservationRow.state == HELD)
            .group_by(StockReservationRow.order_id)
        ).all()
        holders = {order_id: int(qty) for order_id, qty in held}
        statuses = dict(session.execute(select(OrderRow.id, OrderRow.status).where(OrderRow.id.in_(holders))).all())
        transfer_rows = select(StockTransferRow.id, StockTransferRow.status).where(StockTransferRow.id.in_(holders))
        transfers = dict(session.execute(transfer_rows).all())
        for holder, units in sorted(holders.items()):
            if holder in transfers:
                if transfers[holder] != TRANSFER_HOLDS:
                    status = transfers[holder]
                    check.problems.append(
                        {"kind": "transfer_holds_stock", "transfer_id": holder, "status": status, "units": units}
                    )
            elif holder not in statuses:
                check.problems.append({"kind": "hold_without_order", "order_id": holder, "units": units})
            elif OrderStatus(statuses[holder]) in HOLDS_NOTHING:
                status = statuses[holder]
                check.problems.append(
                    {"kind": "finished_order_holds_stock", "order_id": holder, "status": status, "units": units}
                )
        must_hold = [status.value for status in MUST_HOLD]
        waiting = session.execute(select(OrderRow.id, OrderRow.status).where(OrderRow.status.in_(must_hold))).all()
        for order_id, status in waiting:
            if order_id not in holders:
                check.problems.append({"kind": "order_without_holds", "order_id": order_id, "status": status})
        totals = dict(
            ((wh, sku), int(qty))
            for wh, sku, qty in session.execute(
                select(StockReservationRow.warehouse_id, StockReservationRow.sku, func.sum(StockReservationRow.qty))
                .where(StockReservationRow.state == HELD)
                .group_by(StockReservationRow.warehouse_id, StockReservationRow.sku)
            )
        )
        levels = session.execute(select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.reserved)).all()
    seen = set()
    for wh, sku, reserved in levels:  # after the read transaction: a repair opens its own (SQLite: one writer)
        seen.add((wh, sku))
        want = totals.get((wh, sku), 0)
        if reserved == want:
            continue
        if repair and _repair_reserved(new_uow, wh, sku):
            check.repaired_units += abs(reserved - want)
            continue
        check.problems.append(
            {"kind": "reserved_not_sum_of_holds", "warehouse_id": wh, "sku": sku, "reserved": reserved, "held": want}
        )
    for (wh, sku), want in sorted(totals.items()):
        if (wh, sku) not in seen:
            check.problems.append({"kind": "holds_without_level", "warehouse_id": wh, "sku": sku, "held": want})
    return check


def _repair_reserved(new_uow: UnitOfWorkFactory, warehouse_id: str, sku: str) -> bool:
    """Set ``reserved`` to the sum of the held rows, recomputed under the row's lock; False if the CHECK refuses."""
    with new_uow() as uow:
        key = (StockLevelRow.warehouse_id == warehouse_id) & (StockLevelRow.sku == sku)
        uow.session.execute(select(StockLevelRow.reserved).where(key).with_for_update())
        total = uow.session.scalar(
            select(func.coalesce(func.sum(StockReservationRow.qty), 0)).where(
                StockReservationRow.warehouse_id == warehouse_id,
                StockReservationRow.sku == sku,
                StockReservationRow.state == HELD,
            )
        )
        try:
            uow.session.execute(update(StockLevelRow).where(key).values(reserved=int(total or 0)))
            uow.commit()
        except Exception:  # reserved_within_on_hand: the held rows exceed the goods; a person decides
            return False
    return True


def check_outbox_vs_deliveries(new_uow: UnitOfWorkFactory) -> Check:
    """Every published carrier-webhook event has a delivery, every delivery an event."""
    check = Check()
    with new_uow() as uow:
        session = uow.session
        orphans = session.execute(
            select(OutboxRow.id)
            .outerjoin(WebhookDeliveryRow, WebhookDeliveryRow.outbox_id == OutboxRow.id)
            .where(OutboxRow.topic == TOPIC, OutboxRow.published_at.is_not(None), WebhookDeliveryRow.id.is_(None))
        ).all()
        check.problems += [{"kind": "published_event_without_delivery", "outbox_id": oid} for (oid,) in orphans]
        lost = session.execute(
            select(WebhookDeliveryRow.id, WebhookDeliveryRow.outbox_id)
            .outerjoin(OutboxRow, OutboxRow.id == WebhookDeliveryRow.outbox_id)
            .where(WebhookDeliveryRow.outbox_id.is_not(None), OutboxRow.id.is_(None))
        ).all()
        check.problems += [
            {"kind": "delivery_without_event", "delivery_id": did, "outbox_id": oid} for did, oid in lost
        ]
    return check


def check_stock_constraints(new_uow: UnitOfWorkFactory) -> Check:
    """No level with more reserved than on hand, nor a negative count (the CHECK constraints' promise)."""
    with new_uow() as uow:
        rows = uow.session.execute(
            select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.on_hand, StockLevelRow.reserved).where(
                (StockLevelRow.reserved > StockLevelRow.on_hand)
                | (StockLevelRow.on_hand < 0)
                | (StockLevelRow.reserved < 0)
            )
        ).all()
    return Check(
        problems=[
            {"kind": "oversold", "warehouse_id": wh, "sku": sku, "on_hand": on_hand, "reserved": reserved}
            for wh, sku, on_hand, reserved in rows
        ]
    )


#: Why the fast store is not compared without Redis.
IN_PROCESS = "in-process stock store: it lives inside each server process (its reconciler job checks it there)"


def run_doctor(
    new_uow: UnitOfWorkFactory,
    locks: StockLocks | None,
    *,
    repair: bool = False,
    wait_s: float = 0.0,
    on_repair: RepairHook | None = None,
) -> DoctorReport:
    """All four checks; durable repairs first, so the fast store is settled on the repaired database.

    ``locks`` None: the fast store is in another process's memory, out of reach (``IN_PROCESS``)."""
    reservations = check_reservations_vs_orders(new_uow, repair=repair)
    fast_store = (
        check_stock_fast_store(new_uow, locks, repair=repair, wait_s=wait_s, on_repair=on_repair)
        if locks is not None
        else Check(skipped=IN_PROCESS)
    )
    return DoctorReport(
        checks={
            "stock_fast_store": fast_store,
            "reservations_vs_orders": reservations,
            "outbox_vs_deliveries": check_outbox_vs_deliveries(new_uow),
            "stock_constraints": check_stock_constraints(new_uow),
        }
    )
