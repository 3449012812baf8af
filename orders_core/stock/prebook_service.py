"""Pre-booked stock use cases: book the coming week's demand of the best customers softly, settle the soft
holds against what firm orders left, expire them at their deadline, and show them per warehouse and SKU.

None of these touches ``stock_levels`` or the fast store: a soft hold can never make a firm order short
(docs/STOCK_PROTOCOL.md, "Pre-booked stock"). Settlement is also done on every read, so what is shown is
exact even between two runs of the job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from foundation.clock import utc_now
from orders_core.customers.demand import WeeklyDemand
from orders_core.customers.health_repository import HealthRepository
from orders_core.stock.prebook import Settlement, settle, week_of
from orders_core.stock.prebook_repository import PrebookRepository, soft_hold
from orders_core.stock.prebook_tables import PrebookingRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("orders_core.stock.prebook")


@dataclass(frozen=True)
class SettleReport:
    """What one settlement changed."""

    rows: int
    held_units: int
    bumped_units: int
    fulfilled: int

    def summary(self) -> dict[str, int]:
        """Log- and JSON-friendly form."""
        return {
            "rows": self.rows,
            "held_units": self.held_units,
            "bumped_units": self.bumped_units,
            "fulfilled": self.fulfilled,
        }


def _settlements(
    uow: UnitOfWork, rows: Sequence[PrebookingRow], free_override: dict[Any, int] | None = None
) -> dict[str, Settlement]:
    repository = PrebookRepository(uow.session)
    free = repository.free({(r.warehouse_id, r.sku) for r in rows})
    if free_override:
        free.update(free_override)
    return settle([soft_hold(r) for r in rows], free, repository.own_firm(rows))


def plan_prebookings(
    new_uow: UnitOfWorkFactory,
    demand: WeeklyDemand,
    *,
    min_score: float,
    now: datetime | None = None,
) -> list[str]:
    """Pre-book the demand of the week containing ``now`` for every customer whose latest health score is at
    least ``min_score``; idempotent (one pre-booking per customer, SKU and week). Answers the new ids."""
    now = now or utc_now()
    week_start, deadline = week_of(now)
    for attempt in range(2):
        try:
            with new_uow() as uow:
                scores = HealthRepository(uow.session).scores_at_least(min_score)
                repository = PrebookRepository(uow.session)
                wanted = demand.weekly_demand(uow, sorted(scores), week_start)
                done = repository.existing(week_start, list(wanted))
                usual = repository.usual_warehouses(list(wanted))
                fallback = repository.most_free_warehouse({sku for by_sku in wanted.values() for sku in by_sku})
                created: list[str] = []
                for cid, by_sku in sorted(wanted.items()):
                    for sku, qty in sorted(by_sku.items()):
                        warehouse_id = usual.get((cid, sku)) or fallback.get(sku)
                        if (cid, sku) in done or warehouse_id is None or qty <= 0:
                            continue
                        row = PrebookingRow(
                            id="PB-" + uuid.uuid4().hex[:20],
                            customer_id=cid,
                            warehouse_id=warehouse_id,
                            sku=sku,
                            week_start=week_start,
                            requested_qty=qty,
                            consumed_qty=0,
                            held_qty=0,
                            bumped_qty=0,
                            priority=scores[cid],
                            status="active",
                            source=demand.name,
                            expires_at=deadline,
                            created_at=now,
                            updated_at=now,
                        )
                        uow.session.add(row)
                        created.append(row.id)
                uow.session.flush()
                _apply(uow, repository.active(), now)
                uow.commit()
            if created:
                log.info("prebookings_created", count=len(created), week_start=week_start.isoformat())
            return created
        except IntegrityError:  # another process booked the same week at the same time: read what it made
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _apply(uow: UnitOfWork, rows: Sequence[PrebookingRow], now: datetime) -> SettleReport:
    """Write each row's settlement; a row its customer's orders took whole becomes ``fulfilled``."""
    settled = _settlements(uow, rows)
    changed = held = bumped = fulfilled = 0
    for row in rows:
        result = settled[row.id]
        held += result.held
        bumped += result.bumped
        if (row.consumed_qty, row.held_qty, row.bumped_qty) != (result.consumed, result.held, result.bumped):
            row.consumed_qty, row.held_qty, row.bumped_qty = result.consumed, result.held, result.bumped
            row.updated_at = now
            changed += 1
        if result.fulfilled:
            row.status = "fulfilled"
            row.closed_at = now
            fulfilled += 1
    uow.session.flush()
    return SettleReport(changed, held, bumped, fulfilled)


def settle_prebookings(new_uow: UnitOfWorkFactory, *, now: datetime | None = None) -> SettleReport:
    """Re-share the free stock among the active soft holds (after firm orders came or went)."""
    now = now or utc_now()
    with new_uow() as uow:
        report = _apply(uow, PrebookRepository(uow.session).active(for_update=True), now)
        uow.commit()
    if report.rows:
        log.info("prebookings_settled", **report.summary())
    return report


@dataclass(frozen=True)
class ExpireReport:
    """Pre-bookings whose customer's orders did not come by the deadline, and the soft units they gave back."""

    expired: list[str]
    released_units: int


