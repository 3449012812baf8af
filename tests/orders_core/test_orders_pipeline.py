"""Order use cases with the UnitOfWork directly, on both backends: intake, checks, allocation, holds,
approvals, rejections, cancellation, payments and timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.pagination import PageRequest
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.service import put_customer, put_sku, put_warehouse
from orders_core.orders.cancellation import cancel_order
from orders_core.orders.exceptions_flow import (
    ExceptionAlreadyResolved,
    approve_exception,
    open_exception,
    reject_exception,
)
from orders_core.orders.intake import IdempotencyKeyReused, place_order
from orders_core.orders.lifecycle import advance_order
from orders_core.orders.listing import order_page
from orders_core.orders.model import DeliveryPoint, InvalidTransition, OrderLine, OrderStatus, OrderView, PlaceOrder
from orders_core.orders.payments import apply_payment_notification
from orders_core.orders.repository import OrderRepository
from orders_core.orders.timeouts import release_expired_orders
from orders_core.stock.service import StockService, build_stock_service
from orders_core.unit_of_work import UnitOfWork

TOL = Decimal("0.02")
# Three warehouses along a line of longitude; the delivery point sits next to W1.
SITES = {"W1": (52.50, 13.40), "W2": (52.60, 13.40), "W3": (53.00, 13.40)}
NEAR_W1 = DeliveryPoint(52.49, 13.40, "Alexanderplatz 1")


@dataclass
class World:
    sessions: sessionmaker[Session]
    stock: StockService

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def set_stock(self, warehouse_id: str, sku: str, on_hand: int) -> None:
        with self.uow() as uow:
            self.stock.set_on_hand(uow, warehouse_id, sku, on_hand)
            uow.commit()

    def place(
        self, customer_id: str = "C1", lines: tuple[tuple[str, int, str], ...] = (("S1", 2, "10.00"),), **kw: object
    ) -> OrderView:
        command = PlaceOrder(
            customer_id=customer_id,
            lines=tuple(OrderLine(sku, qty, Decimal(price)) for sku, qty, price in lines),
            delivery=kw.pop("delivery", NEAR_W1),  # type: ignore[arg-type]
        )
        with self.uow() as uow:
            placed = place_order(uow, self.stock, command, actor="test", price_tolerance=TOL, **kw)  # type: ignore[arg-type]
            uow.commit()
        return self.view(placed.order_id)

    def view(self, order_id: str) -> OrderView:
        with self.uow() as uow:
            view = OrderRepository(uow.session).view(order_id)
        assert view is not None
        return view

    def available(self, warehouse_id: str, sku: str) -> int:
        with self.uow() as uow:
            return self.stock.level(uow, warehouse_id, sku).available


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    yield from _world(database_url)


@pytest.fixture
def postgis_world(postgis_database_url: str) -> Iterator[World]:
    """A world on PostGIS only: the race tests need a rival transaction to commit inside ours."""
    yield from _world(postgis_database_url)


def _world(database_url: str) -> Iterator[World]:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    world = World(sessions, build_stock_service(None))
    with world.uow() as uow:
        for wid, (lat, lng) in SITES.items():
            put_warehouse(uow, Warehouse(wid, f"Warehouse {wid}", lat, lng))
        put_sku(uow, Sku("S1", "Bolt", Decimal("10.00"), 0.1, 0.001))
        put_sku(uow, Sku("S2", "Nut", Decimal("2.50"), 0.05, 0.0005))
        put_customer(uow, Customer("C1", "Acme", Decimal("1000")))
        put_customer(uow, Customer("PRE", "Prepaid Co", Decimal("1000"), prepaid=True))
        uow.commit()
    yield world
    engine.dispose()


def statuses(view: OrderView) -> list[str]:
    return [entry.status for entry in view.timeline]


def test_order_served_by_nearest_single_warehouse_is_allocated(world: World) -> None:
    for wid in SITES:
        world.set_stock(wid, "S1", 10)
    view = world.place()
    assert view.status == "allocated"
    assert statuses(view) == ["placed", "credit_review", "stock_locked", "allocated"]
    assert [(s.warehouse_id, s.lines) for s in view.shipments] == [("W1", (("S1", 2),))]
    assert view.total == Decimal("20.00")
    assert view.payment_status == "not_required"
    assert world.available("W1", "S1") == 8
    assert all(entry.at.tzinfo is not None for entry in view.timeline)
    with world.uow() as uow:
        events = OrderRepository(uow.session).outbox_events(view.id)
    assert [e.get("to") for e in events if e["topic"] == "order.status_changed"] == [
        "credit_review",
        "stock_locked",
        "allocated",
    ]


def test_split_uses_fewest_warehouses_then_shortest_distance(world: World) -> None:
    world.set_stock("W1", "S1", 5)
    world.set_stock("W2", "S2", 5)
    world.set_stock("W3", "S1", 5)
    world.set_stock("W3", "S2", 5)
    # W3 alone serves both lines: one shipment beats two nearer ones.
    view = world.place(lines=(("S1", 3, "10.00"), ("S2", 3, "2.50")))
    assert [s.warehouse_id for s in view.shipments] == ["W3"]
    # Now W3 lacks S2; the best two-warehouse split is W1 (S1) + W2 (S2).
    view = world.place(lines=(("S1", 2, "10.00"), ("S2", 4, "2.50")))
    assert view.status == "allocated"
    assert sorted((s.warehouse_id, s.lines) for s in view.shipments) == [("W1", (("S1", 2),)), ("W2", (("S2", 4),))]
    assert view.timeline[-1].reason_code == "split_allocation"


def test_shortage_holds_with_missing_quantities_and_transfer_suggestion(world: World) -> None:
    world.set_stock("W1", "S1", 1)
    world.set_stock("W3", "S1", 2)
    view = world.place(lines=(("S1", 5, "10.00"),))
    assert view.status == "on_hold"
    (exception,) = view.exceptions
    assert exception.kind == "stock_shortage"
    assert exception.details["missing"] == {"S1": 2}
    suggestion = exception.details["transfer_suggestion"]
    assert suggestion["to_warehouse_id"] == "W1"
    assert suggestion["transfers"] == [{"from_warehouse_id": "W3", "to_warehouse_id": "W1", "sku": "S1", "qty": 2}]
    assert world.available("W1", "S1") == 1  # nothing held


def test_shortage_approval_after_restock_allocates(world: World) -> None:
    view = world.place(lines=(("S1", 3, "10.00"),))
    assert view.status == "on_hold"
    world.set_stock("W2", "S1", 3)
    with world.uow() as uow:
        approve_exception(uow, world.stock, view.exceptions[0].id, actor="disp", price_tolerance=TOL)
        uow.commit()
    view = world.view(view.id)
    assert view.status == "allocated"
    assert [s.warehouse_id for s in view.shipments] == ["W2"]


def test_price_conflict_holds_then_approval_continues(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place(lines=(("S1", 1, "9.50"),))  # 5 % below the catalogue
    assert view.status == "on_hold"
    (exception,) = view.exceptions
    assert exception.kind == "price_conflict"
    assert exception.details["lines"][0]["sku"] == "S1"
    assert world.available("W1", "S1") == 10
    with world.uow() as uow:
        approve_exception(uow, world.stock, exception.id, actor="disp", price_tolerance=TOL, note="agreed discount")
        uow.commit()
    view = world.view(view.id)
    assert view.status == "allocated"
    assert "credit_review" in statuses(view)[statuses(view).index("on_hold") :]
    with world.uow() as uow, pytest.raises(ExceptionAlreadyResolved):
        approve_exception(uow, world.stock, exception.id, actor="disp", price_tolerance=TOL)


def test_price_within_tolerance_passes(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    assert world.place(lines=(("S1", 1, "10.15"),)).status == "allocated"  # 1.5 %


def test_credit_limit_exceeded_then_temporary_limit_approval(world: World) -> None:
    world.set_stock("W1", "S1", 500)
    first = world.place(lines=(("S1", 80, "10.00"),))  # 800 of 1000
    assert first.status == "allocated"
    second = world.place(lines=(("S1", 30, "10.00"),))  # 800 + 300 > 1000
    assert second.status == "on_hold"
    (exception,) = second.exceptions
    assert exception.kind == "credit_limit_exceeded"
    assert exception.details["open_exposure"] == "800.0000" or Decimal(exception.details["open_exposure"]) == 800
    with world.uow() as uow:
        approve_exception(
            uow,
            world.stock,
            exception.id,
            actor="disp",
            price_tolerance=TOL,
            temporary_credit_limit=Decimal("2000"),
        )
        uow.commit()
    assert world.view(second.id).status == "allocated"
    assert world.place(lines=(("S1", 10, "10.00"),)).status == "allocated"  # 1200 <= 2000


def test_overdue_customer_is_held(world: World) -> None:
    with world.uow() as uow:
        put_customer(uow, Customer("LATE", "Late payer", Decimal("1000"), overdue_amount=Decimal("5")))
        uow.commit()
    world.set_stock("W1", "S1", 10)
    view = world.place(customer_id="LATE")
    assert view.status == "on_hold"
    assert view.exceptions[0].kind == "credit_overdue"


def test_reject_cancels_and_releases(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow:
        exception_id = open_exception(uow, view.id, "no_carrier_in_range", "no carrier", {})
        uow.commit()
    assert world.view(view.id).status == "on_hold"
    assert world.available("W1", "S1") == 8
    with world.uow() as uow:
        reject_exception(uow, world.stock, exception_id, actor="disp")
        uow.commit()
    assert world.view(view.id).status == "cancelled"
    assert world.available("W1", "S1") == 10


def test_approving_a_later_exception_returns_to_the_held_state(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow:
        exception_id = open_exception(uow, view.id, "no_carrier_in_range", "no carrier", {})
        uow.commit()
    with world.uow() as uow:
        approve_exception(uow, world.stock, exception_id, actor="disp", price_tolerance=TOL)
        uow.commit()
    assert world.view(view.id).status == "allocated"
    assert world.available("W1", "S1") == 8


def test_idempotent_intake_and_key_reuse(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    first = world.place(idempotency_key="k-1")
    again = world.place(idempotency_key="k-1")
    assert again.id == first.id
    assert world.available("W1", "S1") == 8
    with pytest.raises(IdempotencyKeyReused):
        world.place(idempotency_key="k-1", lines=(("S1", 3, "10.00"),))


@pytest.mark.parametrize(
    ("customer", "lines", "match"),
    [
        ("NOPE", (("S1", 1, "10.00"),), "customer_id"),
        ("C1", (("S9", 1, "10.00"),), r"lines\[0\]\.sku"),
        ("C1", (("S1", 0, "10.00"),), r"lines\[0\]\.qty"),
    ],
)
def test_invalid_orders_write_nothing(
    world: World, customer: str, lines: tuple[tuple[str, int, str], ...], match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        world.place(customer_id=customer, lines=lines)
    assert order_page(world.uow, PageRequest()).items == []


def test_bad_delivery_coordinates_are_rejected(world: World) -> None:
    with pytest.raises(InvalidInput, match=r"delivery\.lat"):
        world.place(delivery=DeliveryPoint(123.0, 0.0))


def test_cancel_releases_and_is_refused_after_loading(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow:
        cancel_order(uow, world.stock, view.id, actor="disp")
        uow.commit()
    assert world.available("W1", "S1") == 10
    assert world.view(view.id).status == "cancelled"
    other = world.place()
    with world.uow() as uow:
        advance_order(uow, other.id, OrderStatus.PICKING, actor="picker")
        advance_order(uow, other.id, OrderStatus.LOADED, actor="picker")
        uow.commit()
    with world.uow() as uow, pytest.raises(Conflict):
        cancel_order(uow, world.stock, other.id, actor="disp")


def test_invalid_transition_is_refused(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow, pytest.raises(InvalidTransition):
        advance_order(uow, view.id, OrderStatus.DELIVERED, actor="x")


def test_allocated_lines_for_picking(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow:
        lines = OrderRepository(uow.session).allocated_lines("W1")
    assert [(line.order_id, line.sku, line.qty) for line in lines] == [(view.id, "S1", 2)]


def test_prepaid_order_pending_then_paid_or_timed_out(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    paid = world.place(customer_id="PRE")
    unpaid = world.place(customer_id="PRE")
    assert paid.payment_status == "pending"
    with world.uow() as uow:
        outcome = apply_payment_notification(
            uow, transaction_id="tx-1", order_id=paid.id, status="paid", amount=Decimal("20.00")
        )
        uow.commit()
    assert outcome.payment_status == "paid" and not outcome.duplicate
    with world.uow() as uow:
        again = apply_payment_notification(
            uow, transaction_id="tx-1", order_id=paid.id, status="paid", amount=Decimal("20.00")
        )
    assert again.duplicate
    assert world.view(paid.id).timeline[-1].reason_code == "payment_paid"
    assert world.available("W1", "S1") == 6
    assert release_expired_orders(world.uow, world.stock, 60, now=utc_now() + timedelta(seconds=30)) == []
    released = release_expired_orders(world.uow, world.stock, 60, now=utc_now() + timedelta(seconds=61))
    assert released == [unpaid.id]
    assert world.view(unpaid.id).status == "cancelled"
    assert world.view(unpaid.id).timeline[-1].reason_code == "payment_timeout"
    assert world.view(paid.id).status == "allocated"
    assert world.available("W1", "S1") == 8


def test_pagination_walks_every_order_once(world: World) -> None:
    world.set_stock("W1", "S1", 100)
    ids = [world.place().id for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = order_page(world.uow, PageRequest(limit=2, cursor=cursor))
        seen += [v.id for v in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids


class RacingStock:
    """The real stock service, with a rival order grabbing stock (in its own committed transaction)
    between our availability read and our reserve; ``churn`` makes the rival cancel before our next read."""

    def __init__(self, world: World, grabs: list[tuple[str, str, int]], *, churn: bool = False) -> None:
        self.world = world
        self.grabs = list(grabs)
        self.churn = churn
        self.rivals = 0

    def available_by_warehouse(self, uow: UnitOfWork, skus: object) -> dict[str, dict[str, int]]:
        if self.churn and self.rivals:
            with self.world.uow() as other:
                self.world.stock.release(other, f"rival-{self.rivals}")
                other.commit()
        return self.world.stock.available_by_warehouse(uow, skus)  # type: ignore[arg-type]

    def reserve(self, uow: UnitOfWork, order_id: str, lines: object) -> None:
        from orders_core.stock.model import ReservationLine

        if self.grabs:
            warehouse_id, sku, qty = self.grabs.pop(0)
            self.rivals += 1
            with self.world.uow() as other:
                self.world.stock.reserve(other, f"rival-{self.rivals}", [ReservationLine(warehouse_id, sku, qty)])
                other.commit()
        self.world.stock.reserve(uow, order_id, lines)  # type: ignore[arg-type]

    def release(self, uow: UnitOfWork, order_id: str) -> object:
        return self.world.stock.release(uow, order_id)


def _place_with(world: World, stock: object) -> OrderView:
    command = PlaceOrder("C1", (OrderLine("S1", 2, Decimal("10.00")),), NEAR_W1)
    with world.uow() as uow:
        placed = place_order(uow, stock, command, actor="test", price_tolerance=TOL)  # type: ignore[arg-type]
        uow.commit()
    return world.view(placed.order_id)


def test_lost_reservation_race_replans_to_the_next_warehouse(postgis_world: World) -> None:
    world = postgis_world
    world.set_stock("W1", "S1", 2)
    world.set_stock("W2", "S1", 2)
    view = _place_with(world, RacingStock(world, [("W1", "S1", 1)]))
    assert view.status == "allocated"
    assert [s.warehouse_id for s in view.shipments] == ["W2"]
    assert world.available("W1", "S1") == 1
    assert world.available("W2", "S1") == 0


def test_losing_every_race_holds_with_stock_shortage(postgis_world: World) -> None:
    world = postgis_world
    world.set_stock("W1", "S1", 8)
    view = _place_with(world, RacingStock(world, [("W1", "S1", 7)] * 4, churn=True))
    assert view.status == "on_hold"
    (exception,) = view.exceptions
    assert exception.kind == "stock_shortage"
    assert len(exception.details["lost_reservation_races"]) == 4
    assert world.available("W1", "S1") == 1  # the last rival holds 7; we hold nothing


def test_a_rolled_back_transition_leaves_no_timeline_entry_nor_event(world: World) -> None:
    world.set_stock("W1", "S1", 10)
    view = world.place()
    with world.uow() as uow:
        before = len(OrderRepository(uow.session).outbox_events(view.id))
    with pytest.raises(RuntimeError), world.uow() as uow:
        advance_order(uow, view.id, OrderStatus.PICKING, actor="picker")
        raise RuntimeError("crash before commit")
    after = world.view(view.id)
    assert after.status == "allocated"
    assert len(after.timeline) == len(view.timeline)
    with world.uow() as uow:
        assert len(OrderRepository(uow.session).outbox_events(view.id)) == before
    with world.uow() as uow:
        advance_order(uow, view.id, OrderStatus.PICKING, actor="picker", reason_code="wave_started")
        uow.commit()
    final = world.view(view.id)
    assert final.timeline[-1].status == "picking" and final.timeline[-1].reason_code == "wave_started"
