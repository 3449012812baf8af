"""Warehouse layouts: parsing and validation, the walking graph, and cached walking distances.

Two kinds are understood:

- ``rectangular`` (CONTRACT.md "Warehouse layout"): parallel aisles crossed by ``blocks + 1`` cross aisles,
  slots ``A{aa}-{L|R}-{ppp}`` on the aisle centre lines, depot on the front cross aisle.
- ``graph``: a real floor plan given as nodes (x, y in metres), walkable edges (aisle or cross-aisle
  segments; length is Euclidean unless ``length_m`` is given), slots placed at a node or on an edge at
  ``offset_m`` from its first node, and a depot node::

      {"kind": "graph",
       "nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "b", "x": 0, "y": 10}],
       "edges": [{"from": "a", "to": "b"}],
       "slots": [{"id": "S1", "edge": ["a", "b"], "offset_m": 2.5}, {"id": "S2", "node": "b"}],
       "depot": "a"}

Both become the same thing: an undirected graph of "key" nodes (intersections, depot) whose all-pairs
shortest walking distances are computed once per layout (scipy) and cached by a hash of the layout
JSON; a slot is a point on an edge (or a node), so the walk between two slots goes through the ends of
their edges, or straight along a shared edge.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from foundation.errors import InvalidInput

MAX_AISLES = 99
MAX_SLOTS_PER_SIDE = 999
MAX_BLOCKS = 20
MAX_GRAPH_NODES = 3000
MAX_GRAPH_EDGES = 20000
MAX_GRAPH_SLOTS = 200_000
#: Largest length or coordinate in a layout (100 km): far beyond any building, far below float overflow.
MAX_EXTENT_M = 100_000.0

_SLOT_ID = re.compile(r"^A(\d{2})-([LR])-(\d{3})$")


class InvalidLayout(InvalidInput):
    """The warehouse layout JSON violates a rule of its kind (answered as 422)."""

    code = "invalid_layout"


class UnknownSlots(InvalidInput):
    """A request names slots that the warehouse layout does not have (answered as 422)."""

    code = "unknown_slot"

    def __init__(self, slot_ids: Sequence[str]) -> None:
        shown = ", ".join(repr(s) for s in list(slot_ids)[:20])
        more = f" and {len(slot_ids) - 20} more" if len(slot_ids) > 20 else ""
        super().__init__(f"unknown slot id(s) for this layout: {shown}{more}", details={"slots": list(slot_ids)})
        self.slot_ids = list(slot_ids)


@dataclass(frozen=True)
class SlotLocation:
    """Where a slot is picked from: on edge ``edge`` at ``offset_m`` from node ``u`` (``edge == -1``: at node ``u``)."""

    u: int
    v: int
    offset_m: float
    edge: int
    x: float
    y: float


@dataclass(frozen=True)
class RectangularSpec:
    """The parameters of a ``rectangular`` layout (kept for baselines such as S-shape)."""

    aisles: int
    aisle_spacing_m: float
    aisle_length_m: float
    blocks: int
    slots_per_side: int
    depot_x_m: float

    @property
    def block_length_m(self) -> float:
        """Length of one aisle segment between two cross aisles."""
        return self.aisle_length_m / self.blocks

    def slot_y_m(self, position: int) -> float:
        """The y at which position ``ppp`` is picked."""
        return (position - 0.5) * self.aisle_length_m / self.slots_per_side


@dataclass
class Layout:
    """A parsed, validated layout: walking graph over key nodes plus a way to locate slots."""

    kind: str
    key: str
    node_xy: np.ndarray  # (n, 2) metres
    edges: list[tuple[int, int, float]]  # (u, v, length_m)
    depot: SlotLocation
    rectangular: RectangularSpec | None = None
    graph_slots: dict[str, SlotLocation] = field(default_factory=dict)
    _rect_aisle_nodes: np.ndarray | None = None  # (aisles, blocks + 1) node index

    # ----------------------------------------------------------------- slots
    def locate(self, slot_id: str) -> SlotLocation | None:
        """The pick location of ``slot_id``, or None if the layout has no such slot."""
        if self.rectangular is None:
            return self.graph_slots.get(slot_id)
        match = _SLOT_ID.match(slot_id)
        if match is None:
            return None
        spec = self.rectangular
        aisle, position = int(match.group(1)), int(match.group(3))
        if not (1 <= aisle <= spec.aisles and 1 <= position <= spec.slots_per_side):
            return None
        return self._rect_location(aisle, position)

    def _rect_location(self, aisle: int, position: int) -> SlotLocation:
        spec = self.rectangular
        assert spec is not None and self._rect_aisle_nodes is not None
        y = spec.slot_y_m(position)
        block = min(int(y // spec.block_length_m), spec.blocks - 1)
        offset = y - block * spec.block_length_m
        u = int(self._rect_aisle_nodes[aisle - 1, block])
        v = int(self._rect_aisle_nodes[aisle - 1, block + 1])
        edge = self._aisle_edge_index(aisle, block)
        return SlotLocation(u=u, v=v, offset_m=offset, edge=edge, x=(aisle - 1) * spec.aisle_spacing_m, y=y)

    def _aisle_edge_index(self, aisle: int, block: int) -> int:
        spec = self.rectangular
        assert spec is not None
        return (aisle - 1) * spec.blocks + block  # aisle edges are created first, in this order

    def locate_all(self, slot_ids: Sequence[str]) -> list[SlotLocation]:
        """Locations of every id, or UnknownSlots naming all the ids that are not in the layout."""
        locations: list[SlotLocation] = []
        unknown: list[str] = []
        for slot_id in slot_ids:
            location = self.locate(slot_id) if isinstance(slot_id, str) else None
            if location is None:
                if slot_id not in unknown:
                    unknown.append(slot_id)
            else:
                locations.append(location)
        if unknown:
            raise UnknownSlots(unknown)
        return locations

    def all_slot_ids(self) -> list[str]:
        """Every slot id of the layout (for rectangular layouts: both sides of every position)."""
        if self.rectangular is None:
            return list(self.graph_slots)
        spec = self.rectangular
        return [
            f"A{a:02d}-{side}-{p:03d}"
            for a in range(1, spec.aisles + 1)
            for p in range(1, spec.slots_per_side + 1)
            for side in ("L", "R")
        ]

    # ------------------------------------------------------------- distances
    def node_distances(self) -> np.ndarray:
        """All-pairs shortest walking distances between key nodes (computed once per layout, cached)."""
        return _node_distance_cache.get(self)

    def distance_matrix(self, locations: Sequence[SlotLocation]) -> np.ndarray:
        """Walking distances (metres) between the given points: a (k, k) symmetric matrix."""
        nodes = self.node_distances()
        k = len(locations)
        ends = np.array([[loc.u, loc.v] for loc in locations], dtype=np.int64).reshape(k, 2)
        lengths = np.array([self._edge_length(loc) for loc in locations], dtype=float)
        offsets = np.array([loc.offset_m for loc in locations], dtype=float)
        to_end = np.stack([offsets, lengths - offsets], axis=1)  # (k, 2)
        best = np.full((k, k), np.inf)
        for i in range(2):
            for j in range(2):
                via = to_end[:, i][:, None] + nodes[np.ix_(ends[:, i], ends[:, j])] + to_end[:, j][None, :]
                np.minimum(best, via, out=best)
        edge_ids = np.array([loc.edge for loc in locations], dtype=np.int64)
        same_edge = (edge_ids[:, None] == edge_ids[None, :]) & (edge_ids[:, None] >= 0)
        if same_edge.any():
            along = np.abs(offsets[:, None] - offsets[None, :])
            best = np.where(same_edge, np.minimum(best, along), best)
        np.fill_diagonal(best, 0.0)
        return best

    def _edge_length(self, location: SlotLocation) -> float:
        return 0.0 if location.edge < 0 else self.edges[location.edge][2]


class _NodeDistanceCache:
    """Process-wide LRU of key-node distance matrices keyed by the layout hash."""

    def __init__(self, capacity: int = 32, max_bytes: int = 256 * 1024 * 1024) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, layout: Layout) -> np.ndarray:
        with self._lock:
            found = self._items.get(layout.key)
            if found is not None:
                self._items.move_to_end(layout.key)
                return found
        matrix = _all_pairs(layout)
        with self._lock:
            self._items[layout.key] = matrix
            while len(self._items) > 1 and (
                len(self._items) > self._capacity or sum(m.nbytes for m in self._items.values()) > self._max_bytes
            ):
                self._items.popitem(last=False)
        return matrix


_node_distance_cache = _NodeDistanceCache()


def _all_pairs(layout: Layout) -> np.ndarray:
    n = len(layout.node_xy)
    if not layout.edges:
        return np.zeros((n, n))
    # csr_matrix sums duplicates; keep the shortest of parallel edges instead.
    best: dict[tuple[int, int], float] = {}
    for r, c, w in layout.edges:
        a, b = (r, c) if r <= c else (c, r)
        if (a, b) not in best or w < best[(a, b)]:
            best[(a, b)] = w
    keys = list(best)
    # zero-length edges would vanish in a sparse matrix: use a tiny positive stand-in, then round back.
    data = np.array([max(best[k], 1e-12) for k in keys])
    graph = csr_matrix((data, ([k[0] for k in keys], [k[1] for k in keys])), shape=(n, n))
    matrix: np.ndarray = shortest_path(graph, method="D", directed=False)
    matrix[matrix < 1e-9] = 0.0
    return matrix


def layout_key(data: Mapping[str, Any]) -> str:
    """Stable hash of the layout JSON (the cache key of its distance matrix)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_parsed_cache: OrderedDict[str, Layout] = OrderedDict()
