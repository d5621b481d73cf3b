"""Traffic simulator (`make demo-data`): real bot conversations, simulated time.

1. Record: each conversation template (customer turns in Chinese, several phrasings) is
   driven once through the real running bot over the REST webhook, as sender
   `simlive-...` (the consumer ignores that prefix, ANALYTICS_IGNORE_SENDERS). Handoffs go
   to the real desk, which claims and resolves them, so the bot asks for the rating. The
   tracker's events (Rasa's HTTP API) are the recording: every reply, intent, emotion,
   outcome and handoff in it is what the bot really did.
2. Schedule: sessions per day (weekday and hour-of-day profiles, Poisson counts), a
   template per session by weight; the promotion week has `promo_factor` (default 4x)
   the traffic, more coupon and shipping questions, slower agents; three days of it
   carry a product-defect spike (屏幕闪烁, four times its usual share).
3. Replay with simulated timestamps: a copy of the recording per session, sender
   `sim-<n>`, event times shifted to the simulated start, with customer typing time
   between turns and a simulated agent (a desk-sourced message after a queue wait; some
   handoffs are left unserved). What is simulated: the clock, the agents' waits and
   replies, and reusing one real answer for many sessions. The desk has a reply API
   (POST /api/handoffs/<id>/messages, its `agent_replied` event) and an event feed
   (GET /api/events), but it stamps what it records with the real clock: a copy dated
   weeks back cannot go through it, so a copy's agent reply is a desk-sourced bot event
   with the simulated time (the form the desk's own replies take in the tracker). The
   copies are written into the event broker's table (Rasa's SQL broker, the consumer's
   input) and the consumer's code reads them: the same path as live traffic.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics.config import tz
from service_common.settings import env_optional, env_str

logger = logging.getLogger("analytics.simulator")


@dataclass
class Template:
    name: str
    variants: List[List[str]]
    weight: float
    promo_weight: float
    handoff: bool = False
    ratings: Tuple[str, ...] = ()


TEMPLATES = [
    Template("faq_shipping", [["运费怎么算?"], ["包邮吗"], ["你们发什么快递"]], 12, 12),
    Template("shipping_time", [["什么时候发货"], ["今天下单今天能发吗"]], 10, 16),
    Template("track", [["快递到哪了", "361204587712340001", "尾号5678"],
                       ["帮我查下订单", "361204587712340001", "5678"]], 14, 14),
    Template("size", [["这件外套,身高175,70公斤穿什么码?"], ["身高165体重110斤穿什么码"]], 9, 9),
    Template("product", [["这个空气炸锅涂层耐刮吗"], ["降噪耳机能连手机吗"]], 8, 8),
    Template("promotion", [["有优惠券吗"], ["满减怎么算"]], 8, 13),
    Template("price", [["太贵了,能便宜点吗"]], 4, 6),
    Template("competitor", [["你们的耳机和小米的比哪个好"]], 3, 3),
    Template("package", [["快递包装破损了,外箱压坏了"]], 3, 3),
    Template("return", [["我要退货"], ["七天无理由能退吗"]], 5, 5),
    Template("human", [["转人工"]], 5, 5, handoff=True, ratings=("5分", "4分", "5分", "2分")),
    Template("complaint", [["我要投诉,物流一直不更新"]], 3, 3, handoff=True,
             ratings=("3分", "1分")),
    Template("flicker", [["收到的平板屏幕闪烁怎么回事"], ["屏幕闪烁,刚买的平板"]], 1.2, 1.2),
    Template("chitchat", [["在吗", "谢谢"], ["今天天气怎么样"]], 6, 6),
]
SPIKE_TEMPLATE = "flicker"
# Share of a day's sessions starting in each hour (shop-local), normal and promotion days.
HOURS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 5, 6, 7, 7, 6, 5, 5, 6, 7, 7, 5, 3]
PROMO_HOURS = [3, 2, 1, 0.5, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 5, 6, 7, 7, 6, 5, 6, 8, 12, 12, 10, 8]
WEEKDAY = [1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.25]


@dataclass
class Plan:
    normal_weeks: int = 2
    promo_factor: float = 4.0
    sessions_per_day: float = 260.0
    spike_factor: float = 4.0
    spike_days: Tuple[int, int] = (3, 5)  # promotion-week day indexes (0 = Monday)
    agent_wait_s: float = 45.0
    promo_agent_wait_s: float = 150.0
    unserved: float = 0.02
    promo_unserved: float = 0.08
    seed: int = 7


# ---- 1. record through the real bot ----------------------------------------------------

def _post(url: str, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None,
          timeout: float = 60) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode("utf-8"),
                                     {"Content-Type": "application/json", **(headers or {})},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _get(url: str, headers: Optional[Dict[str, str]] = None, timeout: float = 30) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def record(template: Template, turns: List[str], rasa_url: str, token: str,
           desk_url: Optional[str], desk_token: Optional[str], rating: Optional[str]
           ) -> List[Dict[str, Any]]:
    """Drives one conversation through the bot; its tracker events."""
    sender = f"simlive-{template.name}-{uuid.uuid4().hex[:8]}"
    for text in turns:
        _post(f"{rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    if template.handoff:
        # While the conversation waits in the queue the customer writes again (the bot is
        # silent): the 2-/3-minute reply rates include this queue time.
        _post(f"{rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": "人呢?还要等多久"})
    if template.handoff and desk_url and desk_token:
        auth = {"Authorization": f"Bearer {desk_token}"}
        rows = _get(f"{desk_url}/api/handoffs?status=waiting", auth).get("handoffs", [])
        mine = [row for row in rows if row.get("conversation_id") == sender]
        if mine:
            handoff = mine[0]["id"]
            _post(f"{desk_url}/api/handoffs/{handoff}/claim", {"agent": "小李"}, auth)
            _post(f"{desk_url}/api/handoffs/{handoff}/resolve",
                  {"agent": "小李", "note": "已处理"}, auth)
            if rating:
                _post(f"{rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": rating})
    tracker = _get(f"{rasa_url}/conversations/{sender}/tracker?token={token}")
    return tracker["events"]


def record_all(rasa_url: str, token: str, desk_url: Optional[str], desk_token: Optional[str],
               limit: int = 0, only: Tuple[str, ...] = ()
               ) -> Dict[str, List[List[Dict[str, Any]]]]:
    recordings: Dict[str, List[List[Dict[str, Any]]]] = {}
    jobs = []
    for template in TEMPLATES:
        if only and template.name not in only:
            continue
        for turns in template.variants:
            for rating in (template.ratings or (None,)):
                jobs.append((template, turns, rating))
    if limit:
        jobs = jobs[:limit]
    for index, (template, turns, rating) in enumerate(jobs, 1):
        events = record(template, turns, rasa_url, token, desk_url, desk_token, rating)
        recordings.setdefault(template.name, []).append(events)
        print(f"  recorded {index}/{len(jobs)}: {template.name} {' / '.join(turns)}"
              + (f" / {rating}" if rating else ""), flush=True)
    return recordings


# ---- 2. schedule and 3. replay with simulated time ------------------------------------

def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def retime(events: List[Dict[str, Any]], sender: str, start: float, rng: random.Random,
           agent_wait: Optional[float]) -> List[Dict[str, Any]]:
    """A copy of a recording for `sender`, starting at `start`. Customer turns get typing
    time; after a handoff the agent answers after `agent_wait` s (None: nobody answers,
    the recording stops at the handoff)."""
    first = next((i for i, e in enumerate(events) if e.get("event") == "session_started"), 0)
    source = events[max(first - 1, 0):]
    out: List[Dict[str, Any]] = []
    clock, previous = start, None
    pause_at = start
    seen_user = False
    for event in source:
        if (event.get("metadata") or {}).get("source") == "desk":
            continue  # the recording's real agent (the desk's claim); the simulated one answers
        event = copy.deepcopy(event)
        original = float(event.get("timestamp") or 0)
        gap = 0.0 if previous is None else max(0.0, min(original - previous, 30.0))
        previous = original
        if event.get("event") == "user":
            if seen_user:
                gap += rng.uniform(6, 40)  # the customer reads and types
            seen_user = True
            event["message_id"] = f"{sender}-{len(out)}"
        if event.get("event") == "resume":
            if agent_wait is None:
                break  # unserved: nobody took the conversation
            gap = max(0.0, agent_wait - (clock - pause_at)) + rng.uniform(60, 300)
        clock += gap
        event["timestamp"] = clock
        event["sender_id"] = sender
        out.append(event)
        if event.get("event") == "pause":
            pause_at = clock
        if event.get("event") == "pause" and agent_wait is not None:
            out.append({"event": "bot", "sender_id": sender, "timestamp": clock + agent_wait,
                        "text": "您好,我是客服小李,已看到您的问题,马上为您处理。", "data": {},
                        "metadata": {"source": "desk", "agent_id": rng.choice(
                            ["agent-li", "agent-wang", "agent-zhao"]), "agent_name": "小李"}})
    return out


def schedule(plan: Plan, end: date) -> List[Tuple[float, str, bool]]:
    """(start time, template, promotion day) for every simulated session."""
    rng = random.Random(plan.seed)
    days = (plan.normal_weeks + 1) * 7
    first = end - timedelta(days=days - 1)
    sessions = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        promo = offset >= plan.normal_weeks * 7
        weights = {t.name: (t.promo_weight if promo else t.weight) for t in TEMPLATES}
        if promo and day.weekday() in range(plan.spike_days[0], plan.spike_days[1] + 1):
            weights[SPIKE_TEMPLATE] *= plan.spike_factor
        names, values = list(weights), list(weights.values())
        total = plan.sessions_per_day * WEEKDAY[day.weekday()] * \
            (plan.promo_factor if promo else 1.0) * rng.gauss(1.0, 0.08)
        profile = PROMO_HOURS if promo else HOURS
        for hour, share in enumerate(profile):
            count = _poisson(rng, total * share / sum(profile))
            base = datetime.combine(day, dtime(hour), tz()).timestamp()
            for _ in range(count):
                sessions.append((base + rng.uniform(0, 3600),
                                 rng.choices(names, values)[0], promo))
    return sorted(sessions)


def simulate(plan: Plan, end: date, recordings: Dict[str, List[List[Dict[str, Any]]]]
             ) -> List[Dict[str, Any]]:
    rng = random.Random(plan.seed + 1)
    events: List[Dict[str, Any]] = []
    for index, (start, name, promo) in enumerate(schedule(plan, end)):
        options = recordings.get(name)
        if not options:
            continue
        recording = rng.choice(options)
        unserved = plan.promo_unserved if promo else plan.unserved
        mean_wait = plan.promo_agent_wait_s if promo else plan.agent_wait_s
        wait = None if rng.random() < unserved else rng.expovariate(1 / mean_wait)
        events.extend(retime(recording, f"sim-{end:%Y%m%d}-{index}", start, rng, wait))
    return events


def write_to_broker(events: List[Dict[str, Any]], broker_url: str) -> int:
    """Appends events to Rasa's SQL broker table (created like Rasa creates it)."""
    from analytics.broker import BackgroundSQLEventBroker, sql_parts

    broker = BackgroundSQLEventBroker(**sql_parts(broker_url))
    with broker.session_scope() as session:
        for chunk in range(0, len(events), 5000):
            session.add_all([broker.SQLBrokerEvent(sender_id=e["sender_id"], data=json.dumps(e))
                             for e in events[chunk:chunk + 5000]])
            session.commit()
    broker.engine.dispose()
    return len(events)


