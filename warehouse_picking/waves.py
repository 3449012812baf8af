"""Order batching into cart-sized waves with a short total walk (pure: plain data in, plain data out).

Seed-and-savings (Clarke-Wright on orders): every order starts as its own batch; the saving of picking
two orders together is ``walk(a) + walk(b) - walk(a + b)``, estimated with a quick tour (exact for
few stops, nearest neighbour + 2-opt otherwise) on one shared distance matrix; pairs are merged in
order of decreasing saving while the merged batch still fits the cart (items, weight, volume). Each
final batch is then routed with ``routes.solve`` (exact where affordable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from foundation.errors import InvalidInput
from warehouse_picking.layouts import Layout
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.routes import PickRoute, RouteProblem, build_problem, solve
from warehouse_picking.solvers import held_karp, tour_length, two_opt

_EPS = 1e-9


class OrderDoesNotFitCart(InvalidInput):
    """An order alone exceeds the cart's limits, so no batch can carry it."""

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


@dataclass
class Batch:
    """Orders picked together on one cart, with their route."""

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


def batch_orders(
    layout: Layout,
    orders: Mapping[str, Sequence[PickItem]],
    cart: CartLimits,
    *,
    time_limit_s: float | None = None,
    neighbours: int | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> list[Batch]:
    """Group orders into cart-sized batches with a short total walk; each batch comes with its route.
    ``time_limit_s`` (per batch's route) and ``neighbours`` default to ``params``' wave values."""
    if time_limit_s is None:
        time_limit_s = params.wave_time_limit_s
    if neighbours is None:
        neighbours = params.wave_neighbours
    order_ids = list(orders)
    loads = {o: _load(orders[o]) for o in order_ids}
    too_big = [o for o in order_ids if not loads[o].fits(cart)]
    if too_big:
        details = {
            o: {"items": loads[o].items, "weight_kg": loads[o].weight_kg, "volume_m3": loads[o].volume_m3}
            for o in too_big
        }
        raise OrderDoesNotFitCart(
            f"order(s) larger than one cart (max_items {cart.max_items}, max_weight_kg {cart.max_weight_kg}, "
            f"max_volume_m3 {cart.max_volume_m3}): {', '.join(too_big)}",
            details={"orders": details},
        )
    if not order_ids:
        return []
    groups = merge_by_savings(layout, orders, cart, neighbours=neighbours)
    batches = []
    for group in groups:
        items = [item for o in group for item in orders[o]]
        problem = build_problem(layout, [item.slot_id for item in items])
        route = solve(problem, time_limit_s=time_limit_s, params=params)
        batches.append(Batch(order_ids=list(group), items=items, route=route, problem=problem))
    return batches


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
