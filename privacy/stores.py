"""The stores a customer's data lives in: Rasa's SQL tracker store, the shop (admin API), the
desk (its tables, by reflection: the desk changes in parallel and is read through whatever
tables it has) and, until the analytics package registers its own, the analytics tables."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterable, List, Mapping, Optional
from urllib.parse import quote

import sqlalchemy as sa

from privacy.registry import Subject, register

logger = logging.getLogger(__name__)

BATCH = 500


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, int | float | str | bool | list | dict):
        return value
    return str(value)


def _chunks(values: List[str]) -> Iterable[List[str]]:
    for start in range(0, len(values), BATCH):
        yield values[start:start + BATCH]


# ---------------------------------------------------------------- Rasa tracker store


class TrackerStore:
    """Rasa's SQL tracker store (`events` table, SQLite or PostgreSQL). A conversation is the
    customer's when its id is one of theirs (the shop's linked channel ids) or when one of its
    messages carries their channel-verified identity (`metadata.identity`) or the assistant
    set its `customer_id` slot to them."""

    name = "tracker_store"

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True)
        self.events = sa.Table("events", sa.MetaData(), autoload_with=self.engine)

    def discover(self, subject: Subject) -> None:
        needle = f"%{subject.customer_id}%"
        events = self.events
        query = sa.select(events.c.sender_id, events.c.type_name, events.c.data).where(
            events.c.type_name.in_(("user", "slot")), events.c.data.like(needle))
        found: List[str] = []
        with self.engine.connect() as connection:
            for sender, kind, raw in connection.execute(query):
                if sender not in found and _names_customer(kind, raw, subject.customer_id):
                    found.append(sender)
        subject.add_conversations(sorted(found))

    def export(self, subject: Subject) -> Dict[str, Any]:
        conversations: Dict[str, List[Any]] = {}
        events = self.events
        with self.engine.connect() as connection:
            for chunk in _chunks(subject.conversations):
                rows = connection.execute(
                    sa.select(events.c.sender_id, events.c.timestamp, events.c.data)
                    .where(events.c.sender_id.in_(chunk)).order_by(events.c.id))
                for sender, _timestamp, raw in rows:
                    conversations.setdefault(sender, []).append(_parsed(raw))
        return {"conversations": conversations}

    def delete(self, subject: Subject) -> Dict[str, int]:
        return {"events": self._delete_senders(subject.conversations)}

    def _delete_senders(self, senders: List[str]) -> int:
        deleted = 0
        with self.engine.begin() as connection:
            for chunk in _chunks(senders):
                deleted += connection.execute(
                    self.events.delete().where(self.events.c.sender_id.in_(chunk))).rowcount
        return deleted

    def expired_conversations(self, days: float, now: Optional[float] = None) -> List[str]:
        """Conversations whose newest event is older than `days`."""
        cutoff = (now if now is not None else time.time()) - days * 86400
        events = self.events
        query = (sa.select(events.c.sender_id).group_by(events.c.sender_id)
                 .having(sa.func.max(events.c.timestamp) < cutoff))
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(query)]

    def delete_conversations(self, senders: List[str]) -> int:
        return self._delete_senders(senders)


def _parsed(raw: Optional[str]) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def _names_customer(kind: str, raw: Optional[str], customer_id: str) -> bool:
    event = _parsed(raw)
    if not isinstance(event, dict):
        return False
    if kind == "slot":
        return event.get("name") == "customer_id" and event.get("value") == customer_id
    identity = (event.get("metadata") or {}).get("identity") if isinstance(
        event.get("metadata"), dict) else None
    return isinstance(identity, dict) and identity.get("verified") is True and \
        identity.get("customer_id") == customer_id


# ---------------------------------------------------------------- the shop


class ShopError(RuntimeError):
    pass


class ShopStore:
    """The shop's records through its admin API (SHOP_ADMIN_KEY): the customer, their
    orders and everything filed under them or their conversations."""

    name = "shop"

    def __init__(self, url: str, admin_key: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"X-Api-Key": self.admin_key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise ShopError(f"shop {method} {path} -> {error.code}: {detail}") from None
        except OSError as error:
            raise ShopError(f"shop unreachable at {self.url}: {error}") from None

    def customer_by_phone(self, phone: str) -> Dict[str, Any]:
        return self._call("GET", f"/api/customers/by-phone/{quote(phone, safe='')}")

    def discover(self, subject: Subject) -> None:
        try:
            customer = self._call("GET", f"/api/customers/{quote(subject.customer_id, safe='')}")
        except ShopError as error:
            if "-> 404" in str(error):
                return  # already deleted here, or never a shop customer
            raise
        subject.add_conversations(list(customer.get("channel_user_ids") or []))

    def export(self, subject: Subject) -> Dict[str, Any]:
        try:
            return self._call("POST", self._path(subject, "export"),
                              {"conversation_ids": subject.conversations})
        except ShopError as error:
            if "-> 404" in str(error):
                return {"tables": {}, "counts": {}}
            raise

    def delete(self, subject: Subject) -> Dict[str, int]:
        try:
            result = self._call("POST", self._path(subject, "delete"),
                                {"conversation_ids": subject.conversations})
        except ShopError as error:
            if "-> 404" in str(error):
                return {}
            raise
        return {**result.get("deleted", {}), "files": result.get("files_deleted", 0)}

    @staticmethod
    def _path(subject: Subject, action: str) -> str:
        return f"/api/admin/customers/{quote(subject.customer_id, safe='')}/{action}"


# ---------------------------------------------------------------- SQL stores by reflection


class ReflectedSqlStore:
    """Tables of another service, read by reflection: rows whose `conversation_id` is one of
    the customer's or whose `customer_id` is theirs, and rows of tables that refer to those
    (foreign keys, e.g. the desk's messages of a handoff). `prefix` keeps to one service's
    tables when databases are shared (the desk's are `desk_*`)."""

    def __init__(self, name: str, url: str, prefix: str = "",
                 skip: Iterable[str] = ()) -> None:
        self.name = name
        self.engine = sa.create_engine(url, future=True)
        self.prefix = prefix
        self.skip = set(skip)

    def _tables(self) -> sa.MetaData:
        metadata = sa.MetaData()
        metadata.reflect(self.engine, only=lambda table, _meta: table.startswith(self.prefix)
                         and table not in self.skip)
        return metadata

    def _plan(self, connection: sa.engine.Connection, metadata: sa.MetaData,
              subject: Subject) -> List[tuple]:
        """(table, condition) pairs, parents before children."""
        plan: List[tuple] = []
        for table in metadata.sorted_tables:
            conditions = []
            if "conversation_id" in table.c and subject.conversations:
                conditions.append(table.c.conversation_id.in_(subject.conversations))
            if "customer_id" in table.c:
                conditions.append(table.c.customer_id == subject.customer_id)
            for parent, parent_condition in list(plan):
                for fk in table.foreign_keys:
                    if fk.column.table is parent:
                        ids = sa.select(fk.column).where(parent_condition)
                        conditions.append(fk.parent.in_(ids))
            if conditions:
                plan.append((table, sa.or_(*conditions)))
        return plan

    def discover(self, subject: Subject) -> None:
        return None

    def export(self, subject: Subject) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        metadata = self._tables()
        with self.engine.connect() as connection:
            for table, condition in self._plan(connection, metadata, subject):
                rows = connection.execute(sa.select(table).where(condition)).mappings().all()
                if rows:
                    result[table.name] = [{k: _json_safe(v) for k, v in row.items()}
                                          for row in rows]
        return result

    def delete(self, subject: Subject) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        metadata = self._tables()
        with self.engine.begin() as connection:
            plan = self._plan(connection, metadata, subject)
            # Children first; their conditions select parent ids, so they run while the
            # parents still exist.
            for table, condition in reversed(plan):
                deleted = connection.execute(table.delete().where(condition)).rowcount
                if deleted:
                    counts[table.name] = deleted
        return counts


# ---------------------------------------------------------------- default registrations


def _tracker(env: Mapping[str, str]) -> Optional[TrackerStore]:
    url = env.get("TRACKER_STORE_URL")
    return TrackerStore(url) if url else None


def _shop(env: Mapping[str, str]) -> Optional[ShopStore]:
    url, key = env.get("SHOP_API_URL"), env.get("SHOP_ADMIN_KEY")
    if url and not key:
        raise ShopError("SHOP_ADMIN_KEY is not set: the shop's data cannot be reached")
    return ShopStore(url, key) if url and key else None


def _desk(env: Mapping[str, str]) -> Optional[ReflectedSqlStore]:
    url = env.get("DESK_DB_URL")
    # Agents' own accounts and sessions are not customer data.
    return ReflectedSqlStore("desk", url, prefix="desk_",
                             skip=("desk_agents", "desk_sessions", "desk_login_attempts",
                                   "desk_alembic_version")) if url else None


def _analytics(env: Mapping[str, str]) -> Optional[ReflectedSqlStore]:
    """Until the analytics package registers its own store (same name, replaces this)."""
    url = env.get("ANALYTICS_DB_URL")
    return ReflectedSqlStore("analytics", url) if url else None


register("tracker_store", _tracker)
register("shop", _shop)
register("desk", _desk)
register("analytics", _analytics)
