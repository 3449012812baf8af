"""``dispatch bench pick``: pick-route quality and speed on generated rectangular warehouses.

For 1..4 blocks and 5..100 picks (a few seeded cases each, depot at an aisle, between aisles and
outside), the service's route (``pick_route``, method auto) is compared in the same run with:
- the optimum proven by an independent exact method: Held-Karp up to 12 stops, otherwise the
  segment-mode MIP (HiGHS) when it proves optimality within its time limit (the route itself comes
  from the exact frontier DP, so every case is proven optimal; the independent check says by whom);
- the S-shape policy (the classic baseline) and OR-Tools guided local search with a short limit.
Batching: seed-and-savings waves against picking one order at a time, same orders, same layout.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.report import JsonOption, figures_table, percentile, print_json_line, progress_bar
from warehouse_picking.layouts import Layout, parse_layout
from warehouse_picking.routes import build_problem, pick_route, solve
from warehouse_picking.waves import CartLimits, PickItem, batch_orders, one_order_at_a_time_m

SIZES = (5, 10, 20, 30, 50, 75, 100)
QUICK_SIZES = (5, 10, 20)
HELD_KARP_LIMIT = 12
# Route methods whose answer is optimal by construction.
PROVEN_METHODS = ("exact_dp", "held_karp", "exact_mip", "trivial")


def bench_layout(blocks: int, seed: int) -> Layout:
    """10 aisles x 30 m, 25 positions per side; the depot moves with the seed (aisle / between / outside)."""
    depot_x = (0.0, 13.5, -2.0)[seed % 3]
    return parse_layout(
        {
            "kind": "rectangular",
            "aisles": 10,
            "aisle_spacing_m": 3.0,
            "aisle_length_m": 30.0,
            "blocks": blocks,
            "slots_per_side": 25,
            "depot_x_m": depot_x,
        }
    )


@dataclass
class CaseResult:
    blocks: int
    picks: int
    stops: int
    distance_m: float
    optimum_m: float
    verified_by: str  # held_karp, mip or "" (no independent proof within the limit)
    route_ms: float
    s_shape_m: float
    ortools_m: float
    method: str

    @property
    def gap_pct(self) -> float:
        return 100.0 * (self.distance_m - self.optimum_m) / self.optimum_m if self.optimum_m > 0 else 0.0

    @property
    def s_shape_excess_pct(self) -> float:
        """How much longer the S-shape route walks than ours, in percent."""
        return 100 * (self.s_shape_m / self.distance_m - 1)

    @property
    def ortools_excess_pct(self) -> float:
        """How much longer OR-Tools' route walks than ours, in percent."""
        return 100 * (self.ortools_m / self.distance_m - 1)


def run_case(blocks: int, picks: int, seed: int, mip_limit_s: float, ortools_limit_s: float) -> CaseResult:
    """One seeded case: route it, time it, and measure it against the exact check and the baselines."""
    layout = bench_layout(blocks, seed)
    rng = random.Random(f"pick-{blocks}-{picks}-{seed}")
    slots = rng.sample(layout.all_slot_ids(), picks)
    started = time.perf_counter()
    route = pick_route(layout, slots)
    route_ms = (time.perf_counter() - started) * 1000.0
    problem = build_problem(layout, slots)
    optimum, verified_by = route.distance_m, ""
    if len(problem.stops) <= HELD_KARP_LIMIT:
        optimum, verified_by = solve(problem, method="held_karp").distance_m, "held_karp"
    else:
        mip = solve(problem, method="mip", time_limit_s=mip_limit_s)
        if mip.proven_optimal:
            optimum, verified_by = mip.distance_m, "mip"
    s_shape = solve(problem, method="s_shape")
    ortools = solve(problem, method="ortools", time_limit_s=ortools_limit_s)
    return CaseResult(
        blocks=blocks,
        picks=picks,
        stops=len(problem.stops),
        distance_m=route.distance_m,
        optimum_m=min(optimum, route.distance_m) if verified_by == "" else optimum,
        verified_by=verified_by,
        route_ms=route_ms,
        s_shape_m=float(s_shape.policy_distance_m or s_shape.distance_m),
        ortools_m=ortools.distance_m,
        method=route.method,
    )


