"""Agent accounts and the agents' API against a real desk server (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
import requests
from agent_helpers import PUSH_TOKEN, Agent, PushRecorder, add_agent
from desk_helpers import api, assert_error, get, new_id, packet, post


@pytest.fixture(scope="module")
def recorder():
    rec = PushRecorder()
    yield rec
    rec.close()


def _start(desk_factory, tmp_path_factory, recorder, db_url=None, **env):
    folder = tmp_path_factory.mktemp("agents")
    url = db_url or f"sqlite:///{folder / 'desk.sqlite'}"
    desk = desk_factory(url, extra_args=("--rasa-url", recorder.url), env={
        "CHANNEL_PUSH_TOKEN": PUSH_TOKEN, "DESK_RATING_POLL_SECONDS": "0",
        "DESK_AUTO_ASSIGN": "false", **env})
    desk.db_url = url
    return desk


@pytest.fixture(scope="module")
def desk(desk_factory, tmp_path_factory, recorder):
    server = _start(desk_factory, tmp_path_factory, recorder)
    add_agent(server.db_url, "小王", "wang-pass-123", max_chats=2)
    add_agent(server.db_url, "小李", "li-pass-1234")
    add_agent(server.db_url, "老张", "zhang-pass-12", role="supervisor")
    return server


def webchat(conversation=None, **overrides):
    return packet(conversation, channel="webchat", **overrides)


def test_login_cookie_csrf_and_wrong_password(desk):
    wang = Agent(desk.url, "小王", "wang-pass-123")
    cookie = wang.login_response.headers["Set-Cookie"]
    assert "desk_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    assert wang.get("/api/me").json()["agent"]["name"] == "小王"
    # A state change without the CSRF token (what a cross-site form would send) is refused.
    assert_error(wang.post("/api/me/status", {"status": "away"}, csrf=False), 403, "csrf_failed")
    assert wang.post("/api/me/status", {"status": "away"}).status_code == 200
    wrong = requests.post(f"{desk.url}/api/auth/login", json={"name": "小王", "password": "x"})
    assert_error(wrong, 401, "invalid_credentials")
    unknown = requests.post(f"{desk.url}/api/auth/login", json={"name": "没有", "password": "x"})
    assert_error(unknown, 401, "invalid_credentials")  # same answer: names are not revealed
    assert_error(requests.get(f"{desk.url}/api/me"), 401, "unauthorized")
    # Agents cannot post handoffs (services only) nor read the analytics feed.
    assert_error(wang.post("/api/handoffs", packet()), 403, "forbidden")
    assert_error(wang.get("/api/events"), 403, "forbidden")


def test_login_throttling(desk):
    add_agent(desk.db_url, "小赵", "zhao-pass-123")
    for _ in range(5):
        assert_error(requests.post(f"{desk.url}/api/auth/login",
                                   json={"name": "小赵", "password": "guess"}), 401)
    locked = requests.post(f"{desk.url}/api/auth/login",
                           json={"name": "小赵", "password": "zhao-pass-123"})
    error = assert_error(locked, 429, "too_many_attempts")
    assert error["retry_after"] > 0
    # Other accounts are not locked by someone guessing 小赵's password.
    Agent(desk.url, "小李", "li-pass-1234")


def test_expired_session(desk_factory, tmp_path_factory, recorder):
    short = _start(desk_factory, tmp_path_factory, recorder, DESK_SESSION_SECONDS="2")
    add_agent(short.db_url, "小王", "wang-pass-123")
    wang = Agent(short.url, "小王", "wang-pass-123")
    assert wang.get("/api/me").status_code == 200
    token = wang.login_response.cookies["desk_session"]
    time.sleep(2.5)
    # The browser drops the cookie (Max-Age); a replayed cookie is refused by the server.
    assert_error(wang.get("/api/me"), 401, "unauthorized")
    replay = requests.get(f"{short.url}/api/me", cookies={"desk_session": token})
    assert_error(replay, 401, "session_expired")
    short.stop()


def test_claim_reply_capacity_and_someone_elses_conversation(desk, recorder):
    wang, li = Agent(desk.url, "小王", "wang-pass-123"), Agent(desk.url, "小李", "li-pass-1234")
    ids = [post(desk.url, "/api/handoffs", webchat(), status=201)["id"] for _ in range(3)]
    first = wang.post(f"/api/handoffs/{ids[0]}/claim")
    assert first.status_code == 200 and first.json()["claimed_by"] == "小王"
    conversation = first.json()["conversation_id"]
    joined = recorder.of(conversation, "agent_joined")
    assert joined and joined[0]["agent"]["name"] == "小王" and "小王 已接入" in joined[0]["text"]
    assert wang.post(f"/api/handoffs/{ids[1]}/claim").status_code == 200
    error = assert_error(wang.post(f"/api/handoffs/{ids[2]}/claim"), 409, "capacity_reached")
    assert error["max_chats"] == 2
    # 小李 opens 小王's conversation: he may read it, not answer in it.
    detail = li.get(f"/api/handoffs/{ids[0]}").json()
    assert detail["can_reply"] is False and "小王" in detail["read_only_reason"]
    assert_error(li.post(f"/api/handoffs/{ids[0]}/messages", {"text": "您好"}), 403,
                 "not_assigned")
    assert_error(li.post(f"/api/handoffs/{ids[0]}/claim"), 409, "already_claimed")
    # 小王 answers: pushed to the channel, recorded, measured.
    sent = wang.post(f"/api/handoffs/{ids[0]}/messages", {"text": "您好，我来帮您查一下"})
    assert sent.status_code == 201, sent.text
    push = recorder.of(conversation, "agent_message")[-1]
    assert push["text"] == "您好，我来帮您查一下"
    assert push["agent"] == {"id": str(wang.id), "name": "小王"}
    detail = wang.get(f"/api/handoffs/{ids[0]}").json()
    assert detail["first_reply_seconds"] is not None and detail["can_reply"] is True
    replies = [m["text"] for m in detail["timeline"] if m["kind"] == "agent"]
    assert replies == ["您好，我来帮您查一下"]
    assert_error(wang.post(f"/api/handoffs/{ids[0]}/messages", {"text": "x", "bogus": 1}), 400,
                 "unknown_field")


def test_compliance_block_and_rewrite(desk, recorder):
    li = Agent(desk.url, "小李", "li-pass-1234")
    handoff = post(desk.url, "/api/handoffs", webchat(), status=201)
    assert li.post(f"/api/handoffs/{handoff['id']}/claim").status_code == 200
    before = len(recorder.of(handoff["conversation_id"], "agent_message"))
    blocked = li.post(f"/api/handoffs/{handoff['id']}/messages", {"text": "我们的面霜全网第一"})
    error = assert_error(blocked, 422, "compliance_blocked")
    assert "全网第一" in error["message"] and error["hits"][0]["action"] == "block"
    rewrite = li.post(f"/api/handoffs/{handoff['id']}/messages", {"text": "这是最好的选择"})
    error = assert_error(rewrite, 409, "compliance_rewrite")
    assert "最好的" not in error["suggestion"]
    assert len(recorder.of(handoff["conversation_id"], "agent_message")) == before
    confirmed = li.post(f"/api/handoffs/{handoff['id']}/messages",
                        {"text": "这是最好的选择", "accept_rewrite": True})
    assert confirmed.status_code == 201
    assert recorder.of(handoff["conversation_id"], "agent_message")[-1]["text"] == \
        error["suggestion"]


def test_transfer_notes_channel_events_and_feed(desk, recorder):
    li, zhang = Agent(desk.url, "小李", "li-pass-1234"), Agent(desk.url, "老张", "zhang-pass-12")
    handoff = post(desk.url, "/api/handoffs", webchat(), status=201)
    hid, conversation = handoff["id"], handoff["conversation_id"]
    assert li.post(f"/api/handoffs/{hid}/claim").status_code == 200
    assert li.post(f"/api/handoffs/{hid}/notes", {"text": "客户是老客户"}).status_code == 201
    # The channel tells the desk what the customer wrote; markup stays text.
    event = post(desk.url, "/api/channel-events", {
        "conversation_id": conversation, "kind": "customer_message",
        "text": "<script>alert(1)</script>", "time": time.time(), "attachments": []})
    assert event == {"accepted": True, "handoff_id": hid}
    timeline = li.get(f"/api/handoffs/{hid}").json()["timeline"]
    assert {"note", "customer"} <= {m["kind"] for m in timeline}
    assert any(m["text"] == "<script>alert(1)</script>" for m in timeline)
    assert post(desk.url, "/api/channel-events", {
        "conversation_id": "nobody", "kind": "customer_typing"}) == {
        "accepted": False, "reason": "no_open_handoff"}
    # Transfer to the senior queue, then the supervisor hands it to 小王.
    moved = li.post(f"/api/handoffs/{hid}/transfer", {"to_queue": "senior", "note": "要求退款"})
    assert moved.status_code == 200 and moved.json()["status"] == "waiting"
    assert moved.json()["queue"] == "senior"
    wang_id = next(a["id"] for a in zhang.get("/api/agents").json()["agents"]
                   if a["name"] == "小王")
    given = zhang.post(f"/api/handoffs/{hid}/transfer", {"to_agent": wang_id})
    assert given.status_code in (200, 409), given.text
    # The feed: increasing ids, paged with after=, readable by supervisors and services.
    feed = get(desk.url, "/api/events?after=0&limit=1000")["events"]
    mine = [e for e in feed if e["handoff_id"] == hid]
    kinds = [e["kind"] for e in mine]
    assert kinds[:4] == ["handoff_created", "claimed", "note_added", "transferred"]
    assert all(a["id"] < b["id"] for a, b in zip(feed, feed[1:], strict=False))
    after = feed[-2]["id"]
    assert [e["id"] for e in zhang.get(f"/api/events?after={after}").json()["events"]] == \
        [feed[-1]["id"]]
    assert_error(api(desk.url, "GET", "/api/events?after=-1"), 400, "invalid_query")


def test_queue_updates_and_auto_assignment(desk_factory, tmp_path_factory, recorder):
    server = _start(desk_factory, tmp_path_factory, recorder, DESK_AUTO_ASSIGN="true")
    add_agent(server.db_url, "小王", "wang-pass-123", max_chats=1)
    first = post(server.url, "/api/handoffs", webchat(), status=201)
    second = post(server.url, "/api/handoffs", webchat(), status=201)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not recorder.of(second["conversation_id"], "queue"):
        time.sleep(0.1)
    update = recorder.of(second["conversation_id"], "queue")[-1]
    assert update["position"] == 2 and update["wait_minutes"] == 6
    wang = Agent(server.url, "小王", "wang-pass-123")
    assert wang.get("/api/me").json()["agent"]["status"] == "away"  # no work until online
    assert wang.post("/api/me/status", {"status": "online"}).status_code == 200
    mine = wang.get("/api/handoffs?view=mine").json()["handoffs"]
    assert [h["id"] for h in mine] == [first["id"]]  # oldest first, capacity 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and recorder.of(second["conversation_id"],
                                                      "queue")[-1]["position"] != 1:
        time.sleep(0.1)
    assert recorder.of(second["conversation_id"], "queue")[-1]["position"] == 1
    assert recorder.of(first["conversation_id"], "agent_joined")
    server.stop()


@pytest.mark.parametrize("field,value", [
    ("transcript", [{"role": "customer", "text": "hi", "time": 1e300}]),
    ("transcript", [{"role": "customer", "text": "hi", "time": -5}]),
    ("callback_at", "9999-12-31T23:59:59-12:00"),
    ("callback_at", "0001-01-01T00:00:00+14:00"),
])
def test_extreme_timestamps_are_400(desk, field, value):
    assert_error(api(desk.url, "POST", "/api/handoffs", packet(new_id(), **{field: value})),
                 400, "invalid_value")


def test_postgresql(desk_factory, tmp_path_factory, recorder, pg_url):
    server = _start(desk_factory, tmp_path_factory, recorder, db_url=pg_url)
    add_agent(pg_url, "小王", "wang-pass-123")
    wang = Agent(server.url, "小王", "wang-pass-123")
    handoff = post(server.url, "/api/handoffs", webchat(), status=201)
    assert wang.post(f"/api/handoffs/{handoff['id']}/claim").status_code == 200
    assert wang.post(f"/api/handoffs/{handoff['id']}/messages",
                     {"text": "您好"}).status_code == 201
    kinds = [e["kind"] for e in get(server.url, "/api/events")["events"]]
    assert kinds == ["handoff_created", "claimed", "agent_replied"]
    server.stop()
