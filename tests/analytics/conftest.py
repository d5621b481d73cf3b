"""Analytics test helpers: stores on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa

from analytics import store

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_engine(prefix: str) -> Iterator[sa.engine.Engine]:
    """A fresh database named after the test (dropped afterwards); skipped without PG."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable: {error}")
    engine = store.engine_for(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[sa.engine.Engine]:
    if request.param == "sqlite":
        engine = store.engine_for(f"sqlite:///{tmp_path}/analytics.sqlite")
        yield engine
        engine.dispose()
    else:
        yield from postgres_engine("analytics_test")
