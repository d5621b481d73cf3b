"""ANALYTICS_RETENTION_DAYS: facts (and sessions, alerts, shop orders) older than this are
deleted."""

from __future__ import annotations

import logging
import time
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import store
from service_common.settings import env_int

logger = logging.getLogger("analytics.retention")


def retention_days() -> float:
    return env_int("ANALYTICS_RETENTION_DAYS", minimum=0)


def apply(engine: Engine, days: Optional[float] = None, now: Optional[float] = None) -> int:
    """Deletes old facts; the number of facts deleted."""
    cutoff = (now or time.time()) - (days if days is not None else retention_days()) * 86400
    with engine.begin() as connection:
        deleted = connection.execute(store.facts.delete().where(store.facts.c.ts < cutoff))
        # A session goes when none of its facts is left.
        kept = sa.select(store.facts.c.session_id).distinct()
        connection.execute(store.sessions.delete().where(
            store.sessions.c.started_ts < cutoff, store.sessions.c.session_id.not_in(kept)))
        connection.execute(store.alerts.delete().where(store.alerts.c.window_end < cutoff))
        # Orders serve the conversion of sessions within a day before them: an order older
        # than the cutoff has no session left to convert, and it names a customer.
        connection.execute(store.orders.delete().where(store.orders.c.created_ts < cutoff))
    if deleted.rowcount:
        logger.info("retention: %d facts older than %.0f days deleted", deleted.rowcount,
                    days if days is not None else retention_days())
    return deleted.rowcount
