"""Closed-walk solvers over walking distances: exact (Held-Karp, Steiner-TSP MIP) and OR-Tools routing.

All solvers take a symmetric distance matrix whose index 0 is the depot and answer a visiting order of
the other indices (a permutation of 1..n-1). Plain data in, plain data out: no layouts, no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow


def tour_length(matrix: np.ndarray, order: Sequence[int]) -> float:
    """Length of depot -> order... -> depot under ``matrix``."""
    if not order:
        return 0.0
    path = [0, *order, 0]
    return float(sum(matrix[path[i], path[i + 1]] for i in range(len(path) - 1)))


def held_karp(matrix: np.ndarray) -> list[int]:
    """Exact shortest closed walk from index 0 through all others (O(2^n n^2); use for n <= ~13 stops)."""
    n = matrix.shape[0]
    m = n - 1
    if m <= 0:
        return []
    if m == 1:
        return [1]
    inner = matrix[1:, 1:]
    full = (1 << m) - 1
    dp = np.full((1 << m, m), np.inf)
    parent = np.full((1 << m, m), -1, dtype=np.int64)
    for j in range(m):
        dp[1 << j, j] = matrix[0, j + 1]
    bits = 1 << np.arange(m)
    for mask in range(1, full + 1):
        members = np.nonzero(mask & bits)[0]
        if len(members) < 2:
            continue
        prev_masks = mask ^ bits[members]  # for each last node j in mask
        prev = dp[prev_masks][:, members]  # (|members| as j, |members| as i)
        cost = prev + inner[np.ix_(members, members)].T
        best = np.argmin(cost, axis=1)
        dp[mask, members] = cost[np.arange(len(members)), best]
        parent[mask, members] = members[best]
    closing = dp[full] + matrix[1:, 0]
    last = int(np.argmin(closing))
    order: list[int] = []
    mask = full
    while last >= 0:
        order.append(last + 1)
        previous = int(parent[mask, last])
        mask ^= 1 << last
        last = previous
    order.reverse()
    return order


def ortools_route(matrix: np.ndarray, time_limit_s: float, initial: Sequence[int] | None = None) -> list[int]:
    """OR-Tools routing (guided local search within ``time_limit_s``) on a millimetre-rounded matrix."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = matrix.shape[0]
    if n <= 2:
        return list(range(1, n))
    costs = np.rint(matrix * 1000.0).astype(np.int64).tolist()
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def cost_cb(from_index: int, to_index: int) -> int:
        return int(costs[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)])

    transit = routing.RegisterTransitCallback(cost_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(10, int(time_limit_s * 1000)))
    solution = None
    if initial:
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes([list(initial)], True)
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return list(initial) if initial else list(range(1, n))
    order: list[int] = []
    index = routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node != 0:
            order.append(node)
        index = solution.Value(routing.NextVar(index))
    return order


@dataclass(frozen=True)
class PickEdge:
    """A walkable edge with stops strictly inside it, at ``offsets`` (ascending) from ``u``."""

    u: int
    v: int
    length: float
    offsets: tuple[float, ...]
    stops: tuple[int, ...]  # caller's stop ids, same order as offsets


@dataclass(frozen=True)
class SegmentResult:
    """Outcome of the segment-mode MIP: stop ids in visiting order (None if unsolved), bound, proof."""

    order: list[int] | None
    lower_bound: float
    proven_optimal: bool


