"""Alembic migrations of the assistant's own database (ACTIONS_DB_URL: the playbook ledger).

They run when the action server starts and whenever a Ledger opens its database (the desk
opens it too). A ledger made before migrations existed (`playbook_uses` from create_all, no
version table) is stamped at 0001, which equals that schema, then upgraded.

`actions/migrations` has no `__init__.py` on purpose: the Rasa SDK imports every package
below `actions`, and an Alembic env.py runs only inside Alembic.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from service_common import migrations

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "actions_alembic_version"
LEGACY_TABLE = "playbook_uses"


def upgrade(engine: Engine, revision: str = "head") -> None:
    migrations.upgrade(engine, MIGRATIONS, VERSION_TABLE, LEGACY_TABLE, revision)


def downgrade(engine: Engine, revision: str) -> None:
    migrations.downgrade(engine, MIGRATIONS, revision)
