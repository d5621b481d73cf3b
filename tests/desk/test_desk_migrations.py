"""Alembic migrations of the desk database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from desk import migrate
from service_common.db import make_engine

LEGACY_ROW = """INSERT INTO desk_handoffs (conversation_id, channel, queue, priority, status,
 rule_id, rule_reason, office_hours, packet, updates, created_at, updated_at)
 VALUES ('legacy-1', 'rest', 'general', 3, 'waiting', 'r', '', true, '{}', 0,
 '2026-01-01 00:00:00', '2026-01-01 00:00:00')"""


def _legacy_database(engine) -> None:
    """What `create_all` made before migrations existed: the handoff table, no version."""
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE desk_alembic_version"))
        connection.execute(text(LEGACY_ROW))


def _check_upgraded(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"desk_agents", "desk_sessions", "desk_login_attempts", "desk_messages",
            "desk_events", "desk_idempotency_keys", "desk_alembic_version"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("desk_handoffs")}
    assert {"agent_id", "first_reply_at", "rating", "upset", "todo_done"} <= columns
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT conversation_id, upset FROM desk_handoffs")).one()
        version = connection.execute(text("SELECT version_num FROM desk_alembic_version")
                                     ).scalar_one()
    assert row[0] == "legacy-1" and not row[1]
    assert version == "0003"


def test_sqlite_legacy_database_is_stamped_and_upgraded(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    _legacy_database(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)
    migrate.upgrade(engine)  # idempotent
    migrate.downgrade(engine, "0001")
    assert "desk_agents" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    _check_upgraded(engine)
    engine.dispose()


def test_postgresql_legacy_database_is_stamped_and_upgraded(pg_url):
    engine = make_engine(pg_url)
    _legacy_database(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)
    migrate.downgrade(engine, "0001")
    migrate.upgrade(engine)
    _check_upgraded(engine)
    engine.dispose()
