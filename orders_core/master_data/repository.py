"""Persistence of master data behind a small interface: rows in, plain dataclasses out."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from orders_core.master_data.model import Customer, Sku, Warehouse
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow, utc_now


def _warehouse(row: WarehouseRow) -> Warehouse:
    return Warehouse(id=row.id, name=row.name, lat=row.lat, lng=row.lng, layout=row.layout)


def _sku(row: SkuRow) -> Sku:
    return Sku(
        sku=row.sku,
        name=row.name,
        unit_price=Decimal(row.unit_price),
        weight_kg=row.weight_kg,
        volume_m3=row.volume_m3,
    )


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        credit_limit=Decimal(row.credit_limit),
        temporary_credit_limit=None if row.temporary_credit_limit is None else Decimal(row.temporary_credit_limit),
        overdue_amount=Decimal(row.overdue_amount),
        lat=row.lat,
        lng=row.lng,
        prepaid=row.prepaid,
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
        """warehouse id -> (lat, lng), one light query (allocation runs this for every order)."""
        rows = self.session.execute(select(WarehouseRow.id, WarehouseRow.lat, WarehouseRow.lng))
        return {wid: (lat, lng) for wid, lat, lng in rows}

    def get_sku(self, sku: str) -> Sku | None:
        """The catalogue item, or None."""
        row = self.session.get(SkuRow, sku)
        return None if row is None else _sku(row)

    def get_skus(self, ids: Collection[str]) -> dict[str, Sku]:
        """The known items among ``ids`` (absent ones are simply missing from the answer)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        table = SkuRow.__table__
        rows = self.session.execute(
            select(table.c.sku, table.c.name, table.c.unit_price, table.c.weight_kg, table.c.volume_m3).where(
                table.c.sku.in_(wanted)
            )
        )
        return {
            r.sku: Sku(
                sku=r.sku, name=r.name, unit_price=Decimal(r.unit_price), weight_kg=r.weight_kg, volume_m3=r.volume_m3
            )
            for r in rows
        }

    def get_customer(self, customer_id: str) -> Customer | None:
        """The customer, or None."""
        row = self.session.get(CustomerRow, customer_id)
        return None if row is None else _customer(row)

    # --- upserts (True when created) ------------------------------------------------------------
    def upsert_warehouse(self, warehouse: Warehouse) -> bool:
        """Create or replace a warehouse; answers whether it was created."""
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
        row.overdue_amount = customer.overdue_amount
        row.prepaid = customer.prepaid
        row.lat = customer.lat
        row.lng = customer.lng
        row.updated_at = now
        self.session.flush()
        return created

    def set_temporary_credit_limit(self, customer_id: str, limit: Decimal | None) -> None:
        """Grant (or clear) a temporary credit limit, e.g. when a dispatcher approves a credit hold."""
        row = self.session.get(CustomerRow, customer_id)
        if row is not None:
            row.temporary_credit_limit = limit
            row.updated_at = utc_now()

    def lock_customer(self, customer_id: str) -> Customer | None:
        """Read the customer and serialise intake and credit checks of it until the transaction ends.

        PostgreSQL: ``FOR NO KEY UPDATE``, which does not conflict with the key-share locks that
        foreign keys of concurrently inserted orders take (a plain ``FOR UPDATE`` would deadlock with
        them). SQLite takes the database write lock at BEGIN anyway.
        """
        table = CustomerRow.__table__
        row = self.session.execute(
            select(
                table.c.id,
                table.c.name,
                table.c.credit_limit,
                table.c.temporary_credit_limit,
                table.c.overdue_amount,
                table.c.lat,
                table.c.lng,
                table.c.prepaid,
            )
            .where(table.c.id == customer_id)
            .with_for_update(key_share=True)
        ).first()
        if row is None:
            return None
        return Customer(
            id=row.id,
            name=row.name,
            credit_limit=Decimal(row.credit_limit),
            temporary_credit_limit=None if row.temporary_credit_limit is None else Decimal(row.temporary_credit_limit),
            overdue_amount=Decimal(row.overdue_amount),
            lat=row.lat,
            lng=row.lng,
            prepaid=bool(row.prepaid),
        )
