"""`python -m analytics consume`: broker -> facts, desk feed -> facts, retention, and
the scheduled alerts (analytics.alerting: spike detector, metric thresholds, webhook).

Idempotent: every fact has a stable key (analytics.facts.event_key), so events read twice
(the SQL broker's cursor lost, a RabbitMQ message redelivered after a restart before its
ack) are not counted twice. Runs beside the Rasa server, never inside the reply path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import time
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import alerting, retention, store
from analytics.broker import DEFAULT_QUEUE, EXCHANGE
from analytics.ingest import Ingestor
from service_common.http import HttpClient, HttpError
from service_common.settings import env_bool, env_list, env_optional, env_str

logger = logging.getLogger("analytics.consumer")

POLL_SECONDS = 1.0
DESK_POLL_SECONDS = 5.0


def _broker_engine(url: str) -> Engine:
    return sa.create_engine(url, future=True)


def consume_sql_once(ingestor: Ingestor, broker_url: str, batch: int = 2000) -> int:
    """Reads Rasa's SQL broker table from the stored cursor on; the number of new facts."""
    engine = _broker_engine(broker_url)
    name = f"sql:{broker_url.rsplit('@', 1)[-1]}"
    try:
        events_table = sa.Table("events", sa.MetaData(), autoload_with=engine)
    except sa.exc.NoSuchTableError:
        return 0  # Rasa has not published anything yet
    written = 0
    while True:
        with ingestor.engine.connect() as connection:
            after = int(store.get_cursor(connection, name) or 0)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(events_table.c.id, events_table.c.data)
                .where(events_table.c.id > after).order_by(events_table.c.id).limit(batch)
            ).all()
        if not rows:
            break
        events = []
        for row in rows:
            try:
                events.append(json.loads(row[1]))
            except (TypeError, ValueError):
                logger.warning("broker row %s is not JSON; skipped", row[0])
        written += ingestor.rasa(events)
        with ingestor.engine.begin() as connection:
            store.set_cursor(connection, name, str(rows[-1][0]))
        if env_bool("ANALYTICS_PRUNE_BROKER"):
            # Broker rows hold unmasked texts: once their facts are stored they go.
            with engine.begin() as connection:
                connection.execute(events_table.delete().where(
                    events_table.c.id <= rows[-1][0]))
        if len(rows) < batch:
            break
    engine.dispose()
    return written


async def consume_amqp(ingestor: Ingestor, url: str, queue_name: str,
                       stop: asyncio.Event, batch: int = 200) -> None:
    """Keeps consuming across broker outages: a closed channel (RabbitMQ restarted or
    unreachable) ended the task for good, and the analytics never caught up."""
    while not stop.is_set():
        try:
            await _consume_amqp(ingestor, url, queue_name, stop, batch)
        except Exception as error:  # noqa: BLE001 - aio-pika/aiormq/OS errors alike
            logger.warning("RabbitMQ consumer interrupted (%s); reconnecting", error)
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass


