"""What the recovery use cases need from the stock service (orders_core.stock.service.StockService)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from orders_core.orders.pipeline import StockPort
from orders_core.stock.model import ReservationLine
from orders_core.unit_of_work import UnitOfWork


class RecoveryStock(StockPort, Protocol):
    """The pipeline's stock port plus partial releases, returns, consumption and receipts."""

    def reservations_of(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]: ...

    def release_lines(
        self, uow: UnitOfWork, order_id: str, lines: Sequence[ReservationLine]
    ) -> list[ReservationLine]: ...

    def return_picked(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]: ...

    def consume(self, uow: UnitOfWork, order_id: str, picked: Sequence[ReservationLine]) -> None: ...

    def receive(self, uow: UnitOfWork, lines: Sequence[ReservationLine]) -> None: ...
