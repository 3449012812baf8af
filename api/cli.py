"""The ``dispatch`` command line: serve the API, run benchmarks, manage tokens and stores."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from api.cli_analytics import analytics_app
from api.cli_planning import health_app, prebook_app

if TYPE_CHECKING:
    from typer import _click

BENCHMARKS = ("match", "pick", "pipeline", "vrp", "webhooks", "import", "forecast", "ui")
_BENCH_MODULES = {"import": "import_bench"}  # "import" is a keyword: not a module name


class _BenchGroup(TyperGroup):
    """``dispatch bench <name>``: a benchmark's module is imported when its command is asked for.

    They import the engines, SciPy and numba, seconds that ``dispatch serve`` must not pay; their
    options and help are each module's own ``command``, as before.
    """

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*BENCHMARKS, *(name for name in super().list_commands(ctx) if name not in BENCHMARKS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in BENCHMARKS and cmd_name not in self.commands:
            single = typer.Typer()
            single.command(cmd_name)(
                importlib.import_module(f"benchmarks.{_BENCH_MODULES.get(cmd_name, cmd_name)}").command
            )
            self.add_command(typer.main.get_command(single), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(help="Geospatial dispatch and order-pipeline service.", no_args_is_help=True)
bench_app = typer.Typer(
    cls=_BenchGroup, help="Benchmarks against named baselines, measured in the same run.", no_args_is_help=True
)
token_app = typer.Typer(help="Bearer tokens by role (stored hashed).", no_args_is_help=True)
stock_app = typer.Typer(help="Stock-lock store maintenance.", no_args_is_help=True)
orders_app = typer.Typer(help="Order maintenance jobs.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Signed carrier webhooks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(token_app, name="token")
app.add_typer(stock_app, name="stock")
app.add_typer(orders_app, name="orders")
app.add_typer(webhooks_app, name="webhooks")
app.command("import")(importlib.import_module("api.import_cli").import_command)
app.add_typer(importlib.import_module("api.forecast_cli").forecast_app, name="forecast")
app.add_typer(health_app, name="health")
app.add_typer(prebook_app, name="prebook")
app.add_typer(analytics_app, name="analytics")
app.command("reconcile")(importlib.import_module("api.reconcile_cli").reconcile_command)
app.command("export")(importlib.import_module("api.reconcile_cli").export_command)


def _banner(url: str, admin_token: str, token_source: str, database: str, redis_url: str | None) -> str:
    """The block ``dispatch serve`` prints last: what it serves from, then the URL and the admin token."""
    rule = "-" * 78
    stores = f"Redis {redis_url}" if redis_url else "in-process stock locks and positions"
    return "\n".join(
        [
            rule,
            f"  store        {database}, {stores}",
            f"  try          curl -H 'Authorization: Bearer {admin_token}' {url}/v1/warehouses",
            "",
            f"  serving      {url}   (API docs: {url}/docs; Ctrl-C stops)",
            f"  admin token  {admin_token}   ({token_source})",
            rule,
        ]
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not load the demo data set.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    log_format: Annotated[
        str | None,
        typer.Option(help="console, json or auto (console on a terminal); default DISPATCH_LOG_FORMAT or auto."),
    ] = None,
) -> None:
    """Serve the API (embedded SQLite + in-process stores unless DISPATCH_* says otherwise)."""
    import structlog
    import uvicorn

    from api.app import create_app
    from api.container import Container
    from api.settings import get_settings

    settings = get_settings()
    if log_format is not None:
        settings = settings.model_copy(update={"log_format": log_format, "log_json": None})
    started: list[Container] = []

    def load_demo(container: Container) -> None:
        started.append(container)
        if no_demo:
            return
        from api.demo import load_demo_data
        from api.demo_fleet import start_demo_fleet

        summary = load_demo_data(container)
        if summary.skipped:  # a restart: the user's data stays as they left it
            structlog.get_logger("api.demo").info("demo_data_skipped", reason=summary.skipped)
        else:
            counts = {kind.replace(" ", "_"): n for kind, n in summary.counts.items()}
            structlog.get_logger("api.demo").info("demo_data_loaded", **counts)
        start_demo_fleet(container)  # the demo carriers keep reporting, so they stay matchable

    class _Server(uvicorn.Server):
        """uvicorn, printing the banner once the socket is bound (so nothing of start-up comes after it)."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and started:
                container = started[0]
                source = (
                    "generated for this run; set DISPATCH_ADMIN_TOKEN to keep one"
                    if container.admin_token_generated
                    else "from DISPATCH_ADMIN_TOKEN"
                )
                database = container.engine.url.render_as_string(hide_password=True)
                url = f"http://{host}:{port}"
                typer.echo(_banner(url, container.admin_token, source, database, settings.redis_url), err=True)

    from api.startup_checks import InsecureSettings

    try:
        web_app = create_app(settings, on_started=[load_demo], demo=not no_demo)
    except InsecureSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _Server(uvicorn.Config(web_app, host=host, port=port, log_level=log_level)).run()


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest revision."""
    from api.settings import get_settings
    from infra.db import make_engine
    from infra.migrate import current_revision, upgrade

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    typer.echo(f"schema at {current_revision(engine)}")


def _container(*, warm: bool = True):  # type: ignore[no-untyped-def]
    """A container for a maintenance command; its logs go to stderr, so stdout carries only the command's
    answer (``TOKEN=$(dispatch token create ...)`` captures the token and nothing else).

    ``warm=False`` (the token commands): the schema is migrated but the stock store, the carrier index and the
    periodic jobs are not started; those commands read and write tokens only.
    """
    from api.container import Container
    from api.observability import configure_logging
    from api.settings import get_settings
    from infra.migrate import upgrade

    settings = get_settings()
    configure_logging(settings.log_format, log_json=settings.log_json)
    container = Container(settings)
    if warm:
        container.start()
    else:
        upgrade(container.engine)
    return container


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, dispatcher, warehouse, carrier or customer.")],
    subject: Annotated[str | None, typer.Option(help="Carrier or customer id the token acts for.")] = None,
    label: Annotated[str | None, typer.Option(help="Free text to recognise the token later.")] = None,
) -> None:
    """Create a token and print it once."""
    from api.tokens import issue_token
    from foundation.errors import DispatchError

    container = _container(warm=False)
    try:
        issued = issue_token(container.uow, role, subject, label)
    except DispatchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        container.close()
    typer.echo(issued.value)


@token_app.command("list")
def token_list() -> None:
    """List tokens (ids, roles, subjects; never values)."""
    from api.tokens import list_token_records

    container = _container(warm=False)
    try:
        records = list_token_records(container.uow)
    finally:
        container.close()
    for record in records:
        state = "revoked" if record.revoked_at else "live"
        typer.echo(f"{record.id}  {record.role:<10} {record.subject or '-':<16} {state:<8} {record.label or ''}")


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token by id."""
    from api.tokens import revoke_token_by_id

    container = _container(warm=False)
    try:
        found = revoke_token_by_id(container.uow, token_id)
    finally:
        container.close()
    if not found:
        typer.echo(f"no live token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")


