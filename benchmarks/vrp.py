"""``dispatch bench vrp``: delivery routes on Solomon's 100-customer VRPTW instances against best known values.

Every solver answers the same instances in the same run at each time limit: "ours" (``plan_routes``
with the default engine, what ``POST /v1/dispatch/plan`` uses), "ortools" (our OR-Tools model),
"pyvrp" (PyVRP's own solve on its ProblemData, built as its docs do: integer matrices, here x100 with
travel times rounded up so that its time-feasible answers are feasible in the real figures too) and
"vroom" (pyvroom with the same x100 matrices, one thread, the time limit as its timeout, exploration
level 5). Everyone gets the same objective, Solomon's hierarchical one: fewest vehicles (a fixed cost
per vehicle above any distance), then distance. Every answer, peers' included once converted into a
``RoutePlan``, is checked by ``routing.feasibility`` (which calls no solver) and must serve all 100
customers. The gap is in distance (real Euclidean distances) against the heuristic records of
``bkv.csv`` (rows without a suffix: the hierarchical convention); vehicles are shown beside the
records' vehicles, since a distance below the record with more vehicles is not a better answer there.

Travel: Euclidean distance between the coordinates, duration = distance, passed as a caller's
``TravelMatrix``; each vehicle leaves the depot at 0 and must be back by the depot's due date.
The data stay where they are (``../shared/data/solomon`` from the repository, found by walking up,
or ``--data`` / ``DISPATCH_SOLOMON_DIR``).
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.report import JsonOption, figures_table, print_json_line, progress_bar
from routing import plan_routes
from routing.feasibility import check_plan
from routing.model import Point, RoutePlan, RoutingProblem, Stop, TravelMatrix, Vehicle
from routing.schedule import build_plan
from routing.solvers import DEFAULT_SOLVER

FAMILIES = ("c1", "c2", "r1", "r2", "rc1", "rc2")
DEFAULT_INSTANCES = ("c101", "c105", "c201", "c205", "r101", "r105", "r201", "r205", "rc101", "rc105", "rc201", "rc205")
SOLVERS = ("ours", "ortools", "pyvrp", "vroom")
FLEET = 25  # Solomon's customary fleet; every record needs fewer
PEER_SCALE = 100  # peers' integer matrices: 0.01 of a distance unit


@dataclass(frozen=True)
class Instance:
    name: str
    problem: RoutingProblem
    bkv_vehicles: int
    bkv_distance: float


@dataclass(frozen=True)
class Answer:
    solver: str
    instance: str
    time_limit_s: float
    vehicles: int
    distance: float
    gap_pct: float
    violations: tuple[str, ...]
    seconds: float
    bkv_vehicles: int

    @property
    def feasible(self) -> bool:
        return not self.violations


def solomon_dir(override: str | None = None) -> Path:
    """``--data``, else ``DISPATCH_SOLOMON_DIR``, else ``shared/data/solomon`` beside the repo or a parent of it."""
    chosen = override or os.environ.get("DISPATCH_SOLOMON_DIR")
    if chosen:
        return Path(chosen)
    repo = Path(__file__).resolve().parents[1]
    for parent in repo.parents:
        candidate = parent / "shared" / "data" / "solomon"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "data" / "solomon"


def load_problem(path: Path, fleet: int = FLEET) -> RoutingProblem:
    """A Solomon file as a routing problem: Euclidean travel, the depot's due date as every shift end."""
    lines = path.read_text().splitlines()
    capacity = float(lines[0].split()[-1])
    rows = [[float(x) for x in line.split()] for line in lines[2:] if line.strip()]
    xy = np.array([[row[1], row[2]] for row in rows])
    matrix = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    depot = rows[0]
    stops = tuple(
        Stop(str(int(row[0]) - 1), Point(row[2], row[1]), row[3], service_s=row[6], window=(row[4], row[5]))
        for row in rows[1:]
    )
    vehicles = tuple(Vehicle(f"v{k}", capacity, None, depot[5]) for k in range(fleet))
    return RoutingProblem(Point(depot[2], depot[1]), vehicles, stops, TravelMatrix(matrix, matrix.copy()))


