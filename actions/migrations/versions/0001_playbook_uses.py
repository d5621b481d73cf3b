"""The playbook ledger as create_all made it before migrations existed.

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
        "playbook_uses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("play_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("coupon_id", sa.String(32)),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    for column in ("play_id", "customer_id", "day"):
        op.create_index(f"ix_playbook_uses_{column}", "playbook_uses", [column])


def downgrade() -> None:
    op.drop_table("playbook_uses")