@stock_app.command("rebuild")
def stock_rebuild() -> None:
    """Rebuild the fast stock-lock store (Redis or in-process) from the relational store."""
    from orders_core.stock.rebuild import rebuild_stock_store

    container = _container()
    summary = rebuild_stock_store(container.uow, container.stock.locks)
    container.close()
    typer.echo(f"rebuilt: {summary}")


@stock_app.command("reconcile")
def stock_reconcile() -> None:
    """Compare the fast stock store with the database once and repair drift (what the API runs periodically)."""
    container = _container()
    try:
        summary = container.reconcile_stock()
    finally:
        container.close()
    typer.echo(f"reconciled: {summary or 'no drift'}")


@app.command()
def doctor(
    database_url: Annotated[
        str | None, typer.Option(help="Database to check (default: DISPATCH_DATABASE_URL, as `dispatch serve`).")
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Redis of the stock locks (default: DISPATCH_REDIS_URL; none: in-process).")
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Settle the fast stock store and `reserved` on the database rows.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON line.")] = False,
) -> None:
    """Check that Redis and the database, reservations and orders, outbox and deliveries agree.

    Exit code 0 when consistent (after the repairs with --repair), 1 otherwise. With --repair, holds still
    under a lease (a process died mid-reservation) are waited for until the lease expires (DISPATCH_STOCK__LEASE_S).
    """
    import json

    from api.metrics import count_stock_repair
    from api.observability import configure_logging
    from api.settings import get_settings
    from infra.db import make_engine, make_session_factory
    from infra.redis_client import redis_client_from_url
    from orders_core.doctor import run_doctor
    from orders_core.stock.locks import StockLocks
    from orders_core.unit_of_work import UnitOfWork

    settings = get_settings()
    configure_logging(settings.log_format, log_json=settings.log_json)
    engine = make_engine(database_url or settings.database_url)
    session_factory = make_session_factory(engine)
    url = redis_url or settings.redis_url
    client = redis_client_from_url(url) if url else None
    locks: StockLocks | None = None  # without Redis the store is in the server's memory: not comparable here
    if client is not None:
        from orders_core.stock.redis_locks import RedisStockLocks

        locks = RedisStockLocks(client)
    try:
        report = run_doctor(
            lambda: UnitOfWork(session_factory),
            locks,
            repair=repair,
            wait_s=settings.stock.lease_s + 2.0 if repair else 0.0,
            on_repair=count_stock_repair,
        )
    finally:
        if client is not None:
            client.close()
        engine.dispose()
    answer = report.as_dict()
    if as_json:
        typer.echo(json.dumps(answer, separators=(",", ":"), default=str))
    else:
        typer.echo(f"consistent: {answer['consistent']}  repaired units: {answer['repaired_units']}")
        for name, check in answer["checks"].items():
            typer.echo(f"  {name:<24} {'ok' if check['ok'] else 'PROBLEMS'} ({check['count']})")
            for problem in check["problems"]:
                typer.echo(f"    {json.dumps(problem, default=str)}")
    if not report.consistent:
        raise typer.Exit(1)


@orders_app.command("release-expired")
def release_expired() -> None:
    """Cancel unpaid prepaid orders past their payment timeout and release their stock."""
    container = _container()
    released = container.release_expired()
    container.close()
    typer.echo(f"released {len(released)} order(s)")


@webhooks_app.command("worker")
def webhooks_worker() -> None:
    """Deliver carrier webhooks from the outbox until SIGINT/SIGTERM (beside or instead of the API's own
    worker: set DISPATCH_WEBHOOKS__WORKER_ENABLED=false on the API to leave all sending to this process)."""
    import signal

    from api.metrics import observe_webhook
    from api.observability import configure_logging
    from api.settings import get_settings
    from infra.db import make_engine, make_session_factory
    from infra.migrate import upgrade
    from orders_core.transport.webhooks.worker import DeliveryWorker
    from orders_core.unit_of_work import UnitOfWork

    settings = get_settings()
    configure_logging(settings.log_format, log_json=settings.log_json)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    session_factory = make_session_factory(engine)
    worker = DeliveryWorker(lambda: UnitOfWork(session_factory), settings.webhook_params(), observer=observe_webhook)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: worker.stop(timeout_s=0))
    try:
        worker.run()
    finally:
        engine.dispose()


@app.command("demo")
def demo() -> None:
    """Load the demo data set into the configured store, if it is empty (otherwise says so, writes nothing)."""
    from api.demo import load_demo_data

    container = _container()
    try:
        typer.echo(load_demo_data(container))
    finally:
        container.close()


def main() -> None:
    """Entry point of the ``dispatch`` script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":  # `python -m api.cli ...` is `dispatch ...`
    main()
