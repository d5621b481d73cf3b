"""The analytics store as create_all made it before migrations existed.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "an_facts",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("session_id", sa.String(300)),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("intent", sa.String(80)),
        sa.Column("intent_group", sa.String(40)),
        sa.Column("confidence", sa.Float),
        sa.Column("emotion", sa.String(16)),
        sa.Column("intensity", sa.Float),
        sa.Column("channel", sa.String(40)),
        sa.Column("customer_id", sa.String(80)),
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
    _indexes("an_facts", "conversation_id", "session_id", "ts", "kind", "customer_id")
    op.create_table(
        "an_sessions",
        sa.Column("session_id", sa.String(300), primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("started_ts", sa.Float, nullable=False),
        sa.Column("channel", sa.String(40)),
        sa.Column("customer_id", sa.String(80)),
    )
    _indexes("an_sessions", "conversation_id", "started_ts", "customer_id")
    op.create_table(
        "an_cursors",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("position", sa.String(120), nullable=False),
    )
    op.create_table(
        "an_alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_ts", sa.Float, nullable=False),
        sa.Column("term", sa.String(120), nullable=False),
        sa.Column("term_kind", sa.String(20), nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("observed", sa.Integer, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("p_value", sa.Float, nullable=False),
        sa.Column("q_value", sa.Float, nullable=False),
        sa.Column("details", sa.JSON),
        sa.Column("posted", sa.Boolean),
    )
    _indexes("an_alerts", "window_end")
    op.create_table(
        "an_orders",
        sa.Column("customer_id", sa.String(80), primary_key=True),
        sa.Column("order_id", sa.String(80), primary_key=True),
        sa.Column("created_ts", sa.Float, nullable=False),
    )
    op.create_table(
        "an_cluster_names",
        sa.Column("signature", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
    )


def downgrade() -> None:
    for table in ("an_cluster_names", "an_orders", "an_alerts", "an_cursors", "an_sessions",
                  "an_facts"):
        op.drop_table(table)
