"""Alembic environment: the desk's own version table, so it can share a database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from desk.models import Base

VERSION_TABLE = "desk_alembic_version"
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), future=True)
    with engine.begin() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection: object) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      version_table=VERSION_TABLE, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("desk migrations run online only (python -m desk migrate)")
run()
