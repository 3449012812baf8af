"""The stock reconciler: settles the fast store (Redis or in-process) on the database, while the service runs.

The database is the source of truth (docs/STOCK_PROTOCOL.md). Each pass reads the fast store FIRST, then
the database, and repairs each difference with a compare-and-set against what it read, so a use case
running meanwhile is never clobbered:

- an order's hold at a warehouse that differs from its durable ``held`` rows is set to them, unless a
  lease covers it (a use case between its fast-store hold and its commit) or the rows changed within
  ``grace_s``. This frees the holds of a process that died before committing (its lease expired) and
  those whose after-commit release never ran, and restores holds the fast store lost;
- ``on_hand`` that differs from the database is set to it once the row is older than ``grace_s`` (a
  count's after-commit write that never ran, or two setters' writes that arrived out of order);
- a warehouse whose keys were lost (its loaded marker is gone: a Redis Cluster master restarted empty) is
  reloaded from the database; a store never loaded is loaded whole.

Every repair is logged and handed to ``on_repair(kind, units)`` (the API counts them in a metric; the domain
imports none). ``StockReconciler.run`` is one pass: the API runs it periodically, ``dispatch stock
reconcile`` once, ``dispatch doctor --repair`` with no grace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select

from foundation.clock import utc_now
from orders_core.stock.locks import HoldRecord, StockKey, StockLocks
from orders_core.stock.model import StockLevel
from orders_core.stock.repository import HELD, StockRepository
from orders_core.stock.tables import StockLevelRow, StockReservationRow
from orders_core.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger("orders_core.stock.reconcile")

RepairHook = Callable[[str, int], None]
"""Told ``(kind, units)`` for every repair: ``hold_freed``, ``hold_restored``, ``on_hand``, ``warehouse_reloaded``,
``store_loaded``."""

HoldKey = tuple[str, str]  # (order_id, warehouse_id)


@dataclass
class Drift:
    """One difference between the fast store and the database, and what became of it."""

    kind: str
    warehouse_id: str
    detail: dict[str, Any]
    order_id: str | None = None
    sku: str | None = None
    #: "repaired", "in_flight" (leased or recent: left alone), "changed" (moved meanwhile: next pass) or "found".
    state: str = "found"
    units: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON form (doctor, logs)."""
        answer: dict[str, Any] = {"kind": self.kind, "warehouse_id": self.warehouse_id, "state": self.state}
        if self.order_id is not None:
            answer["order_id"] = self.order_id
        if self.sku is not None:
            answer["sku"] = self.sku
        answer.update(self.detail)
        if self.units:
            answer["units"] = self.units
        return answer


@dataclass
class ReconcileReport:
    """What one pass found and did."""

    drifts: list[Drift] = field(default_factory=list)

    @property
    def repaired_units(self) -> int:
        """Units moved by repairs (held or freed, on_hand corrected)."""
        return sum(d.units for d in self.drifts if d.state == "repaired")

    @property
    def unresolved(self) -> list[Drift]:
        """Differences still there after the pass."""
        return [d for d in self.drifts if d.state != "repaired"]

    def summary(self) -> dict[str, int]:
        """Counts for logs and the CLI."""
        counts: dict[str, int] = {"repaired_units": self.repaired_units}
        for drift in self.drifts:
            counts[drift.state] = counts.get(drift.state, 0) + 1
        return counts


@dataclass
class _Durable:
    """The database side of one pass."""

    holds: dict[HoldKey, dict[str, int]]
    holds_changed: dict[HoldKey, datetime]
    levels: dict[StockKey, tuple[int, datetime]]


def _read_durable(new_uow: UnitOfWorkFactory) -> _Durable:
    with new_uow() as uow:
        held = uow.session.execute(
            select(
                StockReservationRow.order_id,
                StockReservationRow.warehouse_id,
                StockReservationRow.sku,
                func.sum(StockReservationRow.qty),
            )
            .where(StockReservationRow.state == HELD)
            .group_by(StockReservationRow.order_id, StockReservationRow.warehouse_id, StockReservationRow.sku)
        ).all()
        changed = uow.session.execute(
            select(
                StockReservationRow.order_id,
                StockReservationRow.warehouse_id,
                func.max(StockReservationRow.updated_at),
            ).group_by(StockReservationRow.order_id, StockReservationRow.warehouse_id)
        ).all()
        levels = uow.session.execute(
            select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.on_hand, StockLevelRow.updated_at)
        ).all()
    holds: dict[HoldKey, dict[str, int]] = {}
    for order_id, warehouse_id, sku, qty in held:
        holds.setdefault((order_id, warehouse_id), {})[sku] = int(qty)
    return _Durable(
        holds=holds,
        holds_changed={(o, w): at for o, w, at in changed},
        levels={(w, s): (int(n), at) for w, s, n, at in levels},
    )