_parsed_lock = threading.Lock()


def parse_layout(data: dict[str, Any]) -> Layout:
    """Validate a layout JSON object and build its walking graph; raises InvalidLayout (422) precisely."""
    if not isinstance(data, dict):
        raise InvalidLayout(f"layout must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in ("rectangular", "graph"):
        raise InvalidLayout(f'layout.kind must be "rectangular" or "graph", got {kind!r}')
    try:
        key = layout_key(data)
    except (TypeError, ValueError) as exc:
        raise InvalidLayout(f"layout is not serialisable JSON: {exc}") from exc
    with _parsed_lock:
        found = _parsed_cache.get(key)
        if found is not None:
            _parsed_cache.move_to_end(key)
            return found
    layout = _parse_rectangular(data, key) if kind == "rectangular" else _parse_graph(data, key)
    with _parsed_lock:
        _parsed_cache[key] = layout
        while len(_parsed_cache) > 64:
            _parsed_cache.popitem(last=False)
    return layout


# ---------------------------------------------------------------- validation helpers
def _int_field(data: Mapping[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = data.get(name, default)
    if value is None:
        raise InvalidLayout(f"layout.{name} is required")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise InvalidLayout(f"layout.{name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise InvalidLayout(f"layout.{name} must be between {low} and {high}, got {int(value)}")
    return int(value)


def _number(value: Any, where: str, *, positive: bool = False, non_negative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidLayout(f"{where} must be a finite number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidLayout(f"{where} must be a finite number, got {value!r}"[:200])
    if abs(number) > MAX_EXTENT_M:
        # Walks sum many such lengths: beyond this they overflow to inf/NaN inside the solvers.
        raise InvalidLayout(f"{where} must be within ±{MAX_EXTENT_M:.0f} m, got {number}")
    if positive and number <= 0:
        raise InvalidLayout(f"{where} must be > 0, got {number}")
    if non_negative and number < 0:
        raise InvalidLayout(f"{where} must be >= 0, got {number}")
    return number


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InvalidLayout(f"{where} has unknown field(s): {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


# ---------------------------------------------------------------- rectangular
_RECT_FIELDS = {"kind", "aisles", "aisle_spacing_m", "aisle_length_m", "blocks", "slots_per_side", "depot_x_m"}


def _parse_rectangular(data: dict[str, Any], key: str) -> Layout:
    _check_keys(data, _RECT_FIELDS | {"name", "description"}, "layout")
    spec = RectangularSpec(
        aisles=_int_field(data, "aisles", 1, MAX_AISLES),
        aisle_spacing_m=_number(data.get("aisle_spacing_m"), "layout.aisle_spacing_m", positive=True),
        aisle_length_m=_number(data.get("aisle_length_m"), "layout.aisle_length_m", positive=True),
        blocks=_int_field(data, "blocks", 1, MAX_BLOCKS, default=1),
        slots_per_side=_int_field(data, "slots_per_side", 1, MAX_SLOTS_PER_SIDE),
        depot_x_m=_number(data.get("depot_x_m", 0.0), "layout.depot_x_m"),
    )
    return build_rectangular(spec, key)


def build_rectangular(spec: RectangularSpec, key: str) -> Layout:
    """The walking graph of a rectangular layout: aisle segments first, then cross-aisle segments."""
    a_count, b_count = spec.aisles, spec.blocks
    block_len = spec.block_length_m
    xs = [(a - 1) * spec.aisle_spacing_m for a in range(1, a_count + 1)]
    node_xy: list[tuple[float, float]] = []
    grid = np.zeros((a_count, b_count + 1), dtype=np.int64)
    for a in range(a_count):
        for k in range(b_count + 1):
            grid[a, k] = len(node_xy)
            node_xy.append((xs[a], k * block_len))
    edges: list[tuple[int, int, float]] = []
    for a in range(a_count):
        for k in range(b_count):
            edges.append((int(grid[a, k]), int(grid[a, k + 1]), block_len))
    depot_x = spec.depot_x_m
    depot_node: int | None = None
    split_front: int | None = None  # aisle index a: depot lies strictly between aisle a and a + 1 (0-based)
    for a in range(a_count):
        if math.isclose(depot_x, xs[a], abs_tol=1e-9):
            depot_node = int(grid[a, 0])
        elif a + 1 < a_count and xs[a] < depot_x < xs[a + 1]:
            split_front = a
    if depot_node is None:
        depot_node = len(node_xy)
        node_xy.append((depot_x, 0.0))
        if depot_x < xs[0]:
            edges.append((depot_node, int(grid[0, 0]), xs[0] - depot_x))
        elif depot_x > xs[-1]:
            edges.append((int(grid[-1, 0]), depot_node, depot_x - xs[-1]))
    for k in range(b_count + 1):
        for a in range(a_count - 1):
            if k == 0 and split_front == a:
                edges.append((int(grid[a, 0]), depot_node, depot_x - xs[a]))
                edges.append((depot_node, int(grid[a + 1, 0]), xs[a + 1] - depot_x))
            else:
                edges.append((int(grid[a, k]), int(grid[a + 1, k]), spec.aisle_spacing_m))
    depot = SlotLocation(u=depot_node, v=depot_node, offset_m=0.0, edge=-1, x=depot_x, y=0.0)
    return Layout(
        kind="rectangular",
        key=key,
        node_xy=np.array(node_xy, dtype=float),
        edges=edges,
        depot=depot,
        rectangular=spec,
        _rect_aisle_nodes=grid,
    )


# ---------------------------------------------------------------- graph
_GRAPH_FIELDS = {"kind", "nodes", "edges", "slots", "depot", "name", "description"}


def _parse_graph(data: dict[str, Any], key: str) -> Layout:
    _check_keys(data, _GRAPH_FIELDS, "layout")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InvalidLayout("layout.nodes must be a non-empty list of {id, x, y}")
    if len(raw_nodes) > MAX_GRAPH_NODES:
        raise InvalidLayout(f"layout.nodes has {len(raw_nodes)} nodes; at most {MAX_GRAPH_NODES} are supported")
    index: dict[str, int] = {}
    node_xy: list[tuple[float, float]] = []
    for i, node in enumerate(raw_nodes):
        where = f"layout.nodes[{i}]"
        if not isinstance(node, dict):
            raise InvalidLayout(f"{where} must be an object {{id, x, y}}")
        _check_keys(node, {"id", "x", "y"}, where)
        node_id = node.get("id")
        if not isinstance(node_id, str) or not node_id:
            raise InvalidLayout(f"{where}.id must be a non-empty string")
        if node_id in index:
            raise InvalidLayout(f"{where}.id {node_id!r} is a duplicate")
        index[node_id] = len(node_xy)
        node_xy.append((_number(node.get("x"), f"{where}.x"), _number(node.get("y"), f"{where}.y")))

    raw_edges = data.get("edges")
    if not isinstance(raw_edges, list):
        raise InvalidLayout("layout.edges must be a list of {from, to, length_m?}")
    if len(raw_edges) > MAX_GRAPH_EDGES:
        raise InvalidLayout(f"layout.edges has {len(raw_edges)} edges; at most {MAX_GRAPH_EDGES} are supported")
    edges: list[tuple[int, int, float]] = []
    edge_by_pair: dict[tuple[int, int], int] = {}
    for i, edge in enumerate(raw_edges):
        where = f"layout.edges[{i}]"
        if not isinstance(edge, dict):
            raise InvalidLayout(f"{where} must be an object {{from, to, length_m?}}")
        _check_keys(edge, {"from", "to", "length_m", "kind"}, where)
        u = _node_ref(edge.get("from"), index, f"{where}.from")
        v = _node_ref(edge.get("to"), index, f"{where}.to")
        if u == v:
            raise InvalidLayout(f"{where} joins node {raw_nodes[u]['id']!r} to itself")
        euclid = math.dist(node_xy[u], node_xy[v])
        if edge.get("length_m") is None:
            length = euclid
            if length <= 0:
                raise InvalidLayout(f"{where} joins two nodes at the same position; give length_m")
        else:
            length = _number(edge.get("length_m"), f"{where}.length_m", positive=True)
        edge_by_pair.setdefault((u, v), len(edges))
        edges.append((u, v, length))

    depot_id = data.get("depot")
    depot_node = _node_ref(depot_id, index, "layout.depot")

    raw_slots = data.get("slots")
    if not isinstance(raw_slots, list) or not raw_slots:
        raise InvalidLayout("layout.slots must be a non-empty list of {id, node} or {id, edge: [from, to], offset_m}")
    if len(raw_slots) > MAX_GRAPH_SLOTS:
        raise InvalidLayout(f"layout.slots has {len(raw_slots)} slots; at most {MAX_GRAPH_SLOTS} are supported")
    slots: dict[str, SlotLocation] = {}
    for i, slot in enumerate(raw_slots):
        where = f"layout.slots[{i}]"
        if not isinstance(slot, dict):
            raise InvalidLayout(f"{where} must be an object")
        _check_keys(slot, {"id", "node", "edge", "offset_m"}, where)
        slot_id = slot.get("id")
        if not isinstance(slot_id, str) or not slot_id:
            raise InvalidLayout(f"{where}.id must be a non-empty string")
        if slot_id in slots:
            raise InvalidLayout(f"{where}.id {slot_id!r} is a duplicate")
        has_node, has_edge = slot.get("node") is not None, slot.get("edge") is not None
        if has_node == has_edge:
            raise InvalidLayout(f"{where} must give exactly one of node or edge")
        if has_node:
            n = _node_ref(slot.get("node"), index, f"{where}.node")
            if "offset_m" in slot:
                raise InvalidLayout(f"{where}.offset_m only applies to a slot on an edge")
            x, y = node_xy[n]
            slots[slot_id] = SlotLocation(u=n, v=n, offset_m=0.0, edge=-1, x=x, y=y)
            continue
        pair = slot.get("edge")
        if not isinstance(pair, list) or len(pair) != 2:
            raise InvalidLayout(f"{where}.edge must be [from_node_id, to_node_id]")
        a = _node_ref(pair[0], index, f"{where}.edge[0]")
        b = _node_ref(pair[1], index, f"{where}.edge[1]")
        offset = _number(slot.get("offset_m"), f"{where}.offset_m", non_negative=True)
        if (a, b) in edge_by_pair:
            e = edge_by_pair[(a, b)]
            from_start = offset
        elif (b, a) in edge_by_pair:
            e = edge_by_pair[(b, a)]
            from_start = None
        else:
            raise InvalidLayout(f"{where}.edge: there is no edge between {pair[0]!r} and {pair[1]!r}")
        u, v, length = edges[e]
        if offset > length + 1e-9:
            raise InvalidLayout(f"{where}.offset_m {offset} exceeds the edge length {length:.3f}")
        offset = min(offset, length)
        if from_start is None:
            from_start = length - offset
        t = from_start / length
        x = node_xy[u][0] + t * (node_xy[v][0] - node_xy[u][0])
        y = node_xy[u][1] + t * (node_xy[v][1] - node_xy[u][1])
        slots[slot_id] = SlotLocation(u=u, v=v, offset_m=from_start, edge=e, x=x, y=y)

    n = len(node_xy)
    if edges:
        graph = csr_matrix(
            (np.ones(len(edges)), ([e[0] for e in edges], [e[1] for e in edges])),
            shape=(n, n),
        )
        _count, labels = connected_components(graph, directed=False)
    else:
        labels = np.arange(n)
    unreachable = [
        slot_id
        for slot_id, loc in slots.items()
        if labels[loc.u] != labels[depot_node] and (loc.edge < 0 or labels[loc.v] != labels[depot_node])
    ]
    if unreachable:
        shown = ", ".join(repr(s) for s in unreachable[:10])
        raise InvalidLayout(
            f"slot(s) not reachable from the depot {depot_id!r}: {shown}"
            + (f" and {len(unreachable) - 10} more" if len(unreachable) > 10 else "")
        )
    x, y = node_xy[depot_node]
    depot = SlotLocation(u=depot_node, v=depot_node, offset_m=0.0, edge=-1, x=x, y=y)
    return Layout(
        kind="graph",
        key=key,
        node_xy=np.array(node_xy, dtype=float),
        edges=edges,
        depot=depot,
        graph_slots=slots,
    )


def _node_ref(value: Any, index: Mapping[str, int], where: str) -> int:
    if not isinstance(value, str):
        raise InvalidLayout(f"{where} must be a node id (string), got {value!r}")
    found = index.get(value)
    if found is None:
        raise InvalidLayout(f"{where} names unknown node {value!r}")
    return found
