"""What Alembic sees in a product database: differences from the code's tables, revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory


def schema_diffs(engine: sa.engine.Engine, metadata: sa.MetaData,
                 version_table: str) -> List[Any]:
    """Alembic's autogenerate comparison of the database with the metadata (tables,
    columns, types, nullability, indexes); [] when they are the same."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": version_table, "compare_type": True})
        return compare_metadata(context, metadata)


def current_revision(engine: sa.engine.Engine, version_table: str) -> Optional[str]:
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": version_table}).get_current_revision()


def head_revision(script_location: Path) -> str:
    head = ScriptDirectory(str(script_location)).get_current_head()
    assert head is not None
    return head


def table_names(engine: sa.engine.Engine) -> set:
    return set(sa.inspect(engine).get_table_names())
