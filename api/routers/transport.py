"""Transport: carrier assignment of shipments and the e-waybills carriers receive.

``POST /v1/shipments/{id}/assign`` (admin, dispatcher): without ``carrier_id`` the best eligible carrier
by the matching semantics (fallback radii included); with it a manual override that needs a ``reason``.
``GET /v1/waybills/{no}`` (admin, dispatcher, and the carrier that holds the waybill; another carrier gets
404) and its printable label ``GET /v1/waybills/{no}/label.pdf``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response
from fastapi.responses import JSONResponse

from api.auth import Forbidden, require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import PathId
from api.schemas.transport import AssignIn, AssignOut
from api.tokens import Principal
from orders_core.transport.assignment import assign_shipment
from orders_core.transport.labels import waybill_label_pdf
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