def steiner_tsp_segments(
    n_nodes: int,
    plain_edges: Sequence[tuple[int, int, float]],
    pick_edges: Sequence[PickEdge],
    node_stops: dict[int, list[int]],
    depot: int,
    time_limit_s: float = 1.0,
) -> SegmentResult:
    """Exact shortest closed walk serving stops on edges and at nodes (integer program, HiGHS).

    Like Ratliff-Rosenthal, an edge holding stops is served in one of five modes: traversed once (T1) or
    twice (T2), a return trip from ``u`` (RU) or from ``v`` (RV), or returns from both ends leaving its
    largest inner gap unwalked (SP). Plain edges are walked 0, 1 or 2 times; every node has even degree;
    connectivity to the depot is added lazily (cuts on support components, first on LP relaxations).
    Every round solves a relaxation of the true problem, so its optimum is a valid lower bound.
    """
    started = time.perf_counter()
    if not pick_edges and not any(v != depot for v in node_stops):
        return SegmentResult(order=list(node_stops.get(depot, [])), lower_bound=0.0, proven_optimal=True)
    m1, m2 = len(plain_edges), len(pick_edges)
    # variable layout: x (m1) | t (m2) | b (m2) | ru (m2) | rv (m2) | sp (m2) | y (n)
    o_t, o_b, o_ru, o_rv, o_sp, o_y = m1, m1 + m2, m1 + 2 * m2, m1 + 3 * m2, m1 + 4 * m2, m1 + 5 * m2
    n_var = o_y + n_nodes
    eu = np.array([e[0] for e in plain_edges] + [p.u for p in pick_edges], dtype=np.int64)
    ev = np.array([e[1] for e in plain_edges] + [p.v for p in pick_edges], dtype=np.int64)
    m = m1 + m2  # walkable edges = x then t
    cost = np.zeros(n_var)
    cost[:m1] = [e[2] for e in plain_edges]
    for j, p in enumerate(pick_edges):
        offs = p.offsets
        gaps = [offs[i + 1] - offs[i] for i in range(len(offs) - 1)]
        cost[o_t + j] = p.length
        cost[o_ru + j] = 2.0 * offs[-1]
        cost[o_rv + j] = 2.0 * (p.length - offs[0])
        cost[o_sp + j] = 2.0 * (p.length - max(gaps)) if gaps else 0.0
    upper = np.ones(n_var)
    upper[:m] = 2.0
    for j, p in enumerate(pick_edges):
        if len(p.offsets) < 2:
            upper[o_sp + j] = 0.0  # a split needs stops on both sides of a gap
    integrality = np.ones(n_var)
    degree = np.zeros(n_nodes)
    np.add.at(degree, eu, 1)
    np.add.at(degree, ev, 1)
    upper[o_y:] = degree
    bounds = Bounds(np.zeros(n_var), upper)
    rows: list[np.ndarray] = []
    lows: list[float] = []
    highs: list[float] = []

    def deg_row(v: int) -> np.ndarray:
        row = np.zeros(n_var)
        row[:m][eu == v] += 1.0
        row[:m][ev == v] += 1.0
        return row

    for v in range(n_nodes):
        row = deg_row(v)
        row[o_y + v] = -2.0
        rows.append(row)
        lows.append(0.0)
        highs.append(0.0)
    for j, p in enumerate(pick_edges):
        row = np.zeros(n_var)
        row[[o_b + j, o_ru + j, o_rv + j, o_sp + j]] = 1.0
        rows.append(row)
        lows.append(1.0)
        highs.append(1.0)
        row = np.zeros(n_var)
        row[o_t + j], row[o_b + j] = 1.0, -1.0  # t >= b
        rows.append(row)
        lows.append(0.0)
        highs.append(np.inf)
        row = np.zeros(n_var)
        row[o_t + j], row[o_b + j] = 1.0, -2.0  # t <= 2b
        rows.append(row)
        lows.append(-np.inf)
        highs.append(0.0)
        for end, own in ((p.u, o_ru), (p.v, o_rv)):
            if end == depot:
                continue
            row = deg_row(end)
            row[own + j] -= 2.0
            row[o_sp + j] -= 2.0
            rows.append(row)
            lows.append(0.0)
            highs.append(np.inf)
    for v in node_stops:
        if v != depot:
            rows.append(deg_row(v))
            lows.append(2.0)
            highs.append(np.inf)
    base = LinearConstraint(np.vstack(rows), np.array(lows), np.array(highs))
    cut_rows: list[np.ndarray] = []
    pick_u = np.array([p.u for p in pick_edges], dtype=np.int64)
    pick_v = np.array([p.v for p in pick_edges], dtype=np.int64)
    stop_nodes = np.array([v for v in node_stops if v != depot], dtype=np.int64)

    def cut_for(inside: np.ndarray, values: np.ndarray) -> int:
        """Add the connectivity cuts of node set ``inside`` (depot outside) that ``values`` violates."""
        crossing = inside[eu] != inside[ev]
        crossed = float(values[:m][crossing].sum())
        base_row = np.zeros(n_var)
        base_row[:m][crossing] = 1.0
        in_u = inside[pick_u] if m2 else np.zeros(0, dtype=bool)
        in_v = inside[pick_v] if m2 else np.zeros(0, dtype=bool)
        unconditional = bool(np.any(inside[stop_nodes])) if len(stop_nodes) else False
        unconditional = unconditional or bool(np.any(in_u & in_v))
        if unconditional:
            if crossed < 2.0 - 1e-6:
                cut_rows.append(base_row)
                return 1
            return 0
        added = 0
        for j in np.nonzero(in_u != in_v)[0].tolist():
            outside_mode = o_rv + j if in_u[j] else o_ru + j
            if crossed + 2.0 * values[outside_mode] < 2.0 - 1e-6:
                row = base_row.copy()
                row[outside_mode] = 2.0
                cut_rows.append(row)
                added += 1
        return added

    def separate(values: np.ndarray) -> int:
        """Cuts for support components (edges with value > 0) that miss the depot; answer how many."""
        used = values[:m] > 1e-6
        support = csr_matrix((np.ones(int(used.sum())), (eu[used], ev[used])), shape=(n_nodes, n_nodes))
        _count, labels = connected_components(support, directed=False)
        depot_label = labels[depot]
        return sum(cut_for(labels == piece, values) for piece in set(labels.tolist()) - {int(depot_label)})

    targets = sorted(({*stop_nodes.tolist(), *pick_u.tolist(), *pick_v.tolist()}) - {depot})

    def separate_min_cuts(values: np.ndarray) -> int:
        """Exact-ish separation on a fractional point: a minimum depot-target cut for every target."""
        capacity = np.rint(values[:m] * 1000.0).astype(np.int32)
        keep = capacity > 0
        graph = csr_matrix(
            (
                np.concatenate([capacity[keep], capacity[keep]]),
                (np.concatenate([eu[keep], ev[keep]]), np.concatenate([ev[keep], eu[keep]])),
            ),
            shape=(n_nodes, n_nodes),
        )
        graph.sum_duplicates()
        added = 0
        seen: set[bytes] = set()
        for target in targets:
            flow = maximum_flow(graph, depot, target)
            if flow.flow_value >= 1999:
                continue
            residual = (graph - flow.flow).tocsr()
            residual.data[residual.data < 0] = 0
            residual.eliminate_zeros()
            reached = breadth_first_order(residual, depot, directed=True, return_predecessors=False)
            inside = np.ones(n_nodes, dtype=bool)
            inside[reached] = False
            key = inside.tobytes()
            if key in seen:
                continue
            seen.add(key)
            added += cut_for(inside, values)
        return added

    def constraints() -> list[LinearConstraint]:
        found = [base]
        if cut_rows:
            found.append(LinearConstraint(np.vstack(cut_rows), 2.0, np.inf))
        return found

    lower = 0.0
    for _ in range(60):
        if time.perf_counter() - started > time_limit_s / 3:
            break
        relaxed = milp(cost, constraints=constraints(), bounds=bounds, options={"disp": False})
        if relaxed.x is None:
            break
        lower = max(lower, float(relaxed.fun))
        if separate(relaxed.x) == 0 and separate_min_cuts(relaxed.x) == 0:
            break
    while True:
        remaining = time_limit_s - (time.perf_counter() - started)
        if remaining <= 0:
            return SegmentResult(order=None, lower_bound=lower, proven_optimal=False)
        result = milp(
            cost,
            constraints=constraints(),
            integrality=integrality,
            bounds=bounds,
            options={"time_limit": remaining, "disp": False, "mip_rel_gap": 0.0},
        )
        if result.x is None or result.status != 0:
            bound = getattr(result, "mip_dual_bound", None)
            if bound is not None and np.isfinite(bound):
                lower = max(lower, float(bound))
            return SegmentResult(order=None, lower_bound=lower, proven_optimal=False)
        lower = max(lower, float(result.fun))
        values = np.rint(result.x)
        if separate(values) == 0:
            order = _segment_walk_order(n_nodes, eu, ev, values, m1, pick_edges, node_stops, depot)
            return SegmentResult(order=order, lower_bound=float(result.fun), proven_optimal=True)


