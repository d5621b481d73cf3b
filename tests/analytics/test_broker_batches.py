"""The RabbitMQ broker's batches (analytics.broker.BatchingPikaEventBroker) on the real
RabbitMQ: the events of one interval go as one message, in order; the consumer
(analytics.consumer) stores the facts of batches and of Rasa's one-event messages alike,
and acknowledges what it stored; events published while the exchange is gone are kept and
go out when the connection is back."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, List

import aio_pika
import pytest
import rasa.shared.core.events  # noqa: F401 - Rasa's own broker reads it, as in the server
import sqlalchemy as sa

from analytics import broker as broker_module
from analytics import consumer, store
from analytics.ingest import Ingestor

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def turn(sender: str, n: int) -> List[Dict[str, Any]]:
    ts = 1_796_000_000.0 + n
    return [{"event": "user", "sender_id": sender, "timestamp": ts, "text": f"第{n}条",
             "message_id": f"{sender}-{n}", "parse_data": {"intent": {"name": "greet"}}},
            {"event": "bot", "sender_id": sender, "timestamp": ts + 0.01, "text": "您好"}]


@pytest.fixture
def names(monkeypatch):
    run = uuid.uuid4().hex[:8]
    exchange, queue = f"test-batches-{run}", f"test-batches-{run}"
    monkeypatch.setenv("EVENT_BROKER_EXCHANGE", exchange)
    monkeypatch.setenv("EVENT_BROKER_QUEUE", queue)
    yield exchange, queue

    async def drop() -> None:
        connection = await aio_pika.connect_robust(AMQP)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.exchange_delete(exchange)

    asyncio.run(drop())


async def bodies(queue: str, wait: float = 3.0) -> List[Any]:
    """Every message on the queue (acknowledged), parsed."""
    connection = await aio_pika.connect_robust(AMQP)
    found: List[Any] = []
    async with connection:
        channel = await connection.channel()
        bound = await channel.declare_queue(queue, durable=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            message = await bound.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            found.append(json.loads(message.body))
    return found


async def broker_for(linger: str, monkeypatch) -> Any:
    monkeypatch.setenv("EVENT_BROKER_BATCH_SECONDS", linger)
    return await broker_module.EventBroker.from_endpoint_config(
        broker_module.EndpointConfig(url=AMQP), asyncio.get_running_loop())


def test_the_events_of_an_interval_go_as_one_message_in_order(names, monkeypatch):
    _exchange, queue = names
    events = [event for n in range(5) for event in turn("batch-a", n)]

    async def scenario() -> List[Any]:
        broker = await broker_for("0.2", monkeypatch)
        assert isinstance(broker, broker_module.BatchingPikaEventBroker)
        for event in events:
            broker.publish(event)
        await asyncio.sleep(0.5)
        broker.publish(turn("batch-a", 9)[0])  # a later interval: its own message
        await broker.close()
        return await bodies(queue)

    assert asyncio.run(scenario()) == [events, [turn("batch-a", 9)[0]]]


def test_zero_is_rasas_one_event_per_message(names, monkeypatch):
    _exchange, queue = names
    events = turn("single-a", 1)

    async def scenario() -> List[Any]:
        broker = await broker_for("0", monkeypatch)
        assert not isinstance(broker, broker_module.BatchingPikaEventBroker)
        for event in events:
            broker.publish(event)
        await asyncio.sleep(0.5)
        await broker.close()
        return await bodies(queue)

    found = asyncio.run(scenario())
    assert sorted(found, key=lambda event: event["timestamp"]) == events


def test_kept_while_the_exchange_is_gone_and_published_when_back(names, monkeypatch):
    _exchange, queue = names

    async def scenario() -> List[Any]:
        broker = await broker_for("0.05", monkeypatch)
        exchange, broker._exchange = broker._exchange, None  # the channel is down
        broker.publish(turn("kept-a", 1)[0])
        await asyncio.sleep(0.2)
        assert list(broker._unpublished_events) == [turn("kept-a", 1)[0]]
        broker._exchange = exchange
        broker._publish_unpublished_messages()  # what Rasa's reconnection callback runs
        await broker.close()
        return await bodies(queue)

    assert asyncio.run(scenario()) == [[turn("kept-a", 1)[0]]]


def test_the_consumer_stores_batches_and_single_events(names, tmp_path):
    exchange_name, queue = names
    batch = [event for n in range(3) for event in turn("consume-a", n)]
    single = turn("consume-b", 1)

    async def scenario() -> int:
        engine = store.engine_for(f"sqlite:///{tmp_path}/analytics.sqlite")
        connection = await aio_pika.connect_robust(AMQP)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(exchange_name,
                                                      aio_pika.ExchangeType.FANOUT)
            bound = await channel.declare_queue(queue, durable=True)
            await bound.bind(exchange, "")
            await exchange.publish(aio_pika.Message(json.dumps(batch).encode()), "")
            for event in single:
                await exchange.publish(aio_pika.Message(json.dumps(event).encode()), "")
            await exchange.publish(aio_pika.Message(b"not json"), "")
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.consume_amqp(Ingestor(engine), AMQP, queue, stop))
        deadline = time.monotonic() + 20
        stored = 0
        while time.monotonic() < deadline and stored < len(batch) + len(single):
            await asyncio.sleep(0.1)
            with engine.connect() as db:
                stored = db.execute(sa.select(sa.func.count()).select_from(store.facts)).scalar()
        stop.set()
        await task
        return stored

    assert asyncio.run(scenario()) == len(batch) + len(single)
    # Everything was acknowledged: nothing is delivered again.
    assert asyncio.run(bodies(queue, wait=1.0)) == []
