"""The pipeline end to end on the real broker: conversations over the REST channel ->
Rasa -> RabbitMQ -> `python -m analytics consume` -> store -> metrics; a consumer restart
and a full replay count nothing twice; then the same over Rasa's SQL event broker (the
embedded default). One stack for the module (Rasa restarts once, to switch brokers)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

import pytest
import sqlalchemy as sa
import yaml

from analytics import store
from analytics.facts import rasa_facts
from analytics.metrics import Dataset, compute

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from scenarios import post_message, reply_text  # noqa: E402
from stack import Stack  # noqa: E402

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
pytestmark = pytest.mark.stack


def call(url: str, method: str = "GET", body: Optional[Dict[str, Any]] = None,
         token: Optional[str] = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def office_hours_rules(folder: Path) -> Path:
    """escalation/rules.yml with the desk open all day (as tests/e2e does)."""
    content = yaml.safe_load((ROOT / "escalation" / "rules.yml").read_text(encoding="utf-8"))
    content["office_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                               "open": "00:00", "close": "23:59:59"}
    path = folder / "rules-open.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


async def _drop_amqp(queue: str, exchange: str) -> None:
    import aio_pika
    connection = await aio_pika.connect_robust(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: run `make train` first")
    folder = tmp_path_factory.mktemp("analytics-stack")
    running = Stack.isolated(folder)
    suffix = uuid.uuid4().hex[:8]
    # An exchange and queue of this test only: Rasa's default fanout exchange would copy
    # other test runs' events into this queue.
    running.env.update({"EVENT_BROKER_URL": AMQP,
                        "EVENT_BROKER_QUEUE": f"analytics_test_{suffix}",
                        "EVENT_BROKER_EXCHANGE": f"analytics_test_{suffix}",
                        "ESCALATION_RULES": str(office_hours_rules(folder)),
                        "ANALYTICS_IGNORE_SENDERS": ""})
    running.start(services=("shop", "actions", "desk", "analytics", "rasa"), timeout=900)
    yield running
    running.stop()
    asyncio.run(_drop_amqp(running.env["EVENT_BROKER_QUEUE"],
                           running.env["EVENT_BROKER_EXCHANGE"]))


def engine_of(stack):
    return store.engine_for(stack.env["ANALYTICS_DB_URL"])


def tracker_events(stack, sender: str) -> List[Dict[str, Any]]:
    tracker = call(f"{stack.rasa_url}/conversations/{sender}/tracker?token="
                   f"{stack.env['RASA_API_TOKEN']}")
    return [{"sender_id": sender, **event} for event in tracker["events"]]


def expected_keys(stack, senders: List[str]) -> Set[str]:
    return {fact["key"] for sender in senders for event in tracker_events(stack, sender)
            for fact in rasa_facts(event)}


def stored_keys(stack, senders: List[str], source: str = "rasa") -> List[str]:
    """Keys of the stored facts from one source: the broker's ("rasa") or the desk feed's,
    which the consumer polls on its own schedule."""
    with engine_of(stack).connect() as connection:
        return [row[0] for row in connection.execute(sa.select(store.facts.c.key).where(
            store.facts.c.conversation_id.in_(senders), store.facts.c.source == source))]


def wait_for_desk_kinds(stack, sender: str, kinds: Set[str], timeout: float = 60) -> List[str]:
    deadline = time.monotonic() + timeout
    while True:
        with engine_of(stack).connect() as connection:
            found = [row[0] for row in connection.execute(sa.select(store.facts.c.kind).where(
                store.facts.c.conversation_id == sender, store.facts.c.source == "desk"))]
        if kinds <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def wait_for_keys(stack, senders: List[str], timeout: float = 60) -> Set[str]:
    expected = expected_keys(stack, senders)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected <= set(stored_keys(stack, senders)):
            break
        time.sleep(0.5)
    return expected


def desk(stack, path: str, method: str = "GET", body: Optional[Dict[str, Any]] = None) -> Any:
    return call(f"{stack.env['DESK_URL']}/api{path}", method, body, stack.env["DESK_API_TOKEN"])


def test_rabbitmq_conversations_reach_the_metrics_and_restart_counts_nothing_twice(stack):
    run = uuid.uuid4().hex[:6]
    track, human = f"an-track-{run}", f"an-human-{run}"
    assert "订单号" in reply_text(post_message(stack.rasa_url, track, "快递到哪了"))
    post_message(stack.rasa_url, track, "361204587712340001")
    assert "包裹" in reply_text(post_message(stack.rasa_url, track, "尾号5678"))
    assert "人工" in reply_text(post_message(stack.rasa_url, human, "转人工"))
    rows = [r for r in desk(stack, "/handoffs?status=waiting")["handoffs"]
            if r["conversation_id"] == human]
    assert len(rows) == 1
    desk(stack, f"/handoffs/{rows[0]['id']}/claim", "POST", {"agent": "小王"})
    desk(stack, f"/handoffs/{rows[0]['id']}/resolve", "POST", {"agent": "小王", "note": "已处理"})
    post_message(stack.rasa_url, human, "5分")

    senders = [track, human]
    expected = wait_for_keys(stack, senders)
    keys = stored_keys(stack, senders)
    assert set(keys) == expected and len(keys) == len(set(keys))

    engine = engine_of(stack)
    data = Dataset(engine, time.time() - 3600, time.time() + 60)
    sessions = [s for s in data.in_period() if s.conversation_id in senders]
    metrics = compute(sessions)
    assert metrics["sessions"] == 2
    assert metrics["handoffs"] == 1 and metrics["handoff_rate"] == pytest.approx(0.5)
    assert metrics["handoff_reasons"] == {"keyword_human": 1} or \
        len(metrics["handoff_reasons"]) == 1
    assert 0 <= metrics["frt"] < 30
    assert metrics["csat"] == pytest.approx(1.0) and metrics["rating_response"] == 1.0
    track_session = next(s for s in sessions if s.conversation_id == track)
    assert track_session.issues() == {"361204587712340001": "resolved"}
    assert metrics["ai_resolution"] == pytest.approx(0.5)  # the tracking one; not the human
    with engine.connect() as connection:
        texts = [r[0] for r in connection.execute(sa.select(store.facts.c.text).where(
            store.facts.c.conversation_id == track)) if r[0]]
    assert "快递到哪了" in texts

    # Consumer down while the customer writes; it catches up on restart, nothing doubled.
    stop(stack, "analytics")
    post_message(stack.rasa_url, track, "谢谢")
    stack.start(services=("analytics",))
    expected = wait_for_keys(stack, senders)
    keys = stored_keys(stack, senders)
    assert set(keys) == expected and len(keys) == len(set(keys))
    assert "谢谢" in [f.get("text") for s in Dataset(engine, time.time() - 3600,
                                                      time.time() + 60).in_period()
                      for f in s.customer_msgs]
    # The desk's own events (claim, resolve) join the same facts, each once.
    desk_kinds = wait_for_desk_kinds(stack, human, {"desk_claimed", "desk_resolved"})
    assert desk_kinds.count("desk_claimed") == 1 and desk_kinds.count("desk_resolved") == 1

    # A full replay of both conversations through the broker adds nothing.
    before = len(stored_keys(stack, senders))
    asyncio.run(republish(stack, [e for s in senders for e in tracker_events(stack, s)]))
    time.sleep(4)
    assert len(stored_keys(stack, senders)) == before
    assert sorted(wait_for_desk_kinds(stack, human, set(), timeout=0)) == sorted(desk_kinds)


async def republish(stack, events: List[Dict[str, Any]]) -> None:
    import aio_pika
    connection = await aio_pika.connect_robust(AMQP)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(stack.env["EVENT_BROKER_EXCHANGE"],
                                                  type=aio_pika.ExchangeType.FANOUT)
        for event in events:
            await exchange.publish(aio_pika.Message(json.dumps(event).encode()), "")


def stop(stack, name: str, wait: float = 180) -> None:
    """Stack.stop_service with a longer grace period (Rasa is slow to exit on a busy box)."""
    process = stack.processes.pop(name)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_sql_event_broker_default(stack, tmp_path):
    stop(stack, "analytics")
    stop(stack, "rasa")
    stack.env["EVENT_BROKER_URL"] = f"sqlite:///{tmp_path}/events.sqlite"
    stack.start(services=("rasa", "analytics"), timeout=900)
    sender = f"an-sql-{uuid.uuid4().hex[:6]}"
    assert "订单号" in reply_text(post_message(stack.rasa_url, sender, "帮我查下订单"))
    expected = wait_for_keys(stack, [sender])
    keys = stored_keys(stack, [sender])
    assert expected and set(keys) == expected and len(keys) == len(set(keys))
    # Rasa's own events table: consumed rows (unmasked texts) are pruned once stored.
    broker = sa.create_engine(stack.env["EVENT_BROKER_URL"])
    deadline = time.monotonic() + 15
    while True:
        with broker.connect() as connection:
            rows = connection.execute(sa.text("SELECT count(*) FROM events WHERE "
                                              "sender_id = :s"), {"s": sender}).scalar()
        if rows == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows == 0


def test_simulator_small_sample_through_the_real_bot(stack, tmp_path, monkeypatch):
    """`make demo-data` in small: three templates driven through the bot, one normal and
    one promotion week at 2 % of the demo volume, written through the SQL broker table and
    the consumer's code; the promotion week has more sessions and its defect spike."""
    from datetime import date

    from analytics import simulator
    from analytics.simulator import Plan

    for name in ("RASA_API_TOKEN", "DESK_URL", "DESK_API_TOKEN"):
        monkeypatch.setenv(name, stack.env[name])
    monkeypatch.setenv("EVENT_BROKER_URL", f"sqlite:///{tmp_path}/sim-events.sqlite")
    engine = store.engine_for(f"sqlite:///{tmp_path}/sim.sqlite")
    plan = Plan(normal_weeks=1, sessions_per_day=260 * 0.05)
    code = simulator.main(engine, date(2026, 11, 29), rasa_url=stack.rasa_url, plan=plan,
                          only=("faq_shipping", "human", "flicker"))
    assert code == 0
    week = 7 * 86400
    from analytics.http import _day_ts
    promo_start = _day_ts(date(2026, 11, 23))  # shop-local midnight
    data = Dataset(engine, promo_start - week, promo_start + week)
    normal = compute(data.in_period(promo_start - week, promo_start))
    promo = compute(data.in_period(promo_start, promo_start + week))
    # 13 sessions a day, of which the three recorded templates are about a fifth
    assert normal["sessions"] >= 8 and promo["sessions"] > 2 * normal["sessions"]
    assert promo["handoffs"] > 0 and promo["frt"] is not None
    flicker = [s for s in data.in_period(promo_start, promo_start + week)
               if any("屏幕闪烁" in (m.get("text") or "") for m in s.customer_msgs)]
    assert flicker
