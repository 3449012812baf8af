"""Stock use cases: set counts, reserve for an order, release, consume picked goods.

The fast store (``locks``) decides concurrent reservations atomically; the durable mirror is written in
the caller's unit of work and is the source of truth (docs/STOCK_PROTOCOL.md). A reservation takes a
leased hold in the fast store during the use case, confirmed (lease dropped) ``after_commit`` and
compensated ``after_rollback``; the database refuses it if the fast store was wrong. Releases,
consumption and new counts reach the fast store only ``after_commit`` (until then the stock stays held:
never oversold). Whatever a crash leaves behind, ``reconcile.StockReconciler`` settles on the database.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any

import structlog

from orders_core.stock.locks import Lease, MemoryStockLocks, StockLocks, StockSnapshot
from orders_core.stock.model import (
    InsufficientStock,
    NegativeQuantity,
    ReservationLine,
    StockBelowReserved,
    StockLevel,
    StockLevelNotFound,
    validate_lines,
)
from orders_core.stock.repository import StockRepository
from orders_core.unit_of_work import UnitOfWork

log = structlog.get_logger("orders_core.stock")

OutcomeHook = Callable[[str], None]
"""Told each lock outcome: ``reserved``, ``insufficient`` or ``released`` (metrics; wired by ``api.container``)."""
#: Longest time the warehouses stocking a SKU may be remembered (levels set by other processes).
KEYS_CACHE_TTL_S = 2.0
_LOADED_CHECKED = "stock.loaded_checked"
#: How long a hold may stay in flight (taken, not yet committed) before the reconciler may free it.
DEFAULT_LEASE_S = 15.0


class StockService:
    """Stock levels and per-order reservations over a fast store plus the durable mirror."""

    def __init__(
        self, locks: StockLocks, on_outcome: OutcomeHook | None = None, *, lease_s: float = DEFAULT_LEASE_S
    ) -> None:
        self.locks = locks
        self.lease_ms = max(1, int(lease_s * 1000))
        self._on_outcome = on_outcome or (lambda _outcome: None)
        # sku -> (read at, warehouses with a level): saves a query per order when the fast store cannot
        # enumerate warehouses by SKU (Redis). Cleared when a level is set here; expires for other processes.
        self._warehouses_of: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._keys_lock = threading.Lock()
        self._keys_generation = 0

    def set_on_hand(self, uow: UnitOfWork, warehouse_id: str, sku: str, on_hand: int) -> StockLevel:
        """Set the count of goods at a warehouse; refused (409) below what orders hold, 422 if negative."""
        if on_hand < 0:
            raise NegativeQuantity(f"on_hand must not be negative, got {on_hand}")
        self.rebuild_if_needed(uow)  # a Redis restart must not let on_hand forget what is reserved
        before = self.locks.levels([(warehouse_id, sku)]).get((warehouse_id, sku))
        reserved = before.reserved if before is not None else 0  # durable holds plus those in flight
        if on_hand < reserved:
            raise StockBelowReserved(
                f"on_hand of {sku} at {warehouse_id} cannot be {on_hand}: {reserved} are reserved by orders"
            )
        # The durable row refuses a count below its committed holds and stays locked (PostgreSQL) until the
        # commit. The fast store learns the count only once it is durable: a raised count is never reserved
        # against before it exists; a lowered one may briefly let a hold through, which the database refuses.
        repository = StockRepository(uow.session)
        first_of_warehouse = before is None and not repository.warehouse_has_levels(warehouse_id)
        repository.set_on_hand(warehouse_id, sku, on_hand)
        uow.after_commit(lambda: self.locks.put_on_hand(warehouse_id, sku, on_hand))
        if first_of_warehouse:
            uow.after_commit(lambda: self.locks.mark_loaded(warehouse_id))
        if before is None:
            self._forget_keys()
            uow.after_commit(self._forget_keys)
        return StockLevel.of(on_hand, reserved)

    def level(self, uow: UnitOfWork, warehouse_id: str, sku: str) -> StockLevel:
        """The current level (fast store: includes holds of use cases still running)."""
        self.rebuild_if_needed(uow)
        found = self.locks.levels([(warehouse_id, sku)]).get((warehouse_id, sku))
        if found is None:
            raise StockLevelNotFound(f"no stock level set for sku {sku!r} at warehouse {warehouse_id!r}")
        return found

    def available_by_warehouse(self, uow: UnitOfWork, skus: Collection[str]) -> dict[str, dict[str, int]]:
        """Available units per warehouse per SKU, for allocation to choose a warehouse.

        The first stock read of a unit of work on Redis asks whether the store is loaded in the same round
        trip as the levels (``levels_if_loaded``); not loaded, it is rebuilt and read again, as before.
        """
        wanted = set(skus)
        levels = None
        if isinstance(self.locks, MemoryStockLocks) or id(self.locks) in _checked(uow):
            self._ensure_loaded(uow)  # in-process: the check costs no round trip
        else:
            levels = self.locks.levels_if_loaded(self._keys_for_skus(uow, wanted))
            if levels is None:
                self._ensure_loaded(uow)
            else:
                _checked(uow).add(id(self.locks))
        if levels is None:
            direct = self.locks.available_for_skus(wanted)
            if direct is not None:
                return {wh: dict(sorted(per_sku.items())) for wh, per_sku in sorted(direct.items())}
            levels = self.locks.levels(self._keys_for_skus(uow, wanted))
        answer: dict[str, dict[str, int]] = {}
        for (warehouse_id, sku), found in sorted(levels.items()):
            answer.setdefault(warehouse_id, {})[sku] = found.available
        return answer

    def reserve(self, uow: UnitOfWork, order_id: str, lines: Sequence[ReservationLine]) -> None:
        """Hold every line for the order or none (InsufficientStock lists each short line)."""
        merged = validate_lines(lines)
        if not merged:
            return
        self._ensure_loaded(uow)
        lease = Lease(uuid.uuid4().hex, self.lease_ms)
        try:
            self.locks.reserve(order_id, merged, lease)
        except InsufficientStock:
            self._on_outcome("insufficient")
            raise
        repository = StockRepository(uow.session)
        try:
            written_at = repository.add_holds(order_id, merged)
        except InsufficientStock:
            # The fast store let through what the database does not have: it drifted (the reconciler
            # repairs it). Nothing durable was written; give the hold back now, the caller may go on.
            self._compensate(order_id, merged, lease)
            log.warning("stock_refused_by_database", order_id=order_id, lines=len(merged))
            self._on_outcome("insufficient")
            raise
        except BaseException:
            self._compensate(order_id, merged, lease)
            raise
        warehouses = sorted({line.warehouse_id for line in merged})
        uow.after_rollback(lambda: self._compensate(order_id, merged, lease))
        uow.after_commit(lambda: self.locks.confirm(order_id, warehouses, lease.token))
        if written_at is not None:
            uow.commit_probe(lambda session: StockRepository(session).holds_written(order_id, written_at))
        self._on_outcome("reserved")

    def _ensure_loaded(self, uow: UnitOfWork) -> None:
        """``rebuild_if_needed`` once per unit of work (allocation reads, then reserves, in one go)."""
        checked = _checked(uow)
        if id(self.locks) not in checked:
            self.rebuild_if_needed(uow)
            checked.add(id(self.locks))

    def _forget_keys(self) -> None:
        with self._keys_lock:
            self._keys_generation += 1
            self._warehouses_of = {}

    def _keys_for_skus(self, uow: UnitOfWork, skus: Collection[str]) -> list[tuple[str, str]]:
        """(warehouse, sku) pairs with a level for ``skus``, from the cache where fresh."""
        now = time.monotonic()
        keys: list[tuple[str, str]] = []
        missing = []
        for sku in skus:
            hit = self._warehouses_of.get(sku)
            if hit is not None and now - hit[0] < KEYS_CACHE_TTL_S:
                keys += [(warehouse_id, sku) for warehouse_id in hit[1]]
            else:
                missing.append(sku)
        if missing:
            generation = self._keys_generation
            found = StockRepository(uow.session).keys_for_skus(missing)
            by_sku: dict[str, list[str]] = {sku: [] for sku in missing}
            for warehouse_id, sku in found:
                by_sku[sku].append(warehouse_id)
            with self._keys_lock:
                if generation == self._keys_generation:
                    for sku, warehouses in by_sku.items():
                        self._warehouses_of[sku] = (now, tuple(sorted(warehouses)))
            keys += found
        return keys

    def _compensate(self, order_id: str, lines: list[ReservationLine], lease: Lease) -> None:
        self.locks.release(order_id, lines)
        self.locks.confirm(order_id, {line.warehouse_id for line in lines}, lease.token)
        log.info("stock_reservation_compensated", order_id=order_id, lines=len(lines))

    def release(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]:
        """Give back everything the order holds (idempotent); the fast store frees it after commit."""
        released = StockRepository(uow.session).release_order(order_id)
        if released:
            # Exactly what the durable rows gave back: a re-reservation later in the same unit of work
            # must survive this release.
            uow.after_commit(lambda: self._release_fast(order_id, released))
            self._on_outcome("released")
        return released

    def release_lines(self, uow: UnitOfWork, order_id: str, lines: Sequence[ReservationLine]) -> list[ReservationLine]:
        """Give back part of what the order holds (an amended order that needs less, a short pick's remainder);
        the rest stays held.
        Like ``release``, the fast store frees it after commit."""
        merged = validate_lines(lines)
        if not merged:
            return []
        released = StockRepository(uow.session).release_lines(order_id, merged)
        if released:
            uow.after_commit(lambda: self._release_fast(order_id, released))
            self._on_outcome("released")
        return released

    def _release_fast(self, order_id: str, lines: list[ReservationLine]) -> None:
        self.locks.release(order_id, lines)

    def return_picked(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]:
        """Picked goods of an order that will not ship go back on hand (a cancelled order's cart is put
        away); counted in the fast store after commit."""
        returned = StockRepository(uow.session).return_consumed(order_id)
        if returned:
            uow.after_commit(lambda: self._add_fast(returned))
        return returned

    def receive(self, uow: UnitOfWork, lines: Sequence[ReservationLine]) -> None:
        """Goods arrive at a warehouse (a transfer received): on_hand rises; usable once committed."""
        merged = validate_lines(lines)
        if not merged:
            return
        self.rebuild_if_needed(uow)
        repository = StockRepository(uow.session)
        warehouses = {line.warehouse_id for line in merged}
        new_warehouses = {wh for wh in warehouses if not repository.warehouse_has_levels(wh)}
        for line in merged:
            repository.add_on_hand(line.warehouse_id, line.sku, line.qty)
        self._forget_keys()
        uow.after_commit(self._forget_keys)
        uow.after_commit(lambda: self._add_fast(merged))
        for warehouse_id in sorted(new_warehouses):
            uow.after_commit(lambda warehouse_id=warehouse_id: self.locks.mark_loaded(warehouse_id))  # type: ignore[misc]

    def _add_fast(self, lines: Sequence[ReservationLine]) -> None:
        for line in lines:
            self.locks.adjust_on_hand(line.warehouse_id, line.sku, line.qty)

    def consume(self, uow: UnitOfWork, order_id: str, picked: Sequence[ReservationLine]) -> None:
        """Picked goods leave: on_hand and reserved both drop; the rest of the hold stays."""
        merged = validate_lines(picked)
        if not merged:
            return
        consumed = StockRepository(uow.session).consume(order_id, merged)
        uow.after_commit(lambda: self._consume_fast(order_id, consumed))

    def _consume_fast(self, order_id: str, consumed: list[ReservationLine]) -> None:
        self.locks.consume(order_id, consumed)

    def reservations_of(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]:
        """What the order holds (durable mirror)."""
        return StockRepository(uow.session).held_lines(order_id)

    def rebuild_if_needed(self, uow: UnitOfWork) -> bool:
        """Load the fast store from the database when it is empty (process start, Redis restart).

        Checked before every operation that reads or changes counts, so a Redis that restarted empty
        is reloaded before anyone could reserve against (or overwrite) counts it has forgotten.
        """
        if self.locks.is_loaded():
            return False
        taken: list[StockSnapshot] = []

        def snapshot() -> StockSnapshot:
            taken.append(StockRepository(uow.session).snapshot())
            return taken[-1]

        rebuilt = self.locks.load_if_not_loaded(snapshot)
        if rebuilt:
            log.info(
                "stock_fast_store_rebuilt",
                levels=len(taken[-1].on_hand),
                orders_holding=len(taken[-1].holds),
            )
        return rebuilt


def _checked(uow: UnitOfWork) -> set[int]:
    """Ids of the fast stores found loaded in this unit of work."""
    checked: set[int] = uow.session.info.setdefault(_LOADED_CHECKED, set())
    return checked


def build_stock_service(
    redis_client: Any | None = None, *, on_outcome: OutcomeHook | None = None, lease_s: float = DEFAULT_LEASE_S
) -> StockService:
    """The stock service over Redis when a client is given, else over the in-process store.

    ``on_outcome`` observes every lock outcome; without it nobody is told (the domain imports no metrics).
    """
    locks: StockLocks
    if redis_client is not None:
        from orders_core.stock.redis_locks import RedisStockLocks

        locks = RedisStockLocks(redis_client)
    else:
        locks = MemoryStockLocks()
    return StockService(locks, on_outcome=on_outcome, lease_s=lease_s)