def _segment_walk_order(
    n_nodes: int,
    eu: np.ndarray,
    ev: np.ndarray,
    values: np.ndarray,
    m1: int,
    pick_edges: Sequence[PickEdge],
    node_stops: dict[int, list[int]],
    depot: int,
) -> list[int]:
    """Stops in the order an Euler circuit of the solution serves them (returns done at first arrival)."""
    m2 = len(pick_edges)
    m = m1 + m2
    o_ru, o_rv, o_sp = m1 + 2 * m2, m1 + 3 * m2, m1 + 4 * m2
    excursions: dict[int, list[int]] = {}
    for j, p in enumerate(pick_edges):
        if values[o_ru + j] > 0.5:
            excursions.setdefault(p.u, []).extend(p.stops)
        elif values[o_rv + j] > 0.5:
            excursions.setdefault(p.v, []).extend(reversed(p.stops))
        elif values[o_sp + j] > 0.5:
            gaps = [p.offsets[i + 1] - p.offsets[i] for i in range(len(p.offsets) - 1)]
            cut = int(np.argmax(gaps)) + 1
            excursions.setdefault(p.u, []).extend(p.stops[:cut])
            excursions.setdefault(p.v, []).extend(reversed(p.stops[cut:]))
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    remaining = np.rint(values[:m]).astype(np.int64).tolist()
    for e in range(m):
        if remaining[e] > 0:
            adjacency[int(eu[e])].append((int(ev[e]), e))
            adjacency[int(ev[e])].append((int(eu[e]), e))
    pointer = [0] * n_nodes
    stack: list[tuple[int, int]] = [(depot, -1)]  # (node, edge used to arrive)
    circuit: list[tuple[int, int]] = []
    while stack:
        v, _via = stack[-1]
        advanced = False
        while pointer[v] < len(adjacency[v]):
            u, e = adjacency[v][pointer[v]]
            if remaining[e] > 0:
                remaining[e] -= 1
                stack.append((u, e))
                advanced = True
                break
            pointer[v] += 1
        if not advanced:
            circuit.append(stack.pop())
    circuit.reverse()  # [(node, edge that led here)], starting at the depot
    order: list[int] = []
    seen: set[int] = set()

    def serve(stops: Sequence[int]) -> None:
        for s in stops:
            if s not in seen:
                seen.add(s)
                order.append(s)

    previous: int | None = None
    for v, e in circuit:
        if e >= m1 and previous is not None:
            p = pick_edges[e - m1]
            serve(p.stops if previous == p.u else list(reversed(p.stops)))
        serve(node_stops.get(v, []))
        serve(excursions.pop(v, []))
        previous = v
    return order


