"""The analytics API and dashboard over real HTTP (`python -m analytics serve`), on the
hand-computed fixture store; a Chromium browser test of the dashboard with a screenshot;
the weekly report; the desk feed join against an HTTP server speaking the desk's feed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from analytics_helpers import TOKEN, Conversation, get, serving
from test_metrics import T, fixture_events

from analytics import store
from analytics.consumer import poll_desk_once
from analytics.detector import Alert, post_webhook, webhook_message
from analytics.ingest import Ingestor
from service_common.http import HttpClient

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analytics-http")
    url = f"sqlite:///{folder}/analytics.sqlite"
    engine = store.engine_for(url)
    events, desk, orders = fixture_events(recontact_after_hours=49)
    # a week before: the same traffic shape, for the comparison with the previous period
    earlier: list = []
    c = Conversation("conv-old", earlier).start(T - 3 * 86400)
    c.user(T - 3 * 86400 + 1, "运费怎么算", "faq").bot(T - 3 * 86400 + 40)
    Ingestor(engine).rasa(events + earlier)
    Ingestor(engine).desk(desk)
    with engine.begin() as connection:
        store.insert_ignore(connection, store.orders, orders, ["customer_id", "order_id"])
    with serving(url, folder) as base:
        yield base, engine, folder


def test_api_needs_the_token(server):
    base, _, _ = server
    assert get(base, "/api/analytics/overview", token=None)[0] == 401
    assert get(base, "/api/analytics/overview", token="wrong")[0] == 401


def test_tiles_series_breakdown_drilldown_and_csv(server):
    base, _, _ = server
    status, body, _ = get(base, "/api/analytics/overview?start=2026-11-02&end=2026-11-02")
    assert status == 200
    overview = json.loads(body)
    tiles = {t["metric"]: t for t in overview["tiles"]}
    assert tiles["fcr"]["value"] == pytest.approx(3 / 4)
    assert tiles["frt"]["target"] == 10 and tiles["frt"]["status"] == "alert"  # 31 s > 30 s
    assert tiles["unserved_handoffs"]["value"] == 1
    status, body, _ = get(base, "/api/analytics/overview?start=2026-10-27&end=2026-11-02")
    week = json.loads(body)
    assert week["current"]["sessions"] == 6 and week["previous"]["sessions"] == 0
    series = json.loads(get(base, "/api/analytics/series?start=2026-11-01&end=2026-11-02")[1])
    assert [r["sessions"] for r in series["series"]] == [0, 5]
    # each bucket beside the same bucket one period (two days) earlier: conv-old on 10-30
    assert [(r["previous_bucket"], r["previous"]["sessions"]) for r in series["series"]] == [
        ("2026-10-30", 1), ("2026-10-31", 0)]
    by_queue = json.loads(get(base, "/api/analytics/breakdown?dim=queue&start=2026-11-02"
                                    "&end=2026-11-02")[1])["rows"]
    assert {r["queue"]: r["sessions"] for r in by_queue} == {"general": 1, "vip": 1, "机器人": 3}
    assert {r["queue"]: r["previous"]["sessions"] for r in by_queue} == {
        "general": 0, "vip": 0, "机器人": 0}  # 11-01 had no session
    drill = json.loads(get(base, "/api/analytics/conversations?drill=unserved&start=2026-11-02"
                                 "&end=2026-11-02")[1])
    assert [c["conversation_id"] for c in drill["conversations"]] == ["conv-h"]
    session = drill["conversations"][0]["session_id"]
    transcript = json.loads(get(base, f"/api/analytics/conversations/{session}?start="
                                      "2026-11-02&end=2026-11-02")[1])["transcript"]
    assert [m["role"] for m in transcript] == ["顾客", "机器人"]
    status, body, headers = get(base, "/api/analytics/export.csv?start=2026-11-02&end=2026-11-02")
    assert status == 200 and "text/csv" in headers["Content-Type"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 5 and any("138****5678" in r["first_message"] for r in rows)
    assert not any("13812345678" in r["first_message"] for r in rows)


def test_bad_input_gets_a_clear_answer(server):
    base, _, _ = server
    status, body, _ = get(base, "/api/analytics/overview?start=2026-13-01")
    assert status == 400 and "YYYY-MM-DD" in json.loads(body)["error"]["message"]
    assert get(base, "/api/analytics/breakdown?dim=nope")[0] == 400
    assert get(base, "/api/analytics/conversations/nope")[0] == 404
    request = urllib.request.Request(f"{base}/api/analytics/topics/clusters", b"{oops",
                                     {"Authorization": f"Bearer {TOKEN}",
                                      "Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400


def test_dashboard_in_chromium(server):
    base, _, folder = server
    if not (ROOT / "analytics" / "web" / "dist" / "index.html").exists():
        pytest.fail("dashboard not built: run `make web`")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{base}/dashboard/")
        page.wait_for_selector("#token")
        page.fill("#token", TOKEN)
        page.click("#login-button")
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        assert "首次解决率" in page.inner_text("#tiles")
        assert page.locator("#chart-daily canvas").count() == 1
        page.click(".tile[data-metric=unserved_handoffs]")
        page.wait_for_selector("#drill-table tr.clickable")
        assert "转人工" in page.inner_text("#drill-table")
        page.screenshot(path=str(folder / "dashboard.png"), full_page=True)
        browser.close()


def test_weekly_report_is_self_contained(server, tmp_path, monkeypatch):
    _, engine, _ = server
    monkeypatch.setenv("SHOP_API_URL", "off")  # no shop here: the orders are not refreshed
    from analytics.report import write_report
    path = write_report(engine, "2026-W45", str(tmp_path / "week.html"))
    text = path.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in text and "关键指标" in text and "首次解决率" in text
    assert "http://" not in text.split("<script>")[0] and "cdn" not in text.lower()
    assert "AnalyticsReport.render" in text
    assert "13812345678" not in text  # the fixture's phone number, masked in the store


def test_series_name_the_promotion_days_of_the_period(server):
    base, _, _ = server
    # targets.yml calendar: 黑五大促周 11-23..11-29, 双十二 12-10..12-12; clipped to the period
    body = json.loads(get(base, "/api/analytics/series?start=2026-11-25&end=2026-12-10")[1])
    assert body["promotions"] == [
        {"name": "黑五大促周", "start": "2026-11-25", "end": "2026-11-29"},
        {"name": "双十二", "start": "2026-12-10", "end": "2026-12-10"}]
    body = json.loads(get(base, "/api/analytics/series?start=2026-11-01&end=2026-11-02")[1])
    assert body["promotions"] == []


def test_the_daily_chart_marks_promotion_days(server, tmp_path, monkeypatch):
    """The weekly report draws the daily chart with the dashboard's own option (charts.js
    dailyOption) as SVG: the promotion week's marked area carries its name."""
    _, engine, _ = server
    monkeypatch.setenv("SHOP_API_URL", "off")
    from playwright.sync_api import sync_playwright

    from analytics.report import write_report
    promo = write_report(engine, "2026-W48", str(tmp_path / "w48.html"))
    plain = write_report(engine, "2026-W45", str(tmp_path / "w45.html"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()
        marked = []
        for path in (promo, plain):
            page.goto(f"file://{path}")
            page.wait_for_selector("#chart-daily svg")
            marked.append(page.inner_html("#chart-daily svg"))
        browser.close()
    assert "黑五大促周" in marked[0]
    assert "黑五大促周" not in marked[1] and "双十二" not in marked[1]


class _Feed(BaseHTTPRequestHandler):
    """The desk's event feed as agreed (GET /api/events?after=&limit=, bearer token)."""

    # The desk branch's format (desk/services.py event_json): kind, integer ids, ISO time,
    # epoch timestamp, data.
    events = [
        {"id": 1, "kind": "handoff_created", "conversation_id": "conv-d", "handoff_id": 9,
         "queue": "finance", "agent_id": None, "time": "2026-11-02T02:16:40+00:00",
         "timestamp": T + 1000, "data": {"priority": 1, "rule": "invoice", "channel": "rest"}},
        {"id": 2, "kind": "claimed", "conversation_id": "conv-d", "handoff_id": 9,
         "queue": "finance", "agent_id": 7, "timestamp": T + 1030, "data": {"agent_name": "小李"}},
        {"id": 3, "kind": "agent_replied", "conversation_id": "conv-d", "handoff_id": 9,
         "queue": "finance", "agent_id": 7, "timestamp": T + 1060,
         "data": {"text": "您好,电话13812345678已记录"}},
        {"id": 4, "kind": "resolved", "conversation_id": "conv-d", "handoff_id": 9,
         "queue": "finance", "agent_id": 7, "timestamp": T + 1200, "data": {}},
    ]

    def do_GET(self):  # noqa: N802
        from urllib.parse import parse_qs, urlparse
        if self.headers.get("Authorization") != "Bearer feed-token":
            self.send_response(401)
            self.end_headers()
            return
        query = parse_qs(urlparse(self.path).query)
        after, limit = int(query["after"][0]), int(query["limit"][0])
        found = [e for e in self.events if e["id"] > after][:limit]
        body = json.dumps({"events": found, "next_after": found[-1]["id"] if found else after})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def test_desk_feed_join_is_idempotent(tmp_path):
    engine = store.engine_for(f"sqlite:///{tmp_path}/a.sqlite")
    events: list = []
    Conversation("conv-d", events).start(T + 900).user(T + 901, "开专票", "ask_invoice") \
        .bot(T + 902)
    ingestor = Ingestor(engine)
    ingestor.rasa(events)
    server = HTTPServer(("127.0.0.1", 0), _Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"

    async def poll():
        async with HttpClient(url, headers={"Authorization": "Bearer feed-token"}) as desk:
            first = await poll_desk_once(ingestor, desk, limit=2)
            again = await poll_desk_once(ingestor, desk, limit=2)
            return first, again
    first, again = asyncio.run(poll())
    server.shutdown()
    assert (first, again) == (4, 0)
    from analytics.metrics import Dataset, compute
    data = Dataset(engine, T, T + 86400)
    metrics = compute(data.in_period())
    assert metrics["handoffs"] == 1 and metrics["handoff_wait"] == pytest.approx(60)
    session = data.in_period()[0]
    assert session.queue == "finance" and session.agent == "7"
    assert session.handoffs[0]["reason"] == "invoice"
    assert session.close_ts == T + 1200


def test_alert_posts_to_a_webhook():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from datetime import date
    alert = Alert("屏幕闪烁", "term", date(2026, 11, 26), date(2026, 11, 28), 40, 9.5, 4.2,
                  1e-9, 1e-7, 2000, 14, 5000, 0.01, True,
                  [{"session_id": "s", "conversation_id": "c", "time": "2026-11-27T20:15:00",
                    "text": "屏幕闪烁,刚买的"}])
    post_webhook(f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=x", alert)
    server.shutdown()
    assert received == [webhook_message(alert)]
    assert received[0]["msgtype"] == "markdown" and "屏幕闪烁" in \
        received[0]["markdown"]["content"]


def test_conversion_joins_the_real_shops_orders(shop_server, tmp_path):
    """Orders come from the demo shop's HTTP API (GET /api/customers/{id}/orders): a
    pre-sale session 2 h before one of 王伟's real orders converts, one 30 h before not."""
    from datetime import datetime

    from analytics.metrics import Dataset, compute
    from analytics.orders import refresh_orders

    request = urllib.request.Request(f"{shop_server}/api/customers/C0001/orders?limit=100",
                                     headers={"X-Api-Key": os.environ["SHOP_API_KEY"]})
    orders = json.loads(urllib.request.urlopen(request, timeout=10).read())["orders"]
    placed = datetime.fromisoformat(orders[0]["created_at"].replace("Z", "+00:00")).timestamp()
    engine = store.engine_for(f"sqlite:///{tmp_path}/a.sqlite")
    events: list = []
    for name, before in (("conv-near", 2 * 3600), ("conv-far", 30 * 3600)):
        t = placed - before
        Conversation(name, events).start(t, customer="C0001") \
            .user(t + 1, "这个键盘是什么轴", "product_question").bot(t + 2)
    Ingestor(engine).rasa(events)
    assert asyncio.run(refresh_orders(engine, ["C0001"], shop_url=shop_server)) == len(orders)
    data = Dataset(engine, placed - 40 * 3600, placed)
    sessions = {s.conversation_id: s for s in data.in_period()}
    assert compute([sessions["conv-near"]], data.orders)["conversion"] == 1.0
    # 30 h before: converted only if another of her orders falls in its own 24 h window
    far_start = sessions["conv-far"].first_msg_ts
    expected = float(any(far_start <= t <= far_start + 24 * 3600 for t in data.orders["C0001"]))
    assert compute([sessions["conv-far"]], data.orders)["conversion"] == expected
    assert placed not in [t for t in data.orders["C0001"]
                          if far_start <= t <= far_start + 24 * 3600]
