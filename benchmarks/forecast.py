"""``dispatch bench forecast``: the demand forecast's backtest on a generated history, ours against the
seasonal naive and the moving average, and the time it takes.

The history is ``forecasting.history`` with a fixed seed (default 50 SKUs × 20 regions × 104 weeks: 1,000
weekly series made from daily orders with trend, yearly and weekly seasonality, promotions, intermittent and
lumpy SKUs). The evaluation is ``forecasting.evaluation``: the last 2 × 3 weeks are a final hold-out; on the
weeks before them the series are classified, 6 rolling origins choose each class's model and the moving
average's window and calibrate the 80 % conformal intervals; then every model is refit at the 2 hold-out
origins and scored there. "Ours" is the per-class choice scored on windows that did not choose it.

Targets (issue 13): portfolio WAPE >= 15 % lower than seasonal naive, |bias| <= 5 %, 80 % intervals
covering 75-85 % on the hold-out, under 60 s for the 1,000 series. The seconds cover generating the
history, the two backtests, the choice, the intervals and (with ``--reconciled``) the reconciliation of
the hold-out forecasts, whose non-negative quadratic programs run in this process (seconds each). The
machine is shared: the load average and this run's CPU seconds are printed.
"""

from __future__ import annotations

import math
import resource
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from benchmarks.cpu_meter import loadavg
from benchmarks.report import JsonOption, figures_table, print_json_line
from forecasting.evaluation import RECONCILED, evaluate
from forecasting.history import HistorySpec, weekly_history
from forecasting.models import SEASONAL_NAIVE, BacktestSpec
from forecasting.selection import OURS

GOAL_IMPROVEMENT_PCT = 15.0
GOAL_ABS_BIAS = 0.05
GOAL_COVERAGE = (0.75, 0.85)
GOAL_SECONDS = 60.0


