"""The fast stock-lock store: where concurrent reservations are decided, atomically and without the database.

Two implementations share the ``StockLocks`` protocol: ``MemoryStockLocks`` (one process, one lock)
and ``RedisStockLocks`` (Lua scripts, many processes). The relational tables are the durable mirror;
``rebuild.rebuild_fast_store`` reloads a fast store from them with ``load``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from orders_core.stock.model import (
    InsufficientStock,
    NegativeQuantity,
    ReservationLine,
    Shortage,
    StockBelowReserved,
    StockLevel,
    merge_lines,
)

StockKey = tuple[str, str]  # (warehouse_id, sku)


@dataclass
class StockSnapshot:
    """Everything a fast store holds: on-hand counts and each order's held lines."""

    on_hand: dict[StockKey, int] = field(default_factory=dict)
    holds: dict[str, list[ReservationLine]] = field(default_factory=dict)


@dataclass(frozen=True)
class Lease:
    """A hold in flight: ``token`` names the unit of work that took it; after ``ttl_ms`` without a commit
    (the process died, the commit failed unseen) the reconciler may free it unless a durable row backs it."""

    token: str
    ttl_ms: int


@dataclass(frozen=True)
class HoldRecord:
    """What one order holds at one warehouse in the fast store, and whether a lease still covers it."""

    order_id: str
    warehouse_id: str
    qty_by_sku: dict[str, int]
    leased: bool


class StockLocks(Protocol):
    """Atomic stock counters with per-order holds; ``available = on_hand - reserved`` never below zero."""

    def set_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> tuple[StockLevel | None, StockLevel]:
        """Set the count of goods (refused below what is reserved); answers (before, after)."""
        ...

    def put_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> None:
        """Write a committed on_hand count as is (after commit; available may dip below zero meanwhile)."""
        ...

    def adjust_on_hand(self, warehouse_id: str, sku: str, delta: int) -> None:
        """Add ``delta`` to on_hand (committed goods arriving or coming back)."""
        ...

    def reserve(self, order_id: str, lines: Sequence[ReservationLine], lease: Lease | None = None) -> None:
        """Hold every line for the order, or none (raises InsufficientStock naming each short line); with a
        ``lease`` the hold counts as in flight until ``confirm``."""
        ...

    def confirm(self, order_id: str, warehouse_ids: Collection[str], token: str) -> None:
        """The unit of work that took the leased hold committed: drop its lease (a durable row backs it now)."""
        ...

    def hold_records(self) -> list[HoldRecord]:
        """Every (order, warehouse) hold in the store with its lease state (the reconciler's view)."""
        ...

    def repair_hold(
        self, order_id: str, warehouse_id: str, expected: Mapping[str, int], target: Mapping[str, int]
    ) -> int | None:
        """Compare-and-set the order's hold at one warehouse from ``expected`` to ``target`` (sku -> qty, 0 =
        none), moving ``reserved`` along; answers units moved, or None when leased or changed meanwhile."""
        ...

    def repair_on_hand(self, warehouse_id: str, sku: str, expected: int | None, target: int) -> bool:
        """Compare-and-set on_hand (``expected`` None: no count stored); answers whether it was written."""
        ...

    def missing_warehouses(self, warehouse_ids: Collection[str]) -> list[str]:
        """Warehouses whose keys were lost since the last load (a Redis Cluster master restarted empty)."""
        ...

    def load_warehouse(self, warehouse_id: str, snapshot: StockSnapshot) -> None:
        """Replace one warehouse's counts and holds with ``snapshot`` (lines of other warehouses ignored)."""
        ...

    def mark_loaded(self, warehouse_id: str) -> None:
        """A warehouse got its first level after the store was loaded: its keys are complete from now on."""
        ...

    def release(self, order_id: str, lines: Sequence[ReservationLine] | None = None) -> list[ReservationLine]:
        """Give back the given lines (never more than held), or everything the order holds; idempotent."""
        ...

    def consume(self, order_id: str, lines: Sequence[ReservationLine]) -> list[ReservationLine]:
        """Picked goods leave: on_hand, reserved and the order's hold all drop (capped at the hold)."""
        ...

    def holds(self, order_id: str) -> list[ReservationLine]:
        """What the order holds now."""
        ...

    def levels(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel]:
        """Levels of the given keys; keys never set are left out."""
        ...

    def levels_if_loaded(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel] | None:
        """``levels(keys)`` if the store is loaded, None (nothing read) if not: the loaded check and the read
        in one round trip, so the first read of a use case needs no separate check."""
        ...

    def all_levels(self) -> dict[StockKey, StockLevel]:
        """Every level in the store (maintenance, tests)."""
        ...

    def available_for_skus(self, skus: Collection[str]) -> dict[str, dict[str, int]] | None:
        """warehouse -> sku -> available, if the store can enumerate warehouses by SKU; None otherwise."""
        ...

    def load(self, snapshot: StockSnapshot) -> None:
        """Replace the whole store with ``snapshot`` (rebuild from the durable mirror)."""
        ...

    def is_loaded(self) -> bool:
        """Whether the store has been loaded since it (or its server) started."""
        ...

    def load_if_not_loaded(self, snapshot: Callable[[], StockSnapshot]) -> bool:
        """Load ``snapshot()`` unless the store is loaded; one loader at a time (across processes for Redis)."""
        ...


