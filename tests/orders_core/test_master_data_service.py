"""Master-data use cases on both backends: validated upserts, reads, nothing written on bad input."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from foundation.errors import InvalidInput
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.repository import MasterDataRepository
from orders_core.master_data.service import put_customer, put_sku, put_warehouse
from orders_core.unit_of_work import UnitOfWork

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_warehouse_upsert_creates_then_replaces(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        assert put_warehouse(uow, Warehouse("W1", "North", 52.5, 13.4)) is True
        uow.commit()
    with UnitOfWork(sessions) as uow:
        assert put_warehouse(uow, Warehouse("W1", "North hub", 52.6, 13.5, LAYOUT)) is False
        uow.commit()
    with UnitOfWork(sessions) as uow:
        repo = MasterDataRepository(uow.session)
        assert repo.get_warehouse("W1") == Warehouse("W1", "North hub", 52.6, 13.5, LAYOUT)
        assert [w.id for w in repo.list_warehouses()] == ["W1"]
        assert repo.get_warehouse("nope") is None


def test_warehouse_with_out_of_range_latitude_is_rejected_and_not_written(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow, pytest.raises(InvalidInput, match=r"location\.lat"):
        put_warehouse(uow, Warehouse("W2", "Bad", 91.0, 0.0))
    with UnitOfWork(sessions) as uow:
        assert MasterDataRepository(uow.session).get_warehouse("W2") is None


def test_layout_without_kind_is_rejected(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow, pytest.raises(InvalidInput, match="kind"):
        put_warehouse(uow, Warehouse("W3", "No kind", 1.0, 1.0, {"aisles": 3}))


def test_sku_price_is_exact_decimal_and_negative_price_is_rejected(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        put_sku(uow, Sku("S1", "Bolt", Decimal("12.35"), 0.1, 0.001))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        skus = MasterDataRepository(uow.session).get_skus(["S1", "missing"])
    assert list(skus) == ["S1"]
    assert skus["S1"].unit_price == Decimal("12.35")
    with UnitOfWork(sessions) as uow, pytest.raises(InvalidInput, match="unit_price"):
        put_sku(uow, Sku("S2", "Nut", Decimal("-1"), 0.1, 0.001))


def test_customer_keeps_temporary_limit_across_upserts(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        put_customer(uow, Customer("C1", "Acme", Decimal("1000"), temporary_credit_limit=Decimal("5000")))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        put_customer(uow, Customer("C1", "Acme Ltd", Decimal("2000"), lat=48.1, lng=11.5))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        customer = MasterDataRepository(uow.session).get_customer("C1")
    assert customer is not None
    assert customer.name == "Acme Ltd"
    assert customer.credit_limit == Decimal("2000")
    assert customer.effective_credit_limit == Decimal("5000")
    assert (customer.lat, customer.lng) == (48.1, 11.5)


def test_customer_negative_credit_limit_is_rejected(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow, pytest.raises(InvalidInput, match="credit_limit"):
        put_customer(uow, Customer("C2", "Bad", Decimal("-5")))


def test_warehouse_location_is_a_real_geometry(sessions: sessionmaker[Session], backend: str) -> None:
    from sqlalchemy import text

    with UnitOfWork(sessions) as uow:
        put_warehouse(uow, Warehouse("WG", "Geo", 30.25, 120.15))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        if backend == "postgis":
            x, y, srid = uow.session.execute(
                text("SELECT ST_X(location), ST_Y(location), ST_SRID(location) FROM warehouses WHERE id = 'WG'")
            ).one()
            assert (x, y, srid) == (120.15, 30.25, 4326)
        from orders_core.master_data.tables import WarehouseRow

        row = uow.session.get(WarehouseRow, "WG")
        assert row is not None
        assert (row.location.x, row.location.y) == (120.15, 30.25)
