"""``dispatch forecast ...``: run the demand forecast on the configured store and print what it stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

forecast_app = typer.Typer(help="Demand forecast per SKU × region × week and replenishment.", no_args_is_help=True)


@forecast_app.command("run")
def forecast_run(
    history_weeks: Annotated[int, typer.Option(help="Complete weeks of order history to read.", min=1)] = 104,
    lead_time: Annotated[int, typer.Option(help="Replenishment lead time in weeks.", min=1)] = 2,
    review_period: Annotated[int, typer.Option(help="Weeks between replenishment reviews.", min=1)] = 1,
    n_jobs: Annotated[int, typer.Option(help="statsforecast worker processes.", min=1)] = 1,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Run as on this UTC day (default: today): replays, tests."),
    ] = None,
) -> None:
    """Read the order history, forecast, reconcile, size safety stock and store the run (exit 1 without enough
    history)."""
    from api.cli import _container
    from foundation.errors import DispatchError
    from orders_core.planning.forecast import ForecastSettings, run_forecast

    settings = ForecastSettings(
        history_weeks=history_weeks, lead_time_weeks=lead_time, review_period_weeks=review_period, n_jobs=n_jobs
    )
    container = _container(warm=False)
    try:
        summary = run_forecast(container.uow, settings, now=as_of.replace(tzinfo=UTC) if as_of else None)
    except DispatchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        container.close()
    typer.echo(
        f"run {summary.run_id}: {summary.series} series × {summary.weeks} weeks"
        f" ({summary.history_from} .. {summary.history_to}), {summary.forecasts} forecasts,"
        f" {summary.suggestions} replenishment suggestions, incoherence {summary.incoherence:.2g}"
    )
    typer.echo(f"chosen per class: {summary.chosen}")
    for score in summary.scores:
        typer.echo(
            f"  backtest {score['model']:<14} WAPE {score['wape']:.3f}  bias {score['bias']:+.3f}  MASE {score['mase']}"
        )
