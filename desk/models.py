"""SQLAlchemy 1.4 models of the desk. Every timestamp is stored as naive UTC.

The schema is created and upgraded by Alembic (desk/migrations); `python -m desk` runs the
migrations at start.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import declarative_base

from service_common.idempotency import make_table

# A metadata of its own: the desk may share a database with the shop without touching its tables.
Base: Any = declarative_base()  # SQLAlchemy 1.4 has no type hints: a dynamic class

STATUSES = ("waiting", "callback", "active", "resolved")
OPEN_STATUSES = ("waiting", "callback", "active")
ROLES = ("customer", "bot", "agent")
AGENT_ROLES = ("agent", "supervisor")
AGENT_STATUSES = ("online", "away", "offline")
MESSAGE_KINDS = ("customer", "agent", "note", "system")
EVENT_KINDS = ("handoff_created", "claimed", "transferred", "agent_replied", "note_added",
               "playbook_run", "resolved", "rating")


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
    # Added by migration 0002: the owning agent account and the service metrics.
    agent_id = Column(Integer, ForeignKey("desk_agents.id"))
    first_reply_at = Column(DateTime)
    rating = Column(Integer)
    # Set when the customer's mood turned (angry/anxious), so the list can highlight them.
    upset = Column(Boolean, nullable=False, default=False, server_default=text("false"))
    todo_done = Column(JSON)  # list of to-do keys the agent ticked
    last_customer_at = Column(DateTime)

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
        Index("ix_desk_handoffs_agent", "agent_id", "status"),
    )


class Agent(Base):
    __tablename__ = "desk_agents"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="offline")
    max_chats = Column(Integer, nullable=False, default=5)
    queues = Column(JSON)  # None: every queue
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime)


class AgentSession(Base):
    __tablename__ = "desk_sessions"

    # sha256 of the cookie value: a leaked database does not hand out live sessions.
    token_hash = Column(String(64), primary_key=True)
    agent_id = Column(Integer, ForeignKey("desk_agents.id", ondelete="CASCADE"),
                      nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)


class LoginAttempt(Base):
    __tablename__ = "desk_login_attempts"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(64), nullable=False)
    client = Column(String(64), nullable=False)
    success = Column(Boolean, nullable=False)
    at = Column(DateTime, nullable=False)

    __table_args__ = (Index("ix_desk_login_attempts_name_at", "name", "at"),
                      Index("ix_desk_login_attempts_client_at", "client", "at"))


class Message(Base):
    """What happened in a handoff after it opened: customer lines, agent replies, notes."""

    __tablename__ = "desk_messages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(Integer, ForeignKey("desk_handoffs.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    agent_id = Column(Integer)
    agent_name = Column(String(64))
    meta = Column(JSON)
    created_at = Column(DateTime, nullable=False)


class DeskEvent(Base):
    """The analytics feed (GET /api/events): increasing ids, append-only."""

    __tablename__ = "desk_events"

    id = Column(Integer, primary_key=True, autoincrement=True)
    kind = Column(String(32), nullable=False)
    handoff_id = Column(Integer, nullable=False, index=True)
    conversation_id = Column(String(255), nullable=False)
    queue = Column(String(32), nullable=False)
    agent_id = Column(Integer)
    data = Column(JSON)
    created_at = Column(DateTime, nullable=False)


# Answers to POSTs sent with an Idempotency-Key (migration 0003).
IDEMPOTENCY_KEYS = make_table(Base.metadata, "desk_idempotency_keys")
