"""``dispatch analytics``: maintenance of the analytics' pre-aggregates."""

from __future__ import annotations

import typer

analytics_app = typer.Typer(help="Analytics pre-aggregates (stage timings).", no_args_is_help=True)


@analytics_app.command("rebuild")
def analytics_rebuild() -> None:
    """Recompute the stage-timing counts from every order's first-reached times (after a bulk load that
    wrote order rows directly); one transaction, so readers see the old counts or the new ones."""
    from api.cli import _container
    from orders_core.orders.stage_durations import rebuild_stage_durations

    container = _container(warm=False)
    try:
        with container.uow() as uow:
            orders = rebuild_stage_durations(uow.session.connection())
            uow.commit()
    finally:
        container.close()
    typer.echo(f"stage-timing counts rebuilt from {orders:,} orders")
