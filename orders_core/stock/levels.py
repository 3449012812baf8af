"""Stock-level use cases: set the count on hand of a known SKU at a known warehouse, and read it back.

Each opens its own unit of work; the stock service does the work inside it (``StockService.set_on_hand``,
``StockService.level``).
"""

from __future__ import annotations

from foundation.errors import NotFound
from orders_core.master_data.repository import MasterDataRepository
from orders_core.stock.model import StockLevel, StockLevelNotFound
from orders_core.stock.service import StockService
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


class UnknownWarehouse(NotFound):
    """No warehouse with that id."""

    code = "warehouse_not_found"


class UnknownSku(NotFound):
    """No SKU with that id in the catalogue."""

    code = "sku_not_found"


def _check_known(uow: UnitOfWork, warehouse_id: str, sku: str) -> None:
    master = MasterDataRepository(uow.session)
    if master.get_warehouse(warehouse_id) is None:
        raise UnknownWarehouse(f"no warehouse with id {warehouse_id!r}")
    if master.get_sku(sku) is None:
        raise UnknownSku(f"no sku {sku!r} in the catalogue")


def set_stock_level(
    new_uow: UnitOfWorkFactory, stock: StockService, warehouse_id: str, sku: str, on_hand: int
) -> StockLevel:
    """Set the units on hand (409 below what orders hold, 404 for an unknown warehouse or SKU); answers the level."""
    with new_uow() as uow:
        _check_known(uow, warehouse_id, sku)
        level = stock.set_on_hand(uow, warehouse_id, sku, on_hand)
        uow.commit()
    return level


def read_stock_level(new_uow: UnitOfWorkFactory, stock: StockService, warehouse_id: str, sku: str) -> StockLevel:
    """On hand, reserved by orders and available (404 for an unknown warehouse or SKU, or a level never set)."""
    with new_uow() as uow:
        _check_known(uow, warehouse_id, sku)
        return stock.level(uow, warehouse_id, sku)


def stocked_pairs(
    new_uow: UnitOfWorkFactory, stock: StockService, pairs: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (warehouse, SKU) pairs already have a stock level, read in one transaction (a bulk loader's check)."""
    found: set[tuple[str, str]] = set()
    with new_uow() as uow:
        for warehouse_id, sku in pairs:
            try:
                stock.level(uow, warehouse_id, sku)
            except StockLevelNotFound:
                continue
            found.add((warehouse_id, sku))
    return found
