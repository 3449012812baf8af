"""Exact pick routes on rectangular layouts with any number of blocks: a frontier dynamic programme.

Ratliff and Rosenthal's idea, generalised: sweep the aisles left to right, one edge at a time. The
frontier is the column of the current aisle's nodes (one per cross aisle); the state records, per node,
whether it is untouched, of odd degree or of even degree so far, and which nodes are already joined
(a canonical component labelling). An aisle segment holding picks is served in one of five modes
(through once or twice, a return trip from either end, or returns from both ends skipping its largest
gap); an empty segment and a cross-aisle segment are walked 0, 1 or 2 times. A node leaving the frontier
must have even degree (and be touched if it is required); a component leaving the frontier closes the
tour, allowed only when nothing else is open or left to pick. The cheapest closed state is optimal.
The chosen modes are handed to ``solvers._segment_walk_order`` to read off the visiting order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from warehouse_picking.layouts import Layout
from warehouse_picking.solvers import PickEdge, _segment_walk_order

Entry = tuple[int, int]  # (degree class 0 untouched / 1 odd / 2 even>0, component label or -1)
State = tuple[Entry, ...]

# mode -> (degree added at first end, at second end, joins the ends)
_PLAIN_MODES: tuple[tuple[int, int, bool], ...] = ((0, 0, False), (1, 1, True), (2, 2, True))
_PICK_MODES: tuple[tuple[int, int, bool], ...] = (
    (1, 1, True),
    (2, 2, True),
    (2, 0, False),
    (0, 2, False),
    (2, 2, False),
)


@dataclass(frozen=True)
class _Step:
    kind: str  # "v" (aisle segment), "h" (cross segment), "hd" (front cross segment split by the depot)
    row: int  # frontier row of the first end (v: bottom row k, top is k + 1; h: row k)
    edge: int  # layout edge id ("hd": the left half)
    edge2: int  # "hd": the right half; else -1
    costs: tuple[float, ...]  # per mode
    modes: tuple[tuple[int, int, bool], ...]
    pick: int  # index into pick edges, or -1
    leaving: int  # "h"/"hd": layout node that leaves the frontier; else -1


def _add(cls: int, amount: int) -> int:
    if amount == 0:
        return cls
    odd = (cls == 1) != (amount == 1)
    return 1 if odd else 2


def _canonical(entries: Sequence[Entry]) -> State:
    mapping: dict[int, int] = {}
    out = []
    for cls, comp in entries:
        if cls == 0:
            out.append((0, -1))
        else:
            if comp not in mapping:
                mapping[comp] = len(mapping)
            out.append((cls, mapping[comp]))
    return tuple(out)


def rectangular_exact_order(
    layout: Layout,
    plain_edges: Sequence[tuple[int, int, float]],
    plain_ids: Sequence[int],
    pick_edges: Sequence[PickEdge],
    pick_ids: Sequence[int],
    node_stops: dict[int, list[int]],
) -> tuple[list[int], float]:
    """Optimal visiting order (caller's stop ids) and its walk length on a rectangular layout.

    ``plain_ids`` / ``pick_ids`` give the layout edge id of each plain / pick edge (same order as the
    lists), so the answer can be expressed in the variables of ``solvers.steiner_tsp_segments``.
    """
    spec = layout.rectangular
    grid = layout._rect_aisle_nodes
    assert spec is not None and grid is not None
    n_aisles, n_blocks = spec.aisles, spec.blocks
    depot = layout.depot.u
    edge_index = {frozenset((u, v)): e for e, (u, v, _len) in enumerate(layout.edges)}
    pick_of_edge = {e: j for j, e in enumerate(pick_ids)}
    required = set(node_stops)
    constant = 0.0
    outside_edge = -1
    depot_on_grid = bool(np.any(grid == depot))
    if depot_on_grid:
        required.add(depot)
    else:
        last_x = (n_aisles - 1) * spec.aisle_spacing_m
        if spec.depot_x_m < 0.0:  # left of the first aisle: walk there and back
            outside_edge = edge_index[frozenset((depot, int(grid[0, 0])))]
            required.add(int(grid[0, 0]))
        elif spec.depot_x_m > last_x:  # right of the last aisle
            outside_edge = edge_index[frozenset((depot, int(grid[n_aisles - 1, 0])))]
            required.add(int(grid[n_aisles - 1, 0]))
        if outside_edge >= 0:
            constant = 2.0 * layout.edges[outside_edge][2]
    steps: list[_Step] = []
    for a in range(n_aisles):
        if a > 0:
            for k in range(n_blocks + 1):
                u, v = int(grid[a - 1, k]), int(grid[a, k])
                e = edge_index.get(frozenset((u, v)))
                if e is not None:
                    costs = tuple(m[0] * layout.edges[e][2] for m in _PLAIN_MODES)
                    steps.append(_Step("h", k, e, -1, costs, _PLAIN_MODES, -1, u))
                else:  # the depot splits this front cross segment
                    e1 = edge_index[frozenset((u, depot))]
                    e2 = edge_index[frozenset((depot, v))]
                    d1, d2 = layout.edges[e1][2], layout.edges[e2][2]
                    modes = _PICK_MODES[:4]
                    costs = (d1 + d2, 2 * (d1 + d2), 2 * d1, 2 * d2)
                    steps.append(_Step("hd", k, e1, e2, costs, modes, -1, u))
        for k in range(n_blocks):
            e = layout._aisle_edge_index(a + 1, k)
            length = layout.edges[e][2]
            j = pick_of_edge.get(e, -1)
            if j < 0:
                costs = tuple(m[0] * length for m in _PLAIN_MODES)
                steps.append(_Step("v", k, e, -1, costs, _PLAIN_MODES, -1, -1))
            else:
                p = pick_edges[j]
                offs = p.offsets
                gaps = [offs[i + 1] - offs[i] for i in range(len(offs) - 1)]
                costs = (length, 2 * length, 2 * offs[-1], 2 * (length - offs[0]), 2 * (length - max(gaps or [0.0])))
                modes = _PICK_MODES if gaps else _PICK_MODES[:4]
                steps.append(_Step("v", k, e, -1, costs[: len(modes)], modes, j, -1))
    # what is still to serve after step t (pick segments, required nodes that have not left yet)
    pending_after = [False] * (len(steps) + 1)
    pending = False
    for t in range(len(steps) - 1, -1, -1):
        pending_after[t + 1] = pending
        step = steps[t]
        if step.pick >= 0 or step.kind == "hd":
            pending = True
        if step.kind in ("h", "hd") and step.leaving in required:
            pending = True
    pending_after[0] = pending
    last_column = {int(grid[n_aisles - 1, k]) for k in range(n_blocks + 1)}
    any_required_last = bool(required & last_column)

    rows = n_blocks + 1
    start: State = tuple((0, -1) for _ in range(rows))
    layers: list[dict[State, tuple[float, State | None, int]]] = [{start: (0.0, None, -1)}]
    best_cost = float("inf")
    best_end: tuple[int, State, int] | None = None  # (step index, state before, mode) of a closing step
    for t, step in enumerate(steps):
        current = layers[-1]
        following: dict[State, tuple[float, State | None, int]] = {}
        for state, (cost, _prev, _mode) in current.items():
            for mi, (add1, add2, joins) in enumerate(step.modes):
                new_cost = cost + step.costs[mi]
                if new_cost + constant >= best_cost:
                    continue
                entries = list(state)
                fresh = 1 + max((c for _cls, c in entries), default=-1)
                if step.kind == "v":
                    (c1, k1), (c2, k2) = entries[step.row], entries[step.row + 1]
                    n1, n2 = _add(c1, add1), _add(c2, add2)
                    if add1 and c1 == 0:
                        k1, fresh = fresh, fresh + 1
                    if add2 and c2 == 0:
                        k2, fresh = fresh, fresh + 1
                    entries[step.row], entries[step.row + 1] = (n1, k1), (n2, k2)
                    if joins and k1 != k2:
                        entries = [(cls, k1 if comp == k2 else comp) for cls, comp in entries]
                    following_state = _canonical(entries)
                else:
                    c1, k1 = entries[step.row]
                    n1 = _add(c1, add1)
                    if n1 == 1:
                        continue  # a node leaves with odd degree
                    if n1 == 0 and step.leaving in required:
                        continue
                    if add1 and c1 == 0:
                        k1, fresh = fresh, fresh + 1
                    if joins:
                        entering = (1 if add2 == 1 else 2, k1)
                    elif add2:
                        entering = (2, fresh)
                    else:
                        entering = (0, -1)
                    entries[step.row] = entering
                    if n1 and all(comp != k1 for _cls, comp in entries):
                        # the leaving node's component is finished: the tour closes here
                        closes = all(cls == 0 for cls, _c in entries)
                        closes = closes and not pending_after[t + 1] and not any_required_last
                        if closes and new_cost + constant < best_cost:
                            best_cost, best_end = new_cost + constant, (t, state, mi)
                        continue
                    following_state = _canonical(entries)
                known = following.get(following_state)
                if known is None or new_cost < known[0]:
                    following[following_state] = (new_cost, state, mi)
        layers.append(following)
    # close at the last column: even degrees, required nodes touched, a single component
    final_state: State | None = None
    for state, (cost, _prev, _mode) in layers[-1].items():
        if cost + constant >= best_cost:
            continue
        if any(cls == 1 for cls, _c in state):
            continue
        if any(state[k][0] == 0 and int(grid[n_aisles - 1, k]) in required for k in range(rows)):
            continue
        comps = {c for cls, c in state if cls}
        if len(comps) != 1:
            continue
        best_cost, best_end, final_state = cost + constant, None, state
    if best_end is None and final_state is None:
        raise RuntimeError("rectangular DP found no closed walk")  # cannot happen on a connected layout
    # walk the back-pointers to the mode of every step (layers[t] holds the states before step t)
    chosen = [0] * len(steps)
    if best_end is not None:
        t, state, closing_mode = best_end
        chosen[t] = closing_mode
    else:
        assert final_state is not None
        t, state = len(steps), final_state
    while t > 0:
        _cost, previous, mode = layers[t][state]
        chosen[t - 1] = mode
        assert previous is not None
        state = previous
        t -= 1
    # express the modes in the MIP's variables and read off the order
    m1, m2 = len(plain_edges), len(pick_edges)
    values = np.zeros(m1 + 5 * m2 + len(layout.node_xy))
    plain_of_edge = {e: i for i, e in enumerate(plain_ids)}
    if outside_edge >= 0 and outside_edge in plain_of_edge:
        values[plain_of_edge[outside_edge]] = 2
    for step, mode in zip(steps, chosen, strict=True):
        add1, add2, joins = step.modes[mode]
        if step.kind == "hd":
            for e, amount in ((step.edge, add1), (step.edge2, add2)):
                if e in plain_of_edge:
                    values[plain_of_edge[e]] = amount
        elif step.pick >= 0:
            j = step.pick
            if joins:
                values[m1 + j] = add1
                values[m1 + m2 + j] = 1
            else:
                values[m1 + (2 + (0 if (add1, add2) == (2, 0) else 1 if (add1, add2) == (0, 2) else 2)) * m2 + j] = 1
        elif step.edge in plain_of_edge:
            values[plain_of_edge[step.edge]] = add1
    eu = np.array([e[0] for e in plain_edges] + [p.u for p in pick_edges], dtype=np.int64)
    ev = np.array([e[1] for e in plain_edges] + [p.v for p in pick_edges], dtype=np.int64)
    order = _segment_walk_order(len(layout.node_xy), eu, ev, values, m1, pick_edges, node_stops, depot)
    return order, best_cost
