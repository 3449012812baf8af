"""Lists of master data for the desk: warehouses, SKUs and customers, searchable by name or id, page by page.

Each list is ordered by creation time, then id (``PageRequest.descending``: newest first), and read straight
from the store, never from the per-process catalogue cache.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from infra.pagination import Page, PageRequest, contains_text, keyset_page
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.repository import _customer, _sku, _warehouse
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.unit_of_work import UnitOfWorkFactory


def warehouse_page(
    new_uow: UnitOfWorkFactory, request: PageRequest, *, q: str | None = None, only_id: str | None = None
) -> Page[Warehouse]:
    """Warehouses whose name or id contains ``q`` (case-insensitive); ``only_id``: that one warehouse at most
    (the list a token scoped to it may see)."""
    query = select(WarehouseRow)
    if only_id is not None:
        query = query.where(WarehouseRow.id == only_id)
    if q:
        query = query.where(or_(contains_text(WarehouseRow.name, q), contains_text(WarehouseRow.id, q)))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (WarehouseRow.created_at, WarehouseRow.id), request)
        return Page([_warehouse(row) for row in rows], next_cursor)


def sku_page(new_uow: UnitOfWorkFactory, request: PageRequest, *, q: str | None = None) -> Page[Sku]:
    """Catalogue items whose name or SKU contains ``q`` (case-insensitive)."""
    query = select(SkuRow)
    if q:
        query = query.where(or_(contains_text(SkuRow.name, q), contains_text(SkuRow.sku, q)))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (SkuRow.created_at, SkuRow.sku), request)
        return Page([_sku(row) for row in rows], next_cursor)


def customer_page(new_uow: UnitOfWorkFactory, request: PageRequest, *, q: str | None = None) -> Page[Customer]:
    """Customers whose name or id contains ``q`` (case-insensitive)."""
    query = select(CustomerRow)
    if q:
        query = query.where(or_(contains_text(CustomerRow.name, q), contains_text(CustomerRow.id, q)))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (CustomerRow.created_at, CustomerRow.id), request)
        return Page([_customer(row) for row in rows], next_cursor)
