"""SQL of imports: runs, report rows, source keys, waiting records, the master-data snapshot and the bulk
insert of historical orders (one executemany per table for a batch of whole records)."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from shapely import union_all
from shapely.prepared import prep
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Numeric, String, Table, func, select, update
from sqlalchemy.engine import Dialect
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


#: An order's timestamps repeat (created_at, first_placed_at, its timeline's), a batch's ``now`` in every
#: row: each distinct one is formatted once.
_sqlite_utc_text_cached = lru_cache(maxsize=8192)(sqlite_utc_text)


def _sqlite_processor(column_type: Any, processor: Any) -> Any:
    if isinstance(column_type, GeometryType):
        return _geometry_processor(processor)
    if isinstance(column_type, UtcDateTime):
        return _sqlite_utc_text_cached
    return processor


def _geometry_processor(processor: Any) -> Any:
    def convert(value: Any) -> Any:
        return point_wkb(value) if isinstance(value, LngLat) else processor(value)

    return convert


COUNTERS = ("accepted", "held", "rejected", "deferred", "duplicate")
SOURCE_KEY_COLUMNS = ("system", "entity", "source_key", "run_id", "record_no", "entity_id", "created_at")
RECORD_COLUMNS = ("run_id", "record_no", "source_key", "outcome", "reason", "warnings", "entity_id", "raw")


RowEncoder = Callable[[Sequence[Any]], Any]
"""One row (values in a fixed column order) -> what the backend's bulk write takes: a tuple of sqlite3
parameters, or a line of PostgreSQL COPY text."""


def row_encoder(dialect: Dialect, table: Table, columns: Sequence[str]) -> RowEncoder:
    """How to encode rows of ``columns`` of ``table`` for ``dialect`` (pure: the mapping worker encodes the
    rows of a batch ahead, so the writing process only hands them to the database)."""
    key = (dialect.name, table.name, tuple(columns))
    encoder = _ENCODERS.get(key)
    if encoder is None:
        if dialect.name == "postgresql":
            encoder = _copy_encoder([_copy_formatter(table.c[name].type) for name in columns])
        else:
            encoder = _sqlite_encoder(dialect, table, columns)
        _ENCODERS[key] = encoder
    return encoder


_ENCODERS: dict[tuple[str, str, tuple[str, ...]], RowEncoder] = {}


def _sqlite_encoder(dialect: Dialect, table: Table, columns: Sequence[str]) -> RowEncoder:
    # Only the columns whose type converts (timestamps, money, JSON, geometry) go through SQLAlchemy's
    # processor; text, integers, floats and booleans are bound by sqlite3 as they are.
    converting = [
        (index, _sqlite_processor(table.c[name].type, processor))
        for index, name in enumerate(columns)
        if not isinstance(table.c[name].type, _PLAIN_TYPES)
        and (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]

    def encode(row: Sequence[Any]) -> tuple[Any, ...]:
        if not converting:
            return tuple(row)
        record = list(row)
        for index, processor in converting:
            value = record[index]
            if value is not None:
                record[index] = processor(value)
        return tuple(record)

    return encode


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    text = value if type(value) is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # rare: ten times faster than translating all
        return text.translate(_COPY_ESCAPES)
    return text


@lru_cache(maxsize=8192)
def _copy_timestamp(value: datetime) -> str:
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _copy_json(value: Any) -> str:
    return _copy_text(json.dumps(value, ensure_ascii=False))


def _copy_geometry(value: Any) -> str:
    if isinstance(value, LngLat):
        return f"SRID=4326;POINT({value.lng!r} {value.lat!r})"
    return f"SRID=4326;{value.wkt}"


def _copy_formatter(column_type: Any) -> Callable[[Any], str]:
    """The COPY text of a non-NULL value of a column of this type (what psycopg's ``write_row`` sends)."""
    if isinstance(column_type, GeometryType):
        return _copy_geometry
    if isinstance(column_type, JSON):
        return _copy_json
    if isinstance(column_type, (UtcDateTime, DateTime)):
        return _copy_timestamp
    if isinstance(column_type, Boolean):
        return lambda value: "t" if value else "f"
    if isinstance(column_type, Float):
        return repr
    if isinstance(column_type, (Integer, Numeric)):
        return str
    return _copy_text


def _copy_encoder(formatters: list[Callable[[Any], str]]) -> RowEncoder:
    pairs = list(enumerate(formatters))

    def encode(row: Sequence[Any]) -> str:
        return "\t".join(["\\N" if (value := row[index]) is None else text(value) for index, text in pairs]) + "\n"

    return encode


def insert_encoded(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Any]) -> None:
    """Insert rows encoded by ``row_encoder``: one COPY on PostgreSQL, one executemany of the sqlite3
    driver on SQLite. Both run on the session's connection, inside its transaction (a failure rolls back
    with it); nothing is converted here (SQLAlchemy's own executemany costs more than the database's work
    for the millions of rows of a year of orders)."""
    if not rows:
        return
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    if connection.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            copy.write("".join(rows))
        return
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts that all have the same keys) as ``insert_encoded`` does."""
    if not rows:
        return
    columns = list(rows[0])
    encode = row_encoder(session.connection().dialect, table, columns)
    getter = itemgetter(*columns)
    if len(columns) == 1:
        insert_encoded(session, table, columns, [encode([row[columns[0]]]) for row in rows])
        return
    insert_encoded(session, table, columns, [encode(getter(row)) for row in rows])


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

    def add_source_keys(self, rows: Sequence[Sequence[Any]]) -> None:
        """Record imported source keys, tuples in ``SOURCE_KEY_COLUMNS`` order (the unique key makes a
        concurrent double import fail whole)."""
        encode = row_encoder(self.session.connection().dialect, SOURCE_KEYS, SOURCE_KEY_COLUMNS)
        insert_encoded(self.session, SOURCE_KEYS, SOURCE_KEY_COLUMNS, [encode(row) for row in rows])

    def add_records(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Append the run's report rows (dicts with the other ``RECORD_COLUMNS``)."""
        encode = row_encoder(self.session.connection().dialect, RECORDS, RECORD_COLUMNS)
        values = itemgetter(*RECORD_COLUMNS[1:])
        insert_encoded(self.session, RECORDS, RECORD_COLUMNS, [encode((run_id, *values(row))) for row in rows])

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
        orders: list[Any],
        lines: list[Any],
        timeline: list[Any],
        exceptions: list[dict[str, Any]],
        *,
        columns: tuple[Sequence[str], Sequence[str], Sequence[str]],
    ) -> None:
        """Bulk insert whole orders (parents before children), one statement per table: the orders, lines
        and timeline rows encoded (``row_encoder``) for ``columns``, the desk exceptions as dicts."""
        connection = self.session.connection()
        if connection.dialect.name == "sqlite" and orders:
            # Random order ids land all over the tables' B-trees: SQLite's default 2 MB page cache thrashes
            # once a year of orders is in (the writes then cost several times more). This connection's only.
            connection.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        order_columns, line_columns, timeline_columns = columns
        insert_encoded(self.session, ORDERS, order_columns, orders)
        insert_encoded(self.session, ORDER_LINES, line_columns, lines)
        insert_encoded(self.session, TIMELINE, timeline_columns, timeline)
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
