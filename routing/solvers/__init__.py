"""The VRP engines behind one interface, by name; ``DEFAULT_SOLVER`` is what a plan uses unless told.

PyVRP is the default: on the Solomon instances it is several per cent closer to the best known values
than our OR-Tools model at the same time limit (``dispatch bench vrp``); OR-Tools stays available by name.
"""

from __future__ import annotations

from collections.abc import Callable

from routing.model import Solver

DEFAULT_SOLVER = "pyvrp"  # measured ahead of OR-Tools on Solomon (BENCHMARKS.md, issue 11)


def _ortools() -> Solver:
    from routing.solvers.ortools_solver import OrToolsSolver

    return OrToolsSolver()


def _pyvrp() -> Solver:
    from routing.solvers.pyvrp_solver import PyVrpSolver

    return PyVrpSolver()


_FACTORIES: dict[str, Callable[[], Solver]] = {"ortools": _ortools, "pyvrp": _pyvrp}


def solver_names() -> tuple[str, ...]:
    """The names ``get_solver`` knows."""
    return tuple(_FACTORIES)


def get_solver(name: str | None = None) -> Solver:
    """A fresh solver by name (the default when None); ValueError names the known ones otherwise."""
    key = name or DEFAULT_SOLVER
    if key not in _FACTORIES:
        raise ValueError(f"unknown solver {key!r}; known: {', '.join(_FACTORIES)}")
    return _FACTORIES[key]()
