"""Alembic migrations of the analytics store (ANALYTICS_DB_URL).

They run whenever the store is opened (`store.engine_for`: the consumer, the API and the
dashboard, the report, `python -m analytics migrate`). A store made before migrations
existed (`an_facts` and the rest from create_all, no version table) is stamped at 0001,
which equals that schema, then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service_common import migrations

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "an_alembic_version"
LEGACY_TABLE = "an_facts"


def upgrade(engine: Engine, revision: str = "head") -> None:
    migrations.upgrade(engine, MIGRATIONS, VERSION_TABLE, LEGACY_TABLE, revision)


def downgrade(engine: Engine, revision: str) -> None:
    migrations.downgrade(engine, MIGRATIONS, revision)
