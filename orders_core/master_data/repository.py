"""Persistence of master data behind a small interface: rows in, plain dataclasses out.

Catalogue items and warehouse sites are read for every order, so they are cached per engine (per
process): an upsert in this process clears the cache when its transaction ends, and entries expire
after ``CACHE_TTL_S`` so that upserts made by other service processes are seen shortly after.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from shapely.geometry import Point
from sqlalchemy import Connection, Engine, Row, bindparam, event, select
from sqlalchemy.orm import Session

from foundation.clock import utc_now
from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow


def _warehouse(row: WarehouseRow) -> Warehouse:
    return Warehouse(id=row.id, name=row.name, lat=row.lat, lng=row.lng, layout=row.layout)


def _sku(row: SkuRow | Row[*tuple[Any, ...]]) -> Sku:
    return Sku(
        sku=row.sku,
        name=row.name,
        unit_price=Decimal(row.unit_price),
        weight_kg=row.weight_kg,
        volume_m3=row.volume_m3,
    )


def _customer(row: CustomerRow | Row[*tuple[Any, ...]]) -> Customer:
    temporary, expires_at = row.temporary_credit_limit, row.temporary_credit_limit_expires_at
    if expires_at is not None and expires_at <= utc_now():
        temporary, expires_at = None, None  # lapsed: the standing limit applies again
    return Customer(
        id=row.id,
        name=row.name,
        credit_limit=Decimal(row.credit_limit),
        temporary_credit_limit=None if temporary is None else Decimal(temporary),
        temporary_credit_limit_expires_at=expires_at,
        overdue_amount=Decimal(row.overdue_amount),
        lat=row.lat,
        lng=row.lng,
        prepaid=bool(row.prepaid),  # SQLite hands a Core read an int
        phone=getattr(row, "phone", None),
    )


#: Longest time a cached SKU or warehouse site may lag behind an upsert made by another process.
CACHE_TTL_S = 2.0
_DIRTY = "master_data.dirty"


class _MasterCache:
    """SKUs and warehouse sites of one database; ``generation`` guards against caching a stale read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.skus: dict[str, tuple[float, Sku]] = {}
        self.sites: tuple[float, dict[str, tuple[float, float]]] | None = None

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.skus = {}
            self.sites = None


_caches: weakref.WeakKeyDictionary[Engine, _MasterCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_of(session: Session) -> _MasterCache | None:
    """The engine's cache, or None while this session has upserted master data (it reads its own writes)."""
    if session.info.get(_DIRTY):
        return None
    engine = _engine_of(session)
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, _MasterCache())
    return cache


def _mark_dirty(session: Session) -> None:
    session.info[_DIRTY] = True
    cache = _cache_of_engine(session)
    if cache is not None:
        cache.clear()


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _cache_of_engine(session: Session) -> _MasterCache | None:
    """The engine's cache if one was made (clearing needs no new one)."""
    return _caches.get(_engine_of(session))


@event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, None):
        cache = _cache_of_engine(session)
        if cache is not None:
            cache.clear()


@event.listens_for(Session, "after_rollback")
def _forget_dirty(session: Session) -> None:
    session.info.pop(_DIRTY, None)


_CUSTOMERS = CustomerRow.__table__
#: Built once: intake runs it for every order.
_LOCK_CUSTOMER = (
    select(
        _CUSTOMERS.c.id,
        _CUSTOMERS.c.name,
        _CUSTOMERS.c.credit_limit,
        _CUSTOMERS.c.temporary_credit_limit,
        _CUSTOMERS.c.temporary_credit_limit_expires_at,
        _CUSTOMERS.c.overdue_amount,
        _CUSTOMERS.c.lat,
        _CUSTOMERS.c.lng,
        _CUSTOMERS.c.prepaid,
    )
    .where(_CUSTOMERS.c.id == bindparam("customer_id"))
    .with_for_update(key_share=True)
)


