"""The export use case: our orders, shipments or waybills of a period in a target system's format.

The profile names the target entity (``order``, ``shipment``, ``waybill``) and its format; the records are
read streamed (``our_orders``, ``our_transport``) and written through the inverse of the profile
(``export_writer``). Nothing is written to the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.clock import utc_now
from foundation.errors import InvalidInput
from orders_core.integration.export_writer import write_export
from orders_core.integration.our_orders import order_records
from orders_core.integration.our_transport import shipment_records, waybill_records
from orders_core.integration.profile import Profile
from orders_core.unit_of_work import UnitOfWorkFactory

#: ``--entity`` -> the profile target it needs.
ENTITY_TARGETS: dict[str, str] = {"orders": "order", "shipments": "shipment", "waybills": "waybill"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ExportRefused(InvalidInput):
    """An export that cannot be made as asked (an entity the profile does not map, a bad period)."""

    code = "export_refused"


def _records(
    new_uow: UnitOfWorkFactory, entity: str, start: datetime, end: datetime, system: str
) -> Iterator[dict[str, Any]]:
    if entity == "orders":
        return order_records(new_uow, start, end, system=system)
    if entity == "shipments":
        return shipment_records(new_uow, start, end, system=system)
    return waybill_records(new_uow, start, end, system=system)


def export_entity(
    new_uow: UnitOfWorkFactory,
    profile: Profile,
    entity: str,
    out: str | Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Write ``entity`` created in ``[start, end)`` (default: everything until now) to ``out``; answers rows."""
    target = ENTITY_TARGETS.get(entity)
    if target is None:
        raise ExportRefused(f"entity is one of {', '.join(ENTITY_TARGETS)}, not {entity!r}")
    if profile.target != target:
        raise ExportRefused(f"profile {profile.name!r} maps {profile.target} records, not {entity}")
    start, end = (start or EPOCH).astimezone(UTC), (end or utc_now()).astimezone(UTC)
    if end <= start:
        raise ExportRefused("the period must end after it starts")
    return write_export(profile, _records(new_uow, entity, start, end, profile.system), out)
