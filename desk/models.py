"""SQLAlchemy 1.4 model of a handoff. Every timestamp is stored as naive UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import declarative_base

# A metadata of its own: the desk may share a database with the shop without touching its tables.
Base = declarative_base()

STATUSES = ("waiting", "callback", "active", "resolved")
OPEN_STATUSES = ("waiting", "callback", "active")
ROLES = ("customer", "bot", "agent")


def utcnow() -> datetime:
    """Current time as naive UTC, with microseconds (wait metrics need sub-second order)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Handoff(Base):
    __tablename__ = "desk_handoffs"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False)
    channel = Column(String(64), nullable=False)
    queue = Column(String(32), nullable=False)
    priority = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False)
    rule_id = Column(String(64), nullable=False)
    rule_reason = Column(Text, nullable=False)
    customer_id = Column(String(64))
    customer_name = Column(String(64))
    office_hours = Column(Boolean, nullable=False)
    callback_at = Column(DateTime)
    # transcript, slots, orders, todos, emotion and the rule history: what the agent reads.
    packet = Column(JSON, nullable=False)
    updates = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    claimed_at = Column(DateTime)
    claimed_by = Column(String(64))
    resolved_at = Column(DateTime)
    resolved_by = Column(String(64))
    note = Column(Text)

    __table_args__ = (
        # At most one open handoff per conversation, enforced by the database itself, so two
        # service instances (or a retried POST) cannot open a second one.
        Index(
            "uq_desk_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status <> 'resolved'"),
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_desk_handoffs_queue_order", "status", "queue", "priority", "created_at"),
    )