def _cpu_s() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (statsforecast's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _number(value: float, digits: int = 4) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def run(history_spec: HistorySpec, spec: BacktestSpec, *, reconciled: bool) -> dict[str, Any]:
    """Generate, evaluate and time; answers the figures the command prints and the JSON line."""
    load_before = loadavg()
    cpu_before = _cpu_s()
    started = time.perf_counter()
    history = weekly_history(history_spec)
    evaluation = evaluate(history, spec, reconciled=reconciled)
    seconds = time.perf_counter() - started
    table = evaluation.table.set_index("model")
    ours, naive = table.loc[OURS], table.loc[SEASONAL_NAIVE]
    moving = table.loc[evaluation.moving_average]
    improvement = (1.0 - ours["wape"] / naive["wape"]) * 100.0
    result: dict[str, Any] = {
        "series": int(history["unique_id"].nunique()),
        "weeks": int(history["ds"].nunique()),
        "wape_ours": _number(ours["wape"]),
        "wape_seasonal_naive": _number(naive["wape"]),
        "improvement_pct": _number(improvement, 2),
        "seconds": round(seconds, 2),
        "bias_ours": _number(ours["bias"]),
        "mase_ours": _number(ours["mase"]),
        "coverage_ours": _number(ours["coverage"]),
        "bias_seasonal_naive": _number(naive["bias"]),
        "mase_seasonal_naive": _number(naive["mase"]),
        "coverage_seasonal_naive": _number(naive["coverage"]),
        "moving_average": evaluation.moving_average,
        "wape_moving_average": _number(moving["wape"]),
        "bias_moving_average": _number(moving["bias"]),
        "mase_moving_average": _number(moving["mase"]),
        "coverage_moving_average": _number(moving["coverage"]),
        "chosen": evaluation.chosen,
        "classes": {str(k): int(v) for k, v in evaluation.classes["demand_class"].value_counts().items()},
        "horizon_weeks": spec.horizon,
        "selection_windows": spec.windows,
        "holdout_windows": spec.holdout_windows,
        "evaluation": "final hold-out: the choice, the MA window and the intervals come from the selection"
        " windows before it",
        "interval_level": evaluation.level,
        "cpu_s": round(sum(_cpu_s()) - sum(cpu_before), 2),
        # the main process waits while the workers run: on an idle machine wall ≈ main + workers / n_jobs
        "cpu_s_main": round(_cpu_s()[0] - cpu_before[0], 2),
        "cpu_s_workers": round(_cpu_s()[1] - cpu_before[1], 2),
        "n_jobs": spec.n_jobs,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }
    if reconciled:
        rec = table.loc[RECONCILED]
        result.update(
            wape_reconciled=_number(rec["wape"]),
            bias_reconciled=_number(rec["bias"]),
            mase_reconciled=_number(rec["mase"]),
            coverage_reconciled=_number(rec["coverage"]),
        )
    low, high = GOAL_COVERAGE
    result["targets_met"] = bool(
        improvement >= GOAL_IMPROVEMENT_PCT
        and abs(ours["bias"]) <= GOAL_ABS_BIAS
        and low <= ours["coverage"] <= high
        and seconds < GOAL_SECONDS
    )
    result["_table"] = evaluation.table
    result["_by_class"] = evaluation.by_class
    return result


def command(
    skus: Annotated[int, typer.Option(help="SKUs in the generated history.", min=1)] = 50,
    regions: Annotated[int, typer.Option(help="Regions in the generated history.", min=1)] = 20,
    weeks: Annotated[int, typer.Option(help="Weeks of history (at least 52 + 8 × horizon).", min=80)] = 104,
    seed: Annotated[int, typer.Option(help="Seed of the history generator.")] = 13,
    n_jobs: Annotated[int, typer.Option(help="statsforecast worker processes (the machine has 2 cores).", min=1)] = 2,
    reconciled: Annotated[
        bool,
        typer.Option(
            "--reconciled/--no-reconciled",
            help="Also reconcile the hold-out forecasts (MinTrace, non-negative) and score them (timed too).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Backtest of the per-class forecast vs seasonal naive and moving average: WAPE, bias, MASE, coverage, time."""
    result = run(
        HistorySpec(skus=skus, regions=regions, weeks=weeks, seed=seed),
        BacktestSpec(n_jobs=n_jobs),
        reconciled=reconciled,
    )
    table, by_class = result.pop("_table"), result.pop("_by_class")
    console = Console(width=160)
    printed = figures_table(
        f"Hold-out backtest, {result['series']} series × {result['weeks']} weeks,"
        f" horizon {result['horizon_weeks']} weeks",
        ["model", "WAPE", "bias", "MASE", "80 % coverage"],
        left=1,
    )
    for row in table.itertuples(index=False):
        printed.add_row(str(row.model), f"{row.wape:.3f}", f"{row.bias:+.3f}", f"{row.mase:.3f}", f"{row.coverage:.3f}")
    console.print(printed)
    candidates = [c for c in by_class.columns if c.startswith("wape_")]
    per_class = figures_table(
        "Selection windows: WAPE per class and candidate (the chosen one is used)",
        ["class", "series", "chosen", *(c.removeprefix("wape_") for c in candidates)],
        left=3,
    )
    for row in by_class.to_dict(orient="records"):
        cells = ["" if math.isnan(row[c]) else f"{row[c]:.3f}" for c in candidates]
        per_class.add_row(str(row["demand_class"]), str(row["series"]), str(row["chosen"]), *cells)
    console.print(per_class)
    typer.echo(
        f"ours vs seasonal naive: {result['improvement_pct']:+.1f} % WAPE (target >= {GOAL_IMPROVEMENT_PCT:.0f} %),"
        f" bias {result['bias_ours']:+.3f} (target |bias| <= {GOAL_ABS_BIAS}), coverage {result['coverage_ours']:.3f}"
        f" (target {GOAL_COVERAGE[0]}-{GOAL_COVERAGE[1]}), {result['seconds']:.1f} s (target < {GOAL_SECONDS:.0f} s,"
        f" {result['cpu_s']:.1f} CPU s: {result['cpu_s_main']:.1f} main + {result['cpu_s_workers']:.1f} in workers,"
        f" load {result['loadavg_before']} -> {result['loadavg_after']})"
    )
    typer.echo(f"targets met: {result['targets_met']}")
    if json_output:
        print_json_line(result)