async def _consume_amqp(ingestor: Ingestor, url: str, queue_name: str,
                        stop: asyncio.Event, batch: int = 200) -> None:
    """RabbitMQ: acknowledges a batch only after its facts are committed, so a consumer
    killed in between gets the batch again (and the keys make that harmless).

    The broker pushes messages (up to `batch` unacknowledged, the channel's prefetch) and
    one acknowledgement covers the whole batch: asking for each message (basic.get) and
    acknowledging each was a round trip per event for the consumer and for RabbitMQ, on
    the cores the replies need (docs/scale.md)."""
    import aio_pika

    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=batch)
        exchange = await channel.declare_exchange(
            env_str("EVENT_BROKER_EXCHANGE", EXCHANGE),
            type=aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(queue_name, durable=True)
        await queue.bind(exchange, "")
        inbox: asyncio.Queue = asyncio.Queue()
        await queue.consume(inbox.put, no_ack=False)
        logger.info("consuming RabbitMQ queue %s", queue_name)
        while not stop.is_set():
            try:
                messages = [await asyncio.wait_for(inbox.get(), timeout=POLL_SECONDS / 2)]
            except asyncio.TimeoutError:
                continue
            while len(messages) < batch and not inbox.empty():
                messages.append(inbox.get_nowait())
            events = []
            for message in messages:
                try:
                    body = json.loads(message.body)
                except ValueError:
                    logger.warning("a broker message is not JSON; dropped")
                    continue
                # A list: the events of one batch (analytics.broker.BatchingPikaEventBroker).
                events.extend(body if isinstance(body, list) else [body])
            written = await asyncio.get_running_loop().run_in_executor(
                None, ingestor.rasa, events)
            # Delivery tags grow on the channel: the last one acknowledges them all.
            await messages[-1].ack(multiple=True)
            logger.debug("%d events -> %d new facts", len(events), written)


def _desk_events(body: Any) -> List[Dict[str, Any]]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("events", "items", "data"):
            if isinstance(body.get(key), list):
                return body[key]
    return []


async def poll_desk_once(ingestor: Ingestor, desk: HttpClient, limit: int = 500) -> int:
    """Reads the desk's event feed (GET /api/events?after=&limit=) from the stored cursor.
    `desk`: a client of the desk with its token (a GET: retried by the shared policy)."""
    name = f"desk:{desk.base_url}"
    written = 0
    while True:
        with ingestor.engine.connect() as connection:
            after = store.get_cursor(connection, name) or "0"
        reply = await desk.request_json("GET", "/api/events",
                                        params={"after": after, "limit": str(limit)})
        if reply.status == 404:
            return written  # a desk without the feed
        if reply.status >= 400:
            raise HttpError("refused", reply.status)
        events = _desk_events(reply.data)
        if not events:
            return written
        written += ingestor.desk(events)
        last = max(int(event["id"]) for event in events if str(event.get("id", "")).isdigit())
        with ingestor.engine.begin() as connection:
            store.set_cursor(connection, name, str(last))
        if len(events) < limit:
            return written


def check_alerts(engine: Engine) -> None:
    """The scheduled alert run; a failure (webhook down, a bad config) is logged and the
    next run tries again: it must never stop the consumer."""
    try:
        result = alerting.check(engine, url=alerting.webhook_url())
    except Exception:  # noqa: BLE001 - urllib/SQL/config errors alike
        logger.exception("scheduled alert run failed")
        return
    if result.alerts or result.breaches:
        logger.info("alerts: %d emerging issues, %d metrics past their alert threshold",
                    len(result.alerts), len(result.breaches))


def ignore_prefixes() -> tuple:
    return tuple(env_list("ANALYTICS_IGNORE_SENDERS"))


async def run(stop: Optional[asyncio.Event] = None, once: bool = False) -> None:
    stop = stop or asyncio.Event()
    engine = store.engine_for()
    ingestor = Ingestor(engine, ignore_prefixes())
    broker_url = env_optional("EVENT_BROKER_URL") or ""
    desk_url = env_optional("DESK_URL") or ""
    desk_token = env_str("DESK_API_TOKEN") or ""
    tasks = []
    if broker_url.startswith(("amqp://", "amqps://")):
        queue_name = env_str("EVENT_BROKER_QUEUE", DEFAULT_QUEUE)
        tasks.append(asyncio.create_task(consume_amqp(ingestor, broker_url, queue_name, stop)))
    # -inf: the first pass runs them (monotonic() may be small right after a boot)
    last_retention = last_desk = last_alerts = -math.inf
    async with HttpClient(desk_url, name="desk", timeout=10,
                          headers={"Authorization": f"Bearer {desk_token}"}) as desk:
        while True:
            if broker_url and not broker_url.startswith(("amqp://", "amqps://")):
                await asyncio.get_running_loop().run_in_executor(
                    None, consume_sql_once, ingestor, broker_url)
            if desk_url and desk_token and time.monotonic() - last_desk > DESK_POLL_SECONDS:
                last_desk = time.monotonic()
                try:
                    await poll_desk_once(ingestor, desk)
                except (HttpError, ValueError) as error:
                    logger.warning("desk feed unavailable: %s", error)
            if time.monotonic() - last_retention > 3600:
                last_retention = time.monotonic()
                retention.apply(engine)
            if time.monotonic() - last_alerts > alerting.interval():
                # After this pass's facts are in; off the loop: the detector reads weeks.
                last_alerts = time.monotonic()
                await asyncio.get_running_loop().run_in_executor(None, check_alerts, engine)
            if once or stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
    stop.set()
    for task in tasks:
        await task


def main(once: bool = False) -> None:
    logging.basicConfig(level=env_str("ANALYTICS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("analytics consumer running", flush=True)
    loop.run_until_complete(run(stop, once=once))
