"""The event broker Rasa loads (endpoints.yml `event_broker: type: analytics.broker.EventBroker`).

EVENT_BROKER_URL selects Rasa's own broker:
- `sqlite:///var/events.sqlite` or `postgresql://...`: Rasa's SQL event broker (the
  embedded default). Rasa writes its `events` table synchronously inside the turn; here the
  write is queued and a background thread inserts in batches, so the reply never waits
  for the analytics database.
- `amqp://guest:guest@127.0.0.1:5672/` : Rasa's Pika (RabbitMQ) broker, publishing to the
  queue EVENT_BROKER_QUEUE (default `rasa_analytics_events`) through Rasa's fanout
  exchange; its publish is already asynchronous. The events of EVENT_BROKER_BATCH_SECONDS
  (default 0.2) go as one message, a JSON list (`BatchingPikaEventBroker`); 0 publishes
  Rasa's own one event per message, for consumers that expect that.
- empty: no broker (analytics off).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import queue
import threading
import time
from asyncio import AbstractEventLoop
from typing import Any, Dict, List, Optional, Text
from urllib.parse import unquote, urlparse

import aio_pika
from rasa.core.brokers.broker import EventBroker as RasaEventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.orm import sessionmaker

from service_common.db import tuned_sqlite
from service_common.settings import env_float, env_optional, env_str

logger = logging.getLogger("analytics.broker")

DEFAULT_QUEUE = "rasa_analytics_events"
EXCHANGE = "rasa-exchange"


def sql_parts(url: str) -> Dict[str, Any]:
    """SQLEventBroker's arguments from a SQLAlchemy URL."""
    parsed = urlparse(url)
    dialect = parsed.scheme.split("+")[0]
    if dialect == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else "events.sqlite"
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        return {"dialect": "sqlite", "db": path}
    return {"dialect": parsed.scheme, "host": parsed.hostname, "port": parsed.port,
            "db": parsed.path.lstrip("/"), "username": unquote(parsed.username or "") or None,
            "password": unquote(parsed.password or "") or None}


class BackgroundSQLEventBroker(SQLEventBroker):
    """Rasa's SQL event broker (same table, same rows), written by a background thread."""

    BATCH = 500
    # After the first event of a batch, wait this long for more: one commit per interval
    # instead of one per wake-up (each commit takes the GIL from the replying thread).
    LINGER_SECONDS = 0.2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        engine = tuned_sqlite(self.engine)  # type: ignore[has-type]  # Rasa's, untyped
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine)
        self._queue: queue.Queue[Optional[Dict[Text, Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sql-event-broker",
                                        daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def publish(self, event: Dict[Text, Any]) -> None:
        self._queue.put(event)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            batch: List[Dict[Text, Any]] = [] if event is None else [event]
            stop = event is None
            deadline = time.monotonic() + self.LINGER_SECONDS
            while len(batch) < self.BATCH and not stop:
                try:
                    more = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    batch.append(more)
            if batch:
                self._write(batch)
            for _ in range(len(batch) + (1 if stop else 0)):
                self._queue.task_done()
            if stop:
                return

    def _write(self, batch: List[Dict[Text, Any]]) -> None:
        rows = [{"sender_id": event.get("sender_id"), "data": json.dumps(event)}
                for event in batch]
        try:
            # One executemany on the Core table: the ORM's unit of work per row cost more
            # than the insert itself.
            with self.engine.begin() as connection:
                connection.execute(self.SQLBrokerEvent.__table__.insert(), rows)
        except Exception as error:  # the bot must keep answering; analytics loses a batch
            logger.error("event broker: %d events not written: %s", len(batch), error)

    def flush(self) -> None:
        """Waits until every queued event is written (shutdown, tests)."""
        if self._thread.is_alive():
            self._queue.join()

    async def close(self) -> None:
        self.flush()


class BatchingPikaEventBroker(PikaEventBroker):
    """Rasa's Pika broker, publishing the events of `linger` seconds as one message (a JSON
    list, in order). Per event Rasa's broker starts a task, deep-copies the event for a
    debug line and publishes a persistent message; a customer message gives four to six
    events, each then a frame for RabbitMQ and a delivery for the consumer, all on the
    cores the replies need (docs/scale.md). What fails to publish is kept and published
    again when the connection is back, as Rasa's broker does. Message headers are not
    carried (Rasa's tracker store publishes none)."""

    BATCH = 500

    def __init__(self, *args: Any, linger: float = 0.2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger = linger
        self._pending: List[Dict[Text, Any]] = []
        self._flushing: Optional[asyncio.Task] = None

    def publish(self, event: Dict[Text, Any],
                headers: Optional[Dict[Text, Text]] = None) -> None:
        self._pending.append(event)
        if self._flushing is None or self._flushing.done():
            self._flushing = self._loop.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.linger)
        await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self.BATCH], self._pending[self.BATCH:]
            try:
                if self._exchange is None:
                    raise ConnectionError("no RabbitMQ exchange yet")
                await self._exchange.publish(aio_pika.Message(
                    json.dumps(batch).encode("utf-8"), app_id=self.rasa_environment,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT), "")
            except Exception as error:  # noqa: BLE001 - kept for the reconnection
                logger.error("event broker: %d events not published yet (%s); kept until "
                             "RabbitMQ is back", len(batch), error)
                self._unpublished_events.extend(batch)
                return

    async def close(self) -> None:
        await self.flush()
        await super().close()


class EventBroker(RasaEventBroker):
    """Factory only: `from_endpoint_config` returns Rasa's SQL or Pika broker."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig,
                                   event_loop: Optional[AbstractEventLoop] = None
                                   ) -> Optional[RasaEventBroker]:
        url = broker_config.url or env_optional("EVENT_BROKER_URL")
        if not url or url.strip().lower() in ("none", "off"):
            logger.info("event broker off (EVENT_BROKER_URL is off)")
            return None
        if url.startswith(("amqp://", "amqps://")):
            parsed = urlparse(url)
            queue_name = env_str("EVENT_BROKER_QUEUE", DEFAULT_QUEUE)
            linger = max(env_float("EVENT_BROKER_BATCH_SECONDS"), 0.0)
            arguments = dict(port=parsed.port or 5672, queues=[queue_name],
                             event_loop=event_loop,
                             exchange_name=env_str("EVENT_BROKER_EXCHANGE", EXCHANGE))
            login = (parsed.hostname or "127.0.0.1", unquote(parsed.username or "guest"),
                     unquote(parsed.password or "guest"))
            broker = BatchingPikaEventBroker(*login, linger=linger, **arguments) \
                if linger > 0 else PikaEventBroker(*login, **arguments)
            await broker.connect()
            logger.info("event broker: RabbitMQ %s queue %s", parsed.hostname, queue_name)
            return broker
        logger.info("event broker: SQL (%s)", url.split(":", 1)[0])
        return BackgroundSQLEventBroker(**sql_parts(url))
