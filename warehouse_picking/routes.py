"""Pick routes: the shortest closed walk from the depot through every requested slot.

``pick_route`` deduplicates the request into stops (a repeated slot id, or both sides of one aisle
position, is one stop), builds the walking-distance matrix of depot + stops from the layout's cached
node distances, and solves:

- ``held_karp``: exact dynamic programme over subsets, used for few stops (``PickingParams.held_karp_*``:
  <= 9, or <= 11 without the DP, by default);
- ``exact_dp``: exact frontier DP for rectangular layouts with up to ``PickingParams.dp_max_blocks`` blocks
  (Ratliff-Rosenthal generalised to several cross aisles, see ``rect_dp``); not time-limited;
- ``exact_mip``: exact Steiner-TSP integer program on the layout graph with lazy connectivity cuts,
  used for graph layouts, proven optimal when it finishes in time;
- ``ortools_gls``: OR-Tools routing with guided local search on the matrix, when the MIP runs out of time;
- baselines for rectangular layouts: ``s_shape`` (any blocks), ``largest_gap`` and ``return`` (one block).

``distance_m`` is always recomputed from the distance matrix along the returned sequence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from foundation.errors import InvalidInput
from warehouse_picking.layouts import Layout, SlotLocation
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, HELD_KARP_HARD_MAX_STOPS, PickingParams
from warehouse_picking.rect_dp import rectangular_exact_order
from warehouse_picking.solvers import (
    PickEdge,
    held_karp,
    improve_tour,
    ortools_route,
    steiner_tsp_segments,
    tour_length,
)

RouteMethod = Literal["auto", "exact", "dp", "mip", "held_karp", "ortools", "s_shape", "largest_gap", "return"]
METHODS: tuple[str, ...] = get_args(RouteMethod)
# The defaults of the knobs (see warehouse_picking.params; a call reads its own ``params``).
HELD_KARP_MAX_STOPS = DEFAULT_PICKING_PARAMS.held_karp_max_stops
HELD_KARP_MAX_STOPS_NO_DP = DEFAULT_PICKING_PARAMS.held_karp_max_stops_no_dp
DP_MAX_BLOCKS = DEFAULT_PICKING_PARAMS.dp_max_blocks
_EPS = 1e-9


class EmptyPickList(InvalidInput):
    """A pick route needs at least one slot."""

    code = "empty_pick_list"


class UnsupportedMethod(InvalidInput):
    """The requested routing method does not apply to this layout."""

    code = "unsupported_method"


@dataclass(frozen=True)
class Stop:
    """One physical pick point and the slot ids picked there (first-requested first)."""

    location: SlotLocation
    slot_ids: tuple[str, ...]


@dataclass
class PickRoute:
    """The answer: slot ids in visiting order and the true walk length."""

    sequence: list[str]
    distance_m: float
    method: str
    lower_bound_m: float | None = None
    proven_optimal: bool = False
    stop_order: list[int] = field(default_factory=list)  # indices into the stops list
    policy_distance_m: float | None = None  # baselines: length of the walk as the policy prescribes it
    solve_ms: float = 0.0


@dataclass
class RouteProblem:
    """A request turned into stops and their distance matrix (index 0 = depot, i = stops[i - 1])."""

    layout: Layout
    stops: list[Stop]
    matrix: np.ndarray


def _location_key(location: SlotLocation, layout: Layout) -> tuple[object, ...]:
    if location.edge < 0:
        return ("n", location.u)
    length = layout.edges[location.edge][2]
    if location.offset_m <= _EPS:
        return ("n", location.u)
    if location.offset_m >= length - _EPS:
        return ("n", location.v)
    return ("e", location.edge, round(location.offset_m, 6))


def build_problem(layout: Layout, slot_ids: Sequence[str]) -> RouteProblem:
    """Validate and deduplicate the request into stops; compute their walking-distance matrix."""
    if not slot_ids:
        raise EmptyPickList("slots must name at least one slot")
    locations = layout.locate_all(slot_ids)
    by_key: dict[tuple[object, ...], int] = {}
    grouped: list[tuple[SlotLocation, list[str]]] = []
    for slot_id, location in zip(slot_ids, locations, strict=True):
        key = _location_key(location, layout)
        index = by_key.get(key)
        if index is None:
            by_key[key] = len(grouped)
            grouped.append((location, [slot_id]))
        elif slot_id not in grouped[index][1]:
            grouped[index][1].append(slot_id)
    stops = [Stop(location=loc, slot_ids=tuple(ids)) for loc, ids in grouped]
    matrix = layout.distance_matrix([layout.depot, *[s.location for s in stops]])
    return RouteProblem(layout=layout, stops=stops, matrix=matrix)


def pick_route(
    layout: Layout,
    slot_ids: Sequence[str],
    *,
    method: str = "auto",
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> PickRoute:
    """Shortest closed walk from the depot through all ``slot_ids`` (see the module doc for methods);
    ``time_limit_s`` defaults to ``params.time_limit_s``."""
    if method not in METHODS:
        raise UnsupportedMethod(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    problem = build_problem(layout, slot_ids)
    return solve(problem, method=method, time_limit_s=time_limit_s, params=params)


def solve(
    problem: RouteProblem,
    *,
    method: str = "auto",
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> PickRoute:
    """Route an already built problem (lets the benchmark time methods on the same matrix)."""
    started = time.perf_counter()
    if time_limit_s is None:
        time_limit_s = params.time_limit_s
    k = len(problem.stops)
    lower: float | None = None
    proven = False
    policy: float | None = None
    if method in ("s_shape", "largest_gap", "return"):
        order, policy = baseline_order(problem, method)
        name = method
    elif k <= 1:
        order, name, proven = list(range(1, k + 1)), "trivial", True
    elif method == "held_karp" or (method == "auto" and k <= _held_karp_limit(problem.layout, params)):
        if k > HELD_KARP_HARD_MAX_STOPS:
            raise UnsupportedMethod(f"held_karp handles at most {HELD_KARP_HARD_MAX_STOPS} stops, got {k}")
        order, name, proven = held_karp(problem.matrix), "held_karp", True
    elif method == "ortools":
        order, name = ortools_route(problem.matrix, time_limit_s), "ortools_gls"
    elif method == "dp" or (method in ("auto", "exact") and _dp_applies(problem.layout, params)):
        if problem.layout.rectangular is None:
            raise UnsupportedMethod("dp needs a rectangular layout")
        if not _dp_applies(problem.layout, params):
            # The frontier DP is not time-limited and grows steeply with cross aisles: refuse, do not hang.
            raise UnsupportedMethod(
                f"dp handles rectangular layouts with at most {params.dp_max_blocks} blocks, this one has "
                f"{problem.layout.rectangular.blocks} (use auto, mip or ortools)"
            )
        order, lower = dp_order(problem, params)
        name, proven = "exact_dp", True
    else:  # MIP; if it cannot prove optimality in time, OR-Tools on what time is left
        share = 1.0 if method in ("exact", "mip") else params.mip_time_share
        order_mip, lower, proven = mip_order(problem, time_limit_s * share)
        if order_mip is not None:
            order, name = order_mip, "exact_mip"
        else:
            seed = _seed_order(problem)
            left = max(params.min_ortools_time_s, time_limit_s - (time.perf_counter() - started))
            order, name = ortools_route(problem.matrix, left, initial=seed), "ortools_gls"
            if seed and tour_length(problem.matrix, seed) < tour_length(problem.matrix, order):
                order = seed
    distance = tour_length(problem.matrix, order)
    if proven:
        lower = distance
    sequence = [slot_id for i in order for slot_id in problem.stops[i - 1].slot_ids]
    return PickRoute(
        sequence=sequence,
        distance_m=round(distance, 6),
        method=name,
        lower_bound_m=None if lower is None else round(min(lower, distance), 6),
        proven_optimal=proven,
        stop_order=[i - 1 for i in order],
        policy_distance_m=None if policy is None else round(policy, 6),
        solve_ms=(time.perf_counter() - started) * 1000.0,
    )


def _held_karp_limit(layout: Layout, params: PickingParams) -> int:
    """Held-Karp is cheapest for few stops; without the DP it stays worth it a little longer (~35 ms at 11)."""
    return params.held_karp_max_stops if _dp_applies(layout, params) else params.held_karp_max_stops_no_dp


def _dp_applies(layout: Layout, params: PickingParams) -> bool:
    return layout.rectangular is not None and layout.rectangular.blocks <= params.dp_max_blocks


def _seed_order(problem: RouteProblem) -> list[int] | None:
    """A reasonable first tour for local search: the better of S-shape and largest gap when defined."""
    if problem.layout.rectangular is None:
        return None
    methods = ["s_shape"] + (["largest_gap"] if problem.layout.rectangular.blocks == 1 else [])
    orders = [baseline_order(problem, m)[0] for m in methods]
    return min(orders, key=lambda order: tour_length(problem.matrix, order))


# ------------------------------------------------------------------ exact methods on the layout graph
def _graph_stops(
    problem: RouteProblem,
) -> tuple[list[tuple[int, int, float]], list[PickEdge], dict[int, list[int]], dict[int, list[tuple[float, int]]]]:
    """Stops as the graph solvers see them: plain edges, edges with stops inside, stops at nodes.

    Stop ids are matrix indices (1-based); the last item maps an edge id to its (offset, stop) pairs.
    """
    layout = problem.layout
    node_stops: dict[int, list[int]] = {}
    on_edge: dict[int, list[tuple[float, int]]] = {}
    for i, stop in enumerate(problem.stops, start=1):
        key = _location_key(stop.location, layout)
        if key[0] == "n":
            node_stops.setdefault(int(key[1]), []).append(i)  # type: ignore[call-overload]
        else:
            on_edge.setdefault(stop.location.edge, []).append((stop.location.offset_m, i))
    plain: list[tuple[int, int, float]] = []
    picks: list[PickEdge] = []
    for e, (u, v, length) in enumerate(layout.edges):
        inner = sorted(on_edge.get(e, []))
        if inner:
            picks.append(PickEdge(u, v, length, tuple(o for o, _i in inner), tuple(i for _o, i in inner)))
        else:
            plain.append((u, v, length))
    return plain, picks, node_stops, on_edge


def dp_order(problem: RouteProblem, params: PickingParams = DEFAULT_PICKING_PARAMS) -> tuple[list[int], float]:
    """Optimal order (matrix indices) and length by the rectangular frontier DP (``rect_dp``)."""
    layout = problem.layout
    plain, picks, node_stops, on_edge = _graph_stops(problem)
    plain_ids = [e for e in range(len(layout.edges)) if e not in on_edge]
    seed = _seed_order(problem)
    bound = None if seed is None else tour_length(problem.matrix, improve_tour(problem.matrix, seed))
    return rectangular_exact_order(
        layout,
        plain,
        plain_ids,
        picks,
        sorted(on_edge),
        node_stops,
        upper_bound=bound,
        max_interned_states=params.dp_max_interned_states,
        max_memo_entries=params.dp_max_memo_entries,
    )


def mip_order(problem: RouteProblem, time_limit_s: float) -> tuple[list[int] | None, float, bool]:
    """Segment-mode Steiner-TSP MIP on the layout graph: order (None if unsolved), lower bound, proof."""
    layout = problem.layout
    n_nodes = len(layout.node_xy)
    plain, picks, node_stops, _on_edge = _graph_stops(problem)
    depot = layout.depot.u
    keep = {depot, *node_stops, *(p.u for p in picks), *(p.v for p in picks)}
    plain = _prune_dangling(n_nodes, plain, keep)
    result = steiner_tsp_segments(n_nodes, plain, picks, node_stops, depot, time_limit_s=time_limit_s)
    return result.order, result.lower_bound, result.proven_optimal


def _prune_dangling(n_nodes: int, edges: list[tuple[int, int, float]], keep: set[int]) -> list[tuple[int, int, float]]:
    """Drop edges leading only to dead ends without stops: an optimal walk never uses them."""
    degree = [0] * n_nodes
    incident: list[list[int]] = [[] for _ in range(n_nodes)]
    for i, (u, v, _w) in enumerate(edges):
        degree[u] += 1
        degree[v] += 1
        incident[u].append(i)
        incident[v].append(i)
    alive = [True] * len(edges)
    queue = [v for v in range(n_nodes) if degree[v] == 1 and v not in keep]
    while queue:
        v = queue.pop()
        for i in incident[v]:
            if not alive[i]:
                continue
            alive[i] = False
            u, w, _len = edges[i]
            other = w if u == v else u
            degree[v] -= 1
            degree[other] -= 1
            if degree[other] == 1 and other not in keep:
                queue.append(other)
    return [edge for i, edge in enumerate(edges) if alive[i]]


# ------------------------------------------------------------------ rectangular baselines
def baseline_order(problem: RouteProblem, method: str) -> tuple[list[int], float]:
    """Visiting order and policy walk length of a classic routing policy on a rectangular layout."""
    layout = problem.layout
    spec = layout.rectangular
    if spec is None:
        raise UnsupportedMethod(f"{method} needs a rectangular layout")
    if method != "s_shape" and spec.blocks != 1:
        raise UnsupportedMethod(f"{method} is defined here for one-block layouts only")
    grid = layout._rect_aisle_nodes
    assert grid is not None
    block_len = spec.block_length_m
    # stop index (1-based) -> (aisle, block, y)
    by_block: dict[int, dict[int, list[tuple[float, int]]]] = {}
    for i, stop in enumerate(problem.stops, start=1):
        aisle = round(stop.location.x / spec.aisle_spacing_m) + 1
        block = min(int(stop.location.y // block_len), spec.blocks - 1)
        if stop.location.y <= _EPS and block > 0:
            block = 0
        by_block.setdefault(block, {}).setdefault(aisle, []).append((stop.location.y, i))

    waypoints: list[SlotLocation | int] = []  # SlotLocation for aisle ends, int for stop index

    def node(aisle: int, cross: int) -> SlotLocation:
        n = int(grid[aisle - 1, cross])
        x, y = layout.node_xy[n]
        return SlotLocation(u=n, v=n, offset_m=0.0, edge=-1, x=float(x), y=float(y))

    if method == "s_shape":
        # Roodbergen & de Koster's multi-block S-shape: up the left-most pick aisle to the back of the
        # farthest block with picks (picking on the way), then block by block towards the front, each
        # block's pick aisles traversed entirely in alternating directions (the very last one may be a
        # return trip), moving along the cross aisles in between.
        far = max(by_block)
        left_most = min(a for aisles_in in by_block.values() for a in aisles_in)
        first_picks = sorted(item for b in sorted(by_block) for item in by_block[b].pop(left_most, []))
        waypoints += [node(left_most, 0), *[i for _y, i in first_picks], node(left_most, far + 1)]
        pos_x, pos_y = (left_most - 1) * spec.aisle_spacing_m, (far + 1) * block_len
        blocks = sorted((b for b in by_block if by_block[b]), reverse=True)
        for bi, b in enumerate(blocks):
            aisles = sorted(by_block[b])
            x_first, x_last = (aisles[0] - 1) * spec.aisle_spacing_m, (aisles[-1] - 1) * spec.aisle_spacing_m
            if abs(x_last - pos_x) < abs(x_first - pos_x):
                aisles.reverse()
            bottom = b * block_len
            going_up = pos_y <= bottom + _EPS
            for ai, a in enumerate(aisles):
                picks = sorted(by_block[b][a])
                if bi == len(blocks) - 1 and ai == len(aisles) - 1 and going_up:
                    waypoints += [node(a, b), *[i for _y, i in picks], node(a, b)]
                    pos_y = bottom
                elif going_up:
                    waypoints += [node(a, b), *[i for _y, i in picks], node(a, b + 1)]
                    pos_y = bottom + block_len
                else:
                    waypoints += [node(a, b + 1), *[i for _y, i in reversed(picks)], node(a, b)]
                    pos_y = bottom
                going_up = not going_up
                pos_x = (a - 1) * spec.aisle_spacing_m
    elif method == "return":
        for a in sorted(by_block.get(0, {})):
            picks = sorted(by_block[0][a])
            waypoints += [node(a, 0), *[i for _y, i in picks], node(a, 0)]
    else:  # largest gap, one block
        aisles = sorted(by_block.get(0, {}))
        length = spec.aisle_length_m
        if len(aisles) == 1:
            picks = sorted(by_block[0][aisles[0]])
            waypoints += [node(aisles[0], 0), *[i for _y, i in picks], node(aisles[0], 0)]
        else:
            front_part: dict[int, list[int]] = {}
            first, last, middle = aisles[0], aisles[-1], aisles[1:-1]
            waypoints += [node(first, 0), *[i for _y, i in sorted(by_block[0][first])], node(first, 1)]
            for a in middle:
                picks = sorted(by_block[0][a])
                ys = [0.0, *[y for y, _i in picks], length]
                gaps = [ys[j + 1] - ys[j] for j in range(len(ys) - 1)]
                cut = int(np.argmax(gaps))  # picks[:cut] from the front, picks[cut:] from the back
                back = picks[cut:]
                front_part[a] = [i for _y, i in picks[:cut]]
                if back:
                    waypoints += [node(a, 1), *[i for _y, i in reversed(back)], node(a, 1)]
            waypoints += [node(last, 1), *[i for _y, i in reversed(sorted(by_block[0][last]))], node(last, 0)]
            for a in reversed(middle):
                if front_part[a]:
                    waypoints += [node(a, 0), *front_part[a], node(a, 0)]
    order = [w for w in waypoints if isinstance(w, int)]
    # policy length: walk depot -> waypoints -> depot by shortest paths between consecutive waypoints
    points = [problem.layout.depot] + [
        w if isinstance(w, SlotLocation) else problem.stops[w - 1].location for w in waypoints
    ]
    points.append(problem.layout.depot)
    matrix = layout.distance_matrix(points)
    policy = float(sum(matrix[j, j + 1] for j in range(len(points) - 1)))
    return order, policy
