"""Apply Alembic migrations programmatically, at service start and from ``dispatch migrate``."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at this package's migration scripts (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the migration scripts, read once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; on PostgreSQL make sure PostGIS is enabled first.

    A database already at head is left alone after one query on the version table: every process
    start calls this, and Alembic's full upgrade path costs far more even when it has nothing to do.
    """
    if revision == "head" and is_at_head(engine):
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_at_head(engine: Engine) -> bool:
    """Whether the database's schema is at the scripts' head (False before the first migration)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return bool(current) and frozenset(current) == head_revisions()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
