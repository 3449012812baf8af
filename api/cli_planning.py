"""``dispatch health ...`` and ``dispatch prebook ...``: the health-score recomputation and the pre-booked
stock round, once, from the command line (the API runs them as periodic jobs)."""

from __future__ import annotations

import json

import typer

health_app = typer.Typer(help="Customer health score (docs/HEALTH_SCORE.md).", no_args_is_help=True)
prebook_app = typer.Typer(help="Pre-booked stock: soft reservations of the best customers' week.", no_args_is_help=True)


def _planning_container():  # type: ignore[no-untyped-def]
    from api.cli import _container

    return _container(warm=False)


@health_app.command("recompute")
def health_recompute(customer_id: str | None = typer.Argument(None, help="One customer; all when omitted.")) -> None:
    """Score customers now and store each computation; prints customer and score, one per line."""
    from orders_core.customers.health_service import recompute_health

    container = _planning_container()
    try:
        results = recompute_health(
            container.uow,
            [customer_id] if customer_id else None,
            container.settings.health.policy(),
            trigger="on_demand",
        )
    finally:
        container.close()
    for cid, result in sorted(results.items()):
        typer.echo(f"{cid}\t{'-' if result.score is None else result.score}")


@prebook_app.command("expire")
def prebook_expire() -> None:
    """Release the soft reservations whose customer's orders did not come by the deadline."""
    from orders_core.stock.prebook_service import expire_prebookings

    container = _planning_container()
    try:
        report = expire_prebookings(container.uow)
    finally:
        container.close()
    typer.echo(json.dumps({"expired": len(report.expired), "released_units": report.released_units}))


@prebook_app.command("run")
def prebook_run() -> None:
    """One pre-booking round: expire, book the week for customers above the score, settle against firm stock."""
    container = _planning_container()
    try:
        summary = container.prebook_round()
    finally:
        container.close()
    typer.echo(json.dumps(summary))
