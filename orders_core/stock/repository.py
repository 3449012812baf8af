"""Reads and writes of the durable stock mirror, inside the caller's session (the use case's transaction)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from foundation.clock import utc_now
from orders_core.stock.locks import StockKey, StockSnapshot
from orders_core.stock.model import (
    ConsumeExceedsReservation,
    InsufficientStock,
    ReservationLine,
    Shortage,
    StockBelowReserved,
    StockLevel,
    merge_lines,
)
from orders_core.stock.tables import StockLevelRow, StockReservationRow

HELD, RELEASED, CONSUMED = "held", "released", "consumed"
LEVELS: Table = StockLevelRow.__table__  # type: ignore[assignment]
RESERVATIONS: Table = StockReservationRow.__table__  # type: ignore[assignment]
#: Raise ``reserved`` of many keys with one executemany (built once: no statement construction per order),
#: only where that many units are free: the database refuses an oversell even when the fast store let it
#: through (a key whose row is locked by another writer is re-checked on the new row version).
RAISE_RESERVED = (
    update(LEVELS)
    .where(
        LEVELS.c.warehouse_id == bindparam("key_wh"),
        LEVELS.c.sku == bindparam("key_sku"),
        LEVELS.c.on_hand - LEVELS.c.reserved >= bindparam("delta", type_=LEVELS.c.reserved.type),
    )
    .values(reserved=LEVELS.c.reserved + bindparam("delta", type_=LEVELS.c.reserved.type), updated_at=bindparam("at"))
)
LOWER_RESERVED = (
    update(LEVELS)
    .where(LEVELS.c.warehouse_id == bindparam("key_wh"), LEVELS.c.sku == bindparam("key_sku"))
    .values(reserved=LEVELS.c.reserved - bindparam("delta", type_=LEVELS.c.reserved.type))
)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows: one row as a plain execute (an executemany of one row costs a pipeline sync on
    psycopg), several as one executemany (multi-row VALUES would be cheaper on the wire, but SQLAlchemy
    cannot cache such statements: compiling each one costs more than the round trip it saves)."""
    if len(rows) == 1:
        session.execute(insert(table), rows[0])
    elif rows:
        session.execute(insert(table), rows)


