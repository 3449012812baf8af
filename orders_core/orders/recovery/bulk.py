"""Resolving many exceptions at once: each one in its own transaction, with a result per item.

Per-item, not all-or-nothing: one exception already resolved (or whose strategy cannot apply) must not
block the desk's other approvals, and each approval moves stock and orders that other requests see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from foundation.errors import DispatchError
from orders_core.orders.exceptions_flow import resolve_by_approval, resolve_by_rejection
from orders_core.orders.model import ExceptionView
from orders_core.orders.pipeline import StockPort
from orders_core.orders.recovery.strategies import RecoveryChoice
from orders_core.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class BulkItemResult:
    """The outcome for one exception id: its view when resolved, else the error's code and message."""

    id: str
    ok: bool
    exception: ExceptionView | None = None
    error_code: str | None = None
    error_message: str | None = None
    http_status: int = 200


def bulk_resolve(
    new_uow: UnitOfWorkFactory,
    stock: StockPort,
    exception_ids: Sequence[str],
    action: Literal["approve", "reject"],
    *,
    actor: str,
    price_tolerance: Decimal,
    choice: RecoveryChoice | None = None,
    note: str | None = None,
) -> list[BulkItemResult]:
    """Approve (with ``choice``) or reject each exception in the given order; answers one result per id."""
    results: list[BulkItemResult] = []
    for exception_id in exception_ids:
        try:
            if action == "approve":
                view = resolve_by_approval(
                    new_uow, stock, exception_id, actor=actor, price_tolerance=price_tolerance, note=note, choice=choice
                )
            else:
                view = resolve_by_rejection(new_uow, stock, exception_id, actor=actor, note=note)
        except DispatchError as exc:
            results.append(
                BulkItemResult(
                    id=exception_id,
                    ok=False,
                    error_code=exc.code,
                    error_message=exc.message,
                    http_status=exc.http_status,
                )
            )
            continue
        results.append(BulkItemResult(id=exception_id, ok=True, exception=view))
    return results
