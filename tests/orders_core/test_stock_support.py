"""Builders shared by the stock tests: a migrated database, a session factory and a stock service."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.redis_client import RedisClient, redis_client_from_url
from orders_core.stock.locks import MemoryStockLocks, StockLocks
from orders_core.stock.redis_locks import RedisStockLocks
from orders_core.stock.service import StockService
from orders_core.stock.tables import StockLevelRow, StockReservationRow
from orders_core.unit_of_work import UnitOfWork


@dataclass
class StockStack:
    engine: Engine
    session_factory: sessionmaker[Session]
    service: StockService
    redis_client: RedisClient | None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def reset(self) -> None:
        """Empty tables and fast store, then load the (empty) store as at start."""
        with self.uow() as uow:
            uow.session.execute(delete(StockReservationRow))
            uow.session.execute(delete(StockLevelRow))
            uow.commit()
        if self.redis_client is not None:
            self.redis_client.flushall()
        self.service = StockService(new_locks(self.redis_client))
        with self.uow() as uow:
            assert self.service.rebuild_if_needed(uow)

    def close(self) -> None:
        if self.redis_client is not None:
            self.redis_client.close()
        self.engine.dispose()


#: The fast stores the stock tests run on, and the fixture giving each Redis kind a freshly flushed URL.
STORE_KINDS = ("memory", "redis", "redis-cluster")
REDIS_URL_FIXTURES = {"redis": "fresh_redis_url", "redis-cluster": "fresh_redis_cluster_url"}


def fresh_redis_url_for(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    """A flushed URL of the throwaway single Redis or Redis Cluster for ``store_kind`` (None for memory)."""
    fixture = REDIS_URL_FIXTURES.get(store_kind)
    return None if fixture is None else str(request.getfixturevalue(fixture))


def new_locks(client: RedisClient | None) -> StockLocks:
    return RedisStockLocks(client) if client is not None else MemoryStockLocks()


def build_stack(database_url: str, redis_url: str | None) -> StockStack:
    engine = make_engine(database_url)
    upgrade(engine)
    client = redis_client_from_url(redis_url) if redis_url else None
    stack = StockStack(engine, make_session_factory(engine), StockService(new_locks(client)), client)
    stack.reset()
    return stack