def batching_saving(seed: int, orders: int) -> tuple[float, float]:
    """Walk of seed-and-savings waves vs one order per trip (2-block layout, mixed order sizes)."""
    layout = bench_layout(2, seed)
    rng = random.Random(f"waves-{seed}")
    ids = layout.all_slot_ids()
    book: dict[str, list[PickItem]] = {}
    for n in range(orders):
        order_id = f"o{n:03d}"
        book[order_id] = [
            PickItem(order_id, f"sku-{line}", rng.randint(1, 3), rng.choice(ids), 1.0, 0.005)
            for line in range(rng.randint(1, 5))
        ]
    cart = CartLimits(max_items=30, max_weight_kg=40.0, max_volume_m3=0.3)
    batched = sum(b.route.distance_m for b in batch_orders(layout, book, cart))
    single = one_order_at_a_time_m(layout, book)
    return batched, single


@dataclass(frozen=True)
class Plan:
    """Which cases run (block counts x sizes x seeds, batching seeds) and the limits of the checks."""

    sizes: tuple[int, ...]
    block_counts: tuple[int, ...]
    seeds: int
    batch_seeds: int
    orders: int
    mip_limit_s: float
    ortools_limit_s: float

    @classmethod
    def of(cls, quick: bool, seeds: int | None, orders: int, mip_limit_s: float, ortools_limit_s: float) -> Plan:
        """The full plan, or with ``quick`` small sizes, fewer seeds and tighter limits (a smoke run)."""
        if quick:
            return cls(QUICK_SIZES, (1, 2), seeds or 2, 1, min(orders, 12), min(mip_limit_s, 0.5), ortools_limit_s)
        return cls(SIZES, (1, 2, 3, 4), seeds or 3, 3, orders, mip_limit_s, ortools_limit_s)

    def cases(self) -> list[tuple[int, int, int]]:
        """(blocks, picks, seed) of every routing case, in table order."""
        return [(b, n, s) for b in self.block_counts for n in self.sizes for s in range(self.seeds)]


def command(
    json_output: JsonOption = False,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes and fewer seeds (a smoke run).")] = False,
    seeds: Annotated[int | None, typer.Option(help="Seeded cases per (blocks, picks).", min=1)] = None,
    mip_limit_s: Annotated[float, typer.Option(help="Time limit of the independent MIP check.")] = 1.0,
    ortools_limit_s: Annotated[float, typer.Option(help="Time limit of the OR-Tools baseline.")] = 0.1,
    orders: Annotated[int, typer.Option(help="Orders per batching case.", min=2)] = 40,
) -> None:
    """Pick routes vs proven optimum, S-shape and OR-Tools; p50/p95 solve time; batching saving."""
    console = Console(stderr=True)
    plan = Plan.of(quick, seeds, orders, mip_limit_s, ortools_limit_s)
    results, savings = run_plan(plan, console)
    Console(width=160).print(routes_table(plan, results))
    summary = summarise(results, savings)
    console.print(headline(summary), highlight=False)
    if json_output:
        print_json_line(summary)


def run_plan(plan: Plan, console: Console) -> tuple[list[CaseResult], list[tuple[float, float]]]:
    """Every routing case, then every batching case; returns the cases' results and (batched, single) walks."""
    cases = plan.cases()
    results: list[CaseResult] = []
    savings: list[tuple[float, float]] = []
    with progress_bar(console, label="[bold]{task.description}") as progress:
        task = progress.add_task("pick routes", total=len(cases) + plan.batch_seeds)
        for blocks, picks, seed in cases:
            results.append(run_case(blocks, picks, seed, plan.mip_limit_s, plan.ortools_limit_s))
            progress.advance(task)
        for seed in range(plan.batch_seeds):
            savings.append(batching_saving(seed, plan.orders))
            progress.advance(task)
    return results, savings


