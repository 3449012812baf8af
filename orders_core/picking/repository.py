"""Persistence of picking behind a small interface: SKU slots, pick tasks and steps (no commit here)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.clock import utc_now
from infra.pagination import PageRequest, keyset_page
from orders_core.picking.model import PickStep, PickTask
from orders_core.picking.tables import PickTaskRow, PickTaskStepRow, SkuSlotRow, WarehouseCartRow
from warehouse_picking.waves import CartLimits


class PickingRepository:
    """Reads and writes picking rows in the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- SKU slots ----------------------------------------------------------------------------
    def set_sku_slot(self, warehouse_id: str, sku: str, slot_id: str) -> None:
        """Upsert where ``sku`` is picked in ``warehouse_id``."""
        row = self.session.get(SkuSlotRow, (warehouse_id, sku))
        if row is None:
            self.session.add(SkuSlotRow(warehouse_id=warehouse_id, sku=sku, slot_id=slot_id, updated_at=utc_now()))
        else:
            row.slot_id = slot_id
            row.updated_at = utc_now()
        self.session.flush()

    def sku_slot(self, warehouse_id: str, sku: str) -> str | None:
        """The slot of ``sku``, or None."""
        row = self.session.get(SkuSlotRow, (warehouse_id, sku))
        return None if row is None else row.slot_id

    def sku_slots(self, warehouse_id: str, skus: Collection[str]) -> dict[str, str]:
        """Slots of the given SKUs that have one."""
        if not skus:
            return {}
        rows = self.session.scalars(
            select(SkuSlotRow).where(SkuSlotRow.warehouse_id == warehouse_id, SkuSlotRow.sku.in_(list(skus)))
        )
        return {row.sku: row.slot_id for row in rows}

    # --- carts --------------------------------------------------------------------------------
    def cart(self, warehouse_id: str) -> CartLimits | None:
        """The warehouse's stored cart, or None."""
        row = self.session.get(WarehouseCartRow, warehouse_id)
        return None if row is None else CartLimits(row.max_items, row.max_weight_kg, row.max_volume_m3)

    def set_cart(self, warehouse_id: str, cart: CartLimits) -> bool:
        """Store the warehouse's cart; answers whether it was the first one."""
        row = self.session.get(WarehouseCartRow, warehouse_id)
        created = row is None
        if row is None:
            row = WarehouseCartRow(warehouse_id=warehouse_id)
            self.session.add(row)
        row.max_items, row.max_weight_kg, row.max_volume_m3 = cart.max_items, cart.max_weight_kg, cart.max_volume_m3
        row.updated_at = utc_now()
        self.session.flush()
        return created

    # --- tasks --------------------------------------------------------------------------------
    def task_page(
        self,
        request: PageRequest,
        *,
        warehouse_id: str | None = None,
        statuses: Collection[str] | None = None,
        order_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> tuple[list[PickTask], str | None]:
        """A page of tasks by creation time, filtered; each with its steps (one query for all steps)."""
        query = select(PickTaskRow)
        if warehouse_id is not None:
            query = query.where(PickTaskRow.warehouse_id == warehouse_id)
        if statuses:
            query = query.where(PickTaskRow.status.in_(list(statuses)))
        if order_id is not None:
            query = query.where(
                PickTaskRow.id.in_(select(PickTaskStepRow.task_id).where(PickTaskStepRow.order_id == order_id))
            )
        if created_from is not None:
            query = query.where(PickTaskRow.created_at >= created_from)
        if created_to is not None:
            query = query.where(PickTaskRow.created_at < created_to)
        rows, next_cursor = keyset_page(self.session, query, (PickTaskRow.created_at, PickTaskRow.id), request)
        steps: dict[str, list[PickTaskStepRow]] = {row.id: [] for row in rows}
        if rows:
            for step in self.session.scalars(
                select(PickTaskStepRow)
                .where(PickTaskStepRow.task_id.in_(list(steps)))
                .order_by(PickTaskStepRow.task_id, PickTaskStepRow.step)
            ):
                steps[step.task_id].append(step)
        return [task_of(row, steps[row.id]) for row in rows], next_cursor

    def add_task(self, task: PickTaskRow, steps: Sequence[PickTaskStepRow]) -> None:
        """Insert a task and its steps."""
        self.session.add(task)
        self.session.flush()
        self.session.add_all(list(steps))
        self.session.flush()

    def task_row(self, task_id: str, *, for_update: bool = False) -> PickTaskRow | None:
        """The task row (locked for update on PostgreSQL when asked)."""
        statement = select(PickTaskRow).where(PickTaskRow.id == task_id)
        if for_update:
            statement = statement.with_for_update()
        return self.session.scalars(statement).first()

    def step_rows(self, task_id: str) -> list[PickTaskStepRow]:
        """Steps of a task in walking order."""
        return list(
            self.session.scalars(
                select(PickTaskStepRow).where(PickTaskStepRow.task_id == task_id).order_by(PickTaskStepRow.step)
            )
        )

    def step_rows_of_orders(self, order_ids: Collection[str]) -> list[PickTaskStepRow]:
        """Every step (of any task) picking for the given orders."""
        if not order_ids:
            return []
        return list(self.session.scalars(select(PickTaskStepRow).where(PickTaskStepRow.order_id.in_(list(order_ids)))))

    def orders_with_tasks(self, warehouse_id: str, order_ids: Collection[str]) -> set[str]:
        """Which of the given orders already have pick steps in a task of this warehouse."""
        if not order_ids:
            return set()
        rows = self.session.execute(
            select(PickTaskStepRow.order_id)
            .join(PickTaskRow, PickTaskRow.id == PickTaskStepRow.task_id)
            .where(PickTaskRow.warehouse_id == warehouse_id, PickTaskStepRow.order_id.in_(list(order_ids)))
            .distinct()
        )
        return {row[0] for row in rows}

    def task(self, task_id: str) -> PickTask | None:
        """The task with its steps, or None."""
        row = self.task_row(task_id)
        return None if row is None else task_of(row, self.step_rows(task_id))


def task_of(row: PickTaskRow, step_rows: Sequence[PickTaskStepRow]) -> PickTask:
    """The task view of a task row and its step rows (given in walking order)."""
    steps = tuple(
        PickStep(
            step=s.step,
            slot_id=s.slot_id,
            sku=s.sku,
            qty=s.qty,
            order_id=s.order_id,
            walk_to_next_m=s.walk_to_next_m,
            picked_qty=s.picked_qty,
            confirmed_at=s.confirmed_at,
        )
        for s in step_rows
    )
    return PickTask(
        id=row.id,
        warehouse_id=row.warehouse_id,
        status=row.status,
        distance_m=row.distance_m,
        walk_from_depot_m=row.walk_from_depot_m,
        method=row.method,
        created_at=row.created_at,
        completed_at=row.completed_at,
        steps=steps,
    )
