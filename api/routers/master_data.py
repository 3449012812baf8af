"""Master data: warehouses, SKUs and customers as idempotent PUT upserts with GET at the same path.

PUT answers 201 when it created the resource and 200 when it replaced it. Dispatchers write;
dispatchers and warehouse staff read; a customer token may read its own customer record.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from api.auth import Forbidden, require_roles, warehouse_scope
from api.container import Container
from api.deps import get_container
from api.errors import created_or_replaced
from api.pagination import Page, SearchText, page_request
from api.schemas.master_data import (
    CustomerIn,
    CustomerOut,
    LatLng,
    PathId,
    SkuIn,
    SkuOut,
    WarehouseIn,
    WarehouseOut,
)
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.master_data.listing import customer_page, sku_page, warehouse_page
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.service import (
    get_customer,
    get_sku,
    get_warehouse,
    upsert_customer,
    upsert_sku,
    upsert_warehouse,
)

router = APIRouter(prefix="/v1", tags=["master data"])
writers = require_roles("dispatcher")
readers = require_roles("dispatcher", "warehouse")
customer_readers = require_roles("dispatcher", "warehouse", "customer")

ResourceId = PathId


def _warehouse_out(warehouse: Warehouse) -> WarehouseOut:
    return WarehouseOut(
        id=warehouse.id,
        name=warehouse.name,
        location=LatLng(lat=warehouse.lat, lng=warehouse.lng),
        layout=warehouse.layout,
    )


def _sku_out(sku: Sku) -> SkuOut:
    return SkuOut(
        sku=sku.sku, name=sku.name, unit_price=sku.unit_price, weight_kg=sku.weight_kg, volume_m3=sku.volume_m3
    )


def _customer_out(customer: Customer) -> CustomerOut:
    location = None if customer.lat is None or customer.lng is None else LatLng(lat=customer.lat, lng=customer.lng)
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        credit_limit=customer.credit_limit,
        location=location,
        overdue_amount=customer.overdue_amount,
        prepaid=customer.prepaid,
        temporary_credit_limit=customer.temporary_credit_limit,
        temporary_credit_limit_expires_at=customer.temporary_credit_limit_expires_at,
        effective_credit_limit=customer.effective_credit_limit,
        phone=customer.phone,
    )


@router.put("/warehouses/{warehouse_id}", response_model=WarehouseOut, responses=created_or_replaced(WarehouseOut))
def put_warehouse_endpoint(
    warehouse_id: ResourceId,
    body: WarehouseIn,
    response: Response,
    container: Container = Depends(get_container),
    _: Principal = Depends(writers),
) -> WarehouseOut:
    """Create or replace a warehouse (its layout, when given, must parse)."""
    warehouse = body.to_warehouse(warehouse_id)
    created = upsert_warehouse(container.uow, warehouse)
    response.status_code = 201 if created else 200
    return _warehouse_out(warehouse)


@router.get("/warehouses/{warehouse_id}", response_model=WarehouseOut)
def get_warehouse_endpoint(
    warehouse_id: ResourceId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> WarehouseOut:
    """One warehouse."""
    return _warehouse_out(get_warehouse(container.uow, warehouse_id))


@router.get("/warehouses", response_model=Page[WarehouseOut])
def list_warehouses_endpoint(
    q: SearchText = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Page[WarehouseOut]:
    """Warehouses, oldest first (``order=desc``: newest first); ``q`` searches names and ids. A warehouse token
    scoped to one warehouse sees only that one."""
    found = warehouse_page(container.uow, page, q=q, only_id=warehouse_scope(principal))
    return Page[WarehouseOut](items=[_warehouse_out(w) for w in found.items], next_cursor=found.next_cursor)


@router.get("/skus", response_model=Page[SkuOut])
def list_skus_endpoint(
    q: SearchText = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> Page[SkuOut]:
    """Catalogue items, oldest first (``order=desc``: newest first); ``q`` searches names and SKUs."""
    found = sku_page(container.uow, page, q=q)
    return Page[SkuOut](items=[_sku_out(s) for s in found.items], next_cursor=found.next_cursor)


@router.get("/customers", response_model=Page[CustomerOut])
def list_customers_endpoint(
    q: SearchText = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> Page[CustomerOut]:
    """Customers, oldest first (``order=desc``: newest first); ``q`` searches names and ids."""
    found = customer_page(container.uow, page, q=q)
    return Page[CustomerOut](items=[_customer_out(c) for c in found.items], next_cursor=found.next_cursor)


@router.put("/skus/{sku}", response_model=SkuOut, responses=created_or_replaced(SkuOut))
def put_sku_endpoint(
    sku: ResourceId,
    body: SkuIn,
    response: Response,
    container: Container = Depends(get_container),
    _: Principal = Depends(writers),
) -> SkuOut:
    """Create or replace a catalogue item."""
    item = body.to_sku(sku)
    created = upsert_sku(container.uow, item)
    response.status_code = 201 if created else 200
    return _sku_out(item)


@router.get("/skus/{sku}", response_model=SkuOut)
def get_sku_endpoint(
    sku: ResourceId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> SkuOut:
    """One catalogue item."""
    return _sku_out(get_sku(container.uow, sku))


@router.put("/customers/{customer_id}", response_model=CustomerOut, responses=created_or_replaced(CustomerOut))
def put_customer_endpoint(
    customer_id: ResourceId,
    body: CustomerIn,
    response: Response,
    container: Container = Depends(get_container),
    _: Principal = Depends(writers),
) -> CustomerOut:
    """Create or replace a customer (a temporary credit limit granted earlier is kept unless given)."""
    customer = body.to_customer(customer_id)
    stored, created = upsert_customer(
        container.uow, customer, temporary_credit_ttl_s=container.settings.temporary_credit_ttl_s
    )
    response.status_code = 201 if created else 200
    return _customer_out(stored)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer_endpoint(
    customer_id: ResourceId,
    container: Container = Depends(get_container),
    principal: Principal = Depends(customer_readers),
) -> CustomerOut:
    """One customer; a customer token sees only itself."""
    if principal.role == "customer" and principal.subject != customer_id:
        raise Forbidden("a customer token may only read its own customer record")
    return _customer_out(get_customer(container.uow, customer_id))
