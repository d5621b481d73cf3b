"""The analytics store (SQLAlchemy 1.4 core; SQLite by default, PostgreSQL tested).

One wide `facts` table: one row per event that matters (a customer or bot message, an
outcome, a handoff, a desk event, a rating ...), keyed by a stable event key so a replay
inserts nothing twice. Texts are masked before they are written (analytics.mask).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import migrate
from service_common.settings import env_str

metadata = sa.MetaData()

facts = sa.Table(
    "an_facts", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("session_id", sa.String(300), index=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    # session_start, customer_msg, bot_msg, agent_msg, outcome, handoff, rating,
    # turning_point, paused, resumed, desk_<type> (desk feed)
    sa.Column("kind", sa.String(40), nullable=False, index=True),
    sa.Column("source", sa.String(8), nullable=False, default="rasa"),
    sa.Column("text", sa.Text),
    sa.Column("intent", sa.String(80)),
    sa.Column("intent_group", sa.String(40)),
    sa.Column("confidence", sa.Float),
    sa.Column("emotion", sa.String(16)),
    sa.Column("intensity", sa.Float),
    sa.Column("channel", sa.String(40)),
    sa.Column("customer_id", sa.String(80), index=True),
    sa.Column("queue", sa.String(80)),
    sa.Column("agent_id", sa.String(80)),
    sa.Column("handoff_id", sa.String(80)),
    sa.Column("status", sa.String(20)),
    sa.Column("issue_key", sa.String(120)),
    sa.Column("reason", sa.String(120)),
    sa.Column("operation", sa.String(80)),
    sa.Column("score", sa.Float),
    sa.Column("compliance", sa.String(10)),
    sa.Column("action", sa.String(120)),
)

sessions = sa.Table(
    "an_sessions", metadata,
    sa.Column("session_id", sa.String(300), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("started_ts", sa.Float, nullable=False, index=True),
    sa.Column("channel", sa.String(40)),
    sa.Column("customer_id", sa.String(80), index=True),
)

cursors = sa.Table(
    "an_cursors", metadata,
    sa.Column("name", sa.String(120), primary_key=True),
    sa.Column("position", sa.String(120), nullable=False),
)

alerts = sa.Table(
    "an_alerts", metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # term + window: re-running adds none
    sa.Column("created_ts", sa.Float, nullable=False),
    sa.Column("term", sa.String(120), nullable=False),
    sa.Column("term_kind", sa.String(20), nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("window_end", sa.Float, nullable=False, index=True),
    sa.Column("observed", sa.Integer, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("p_value", sa.Float, nullable=False),
    sa.Column("q_value", sa.Float, nullable=False),
    sa.Column("details", sa.JSON),
    sa.Column("posted", sa.Boolean, default=False),
)

# Orders fetched from the shop's API for the conversion join (created time only).
orders = sa.Table(
    "an_orders", metadata,
    sa.Column("customer_id", sa.String(80), primary_key=True),
    sa.Column("order_id", sa.String(80), primary_key=True),
    sa.Column("created_ts", sa.Float, nullable=False),
)

# Cluster names a trainer set through the API (topics.yml holds the YAML ones).
cluster_names = sa.Table(
    "an_cluster_names", metadata,
    sa.Column("signature", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
)

FACT_COLUMNS = [column.name for column in facts.columns]


def db_url() -> str:
    return env_str("ANALYTICS_DB_URL") or ""


def engine_for(url: Optional[str] = None) -> Engine:
    url = url or db_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        folder = os.path.dirname(url[len("sqlite:///"):])
        if folder:
            os.makedirs(folder, exist_ok=True)
    engine = sa.create_engine(url, future=True)
    migrate.upgrade(engine)  # the schema is Alembic's (analytics/migrations)
    return engine


def insert_ignore(connection: sa.engine.Connection, table: sa.Table,
                  rows: List[Dict[str, Any]], key: Iterable[str]) -> int:
    """Insert rows whose key is not stored yet; the number inserted. Portable (SQLite,
    PostgreSQL): a conflict-ignoring insert of the dialect."""
    if not rows:
        return 0
    dialect = connection.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        statement = insert(table).on_conflict_do_nothing(index_elements=list(key))
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).on_conflict_do_nothing(index_elements=list(key))
    else:  # pragma: no cover - other databases: row by row
        inserted = 0
        for row in rows:
            try:
                with connection.begin_nested():
                    connection.execute(table.insert().values(**row))
                inserted += 1
            except sa.exc.IntegrityError:
                pass
        return inserted
    result = connection.execute(statement, rows)
    return max(result.rowcount, 0)


def get_cursor(connection: sa.engine.Connection, name: str) -> Optional[str]:
    return connection.execute(
        sa.select(cursors.c.position).where(cursors.c.name == name)).scalar()


def set_cursor(connection: sa.engine.Connection, name: str, position: str) -> None:
    updated = connection.execute(
        cursors.update().where(cursors.c.name == name).values(position=position))
    if not updated.rowcount:
        connection.execute(cursors.insert().values(name=name, position=position))