class StockRepository:
    """The stock tables behind a small interface; keys are always touched in sorted order (no deadlocks)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> Any:
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(StockLevelRow)
        return sqlite.insert(StockLevelRow)

    def set_on_hand(self, warehouse_id: str, sku: str, on_hand: int) -> None:
        """Upsert the on-hand count; on PostgreSQL the row stays locked until the transaction ends.

        Refused (StockBelowReserved, nothing written) below the durable ``reserved``: the row's own guard,
        so the transaction stays usable (the CHECK constraint behind it would abort it)."""
        now = utc_now()
        insert_statement = self._insert().values(
            warehouse_id=warehouse_id, sku=sku, on_hand=on_hand, reserved=0, updated_at=now
        )
        statement = insert_statement.on_conflict_do_update(
            index_elements=["warehouse_id", "sku"],
            set_={"on_hand": on_hand, "updated_at": now},
            where=LEVELS.c.reserved <= on_hand,
        )
        # RETURNING, not rowcount: psycopg counts the conflicting row even when the update's WHERE refused it.
        if self.session.execute(statement.returning(LEVELS.c.on_hand)).first() is None:
            level = self.level(warehouse_id, sku)
            raise StockBelowReserved(
                f"on_hand of {sku} at {warehouse_id} cannot be {on_hand}: "
                f"{level.reserved if level else 0} are reserved by orders"
            )

    def warehouse_has_levels(self, warehouse_id: str) -> bool:
        """Whether any SKU has a level at the warehouse (a first level marks its fast-store keys complete)."""
        return bool(self.session.scalar(select(exists().where(StockLevelRow.warehouse_id == warehouse_id))))

    def level(self, warehouse_id: str, sku: str) -> StockLevel | None:
        """The mirrored level, or None when never set."""
        row = self.session.get(StockLevelRow, (warehouse_id, sku))
        return StockLevel.of(row.on_hand, row.reserved) if row is not None else None

    def all_levels(self) -> dict[StockKey, StockLevel]:
        """Every mirrored level."""
        rows = self.session.execute(select(StockLevelRow)).scalars()
        return {(row.warehouse_id, row.sku): StockLevel.of(row.on_hand, row.reserved) for row in rows}

    def keys_for_skus(self, skus: Collection[str]) -> list[StockKey]:
        """(warehouse, sku) pairs that have a level for any of ``skus``."""
        if not skus:
            return []
        rows = self.session.execute(
            select(StockLevelRow.warehouse_id, StockLevelRow.sku).where(StockLevelRow.sku.in_(list(skus)))
        )
        return [(wh, sku) for wh, sku in rows]

    def _shift(self, key: StockKey, *, on_hand: int = 0, reserved: int = 0) -> None:
        # Core UPDATE on the table: no ORM synchronisation on the hot path of every order.
        self.session.execute(
            update(LEVELS)
            .where(LEVELS.c.warehouse_id == key[0], LEVELS.c.sku == key[1])
            .values(on_hand=LEVELS.c.on_hand + on_hand, reserved=LEVELS.c.reserved + reserved, updated_at=utc_now())
        )

    def add_holds(self, order_id: str, lines: Sequence[ReservationLine]) -> datetime | None:
        """Raise the mirrored ``reserved`` counts (keys in sorted order) and record held lines; answers the
        rows' ``created_at`` (what ``holds_written`` looks for when a commit's outcome is unknown).

        All or nothing: a key without that many free units (the fast store drifted) raises
        InsufficientStock with nothing left written, so the caller's transaction stays usable."""
        merged = merge_lines(lines)
        if not merged:
            return None
        now = utc_now()
        params = [{"key_wh": line.warehouse_id, "key_sku": line.sku, "delta": line.qty, "at": now} for line in merged]
        raised = self.session.execute(RAISE_RESERVED, params[0] if len(params) == 1 else params)
        if raised.rowcount != len(params):  # type: ignore[attr-defined]
            self._refuse_holds(merged, now)
        insert_rows(
            self.session,
            RESERVATIONS,
            [
                {
                    "order_id": order_id,
                    "warehouse_id": line.warehouse_id,
                    "sku": line.sku,
                    "qty": line.qty,
                    "state": HELD,
                    "created_at": now,
                    "updated_at": now,
                }
                for line in merged
            ],
        )
        return now

    def _refuse_holds(self, merged: list[ReservationLine], at: datetime) -> None:
        """Undo the keys this call raised (stamped ``at``; still locked by this transaction) and name the rest."""
        rows = self.session.execute(
            select(LEVELS.c.warehouse_id, LEVELS.c.sku, LEVELS.c.on_hand, LEVELS.c.reserved, LEVELS.c.updated_at).where(
                LEVELS.c.sku.in_({line.sku for line in merged})
            )
        ).all()
        found = {(r.warehouse_id, r.sku): r for r in rows}
        raised = [line for line in merged if (row := found.get((line.warehouse_id, line.sku))) and row.updated_at == at]
        if raised:
            self.session.execute(
                LOWER_RESERVED, [{"key_wh": r.warehouse_id, "key_sku": r.sku, "delta": r.qty} for r in raised]
            )
        shortages = []
        for line in merged:
            if line in raised:
                continue
            row = found.get((line.warehouse_id, line.sku))
            free = row.on_hand - row.reserved if row is not None else 0
            shortages.append(Shortage(line.warehouse_id, line.sku, line.qty, max(free, 0)))
        raise InsufficientStock(shortages)

    def holds_written(self, order_id: str, at: datetime) -> bool:
        """Whether the rows ``add_holds`` stamped ``at`` for the order are durable (read in a new session)."""
        query = select(exists().where(StockReservationRow.order_id == order_id, StockReservationRow.created_at == at))
        return bool(self.session.scalar(query))

    def _held_rows(self, order_id: str, *, for_update: bool = True) -> list[StockReservationRow]:
        statement = (
            select(StockReservationRow)
            .where(StockReservationRow.order_id == order_id, StockReservationRow.state == HELD)
            .order_by(StockReservationRow.warehouse_id, StockReservationRow.sku, StockReservationRow.id)
        )
        if for_update:
            statement = statement.with_for_update()
        return list(self.session.execute(statement).scalars())

    def held_lines(self, order_id: str) -> list[ReservationLine]:
        """What the order holds according to the durable mirror."""
        return merge_lines(
            ReservationLine(r.warehouse_id, r.sku, r.qty) for r in self._held_rows(order_id, for_update=False)
        )

    def release_order(self, order_id: str) -> list[ReservationLine]:
        """Mark every held row of the order released and lower ``reserved``; answers what was released."""
        rows = self._held_rows(order_id)
        now = utc_now()
        for row in rows:
            row.state = RELEASED
            row.updated_at = now
        released = merge_lines(ReservationLine(r.warehouse_id, r.sku, r.qty) for r in rows)
        for line in released:
            self._shift((line.warehouse_id, line.sku), reserved=-line.qty)
        self.session.flush()
        return released

    def release_lines(self, order_id: str, lines: Sequence[ReservationLine]) -> list[ReservationLine]:
        """Release part of the order's holds (an amendment that needs less): held rows are split where a
        line takes part of one; answers what was released (at most what is held per key)."""
        by_key = self._held_by_key(order_id)
        now = utc_now()
        released: list[ReservationLine] = []
        for line in merge_lines(lines):
            taken = self._move_held(order_id, by_key.get((line.warehouse_id, line.sku), []), line, RELEASED, now)
            if taken:
                self._shift((line.warehouse_id, line.sku), reserved=-taken)
                released.append(ReservationLine(line.warehouse_id, line.sku, taken))
        self.session.flush()
        return released

    def _held_by_key(self, order_id: str) -> dict[StockKey, list[StockReservationRow]]:
        """The order's held rows (locked), grouped by warehouse and SKU."""
        by_key: dict[StockKey, list[StockReservationRow]] = {}
        for row in self._held_rows(order_id):
            by_key.setdefault((row.warehouse_id, row.sku), []).append(row)
        return by_key

    def _move_held(
        self, order_id: str, rows: list[StockReservationRow], line: ReservationLine, state: str, now: datetime
    ) -> int:
        """Move up to ``line.qty`` units of ``rows`` (held, same key) to ``state``, splitting the last row
        touched; answers how many moved."""
        remaining = line.qty
        for row in rows:
            if remaining == 0:
                break
            take = min(row.qty, remaining)
            remaining -= take
            row.updated_at = now
            if take == row.qty:
                row.state = state
            else:
                row.qty -= take
                self.session.add(
                    StockReservationRow(
                        order_id=order_id,
                        warehouse_id=line.warehouse_id,
                        sku=line.sku,
                        qty=take,
                        state=state,
                        created_at=row.created_at,
                        updated_at=now,
                    )
                )
        return line.qty - remaining

    def return_consumed(self, order_id: str) -> list[ReservationLine]:
        """Goods the order consumed (picked) go back on hand: the rows become ``released``, as if never
        picked; answers what came back."""
        rows = list(
            self.session.execute(
                select(StockReservationRow)
                .where(StockReservationRow.order_id == order_id, StockReservationRow.state == CONSUMED)
                .order_by(StockReservationRow.warehouse_id, StockReservationRow.sku, StockReservationRow.id)
                .with_for_update()
            ).scalars()
        )
        now = utc_now()
        for row in rows:
            row.state = RELEASED
            row.updated_at = now
        returned = merge_lines(ReservationLine(r.warehouse_id, r.sku, r.qty) for r in rows)
        for line in returned:
            self._shift((line.warehouse_id, line.sku), on_hand=line.qty)
        self.session.flush()
        return returned

    def add_on_hand(self, warehouse_id: str, sku: str, qty: int) -> None:
        """Goods arrive: raise on_hand by ``qty`` (a level is created when none was set)."""
        now = utc_now()
        statement = (
            self._insert()
            .values(warehouse_id=warehouse_id, sku=sku, on_hand=qty, reserved=0, updated_at=now)
            .on_conflict_do_update(
                index_elements=["warehouse_id", "sku"],
                set_={"on_hand": LEVELS.c.on_hand + qty, "updated_at": now},
            )
        )
        self.session.execute(statement)

    def consume(self, order_id: str, picked: Sequence[ReservationLine]) -> list[ReservationLine]:
        """Turn held quantities into consumed ones (splitting rows), lowering on_hand and reserved.

        Raises ConsumeExceedsReservation (before writing anything) when a line is not fully held.
        """
        wanted = merge_lines(picked)
        by_key = self._held_by_key(order_id)
        for line in wanted:
            held = sum(r.qty for r in by_key.get((line.warehouse_id, line.sku), []))
            if held < line.qty:
                raise ConsumeExceedsReservation(
                    f"order {order_id} holds {held} of {line.sku} at {line.warehouse_id}, cannot consume {line.qty}"
                )
        now = utc_now()
        for line in wanted:
            self._move_held(order_id, by_key[(line.warehouse_id, line.sku)], line, CONSUMED, now)
            self._shift((line.warehouse_id, line.sku), on_hand=-line.qty, reserved=-line.qty)
        self.session.flush()
        return wanted

    def reservations(self, order_id: str) -> list[tuple[ReservationLine, str]]:
        """Every reservation row of an order with its state (audit, tests)."""
        rows = self.session.execute(
            select(StockReservationRow).where(StockReservationRow.order_id == order_id).order_by(StockReservationRow.id)
        ).scalars()
        return [(ReservationLine(r.warehouse_id, r.sku, r.qty), r.state) for r in rows]

    def held_totals(self) -> dict[StockKey, int]:
        """Sum of held quantities per key (consistency checks)."""
        totals: dict[StockKey, int] = {}
        for row in self.session.execute(select(StockReservationRow).where(StockReservationRow.state == HELD)).scalars():
            key = (row.warehouse_id, row.sku)
            totals[key] = totals.get(key, 0) + row.qty
        return totals

    def snapshot(self) -> StockSnapshot:
        """On-hand counts and held lines per order: everything a fast store needs to be rebuilt."""
        snapshot = StockSnapshot()
        for row in self.session.execute(select(StockLevelRow)).scalars():
            snapshot.on_hand[(row.warehouse_id, row.sku)] = row.on_hand
        held = self.session.execute(select(StockReservationRow).where(StockReservationRow.state == HELD)).scalars()
        for r in held:
            snapshot.holds.setdefault(r.order_id, []).append(ReservationLine(r.warehouse_id, r.sku, r.qty))
        return snapshot
