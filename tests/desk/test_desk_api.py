"""The handoff life cycle over HTTP: create, update, positions, listing, claim, resolve."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from desk_helpers import api, assert_error, get, new_id, packet, post


@pytest.fixture(scope="module")
def desk(desk_factory) -> str:
    return desk_factory().url


def _utc(iso: str) -> datetime:
    parsed = datetime.fromisoformat(iso)
    assert parsed.utcoffset() == timedelta(0), iso  # stored and shown in UTC
    return parsed


def test_create_returns_place_and_stores_full_packet(desk):
    sent = packet(queue="finance", priority=2)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = post(desk, "/api/handoffs", sent, status=201)
    assert created["status"] == "waiting" and created["updated"] is False
    assert created["queue"] == "finance" and created["priority"] == 2
    assert created["position"] >= 1
    assert created["expected_wait_minutes"] == created["position"] * 8
    assert _utc(created["created_at"]) >= before

    detail = get(desk, f"/api/handoffs/{created['id']}")
    assert detail["conversation_id"] == sent["conversation_id"]
    assert detail["transcript"] == sent["transcript"]
    assert detail["slots"] == sent["slots"] and detail["orders"] == sent["orders"]
    assert detail["todos"] == sent["todos"] and detail["emotion"] == sent["emotion"]
    assert detail["customer"] == {"id": "C0001", "name": "王伟"}
    assert detail["rule"] == sent["rule"] and len(detail["rules"]) == 1
    assert detail["last_customer_message"] == "转人工"
    assert detail["current_emotion"]["label"] == "anxious"
    assert detail["open_todos"] == 1
    assert detail["claimed_at"] is None and detail["wait_seconds"] is None
    # No Rasa in these tests: the stored packet still comes back, flagged as not live.
    assert detail["live"] is False and detail["messages_since_handoff"] is None
    assert detail["live_error"]


def test_optional_collections_default_to_empty(desk):
    minimal = {key: packet()[key] for key in (
        "conversation_id", "channel", "rule", "queue", "priority", "transcript", "office_hours")}
    minimal["transcript"] = []
    created = post(desk, "/api/handoffs", minimal, status=201)
    detail = get(desk, f"/api/handoffs/{created['id']}")
    assert detail["slots"] == {} and detail["orders"] == [] and detail["todos"] == []
    assert detail["emotion"] == {"history": [], "turning_point": None}
    assert detail["customer"] == {"id": None, "name": None}
    assert detail["last_customer_message"] is None


def test_lenient_where_the_bot_may_be_terse(desk):
    """An empty rule reason, string to-dos, extra emotion keys and empty texts are accepted."""
    sent = packet(rule={"id": "asked_for_human", "reason": ""}, todos=["需跟进补发单号"])
    sent["transcript"][0]["emotion"]["confidence"] = 0.8
    sent["transcript"][1]["text"] = ""
    created = post(desk, "/api/handoffs", sent, status=201)
    detail = get(desk, f"/api/handoffs/{created['id']}")
    assert detail["rule"] == {"id": "asked_for_human", "reason": ""}
    assert detail["todos"] == [{"text": "需跟进补发单号"}]
    assert detail["transcript"][0]["emotion"] == {"label": "calm", "intensity": 0.2}


def test_second_post_updates_the_open_handoff(desk):
    first = packet(priority=3)
    created = post(desk, "/api/handoffs", first, status=201)

    second = packet(
        first["conversation_id"], priority=4, queue="senior",
        rule={"id": "repeated_question", "reason": "同一问题问了3次"},
        transcript=[*first["transcript"][1:],  # overlaps: no duplicates may appear
                    {"role": "customer", "text": "到底怎么回事？？？", "time": 1700000090.0,
                     "intent": "complain", "emotion": {"label": "angry", "intensity": 0.9}}],
        slots={"phone_tail": "5678"},
        orders=[{"id": "361204587712340001", "status": "delivered"},
                {"id": "361204587712340002", "status": "paid"}],
        todos=[{"id": "t2", "text": "需记录破损图片"}],
        emotion={"history": [{"label": "angry", "intensity": 0.9, "time": 1700000090.0}],
                 "turning_point": {"from": "anxious", "to": "angry", "time": 1700000090.0}},
        customer={"id": None, "name": None},
    )
    updated = post(desk, "/api/handoffs", second, status=200)
    assert updated["id"] == created["id"] and updated["updated"] is True
    assert updated["priority"] == 3  # the higher (smaller) priority is kept
    assert updated["queue"] == "general"  # a waiting customer keeps their queue
    assert updated["created_at"] == created["created_at"]  # and their age

    detail = get(desk, f"/api/handoffs/{created['id']}")
    texts = [m["text"] for m in detail["transcript"]]
    assert texts == ["我的快递到哪了", "亲，您的包裹正在派送中，预计今天送达", "转人工",
                     "到底怎么回事？？？"]
    assert detail["rule"]["id"] == "repeated_question"
    assert [r["id"] for r in detail["rules"]] == ["keyword_human", "repeated_question"]
    assert detail["slots"] == {"order_id": "361204587712340001", "verified": True,
                               "phone_tail": "5678"}
    assert [(o["id"], o["status"]) for o in detail["orders"]] == [
        ("361204587712340001", "delivered"), ("361204587712340002", "paid")]
    assert [t["id"] for t in detail["todos"]] == ["t1", "t2"]
    assert [e["label"] for e in detail["emotion"]["history"]] == ["calm", "anxious", "angry"]
    assert detail["emotion"]["turning_point"]["to"] == "angry"
    assert detail["customer"] == {"id": "C0001", "name": "王伟"}  # nulls do not erase
    assert detail["updates"] == 1

    third = post(desk, "/api/handoffs", packet(first["conversation_id"], priority=1))
    assert third["id"] == created["id"] and third["priority"] == 1


def test_outside_office_hours_is_a_callback(desk):
    sent = packet(office_hours=False, callback_at="2030-01-02T09:00:00+08:00")
    created = post(desk, "/api/handoffs", sent, status=201)
    assert created["status"] == "callback"
    assert created["position"] is None and created["expected_wait_minutes"] is None
    assert created["callback_at"] == "2030-01-02T01:00:00+00:00"
    waiting = get(desk, "/api/handoffs?status=waiting&limit=500")["handoffs"]
    assert created["id"] not in [h["id"] for h in waiting]
    # Naive and "Z" times are accepted too (naive = China time, like the shop's clock).
    naive = post(desk, "/api/handoffs",
                 packet(office_hours=False, callback_at="2030-01-02T09:00:00"), status=201)
    assert naive["callback_at"] == "2030-01-02T01:00:00+00:00"
    zulu = post(desk, "/api/handoffs",
                packet(office_hours=False, callback_at="2030-01-02T01:00:00Z"), status=201)
    assert zulu["callback_at"] == "2030-01-02T01:00:00+00:00"

    # The customer writes again once the desk is open: they join the live queue.
    again = post(desk, "/api/handoffs", packet(sent["conversation_id"], office_hours=True))
    assert again["id"] == created["id"] and again["status"] == "waiting"
    assert again["position"] >= 1


def test_positions_follow_priority_then_age(desk_factory):
    desk = desk_factory().url  # an empty queue of its own
    ids = {}
    for name, priority in [("a", 3), ("b", 3), ("c", 1), ("d", 5), ("e", 3)]:
        queue = "general" if name == "e" else "senior"
        ids[name] = post(desk, "/api/handoffs", packet(queue=queue, priority=priority),
                         status=201)["id"]
    expected = {"c": (1, 5), "a": (2, 10), "b": (3, 15), "d": (4, 20), "e": (1, 3)}
    for name, (place, minutes) in expected.items():
        detail = get(desk, f"/api/handoffs/{ids[name]}")
        assert (detail["position"], detail["expected_wait_minutes"]) == (place, minutes), name

    listed = get(desk, "/api/handoffs?status=waiting&queue=senior")["handoffs"]
    assert [h["id"] for h in listed] == [ids["c"], ids["a"], ids["b"], ids["d"]]
    assert [h["position"] for h in listed] == [1, 2, 3, 4]

    queues = {q["name"]: q for q in get(desk, "/api/queues")["queues"]}
    assert list(queues) == ["general", "senior", "key_account", "finance"]
    assert queues["senior"]["waiting"] == 4 and queues["senior"]["expected_wait_minutes"] == 25
    assert queues["general"]["waiting"] == 1 and queues["general"]["expected_wait_minutes"] == 6
    assert queues["finance"] == {"name": "finance", "label": "财务（发票、对账）",
                                 "avg_handling_minutes": 8, "waiting": 0, "callback": 0,
                                 "active": 0, "expected_wait_minutes": 8}

    # Claiming the head of the queue moves everyone up; a raised priority jumps ahead.
    post(desk, f"/api/handoffs/{ids['c']}/claim", {"agent": "小李"})
    conversation_d = get(desk, f"/api/handoffs/{ids['d']}")["conversation_id"]
    raised = post(desk, "/api/handoffs", packet(conversation_d, queue="senior", priority=2))
    assert raised["position"] == 1 and raised["expected_wait_minutes"] == 5
    assert get(desk, f"/api/handoffs/{ids['a']}")["position"] == 2
    queues = {q["name"]: q for q in get(desk, "/api/queues")["queues"]}
    assert queues["senior"]["waiting"] == 3 and queues["senior"]["active"] == 1


def test_listing_filters(desk):
    tag = new_id("list")
    waiting = post(desk, "/api/handoffs", packet(f"{tag}-w", queue="key_account"), status=201)
    callback = post(desk, "/api/handoffs", packet(f"{tag}-c", queue="key_account",
                                                  office_hours=False), status=201)
    active = post(desk, "/api/handoffs", packet(f"{tag}-a", queue="finance"), status=201)
    post(desk, f"/api/handoffs/{active['id']}/claim", {"agent": "财务小王"})

    def listed(query: str) -> set[int]:
        if "limit=" not in query:
            query += "&limit=500"  # the shared server holds other tests' handoffs too
        body = get(desk, f"/api/handoffs?{query}")
        assert body["count"] == len(body["handoffs"])
        return {h["id"] for h in body["handoffs"]}

    mine = {waiting["id"], callback["id"], active["id"]}
    assert listed("") >= mine  # default: every open handoff
    assert waiting["id"] in listed("status=waiting")
    assert listed("status=waiting") & mine == {waiting["id"]}
    assert listed("status=callback&queue=key_account") & mine == {callback["id"]}
    assert listed("status=active") & mine == {active["id"]}
    assert listed("queue=key_account") & mine == {waiting["id"], callback["id"]}
    assert listed("queue=key_account,finance&status=waiting,active") & mine == {
        waiting["id"], active["id"]}
    assert listed("status=resolved") & mine == set()
    assert len(listed("limit=1")) == 1
    rows = get(desk, "/api/handoffs?status=active")["handoffs"]
    row = next(h for h in rows if h["id"] == active["id"])
    assert row["claimed_by"] == "财务小王" and row["position"] is None
    assert "transcript" not in row  # the list stays light; the detail has the packet

    assert_error(api(desk, "GET", "/api/handoffs?status=done"), 400, "invalid_query")
    error = assert_error(api(desk, "GET", "/api/handoffs?queue=vip"), 400, "invalid_query")
    assert "general" in error["message"]
    assert_error(api(desk, "GET", "/api/handoffs?limit=0"), 400, "invalid_query")


def test_claim(desk):
    created = post(desk, "/api/handoffs", packet(), status=201)
    path = f"/api/handoffs/{created['id']}/claim"
    claimed = post(desk, path, {"agent": "小李"})
    assert claimed["status"] == "active" and claimed["claimed_by"] == "小李"
    wait = _utc(claimed["claimed_at"]) - _utc(claimed["created_at"])
    assert timedelta(0) <= wait < timedelta(seconds=30)
    assert 0 <= claimed["wait_seconds"] < 30

    again = post(desk, path, {"agent": "小李"})  # a double click changes nothing
    assert again["claimed_at"] == claimed["claimed_at"]
    error = assert_error(api(desk, "POST", path, {"agent": "小张"}), 409, "already_claimed")
    assert "小李" in error["message"]
    assert get(desk, f"/api/handoffs/{created['id']}")["claimed_by"] == "小李"

    # The conversation is still open: a new escalation updates the active handoff.
    updated = post(desk, "/api/handoffs", packet(created["conversation_id"]))
    assert updated["id"] == created["id"] and updated["status"] == "active"
    assert updated["position"] is None

    # A service names the agent (valid JSON for the schema, which cannot know the caller).
    assert_error(api(desk, "POST", path, {}), 422, "agent_required")
    assert_error(api(desk, "POST", path, {"agent": " \u3000"}), 422, "agent_required")
    assert_error(api(desk, "POST", path, {"agent": 7}), 400, "invalid_type")
    assert_error(api(desk, "POST", "/api/handoffs/99999999/claim", {"agent": "x"}), 404,
                 "handoff_not_found")


def test_resolve_with_rasa_unreachable_is_502_and_changes_nothing(desk):
    created = post(desk, "/api/handoffs", packet(), status=201)
    post(desk, f"/api/handoffs/{created['id']}/claim", {"agent": "小李"})
    before = get(desk, f"/api/handoffs/{created['id']}")
    for _attempt in range(2):  # the agent can retry; each attempt fails the same way
        response = api(desk, "POST", f"/api/handoffs/{created['id']}/resolve",
                       {"agent": "小李", "note": "已补发"})
        error = assert_error(response, 502, "rasa_unavailable")
        assert "Rasa" in error["message"] and "重试" in error["message"]
        assert "token" not in error["message"]
    after = get(desk, f"/api/handoffs/{created['id']}")
    assert after["status"] == "active" and after["resolved_at"] is None
    assert after["note"] is None and after["updated_at"] == before["updated_at"]

    # An unclaimed handoff may be resolved straight from the queue; the same 502 applies.
    waiting = post(desk, "/api/handoffs", packet(), status=201)
    assert_error(api(desk, "POST", f"/api/handoffs/{waiting['id']}/resolve", {"agent": "小李"}),
                 502, "rasa_unavailable")
    assert get(desk, f"/api/handoffs/{waiting['id']}")["status"] == "waiting"

    assert_error(api(desk, "POST", f"/api/handoffs/{created['id']}/resolve", {}), 422,
                 "agent_required")
    assert_error(api(desk, "POST", f"/api/handoffs/{created['id']}/resolve",
                     {"agent": "小李", "note": 5}), 400, "invalid_type")
    assert_error(api(desk, "POST", "/api/handoffs/99999999/resolve", {"agent": "x"}), 404,
                 "handoff_not_found")
