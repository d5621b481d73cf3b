"""Scheduled alerts: the consumer's run loop runs the spike detector and the metric
thresholds by itself and posts new alerts, once, to a real local HTTP webhook."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest
from analytics_helpers import Conversation

from analytics import alerting, consumer, store
from analytics.ingest import Ingestor


class Webhook:
    """A real HTTP server on a free port that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        received: List[Dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def contents(self) -> List[str]:
        return [body["markdown"]["content"] for body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def spike_up_to_now(engine, slow_today: bool) -> None:
    """27 days of 60 sessions a day ending now; in the last three, 「屏幕闪烁」 complaints
    jump (12 a day against ~2). `slow_today`: today's replies take 45 s (FRT alert 30 s)."""
    rng = np.random.default_rng(5)
    normal = ["运费怎么算", "什么时候发货", "有优惠券吗", "这件外套穿什么码", "快递到哪了",
              "能开发票吗", "七天无理由能退吗", "耳机能连手机吗"]
    now = time.time()
    events: list = []
    for back in range(27):
        flicker = 12 if back < 3 else int(rng.binomial(60, 0.03))
        delay = 45 if (slow_today and back == 0) else 2
        for n in range(60 + flicker):
            # Each day's sessions in the 25 minutes before the same time of day as now.
            t = now - back * 86400 - 1500 + n * 20
            text = "平板屏幕闪烁,电话13812345678" if n >= 60 else str(rng.choice(normal))
            Conversation(f"c{back}-{n}", events).start(t).user(t + 1, text, "faq") \
                .bot(t + 1 + delay)
    Ingestor(engine).rasa(events)


def run_consumer_once(monkeypatch, db_url: str, webhook_url: str = "") -> None:
    monkeypatch.setenv("ANALYTICS_DB_URL", db_url)
    monkeypatch.setenv("EVENT_BROKER_URL", "off")
    monkeypatch.setenv("DESK_URL", "off")
    monkeypatch.setenv(alerting.WEBHOOK_ENV, webhook_url)
    asyncio.run(consumer.run(once=True))


def test_the_consumer_runs_the_detector_and_posts_each_alert_once(tmp_path, monkeypatch,
                                                                   webhook) -> None:
    url = f"sqlite:///{tmp_path}/analytics.sqlite"
    engine = store.engine_for(url)
    spike_up_to_now(engine, slow_today=True)
    run_consumer_once(monkeypatch, url, webhook.url)
    contents = webhook.contents()
    spikes = [c for c in contents if c.startswith("**异常上升")]
    metrics = [c for c in contents if c.startswith("**指标告警")]
    assert len(spikes) == 1 and "屏幕闪烁" in spikes[0].splitlines()[0]
    assert "138****5678" in spikes[0] and "13812345678" not in spikes[0]  # masked examples
    assert len(metrics) == 1 and "首次响应时长(FRT)" in metrics[0]
    assert "高于告警线 30秒" in metrics[0]
    with engine.connect() as connection:
        stored = connection.execute(store.alerts.select()).mappings().all()
    assert len(stored) == 1 and stored[0]["posted"]
    # The next run (a restart of the consumer) posts nothing again.
    run_consumer_once(monkeypatch, url, webhook.url)
    assert len(webhook.received) == len(contents)


def test_without_a_webhook_the_alert_is_stored_and_nothing_posted(tmp_path, monkeypatch,
                                                                  webhook) -> None:
    url = f"sqlite:///{tmp_path}/analytics.sqlite"
    engine = store.engine_for(url)
    spike_up_to_now(engine, slow_today=False)
    run_consumer_once(monkeypatch, url)
    with engine.connect() as connection:
        stored = connection.execute(store.alerts.select()).mappings().all()
    assert [row["posted"] for row in stored] == [False]
    assert "屏幕闪烁" in stored[0]["term"]
    # Set later, the webhook gets the stored alert; healthy metrics post nothing.
    run_consumer_once(monkeypatch, url, webhook.url)
    assert len(webhook.contents()) == 1 and webhook.contents()[0].startswith("**异常上升")


def test_few_sessions_raise_no_metric_alert(tmp_path) -> None:
    engine = store.engine_for(f"sqlite:///{tmp_path}/analytics.sqlite")
    now = time.time()
    events: list = []
    for n in range(5):  # five very slow replies: below alert_min_sessions (20)
        t = now - 3600 + n * 60
        Conversation(f"slow-{n}", events).start(t).user(t + 1, "在吗", "greet").bot(t + 200)
    Ingestor(engine).rasa(events)
    assert alerting.metric_breaches(engine, now) == []
    for n in range(5, 25):
        t = now - 3600 + n * 60
        Conversation(f"slow-{n}", events).start(t).user(t + 1, "在吗", "greet").bot(t + 200)
    Ingestor(engine).rasa(events)
    assert [tile["metric"] for tile in alerting.metric_breaches(engine, now)] == [
        "frt", "reply_2min", "reply_3min"]