def expire_prebookings(new_uow: UnitOfWorkFactory, *, now: datetime | None = None) -> ExpireReport:
    """Release every active pre-booking past its deadline (the job and ``dispatch prebook expire``); idempotent."""
    now = now or utc_now()
    with new_uow() as uow:
        rows = PrebookRepository(uow.session).due(now)
        settled = _settlements(uow, rows)
        released = 0
        for row in rows:
            result = settled[row.id]
            released += result.held
            row.consumed_qty, row.held_qty, row.bumped_qty = result.consumed, 0, result.bumped + result.held
            row.status = "expired"
            row.closed_at = row.updated_at = now
        uow.commit()
    if rows:
        log.info("prebookings_expired", count=len(rows), released_units=released)
    return ExpireReport([row.id for row in rows], released)


def _row_view(row: PrebookingRow, result: Settlement) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "warehouse_id": row.warehouse_id,
        "sku": row.sku,
        "week_start": row.week_start,
        "expires_at": row.expires_at,
        "requested": row.requested_qty,
        "consumed": result.consumed,
        "held": result.held,
        "bumped": result.bumped,
        "priority": row.priority,
        "source": row.source,
    }


def prebooked_at_warehouse(new_uow: UnitOfWorkFactory, warehouse_id: str) -> list[dict[str, Any]]:
    """Per SKU at the warehouse: units pre-booked softly now (settled on read) and each pre-booking."""
    with new_uow() as uow:
        rows = PrebookRepository(uow.session).active(warehouse_id=warehouse_id)
        settled = _settlements(uow, rows)
        by_sku: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = by_sku.setdefault(row.sku, {"sku": row.sku, "prebooked": 0, "requested": 0, "prebookings": []})
            entry["prebooked"] += settled[row.id].held
            entry["requested"] += row.requested_qty - settled[row.id].consumed
            entry["prebookings"].append(_row_view(row, settled[row.id]))
        return [by_sku[sku] for sku in sorted(by_sku)]


def prebooked_units(uow: UnitOfWork, warehouse_id: str, sku: str, *, free: int | None = None) -> int:
    """Units of one SKU held softly at one warehouse now; ``free`` overrides the database's free count (the
    stock GET passes the fast store's ``available``, so ``prebooked <= available`` in one answer)."""
    rows = PrebookRepository(uow.session).active(warehouse_id=warehouse_id, sku=sku)
    if not rows:
        return 0
    override = None if free is None else {(warehouse_id, sku): free}
    return sum(result.held for result in _settlements(uow, rows, override).values())


def customer_prebookings(new_uow: UnitOfWorkFactory, customer_id: str) -> list[dict[str, Any]]:
    """A customer's active pre-bookings, settled on read (the console's customer view)."""
    with new_uow() as uow:
        rows = PrebookRepository(uow.session).of_customer(customer_id, only_active=True)
        settled = _settlements(uow, rows)
        return [_row_view(row, settled[row.id]) for row in rows]
