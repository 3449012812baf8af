"""Alembic environment: runs migrations on the connection handed over by ``infra.migrate``."""

from __future__ import annotations

from alembic import context

from infra.db import Base

config = context.config
target_metadata = Base.metadata
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through infra.migrate.upgrade(engine)")
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
