"""Answers to POSTs sent with an Idempotency-Key (service_common.idempotency).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("content_type", sa.String(128)),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_desk_idempotency_keys_created_at", "desk_idempotency_keys",
                    ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_desk_idempotency_keys_created_at", "desk_idempotency_keys")
    op.drop_table("desk_idempotency_keys")
