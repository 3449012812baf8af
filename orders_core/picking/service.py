"""Picking use cases, each in its own unit of work: routes for a warehouse, SKU slots, waves of pick tasks,
confirmations.

This module is the persistence/use-case edge of picking, so unlike the engines beside it (layouts,
routes, solvers, waves) it talks to the order pipeline: it reads allocated lines and moves orders
``allocated -> picking -> loaded`` through ``orders_core.orders.lifecycle``, consumes stock and opens
``short_pick`` exceptions.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput, NotFound
from infra.pagination import Page, PageRequest
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import AllocatedLine, OrderStatus
from orders_core.orders.recovery.strategies import short_pick_strategies
from orders_core.orders.repository import OrderRepository
from orders_core.picking.model import CreateWave, PickConfirmation, PickTask
from orders_core.picking.repository import PickingRepository, task_of
from orders_core.picking.tables import PickTaskRow, PickTaskStepRow
from orders_core.stock.model import ReservationLine
from orders_core.stock.service import StockService
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from warehouse_picking.layouts import Layout, UnknownSlots, parse_layout
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.routes import PickRoute, pick_route
from warehouse_picking.waves import Batch, CartLimits, LeftOut, PickItem, batch_orders, plan_wave


class WarehouseNotFound(NotFound):
    """No warehouse with that id."""

    code = "warehouse_not_found"


class SkuNotFound(NotFound):
    """No SKU with that id in the catalogue."""

    code = "sku_not_found"


class WarehouseHasNoLayout(InvalidInput):
    """Routing needs the warehouse's layout, and none was stored."""

    code = "warehouse_has_no_layout"


class SkusWithoutSlot(InvalidInput):
    """A wave needs a slot for every SKU it picks."""

    code = "sku_without_slot"


class CartNotConfigured(InvalidInput):
    """A wave needs a cart: in the request or stored for the warehouse."""

    code = "cart_not_configured"


class PickTaskNotFound(NotFound):
    """No pick task with that id."""

    code = "pick_task_not_found"


class InvalidPick(InvalidInput):
    """A confirmation names an unknown step or a quantity outside 0..qty."""

    code = "invalid_pick"


class PickAlreadyConfirmed(Conflict):
    """A step was already confirmed with another quantity."""

    code = "pick_already_confirmed"


def load_layout(uow: UnitOfWork, warehouse_id: str) -> Layout:
    """The parsed layout of a warehouse (404 unknown warehouse, 422 no layout or an invalid one)."""
    warehouse = MasterDataRepository(uow.session).get_warehouse(warehouse_id)
    if warehouse is None:
        raise WarehouseNotFound(f"no warehouse with id {warehouse_id!r}")
    if not warehouse.layout:
        raise WarehouseHasNoLayout(f"warehouse {warehouse_id!r} has no layout; PUT one with the warehouse first")
    return parse_layout(warehouse.layout)


