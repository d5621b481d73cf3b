"""Agent accounts, sessions, login attempts, conversation messages, the event feed; the
handoff's owner and service metrics.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_agents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_chats", sa.Integer, nullable=False),
        sa.Column("queues", sa.JSON),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.Integer,
                  sa.ForeignKey("desk_agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_desk_sessions_agent_id", "desk_sessions", ["agent_id"])
    op.create_table(
        "desk_login_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_desk_login_attempts_name_at", "desk_login_attempts", ["name", "at"])
    op.create_index("ix_desk_login_attempts_client_at", "desk_login_attempts",
                    ["client", "at"])
    op.create_table(
        "desk_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("desk_handoffs.id"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("agent_id", sa.Integer),
        sa.Column("agent_name", sa.String(64)),
        sa.Column("meta", sa.JSON),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_desk_messages_handoff_id", "desk_messages", ["handoff_id"])
    op.create_table(
        "desk_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("handoff_id", sa.Integer, nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.Integer),
        sa.Column("data", sa.JSON),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_desk_events_handoff_id", "desk_events", ["handoff_id"])
    with op.batch_alter_table("desk_handoffs") as batch:
        batch.add_column(sa.Column("agent_id", sa.Integer))
        batch.add_column(sa.Column("first_reply_at", sa.DateTime))
        batch.add_column(sa.Column("rating", sa.Integer))
        batch.add_column(sa.Column("upset", sa.Boolean, nullable=False,
                                   server_default=sa.text("false")))
        batch.add_column(sa.Column("todo_done", sa.JSON))
        batch.add_column(sa.Column("last_customer_at", sa.DateTime))
        batch.create_foreign_key("fk_desk_handoffs_agent", "desk_agents", ["agent_id"], ["id"])
        batch.create_index("ix_desk_handoffs_agent", ["agent_id", "status"])


def downgrade() -> None:
    with op.batch_alter_table("desk_handoffs") as batch:
        batch.drop_index("ix_desk_handoffs_agent")
        batch.drop_constraint("fk_desk_handoffs_agent", type_="foreignkey")
        for column in ("last_customer_at", "todo_done", "upset", "rating", "first_reply_at",
                       "agent_id"):
            batch.drop_column(column)
    for table in ("desk_events", "desk_messages", "desk_login_attempts", "desk_sessions",
                  "desk_agents"):
        op.drop_table(table)