class StockReconciler:
    """Compares a fast store with the database and repairs it toward the database (see the module doc)."""

    def __init__(
        self,
        new_uow: UnitOfWorkFactory,
        locks: StockLocks,
        *,
        grace_s: float = 30.0,
        on_repair: RepairHook | None = None,
    ) -> None:
        self._new_uow = new_uow
        self.locks = locks
        self.grace_s = grace_s
        self._on_repair = on_repair or (lambda _kind, _units: None)

    def run(self, *, repair: bool = True) -> ReconcileReport:
        """One pass: reload lost warehouses, then compare holds and counts (repairing unless ``repair=False``)."""
        report = ReconcileReport()
        if repair:
            self._reload_lost(report)
        # The fast store first, then the database: a hold seen here without its lease was confirmed, i.e. its
        # rows committed before the database is read below.
        records = {(r.order_id, r.warehouse_id): r for r in self.locks.hold_records()}
        fast_levels = self.locks.all_levels()
        durable = _read_durable(self._new_uow)
        recent = utc_now() - timedelta(seconds=self.grace_s)
        for key in sorted(set(records) | set(durable.holds)):
            self._check_hold(key, records.get(key), durable, recent, report, repair=repair)
        for key in sorted(set(fast_levels) | set(durable.levels)):
            self._check_on_hand(key, fast_levels.get(key), durable, recent, report, repair=repair)
        if report.drifts:
            log.info("stock_reconciled", **report.summary())
        return report

    def _reload_lost(self, report: ReconcileReport) -> None:
        def snapshot() -> Any:
            with self._new_uow() as uow:
                return StockRepository(uow.session).snapshot()

        if not self.locks.is_loaded():
            if self.locks.load_if_not_loaded(snapshot):
                report.drifts.append(Drift("store_loaded", "*", {}, state="repaired"))
                self._repaired("store_loaded", 0, warehouse_id="*")
            return
        with self._new_uow() as uow:
            warehouses = {key[0] for key in StockRepository(uow.session).all_levels()}
        lost = self.locks.missing_warehouses(warehouses)
        if not lost:
            return
        taken = snapshot()
        for warehouse_id in lost:
            self.locks.load_warehouse(warehouse_id, taken)
            units = sum(n for (wh, _sku), n in taken.on_hand.items() if wh == warehouse_id)
            report.drifts.append(Drift("warehouse_reloaded", warehouse_id, {}, state="repaired", units=0))
            self._repaired("warehouse_reloaded", 0, warehouse_id=warehouse_id, on_hand_units=units)

    def _check_hold(
        self,
        key: HoldKey,
        record: HoldRecord | None,
        durable: _Durable,
        recent: datetime,
        report: ReconcileReport,
        *,
        repair: bool,
    ) -> None:
        order_id, warehouse_id = key
        fast = record.qty_by_sku if record is not None else {}
        wanted = durable.holds.get(key, {})
        if {s: q for s, q in fast.items() if q} == {s: q for s, q in wanted.items() if q}:
            return
        skus = sorted(set(fast) | set(wanted))
        expected = {sku: fast.get(sku, 0) for sku in skus}
        target = {sku: wanted.get(sku, 0) for sku in skus}
        kind = "hold_freed" if sum(expected.values()) > sum(target.values()) else "hold_restored"
        drift = Drift(kind, warehouse_id, {"fast": expected, "database": target}, order_id=order_id)
        report.drifts.append(drift)
        changed_at = durable.holds_changed.get(key)
        if (record is not None and record.leased) or (changed_at is not None and changed_at > recent):
            drift.state = "in_flight"
            return
        if not repair:
            return
        moved = self.locks.repair_hold(order_id, warehouse_id, expected, target)
        if moved is None:
            drift.state = "changed"
            return
        drift.state, drift.units = "repaired", moved
        self._repaired(kind, moved, order_id=order_id, warehouse_id=warehouse_id, fast=expected, database=target)

    def _check_on_hand(
        self,
        key: StockKey,
        fast: StockLevel | None,
        durable: _Durable,
        recent: datetime,
        report: ReconcileReport,
        *,
        repair: bool,
    ) -> None:
        warehouse_id, sku = key
        stored = durable.levels.get(key)
        target = stored[0] if stored is not None else 0
        current = fast.on_hand if fast is not None else None
        if current == target or (current is None and stored is None):
            return
        drift = Drift("on_hand", warehouse_id, {"fast": current, "database": target}, sku=sku)
        report.drifts.append(drift)
        if stored is not None and stored[1] > recent:
            drift.state = "in_flight"
            return
        if not repair:
            return
        if not self.locks.repair_on_hand(warehouse_id, sku, current, target):
            drift.state = "changed"
            return
        drift.state, drift.units = "repaired", abs(target - (current or 0))
        self._repaired("on_hand", drift.units, warehouse_id=warehouse_id, sku=sku, fast=current, database=target)

    def _repaired(self, kind: str, units: int, **context: Any) -> None:
        log.warning("stock_repaired", kind=kind, units=units, **context)
        self._on_repair(kind, units)
