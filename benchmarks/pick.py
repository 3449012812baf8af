"""``dispatch bench pick``: pick-route quality and speed on generated rectangular warehouses.

For 1..4 blocks and 5..100 picks (a few seeded cases each, depot at an aisle, between aisles and
outside), the service's route (``pick_route``, method auto: Held-Karp for few stops, else the frontier
DP) is compared in the same run with:
- the optimum proven by an exact method OTHER than the one that produced the route (``pick_proofs``:
  CP-SAT's circuit model on the same millimetre matrix, no hint; if it runs out of time, the graph MIP),
  with the prover's own dual bound; a case no second method proves within ``--proof-limit-s`` (per
  prover) is "unverified", listed, and left out of the gap figures;
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

from benchmarks.pick_proofs import SCALE, Proof, integer_matrix, prove_route
from benchmarks.report import JsonOption, figures_table, percentile, print_json_line, progress_bar
from warehouse_picking.layouts import Layout, parse_layout
from warehouse_picking.routes import build_problem, pick_route, solve
from warehouse_picking.waves import CartLimits, PickItem, batch_orders, one_order_at_a_time_m

SIZES = (5, 10, 20, 30, 50, 75, 100)
QUICK_SIZES = (5, 10, 20)


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
    seed: int
    stops: int
    distance_m: float
    proof: Proof  # by a second method, on the same millimetre matrix
    rounding_error_m: float  # largest |matrix - millimetre matrix| of this case
    route_ms: float
    s_shape_m: float
    ortools_m: float

    @property
    def name(self) -> str:
        """The case as the unverified list names it."""
        return f"b{self.blocks}-p{self.picks}-s{self.seed}"

    @property
    def s_shape_excess_pct(self) -> float:
        """How much longer the S-shape route walks than ours, in percent."""
        return 100 * (self.s_shape_m / self.distance_m - 1)

    @property
    def ortools_excess_pct(self) -> float:
        """How much longer OR-Tools' route walks than ours, in percent."""
        return 100 * (self.ortools_m / self.distance_m - 1)

    def detail(self) -> dict[str, Any]:
        """The case's proof as the JSON's ``proofs`` list shows it (lengths in metres)."""
        p = self.proof
        gap = p.gap_pct
        return {
            "case": self.name,
            "stops": self.stops,
            "produced_by": p.produced_by,
            "proved_by": p.proved_by,
            "verdict": p.verdict,
            "route_m": p.route_mm / SCALE,
            "optimum_m": None if p.optimum_mm is None else p.optimum_mm / SCALE,
            "dual_bound_m": p.dual_bound_mm / SCALE,
            "gap_pct": None if gap is None else round(gap, 4),
            "gap_to_bound_pct": round(p.gap_to_bound_pct, 4),
            "prove_ms": round(p.prove_ms, 1),
            "tried": list(p.tried),
            "closed_by_bound": p.closed_by_bound,
            "bounds_m": {name: bound / SCALE for name, bound in zip(p.tried, p.bounds, strict=True)},
        }


