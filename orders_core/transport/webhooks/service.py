"""The desk's use cases over webhook deliveries: list them with their attempts, replay dead-lettered ones."""

from __future__ import annotations

from collections.abc import Collection

from foundation.clock import utc_now
from foundation.errors import InvalidInput
from orders_core.transport.webhooks import repository
from orders_core.transport.webhooks.model import DeliveryNotDead, DeliveryNotFound, DeliveryPage, DeliveryView
from orders_core.unit_of_work import UnitOfWorkFactory


class InvalidCursor(InvalidInput):
    """A ``cursor`` this service did not hand out."""

    code = "invalid_cursor"


def _after_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidCursor("cursor must be a value of next_cursor from a previous page")
    return int(cursor)


def delivery_page(
    new_uow: UnitOfWorkFactory,
    *,
    status: str | None = None,
    carrier_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    waybill_nos: Collection[str] | None = None,
) -> DeliveryPage:
    """Deliveries newest first with their attempts, filtered by status, carrier and (``waybill_nos``) the
    waybills they are about, ``limit`` per page."""
    after_id = _after_id(cursor)
    with new_uow() as uow:
        views, last_id = repository.list_deliveries(
            uow.session, status=status, carrier_id=carrier_id, limit=limit, after_id=after_id, waybill_nos=waybill_nos
        )
    return DeliveryPage(items=views, next_cursor=None if last_id is None else str(last_id))


def get_delivery(new_uow: UnitOfWorkFactory, delivery_id: int) -> DeliveryView:
    """One delivery with its attempts; DeliveryNotFound (404) when absent."""
    with new_uow() as uow:
        view = repository.delivery_view(uow.session, delivery_id)
    if view is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
    return view


def replay_delivery(new_uow: UnitOfWorkFactory, delivery_id: int) -> DeliveryView:
    """Send a dead-lettered delivery again (same ``webhook-id``, retry schedule from the start).

    DeliveryNotFound (404) when absent; DeliveryNotDead (409) when it is not dead-lettered.
    """
    with new_uow() as uow:
        row = repository.delivery(uow.session, delivery_id, for_update=True)
        if row is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        if row.status != "dead":
            raise DeliveryNotDead(f"webhook delivery {delivery_id} is {row.status}, only a dead one can be replayed")
        repository.replay_dead(uow.session, now=utc_now(), delivery_id=delivery_id)
        uow.commit()
    return get_delivery(new_uow, delivery_id)


def replay_dead_deliveries(new_uow: UnitOfWorkFactory, *, carrier_id: str | None = None) -> int:
    """Send every dead-lettered delivery again (optionally one carrier's); answers how many."""
    with new_uow() as uow:
        replayed = repository.replay_dead(uow.session, now=utc_now(), carrier_id=carrier_id)
        uow.commit()
    return replayed
