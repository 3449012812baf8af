"""Reload a fast stock store from the durable mirror: after a Redis restart or at process start."""

from __future__ import annotations

from orders_core.stock.locks import StockLocks
from orders_core.stock.repository import StockRepository
from orders_core.stock.service import StockService
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


def rebuild_fast_store(uow: UnitOfWork, locks: StockLocks) -> dict[str, int]:
    """Replace the fast store with on-hand counts and held reservations from the database; answers counts.

    Unconditional: holds taken by use cases that have not committed yet are dropped, so run it (``dispatch
    stock rebuild``) with the service stopped or idle. Running services reload on their own, under a lock,
    when the store is empty (``StockService.rebuild_if_needed``).
    """
    snapshot = StockRepository(uow.session).snapshot()
    locks.load(snapshot)
    return {
        "levels": len(snapshot.on_hand),
        "orders_holding": len(snapshot.holds),
        "held_lines": sum(len(lines) for lines in snapshot.holds.values()),
        "reserved_units": sum(line.qty for lines in snapshot.holds.values() for line in lines),
    }


def rebuild_stock_store(new_uow: UnitOfWorkFactory, locks: StockLocks) -> dict[str, int]:
    """``rebuild_fast_store`` in its own (read-only) transaction: ``dispatch stock rebuild``."""
    with new_uow() as uow:
        return rebuild_fast_store(uow, locks)


def warm_stock_store(new_uow: UnitOfWorkFactory, stock: StockService) -> bool:
    """Load the fast store at process start unless it holds data already (Redis shared by processes)."""
    with new_uow() as uow:
        rebuilt = stock.rebuild_if_needed(uow)
        uow.commit()
    return rebuilt
