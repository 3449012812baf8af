"""Stores for the import tests: a unit-of-work factory and an in-process stock service over the test
database (SQLite and PostGIS through ``database_url``), the sample files and the shipped profiles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import orders_core.integration.tables  # noqa: F401  (registers the tables)
from infra.db import make_engine, make_session_factory
from orders_core.integration.importer import ImportOptions, ImportSummary, run_import
from orders_core.integration.profile import Profile
from orders_core.integration.profile_loader import load_profile
from orders_core.master_data.model import Warehouse
from orders_core.master_data.service import put_warehouse
from orders_core.stock.service import StockService, build_stock_service
from orders_core.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[3]
PROFILES = ROOT / "profiles"
DATA = ROOT / "tests" / "data" / "imports"
WAREHOUSES = {"WH-SH": (31.2304, 121.4737), "WH-BJ": (39.9042, 116.4074)}


@dataclass
class Stores:
    """What an import needs: a unit of work per transaction and the stock service."""

    engine: Engine
    stock: StockService

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def __post_init__(self) -> None:
        self.session_factory = make_session_factory(self.engine)

    def count(self, table: object, *where: object) -> int:
        """Rows of a table (optionally filtered): the tests' view of what was written."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]

    def run(self, profile: str | Profile, path: Path, **options: object) -> ImportSummary:
        """Run an import with a shipped profile (by name) or a given one."""
        loaded = load_profile(PROFILES / f"{profile}.yaml") if isinstance(profile, str) else profile
        return run_import(self.uow, loaded, path, options=ImportOptions(**options), stock=self.stock)  # type: ignore[arg-type]


@pytest.fixture
def stores(database_url: str) -> Iterator[Stores]:
    """The test database with the two warehouses of the sample data."""
    engine = make_engine(database_url)
    stores = Stores(engine=engine, stock=build_stock_service())
    with stores.uow() as uow:
        for warehouse_id, (lat, lng) in WAREHOUSES.items():
            put_warehouse(uow, Warehouse(id=warehouse_id, name=warehouse_id, lat=lat, lng=lng))
        uow.commit()
    yield stores
    engine.dispose()


@pytest.fixture
def master_loaded(stores: Stores) -> Stores:
    """The sample customers and SKUs imported through their profiles."""
    assert stores.run("erp_customers_csv", DATA / "erp_customers.csv").counts["accepted"] == 3
    assert stores.run("erp_skus_csv", DATA / "erp_skus.csv").counts["accepted"] == 4
    return stores
