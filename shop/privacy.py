"""One customer's data in the shop, for export or deletion (个人信息保护法; `python -m privacy`).

Rows are found by reference, table by table: the customer row, rows naming the customer
(`customer_id`), rows naming one of their orders (`order_id`), rows naming one of their
conversations (`conversation_id`: the chat ids the caller knows of, plus the channel ids
linked to the customer), and tracking events of their shipments. Deletion goes child tables
first, so foreign keys hold on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.orm import Session

from shop.models import Base, Customer, CustomerChannel, Order, Shipment
from shop.security import IDEMPOTENCY_KEYS


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _conditions(table: Table, customer_id: str, order_ids: list[str], shipment_ids: list[int],
                conversations: list[str]) -> list[Any]:
    columns = table.columns
    found = []
    if table.name == Customer.__tablename__:
        found.append(columns["id"] == customer_id)
    if table.name == Order.__tablename__:
        found.append(columns["customer_id"] == customer_id)
    elif "customer_id" in columns:
        found.append(columns["customer_id"] == customer_id)
    if table.name != Order.__tablename__ and "order_id" in columns and order_ids:
        found.append(columns["order_id"].in_(order_ids))
    if "shipment_id" in columns and shipment_ids:
        found.append(columns["shipment_id"].in_(shipment_ids))
    if "conversation_id" in columns and conversations:
        found.append(columns["conversation_id"].in_(conversations))
    return found


def _scope(session: Session, customer_id: str,
           conversations: Iterable[str]) -> tuple[list[str], list[int], list[str]]:
    order_ids = list(session.execute(
        select(Order.id).where(Order.customer_id == customer_id)).scalars())
    shipment_ids = list(session.execute(
        select(Shipment.id).where(Shipment.order_id.in_(order_ids))).scalars()) \
        if order_ids else []
    channels = session.execute(select(CustomerChannel.channel_user_id).where(
        CustomerChannel.customer_id == customer_id)).scalars()
    return order_ids, shipment_ids, sorted({*conversations, *channels})


def customer_data(session: Session, customer_id: str,
                  conversations: Iterable[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every row of the customer's, by table (full values: this is their own copy)."""
    order_ids, shipment_ids, chats = _scope(session, customer_id, conversations)
    result: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        conditions = _conditions(table, customer_id, order_ids, shipment_ids, chats)
        if not conditions:
            continue
        rows = session.execute(select(table).where(or_(*conditions))).mappings().all()
        if rows:
            result[table.name] = [{key: _json_value(value) for key, value in row.items()}
                                  for row in rows]
    return result


def delete_customer(session: Session, customer_id: str,
                    conversations: Iterable[str] = ()) -> dict[str, int]:
    """Delete every row of the customer's; the number deleted per table."""
    order_ids, shipment_ids, chats = _scope(session, customer_id, conversations)
    counts: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        conditions = _conditions(table, customer_id, order_ids, shipment_ids, chats)
        if not conditions:
            continue
        deleted = session.execute(delete(table).where(or_(*conditions))).rowcount
        if deleted:
            counts[table.name] = deleted
    # Answers remembered for Idempotency-Key repeats may quote the customer's records and
    # name no customer: all are forgotten (a repeat after this runs afresh).
    forgotten = session.execute(delete(IDEMPOTENCY_KEYS)).rowcount
    if forgotten:
        counts[IDEMPOTENCY_KEYS.name] = forgotten
    return counts


def upload_files(data: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """(sha256, content type) of the uploads in an export, to remove their files too."""
    return [(row["sha256"], row["content_type"]) for row in data.get("uploads", [])]
