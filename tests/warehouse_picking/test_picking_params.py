"""PickingParams: the defaults are the tuned constants, other values route through other solvers and
still give valid (and, for exact methods, optimal) walks; nonsense is refused; settings reach them."""

from __future__ import annotations

import dataclasses

import pytest

from api.settings import Settings
from tests.warehouse_picking.test_picking_routes import assert_valid, brute_force_m, rectangular
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.routes import build_problem, pick_route, solve
from warehouse_picking.waves import CartLimits, PickItem, batch_orders

TUNED = {
    "held_karp_max_stops": 9,
    "held_karp_max_stops_no_dp": 11,
    "dp_max_blocks": 5,
    "time_limit_s": 1.0,
    "wave_time_limit_s": 0.5,
    "mip_time_share": 0.6,
    "min_ortools_time_s": 0.1,
    "wave_neighbours": 25,
    "dp_max_interned_states": 100_000,
    "dp_max_memo_entries": 1_000_000,
}
SLOTS = ["A01-L-003", "A02-R-008", "A03-L-001", "A04-R-010", "A05-L-006", "A02-L-002"]


def test_defaults_are_the_tuned_constants() -> None:
    assert dataclasses.asdict(PickingParams()) == TUNED


def test_few_stops_use_held_karp_by_default_and_the_dp_below_a_tiny_limit() -> None:
    layout = rectangular(aisles=5, blocks=2, slots=10, depot_x=0.0)
    problem = build_problem(layout, SLOTS)
    best = brute_force_m(problem)
    default = pick_route(layout, SLOTS)
    assert default.method == "held_karp"
    tiny = pick_route(layout, SLOTS, params=PickingParams(held_karp_max_stops=1))
    assert tiny.method == "exact_dp"
    assert_valid(problem, SLOTS, tiny)
    assert tiny.distance_m == pytest.approx(default.distance_m) == pytest.approx(best)


def test_without_the_dp_auto_falls_back_to_the_mip_or_ortools() -> None:
    layout = rectangular(aisles=5, blocks=2, slots=10, depot_x=0.0)
    problem = build_problem(layout, SLOTS)
    params = PickingParams(held_karp_max_stops=1, held_karp_max_stops_no_dp=1, dp_max_blocks=1)
    route = solve(problem, params=params, time_limit_s=2.0)
    assert route.method in ("exact_mip", "ortools_gls")
    assert_valid(problem, SLOTS, route)
    assert route.distance_m >= brute_force_m(problem) - 1e-6


def test_dp_memo_limits_only_bound_memory() -> None:
    layout = rectangular(aisles=6, blocks=3, slots=10, depot_x=4.0)
    slots = [*SLOTS[:5], "A06-R-004", "A01-R-007", "A03-R-005", "A05-R-002", "A06-L-008"]
    exact = pick_route(layout, slots, method="dp")
    tiny = PickingParams(dp_max_interned_states=0, dp_max_memo_entries=0)
    again = pick_route(layout, slots, method="dp", params=tiny)
    assert again.method == exact.method == "exact_dp"
    assert again.distance_m == pytest.approx(exact.distance_m)


def test_waves_take_their_time_limit_and_neighbours_from_the_params() -> None:
    layout = rectangular(aisles=5, blocks=1, slots=10, depot_x=0.0)
    orders = {f"o{i}": [PickItem(f"o{i}", f"s{i}", 1, slot)] for i, slot in enumerate(SLOTS)}
    cart = CartLimits(max_items=3, max_weight_kg=100.0, max_volume_m3=1.0)
    default = batch_orders(layout, orders, cart)
    narrow = batch_orders(layout, orders, cart, params=PickingParams(wave_neighbours=1, wave_time_limit_s=0.05))
    for batches in (default, narrow):
        assert sorted(o for b in batches for o in b.order_ids) == sorted(orders)
        assert all(len(b.items) <= 3 for b in batches)


@pytest.mark.parametrize(
    "field, value",
    [
        ("held_karp_max_stops", 17),
        ("held_karp_max_stops_no_dp", -1),
        ("dp_max_blocks", -1),
        ("time_limit_s", 0.0),
        ("wave_time_limit_s", float("inf")),
        ("mip_time_share", 1.5),
        ("wave_neighbours", 0),
        ("dp_max_memo_entries", 2.5),
    ],
)
def test_nonsense_is_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PickingParams(**{field: value})  # type: ignore[arg-type]


def test_settings_reach_the_params(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().picking == DEFAULT_PICKING_PARAMS
    monkeypatch.setenv("DISPATCH_PICKING__TIME_LIMIT_S", "2.5")
    monkeypatch.setenv("DISPATCH_PICKING__DP_MAX_BLOCKS", "3")
    assert Settings().picking == PickingParams(time_limit_s=2.5, dp_max_blocks=3)
    monkeypatch.setenv("DISPATCH_PICKING__MIP_TIME_SHARE", "0")
    with pytest.raises(ValueError, match="mip_time_share"):
        Settings()
