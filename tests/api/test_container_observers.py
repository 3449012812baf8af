"""The composition root wires the domain's observers: the container's units of work count committed order
transitions, its stock service counts lock outcomes, and nothing else does (no global listener state)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from api.container import Container
from api.settings import Settings
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.service import put_customer, put_sku, put_warehouse
from orders_core.orders.intake import place_order, submit_order
from orders_core.orders.model import DeliveryPoint, OrderLine, PlaceOrder
from orders_core.stock.levels import set_stock_level
from orders_core.unit_of_work import UnitOfWork

STATUSES = ("placed", "credit_review", "stock_locked", "allocated")
TOL = Decimal("0.02")
ORDER = PlaceOrder(
    customer_id="C1",
    lines=(OrderLine("S1", 2, Decimal("10.00")),),
    delivery=DeliveryPoint(52.49, 13.40, "Alexanderplatz 1"),
)


def transitions_counted() -> dict[str, float]:
    """The Prometheus transition counter, per status entered (summed over the status left), as at /metrics."""
    entered = dict.fromkeys(STATUSES, 0.0)
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "dispatch_order_transitions_total" and sample.labels["to_status"] in entered:
                entered[sample.labels["to_status"]] += sample.value
    return entered


def lock_outcomes_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("dispatch_stock_lock_outcomes_total", {"outcome": outcome}) or 0.0


def counted_since(before: dict[str, float]) -> dict[str, float]:
    return {status: count - before[status] for status, count in transitions_counted().items()}


def _container(database_url: str) -> Container:
    container = Container(
        Settings(database_url=database_url, admin_token="test-admin", log_json=False, jobs_interval_s=0)
    )
    container.start()
    return container


@pytest.fixture
def containers(database_url: str) -> Iterator[tuple[Container, Container]]:
    """Two containers alive at once on one database (as several apps are in one test process)."""
    first = _container(database_url)
    with first.uow() as uow:
        put_warehouse(uow, Warehouse("W1", "Warehouse W1", 52.50, 13.40))
        put_sku(uow, Sku("S1", "Bolt", Decimal("10.00"), 0.1, 0.001))
        put_customer(uow, Customer("C1", "Acme", Decimal("1000")))
        uow.commit()
    second = _container(database_url)
    for container in (first, second):
        set_stock_level(container.uow, container.stock, "W1", "S1", 100)
    yield first, second
    second.close()
    first.close()


def test_each_committed_transition_is_counted_once_however_many_containers_live(
    containers: tuple[Container, Container],
) -> None:
    first, second = containers
    before, reserved_before = transitions_counted(), lock_outcomes_counted("reserved")
    assert submit_order(first.uow, first.stock, ORDER, actor="test", price_tolerance=TOL).order.status == "allocated"
    assert counted_since(before) == dict.fromkeys(STATUSES, 1.0)
    assert lock_outcomes_counted("reserved") - reserved_before == 1.0
    before = transitions_counted()
    submit_order(second.uow, second.stock, ORDER, actor="test", price_tolerance=TOL)
    assert counted_since(before) == dict.fromkeys(STATUSES, 1.0)


def test_transitions_outside_a_container_or_rolled_back_are_not_counted(
    containers: tuple[Container, Container],
) -> None:
    first, _ = containers
    before = transitions_counted()
    # A unit of work the composition root did not build has no observers: no global listener hears it.
    with UnitOfWork(first.session_factory) as uow:
        place_order(uow, first.stock, ORDER, actor="test", price_tolerance=TOL)
        uow.commit()
    with first.uow() as uow:  # rolled back
        place_order(uow, first.stock, ORDER, actor="test", price_tolerance=TOL)
    assert counted_since(before) == dict.fromkeys(STATUSES, 0.0)


def test_a_closed_container_counts_nothing_more(database_url: str, containers: tuple[Container, Container]) -> None:
    third = _container(database_url)
    third.close()
    before = transitions_counted()
    with third.uow() as uow:  # e.g. a request still running while the app shuts down
        place_order(uow, third.stock, ORDER, actor="test", price_tolerance=TOL)
        uow.commit()
    assert counted_since(before) == dict.fromkeys(STATUSES, 0.0)
