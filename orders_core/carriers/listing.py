"""The carriers as a list for the desk: searchable by name or id, filtered by vehicle type and activity."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select

from infra.pagination import Page, PageRequest, contains_text, keyset_page
from orders_core.carriers.model import Carrier
from orders_core.carriers.repository import _to_carrier
from orders_core.carriers.tables import CarrierRow
from orders_core.unit_of_work import UnitOfWorkFactory


def carrier_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    q: str | None = None,
    vehicle_types: Collection[str] | None = None,
    active: bool | None = None,
    carrier_id: str | None = None,
) -> Page[Carrier]:
    """Carriers by creation time (``carrier_id``: that one alone, for a carrier token)."""
    query = select(CarrierRow)
    if q:
        query = query.where(or_(contains_text(CarrierRow.name, q), contains_text(CarrierRow.id, q)))
    if vehicle_types:
        query = query.where(CarrierRow.vehicle_type.in_(list(vehicle_types)))
    if active is not None:
        query = query.where(CarrierRow.active.is_(active))
    if carrier_id is not None:
        query = query.where(CarrierRow.id == carrier_id)
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (CarrierRow.created_at, CarrierRow.id), request)
        return Page([_to_carrier(row) for row in rows], next_cursor)