def main(engine: Engine, end: date, scale: float = 1.0, templates: int = 0,
         rasa_url: Optional[str] = None, plan: Optional[Plan] = None,
         only: Tuple[str, ...] = ()) -> int:
    from analytics.consumer import consume_sql_once
    from analytics.ingest import Ingestor

    plan = plan or Plan()
    plan.sessions_per_day *= scale
    rasa_url = (rasa_url or env_str("RASA_URL") or "").rstrip("/")
    token = env_str("RASA_API_TOKEN") or ""
    print(f"Recording conversations through the bot at {rasa_url} ...", flush=True)
    started = time.monotonic()
    try:
        recordings = record_all(rasa_url, token, env_optional("DESK_URL"),
                                env_str("DESK_API_TOKEN"), limit=templates,
                                only=only)
    except (urllib.error.URLError, OSError) as error:
        print(f"The bot is not reachable at {rasa_url} ({error}); start it with `make run`.")
        return 1
    print(f"{sum(len(v) for v in recordings.values())} recordings in "
          f"{time.monotonic() - started:.0f}s; simulating {plan.normal_weeks} normal weeks "
          f"and a promotion week ending {end} ...", flush=True)
    events = simulate(plan, end, recordings)
    broker_url = env_optional("EVENT_BROKER_URL")
    ingestor = Ingestor(engine)
    if broker_url and not broker_url.startswith(("amqp://", "amqps://")):
        write_to_broker(events, broker_url)
        written = consume_sql_once(ingestor, broker_url)  # a running consumer does the same
    else:
        written = ingestor.rasa(events)
    sessions = len({e["sender_id"] for e in events})
    print(f"{sessions} simulated sessions, {len(events)} events ({written} facts written by "
          "this run; a running consumer may have written the others).")
    return 0


def ensure_engine(url: str) -> Engine:
    from analytics import store
    return store.engine_for(url)


def table_count(engine: Engine) -> int:
    from analytics import store
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(store.facts)).scalar()