def plan_pick_route(
    new_uow: UnitOfWorkFactory,
    warehouse_id: str,
    slot_ids: Sequence[str],
    *,
    method: str = "auto",
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> PickRoute:
    """Shortest closed walk from the warehouse's depot through the slots (exact where affordable).

    The layout is read in a short transaction; the solver runs after it ends, holding no connection.
    """
    with new_uow() as uow:
        layout = load_layout(uow, warehouse_id)
    return pick_route(layout, slot_ids, method=method, time_limit_s=time_limit_s, params=params)


def assign_sku_slot(new_uow: UnitOfWorkFactory, warehouse_id: str, sku: str, slot_id: str) -> None:
    """Record where ``sku`` is picked in a warehouse (the slot must exist in its layout)."""
    with new_uow() as uow:
        layout = load_layout(uow, warehouse_id)
        if MasterDataRepository(uow.session).get_sku(sku) is None:
            raise SkuNotFound(f"no sku {sku!r} in the catalogue")
        if layout.locate(slot_id) is None:
            raise UnknownSlots([slot_id])
        PickingRepository(uow.session).set_sku_slot(warehouse_id, sku, slot_id)
        uow.commit()


def sku_slot(new_uow: UnitOfWorkFactory, warehouse_id: str, sku: str) -> str:
    """The slot of ``sku`` in the warehouse (404 if none was assigned)."""
    with new_uow() as uow:
        found = PickingRepository(uow.session).sku_slot(warehouse_id, sku)
    if found is None:
        raise NotFound(f"sku {sku!r} has no slot in warehouse {warehouse_id!r}")
    return found


def sku_slots(new_uow: UnitOfWorkFactory, warehouse_id: str, skus: list[str]) -> dict[str, str]:
    """The slots of those ``skus`` that have one in the warehouse, read in one transaction."""
    with new_uow() as uow:
        return PickingRepository(uow.session).sku_slots(warehouse_id, skus)


@dataclass(frozen=True)
class WaveResult:
    """The tasks of a wave, the orders split across several trips and those left out (with the reason)."""

    tasks: list[PickTask]
    orders: int
    split_orders: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)


def set_warehouse_cart(new_uow: UnitOfWorkFactory, warehouse_id: str, cart: CartLimits) -> bool:
    """Store the cart the warehouse's waves use when a request names none; answers whether it is new."""
    with new_uow() as uow:
        _require_warehouse(uow, warehouse_id)
        created = PickingRepository(uow.session).set_cart(warehouse_id, cart)
        uow.commit()
    return created


def warehouse_cart(new_uow: UnitOfWorkFactory, warehouse_id: str) -> CartLimits:
    """The warehouse's stored cart (404 unknown warehouse, 422 ``cart_not_configured`` when none)."""
    with new_uow() as uow:
        _require_warehouse(uow, warehouse_id)
        return _stored_cart(uow, warehouse_id)


def _require_warehouse(uow: UnitOfWork, warehouse_id: str) -> None:
    if MasterDataRepository(uow.session).get_warehouse(warehouse_id) is None:
        raise WarehouseNotFound(f"no warehouse with id {warehouse_id!r}")


def _stored_cart(uow: UnitOfWork, warehouse_id: str) -> CartLimits:
    cart = PickingRepository(uow.session).cart(warehouse_id)
    if cart is None:
        raise CartNotConfigured(
            f"warehouse {warehouse_id!r} has no cart: send one with the wave or "
            f"PUT /v1/warehouses/{warehouse_id}/cart once"
        )
    return cart


def create_wave(
    new_uow: UnitOfWorkFactory, command: CreateWave, params: PickingParams = DEFAULT_PICKING_PARAMS
) -> WaveResult:
    """Batch the warehouse's allocated orders (or only ``command.order_ids``) into pick tasks and move those
    orders to ``picking``; ``params`` tunes the route solver (the command's per-task ``time_limit_s`` wins
    when given). An order larger than the cart is split across trips; one that no cart can carry, or a
    chosen order that is not waiting here, is left out with its reason and blocks nobody."""
    with new_uow() as uow:
        cart = command.cart or _stored_cart(uow, command.warehouse_id)
        result = _build_wave(
            uow,
            command.warehouse_id,
            cart,
            order_ids=command.order_ids,
            actor=command.actor,
            time_limit_s=command.time_limit_s,
            params=params,
        )
        uow.commit()
    return result


