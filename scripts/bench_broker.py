"""CPU per Rasa event of the RabbitMQ event broker in Rasa's process, of RabbitMQ and of the
analytics consumer, on the real RabbitMQ and a real store:

    .venv/bin/python scripts/bench_broker.py [--events 6000] [--batch-seconds 0 0.2]
    .venv/bin/python scripts/bench_broker.py --code DIR   # another checkout's analytics

For each EVENT_BROKER_BATCH_SECONDS given, publishes `--events` tracker events through the
broker Rasa loads (analytics.broker.EventBroker: Rasa's one event per message for 0, the
batching broker otherwise) at a customer message's five events every 10 ms (about 100
messages a second), then runs `analytics.consumer.consume_amqp` in this process into an
SQLite store until every event's facts are written. Prints the CPU per event of publishing
(this process), of RabbitMQ (its beam.smp process, read from /proc) and of consuming.
`--code DIR` imports the analytics package from another checkout (a worktree of an earlier
commit), to compare two versions on the same machine in one session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def events(count: int, run: str) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    start = time.time() - 3600
    conversation = 0
    while len(found) < count:
        sender = f"bench-{run}-{conversation}"
        conversation += 1
        found.append({"event": "session_started", "sender_id": sender, "timestamp": start})
        for turn in range(5):
            ts = start + turn
            found.append({"event": "user", "sender_id": sender, "timestamp": ts,
                          "text": "我的快递到哪了", "input_channel": "rest",
                          "message_id": uuid.uuid4().hex,
                          "parse_data": {"intent": {"name": "track_logistics",
                                                    "confidence": 0.93},
                                         "emotion": {"label": "calm", "intensity": 0.1}}})
            found.append({"event": "bot", "sender_id": sender, "timestamp": ts + 0.01,
                          "text": "麻烦发一下订单号哦", "metadata": {"utter_action":
                                                                "utter_ask_order_id"}})
    return found[:count]


def rabbit_cpu() -> float:
    """Seconds of CPU of the RabbitMQ server (0 if it cannot be read)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "beam.smp":
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return 0.0


async def publish(batch: List[Dict[str, Any]]) -> Dict[str, float]:
    """Through the broker Rasa loads; CPU of this process and of RabbitMQ meanwhile."""
    import rasa.shared.core.events  # noqa: F401 - Rasa's broker reads it (loaded in Rasa)
    from rasa.utils.endpoints import EndpointConfig

    from analytics.broker import EventBroker

    broker = await EventBroker.from_endpoint_config(EndpointConfig(url=AMQP),
                                                    asyncio.get_running_loop())
    cpu, rabbit = time.process_time(), rabbit_cpu()
    for start in range(0, len(batch), 5):
        for event in batch[start:start + 5]:
            broker.publish(event)
        await asyncio.sleep(0.01)
    await broker.close()
    return {"cpu": time.process_time() - cpu, "rabbit": rabbit_cpu() - rabbit}


async def drop(exchange_name: str, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange_name)


async def consume(count: int, queue: str, db: Path) -> Dict[str, float]:
    import sqlalchemy as sa

    from analytics import consumer, store
    from analytics.ingest import Ingestor

    engine = store.engine_for(f"sqlite:///{db}")
    ingestor = Ingestor(engine)
    stop = asyncio.Event()
    wanted = count  # one fact per event here (session start, message, answer)
    cpu, rabbit, wall = time.process_time(), rabbit_cpu(), time.monotonic()
    task = asyncio.create_task(consumer.consume_amqp(ingestor, AMQP, queue, stop))
    while True:
        await asyncio.sleep(0.05)
        with engine.connect() as connection:
            done = connection.execute(sa.select(sa.func.count()).select_from(
                store.facts)).scalar()
        if done >= wanted or time.monotonic() - wall > 300:
            break
    figures = {"events": float(done), "cpu": time.process_time() - cpu,
               "rabbit": rabbit_cpu() - rabbit, "wall": time.monotonic() - wall}
    stop.set()
    await task
    return figures


def measure(code: Path, count: int, linger: float) -> str:
    run = uuid.uuid4().hex[:8]
    exchange_name, queue = f"bench-broker-{run}", f"bench-broker-{run}"
    os.environ.update({"EVENT_BROKER_EXCHANGE": exchange_name, "EVENT_BROKER_QUEUE": queue,
                       "EVENT_BROKER_BATCH_SECONDS": str(linger)})
    batch = events(count, run)
    with tempfile.TemporaryDirectory() as folder:
        try:
            sent = asyncio.run(publish(batch))
            got = asyncio.run(consume(len(batch), queue, Path(folder) / "a.sqlite"))
        finally:
            asyncio.run(drop(exchange_name, queue))
    done = max(got["events"], 1)
    return (f"| {code.name} | {linger:g} | {int(got['events'])} of {len(batch)} "
            f"| {sent['cpu'] * 1000 / len(batch):.3f} "
            f"| {(sent['rabbit'] + got['rabbit']) * 1000 / done:.3f} "
            f"| {got['cpu'] * 1000 / done:.3f} |")


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--batch-seconds", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    print("| code | EVENT_BROKER_BATCH_SECONDS | events stored | publish (Rasa's process) "
          "ms/event | RabbitMQ ms/event | consumer ms/event |\n|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for linger in args.batch_seconds:
            print(measure(args.code, args.events, linger), flush=True)


if __name__ == "__main__":
    main()
