"""The stock of one warehouse as a list: every SKU with a level there, searchable, page by page.

Pages are keyed by SKU (the durable mirror says which SKUs have a level); the counts come from the fast
store, like a single ``GET .../stock/{sku}``, so a list and a read of one level never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from infra.pagination import Page, PageRequest, contains_text, keyset_page
from orders_core.master_data.repository import MasterDataRepository
from orders_core.master_data.tables import SkuRow
from orders_core.stock.levels import UnknownWarehouse
from orders_core.stock.model import StockLevel
from orders_core.stock.service import StockService
from orders_core.stock.tables import StockLevelRow
from orders_core.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class SkuStock:
    """One SKU's level at the listed warehouse."""

    sku: str
    level: StockLevel


def stock_page(
    new_uow: UnitOfWorkFactory,
    stock: StockService,
    warehouse_id: str,
    request: PageRequest,
    *,
    q: str | None = None,
    max_available: int | None = None,
) -> Page[SkuStock]:
    """Levels at ``warehouse_id`` by SKU (``q``: SKU or name contains it; ``max_available``: running low),
    404 for an unknown warehouse."""
    query = select(StockLevelRow).where(StockLevelRow.warehouse_id == warehouse_id)
    if q:
        named = select(SkuRow.sku).where(or_(contains_text(SkuRow.name, q), contains_text(SkuRow.sku, q)))
        query = query.where(StockLevelRow.sku.in_(named))
    if max_available is not None:
        query = query.where(StockLevelRow.on_hand - StockLevelRow.reserved <= max_available)
    with new_uow() as uow:
        if MasterDataRepository(uow.session).get_warehouse(warehouse_id) is None:
            raise UnknownWarehouse(f"no warehouse with id {warehouse_id!r}")
        rows, next_cursor = keyset_page(uow.session, query, (StockLevelRow.sku,), request)
        mirrored = {row.sku: StockLevel.of(row.on_hand, row.reserved) for row in rows}
        stock.rebuild_if_needed(uow)
        levels = stock.locks.levels([(warehouse_id, sku) for sku in mirrored])
    return Page([SkuStock(sku, levels.get((warehouse_id, sku), level)) for sku, level in mirrored.items()], next_cursor)
