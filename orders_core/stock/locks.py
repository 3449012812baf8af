"""The fast stock-lock store: where concurrent reservations are decided, atomically and without the database.

Two implementations share the ``StockLocks`` protocol: ``MemoryStockLocks`` (one process, one lock)
and ``RedisStockLocks`` (Lua scripts, many processes). The relational tables are the durable mirror;
``rebuild.rebuild_fast_store`` reloads a fast store from them with ``load``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
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


class StockLocks(Protocol):
    """Atomic stock counters with per-order holds; ``available = on_hand - reserved`` never below zero."""

    def set_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> tuple[StockLevel | None, StockLevel]:
        """Set the count of goods (refused below what is reserved); answers (before, after)."""
        ...

    def adjust_on_hand(self, warehouse_id: str, sku: str, delta: int) -> None:
        """Add ``delta`` to on_hand unconditionally (compensation of a rolled-back ``set_on_hand``)."""
        ...

    def reserve(self, order_id: str, lines: Sequence[ReservationLine]) -> None:
        """Hold every line for the order, or none (raises InsufficientStock naming each short line)."""
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

    def adjust_on_hand(self, warehouse_id: str, sku: str, delta: int) -> None:
        key = (warehouse_id, sku)
        with self._lock:
            self._on_hand[key] = self._on_hand.get(key, 0) + delta

    def reserve(self, order_id: str, lines: Sequence[ReservationLine]) -> None:
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
