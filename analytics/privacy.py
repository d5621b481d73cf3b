"""One customer's analytics data, for the privacy command (个人信息保护法 requests).

`export_customer(customer_id)` returns the customer's sessions and facts (texts are stored
masked); `delete_customer(customer_id)` deletes them, the cached orders, and the raw events
still waiting in Rasa's SQL broker table. A customer is found by the shop customer id the
conversation was linked to, or by the conversation (sender) id itself.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import store
from service_common.settings import env_optional


def _conversations(connection: sa.engine.Connection, customer_id: str) -> List[str]:
    rows = connection.execute(sa.select(store.sessions.c.conversation_id).where(
        sa.or_(store.sessions.c.customer_id == customer_id,
               store.sessions.c.conversation_id == customer_id)).distinct())
    return [row[0] for row in rows]


def export_customer(customer_id: str, engine: Optional[Engine] = None) -> Dict[str, Any]:
    engine = engine or store.engine_for()
    with engine.connect() as connection:
        conversations = _conversations(connection, customer_id)
        sessions = [dict(row) for row in connection.execute(sa.select(store.sessions).where(
            store.sessions.c.conversation_id.in_(conversations))).mappings()]
        facts = [{k: v for k, v in dict(row).items() if v is not None}
                 for row in connection.execute(sa.select(store.facts).where(
                     store.facts.c.conversation_id.in_(conversations))
                     .order_by(store.facts.c.ts)).mappings()]
        orders = [dict(row) for row in connection.execute(sa.select(store.orders).where(
            store.orders.c.customer_id == customer_id)).mappings()]
    return {"customer_id": customer_id, "source": "analytics", "conversations": conversations,
            "sessions": sessions, "facts": facts, "orders": orders}


def delete_customer(customer_id: str, engine: Optional[Engine] = None,
                    broker_url: Optional[str] = None) -> Dict[str, int]:
    engine = engine or store.engine_for()
    with engine.begin() as connection:
        conversations = _conversations(connection, customer_id)
        facts = connection.execute(store.facts.delete().where(
            store.facts.c.conversation_id.in_(conversations))).rowcount
        sessions = connection.execute(store.sessions.delete().where(
            store.sessions.c.conversation_id.in_(conversations))).rowcount
        orders = connection.execute(store.orders.delete().where(
            store.orders.c.customer_id == customer_id)).rowcount
    broker_rows = 0
    broker_url = broker_url if broker_url is not None else env_optional("EVENT_BROKER_URL")
    if conversations and broker_url and not broker_url.startswith(("amqp://", "amqps://")):
        broker = sa.create_engine(broker_url)
        try:
            table = sa.Table("events", sa.MetaData(), autoload_with=broker)
            with broker.begin() as connection:
                broker_rows = connection.execute(table.delete().where(
                    table.c.sender_id.in_(conversations))).rowcount
        except sa.exc.NoSuchTableError:
            pass
        finally:
            broker.dispose()
    return {"conversations": len(conversations), "facts": facts, "sessions": sessions,
            "orders": orders, "broker_events": broker_rows}
