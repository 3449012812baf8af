"""What the migration tests share: the models-vs-migrated-schema comparison and stepping alembic to a revision.

Each test file imports the table modules it checks (so they are registered on ``Base.metadata``) and keeps its
own assertions; this module only builds the engine, runs the migrations and reports what alembic sees.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from infra.db import Base, make_engine
from infra.migrate import alembic_config, upgrade


def model_diffs(database_url: str) -> list[Any]:
    """Upgrade an engine on ``database_url`` to head and compare ``Base.metadata`` with the migrated schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diffs)


def tables_named(diff: object) -> set[str]:
    """Every table name a diff entry mentions (tables, columns, indexes, constraints)."""
    found: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item[1:] if isinstance(item, tuple) else ():
            if isinstance(part, str):
                found.add(part)
            for candidate in (part, getattr(part, "table", None)):
                name = getattr(candidate, "name", None)
                if isinstance(name, str):
                    found.add(name)
    return found


def schema_diffs(database_url: str, tables: set[str]) -> list[Any]:
    """The ``model_diffs`` entries that mention any of ``tables``."""
    return [d for d in model_diffs(database_url) if tables_named(d) & tables]


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Run ``alembic upgrade`` (or ``downgrade`` with ``down=True``) to ``revision`` on one connection."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
