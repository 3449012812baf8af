"""Stock levels per warehouse and SKU: set the count on hand, read it with what orders hold."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.stock import StockLevelIn, StockLevelOut
from orders_core.orders.recovery.shortage import set_stock_and_retry
from orders_core.stock.levels import read_stock_level
from orders_core.stock.model import StockLevel

router = APIRouter(prefix="/v1/warehouses", tags=["stock"])
stock_roles = require_roles("dispatcher", "warehouse")


def _out(warehouse_id: str, sku: str, level: StockLevel) -> StockLevelOut:
    return StockLevelOut(
        warehouse_id=warehouse_id, sku=sku, on_hand=level.on_hand, reserved=level.reserved, available=level.available
    )


@router.put("/{warehouse_id}/stock/{sku}", response_model=StockLevelOut)
def put_stock(
    warehouse_id: str,
    sku: str,
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
    warehouse_id: str,
    sku: str,
    container: Container = Depends(get_container),
    _=Depends(stock_roles),
) -> StockLevelOut:
    """On hand, reserved by orders, and available; 404 when never set."""
    level = read_stock_level(container.uow, container.stock, warehouse_id, sku)
    return _out(warehouse_id, sku, level)