def _build_wave(
    uow: UnitOfWork,
    warehouse_id: str,
    cart: CartLimits,
    *,
    order_ids: Sequence[str] | None,
    actor: str,
    time_limit_s: float | None,
    params: PickingParams,
) -> WaveResult:
    """``create_wave`` inside ``uow``: tasks written, orders advanced, nothing committed."""
    layout = load_layout(uow, warehouse_id)
    lines, picking_ids = _lines_to_pick(uow, warehouse_id)
    left_out: list[LeftOut] = []
    if order_ids is not None:
        wanted = dict.fromkeys(order_ids)
        lines = [line for line in lines if line.order_id in wanted]
        waiting = {line.order_id for line in lines}
        left_out += [_not_waiting(uow, warehouse_id, o) for o in wanted if o not in waiting]
    unpickable = _orders_without_slots(uow, warehouse_id, layout, lines)
    left_out += unpickable
    blocked = {o.order_id for o in unpickable}
    lines = [line for line in lines if line.order_id not in blocked]
    if not lines:
        return WaveResult(tasks=[], orders=0, left_out=left_out)
    orders = _pick_items(uow, warehouse_id, layout, lines)
    plan = plan_wave(layout, orders, cart, time_limit_s=time_limit_s, params=params)
    tasks = _write_tasks(uow, warehouse_id, plan.batches, picking_ids, actor=actor, reason_code="wave_created")
    return WaveResult(
        tasks=tasks,
        orders=len(orders) - len(plan.left_out),
        split_orders=plan.split_orders,
        left_out=left_out + plan.left_out,
    )


def _orders_without_slots(
    uow: UnitOfWork, warehouse_id: str, layout: Layout, lines: Sequence[AllocatedLine]
) -> list[LeftOut]:
    """Orders a wave cannot route, each with the reason: a SKU without a slot here, or a slot the layout no
    longer has. They wait (still ``allocated``) until the slots are fixed; the other orders go."""
    skus = sorted({line.sku for line in lines})
    slots = PickingRepository(uow.session).sku_slots(warehouse_id, skus)
    gone = {slot for slot in set(slots.values()) if layout.locate(slot) is None}
    problems: dict[str, dict[str, list[str]]] = {}
    for line in lines:
        slot = slots.get(line.sku)
        if slot is None:
            problems.setdefault(line.order_id, {}).setdefault("sku_without_slot", []).append(line.sku)
        elif slot in gone:
            problems.setdefault(line.order_id, {}).setdefault("unknown_slot", []).append(f"{line.sku} at {slot}")
    left_out = []
    for order_id, found in problems.items():
        if "sku_without_slot" in found:
            skus_text = ", ".join(sorted(set(found["sku_without_slot"])))
            reason = (
                f"sku(s) without a slot in warehouse {warehouse_id}: {skus_text}; "
                f"PUT /v1/warehouses/{warehouse_id}/slots/{{sku}} first"
            )
            left_out.append(LeftOut(order_id, "sku_without_slot", reason))
        else:
            slots_text = ", ".join(sorted(set(found["unknown_slot"])))
            reason = (
                f"slot(s) the layout of warehouse {warehouse_id} no longer has: {slots_text}; "
                "move those SKUs to existing slots"
            )
            left_out.append(LeftOut(order_id, "unknown_slot", reason))
    return left_out


def _not_waiting(uow: UnitOfWork, warehouse_id: str, order_id: str) -> LeftOut:
    """Why a chosen order is not in the wave: unknown, or nothing of it waits to be picked here."""
    view = OrderRepository(uow.session).view(order_id)
    if view is None:
        return LeftOut(order_id, "order_not_found", f"no order {order_id!r}")
    return LeftOut(
        order_id,
        "nothing_to_pick_here",
        f"order {order_id} is {view.status}; nothing of it waits to be picked at warehouse {warehouse_id}",
    )