class MemoryStockLocks:
    """In-process store: plain dicts behind one lock (the embedded default; one process only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on_hand: dict[StockKey, int] = {}
        self._reserved: dict[StockKey, int] = {}
        self._holds: dict[str, dict[StockKey, int]] = {}
        self._loaded = False
        self._rebuild_lock = threading.Lock()
        #: order -> warehouse -> token -> monotonic expiry of the lease.
        self._leases: dict[str, dict[str, dict[str, float]]] = {}

    def set_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> tuple[StockLevel | None, StockLevel]:
        if on_hand < 0:
            raise NegativeQuantity(f"on_hand must not be negative, got {on_hand}")
        key = (warehouse_id, sku)
        with self._lock:
            reserved = self._reserved.get(key, 0)
            before = StockLevel.of(self._on_hand[key], reserved) if key in self._on_hand else None
            if on_hand < reserved:
                raise StockBelowReserved(
                    f"on_hand of {sku} at {warehouse_id} cannot be {on_hand}: {reserved} are reserved by orders"
                )
            self._on_hand[key] = on_hand
            return before, StockLevel.of(on_hand, reserved)

    def put_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> None:
        with self._lock:
            self._on_hand[(warehouse_id, sku)] = on_hand

    def adjust_on_hand(self, warehouse_id: str, sku: str, delta: int) -> None:
        key = (warehouse_id, sku)
        with self._lock:
            self._on_hand[key] = self._on_hand.get(key, 0) + delta

    def reserve(self, order_id: str, lines: Sequence[ReservationLine], lease: Lease | None = None) -> None:
        merged = merge_lines(lines)
        with self._lock:
            shortages = []
            for line in merged:
                key = (line.warehouse_id, line.sku)
                available = self._on_hand.get(key, 0) - self._reserved.get(key, 0)
                if available < line.qty:
                    shortages.append(Shortage(line.warehouse_id, line.sku, line.qty, max(available, 0)))
            if shortages:
                raise InsufficientStock(shortages)
            hold = self._holds.setdefault(order_id, {})
            for line in merged:
                key = (line.warehouse_id, line.sku)
                self._reserved[key] = self._reserved.get(key, 0) + line.qty
                hold[key] = hold.get(key, 0) + line.qty
            if lease is not None:
                expires = time.monotonic() + lease.ttl_ms / 1000
                for warehouse_id in {line.warehouse_id for line in merged}:
                    self._leases.setdefault(order_id, {}).setdefault(warehouse_id, {})[lease.token] = expires

    def confirm(self, order_id: str, warehouse_ids: Collection[str], token: str) -> None:
        with self._lock:
            by_warehouse = self._leases.get(order_id, {})
            for warehouse_id in warehouse_ids:
                by_warehouse.get(warehouse_id, {}).pop(token, None)
                if not by_warehouse.get(warehouse_id, True):
                    del by_warehouse[warehouse_id]
            if not by_warehouse:
                self._leases.pop(order_id, None)

    def _leased(self, order_id: str, warehouse_id: str) -> bool:
        now = time.monotonic()
        return any(expires > now for expires in self._leases.get(order_id, {}).get(warehouse_id, {}).values())

    def hold_records(self) -> list[HoldRecord]:
        with self._lock:
            records: dict[tuple[str, str], dict[str, int]] = {}
            for order_id, hold in self._holds.items():
                for (warehouse_id, sku), qty in hold.items():
                    records.setdefault((order_id, warehouse_id), {})[sku] = qty
            return [
                HoldRecord(order_id, warehouse_id, qty_by_sku, self._leased(order_id, warehouse_id))
                for (order_id, warehouse_id), qty_by_sku in sorted(records.items())
            ]

    def repair_hold(
        self, order_id: str, warehouse_id: str, expected: Mapping[str, int], target: Mapping[str, int]
    ) -> int | None:
        with self._lock:
            if self._leased(order_id, warehouse_id):
                return None
            hold = self._holds.get(order_id, {})
            if any(hold.get((warehouse_id, sku), 0) != qty for sku, qty in expected.items()):
                return None
            moved = 0
            for sku, qty in target.items():
                key = (warehouse_id, sku)
                held = hold.get(key, 0)
                if qty == held:
                    continue
                if qty:
                    self._holds.setdefault(order_id, hold)[key] = qty
                else:
                    hold.pop(key, None)
                self._reserved[key] = self._reserved.get(key, 0) + qty - held
                self._on_hand.setdefault(key, 0)
                moved += abs(qty - held)
            if not hold:
                self._holds.pop(order_id, None)
            return moved

    def repair_on_hand(self, warehouse_id: str, sku: str, expected: int | None, target: int) -> bool:
        key = (warehouse_id, sku)
        with self._lock:
            if self._on_hand.get(key) != expected:
                return False
            self._on_hand[key] = target
            return True

    def missing_warehouses(self, warehouse_ids: Collection[str]) -> list[str]:
        return []  # one process's memory is lost whole, never one warehouse of it

    def mark_loaded(self, warehouse_id: str) -> None:
        return None

    def load_warehouse(self, warehouse_id: str, snapshot: StockSnapshot) -> None:
        with self._lock:
            for key in [key for key in self._on_hand if key[0] == warehouse_id]:
                del self._on_hand[key]
                self._reserved.pop(key, None)
            for order_id in list(self._holds):
                hold = self._holds[order_id]
                for key in [key for key in hold if key[0] == warehouse_id]:
                    del hold[key]
                if not hold:
                    del self._holds[order_id]
            for key, on_hand in snapshot.on_hand.items():
                if key[0] == warehouse_id:
                    self._on_hand[key] = on_hand
            for order_id, lines in snapshot.holds.items():
                for line in merge_lines(lines):
                    if line.warehouse_id != warehouse_id:
                        continue
                    key = (line.warehouse_id, line.sku)
                    self._holds.setdefault(order_id, {})[key] = line.qty
                    self._reserved[key] = self._reserved.get(key, 0) + line.qty
                    self._on_hand.setdefault(key, 0)

    def release(self, order_id: str, lines: Sequence[ReservationLine] | None = None) -> list[ReservationLine]:
        with self._lock:
            return self._take(order_id, lines, consume=False)

    def consume(self, order_id: str, lines: Sequence[ReservationLine]) -> list[ReservationLine]:
        with self._lock:
            return self._take(order_id, lines, consume=True)

    def _take(self, order_id: str, lines: Sequence[ReservationLine] | None, *, consume: bool) -> list[ReservationLine]:
        hold = self._holds.get(order_id)
        if not hold:
            return []
        wanted = (
            {(line.warehouse_id, line.sku): line.qty for line in merge_lines(lines)}
            if lines is not None
            else dict(hold)
        )
        taken = []
        for key, qty in sorted(wanted.items()):
            take = min(qty, hold.get(key, 0))
            if take <= 0:
                continue
            hold[key] -= take
            if hold[key] == 0:
                del hold[key]
            self._reserved[key] -= take
            if consume:
                self._on_hand[key] -= take
            taken.append(ReservationLine(key[0], key[1], take))
        if not hold:
            del self._holds[order_id]
        return taken

    def holds(self, order_id: str) -> list[ReservationLine]:
        with self._lock:
            hold = self._holds.get(order_id, {})
            return [ReservationLine(wh, sku, qty) for (wh, sku), qty in sorted(hold.items())]

    def levels(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel]:
        with self._lock:
            return {
                key: StockLevel.of(self._on_hand[key], self._reserved.get(key, 0))
                for key in keys
                if key in self._on_hand
            }

    def levels_if_loaded(self, keys: Collection[StockKey]) -> dict[StockKey, StockLevel] | None:
        return self.levels(keys) if self._loaded else None

    def available_for_skus(self, skus: Collection[str]) -> dict[str, dict[str, int]] | None:
        wanted = set(skus)
        answer: dict[str, dict[str, int]] = {}
        with self._lock:
            for (warehouse_id, sku), on_hand in self._on_hand.items():
                if sku in wanted:
                    answer.setdefault(warehouse_id, {})[sku] = on_hand - self._reserved.get((warehouse_id, sku), 0)
        return answer

    def all_levels(self) -> dict[StockKey, StockLevel]:
        with self._lock:
            return {key: StockLevel.of(on_hand, self._reserved.get(key, 0)) for key, on_hand in self._on_hand.items()}

    def load(self, snapshot: StockSnapshot) -> None:
        with self._lock:
            self._on_hand = dict(snapshot.on_hand)
            self._reserved = {}
            self._holds = {}
            self._leases = {}
            for order_id, lines in snapshot.holds.items():
                hold: dict[StockKey, int] = {}
                for line in merge_lines(lines):
                    key = (line.warehouse_id, line.sku)
                    hold[key] = line.qty
                    self._reserved[key] = self._reserved.get(key, 0) + line.qty
                    self._on_hand.setdefault(key, 0)
                if hold:
                    self._holds[order_id] = hold
            self._loaded = True

    def is_loaded(self) -> bool:
        return self._loaded  # a bool read is atomic; set once under the lock

    def load_if_not_loaded(self, snapshot: Callable[[], StockSnapshot]) -> bool:
        with self._rebuild_lock:
            if self._loaded:
                return False
            self.load(snapshot())
            return True
