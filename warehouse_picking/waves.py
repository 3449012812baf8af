"""Order batching into cart-sized waves with a short total walk (pure: plain data in, plain data out).

Seed-and-savings (Clarke-Wright on orders): every order starts as its own batch; the saving of picking
two orders together is ``walk(a) + walk(b) - walk(a + b)``, estimated with a quick tour (exact for
few stops, nearest neighbour + 2-opt otherwise) on one shared distance matrix; pairs are merged in
order of decreasing saving while the merged batch still fits the cart (items, weight, volume). Each
final batch is then routed with ``routes.solve`` (exact where affordable).

An order larger than one cart is split into cart-sized trips (lines split by units, in slot order so each
trip stays compact); only an order with a single unit the cart cannot carry is left out, with its reason,
and never keeps the other orders from being batched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from foundation.errors import InvalidInput
from warehouse_picking.layouts import Layout
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.routes import PickRoute, RouteProblem, build_problem, solve
from warehouse_picking.solvers import held_karp, tour_length, two_opt

_EPS = 1e-9


class OrderDoesNotFitCart(InvalidInput):
    """An order holds a unit that alone exceeds the cart's limits, so no trip can carry it."""

    code = "order_exceeds_cart"


@dataclass(frozen=True)
class CartLimits:
    """What one picking cart carries."""

    max_items: int
    max_weight_kg: float
    max_volume_m3: float


@dataclass(frozen=True)
class PickItem:
    """One order line to pick: ``qty`` units of ``sku`` from ``slot_id`` (weights/volumes per unit)."""

    order_id: str
    sku: str
    qty: int
    slot_id: str
    unit_weight_kg: float = 0.0
    unit_volume_m3: float = 0.0


@dataclass(frozen=True)
class LeftOut:
    """An order a wave could not put on any cart, and why (``reason_code`` is stable, ``reason`` for people)."""

    order_id: str
    reason_code: str
    reason: str


@dataclass
class Batch:
    """Orders picked together on one cart, with their route (an order split across trips is in several)."""

    order_ids: list[str]
    items: list[PickItem]
    route: PickRoute
    problem: RouteProblem = field(repr=False)

    @property
    def item_count(self) -> int:
        """Units on the cart."""
        return _load(self.items).items

    @property
    def weight_kg(self) -> float:
        """Weight on the cart."""
        return _load(self.items).weight_kg

    @property
    def volume_m3(self) -> float:
        """Volume on the cart."""
        return _load(self.items).volume_m3


@dataclass(frozen=True)
class _Load:
    items: int
    weight_kg: float
    volume_m3: float

    def __add__(self, other: _Load) -> _Load:
        return _Load(self.items + other.items, self.weight_kg + other.weight_kg, self.volume_m3 + other.volume_m3)

    def fits(self, cart: CartLimits) -> bool:
        return (
            self.items <= cart.max_items
            and self.weight_kg <= cart.max_weight_kg + _EPS
            and self.volume_m3 <= cart.max_volume_m3 + _EPS
        )


def _load(items: Sequence[PickItem]) -> _Load:
    return _Load(
        sum(i.qty for i in items),
        sum(i.qty * i.unit_weight_kg for i in items),
        sum(i.qty * i.unit_volume_m3 for i in items),
    )


def quick_tour_length(matrix: np.ndarray, indices: Sequence[int]) -> float:
    """Closed-walk length from index 0 through ``indices`` (exact up to 6 stops, else NN + 2-opt)."""
    stops = sorted(set(indices) - {0})
    if not stops:
        return 0.0
    sub = matrix[np.ix_([0, *stops], [0, *stops])]
    if len(stops) <= 6:
        return tour_length(sub, held_karp(sub))
    # nearest neighbour from the depot, then 2-opt until no move helps
    tour: list[int] = []
    here, left = 0, set(range(1, len(stops) + 1))
    while left:
        here = min(left, key=lambda j: sub[here, j])
        tour.append(here)
        left.remove(here)
    return tour_length(sub, two_opt(sub, tour, max_passes=None))


@dataclass
class WavePlan:
    """A wave's batches, the orders split across several trips, and the orders left out with their reasons."""

    batches: list[Batch]
    split_orders: list[str]
    left_out: list[LeftOut]