def build_wave_in_sequence(
    uow: UnitOfWork,
    warehouse_id: str,
    order_ids: Sequence[str],
    cart: CartLimits,
    *,
    actor: str,
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> WaveResult:
    """Pick tasks for these orders released in the given sequence (e.g. a truck's loading order): one
    task per order, the first order's task first, each on its own shortest walk. Orders are not mixed in
    a cart, so what is loaded first is picked first. Orders with nothing left to pick here are skipped.
    Works inside the caller's ``uow`` (tasks written, orders advanced, nothing committed)."""
    layout = load_layout(uow, warehouse_id)
    lines, picking_ids = _lines_to_pick(uow, warehouse_id)
    wanted = set(order_ids)
    lines = [line for line in lines if line.order_id in wanted]
    if not lines:
        return WaveResult(tasks=[], orders=0)
    orders = _pick_items(uow, warehouse_id, layout, lines)
    tasks: list[PickTask] = []
    for order_id in dict.fromkeys(order_ids):
        if order_id not in orders:
            continue
        batches = batch_orders(layout, {order_id: orders[order_id]}, cart, time_limit_s=time_limit_s, params=params)
        tasks += _write_tasks(uow, warehouse_id, batches, picking_ids, actor=actor, reason_code="route_wave_created")
    return WaveResult(tasks=tasks, orders=len(orders))


def _lines_to_pick(uow: UnitOfWork, warehouse_id: str) -> tuple[list[AllocatedLine], set[str]]:
    """Lines a wave at this warehouse picks (allocated orders, then split orders already picking
    elsewhere), and the ids of those already ``picking``."""
    lines = OrderRepository(uow.session).allocated_lines(warehouse_id)
    already_picking = _split_lines_still_to_pick(uow, warehouse_id)
    return lines + already_picking, {line.order_id for line in already_picking}


def _pick_items(
    uow: UnitOfWork, warehouse_id: str, layout: Layout, lines: Sequence[AllocatedLine]
) -> dict[str, list[PickItem]]:
    """The lines as pick items per order, with their slots and unit loads (422 for SKUs without a slot)."""
    skus = sorted({line.sku for line in lines})
    slots = PickingRepository(uow.session).sku_slots(warehouse_id, skus)
    missing = [sku for sku in skus if sku not in slots]
    if missing:
        raise SkusWithoutSlot(
            f"sku(s) without a slot in warehouse {warehouse_id!r}: {', '.join(missing)}; "
            f"PUT /v1/warehouses/{warehouse_id}/slots/{{sku}} first",
            details={"skus": missing},
        )
    layout.locate_all(sorted(set(slots.values())))  # UnknownSlots (422) for slots the layout no longer has
    catalogue = MasterDataRepository(uow.session).get_skus(skus)
    orders: dict[str, list[PickItem]] = {}
    for line in lines:
        sku = catalogue.get(line.sku)
        orders.setdefault(line.order_id, []).append(
            PickItem(
                order_id=line.order_id,
                sku=line.sku,
                qty=line.qty,
                slot_id=slots[line.sku],
                unit_weight_kg=0.0 if sku is None else float(sku.weight_kg),
                unit_volume_m3=0.0 if sku is None else float(sku.volume_m3),
            )
        )
    return orders


def _write_tasks(
    uow: UnitOfWork,
    warehouse_id: str,
    batches: Sequence[Batch],
    picking_ids: set[str],
    *,
    actor: str,
    reason_code: str,
) -> list[PickTask]:
    """Write one task per batch, in order, and move its orders to ``picking`` (an order split across
    several batches moves once)."""
    picking = PickingRepository(uow.session)
    picking_ids = set(picking_ids)
    tasks: list[PickTask] = []
    for batch in batches:
        task_id = "pt_" + secrets.token_hex(8)
        task_row, step_rows = _task_rows(task_id, warehouse_id, batch)
        picking.add_task(task_row, step_rows)
        for order_id in batch.order_ids:
            if order_id in picking_ids:
                continue  # already picking: at another warehouse, or on an earlier trip of this wave
            picking_ids.add(order_id)
            advance_order(
                uow,
                order_id,
                OrderStatus.PICKING,
                actor=actor,
                reason_code=reason_code,
                reason=f"pick task {task_id}",
            )
        tasks.append(task_of(task_row, step_rows))
    return tasks


def _split_lines_still_to_pick(uow: UnitOfWork, warehouse_id: str) -> list[AllocatedLine]:
    """Lines at this warehouse of split orders already ``picking`` elsewhere and not yet in a task here.

    ``allocated_lines`` only lists orders still ``allocated``; once one warehouse's wave has moved a
    split order to ``picking``, its shipment at another warehouse would otherwise never be picked.
    """
    candidates: dict[str, list[AllocatedLine]] = {}
    for line in OrderRepository(uow.session).allocated_lines(warehouse_id, status=OrderStatus.PICKING):
        candidates.setdefault(line.order_id, []).append(line)
    done = PickingRepository(uow.session).orders_with_tasks(warehouse_id, list(candidates))
    return [line for order_id, found in candidates.items() if order_id not in done for line in found]


def _order_fully_picked(uow: UnitOfWork, order_id: str, order_steps: Sequence[PickTaskStepRow]) -> bool:
    """Every shipment line of the order (at every warehouse) has been picked in full by ``order_steps``,
    all the pick steps (of any task) of that order, and none of them waits for its count. A short step
    counts what it picked: a re-pick task's steps make up the rest (orders_core.picking.repick)."""
    needed: dict[str, int] = {}
    for shipment in OrderRepository(uow.session).shipments(order_id):
        for sku, qty in shipment.lines:
            needed[sku] = needed.get(sku, 0) + qty
    picked: dict[str, int] = {}
    for step in order_steps:
        if step.picked_qty is None:
            return False
        picked[step.sku] = picked.get(step.sku, 0) + step.picked_qty
    return all(picked.get(sku, 0) >= qty for sku, qty in needed.items())


def _task_rows(task_id: str, warehouse_id: str, batch: Batch) -> tuple[PickTaskRow, list[PickTaskStepRow]]:
    """Steps in route order: every item picked at each stop, then the walk to the next stop."""
    problem, route = batch.problem, batch.route
    stop_of_slot = {slot_id: i for i, stop in enumerate(problem.stops) for slot_id in stop.slot_ids}
    items_at: dict[int, list[PickItem]] = {}
    for item in sorted(batch.items, key=lambda it: (it.order_id, it.sku)):
        items_at.setdefault(stop_of_slot[item.slot_id], []).append(item)
    picks: list[tuple[int, PickItem]] = [(stop, item) for stop in route.stop_order for item in items_at.get(stop, [])]
    matrix = problem.matrix
    steps: list[PickTaskStepRow] = []
    for k, (stop, item) in enumerate(picks):
        next_index = picks[k + 1][0] + 1 if k + 1 < len(picks) else 0
        steps.append(
            PickTaskStepRow(
                task_id=task_id,
                step=k + 1,
                slot_id=item.slot_id,
                sku=item.sku,
                qty=item.qty,
                order_id=item.order_id,
                walk_to_next_m=round(float(matrix[stop + 1, next_index]), 6),
            )
        )
    first = float(matrix[0, picks[0][0] + 1]) if picks else 0.0
    task = PickTaskRow(
        id=task_id,
        warehouse_id=warehouse_id,
        status="open",
        distance_m=route.distance_m,
        walk_from_depot_m=round(first, 6),
        method=route.method,
        created_at=utc_now(),
    )
    return task, steps


def get_task(new_uow: UnitOfWorkFactory, task_id: str) -> PickTask:
    """A pick task with its ordered steps (404 if unknown)."""
    with new_uow() as uow:
        task = PickingRepository(uow.session).task(task_id)
    if task is None:
        raise PickTaskNotFound(f"no pick task with id {task_id!r}")
    return task


def task_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    warehouse_id: str | None = None,
    statuses: Sequence[str] | None = None,
    order_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[PickTask]:
    """Pick tasks by creation time (a handheld's open tasks: ``warehouse_id`` and ``statuses=["open"]``)."""
    with new_uow() as uow:
        tasks, next_cursor = PickingRepository(uow.session).task_page(
            request,
            warehouse_id=warehouse_id,
            statuses=statuses,
            order_id=order_id,
            created_from=created_from,
            created_to=created_to,
        )
    return Page(items=tasks, next_cursor=next_cursor)


def confirm_picks(
    new_uow: UnitOfWorkFactory, stock: StockService, task_id: str, picks: Sequence[PickConfirmation], *, actor: str
) -> PickTask:
    """Record picked quantities: consume stock, open ``short_pick`` exceptions, load fully picked orders.

    All in one transaction: stock consumed in the in-memory/Redis store follows its commit or rollback.
    """
    with new_uow() as uow:
        task = _record_picks(uow, stock, task_id, picks, actor=actor)
        uow.commit()
    return task


def _record_picks(
    uow: UnitOfWork, stock: StockService, task_id: str, picks: Sequence[PickConfirmation], *, actor: str
) -> PickTask:
    """``confirm_picks`` inside ``uow``: nothing committed."""
    picking = PickingRepository(uow.session)
    task_row = picking.task_row(task_id, for_update=True)
    if task_row is None:
        raise PickTaskNotFound(f"no pick task with id {task_id!r}")
    steps = {row.step: row for row in picking.step_rows(task_id)}
    problems: list[str] = []
    seen: set[int] = set()
    for pick in picks:
        row = steps.get(pick.step)
        if row is None:
            problems.append(f"step {pick.step} is not in task {task_id} (steps 1..{len(steps)})")
        elif pick.step in seen:
            problems.append(f"step {pick.step} is confirmed twice in one request")
        elif not 0 <= pick.picked_qty <= row.qty:
            problems.append(f"step {pick.step}: picked_qty must be between 0 and {row.qty}, got {pick.picked_qty}")
        seen.add(pick.step)
    if problems:
        raise InvalidPick("; ".join(problems))
    for pick in picks:
        row = steps[pick.step]
        if row.picked_qty is not None and row.picked_qty != pick.picked_qty:
            raise PickAlreadyConfirmed(
                f"step {pick.step} of task {task_id} was already confirmed with picked_qty {row.picked_qty}"
            )
    now = utc_now()
    touched: list[str] = []
    for pick in picks:
        row = steps[pick.step]
        if row.picked_qty is not None:
            continue  # same count again: idempotent
        row.picked_qty = pick.picked_qty
        row.confirmed_at = now
        if row.order_id not in touched:
            touched.append(row.order_id)
        if pick.picked_qty > 0:
            stock.consume(uow, row.order_id, [ReservationLine(task_row.warehouse_id, row.sku, pick.picked_qty)])
        if pick.picked_qty < row.qty:
            open_exception(
                uow,
                row.order_id,
                "short_pick",
                f"picked {pick.picked_qty} of {row.qty} x {row.sku} at {row.slot_id} (task {task_id}, step {row.step})",
                {
                    "task_id": task_id,
                    "step": row.step,
                    "sku": row.sku,
                    "slot_id": row.slot_id,
                    "qty": row.qty,
                    "picked_qty": pick.picked_qty,
                    "warehouse_id": task_row.warehouse_id,
                    "strategy": short_pick_strategies(row.qty - pick.picked_qty),
                },
                actor=actor,
            )
    uow.session.flush()
    steps_of_order: dict[str, list[PickTaskStepRow]] = {}
    for step_row in picking.step_rows_of_orders(touched):
        steps_of_order.setdefault(step_row.order_id, []).append(step_row)
    for order_id in touched:
        fully_picked = _order_fully_picked(uow, order_id, steps_of_order.get(order_id, []))
        if fully_picked and OrderStatus(load_order(uow, order_id).status) is OrderStatus.PICKING:
            advance_order(
                uow, order_id, OrderStatus.LOADED, actor=actor, reason_code="picked", reason=f"task {task_id}"
            )
    if task_row.status == "open" and all(row.picked_qty is not None for row in steps.values()):
        task_row.status = "completed"
        task_row.completed_at = now
    uow.session.flush()
    return task_of(task_row, list(steps.values()))
