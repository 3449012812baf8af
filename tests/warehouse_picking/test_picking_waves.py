"""Order batching: carts are never overfilled, every order is in exactly one batch, and the walk shrinks."""

from __future__ import annotations

import random

import pytest

from warehouse_picking.layouts import Layout, parse_layout
from warehouse_picking.routes import build_problem, solve
from warehouse_picking.waves import (
    CartLimits,
    OrderDoesNotFitCart,
    PickItem,
    batch_orders,
    merge_by_savings,
    one_order_at_a_time_m,
    plan_wave,
    quick_tour_length,
)


def layout() -> Layout:
    return parse_layout(
        {
            "kind": "rectangular",
            "aisles": 8,
            "aisle_spacing_m": 3.0,
            "aisle_length_m": 24.0,
            "blocks": 2,
            "slots_per_side": 12,
            "depot_x_m": 0.0,
        }
    )


def random_orders(seed: int, count: int) -> dict[str, list[PickItem]]:
    rng = random.Random(seed)
    ids = layout().all_slot_ids()
    return {
        f"o{n}": [
            PickItem(f"o{n}", f"s{line}", rng.randint(1, 3), rng.choice(ids), rng.uniform(0.2, 1.0), 0.01)
            for line in range(rng.randint(1, 4))
        ]
        for n in range(count)
    }


@pytest.mark.parametrize("seed", range(4))
def test_batches_respect_the_cart_and_cover_every_order_once(seed: int) -> None:
    orders = random_orders(seed, 25)
    cart = CartLimits(max_items=15, max_weight_kg=20.0, max_volume_m3=0.2)
    batches = batch_orders(layout(), orders, cart)
    placed = [o for b in batches for o in b.order_ids]
    assert sorted(placed) == sorted(orders)
    for batch in batches:
        assert batch.item_count <= cart.max_items
        assert batch.weight_kg <= cart.max_weight_kg + 1e-9
        assert batch.volume_m3 <= cart.max_volume_m3 + 1e-9
        slots = sorted({item.slot_id for o in batch.order_ids for item in orders[o]})
        assert sorted(set(batch.route.sequence)) == slots
        assert batch.route.distance_m == pytest.approx(
            solve(build_problem(layout(), slots), method="held_karp" if len(slots) <= 9 else "dp").distance_m
        )
    assert sum(b.route.distance_m for b in batches) < one_order_at_a_time_m(layout(), orders)


def test_a_roomy_cart_takes_everything_in_one_trip() -> None:
    orders = random_orders(9, 6)
    batches = batch_orders(layout(), orders, CartLimits(max_items=1000, max_weight_kg=1e6, max_volume_m3=1e3))
    assert len(batches) == 1


def test_an_order_larger_than_the_cart_is_split_into_full_trips_and_blocks_no_one() -> None:
    orders = {
        "big": [PickItem("big", "s1", 50, "A01-L-001", 3.0), PickItem("big", "s3", 7, "A05-R-004", 1.0)],
        "small": [PickItem("small", "s2", 1, "A02-L-001", 1.0)],
    }
    cart = CartLimits(max_items=10, max_weight_kg=25.0, max_volume_m3=1.0)
    plan = plan_wave(layout(), orders, cart)
    assert plan.split_orders == ["big"] and plan.left_out == []
    carried: dict[tuple[str, str], int] = {}
    for batch in plan.batches:
        assert batch.item_count <= cart.max_items and batch.weight_kg <= cart.max_weight_kg + 1e-9
        assert batch.order_ids == list(dict.fromkeys(item.order_id for item in batch.items))
        for item in batch.items:
            carried[(item.order_id, item.sku)] = carried.get((item.order_id, item.sku), 0) + item.qty
    assert carried == {("big", "s1"): 50, ("big", "s3"): 7, ("small", "s2"): 1}
    # 157 kg at 25 kg a cart: at least 7 trips, and no more than one partly filled trip of the big order
    assert len([b for b in plan.batches if "big" in b.order_ids]) == 7
    assert batch_orders(layout(), orders, cart) != []


def test_an_order_with_a_unit_heavier_than_the_cart_is_left_out_by_name() -> None:
    orders = {
        "anvil": [PickItem("anvil", "s1", 1, "A01-L-001", 120.0), PickItem("anvil", "s2", 1, "A01-L-002")],
        "small": [PickItem("small", "s2", 1, "A02-L-001")],
    }
    cart = CartLimits(max_items=10, max_weight_kg=100.0, max_volume_m3=1.0)
    plan = plan_wave(layout(), orders, cart)
    assert [b.order_ids for b in plan.batches] == [["small"]]
    assert [(o.order_id, o.reason_code) for o in plan.left_out] == [("anvil", "unit_exceeds_cart")]
    with pytest.raises(OrderDoesNotFitCart) as error:
        batch_orders(layout(), orders, cart)
    assert "anvil" in error.value.message and "small" not in error.value.message


def test_quick_tour_is_exact_for_few_stops_and_an_upper_bound_otherwise() -> None:
    problem = build_problem(layout(), random.Random(3).sample(layout().all_slot_ids(), 20))
    few = [1, 2, 3, 4, 5]
    sub = build_problem(layout(), [problem.stops[i - 1].slot_ids[0] for i in few])
    assert quick_tour_length(problem.matrix, few) == pytest.approx(solve(sub, method="held_karp").distance_m)
    everything = list(range(1, len(problem.stops) + 1))
    assert quick_tour_length(problem.matrix, everything) >= solve(problem, method="dp").distance_m - 1e-6


def test_an_order_without_items_is_refused_not_merged_with_a_neighbours_distance() -> None:
    orders = random_orders(3, 4)
    orders["empty"] = []
    with pytest.raises(ValueError, match="empty"):
        merge_by_savings(layout(), orders, CartLimits(max_items=1000, max_weight_kg=1e6, max_volume_m3=1e3))