def best_known(directory: Path) -> dict[str, tuple[int, float]]:
    """Hierarchical-convention records (rows without a ``.25/.50/.100`` suffix): instance -> (vehicles, distance)."""
    with (directory / "bkv.csv").open() as handle:
        return {
            row["base_instance"]: (int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(handle)
            if "." not in row["problem"]
        }


def choose_instances(spec: str | None, directory: Path) -> list[str]:
    """``None``: two per family; ``all``: all 56; else names or families (``c1``, ``rc2``) separated by commas."""
    every = sorted(path.stem for path in directory.glob("*.txt"))
    if not spec:
        return list(DEFAULT_INSTANCES)
    if spec == "all":
        return every
    names: list[str] = []
    for item in (part.strip().lower() for part in spec.split(",") if part.strip()):
        if item in FAMILIES:
            names += [n for n in every if n.rstrip("0123456789") == item[:-1] and n[len(item) - 1] == item[-1]]
        elif item in every:
            names.append(item)
        else:
            raise typer.BadParameter(f"unknown instance {item!r}; e.g. c101, rc2 or all")
    return list(dict.fromkeys(names))


# --- the solvers ------------------------------------------------------------------------------------


def solve_ours(problem: RoutingProblem, limit: float) -> RoutePlan:
    return plan_routes(problem, time_limit_s=limit)


def solve_ortools(problem: RoutingProblem, limit: float) -> RoutePlan:
    return plan_routes(problem, solver="ortools", time_limit_s=limit)


def _peer_matrices(problem: RoutingProblem) -> tuple[np.ndarray, np.ndarray]:
    """Integer distance (rounded) and duration (rounded up) matrices at ``PEER_SCALE``."""
    distances = np.rint(problem.matrix.distances_m * PEER_SCALE).astype(np.int64)
    durations = np.ceil(problem.matrix.durations_s * PEER_SCALE - 1e-6).astype(np.int64)
    return distances, durations


def _fixed_cost(distances: np.ndarray) -> int:
    """A vehicle costs more than any plan can drive: fewest vehicles first."""
    return int(distances.max(axis=1).sum()) + 1


def solve_pyvrp(problem: RoutingProblem, limit: float) -> RoutePlan:
    """PyVRP's own ``solve`` on a ProblemData of the instance (all clients required)."""
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    distances, durations = _peer_matrices(problem)
    shift = math.floor(problem.vehicles[0].shift_end_s * PEER_SCALE) if problem.vehicles[0].shift_end_s else 2**40
    clients = [
        Client(
            location=k,
            delivery=[round(stop.demand_kg)],
            service_duration=math.ceil(stop.service_s * PEER_SCALE),
            tw_early=math.ceil(stop.window[0] * PEER_SCALE) if stop.window else 0,
            tw_late=math.floor(stop.window[1] * PEER_SCALE) if stop.window else shift,
        )
        for k, stop in enumerate(problem.stops, start=1)
    ]
    data = ProblemData(
        locations=[Location(x=p.lng, y=p.lat) for p in (problem.depot, *(s.location for s in problem.stops))],
        clients=clients,
        depots=[Depot(location=0, tw_early=0, tw_late=shift)],
        vehicle_types=[
            VehicleType(
                num_available=len(problem.vehicles),
                capacity=[round(problem.vehicles[0].capacity_kg)],
                fixed_cost=_fixed_cost(distances),
                tw_late=shift,
                start_late=0,
            )
        ],
        distance_matrices=[distances],  # type: ignore[list-item]
        duration_matrices=[durations],  # type: ignore[list-item]
    )
    best = solve(data, stop=MaxRuntime(limit), seed=0, collect_stats=False, display=False).best
    ids = [vehicle.id for vehicle in problem.vehicles]
    sequences = {ids[n]: [a.idx + 1 for a in route if a.is_client()] for n, route in enumerate(best.routes())}
    return build_plan(problem, sequences)


def solve_vroom(problem: RoutingProblem, limit: float) -> RoutePlan:
    """pyvroom on custom matrices (costs = distances, durations rounded up), one thread, ``limit`` as timeout."""
    import vroom

    distances, durations = _peer_matrices(problem)
    shift = math.floor(problem.vehicles[0].shift_end_s * PEER_SCALE) if problem.vehicles[0].shift_end_s else 2**31
    task = vroom.Input()
    task.set_durations_matrix("car", durations)
    task.set_costs_matrix("car", distances)
    costs = vroom.VehicleCosts(fixed=_fixed_cost(distances))
    for n, vehicle in enumerate(problem.vehicles):
        task.add_vehicle(
            vroom.Vehicle(
                n,
                start=0,
                end=0,
                capacity=[round(vehicle.capacity_kg)],
                time_window=vroom.TimeWindow(0, shift),
                costs=costs,
            )
        )
    for k, stop in enumerate(problem.stops, start=1):
        early, late = stop.window if stop.window else (0.0, shift / PEER_SCALE)
        task.add_job(
            vroom.Job(
                k,
                location=k,
                delivery=[round(stop.demand_kg)],
                default_service=math.ceil(stop.service_s * PEER_SCALE),
                time_windows=[vroom.TimeWindow(math.ceil(early * PEER_SCALE), math.floor(late * PEER_SCALE))],
            )
        )
    solution = task.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    routes = solution.routes
    jobs = routes[routes["type"] == "job"]
    sequences: dict[str, list[int]] = {}
    for vehicle_id, group in jobs.groupby("vehicle_id", sort=True):
        sequences[problem.vehicles[int(vehicle_id)].id] = [int(i) for i in group["id"]]
    return build_plan(problem, sequences)


RUNNERS: dict[str, Callable[[RoutingProblem, float], RoutePlan]] = {
    "ours": solve_ours,
    "ortools": solve_ortools,
    "pyvrp": solve_pyvrp,
    "vroom": solve_vroom,
}


# --- the run ------------------------------------------------------------------------------------------


def answer(solver: str, instance: Instance, limit: float) -> Answer:
    """Solve, time, check independently (every customer served, no violation) and measure the gap."""
    started = time.perf_counter()
    plan = RUNNERS[solver](instance.problem, limit)
    seconds = time.perf_counter() - started
    violations = check_plan(instance.problem, plan)
    if plan.unassigned:
        violations.append(f"{len(plan.unassigned)} customers not served")
    gap = 100.0 * (plan.distance_m - instance.bkv_distance) / instance.bkv_distance
    return Answer(
        solver,
        instance.name,
        limit,
        len(plan.routes),
        plan.distance_m,
        gap,
        tuple(violations),
        seconds,
        instance.bkv_vehicles,
    )


def run(instances: list[Instance], solvers: list[str], limits: list[float], console: Console) -> list[Answer]:
    """Every solver on every instance at every limit, with a progress bar on ``console``."""
    answers: list[Answer] = []
    with progress_bar(console, label="[bold]{task.description}") as progress:
        task = progress.add_task("vrp", total=len(instances) * len(solvers) * len(limits))
        for limit in limits:
            for instance in instances:
                for solver in solvers:
                    progress.update(task, description=f"vrp {instance.name} {solver} {limit:g}s")
                    answers.append(answer(solver, instance, limit))
                    progress.advance(task)
    return answers


def summarise(answers: list[Answer], solvers: list[str], limits: list[float]) -> list[dict[str, Any]]:
    """One row per (solver, time limit), in the agreed JSON shape."""
    rows = []
    for limit in limits:
        for solver in solvers:
            group = [a for a in answers if a.solver == solver and a.time_limit_s == limit]
            rows.append(
                {
                    "solver": solver,
                    "time_limit_s": limit,
                    "instances": len(group),
                    "mean_gap_pct": round(statistics.mean(a.gap_pct for a in group), 3),
                    "max_gap_pct": round(max(a.gap_pct for a in group), 3),
                    "vehicles": sum(a.vehicles for a in group),
                    "all_feasible": all(a.feasible for a in group),
                }
            )
    return rows


def comparison_table(rows: list[dict[str, Any]], answers: list[Answer], bkv_vehicles: int) -> Table:
    """The like-for-like rows: every solver at every limit, with the hierarchical reading beside the gap."""
    table = figures_table(
        "Solomon VRPTW, hierarchical convention (fewest vehicles, then distance): gap in distance to the records",
        (
            "time limit s",
            "solver",
            "instances",
            "mean gap %",
            "max gap %",
            f"vehicles (records {bkv_vehicles})",
            "at record fleet",
            "mean gap % there",
            "feasible",
            "mean s",
        ),
        left=2,
    )
    for row in rows:
        group = [a for a in answers if a.solver == row["solver"] and a.time_limit_s == row["time_limit_s"]]
        matched = [a for a in group if a.vehicles <= a.bkv_vehicles]
        table.add_row(
            f"{row['time_limit_s']:g}",
            row["solver"] + (f" ({DEFAULT_SOLVER})" if row["solver"] == "ours" else ""),
            str(row["instances"]),
            f"{row['mean_gap_pct']:.2f}",
            f"{row['max_gap_pct']:.2f}",
            str(row["vehicles"]),
            f"{len(matched)}/{len(group)}",
            f"{statistics.mean(a.gap_pct for a in matched):.2f}" if matched else "-",
            "yes" if row["all_feasible"] else "NO",
            f"{statistics.mean(a.seconds for a in group):.1f}",
        )
    return table


def instance_table(instances: list[Instance], answers: list[Answer], solvers: list[str], limits: list[float]) -> Table:
    columns = ["instance", "best known", *(f"{s} {t:g}s" for t in limits for s in solvers)]
    table = figures_table("Per instance: vehicles / distance (gap %)", columns, left=1)
    for instance in instances:
        cells = [instance.name, f"{instance.bkv_vehicles} / {instance.bkv_distance:.2f}"]
        for limit in limits:
            for solver in solvers:
                a = next(
                    a for a in answers if a.solver == solver and a.instance == instance.name and a.time_limit_s == limit
                )
                mark = "" if a.feasible else " INFEASIBLE"
                cells.append(f"{a.vehicles} / {a.distance:.2f} ({a.gap_pct:+.2f}){mark}")
        table.add_row(*cells)
    return table


def command(
    json_output: JsonOption = False,
    instances: Annotated[
        str | None, typer.Option(help="Comma-separated names or families (c101,r2,...) or 'all'; default 2 per family.")
    ] = None,
    time_limit: Annotated[str, typer.Option("--time-limit", help="Seconds per instance, comma-separated.")] = "1,10",
    solvers: Annotated[str, typer.Option(help="Comma-separated subset of ours,ortools,pyvrp,vroom.")] = ",".join(
        SOLVERS
    ),
    data: Annotated[
        str | None, typer.Option(help="Solomon directory (default: DISPATCH_SOLOMON_DIR or ../shared/data/solomon).")
    ] = None,
) -> None:
    """Ours vs OR-Tools, PyVRP and VROOM on Solomon instances: gap to best known, vehicles, feasibility."""
    console = Console(stderr=True)
    directory = solomon_dir(data)
    records = best_known(directory)
    names = choose_instances(instances, directory)
    limits = [float(t) for t in time_limit.split(",") if t.strip()]
    chosen = [s.strip() for s in solvers.split(",") if s.strip()]
    if unknown := [s for s in chosen if s not in RUNNERS]:
        raise typer.BadParameter(f"unknown solvers {unknown}; known: {', '.join(SOLVERS)}")
    loaded = [Instance(n, load_problem(directory / f"{n}.txt"), *records[n]) for n in names]
    answers = run(loaded, chosen, limits, console)
    rows = summarise(answers, chosen, limits)
    out = Console(width=220)
    out.print(comparison_table(rows, answers, sum(i.bkv_vehicles for i in loaded)))
    out.print(instance_table(loaded, answers, chosen, limits))
    for a in answers:
        for violation in a.violations[:3]:
            console.print(f"[red]{a.solver} {a.instance} {a.time_limit_s:g}s: {violation}[/red]")
    console.print(f"instances: {', '.join(names)} (data: {directory})", highlight=False)
    if json_output:
        print_json_line({"results": rows})
