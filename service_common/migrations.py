"""Alembic migrations run from code, one environment per product database.

Each product keeps its Alembic environment (`env.py`, `versions/`) beside its code and has a
version table of its own, so products may share one database. `upgrade` runs at every
start: a database made before migrations existed (the product's tables from `create_all`,
no version table) is stamped at the first revision, which equals that schema, and then
upgraded. Depends on Alembic and SQLAlchemy only (the action server imports it).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Engine


def _config(script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return config


def upgrade(engine: Engine, script_location: Path, version_table: str, legacy_table: str,
            revision: str = "head", first_revision: str = "0001") -> None:
    """Bring the database to `revision`; `legacy_table` present without `version_table`
    means the schema of `first_revision` made by create_all."""
    config = _config(script_location)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes may start at once (two action servers, the desk): one
            # migrates, the others wait for its transaction and then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": zlib.crc32(version_table.encode())})
        inspector = inspect(connection)
        legacy = inspector.has_table(legacy_table) and not inspector.has_table(version_table)
        config.attributes["connection"] = connection
        if legacy:
            command.stamp(config, first_revision)
        command.upgrade(config, revision)


def downgrade(engine: Engine, script_location: Path, revision: str) -> None:
    config = _config(script_location)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def run_env(metadata: MetaData, version_table: str) -> None:
    """The body of a product's env.py: migrate on the connection `upgrade` passes in."""
    if context.is_offline_mode():
        raise SystemExit("these migrations run online only, from the service's code")
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise SystemExit("run the migrations with service_common.migrations.upgrade")
    # render_as_batch: SQLite alters a table by copying it (later revisions need it).
    context.configure(connection=connection, target_metadata=metadata,
                      version_table=version_table, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
