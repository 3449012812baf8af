"""Stock levels per warehouse and SKU: set the count on hand, read it with what orders hold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.pagination import Page, SearchText, page_request
from api.schemas.master_data import PathId
from api.schemas.stock import StockLevelIn, StockLevelOut
from infra.pagination import PageRequest
from orders_core.orders.recovery.shortage import set_stock_and_retry
from orders_core.stock.levels import read_stock_level
from orders_core.stock.listing import stock_page
from orders_core.stock.model import StockLevel
from orders_core.stock.prebook_service import prebooked_units

router = APIRouter(prefix="/v1/warehouses", tags=["stock"])
stock_roles = require_roles("dispatcher", "warehouse")


def _out(warehouse_id: str, sku: str, level: StockLevel) -> StockLevelOut:
    return StockLevelOut(
        warehouse_id=warehouse_id, sku=sku, on_hand=level.on_hand, reserved=level.reserved, available=level.available
    )


@router.get("/{warehouse_id}/stock", response_model=Page[StockLevelOut])
def list_stock(
    warehouse_id: PathId,
    q: SearchText = None,
    max_available: Annotated[int | None, Query(ge=0, description="Only SKUs with at most this many available.")] = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _=Depends(stock_roles),
) -> Page[StockLevelOut]:
    """Every SKU with a level at the warehouse, by SKU (``order=desc``: reversed); ``q`` searches SKUs and
    names, ``max_available`` finds what runs low; 404 for an unknown warehouse."""
    found = stock_page(container.uow, container.stock, warehouse_id, page, q=q, max_available=max_available)
    return Page[StockLevelOut](
        items=[_out(warehouse_id, s.sku, s.level) for s in found.items], next_cursor=found.next_cursor
    )


@router.put("/{warehouse_id}/stock/{sku}", response_model=StockLevelOut)
def put_stock(
    warehouse_id: PathId,
    sku: PathId,
    body: StockLevelIn,
    container: Container = Depends(get_container),
    _=Depends(stock_roles),
) -> StockLevelOut:
    """Set the units on hand (409 below what orders hold); answers the new level. When on hand rises, held
    orders waiting for this SKU are retried (highest priority, then oldest first); ``allocated_orders``
    names those it let through."""
    level, retried = set_stock_and_retry(
        container.uow,
        container.stock,
        warehouse_id,
        sku,
        body.on_hand,
        price_tolerance=container.settings.price_tolerance,
    )
    return _out(warehouse_id, sku, level).model_copy(update={"allocated_orders": retried.allocated})


@router.get("/{warehouse_id}/stock/{sku}", response_model=StockLevelOut)
def get_stock(
    warehouse_id: PathId,
    sku: PathId,
    container: Container = Depends(get_container),
    _=Depends(stock_roles),
) -> StockLevelOut:
    """On hand, reserved by orders, and available; ``prebooked``: units of ``available`` held softly for
    pre-booking customers (firm orders may still take them); 404 when never set."""
    level = read_stock_level(container.uow, container.stock, warehouse_id, sku)
    with container.uow() as uow:
        prebooked = prebooked_units(uow, warehouse_id, sku, free=level.available)
    return _out(warehouse_id, sku, level).model_copy(update={"prebooked": prebooked})