def split_for_cart(items: Sequence[PickItem], cart: CartLimits) -> list[list[PickItem]] | LeftOut:
    """Cart-sized parts of one order's items (lines split by units, filled in slot order), or why it
    cannot be carried at all (a single unit heavier or bulkier than the cart)."""
    parts: list[list[PickItem]] = []
    current: list[PickItem] = []
    load = _Load(0, 0.0, 0.0)
    for item in sorted(items, key=lambda it: (it.slot_id, it.sku)):
        unit = _Load(1, item.unit_weight_kg, item.unit_volume_m3)
        if not unit.fits(cart):
            return LeftOut(
                item.order_id,
                "unit_exceeds_cart",
                f"one unit of {item.sku} ({item.unit_weight_kg} kg, {item.unit_volume_m3} m3) exceeds the cart "
                f"(max_weight_kg {cart.max_weight_kg}, max_volume_m3 {cart.max_volume_m3})",
            )
        left = item.qty
        while left:
            units = _units_fitting(load, unit, cart, left)
            if units == 0:
                parts.append(current)
                current, load = [], _Load(0, 0.0, 0.0)
                continue
            current.append(replace(item, qty=units))
            load = load + _Load(units, units * unit.weight_kg, units * unit.volume_m3)
            left -= units
    if current:
        parts.append(current)
    return parts


