"""Which warehouses ship an order: pure planning over availability and distances (no I/O).

Rule: one warehouse that can serve every line, the nearest to the delivery point; otherwise a split
with the fewest shipments, then the shortest total warehouse-to-delivery distance. Subsets are
enumerated by size, so the answer is exact as long as the enumeration stays within a budget (always
for the few warehouses of a regional distributor); beyond it a greedy cover keeps the service
answering. When even every warehouse together cannot cover the order, ``describe_shortage`` says
what is missing and which transfers to the nearest warehouse would help.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

from geo.distance import haversine_m

#: Largest number of subsets examined before falling back to the greedy cover.
DEFAULT_SUBSET_BUDGET = 200_000


@dataclass(frozen=True)
class PlannedShipment:
    """Goods one warehouse sends: sku -> quantity, and its distance to the delivery point."""

    warehouse_id: str
    lines: tuple[tuple[str, int], ...]
    distance_m: float


@dataclass(frozen=True)
class AllocationPlan:
    """Shipments serving the whole order."""

    shipments: tuple[PlannedShipment, ...]
    exact: bool = True

    @property
    def total_distance_m(self) -> float:
        """Sum of warehouse-to-delivery distances over the shipments."""
        return sum(s.distance_m for s in self.shipments)

    def quantities(self) -> dict[tuple[str, str], int]:
        """(warehouse, sku) -> quantity."""
        return {(s.warehouse_id, sku): qty for s in self.shipments for sku, qty in s.lines}


@dataclass(frozen=True)
class Transfer:
    """A suggested stock move between warehouses."""

    from_warehouse_id: str
    to_warehouse_id: str
    sku: str
    qty: int


@dataclass(frozen=True)
class ShortageReport:
    """Why no plan exists: per-SKU missing quantities and a transfer suggestion to the nearest site."""

    requested: dict[str, int]
    available_total: dict[str, int]
    missing: dict[str, int]
    nearest_warehouse_id: str | None
    transfers: tuple[Transfer, ...] = field(default_factory=tuple)
    still_missing_at_nearest: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for an exception's details."""
        return {
            "requested": self.requested,
            "available_total": self.available_total,
            "missing": self.missing,
            "transfer_suggestion": {
                "to_warehouse_id": self.nearest_warehouse_id,
                "transfers": [
                    {
                        "from_warehouse_id": t.from_warehouse_id,
                        "to_warehouse_id": t.to_warehouse_id,
                        "sku": t.sku,
                        "qty": t.qty,
                    }
                    for t in self.transfers
                ],
                "still_missing": self.still_missing_at_nearest,
            },
        }


def _distances(sites: Mapping[str, tuple[float, float]], delivery: tuple[float, float]) -> dict[str, float]:
    return {wid: haversine_m(lat, lng, delivery[0], delivery[1]) for wid, (lat, lng) in sites.items()}


def _avail(available: Mapping[str, Mapping[str, int]], warehouse_id: str, sku: str) -> int:
    return max(0, int(available.get(warehouse_id, {}).get(sku, 0)))


def _covers(subset: tuple[str, ...], demand: Mapping[str, int], available: Mapping[str, Mapping[str, int]]) -> bool:
    return all(sum(_avail(available, w, sku) for w in subset) >= qty for sku, qty in demand.items())


def _fill(
    subset: tuple[str, ...],
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    distance_m: Mapping[str, float],
) -> tuple[PlannedShipment, ...]:
    """Assign quantities nearest-first inside a covering subset (every member gets something when the
    subset is minimal)."""
    ordered = sorted(subset, key=lambda w: (distance_m[w], w))
    per_warehouse: dict[str, list[tuple[str, int]]] = {w: [] for w in ordered}
    for sku in sorted(demand):
        remaining = demand[sku]
        for w in ordered:
            if remaining <= 0:
                break
            take = min(remaining, _avail(available, w, sku))
            if take > 0:
                per_warehouse[w].append((sku, take))
                remaining -= take
    return tuple(
        PlannedShipment(warehouse_id=w, lines=tuple(per_warehouse[w]), distance_m=distance_m[w])
        for w in ordered
        if per_warehouse[w]
    )


