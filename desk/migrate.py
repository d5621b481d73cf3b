"""Alembic migrations, run from code (`python -m desk migrate`, and at every start).

A database made by the desk before migrations existed (tables from create_all, no version
table) is stamped at 0001 first, then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "desk_alembic_version"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url",
                           engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    inspector = inspect(engine)
    legacy = inspector.has_table("desk_handoffs") and not inspector.has_table(VERSION_TABLE)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if legacy:
            command.stamp(config, "0001")
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
