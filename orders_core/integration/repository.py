"""SQL of imports: runs, report rows, source keys, waiting records, the master-data snapshot and the bulk
insert of historical orders (one executemany per table for a batch of whole records)."""

from __future__ import annotations

import json
import struct
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from shapely import union_all
from shapely.prepared import prep
from sqlalchemy import JSON, Boolean, Connection, Float, Integer, String, Table, func, select, update
from sqlalchemy.orm import Session

from foundation.clock import utc_now
from foundation.columns import UtcDateTime
from infra.geometry import GeometryType
from orders_core.carriers.tables import CarrierRow
from orders_core.integration.mapping import MasterIndex
from orders_core.integration.tables import (
    ImportPendingRow,
    ImportRecordRow,
    ImportRunRow,
    ImportSourceKeyRow,
    SkuPackSizeRow,
)
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.orders.repository import ORDER_LINES, ORDERS, TIMELINE
from orders_core.orders.tables import ExceptionRow

EXCEPTIONS: Table = ExceptionRow.__table__  # type: ignore[assignment]
RECORDS: Table = ImportRecordRow.__table__  # type: ignore[assignment]
SOURCE_KEYS: Table = ImportSourceKeyRow.__table__  # type: ignore[assignment]
PENDING: Table = ImportPendingRow.__table__  # type: ignore[assignment]

_PLAIN_TYPES = (String, Integer, Float, Boolean)
_SQLITE_CACHE_KIB = 128 * 1024
_WKB_POINT = struct.Struct("<BIdd")  # little-endian WKB of a 2-D point: what shapely.to_wkb writes


class LngLat(NamedTuple):
    """A point for a geometry column, written without building a shapely object (a year of orders)."""

    lng: float
    lat: float


def point_wkb(point: LngLat) -> bytes:
    """The WKB that shapely writes for ``Point(lng, lat)`` (SQLite stores geometries as WKB)."""
    return _WKB_POINT.pack(1, 1, point.lng, point.lat)


