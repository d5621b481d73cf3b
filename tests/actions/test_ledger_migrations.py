"""The assistant's ledger (ACTIONS_DB_URL) is made by Alembic (actions/migrations): an empty
database upgraded to head has exactly the tables the code uses, on SQLite and PostgreSQL,
and a ledger made by create_all before migrations existed is stamped and keeps its rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Iterator

import pytest
import sqlalchemy as sa
from schema_helpers import current_revision, head_revision, schema_diffs, table_names

from actions import migrate
from actions.playbook import Ledger, load_plays, metadata, uses

PLAY = load_plays()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path, postgres_schema) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'actions.sqlite'}"
        return
    # Its own schema name: other checkouts may run the same test on this PostgreSQL.
    with postgres_schema(f"actions_pytest_{uuid.uuid4().hex[:8]}") as pg_url:
        yield pg_url


def test_empty_database_upgraded_to_head_equals_the_code_tables(url: str) -> None:
    engine = sa.create_engine(url, future=True)
    before = schema_diffs(engine, metadata, migrate.VERSION_TABLE)
    # The comparison does see a missing table and its indexes.
    assert sorted((diff[0], diff[1].name) for diff in before) == [
        ("add_index", "ix_playbook_uses_customer_id"), ("add_index", "ix_playbook_uses_day"),
        ("add_index", "ix_playbook_uses_play_id"), ("add_table", "playbook_uses")]
    migrate.upgrade(engine)
    assert schema_diffs(engine, metadata, migrate.VERSION_TABLE) == []
    assert current_revision(engine, migrate.VERSION_TABLE) == head_revision(migrate.MIGRATIONS)
    migrate.upgrade(engine)  # every start runs it: nothing left to do
    assert table_names(engine) == {"playbook_uses", migrate.VERSION_TABLE}
    migrate.downgrade(engine, "base")
    assert table_names(engine) == {migrate.VERSION_TABLE}
    engine.dispose()


def test_ledger_made_by_create_all_is_stamped_and_keeps_its_rows(url: str) -> None:
    old = sa.create_engine(url, future=True)
    metadata.create_all(old)  # how the ledger was made before migrations
    with old.begin() as connection:
        connection.execute(uses.insert().values(
            play_id=PLAY.id, customer_id="C0002", conversation_id="conv-old", reason="old",
            amount=PLAY.amount, status="issued", coupon_id="41", day="2026-11-20",
            created_at=datetime(2026, 11, 20, 2, 0)))
    old.dispose()

    ledger = Ledger(url)  # what the action server and the desk open at start
    assert current_revision(ledger.engine, migrate.VERSION_TABLE) == \
        head_revision(migrate.MIGRATIONS)
    assert schema_diffs(ledger.engine, metadata, migrate.VERSION_TABLE) == []
    kept = ledger.history("C0002")
    assert [(u["conversation_id"], u["status"], u["coupon_id"]) for u in kept] == \
        [("conv-old", "issued", "41")]
    # The upgraded ledger goes on counting the old use against the limits.
    now = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
    assert ledger.reserve(PLAY, "C0002", "conv-new", "test", now=now) is None
    assert ledger.reserve(PLAY, "C0003", "conv-new", "test", now=now) is not None
    ledger.engine.dispose()
