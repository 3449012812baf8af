"""Persistence of carriers and their last positions behind a small interface (both backends)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from orders_core.carriers.coverage import forget_fleet_coverage
from orders_core.carriers.model import Carrier, PositionFix, latest_per_carrier
from orders_core.carriers.tables import CarrierPositionRow, CarrierRow

# Rows per statement: keeps SQLite under its bound-parameter limit for any batch size.
CHUNK = 1_000


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _to_carrier(row: CarrierRow) -> Carrier:
    return Carrier(
        id=row.id,
        name=row.name,
        vehicle_type=row.vehicle_type,
        capacity_kg=row.capacity_kg,
        capacity_m3=row.capacity_m3,
        coverage=row.coverage,  # type: ignore[arg-type]
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        active=row.active,
        rate_per_km=Decimal(row.rate_per_km),
        base_fare=Decimal(row.base_fare),
        on_time_rate=row.on_time_rate,
        rating=row.rating,
    )


def _to_fix(row: CarrierPositionRow) -> PositionFix:
    return PositionFix(row.carrier_id, row.lat, row.lng, row.ts_s)


class CarrierRepository:
    """Carriers and positions in the relational store (the source of truth)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, carrier_id: str) -> Carrier | None:
        """One carrier, or None."""
        row = self.session.get(CarrierRow, carrier_id)
        return None if row is None else _to_carrier(row)

    def list_all(self) -> list[Carrier]:
        """Every carrier (the matcher warms its index from this at start)."""
        rows = self.session.scalars(select(CarrierRow).order_by(CarrierRow.id))
        return [_to_carrier(row) for row in rows]

    def existing_ids(self, carrier_ids: Collection[str]) -> set[str]:
        """Which of these ids are known carriers."""
        if not carrier_ids:
            return set()
        found: set[str] = set()
        for chunk in _chunks(sorted(set(carrier_ids))):
            found.update(self.session.scalars(select(CarrierRow.id).where(CarrierRow.id.in_(chunk))))
        return found

    def upsert(self, carrier: Carrier) -> bool:
        """Insert or replace a carrier; returns True when it was created."""
        now = datetime.now(UTC)
        row = self.session.get(CarrierRow, carrier.id, with_for_update=True)
        created = row is None
        if row is None:
            row = CarrierRow(id=carrier.id, created_at=now)
            self.session.add(row)
        row.name = carrier.name
        row.vehicle_type = carrier.vehicle_type
        row.capacity_kg = carrier.capacity_kg
        row.capacity_m3 = carrier.capacity_m3
        row.coverage = carrier.coverage
        row.webhook_url = carrier.webhook_url
        row.webhook_secret = carrier.webhook_secret
        row.active = carrier.active
        row.rate_per_km = carrier.rate_per_km
        row.base_fare = carrier.base_fare
        row.on_time_rate = carrier.on_time_rate
        row.rating = carrier.rating
        row.updated_at = now
        self.session.flush()
        forget_fleet_coverage(self.session)
        return created

    def any_active_fits(self, weight_kg: float, volume_m3: float) -> bool:
        """Whether some active carrier's capacities cover this load (else no range would find one)."""
        query = select(CarrierRow.id).where(
            CarrierRow.active.is_(True), CarrierRow.capacity_kg >= weight_kg, CarrierRow.capacity_m3 >= volume_m3
        )
        return self.session.execute(query.limit(1)).first() is not None

    def positions(self) -> list[PositionFix]:
        """The newest durable fix of every carrier that has one."""
        rows = self.session.scalars(select(CarrierPositionRow))
        return [_to_fix(row) for row in rows]

    def position_of(self, carrier_id: str) -> PositionFix | None:
        """The newest durable fix of one carrier."""
        row = self.session.get(CarrierPositionRow, carrier_id)
        return None if row is None else _to_fix(row)

    def save_positions(self, fixes: Sequence[PositionFix]) -> None:
        """Upsert the newest fix per carrier in one statement; an older fix never overwrites a newer one."""
        # Sorted by carrier id so that concurrent batches lock rows in the same order (no deadlocks).
        newest = sorted(latest_per_carrier(list(fixes)), key=lambda f: f.carrier_id)
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for start in range(0, len(newest), CHUNK):
            values = [
                {"carrier_id": f.carrier_id, "lat": f.lat, "lng": f.lng, "ts_s": f.ts_s}
                for f in newest[start : start + CHUNK]
            ]
            statement = insert(CarrierPositionRow).values(values)
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=[CarrierPositionRow.carrier_id],
                set_={"lat": excluded.lat, "lng": excluded.lng, "ts_s": excluded.ts_s},
                where=excluded.ts_s > CarrierPositionRow.ts_s,
            )
            self.session.execute(statement)

    def positions_of(self, carrier_ids: Collection[str]) -> dict[str, PositionFix]:
        """The newest durable fix of each of these carriers (absent when none)."""
        if not carrier_ids:
            return {}
        result: dict[str, PositionFix] = {}
        for chunk in _chunks(sorted(set(carrier_ids))):
            rows = self.session.scalars(select(CarrierPositionRow).where(CarrierPositionRow.carrier_id.in_(chunk)))
            result.update({row.carrier_id: _to_fix(row) for row in rows})
        return result