def sqlite_utc_text(value: datetime) -> str:
    """The text SQLite stores for a ``UtcDateTime`` (UTC, no offset, microseconds), made in one C call
    instead of the type's bind step and the dialect's own formatting (a year of orders has millions)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_processor(column_type: Any, processor: Any) -> Any:
    if isinstance(column_type, GeometryType):
        return _geometry_processor(processor)
    if isinstance(column_type, UtcDateTime):
        return sqlite_utc_text
    return processor


def _geometry_processor(processor: Any) -> Any:
    def convert(value: Any) -> Any:
        return point_wkb(value) if isinstance(value, LngLat) else processor(value)

    return convert


COUNTERS = ("accepted", "held", "rejected", "deferred", "duplicate")


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys: COPY on PostgreSQL, one executemany of pre-converted
    tuples on SQLite. Both run on the session's connection, inside its transaction (a failure rolls back
    with it). SQLAlchemy's own executemany converts every parameter through its generic machinery, which
    costs more than the database's work for the millions of rows of a year of orders."""
    if not rows:
        return
    columns = list(rows[0])
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        _copy(connection, table, columns, rows)
        return
    # Only the columns whose type converts (timestamps, money, JSON, geometry) go through SQLAlchemy's
    # processor; text, integers, floats and booleans are bound by sqlite3 as they are.
    converting = [
        (index, _sqlite_processor(table.c[name].type, processor))
        for index, name in enumerate(columns)
        if not isinstance(table.c[name].type, _PLAIN_TYPES)
        and (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    getter = itemgetter(*columns)
    values = []
    for row in rows:
        record = list(getter(row)) if len(columns) > 1 else [row[columns[0]]]
        for index, processor in converting:
            value = record[index]
            if value is not None:
                record[index] = processor(value)
        values.append(tuple(record))
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values)


def _copy(connection: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY of the rows (geometries as EWKT, JSON as text) on the session's own connection."""
    kinds = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, GeometryType):
            kinds.append("geometry")
        elif isinstance(column_type, JSON):
            kinds.append("json")
        else:
            kinds.append("")
    raw = connection.connection.driver_connection
    assert raw is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row([_copy_value(row[name], kind) for name, kind in zip(columns, kinds, strict=True)])


def _copy_value(value: Any, kind: str) -> Any:
    if value is None or not kind:
        return value
    if kind == "geometry":
        if isinstance(value, LngLat):
            return f"SRID=4326;POINT({value.lng!r} {value.lat!r})"
        return f"SRID=4326;{value.wkt}"
    return json.dumps(value, ensure_ascii=False)


class ImportRepository:
    """Reads and writes the import tables (and bulk-inserts imported orders) in the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- master data snapshot ----------------------------------------------------------------------
    def master_index(self) -> MasterIndex:
        """Every customer (with its registered location), SKU price, warehouse, pack size and the union of
        active carriers' coverages (None when one active carrier covers everywhere or none has coverage)."""
        customers = {
            row.id: (row.lat, row.lng)
            for row in self.session.execute(select(CustomerRow.id, CustomerRow.lat, CustomerRow.lng))
        }
        prices = {
            row.sku: Decimal(row.unit_price) for row in self.session.execute(select(SkuRow.sku, SkuRow.unit_price))
        }
        warehouses = set(self.session.scalars(select(WarehouseRow.id)))
        packs = {row.sku: row.pieces_per_case for row in self.session.scalars(select(SkuPackSizeRow))}
        coverages = list(self.session.scalars(select(CarrierRow.coverage).where(CarrierRow.active.is_(True))))
        coverage = None
        if coverages and all(geometry is not None for geometry in coverages):
            coverage = prep(union_all(coverages))
        return MasterIndex(
            customers=customers, sku_prices=prices, warehouses=warehouses, pack_sizes=packs, coverage=coverage
        )

    # ---- runs ---------------------------------------------------------------------------------------
    def resumable_run(self, profile: str, file_sha256: str) -> ImportRunRow | None:
        """The latest unfinished run of this profile over these very bytes, if any."""
        return self.session.scalars(
            select(ImportRunRow)
            .where(
                ImportRunRow.profile == profile,
                ImportRunRow.file_sha256 == file_sha256,
                ImportRunRow.status.in_(("running", "interrupted")),
            )
            .order_by(ImportRunRow.started_at.desc())
            .limit(1)
        ).first()

    def run_by_idempotency_key(self, key: str) -> ImportRunRow | None:
        """The run an upload with this Idempotency-Key started."""
        return self.session.scalars(select(ImportRunRow).where(ImportRunRow.idempotency_key == key)).first()

    def get_run(self, run_id: str) -> ImportRunRow | None:
        """A run by id."""
        return self.session.get(ImportRunRow, run_id)

    def add_run(self, row: ImportRunRow) -> None:
        """Store a new run."""
        self.session.add(row)
        self.session.flush()

    def advance_run(
        self, run_id: str, last_record: int | None, counts: dict[str, int], status: str | None = None
    ) -> None:
        """Move the run's committed offset to ``last_record`` (None: leave it) and add ``counts`` (in the
        batch's transaction)."""
        values: dict[str, Any] = {"updated_at": utc_now()}
        if last_record is not None:
            values["last_record"] = last_record
        for name in COUNTERS:
            if counts.get(name):
                values[name] = getattr(ImportRunRow, name) + counts[name]
        if status is not None:
            values["status"] = status
        self.session.execute(update(ImportRunRow).where(ImportRunRow.id == run_id).values(**values))

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        """Mark a run finished, interrupted or failed."""
        now = utc_now()
        self.session.execute(
            update(ImportRunRow)
            .where(ImportRunRow.id == run_id)
            .values(status=status, error=error, updated_at=now, finished_at=now if status == "finished" else None)
        )

    # ---- source keys and report --------------------------------------------------------------------
    def imported_keys(self, system: str, entity: str, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` were imported already (by any run of this system)."""
        if not keys:
            return set()
        return set(
            self.session.scalars(
                select(ImportSourceKeyRow.source_key).where(
                    ImportSourceKeyRow.system == system,
                    ImportSourceKeyRow.entity == entity,
                    ImportSourceKeyRow.source_key.in_(list(keys)),
                )
            )
        )

    def waiting_keys(self, system: str, entity: str, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` wait already as held or deferred records."""
        if not keys:
            return set()
        return set(
            self.session.scalars(
                select(ImportPendingRow.source_key).where(
                    ImportPendingRow.system == system,
                    ImportPendingRow.entity == entity,
                    ImportPendingRow.status.in_(("held", "deferred")),
                    ImportPendingRow.source_key.in_(list(keys)),
                )
            )
        )

    def add_source_keys(self, rows: list[dict[str, Any]]) -> None:
        """Record imported source keys (the unique key makes a concurrent double import fail whole)."""
        _insert(self.session, SOURCE_KEYS, rows)

    def add_records(self, rows: list[dict[str, Any]]) -> None:
        """Append report rows."""
        _insert(self.session, RECORDS, rows)

    def report(
        self, run_id: str, *, after_id: int = 0, limit: int = 100, outcome: str | None = None
    ) -> list[ImportRecordRow]:
        """The run's report rows in record order, keyset-paginated by row id."""
        query = select(ImportRecordRow).where(ImportRecordRow.run_id == run_id, ImportRecordRow.id > after_id)
        if outcome is not None:
            query = query.where(ImportRecordRow.outcome == outcome)
        return list(self.session.scalars(query.order_by(ImportRecordRow.id).limit(limit)))

    def count_records(self, run_id: str) -> int:
        """How many report rows the run has."""
        return int(
            self.session.scalar(
                select(func.count()).select_from(ImportRecordRow).where(ImportRecordRow.run_id == run_id)
            )
            or 0
        )

    # ---- waiting records ---------------------------------------------------------------------------
    def add_pending(self, rows: list[dict[str, Any]]) -> None:
        """Store held (without an order) and deferred records with their raw rows."""
        _insert(self.session, PENDING, rows)

    def deferred(self, limit: int = 10_000) -> list[ImportPendingRow]:
        """Deferred records, oldest first."""
        return list(
            self.session.scalars(
                select(ImportPendingRow)
                .where(ImportPendingRow.status == "deferred")
                .order_by(ImportPendingRow.id)
                .limit(limit)
            )
        )

    def resolve_pending(self, pending_id: int, status: str) -> None:
        """Mark a waiting record imported, held or rejected after a retry."""
        self.session.execute(
            update(ImportPendingRow)
            .where(ImportPendingRow.id == pending_id)
            .values(status=status, resolved_at=utc_now())
        )

    # ---- writes of imported entities ---------------------------------------------------------------
    def insert_orders(
        self,
        orders: list[dict[str, Any]],
        lines: list[dict[str, Any]],
        timeline: list[dict[str, Any]],
        exceptions: list[dict[str, Any]],
    ) -> None:
        """Bulk insert whole orders (parents before children), one executemany per table."""
        connection = self.session.connection()
        if connection.dialect.name == "sqlite" and orders:
            # Random order ids land all over the tables' B-trees: SQLite's default 2 MB page cache thrashes
            # once a year of orders is in (the writes then cost several times more). This connection's only.
            connection.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        _insert(self.session, ORDERS, orders)
        _insert(self.session, ORDER_LINES, lines)
        _insert(self.session, TIMELINE, timeline)
        _insert(self.session, EXCEPTIONS, exceptions)

    def upsert_pack_size(self, sku: str, pieces_per_case: int) -> None:
        """Set a SKU's pieces per case."""
        row = self.session.get(SkuPackSizeRow, sku)
        if row is None:
            self.session.add(SkuPackSizeRow(sku=sku, pieces_per_case=pieces_per_case))
        else:
            row.pieces_per_case = pieces_per_case
        self.session.flush()


def run_row(
    run_id: str,
    *,
    profile: str,
    system: str,
    target: str,
    file_name: str,
    file_sha256: str,
    file_bytes: int,
    idempotency_key: str | None,
    now: datetime,
) -> ImportRunRow:
    """A new run row with zero counts."""
    return ImportRunRow(
        id=run_id,
        profile=profile,
        system=system,
        target=target,
        file_name=file_name[-300:],
        file_sha256=file_sha256,
        file_bytes=file_bytes,
        status="running",
        dry_run=False,
        last_record=0,
        accepted=0,
        held=0,
        rejected=0,
        deferred=0,
        duplicate=0,
        idempotency_key=idempotency_key,
        started_at=now,
        updated_at=now,
    )


def report_dicts(rows: Sequence[ImportRecordRow]) -> list[dict[str, Any]]:
    """Report rows as plain dicts (API, CSV)."""
    return [
        {
            "record_no": row.record_no,
            "source_key": row.source_key,
            "outcome": row.outcome,
            "reason": row.reason,
            "warnings": row.warnings or [],
            "entity_id": row.entity_id,
        }
        for row in rows
    ]
