"""The handoff queue as it was created by create_all before migrations existed.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_reason", sa.Text, nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("customer_name", sa.String(64)),
        sa.Column("office_hours", sa.Boolean, nullable=False),
        sa.Column("callback_at", sa.DateTime),
        sa.Column("packet", sa.JSON, nullable=False),
        sa.Column("updates", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("note", sa.Text),
    )
    op.create_index("uq_desk_handoffs_open_conversation", "desk_handoffs",
                    ["conversation_id"], unique=True,
                    sqlite_where=sa.text("status <> 'resolved'"),
                    postgresql_where=sa.text("status <> 'resolved'"))
    op.create_index("ix_desk_handoffs_queue_order", "desk_handoffs",
                    ["status", "queue", "priority", "created_at"])


def downgrade() -> None:
    op.drop_table("desk_handoffs")