def run_case(blocks: int, picks: int, seed: int, proof_limit_s: float, ortools_limit_s: float) -> CaseResult:
    """One seeded case: route it, time it, prove it by a second method, and run the baselines."""
    layout = bench_layout(blocks, seed)
    rng = random.Random(f"pick-{blocks}-{picks}-{seed}")
    slots = rng.sample(layout.all_slot_ids(), picks)
    started = time.perf_counter()
    route = pick_route(layout, slots)
    route_ms = (time.perf_counter() - started) * 1000.0
    problem = build_problem(layout, slots)
    order = [i + 1 for i in route.stop_order]
    proof = prove_route(problem.matrix, order, route.method, proof_limit_s, problem=problem)
    s_shape = solve(problem, method="s_shape")
    ortools = solve(problem, method="ortools", time_limit_s=ortools_limit_s)
    return CaseResult(
        blocks=blocks,
        picks=picks,
        seed=seed,
        stops=len(problem.stops),
        distance_m=route.distance_m,
        proof=proof,
        rounding_error_m=integer_matrix(problem.matrix)[1],
        route_ms=route_ms,
        s_shape_m=float(s_shape.policy_distance_m or s_shape.distance_m),
        ortools_m=ortools.distance_m,
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
    proof_limit_s: float
    ortools_limit_s: float

    @classmethod
    def of(cls, quick: bool, seeds: int | None, orders: int, proof_limit_s: float, ortools_limit_s: float) -> Plan:
        """The full plan, or with ``quick`` small sizes, fewer seeds and tighter limits (a smoke run)."""
        if quick:
            return cls(QUICK_SIZES, (1, 2), seeds or 2, 1, min(orders, 12), min(proof_limit_s, 5.0), ortools_limit_s)
        return cls(SIZES, (1, 2, 3, 4), seeds or 3, 3, orders, proof_limit_s, ortools_limit_s)

    def cases(self) -> list[tuple[int, int, int]]:
        """(blocks, picks, seed) of every routing case, in table order."""
        return [(b, n, s) for b in self.block_counts for n in self.sizes for s in range(self.seeds)]


def command(
    json_output: JsonOption = False,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes and fewer seeds (a smoke run).")] = False,
    seeds: Annotated[int | None, typer.Option(help="Seeded cases per (blocks, picks).", min=1)] = None,
    proof_limit_s: Annotated[
        float, typer.Option(help="Time limit of each second-method prover per case.", min=0.001)
    ] = 30.0,
    ortools_limit_s: Annotated[float, typer.Option(help="Time limit of the OR-Tools baseline.")] = 0.1,
    orders: Annotated[int, typer.Option(help="Orders per batching case.", min=2)] = 40,
) -> None:
    """Pick routes vs the optimum a second exact method proves, S-shape and OR-Tools; solve times; batching."""
    console = Console(stderr=True)
    plan = Plan.of(quick, seeds, orders, proof_limit_s, ortools_limit_s)
    results, savings = run_plan(plan, console)
    Console(width=200).print(routes_table(plan, results))
    summary = summarise(results, savings, plan)
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
            results.append(run_case(blocks, picks, seed, plan.proof_limit_s, plan.ortools_limit_s))
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
    "produced by",
    "proved by",
    "proved optimal (2nd method)",
    "mean gap %",
    "max gap %",
    "max gap to dual bound %",
    "p50 ms",
    "p95 ms",
    "proof max s",
    "S-shape excess %",
    "OR-Tools excess %",
)


def _gaps(results: list[CaseResult]) -> list[float]:
    """Gaps of the verified cases only (an unverified case has no proven optimum to measure against)."""
    return [gap for r in results if (gap := r.proof.gap_pct) is not None]


def _methods(results: list[CaseResult], attribute: str) -> dict[str, int]:
    """How many cases each producer (or prover) accounts for."""
    counts: dict[str, int] = {}
    for r in results:
        name = getattr(r.proof, attribute) or "none"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _cp_sat_gaps(results: list[CaseResult]) -> list[float]:
    """Each case's route over CP-SAT's own dual bound, in percent (cases where CP-SAT ran)."""
    gaps = []
    for r in results:
        for name, bound in zip(r.proof.tried, r.proof.bounds, strict=True):
            if name == "cp_sat_circuit" and bound > 0:
                gaps.append(100.0 * (r.proof.route_mm - bound) / bound)
    return gaps


def routes_table(plan: Plan, results: list[CaseResult]) -> Table:
    """One row per (blocks, picks): who produced and who proved, gaps, solve and proof times, baselines."""
    table = figures_table(
        "Pick routes: ours vs the optimum a second method proves, S-shape and OR-Tools GLS", ROUTE_COLUMNS
    )
    for blocks in plan.block_counts:
        for picks in plan.sizes:
            group = [r for r in results if r.blocks == blocks and r.picks == picks]
            times = [r.route_ms for r in group]
            gaps = _gaps(group)
            table.add_row(
                str(blocks),
                str(picks),
                str(len(group)),
                f"{statistics.mean(r.stops for r in group):.1f}",
                ", ".join(_methods(group, "produced_by")),
                ", ".join(f"{name} {count}" for name, count in _methods(group, "proved_by").items()),
                f"{sum(1 for r in group if r.proof.verdict == 'optimal')}/{len(group)}",
                f"{statistics.mean(gaps):.3f}" if gaps else "-",
                f"{max(gaps):.3f}" if gaps else "-",
                f"{max(r.proof.gap_to_bound_pct for r in group):.3f}",
                f"{percentile(times, 50, method='nearest'):.1f}",
                f"{percentile(times, 95, method='nearest'):.1f}",
                f"{max(r.proof.prove_ms for r in group) / 1000.0:.2f}",
                f"{statistics.mean(r.s_shape_excess_pct for r in group):.1f}",
                f"{statistics.mean(r.ortools_excess_pct for r in group):.2f}",
            )
    return table


