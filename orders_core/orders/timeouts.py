"""Payment timeouts: prepaid orders that stay unpaid too long are cancelled and their stock released."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from foundation.clock import utc_now
from foundation.errors import DispatchError
from orders_core.orders.cancellation import cancel_order
from orders_core.orders.lifecycle import load_order
from orders_core.orders.pipeline import StockPort
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger("orders_core.orders.timeouts")


def release_expired_orders(
    uow_factory: UnitOfWorkFactory, stock: StockPort, timeout_s: float, now: datetime | None = None
) -> list[str]:
    """Cancel prepaid orders still ``pending`` payment ``timeout_s`` after placement; answers their ids.

    Each order is cancelled in its own transaction, so one failure does not keep the others' stock held.
    """
    now = now or utc_now()
    with uow_factory() as uow:
        candidates = OrderRepository(uow.session).pending_prepaid_before(now - timedelta(seconds=timeout_s))
    released: list[str] = []
    for order_id in candidates:
        try:
            with uow_factory() as uow:
                # Locked once: cancel_order reuses the row load_order holds for this unit of work.
                if load_order(uow, order_id).payment_status != "pending":
                    continue  # paid meanwhile
                cancel_order(
                    uow,
                    stock,
                    order_id,
                    actor="system",
                    reason_code="payment_timeout",
                    reason=f"no payment within {int(timeout_s)} s of placement",
                )
                uow.commit()
            released.append(order_id)
        except DispatchError as exc:  # e.g. loaded in the meantime
            log.info("payment_timeout_skipped", order_id=order_id, reason=exc.message)
    return released