ROUTE_COLUMNS = (
    "blocks",
    "picks",
    "cases",
    "stops",
    "mean gap %",
    "max gap %",
    "p50 ms",
    "p95 ms",
    "S-shape excess %",
    "OR-Tools excess %",
    "independently proven",
)


def routes_table(plan: Plan, results: list[CaseResult]) -> Table:
    """One row per (blocks, picks): gap to the optimum, solve time, the baselines' excess, independent proofs."""
    table = figures_table("Pick routes: ours vs proven optimum, S-shape and OR-Tools GLS", ROUTE_COLUMNS)
    for blocks in plan.block_counts:
        for picks in plan.sizes:
            group = [r for r in results if r.blocks == blocks and r.picks == picks]
            times = [r.route_ms for r in group]
            table.add_row(
                str(blocks),
                str(picks),
                str(len(group)),
                f"{statistics.mean(r.stops for r in group):.1f}",
                f"{statistics.mean(r.gap_pct for r in group):.3f}",
                f"{max(r.gap_pct for r in group):.3f}",
                f"{percentile(times, 50, method='nearest'):.1f}",
                f"{percentile(times, 95, method='nearest'):.1f}",
                f"{statistics.mean(r.s_shape_excess_pct for r in group):.1f}",
                f"{statistics.mean(r.ortools_excess_pct for r in group):.2f}",
                f"{sum(1 for r in group if r.verified_by)}/{len(group)}",
            )
    return table


def summarise(results: list[CaseResult], savings: list[tuple[float, float]]) -> dict[str, Any]:
    """The JSON summary: gaps, solve times, baselines' excess, proofs and the batching saving."""
    batched = sum(b for b, _s in savings)
    single = sum(s for _b, s in savings)
    saving_pct = 100.0 * (1 - batched / single) if single else 0.0
    all_ms = [r.route_ms for r in results]
    return {
        "cases": len(results),
        "mean_gap_pct": round(statistics.mean(r.gap_pct for r in results), 4),
        "max_gap_pct": round(max(r.gap_pct for r in results), 4),
        "p50_ms": round(percentile(all_ms, 50, method="nearest"), 2),
        "p95_ms": round(percentile(all_ms, 95, method="nearest"), 2),
        "s_shape_mean_excess_pct": round(statistics.mean(r.s_shape_excess_pct for r in results), 2),
        "ortools_mean_excess_pct": round(statistics.mean(r.ortools_excess_pct for r in results), 3),
        "proven_optimal_cases": sum(1 for r in results if r.method in PROVEN_METHODS),
        "independently_proven_cases": sum(1 for r in results if r.verified_by),
        "held_karp_verified_cases": sum(1 for r in results if r.verified_by == "held_karp"),
        "mip_verified_cases": sum(1 for r in results if r.verified_by == "mip"),
        "batching_saving_pct": round(saving_pct, 2),
        "batching_walk_m": round(batched, 1),
        "one_order_at_a_time_walk_m": round(single, 1),
    }


def headline(summary: dict[str, Any]) -> str:
    """The summary in one line, with the targets beside the figures."""
    return (
        f"routes: mean gap {summary['mean_gap_pct']}%, max gap {summary['max_gap_pct']}% (targets <= 0.1% / 1%); "
        f"p95 {summary['p95_ms']} ms (target <= 200 ms); S-shape walks {summary['s_shape_mean_excess_pct']}% more; "
        f"{summary['independently_proven_cases']}/{summary['cases']} optima confirmed by Held-Karp or the MIP; "
        f"batching saves {summary['batching_saving_pct']}% of the walk vs one order per trip"
    )
