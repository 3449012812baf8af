"""Pre-booked stock per warehouse: the soft reservations of the best customers' coming week and how much of
each is held now (docs/STOCK_PROTOCOL.md, "Pre-booked stock")."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.schemas.customer_health import PrebookedOut
from api.schemas.master_data import PathId
from api.tokens import Principal
from orders_core.master_data.repository import MasterDataRepository
from orders_core.stock.levels import UnknownWarehouse
from orders_core.stock.prebook_service import prebooked_at_warehouse

router = APIRouter(prefix="/v1/warehouses", tags=["stock"])
readers = require_roles("dispatcher", "warehouse")


@router.get("/{warehouse_id}/prebooked", response_model=PrebookedOut, responses=refusals({404: "warehouse_not_found"}))
def get_prebooked(
    warehouse_id: PathId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> PrebookedOut:
    """Per SKU: units held softly now (what firm orders left, shared by customer score) and each pre-booking."""
    with container.uow() as uow:
        if MasterDataRepository(uow.session).get_warehouse(warehouse_id) is None:
            raise UnknownWarehouse(f"no warehouse with id {warehouse_id!r}")
    return PrebookedOut.model_validate(
        {"warehouse_id": warehouse_id, "items": prebooked_at_warehouse(container.uow, warehouse_id)}
    )