def _units_fitting(load: _Load, unit: _Load, cart: CartLimits, wanted: int) -> int:
    """How many of ``wanted`` units still fit on a cart carrying ``load``."""
    units = min(wanted, cart.max_items - load.items)
    if unit.weight_kg > 0:
        units = min(units, int((cart.max_weight_kg - load.weight_kg + _EPS) // unit.weight_kg))
    if unit.volume_m3 > 0:
        units = min(units, int((cart.max_volume_m3 - load.volume_m3 + _EPS) // unit.volume_m3))
    units = max(units, 0)
    while units and not (load + _Load(units, units * unit.weight_kg, units * unit.volume_m3)).fits(cart):
        units -= 1  # floating-point edge: trust ``fits``
    return units


def plan_wave(
    layout: Layout,
    orders: Mapping[str, Sequence[PickItem]],
    cart: CartLimits,
    *,
    time_limit_s: float | None = None,
    neighbours: int | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> WavePlan:
    """Group orders into cart-sized batches with a short total walk; each batch comes with its route.
    Orders larger than a cart are split into several trips (their last, partly filled trip may share a cart
    with other orders); orders that no cart can carry are left out with the reason. ``time_limit_s`` (per
    batch's route) and ``neighbours`` default to ``params``' wave values."""
    if time_limit_s is None:
        time_limit_s = params.wave_time_limit_s
    if neighbours is None:
        neighbours = params.wave_neighbours
    pieces: dict[str, list[PickItem]] = {}
    split: list[str] = []
    left_out: list[LeftOut] = []
    for order_id, items in orders.items():
        if _load(items).fits(cart):
            pieces[order_id] = list(items)
            continue
        parts = split_for_cart(items, cart)
        if isinstance(parts, LeftOut):
            left_out.append(parts)
            continue
        split.append(order_id)
        for k, part in enumerate(parts, start=1):
            pieces[f"{order_id}\x00{k}"] = part  # NUL never occurs in an id: a piece key cannot clash
    if not pieces:
        return WavePlan(batches=[], split_orders=split, left_out=left_out)
    groups = merge_by_savings(layout, pieces, cart, neighbours=neighbours)
    batches = []
    for group in groups:
        items = [item for piece in group for item in pieces[piece]]
        problem = build_problem(layout, [item.slot_id for item in items])
        route = solve(problem, time_limit_s=time_limit_s, params=params)
        order_ids = list(dict.fromkeys(item.order_id for item in items))
        batches.append(Batch(order_ids=order_ids, items=items, route=route, problem=problem))
    return WavePlan(batches=batches, split_orders=split, left_out=left_out)


def batch_orders(
    layout: Layout,
    orders: Mapping[str, Sequence[PickItem]],
    cart: CartLimits,
    *,
    time_limit_s: float | None = None,
    neighbours: int | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> list[Batch]:
    """``plan_wave``'s batches, for callers that must carry every order: OrderDoesNotFitCart (422) names the
    orders no cart can carry (a unit heavier or bulkier than the cart); larger orders are split."""
    plan = plan_wave(layout, orders, cart, time_limit_s=time_limit_s, neighbours=neighbours, params=params)
    if plan.left_out:
        raise OrderDoesNotFitCart(
            "; ".join(f"order {o.order_id}: {o.reason}" for o in plan.left_out),
            details={"orders": {o.order_id: o.reason for o in plan.left_out}},
        )
    return plan.batches


def merge_by_savings(
    layout: Layout, orders: Mapping[str, Sequence[PickItem]], cart: CartLimits, *, neighbours: int = 25
) -> list[list[str]]:
    """Clarke-Wright savings merge of orders into groups that fit the cart (orders in input order)."""
    order_ids = list(orders)
    empty = [o for o in order_ids if not orders[o]]
    if empty:  # reduceat below would silently answer a neighbour's value for an empty order
        raise ValueError(f"orders without items cannot be batched: {empty}")
    all_slots = sorted({item.slot_id for o in order_ids for item in orders[o]})
    problem = build_problem(layout, all_slots)
    # matrix index of each slot: stops group slot ids at one point
    index_of: dict[str, int] = {}
    for i, stop in enumerate(problem.stops, start=1):
        for slot_id in stop.slot_ids:
            index_of[slot_id] = i
    matrix = problem.matrix
    points = {o: sorted({index_of[item.slot_id] for item in orders[o]}) for o in order_ids}
    alone = {o: quick_tour_length(matrix, points[o]) for o in order_ids}
    # candidate pairs: each order with its nearest others (closest pick points)
    candidates: set[tuple[int, int]] = set()
    n = len(order_ids)
    # every order's pick points side by side, so one reduceat gives the gap from order a to each order
    flat = np.concatenate([points[o] for o in order_ids])
    starts = np.cumsum([0, *(len(points[o]) for o in order_ids[:-1])])
    for a in range(n):
        to_order = np.minimum.reduceat(matrix[points[order_ids[a]]].min(axis=0)[flat], starts)
        near = sorted((float(to_order[b]), b) for b in range(n) if b != a)
        for _dist, b in near[:neighbours]:
            candidates.add((min(a, b), max(a, b)))
    savings: list[tuple[float, int, int]] = []
    loads = {o: _load(orders[o]) for o in order_ids}
    for a, b in candidates:
        oa, ob = order_ids[a], order_ids[b]
        if not (loads[oa] + loads[ob]).fits(cart):
            continue
        together = quick_tour_length(matrix, points[oa] + points[ob])
        saving = alone[oa] + alone[ob] - together
        if saving > _EPS:
            savings.append((saving, a, b))
    savings.sort(key=lambda s: (-s[0], s[1], s[2]))
    group_of = {o: i for i, o in enumerate(order_ids)}
    members: dict[int, list[str]] = {i: [o] for i, o in enumerate(order_ids)}
    group_load = {i: loads[o] for i, o in enumerate(order_ids)}
    for _saving, a, b in savings:
        ga, gb = group_of[order_ids[a]], group_of[order_ids[b]]
        if ga == gb:
            continue
        merged = group_load[ga] + group_load[gb]
        if not merged.fits(cart):
            continue
        members[ga].extend(members.pop(gb))
        group_load[ga] = merged
        del group_load[gb]
        for o in members[ga]:
            group_of[o] = ga
    position = {o: i for i, o in enumerate(order_ids)}
    groups = [sorted(group, key=position.__getitem__) for group in members.values()]
    return sorted(groups, key=lambda g: position[g[0]])


def one_order_at_a_time_m(
    layout: Layout,
    orders: Mapping[str, Sequence[PickItem]],
    *,
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> float:
    """Baseline: total walk when every order is picked on its own trip (each routed like a batch)."""
    limit_s = params.wave_time_limit_s if time_limit_s is None else time_limit_s
    total = 0.0
    for items in orders.values():
        problem = build_problem(layout, [i.slot_id for i in items])
        total += solve(problem, time_limit_s=limit_s, params=params).distance_m
    return total
