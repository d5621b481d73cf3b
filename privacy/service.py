"""Runs a request over every configured store and records it (who, when, what, counts)."""

from __future__ import annotations

import getpass
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import sqlalchemy as sa

from privacy import registry, stores  # noqa: F401  (stores registers the built-in stores)
from privacy.registry import Subject
from service_common.settings import SECRETS_FILE, defaults, read_env_file

logger = logging.getLogger(__name__)

DEFAULT_DB_URL = "sqlite:///var/privacy.sqlite"
metadata = sa.MetaData()
requests_table = sa.Table(
    "privacy_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(16), nullable=False),  # export | delete | retention
    sa.Column("customer_id", sa.String(64)),
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.Column("requested_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("conversations", sa.Integer),
    sa.Column("counts", sa.Text),  # JSON: store -> kind -> rows
    sa.Column("error", sa.Text),
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def requester(given: Optional[str]) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class RequestLog:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, future=True)
        metadata.create_all(self.engine)

    def start(self, action: str, customer_id: Optional[str], by: str,
              reason: Optional[str]) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(requests_table.insert().values(
                action=action, customer_id=customer_id, requested_by=by, reason=reason,
                requested_at=_now(), status="running"))
            return int(result.inserted_primary_key[0])

    def finish(self, request_id: int, counts: Dict[str, Any], conversations: int,
               error: Optional[str] = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(requests_table.update().where(
                requests_table.c.id == request_id).values(
                finished_at=_now(), status="failed" if error else "done",
                counts=json.dumps(counts, ensure_ascii=False), conversations=conversations,
                error=error))

    def entries(self) -> List[Dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(requests_table).order_by(requests_table.c.id)).mappings().all()
        return [dict(row) for row in rows]


def settings(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment, with the project's defaults.env and var/secrets.env beneath it."""
    values = {k: v for k, v in {**defaults(), **read_env_file(SECRETS_FILE)}.items() if v}
    values.update({k: v for k, v in (env if env is not None else os.environ).items() if v})
    return values


def resolve_subject(env: Mapping[str, str], customer_id: Optional[str],
                    phone: Optional[str]) -> Subject:
    if customer_id:
        return Subject(customer_id=customer_id, phone=phone)
    if not phone:
        raise ValueError("give --customer or --phone")
    shop = stores._shop(env)
    if shop is None:
        raise ValueError("looking a customer up by phone needs the shop (SHOP_API_URL)")
    customer = shop.customer_by_phone(phone)
    return Subject(customer_id=customer["id"], phone=phone)


def run(action: str, env: Mapping[str, str], customer_id: Optional[str] = None,
        phone: Optional[str] = None, by: Optional[str] = None,
        reason: Optional[str] = None) -> Dict[str, Any]:
    """`export` or `delete` one customer's data in every store; the result (with the
    export's data) and its request id in the log."""
    log = RequestLog(env.get("PRIVACY_DB_URL") or DEFAULT_DB_URL)
    registry.load_plugins(env)
    subject = resolve_subject(env, customer_id, phone)
    request_id = log.start(action, subject.customer_id, requester(by), reason)
    counts: Dict[str, Any] = {}
    data: Dict[str, Any] = {}
    try:
        built = registry.build(env)
        # Every store first says which conversations are the customer's, so nothing is
        # deleted before all of them are known (the shop's channel ids go first).
        for store in built:
            store.discover(subject)
        for store in built:
            if action == "export":
                data[store.name] = store.export(subject)
                counts[store.name] = _count(data[store.name])
            else:
                counts[store.name] = store.delete(subject)
    except Exception as error:
        log.finish(request_id, counts, len(subject.conversations), f"{type(error).__name__}: "
                   f"{error}")
        raise
    log.finish(request_id, counts, len(subject.conversations))
    return {"request_id": request_id, "action": action, "customer_id": subject.customer_id,
            "conversations": subject.conversations, "counts": counts,
            **({"data": data} if action == "export" else {})}


def retention(env: Mapping[str, str], days: Optional[float] = None, by: Optional[str] = None,
              now: Optional[float] = None) -> Dict[str, Any]:
    """Delete tracker-store conversations whose newest event is older than RETENTION_DAYS."""
    days = days if days is not None else float(env.get("RETENTION_DAYS") or 0)
    if days <= 0:
        raise ValueError("RETENTION_DAYS is not set (or not positive): nothing is deleted")
    tracker = stores._tracker(env)
    if tracker is None:
        raise ValueError("TRACKER_STORE_URL is not set")
    log = RequestLog(env.get("PRIVACY_DB_URL") or DEFAULT_DB_URL)
    request_id = log.start("retention", None, requester(by), f"older than {days:g} days")
    expired = tracker.expired_conversations(days, now if now is not None else time.time())
    deleted = tracker.delete_conversations(expired)
    counts = {"tracker_store": {"events": deleted}}
    log.finish(request_id, counts, len(expired))
    return {"request_id": request_id, "days": days, "conversations": len(expired),
            "counts": counts}


def _count(exported: Any) -> Dict[str, int]:
    if not isinstance(exported, dict):
        return {}
    if "counts" in exported and isinstance(exported["counts"], dict):
        return dict(exported["counts"])  # the shop counts its own tables
    return {key: len(value) for key, value in exported.items() if isinstance(value, list | dict)}
