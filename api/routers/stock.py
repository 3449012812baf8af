"""Stock levels per warehouse and SKU: set the count on hand, read it with what orders hold."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.stock import StockLevelIn, StockLevelOut
from foundation.errors import NotFound
from orders_core.master_data.repository import MasterDataRepository
from orders_core.stock.model import StockLevel
from orders_core.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1/warehouses", tags=["stock"])
stock_roles = require_roles("dispatcher", "warehouse")


class UnknownWarehouse(NotFound):
    code = "warehouse_not_found"


class UnknownSku(NotFound):
    code = "sku_not_found"


def _check_known(uow: UnitOfWork, warehouse_id: str, sku: str) -> None:
    master = MasterDataRepository(uow.session)
    if master.get_warehouse(warehouse_id) is None:
        raise UnknownWarehouse(f"no warehouse with id {warehouse_id!r}")
    if master.get_sku(sku) is None:
        raise UnknownSku(f"no sku {sku!r} in the catalogue")


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
    """Set the units on hand (409 below what orders hold); answers the new level."""
    with container.uow() as uow:
        _check_known(uow, warehouse_id, sku)
        level = container.stock.set_on_hand(uow, warehouse_id, sku, body.on_hand)
        uow.commit()
    return _out(warehouse_id, sku, level)


@router.get("/{warehouse_id}/stock/{sku}", response_model=StockLevelOut)
def get_stock(
    warehouse_id: str,
    sku: str,
    container: Container = Depends(get_container),
    _=Depends(stock_roles),
) -> StockLevelOut:
    """On hand, reserved by orders, and available; 404 when never set."""
    with container.uow() as uow:
        _check_known(uow, warehouse_id, sku)
        level = container.stock.level(uow, warehouse_id, sku)
    return _out(warehouse_id, sku, level)
