"""Readiness: whether this process can serve requests now, i.e. reach its database and its Redis.

``/healthz`` says the process is alive (a load balancer must not restart it because PostgreSQL restarts);
``/readyz`` says whether to send it traffic. While a store is unreachable the API answers 503 with
``Retry-After`` anyway (``api.errors``); readiness lets the balancer route around the outage first.
"""

from __future__ import annotations

from sqlalchemy import text

from api.container import Container
from api.errors import is_store_unavailable


def unreachable_stores(container: Container) -> list[str]:
    """Names of the stores (``database``, ``redis``) this process cannot reach right now."""
    down = []
    try:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        if not is_store_unavailable(exc):
            raise
        down.append("database")
    if container.redis is not None:
        try:
            container.redis.ping()
        except Exception as exc:
            if not is_store_unavailable(exc):
                raise
            down.append("redis")
    return down