def plan_allocation(
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    sites: Mapping[str, tuple[float, float]],
    delivery: tuple[float, float],
    *,
    subset_budget: int = DEFAULT_SUBSET_BUDGET,
) -> AllocationPlan | None:
    """The best plan for ``demand`` (sku -> qty > 0), or None when all warehouses together fall short.

    ``available`` is warehouse -> sku -> free quantity; ``sites`` warehouse -> (lat, lng); warehouses
    without a site are ignored. Minimises the shipment count, then the total distance (ties: ids).
    """
    demand = {sku: int(qty) for sku, qty in demand.items() if qty > 0}
    if not demand:
        return AllocationPlan(shipments=())
    distance_m = _distances(sites, delivery)
    candidates = sorted(
        (w for w in sites if any(_avail(available, w, sku) > 0 for sku in demand)),
        key=lambda w: (distance_m[w], w),
    )
    if not _covers(tuple(candidates), demand, available):
        return None
    examined = 0
    for size in range(1, len(candidates) + 1):
        best_key: tuple[float, tuple[str, ...]] | None = None
        best_subset: tuple[str, ...] = ()
        for subset in combinations(candidates, size):
            examined += 1
            if examined > subset_budget:
                return _greedy_plan(demand, available, candidates, distance_m)
            if not _covers(subset, demand, available):
                continue
            key = (sum(distance_m[w] for w in subset), tuple(sorted(subset)))
            if best_key is None or key < best_key:
                best_key, best_subset = key, subset
        if best_key is not None:
            return AllocationPlan(shipments=_fill(best_subset, demand, available, distance_m))
    return None  # unreachable: the full candidate set covers


def _greedy_plan(
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    candidates: list[str],
    distance_m: Mapping[str, float],
) -> AllocationPlan:
    """Greedy cover for very many warehouses: repeatedly take the site covering the most remaining units
    (nearest on ties), then prune sites the rest no longer needs."""
    remaining = dict(demand)
    chosen: list[str] = []
    pool = list(candidates)
    while any(q > 0 for q in remaining.values()):
        best = max(
            pool,
            key=lambda w: (sum(min(q, _avail(available, w, sku)) for sku, q in remaining.items()), -distance_m[w]),
        )
        pool.remove(best)
        chosen.append(best)
        for sku, q in remaining.items():
            remaining[sku] = max(0, q - _avail(available, best, sku))
    for w in sorted(chosen, key=lambda w: -distance_m[w]):
        rest = tuple(x for x in chosen if x != w)
        if rest and _covers(rest, demand, available):
            chosen = list(rest)
    return AllocationPlan(shipments=_fill(tuple(chosen), demand, available, distance_m), exact=False)


def describe_shortage(
    demand: Mapping[str, int],
    available: Mapping[str, Mapping[str, int]],
    sites: Mapping[str, tuple[float, float]],
    delivery: tuple[float, float],
) -> ShortageReport:
    """What is missing per SKU over all warehouses, and which transfers would stock the warehouse
    nearest to the delivery point as far as possible."""
    requested = {sku: int(q) for sku, q in sorted(demand.items()) if q > 0}
    totals = {sku: sum(_avail(available, w, sku) for w in sites) for sku in requested}
    missing = {sku: q - totals[sku] for sku, q in requested.items() if totals[sku] < q}
    if not sites:
        return ShortageReport(requested, totals, missing, None, (), dict(requested))
    distance_m = _distances(sites, delivery)
    nearest = min(sites, key=lambda w: (distance_m[w], w))
    n_lat, n_lng = sites[nearest]
    from_nearest = {w: haversine_m(lat, lng, n_lat, n_lng) for w, (lat, lng) in sites.items()}
    donors = sorted((w for w in sites if w != nearest), key=lambda w: (from_nearest[w], w))
    transfers: list[Transfer] = []
    still_missing: dict[str, int] = {}
    for sku, qty in requested.items():
        need = qty - _avail(available, nearest, sku)
        for w in donors:
            if need <= 0:
                break
            take = min(need, _avail(available, w, sku))
            if take > 0:
                transfers.append(Transfer(w, nearest, sku, take))
                need -= take
        if need > 0:
            still_missing[sku] = need
    return ShortageReport(requested, totals, missing, nearest, tuple(transfers), still_missing)