def two_opt(matrix: np.ndarray, order: Sequence[int], max_passes: int | None = 8) -> list[int]:
    """Improve a tour (depot 0 implicit at both ends) by 2-opt moves; a quick upper bound for exact search.

    ``max_passes=None`` repeats passes until no move shortens the tour.
    """
    tour = [0, *order, 0]
    n = len(tour)
    rows = matrix.tolist()
    passes = 0
    while max_passes is None or passes < max_passes:
        passes += 1
        improved = False
        for i in range(1, n - 2):
            a, b = tour[i - 1], tour[i]
            row_a, row_b = rows[a], rows[b]
            ab = row_a[b]
            for j in range(i + 1, n - 1):
                c, d = tour[j], tour[j + 1]
                if row_a[c] + row_b[d] < ab + rows[c][d] - 1e-9:
                    tour[i : j + 1] = tour[i : j + 1][::-1]
                    b = tour[i]
                    row_b = rows[b]
                    ab = row_a[b]
                    improved = True
        if not improved:
            break
    return tour[1:-1]


def or_opt(matrix: np.ndarray, order: Sequence[int], max_passes: int = 4) -> list[int]:
    """Move runs of 1-3 stops to their best other position while that shortens the tour (after 2-opt)."""
    rows = matrix.tolist()
    tour = [0, *order, 0]
    for _ in range(max_passes):
        improved = False
        for length in (1, 2, 3):
            i = 1
            while i + length < len(tour):
                a, first, last, b = tour[i - 1], tour[i], tour[i + length - 1], tour[i + length]
                removed = rows[a][first] + rows[last][b] - rows[a][b]
                best_gain, best_at, best_reversed = 1e-9, -1, False
                for j in range(len(tour) - 1):
                    if i - 1 <= j < i + length:
                        continue
                    c, d = tour[j], tour[j + 1]
                    forward = rows[c][first] + rows[last][d] - rows[c][d]
                    backward = rows[c][last] + rows[first][d] - rows[c][d]
                    if removed - forward > best_gain:
                        best_gain, best_at, best_reversed = removed - forward, j, False
                    if removed - backward > best_gain:
                        best_gain, best_at, best_reversed = removed - backward, j, True
                if best_at >= 0:
                    run = tour[i : i + length]
                    if best_reversed:
                        run.reverse()
                    rest = tour[:i] + tour[i + length :]
                    at = best_at if best_at < i else best_at - length
                    tour = rest[: at + 1] + run + rest[at + 1 :]
                    improved = True
                else:
                    i += 1
        if not improved:
            break
    return tour[1:-1]


def improve_tour(matrix: np.ndarray, order: Sequence[int]) -> list[int]:
    """2-opt then Or-opt, repeated while either helps (a few rounds): a cheap, good upper bound."""
    best = list(order)
    best_length = tour_length(matrix, best)
    for _ in range(3):
        candidate = or_opt(matrix, two_opt(matrix, best))
        length = tour_length(matrix, candidate)
        if length >= best_length - 1e-9:
            break
        best, best_length = candidate, length
    return best
