"""The analytics store (ANALYTICS_DB_URL) is made by Alembic (analytics/migrations): an empty
database upgraded to head has exactly the tables the code uses, on SQLite and PostgreSQL,
and a store made by create_all before migrations existed is stamped and keeps its rows."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa
from schema_helpers import current_revision, head_revision, schema_diffs, table_names

from analytics import migrate, store

TABLES = {"an_facts", "an_sessions", "an_cursors", "an_alerts", "an_orders", "an_cluster_names"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path, postgres_schema) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'analytics.sqlite'}"
        return
    # Its own schema name: other checkouts may run the same test on this PostgreSQL.
    with postgres_schema(f"analytics_pytest_{uuid.uuid4().hex[:8]}") as pg_url:
        yield pg_url


def test_empty_database_upgraded_to_head_equals_the_code_tables(url: str) -> None:
    engine = sa.create_engine(url, future=True)
    before = schema_diffs(engine, store.metadata, migrate.VERSION_TABLE)
    # The comparison does see every missing table.
    assert {diff[1].name for diff in before if diff[0] == "add_table"} == TABLES
    migrate.upgrade(engine)
    assert schema_diffs(engine, store.metadata, migrate.VERSION_TABLE) == []
    assert current_revision(engine, migrate.VERSION_TABLE) == head_revision(migrate.MIGRATIONS)
    migrate.upgrade(engine)  # every start runs it: nothing left to do
    assert table_names(engine) == TABLES | {migrate.VERSION_TABLE}
    migrate.downgrade(engine, "base")
    assert table_names(engine) == {migrate.VERSION_TABLE}
    engine.dispose()


def test_store_made_by_create_all_is_stamped_and_keeps_its_rows(url: str) -> None:
    old = sa.create_engine(url, future=True)
    store.metadata.create_all(old)  # how the store was made before migrations
    with old.begin() as connection:
        connection.execute(store.sessions.insert().values(
            session_id="conv-old:1", conversation_id="conv-old", started_ts=1.0e9,
            channel="rest", customer_id="C0002"))
        connection.execute(store.facts.insert().values(
            key="old-fact", conversation_id="conv-old", session_id="conv-old:1", ts=1.0e9,
            kind="customer_msg", source="rasa", text="包裹到哪了", intent="track_order"))
        store.set_cursor(connection, "broker", "42")
    old.dispose()

    engine = store.engine_for(url)  # what every analytics command opens at start
    assert current_revision(engine, migrate.VERSION_TABLE) == head_revision(migrate.MIGRATIONS)
    assert schema_diffs(engine, store.metadata, migrate.VERSION_TABLE) == []
    with engine.begin() as connection:
        facts = connection.execute(sa.select(store.facts.c.key, store.facts.c.text)).all()
        assert [tuple(row) for row in facts] == [("old-fact", "包裹到哪了")]
        assert store.get_cursor(connection, "broker") == "42"
        # Ingest goes on: a replayed fact is not stored twice, a new one is.
        inserted = store.insert_ignore(connection, store.facts, [
            {"key": "old-fact", "conversation_id": "conv-old", "ts": 1.0e9, "kind": "x"},
            {"key": "new-fact", "conversation_id": "conv-old", "ts": 1.1e9, "kind": "x"}],
            ["key"])
    assert inserted == 1
    engine.dispose()
