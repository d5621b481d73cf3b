"""Metric formulas against hand-computed fixtures (PRODUCT.md definitions).

The events go through the real path (facts, masking, idempotent ingest, session table);
every expected figure below is worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from analytics_helpers import Conversation

from analytics import retention, store
from analytics.ingest import Ingestor
from analytics.metrics import Dataset, compute, period_report

T = datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=8))).timestamp()
H = 3600.0
COUNT = sa.select(sa.func.count()).select_from(store.facts)


def fixture_events(recontact_after_hours: float, order_after_hours: float = 23):
    events: list = []
    # A: order E1 resolved by the bot in 2 s; the same customer comes back about E1 later.
    a = Conversation("conv-a", events).start(T, customer="C1")
    a.user(T + 1, "我的订单E1到哪了,电话13812345678", "track_logistics")
    a.bot(T + 3).outcome(T + 3, "resolved", "E1", "track")
    b_at = T + recontact_after_hours * H
    a.start(b_at, customer="C1").user(b_at + 1, "E1还是没到", "track_logistics")
    a.bot(b_at + 2).outcome(b_at + 2, "resolved", "E1", "track")
    # H: asks for a human; the handoff is never answered.
    h = Conversation("conv-h", events).start(T + 100)
    h.user(T + 101, "转人工", "request_human").bot(T + 102)
    h.handoff(T + 102, "h1", "keyword_human").outcome(T + 102, "handed_over", "request_human")
    # W: a complaint; the agent answers 90 s after the handoff; the customer's message at
    # +230 waits 62 s (queue time); the desk resolves at +400; a rating of 2 follows.
    w = Conversation("conv-w", events).start(T + 200)
    w.user(T + 201, "我要投诉", "complain", emotion="angry").bot(T + 202)
    w.handoff(T + 202, "h2", "complaint", queue="vip").outcome(T + 202, "handed_over", "complain")
    w.user(T + 230, "人呢???", "complain", emotion="angry")
    w.agent(T + 292, "您好,我是客服小李")
    w.ask_rating(T + 401).bot(T + 401, "请评价", action="utter_ask_rating").rating(T + 420, 2)
    # R: a rating without any resolution (never asked).
    r = Conversation("conv-r", events).start(T + 300)
    r.user(T + 301, "5分", "rate_service").bot(T + 302).rating(T + 302, 5)
    # S: a pre-sale size question answered after 150 s; the customer orders later.
    s = Conversation("conv-s", events).start(T + 500, customer="C2")
    s.user(T + 501, "身高175穿什么码", "ask_size").bot(T + 651, compliance="changed")
    s.outcome(T + 651, "resolved", "size:P1", "size_advice")
    desk = [  # the desk's feed: its own record of the agent reply (same moment) and resolve
        {"id": 1, "type": "handoff_created", "conversation_id": "conv-w", "handoff_id": "h2",
         "queue": "vip", "at": T + 202},
        {"id": 2, "type": "agent_replied", "conversation_id": "conv-w", "handoff_id": "h2",
         "agent_id": "agent-1", "at": T + 292},
        {"id": 3, "type": "resolved", "conversation_id": "conv-w", "handoff_id": "h2",
         "agent_id": "agent-1", "at": T + 400},
    ]
    orders = [{"customer_id": "C2", "order_id": "O9",
               "created_ts": T + 501 + order_after_hours * H}]
    return events, desk, orders


def load(engine, recontact_after_hours: float, order_after_hours: float = 23, times: int = 1):
    events, desk, orders = fixture_events(recontact_after_hours, order_after_hours)
    ingestor = Ingestor(engine)
    for _ in range(times):
        ingestor.rasa(events)
        ingestor.desk(desk)
    with engine.begin() as connection:
        store.insert_ignore(connection, store.orders, orders, ["customer_id", "order_id"])
    data = Dataset(engine, T, T + 10 * H)
    return compute(data.in_period(), data.orders)


def test_recontact_at_47_hours_is_not_first_contact_resolution(engine):
    m = load(engine, recontact_after_hours=47)
    assert m["sessions"] == 5                     # A, H, W, R, S (A's second session is later)
    assert m["frt"] == pytest.approx((2 + 1 + 1 + 1 + 150) / 5)
    assert m["issues"] == 4                       # E1, request_human, complain, size:P1
    assert m["fcr"] == pytest.approx(2 / 4)       # W (human resolved) and S; E1 came back
    assert m["ai_sessions"] == 4 and m["ai_resolution"] == pytest.approx(1 / 4)  # only S


def test_recontact_at_49_hours_is_a_new_issue(engine):
    m = load(engine, recontact_after_hours=49)
    assert m["fcr"] == pytest.approx(3 / 4)       # A, W, S
    assert m["ai_resolution"] == pytest.approx(2 / 4)  # A and S


def test_handoffs_waits_and_unserved(engine):
    m = load(engine, recontact_after_hours=49)
    assert m["handoffs"] == 2 and m["handoff_rate"] == pytest.approx(2 / 5)
    assert m["unserved_handoffs"] == 1            # H: nobody answered
    assert m["handoff_wait"] == pytest.approx(90)  # W only; the desk's copy is not counted twice
    assert m["handoff_reasons"] == {"keyword_human": 1, "complaint": 1}
    # AHT: A 2, H 1, W resolved by the desk at +400 (199), R 1, S 150
    assert m["aht"] == pytest.approx((2 + 1 + 199 + 1 + 150) / 5)
    assert m["peak_concurrent"] == 2              # W (201-400) overlaps R (301-302)


def test_ratings_conversion_reply_rates_compliance(engine):
    m = load(engine, recontact_after_hours=49)
    assert m["rated"] == 2 and m["csat"] == pytest.approx(1 / 2)  # R's 5 counts, W's 2 not
    assert m["rating_response"] == pytest.approx(1.0)             # asked once (W), answered
    assert m["conversion"] == pytest.approx(1.0)                  # S: order 23 h later
    # six customer messages: 2 s, 1 s, 1 s, 62 s (in the queue), 1 s, 150 s
    assert m["reply_2min"] == pytest.approx(5 / 6)
    assert m["reply_3min"] == pytest.approx(6 / 6)
    # six bot texts (A, H, W twice, R, S), one rewritten by the guard
    assert m["compliance"] == pytest.approx(5 / 6)
    assert m["emotions"] == {"calm": 4, "angry": 2}
    late = load_other(engine)
    assert late["conversion"] == pytest.approx(0.0)  # an order 25 h later is not a conversion


def load_other(engine):
    with engine.begin() as connection:
        connection.execute(store.orders.delete())
    events, desk, orders = fixture_events(49, order_after_hours=25)
    with engine.begin() as connection:
        store.insert_ignore(connection, store.orders, orders, ["customer_id", "order_id"])
    data = Dataset(engine, T, T + 10 * H)
    return compute(data.in_period(), data.orders)


def test_replay_counts_nothing_twice_and_text_is_masked(engine):
    once = load(engine, recontact_after_hours=47)
    with engine.connect() as connection:
        facts_once = connection.execute(COUNT).scalar()
    twice = load(engine, recontact_after_hours=47, times=3)
    with engine.connect() as connection:
        facts_after = connection.execute(COUNT).scalar()
        texts = [row[0] for row in connection.execute(sa.select(store.facts.c.text)) if row[0]]
    assert facts_after == facts_once
    assert once == twice
    assert any("138****5678" in text for text in texts)
    assert not any("13812345678" in text for text in texts)


def test_previous_period_and_retention(engine):
    load(engine, recontact_after_hours=49)
    report = period_report(engine, T + 40 * H, T + 60 * H)
    assert report["current"]["sessions"] == 1      # A's return at 49 h
    assert report["previous"]["sessions"] == 0
    assert retention.apply(engine, days=1, now=T + 30 * H) > 0
    data = Dataset(engine, T, T + 10 * H)
    assert data.in_period() == []                  # the first day is gone
    assert Dataset(engine, T + 40 * H, T + 60 * H).in_period()  # the later session stays


def test_privacy_export_and_delete_one_customer(engine, tmp_path):
    from analytics import privacy
    from analytics.broker import BackgroundSQLEventBroker, sql_parts

    load(engine, recontact_after_hours=49)
    broker_url = f"sqlite:///{tmp_path}/events.sqlite"
    broker = BackgroundSQLEventBroker(**sql_parts(broker_url))
    broker.publish({"sender_id": "conv-a", "event": "user", "text": "13812345678"})
    broker.publish({"sender_id": "conv-s", "event": "user", "text": "别人的"})
    broker.flush()
    with broker.engine.connect() as connection:  # one fsync per commit, like the tracker's
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    exported = privacy.export_customer("C1", engine)
    assert exported["conversations"] == ["conv-a"] and len(exported["sessions"]) == 2
    assert all(f["conversation_id"] == "conv-a" for f in exported["facts"])
    assert not any("13812345678" in (f.get("text") or "") for f in exported["facts"])
    deleted = privacy.delete_customer("C1", engine, broker_url=broker_url)
    assert deleted["sessions"] == 2 and deleted["facts"] > 0 and deleted["broker_events"] == 1
    assert privacy.export_customer("C1", engine)["facts"] == []
    assert privacy.export_customer("C2", engine)["facts"]  # others are kept


def test_masking_of_free_text():
    from analytics.mask import mask
    assert mask("电话13812345678,邮箱wang.xm@example.com") == \
        "电话138****5678,邮箱wa***@example.com"
    assert mask("改到浙江省杭州市西湖区文三路100号3栋201室,谢谢") == \
        "改到浙江省杭州市西湖区***,谢谢"
    assert mask("收件人张三 0571-88886666") == "收件人张** 0571****"
    assert mask("王小明先生您好") == "王先生您好"
    assert mask("屏幕闪烁,杭州市发货吗") == "屏幕闪烁,杭州市发货吗"


# ---- breakdowns and series against the previous period --------------------------------

DAY = 86400.0


def load_with_previous_day(engine):
    """The fixture on 11-02 (recontact after 49 h: A's return is on 11-04) and two sessions
    the day before: P1 (10:00, socketio, an order question answered in 5 s) and P2 (11:00,
    a complaint handed to vip, bot reply after 10 s, agent-2 answers 30 s after the
    handoff). Returns the dataset of 11-02 holding 11-01 too."""
    events, desk, _ = fixture_events(recontact_after_hours=49)
    p1 = Conversation("conv-p1", events).start(T - DAY)
    p1.user(T - DAY + 1, "E9到哪了", "track_logistics", channel="socketio")
    p1.bot(T - DAY + 6).outcome(T - DAY + 6, "resolved", "E9", "track")
    at = T - DAY + H
    p2 = Conversation("conv-p2", events).start(at)
    p2.user(at + 1, "我要投诉", "complain").bot(at + 11)
    p2.handoff(at + 11, "h9", "complaint", queue="vip").agent(at + 41, "您好", agent="agent-2")
    ingestor = Ingestor(engine)
    ingestor.rasa(events)
    ingestor.desk(desk)
    start = T - 10 * H  # 11-02 00:00 (+08)
    data = Dataset(engine, start - DAY, start + DAY)
    data.start, data.end = start, start + DAY
    return data


def by_value(rows, dimension, metric="sessions"):
    return {row[dimension]: (row[metric], row["previous"][metric]) for row in rows}


def test_every_breakdown_dimension_with_the_previous_period(engine):
    from analytics.metrics import breakdown

    data = load_with_previous_day(engine)
    rows = {dim: breakdown(data, dim, compare=True)
            for dim in ("agent", "channel", "queue", "intent_group", "hour", "day")}
    # (sessions on 11-02, sessions on 11-01); a value seen only before gets a 0 row.
    assert by_value(rows["agent"], "agent") == {"-": (4, 1), "agent-1": (1, 0),
                                                 "agent-2": (0, 1)}
    assert by_value(rows["channel"], "channel") == {"rest": (5, 1), "socketio": (0, 1)}
    assert by_value(rows["queue"], "queue") == {"general": (1, 0), "vip": (1, 1),
                                                 "机器人": (3, 1)}
    assert by_value(rows["intent_group"], "intent_group") == {
        "order": (1, 1), "human": (1, 0), "complaint": (1, 1), "rating": (1, 0),
        "presale": (1, 0)}
    assert by_value(rows["hour"], "hour") == {"10": (5, 1), "11": (0, 1)}
    # A day is compared with the day one period (here: one day) before it.
    assert by_value(rows["day"], "day") == {"2026-11-02": (5, 2)}
    # Metrics per row, both periods: vip FRT W 1 s / P2 10 s; robot FRT A 2, R 1, S 150 / P1 5.
    assert by_value(rows["queue"], "queue", "frt")["vip"] == (pytest.approx(1), pytest.approx(10))
    assert by_value(rows["queue"], "queue", "frt")["机器人"] == (pytest.approx(153 / 3),
                                                               pytest.approx(5))
    assert by_value(rows["queue"], "queue", "unserved_handoffs")["general"] == (1, 0)
    assert by_value(rows["agent"], "agent", "csat")["agent-1"] == (0.0, None)  # W rated 2
    assert by_value(rows["channel"], "channel", "ai_resolution")["socketio"] == (None, 1.0)
    # Without `compare` the rows are this period's only.
    assert [row["channel"] for row in breakdown(data, "channel")] == ["rest"]
    assert "previous" not in breakdown(data, "channel")[0]


def test_series_rows_hold_the_same_bucket_one_period_earlier(engine):
    from analytics.http import series

    data = load_with_previous_day(engine)
    (day,) = series(data, "day")
    assert (day["bucket"], day["sessions"]) == ("2026-11-02", 5)
    assert (day["previous_bucket"], day["previous"]["sessions"]) == ("2026-11-01", 2)
    assert day["previous"]["handoff_rate"] == pytest.approx(1 / 2)
    hours = {row["bucket"]: row for row in series(data, "hour")}
    assert len(hours) == 24
    ten = hours["11-02 10:00"]
    assert ten["sessions"] == 5 and ten["previous_bucket"] == "11-01 10:00"
    assert ten["previous"]["sessions"] == 1 and ten["previous"]["frt"] == pytest.approx(5)
    assert hours["11-02 11:00"]["previous"]["sessions"] == 1
    assert hours["11-02 11:00"]["sessions"] == 0


# ---- drills use the figures' own predicates --------------------------------------------

def with_low_rated_bot_resolution(engine):
    """The fixture (re-contact after 49 h) plus X: the bot resolves order E7, then the
    customer rates 1. AI resolution: A and S of the five sessions with an issue or a human
    (X's negative rating keeps it out); negative ratings: W (2) and X (1)."""
    events, desk, _ = fixture_events(recontact_after_hours=49)
    x = Conversation("conv-x", events).start(T + 600)
    x.user(T + 601, "E7到哪了", "track_logistics").bot(T + 603)
    x.outcome(T + 603, "resolved", "E7", "track").rating(T + 620, 1)
    ingestor = Ingestor(engine)
    ingestor.rasa(events)
    ingestor.desk(desk)
    return Dataset(engine, T, T + 10 * H)


def drilled(data, name):
    from analytics.metrics import DRILLS
    return sorted(s.conversation_id for s in data.in_period() if DRILLS[name](s))


def test_the_ai_resolution_drill_lists_exactly_the_sessions_the_rate_counts(engine):
    data = with_low_rated_bot_resolution(engine)
    m = compute(data.in_period(), data.orders)
    assert m["ai_sessions"] == 5 and m["ai_resolution"] == pytest.approx(2 / 5)
    assert drilled(data, "ai_resolved") == ["conv-a", "conv-s"]  # not X: rated 1
    assert drilled(data, "not_ai_resolved") == ["conv-h", "conv-w", "conv-x"]
    assert drilled(data, "rated_low") == ["conv-w", "conv-x"]


def test_the_negative_rating_bound_comes_from_targets_yml(engine, tmp_path, monkeypatch):
    from analytics.config import TARGETS_FILE, targets_config

    data = with_low_rated_bot_resolution(engine)
    assert drilled(data, "rated_low") == ["conv-w", "conv-x"]  # R's 5 is not low
    custom = tmp_path / "targets.yml"
    custom.write_text(TARGETS_FILE.read_text(encoding="utf-8").replace(
        "negative_rating_max: 2", "negative_rating_max: 0"), encoding="utf-8")
    monkeypatch.setenv("ANALYTICS_TARGETS_FILE", str(custom))
    targets_config.cache_clear()
    try:
        # Only ratings of 0 or less are negative now: X's 1 no longer bars the AI resolution.
        assert drilled(data, "rated_low") == []
        assert drilled(data, "ai_resolved") == ["conv-a", "conv-s", "conv-x"]
        assert compute(data.in_period(), data.orders)["ai_resolution"] == pytest.approx(3 / 5)
    finally:
        monkeypatch.delenv("ANALYTICS_TARGETS_FILE")
        targets_config.cache_clear()


# ---- emotion turning points -------------------------------------------------------------

def test_turning_points_are_counted_by_kind(engine):
    """Three conversations on 11-02; the turning point each one's last message makes is
    computed by the escalation policy's own function (escalation.mood.turning_point):
    U calm -> anxious -> angry, V anxious 0.5 -> anxious 0.6 -> angry 0.7 (rising
    intensity), C three calm messages (none)."""
    from escalation.mood import turning_point

    events: list = []
    moods = {"conv-u": [("calm", 0.5), ("anxious", 0.6), ("angry", 0.8)],
             "conv-v": [("anxious", 0.5), ("anxious", 0.6), ("angry", 0.7)],
             "conv-c": [("calm", 0.5), ("calm", 0.6), ("calm", 0.7)]}
    for n, (conversation, history) in enumerate(moods.items()):
        at = T + n * 1000
        c = Conversation(conversation, events).start(at)
        for i, (label, intensity) in enumerate(history):
            c.user(at + 10 * i + 1, f"第{i + 1}句", "urge_delivery", emotion=label,
                   intensity=intensity).bot(at + 10 * i + 2)
            turned = turning_point(history[: i + 1])
            if turned:
                c.turning_point(at + 10 * i + 1, turned)
    Ingestor(engine).rasa(events)
    Ingestor(engine).rasa(events)  # replayed: counted once
    m = compute(Dataset(engine, T, T + 10 * H).in_period())
    assert m["turning_points"] == {"calm_anxious_angry": 1, "rising_intensity": 1}
    assert m["turning_point_count"] == 2
    assert m["emotions"] == {"calm": 4, "anxious": 3, "angry": 2}
    assert m["angry_share"] == pytest.approx(2 / 9)


def test_retention_purges_old_orders(engine):
    load(engine, recontact_after_hours=49)  # C2's order O9 at T + 501 s + 23 h
    with engine.begin() as connection:
        store.insert_ignore(connection, store.orders, [
            {"customer_id": "C1", "order_id": "O-old", "created_ts": T - 40 * DAY}],
            ["customer_id", "order_id"])
    retention.apply(engine, days=30, now=T + 2 * DAY)  # cutoff: 28 days before T
    with engine.connect() as connection:
        kept = sorted(row[0] for row in connection.execute(sa.select(store.orders.c.order_id)))
    assert kept == ["O9"]
    retention.apply(engine, days=1, now=T + 3 * DAY)  # cutoff: T + 2 days, after O9
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(
            store.orders)).scalar() == 0