def summarise(results: list[CaseResult], savings: list[tuple[float, float]], plan: Plan) -> dict[str, Any]:
    """The JSON summary: gaps over the verified cases, proofs and dual bounds, times, baselines, batching."""
    batched = sum(b for b, _s in savings)
    single = sum(s for _b, s in savings)
    saving_pct = 100.0 * (1 - batched / single) if single else 0.0
    all_ms = [r.route_ms for r in results]
    gaps = _gaps(results)
    to_bound = [r.proof.gap_to_bound_pct for r in results]
    prove_ms = [r.proof.prove_ms for r in results]
    verified = [r for r in results if r.proof.verified]
    return {
        "cases": len(results),
        # Gaps over the verified cases only; None when no case was verified.
        "mean_gap_pct": round(statistics.mean(gaps), 4) if gaps else None,
        "max_gap_pct": round(max(gaps), 4) if gaps else None,
        "p50_ms": round(percentile(all_ms, 50, method="nearest"), 2),
        "p95_ms": round(percentile(all_ms, 95, method="nearest"), 2),
        "s_shape_mean_excess_pct": round(statistics.mean(r.s_shape_excess_pct for r in results), 2),
        "ortools_mean_excess_pct": round(statistics.mean(r.ortools_excess_pct for r in results), 3),
        # Proven by a method other than the producer (the route's own method no longer counts).
        "proven_optimal_cases": sum(1 for r in results if r.proof.verdict == "optimal"),
        "independently_proven_cases": len(verified),
        "held_karp_verified_cases": sum(1 for r in verified if r.proof.proved_by == "held_karp"),
        "mip_verified_cases": sum(1 for r in verified if r.proof.proved_by in ("cp_sat_circuit", "segment_mip")),
        "batching_saving_pct": round(saving_pct, 2),
        "batching_walk_m": round(batched, 1),
        "one_order_at_a_time_walk_m": round(single, 1),
        "verified_cases": len(verified),
        "unverified_cases": len(results) - len(verified),
        "unverified": [r.name for r in results if not r.proof.verified],
        "suboptimal_cases": sum(1 for r in results if r.proof.verdict == "suboptimal"),
        "contradictions": sum(1 for r in results if r.proof.verdict == "contradiction"),
        "produced_by": _methods(results, "produced_by"),
        "proved_by": _methods(results, "proved_by"),
        "closed_by_bound_cases": sum(1 for r in results if r.proof.closed_by_bound),
        "proved_by_producer_cases": sum(1 for r in results if r.proof.proved_by == r.proof.produced_by),
        "proof_limit_s": plan.proof_limit_s,
        "proof_p50_ms": round(percentile(prove_ms, 50, method="nearest"), 1),
        "proof_max_ms": round(max(prove_ms), 1),
        "dual_bound_equals_route_cases": sum(1 for r in results if r.proof.dual_bound_mm == r.proof.route_mm),
        "mean_gap_to_dual_bound_pct": round(statistics.mean(to_bound), 4),
        "max_gap_to_dual_bound_pct": round(max(to_bound), 4),
        # CP-SAT alone (tried first on every case): how close its own bound came where it did not prove.
        "cp_sat_proved_cases": sum(1 for r in verified if r.proof.proved_by == "cp_sat_circuit"),
        "cp_sat_max_gap_to_bound_pct": round(max(_cp_sat_gaps(results), default=0.0), 4),
        "matrix_rounding_max_m": round(max(r.rounding_error_m for r in results), 9),
        "proofs": [r.detail() for r in results],
    }


def headline(summary: dict[str, Any]) -> str:
    """The summary in one line, with the targets beside the figures."""
    return (
        f"routes: {summary['proven_optimal_cases']}/{summary['cases']} proven optimal by a second method "
        f"({summary['unverified_cases']} unverified, left out of the gaps); "
        f"mean gap {summary['mean_gap_pct']}%, max gap {summary['max_gap_pct']}% (targets <= 0.1% / 1%); "
        f"max gap to the provers' dual bound {summary['max_gap_to_dual_bound_pct']}%; "
        f"p95 {summary['p95_ms']} ms (target <= 200 ms); S-shape walks {summary['s_shape_mean_excess_pct']}% more; "
        f"batching saves {summary['batching_saving_pct']}% of the walk vs one order per trip"
    )
