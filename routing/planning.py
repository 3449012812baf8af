"""Plan delivery routes: reject what cannot be served, then let the chosen engine search."""

from __future__ import annotations

from routing.model import RoutePlan, RoutingProblem, Solver
from routing.solvers import get_solver
from routing.validation import validate

DEFAULT_TIME_LIMIT_S = 5.0


def plan_routes(
    problem: RoutingProblem, *, solver: str | Solver | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> RoutePlan:
    """Validate ``problem`` (``InfeasibleStop`` / ``InvalidProblem`` name the culprit), then solve it.

    ``solver`` is a registered name, a solver object, or None for ``routing.solvers.DEFAULT_SOLVER``.
    """
    validate(problem)
    engine = solver if solver is not None and not isinstance(solver, str) else get_solver(solver)
    return engine.solve(problem, time_limit_s=time_limit_s)
