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

Speed: states are interned to ints and transitions memoised across calls (they depend only on the
state and the mode); partial walks are pruned when their cost plus a lower bound of what remains
(each pick segment at its cheapest mode, two crossings of every aisle gap still to span) reaches an
upper bound from S-shape/largest-gap improved by 2-opt and Or-opt. The state space grows steeply
with the number of blocks, so ``routes`` uses this up to ``DP_MAX_BLOCKS``.
"""

from __future__ import annotations

import threading
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


def _transition(
    state: State, is_v: bool, row: int, add1: int, add2: int, joins: bool
) -> tuple[int, State | None, bool]:
    """Apply one edge's mode to a frontier state.

    Answers (degree class of the node leaving, for cross segments; the next canonical state, or None
    when the leaving node's component is finished; whether every frontier node is then untouched).
    """
    entries = list(state)
    fresh = 1 + max((c for _cls, c in entries), default=-1)
    if is_v:
        (c1, k1), (c2, k2) = entries[row], entries[row + 1]
        n1, n2 = _add(c1, add1), _add(c2, add2)
        if add1 and c1 == 0:
            k1, fresh = fresh, fresh + 1
        if add2 and c2 == 0:
            k2, fresh = fresh, fresh + 1
        entries[row], entries[row + 1] = (n1, k1), (n2, k2)
        if joins and k1 != k2:
            entries = [(cls, k1 if comp == k2 else comp) for cls, comp in entries]
        return -1, _canonical(entries), False
    c1, k1 = entries[row]
    n1 = _add(c1, add1)
    if n1 == 1:
        return 1, None, False
    if add1 and c1 == 0:
        k1, fresh = fresh, fresh + 1
    if joins:
        entries[row] = (1 if add2 == 1 else 2, k1)
    elif add2:
        entries[row] = (2, fresh)
    else:
        entries[row] = (0, -1)
    if n1 and all(comp != k1 for _cls, comp in entries):
        return n1, None, all(cls == 0 for cls, _c in entries)
    return n1, _canonical(entries), False


class _Interner:
    """States as small ints plus memoised transitions, shared by all sweeps (they repeat a lot).

    A sweep holds on to the instance it started with; a reset swaps in a fresh one, so concurrent
    sweeps never see their ids invalidated.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: dict[State, int] = {}
        self.states: list[State] = []
        self.memo: dict[tuple[bool, int, int, int, bool], dict[int, tuple[int, int, bool]]] = {}

    def intern(self, state: State) -> int:
        found = self.ids.get(state)
        if found is not None:
            return found
        with self.lock:
            found = self.ids.get(state)
            if found is None:
                found = len(self.states)
                self.states.append(state)
                self.ids[state] = found
            return found

    def table(self, key: tuple[bool, int, int, int, bool]) -> dict[int, tuple[int, int, bool]]:
        found = self.memo.get(key)
        if found is None:
            found = self.memo.setdefault(key, {})
        return found

    def apply(
        self, table: dict[int, tuple[int, int, bool]], sid: int, key: tuple[bool, int, int, int, bool]
    ) -> tuple[int, int, bool]:
        found = table.get(sid)
        if found is None:
            leaving, following, all_zero = _transition(self.states[sid], *key)
            found = (leaving, -1 if following is None else self.intern(following), all_zero)
            table[sid] = found
        return found


_shared = _Interner()
# Defaults of the memo's limits (``PickingParams.dp_max_interned_states`` / ``dp_max_memo_entries``).
MAX_INTERNED_STATES = 100_000
MAX_MEMO_ENTRIES = 1_000_000  # roughly 100 MB of memoised transitions


def _sweep(
    steps: Sequence[_Step],
    start: State,
    required: set[int],
    last_required: Sequence[bool],
    pending_after: Sequence[bool],
    lb_after: Sequence[float],
    constant: float,
    any_required_last: bool,
    upper_bound: float | None,
    max_interned_states: int,
    max_memo_entries: int,
) -> tuple[float, list[int]] | None:
    """The DP proper over interned states; answers (optimal cost, mode per step) or None above the bound."""
    global _shared
    if len(_shared.states) > max_interned_states or sum(map(len, _shared.memo.values())) > max_memo_entries:
        _shared = _Interner()
    interner = _shared
    start_id = interner.intern(start)
    costs: list[dict[int, float]] = [{start_id: 0.0}]
    back: list[dict[int, tuple[int, int]]] = [{}]
    best_cost = float("inf") if upper_bound is None else upper_bound + 1e-7
    best_end: tuple[int, int, int] | None = None  # (step, state id before it, mode) of a closing step
    for t, step in enumerate(steps):
        current = costs[-1]
        following: dict[int, float] = {}
        pointers: dict[int, tuple[int, int]] = {}
        is_v = step.kind == "v"
        leaving_required = step.leaving in required
        can_close = not pending_after[t + 1] and not any_required_last
        floor = lb_after[t + 1] + constant
        mode_tables = []
        for mi, (add1, add2, joins) in enumerate(step.modes):
            key = (is_v, step.row, add1, add2, joins)
            mode_tables.append((mi, step.costs[mi], interner.table(key), key))
        for sid, cost in current.items():
            for mi, step_cost, table, key in mode_tables:
                new_cost = cost + step_cost
                if new_cost + floor >= best_cost:
                    continue
                leaving, nxt, all_zero = interner.apply(table, sid, key)
                if not is_v:
                    if leaving == 1 or (leaving == 0 and leaving_required):
                        continue
                    if nxt < 0:  # the leaving node's component closed the tour
                        if all_zero and can_close and new_cost + constant < best_cost:
                            best_cost, best_end = new_cost + constant, (t, sid, mi)
                        continue
                known = following.get(nxt)
                if known is None or new_cost < known:
                    following[nxt] = new_cost
                    pointers[nxt] = (sid, mi)
        costs.append(following)
        back.append(pointers)
    # close at the last column: even degrees, required nodes touched, a single component
    final_id = -1
    for sid, cost in costs[-1].items():
        if cost + constant >= best_cost:
            continue
        state = interner.states[sid]
        if any(cls == 1 for cls, _c in state):
            continue
        if any(cls == 0 and needed for (cls, _c), needed in zip(state, last_required, strict=True)):
            continue
        if len({c for cls, c in state if cls}) != 1:
            continue
        best_cost, best_end, final_id = cost + constant, None, sid
    if best_end is None and final_id < 0:
        return None
    chosen = [0] * len(steps)
    if best_end is not None:
        t, sid, closing_mode = best_end
        chosen[t] = closing_mode
    else:
        t, sid = len(steps), final_id
    while t > 0:
        sid, mode = back[t][sid]
        chosen[t - 1] = mode
        t -= 1
    return best_cost, chosen


def _gap_of(step: _Step, grid: np.ndarray) -> int:
    """Index of the aisle to the right of a cross segment (its leaving node is in the aisle before)."""
    return int(np.argwhere(grid == step.leaving)[0][0]) + 1


def rectangular_exact_order(
    layout: Layout,
    plain_edges: Sequence[tuple[int, int, float]],
    plain_ids: Sequence[int],
    pick_edges: Sequence[PickEdge],
    pick_ids: Sequence[int],
    node_stops: dict[int, list[int]],
    upper_bound: float | None = None,
    *,
    max_interned_states: int = MAX_INTERNED_STATES,
    max_memo_entries: int = MAX_MEMO_ENTRIES,
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

    # cheapest possible cost of what remains after step t (each pick segment at its cheapest mode)
    # plus, for every gap between two aisles that the walk must span, two crossings of that gap
    columns = [a for a in range(n_aisles) for k in range(n_blocks + 1) if int(grid[a, k]) in required]
    columns += [e // n_blocks for e in pick_ids]  # aisle edges are numbered aisle-major
    if depot_on_grid:
        columns.append(int(np.argwhere(grid == depot)[0][0]))
    elif outside_edge < 0:  # between two aisles: both neighbours bound the span
        left_aisle = int(spec.depot_x_m // spec.aisle_spacing_m)
        columns += [left_aisle, left_aisle + 1]
    span_low, span_high = min(columns), max(columns)
    lb_after = [0.0] * (len(steps) + 1)
    for t in range(len(steps) - 1, -1, -1):
        step = steps[t]
        extra = min(step.costs) if step.pick >= 0 or step.kind == "hd" else 0.0
        if step.kind == "h" and step.row == 0:
            gap = _gap_of(step, grid)
            if span_low < gap <= span_high:
                extra += 2.0 * spec.aisle_spacing_m
        lb_after[t] = lb_after[t + 1] + extra
    rows = n_blocks + 1
    start: State = tuple((0, -1) for _ in range(rows))
    last_required = [int(grid[n_aisles - 1, k]) in required for k in range(rows)]
    for bound in (upper_bound, None):
        found = _sweep(
            steps,
            start,
            required,
            last_required,
            pending_after,
            lb_after,
            constant,
            any_required_last,
            bound,
            max_interned_states,
            max_memo_entries,
        )
        if found is not None:
            break
    if found is None:  # pragma: no cover - a connected layout always has a closed walk
        raise RuntimeError("rectangular DP found no closed walk")
    best_cost, chosen = found
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