class MasterDataRepository:
    """Reads and upserts warehouses, SKUs and customers in the caller's session (no commit here)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------------
    def get_warehouse(self, warehouse_id: str) -> Warehouse | None:
        """The warehouse, or None."""
        row = self.session.get(WarehouseRow, warehouse_id)
        return None if row is None else _warehouse(row)

    def list_warehouses(self) -> list[Warehouse]:
        """Every warehouse, by id."""
        return [_warehouse(row) for row in self.session.scalars(select(WarehouseRow).order_by(WarehouseRow.id))]

    def warehouse_sites(self) -> dict[str, tuple[float, float]]:
        """warehouse id -> (lat, lng) (allocation needs it for every order: cached, see the module doc)."""
        cache = _cache_of(self.session)
        now = time.monotonic()
        generation = 0
        if cache is not None:
            cached, generation = cache.sites, cache.generation
            if cached is not None and now - cached[0] < CACHE_TTL_S:
                return dict(cached[1])
        rows = self.session.execute(select(WarehouseRow.id, WarehouseRow.lat, WarehouseRow.lng))
        sites = {wid: (lat, lng) for wid, lat, lng in rows}
        if cache is not None:
            with cache.lock:
                if cache.generation == generation:
                    cache.sites = (now, sites)
        return dict(sites)

    def get_sku(self, sku: str) -> Sku | None:
        """The catalogue item, or None."""
        row = self.session.get(SkuRow, sku)
        return None if row is None else _sku(row)

    def get_skus(self, ids: Collection[str]) -> dict[str, Sku]:
        """The known items among ``ids`` (absent ones are simply missing from the answer)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        found: dict[str, Sku] = {}
        cache = _cache_of(self.session)
        now = time.monotonic()
        generation = 0
        if cache is not None:
            generation = cache.generation
            for sku in wanted:
                hit = cache.skus.get(sku)
                if hit is not None and now - hit[0] < CACHE_TTL_S:
                    found[sku] = hit[1]
            wanted = [sku for sku in wanted if sku not in found]
            if not wanted:
                return found
        table = SkuRow.__table__
        rows = self.session.execute(
            select(table.c.sku, table.c.name, table.c.unit_price, table.c.weight_kg, table.c.volume_m3).where(
                table.c.sku.in_(wanted)
            )
        )
        read = {r.sku: _sku(r) for r in rows}
        if cache is not None and read:  # unknown SKUs are not cached: a later upsert anywhere is seen at once
            with cache.lock:
                if cache.generation == generation:
                    cache.skus.update((sku, (now, item)) for sku, item in read.items())
        found.update(read)
        return found

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer, or None."""
        row = self.session.get(CustomerRow, customer_id)
        return None if row is None else _customer(row)

    # --- upserts (True when created) ------------------------------------------------------------
    def upsert_warehouse(self, warehouse: Warehouse) -> bool:
        """Create or replace a warehouse; answers whether it was created."""
        _mark_dirty(self.session)
        now = utc_now()
        row = self.session.get(WarehouseRow, warehouse.id)
        created = row is None
        if row is None:
            row = WarehouseRow(id=warehouse.id, created_at=now)
            self.session.add(row)
        row.name = warehouse.name
        row.lat = warehouse.lat
        row.lng = warehouse.lng
        row.location = Point(warehouse.lng, warehouse.lat)
        row.layout = warehouse.layout
        row.updated_at = now
        self.session.flush()
        return created

    def upsert_sku(self, sku: Sku) -> bool:
        """Create or replace a catalogue item; answers whether it was created."""
        _mark_dirty(self.session)
        now = utc_now()
        row = self.session.get(SkuRow, sku.sku)
        created = row is None
        if row is None:
            row = SkuRow(sku=sku.sku, created_at=now)
            self.session.add(row)
        row.name = sku.name
        row.unit_price = sku.unit_price
        row.weight_kg = sku.weight_kg
        row.volume_m3 = sku.volume_m3
        row.updated_at = now
        self.session.flush()
        return created

    def upsert_customer(self, customer: Customer) -> bool:
        """Create or replace a customer; answers whether it was created."""
        now = utc_now()
        row = self.session.get(CustomerRow, customer.id)
        created = row is None
        if row is None:
            row = CustomerRow(id=customer.id, created_at=now)
            self.session.add(row)
        row.name = customer.name
        row.credit_limit = customer.credit_limit
        row.temporary_credit_limit = customer.temporary_credit_limit
        row.temporary_credit_limit_expires_at = customer.temporary_credit_limit_expires_at
        row.overdue_amount = customer.overdue_amount
        row.prepaid = customer.prepaid
        row.lat = customer.lat
        row.lng = customer.lng
        row.phone = customer.phone
        row.updated_at = now
        self.session.flush()
        return created

    def set_temporary_credit_limit(
        self, customer_id: str, limit: Decimal | None, expires_at: datetime | None = None
    ) -> None:
        """Grant (or clear) a temporary credit limit until ``expires_at``, e.g. when a dispatcher approves a
        credit hold."""
        row = self.session.get(CustomerRow, customer_id)
        if row is not None:
            row.temporary_credit_limit = limit
            row.temporary_credit_limit_expires_at = None if limit is None else expires_at
            row.updated_at = utc_now()

    def lock_customer(self, customer_id: str) -> Customer | None:
        """Read the customer and serialise intake and credit checks of it until the transaction ends.

        PostgreSQL: ``FOR NO KEY UPDATE``, which does not conflict with the key-share locks that
        foreign keys of concurrently inserted orders take (a plain ``FOR UPDATE`` would deadlock with
        them). SQLite takes the database write lock at BEGIN anyway.
        """
        row = self.session.execute(_LOCK_CUSTOMER, {"customer_id": customer_id}).first()
        return None if row is None else _customer(row)
