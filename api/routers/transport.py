"""Transport: carrier assignment of shipments and the e-waybills carriers receive.

``POST /v1/shipments/{id}/assign`` (admin, dispatcher): without ``carrier_id`` the best eligible carrier
by the matching semantics (fallback radii included); with it a manual override that needs a ``reason``.
``GET /v1/waybills/{no}`` (admin, dispatcher, and the carrier that holds the waybill; another carrier gets
404) and its printable label ``GET /v1/waybills/{no}/label.pdf``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from api.auth import Forbidden, require_roles, scoped_warehouse_filter
from api.container import Container
from api.deps import get_container
from api.pagination import CreatedFrom, CreatedTo, MultiValue, Page, one_of, page_request, time_range
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.orders import ShipmentLineOut
from api.schemas.transport import AssignIn, AssignOut, ShipmentListItemOut
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.transport.assignment import assign_shipment
from orders_core.transport.labels import waybill_label_pdf
from orders_core.transport.listing import shipment_page, waybill_page
from orders_core.transport.model import ShipmentStatus, WaybillStatus
from orders_core.transport.waybills import get_waybill

router = APIRouter(prefix="/v1", tags=["transport"])
assigners = require_roles("dispatcher")
waybill_readers = require_roles("dispatcher", "carrier")
WaybillNo = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9\-]+$")]


def _carrier_scope(principal: Principal) -> str | None:
    """The carrier a caller may see waybills of (None: any). A carrier token without a subject sees none."""
    if principal.role != "carrier":
        return None
    if not principal.subject:
        raise Forbidden("a carrier token must name its carrier (subject) to read waybills")
    return principal.subject


@router.post("/shipments/{shipment_id}/assign", response_model=AssignOut, response_model_exclude_none=True)
def assign(
    shipment_id: PathId,
    body: Annotated[AssignIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(assigners),
) -> AssignOut:
    """Assign a carrier (the named one, or the best eligible one) and issue its e-waybill."""
    body = body or AssignIn()
    assignment = assign_shipment(
        container.uow,
        container.carriers,
        shipment_id,
        actor=principal.actor,
        policy=container.transport_policy,
        carrier_id=body.carrier_id,
        reason=body.reason,
    )
    return AssignOut(
        shipment_id=assignment.shipment_id,
        carrier_id=assignment.carrier_id,
        waybill_no=assignment.waybill_no,
        previous_carrier_id=assignment.previous_carrier_id,
        cancelled_waybill_no=assignment.cancelled_waybill_no,
    )


FilterId = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)]
shipment_readers = require_roles("dispatcher", "warehouse")


@router.get("/shipments", response_model=Page[ShipmentListItemOut])
def list_shipments(
    status: MultiValue = None,
    warehouse_id: FilterId = None,
    carrier_id: FilterId = None,
    order_id: FilterId = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(shipment_readers),
) -> Page[ShipmentListItemOut]:
    """Shipments, oldest first (``order=desc``: newest first), by status (may repeat), warehouse, carrier,
    order and creation time."""
    created_from, created_to = time_range(created_from, created_to)
    found = shipment_page(
        container.uow,
        page,
        statuses=one_of(status, [s.value for s in ShipmentStatus], name="status"),
        warehouse_id=scoped_warehouse_filter(principal, warehouse_id),
        carrier_id=carrier_id,
        order_id=order_id,
        created_from=created_from,
        created_to=created_to,
    )
    items = [
        ShipmentListItemOut(
            id=s.id,
            order_id=s.order_id,
            warehouse_id=s.warehouse_id,
            lines=[ShipmentLineOut(sku=sku, qty=qty) for sku, qty in s.lines],
            status=s.status,
            carrier_id=s.carrier_id,
            waybill_no=s.waybill_no,
            weight_kg=s.weight_kg,
            volume_m3=s.volume_m3,
            pieces=s.pieces,
            route_id=s.route_id,
            loading_position=s.loading_position,
            created_at=s.created_at,
        )
        for s in found.items
    ]
    return Page[ShipmentListItemOut](items=items, next_cursor=found.next_cursor)


@router.get("/waybills", response_model=Page[dict[str, Any]])
def list_waybills(
    status: MultiValue = None,
    carrier_id: FilterId = None,
    order_id: FilterId = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(waybill_readers),
) -> JSONResponse:
    """Master e-waybills (each as ``GET /v1/waybills/{no}`` answers it), oldest first (``order=desc``: newest
    first), by status (may repeat), carrier, order and creation time; a carrier token sees only its own."""
    created_from, created_to = time_range(created_from, created_to)
    scope = _carrier_scope(principal)
    if scope is not None:
        if carrier_id is not None and carrier_id != scope:
            raise Forbidden("a carrier token may only list its own waybills")
        carrier_id = scope
    found = waybill_page(
        container.uow,
        page,
        statuses=one_of(status, [s.value for s in WaybillStatus], name="status"),
        carrier_id=carrier_id,
        order_id=order_id,
        created_from=created_from,
        created_to=created_to,
    )
    return JSONResponse({"items": found.items, "next_cursor": found.next_cursor})


@router.get("/waybills/{waybill_no}")
def read_waybill(
    waybill_no: WaybillNo,
    container: Container = Depends(get_container),
    principal: Principal = Depends(waybill_readers),
) -> JSONResponse:
    """The e-waybill, exactly the ``data`` its carrier's webhooks carry."""
    document: dict[str, Any] = get_waybill(container.uow, waybill_no, carrier_id=_carrier_scope(principal))
    return JSONResponse(document)


@router.get("/waybills/{waybill_no}/label.pdf", response_class=Response)
def waybill_label(
    waybill_no: WaybillNo,
    container: Container = Depends(get_container),
    principal: Principal = Depends(waybill_readers),
) -> Response:
    """A printable A6 label: Code 128 barcode of the waybill number, a QR code, sender and receiver."""
    document = get_waybill(container.uow, waybill_no, carrier_id=_carrier_scope(principal))
    return Response(
        content=waybill_label_pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{waybill_no}.pdf"'},
    )
