"""The attacks of issue 13 replayed against a fresh stack (one per module): each test is
a finding that was open, and asserts it is closed. docs/security.md maps findings to tests.

Order matters at the end: the out-of-hours test restarts the action server, the
action-server-down test stops it and then the desk, and the log test reads every log.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "shop"))

from scenarios import identity_metadata, reply_text  # noqa: E402
from shop_api_helpers import png  # noqa: E402
from stack import Stack, rules_with_office_days  # noqa: E402

from security import secrets  # noqa: E402
from security.rasa_hooks import FALLBACK_TEXT  # noqa: E402

WANG_UNPAID = "361204587712340004"  # 王伟's unpaid order
WANG_SHIPPED = "361204587712340001"
CRUSHED = "361204587712340022"  # 赵磊's rice cooker (tail 9966)
SESSION_LIMIT = int(__import__("os").environ.get("SEC_LIMIT", "8"))
PHONE = "13812345678"
EMAIL = "wangwei.secret@example.com"
ADDRESS = "浙江省杭州市西湖区文三路100号"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (ROOT / "models" / "shop.tar.gz").exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    folder = tmp_path_factory.mktemp("security-stack")
    running = Stack.isolated(folder)
    running.env.update({
        "ESCALATION_RULES": str(rules_with_office_days(folder, all_days=True)),
        "SESSION_MAX_MESSAGES": str(SESSION_LIMIT),
        "OFFLINE_TICKETS_FILE": str(folder / "offline_tickets.jsonl"),
    })
    running.start(timeout=900)
    yield running
    running.stop()


# ---------------------------------------------------------------- helpers
def http(url: str, body: Any = None, method: Optional[str] = None,
         headers: Optional[Dict[str, str]] = None, timeout: float = 120) -> Tuple[int, str, Any]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json",
                                                 **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read().decode(), reply.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def webhook(stack: Stack, body: Any) -> Tuple[int, str]:
    status, text, _ = http(f"{stack.rasa_url}/webhooks/rest/webhook", body)
    return status, text


def say(stack: Stack, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None
        ) -> List[Dict[str, Any]]:
    status, body = webhook(stack, {"sender": sender, "message": text,
                                   "metadata": metadata or {}})
    assert status == 200 and "Traceback" not in body, (status, body[:300])
    return json.loads(body)


def tracker(stack: Stack, sender: str) -> Dict[str, Any]:
    status, body, _ = http(f"{stack.rasa_url}/conversations/{sender}/tracker"
                           f"?token={stack.env['RASA_API_TOKEN']}")
    assert status == 200, body
    return json.loads(body)


def shop(stack: Stack, path: str) -> Any:
    """The shop's own record, read as its back office (no customer's ownership proof)."""
    status, body, _ = http(f"{stack.shop_url}{path}",
                           headers={"X-Api-Key": stack.env["SHOP_ADMIN_KEY"]})
    assert status == 200, body
    return json.loads(body)


def desk_handoffs(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    found = []
    for status in ("waiting", "callback", "active"):
        code, body, _ = http(f"{stack.env['DESK_URL']}/api/handoffs?status={status}",
                             headers={"Authorization": f"Bearer {stack.env['DESK_API_TOKEN']}"})
        assert code == 200, body
        found += [row for row in json.loads(body)["handoffs"]
                  if row["conversation_id"] == sender]
    return found


def desk_handoff(stack: Stack, handoff_id: Any) -> Dict[str, Any]:
    code, body, _ = http(f"{stack.env['DESK_URL']}/api/handoffs/{handoff_id}",
                         headers={"Authorization": f"Bearer {stack.env['DESK_API_TOKEN']}"})
    assert code == 200, body
    return json.loads(body)


def listening_addresses(port: int) -> Set[str]:
    """Local addresses with a listening TCP socket on `port` (/proc/net/tcp, tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:
                if name == "tcp":
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("::" if set(address) == {"0"} else address)
    return found


def user_texts(state: Dict[str, Any]) -> List[str]:
    return [event.get("text") for event in state["events"] if event["event"] == "user"]


# ---------------------------------------------------------------- finding 1
def test_finding1_action_server_is_loopback_only_and_needs_the_secret(stack) -> None:
    assert listening_addresses(int(stack.env["ACTIONS_PORT"])) == {"127.0.0.1"}
    url = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/webhook"
    crafted = {"next_action": "action_order_task", "sender_id": "attacker", "version": "3.6.2",
               "tracker": {"sender_id": "attacker", "latest_message": {"text": "取消"},
                           "events": [], "active_loop": {}, "paused": False,
                           "slots": {"verified_order_id": WANG_UNPAID, "order_id": WANG_UNPAID,
                                     "order_task": "cancel", "confirmed": True}},
               "domain": {}}
    for headers in ({}, {"X-Actions-Token": "rasa-dev-token"},
                    {"X-Actions-Token": stack.env["ACTIONS_TOKEN"][:-1]}):
        status, body, _ = http(url, crafted, headers=headers)
        assert (status, json.loads(body)) == (401, {"error": "unauthorized"})
    status, _, _ = http(f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/actions")
    assert status == 401
    assert shop(stack, f"/api/orders/{WANG_UNPAID}")["status"] == "unpaid"
    # Even with the secret, an error answer echoes neither the request nor the exception.
    broken = {**crafted, "tracker": "customer 王伟 13812345678"}
    status, body, _ = http(url, broken, headers={"X-Actions-Token": stack.env["ACTIONS_TOKEN"]})
    assert status >= 400 and json.loads(body) in ({"error": "internal error"},
                                                  {"error": "bad request"}), body
    status, body, _ = http(url, b"{oops", headers={"X-Actions-Token": stack.env["ACTIONS_TOKEN"]})
    assert status == 400 and json.loads(body) == {"error": "bad request"}


# ---------------------------------------------------------------- finding 2
def test_finding2_no_published_token_loopback_no_cors_no_model_swap(stack) -> None:
    status, _, _ = http(f"{stack.rasa_url}/status?token=rasa-dev-token")
    assert status == 401
    assert listening_addresses(int(stack.env["RASA_PORT"])) == {"127.0.0.1"}
    status, _, headers = http(f"{stack.rasa_url}/version",
                              headers={"Origin": "http://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    token = stack.env["RASA_API_TOKEN"]
    for method, path in (("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/train")):
        status, body, _ = http(f"{stack.rasa_url}{path}?token={token}",
                               {"model_file": "/tmp/evil.tar.gz"}, method=method)
        assert status == 403, (method, path, status, body)
    assert "订单号" in reply_text(say(stack, "sec-after-model-swap", "快递到哪了"))


def test_finding2_published_or_empty_secrets_stop_the_stack(tmp_path) -> None:
    for bad in ("rasa-dev-token", ""):
        unsafe = Stack.isolated(tmp_path)
        unsafe.env["RASA_API_TOKEN"] = bad
        with pytest.raises(secrets.InsecureSecret, match="RASA_API_TOKEN"):
            unsafe.start()
        assert unsafe.processes == {}
    env = {**Stack.isolated(tmp_path).env, "ACTIONS_TOKEN": "desk-dev-token"}
    refused = subprocess.run([sys.executable, "-m", "actions.server", "--port", "9"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "ACTIONS_TOKEN" in refused.stderr


# ---------------------------------------------------------------- finding 4
def test_finding4_a_sender_string_is_not_an_identity(stack) -> None:
    for metadata in ({}, {"identity": {"customer_id": "C0001", "verified": True}},
                     {"identity_token": "forged.token"}):
        sender = f"demo-wang-{len(metadata)}-{len(str(metadata))}"
        for who in ("demo-wang", sender):
            replies = say(stack, who, "我的订单怎么样了", metadata)
            text = reply_text(replies)
            assert "王先生" not in text and WANG_SHIPPED not in json.dumps(replies), text
            assert tracker(stack, who)["slots"].get("customer_id") is None
    assert webhook(stack, {"message": "我的订单"})[0] == 400
    assert webhook(stack, {"sender": "", "message": "我的订单"})[0] == 400
    assert webhook(stack, {"sender": None, "message": "我的订单"})[0] == 400


def test_finding4_a_signed_identity_links_the_customer_only_while_it_is_sent(stack) -> None:
    sender = "sec-signed-wang"
    wang = identity_metadata("C0001", stack.env["CHANNEL_IDENTITY_SECRET"])
    replies = say(stack, sender, "我的订单怎么样了", wang)
    assert "王先生您好" in reply_text(replies)
    assert WANG_SHIPPED in json.dumps(replies, ensure_ascii=False)  # his orders as buttons
    state = tracker(stack, sender)
    assert state["slots"]["customer_id"] == "C0001"
    stored = [e.get("metadata") or {} for e in state["events"] if e["event"] == "user"]
    assert stored[-1]["identity"] == {"customer_id": "C0001", "verified": True}
    assert "identity_token" not in json.dumps(state)  # the bearer token is never stored
    # Someone else posting under the same sender id, without her token or with another
    # customer's: refused, and nothing of hers is sent or recorded.
    events_before = len(tracker(stack, sender)["events"])
    li = identity_metadata("C0002", stack.env["CHANNEL_IDENTITY_SECRET"])
    for metadata in ({}, li, {"identity": {"customer_id": "C0001", "verified": True}}):
        status, body = webhook(stack, {"sender": sender, "message": "我的订单怎么样了",
                                       "metadata": metadata})
        assert status == 403 and json.loads(body)["error"] == "identity_required", body
        assert WANG_SHIPPED not in body and "登录" in json.loads(body)["message"]
        status, body, _ = http(f"{stack.rasa_url}/webhooks/rest/updates",
                               {"sender": sender, "metadata": metadata})
        assert status == 403 and json.loads(body)["error"] == "identity_required", body
    assert len(tracker(stack, sender)["events"]) == events_before
    assert WANG_SHIPPED in json.dumps(say(stack, sender, "我的订单怎么样了", wang),
                                      ensure_ascii=False)  # she herself goes on
    wrong = identity_metadata("C0001", "another-installation-secret-0123456789")
    replies = say(stack, "sec-wrong-secret", "我的订单怎么样了", wrong)
    assert "王先生" not in reply_text(replies)


def test_finding4_rest_cannot_enter_a_conversation_of_another_channel(stack) -> None:
    sender = "web-" + "5f0c2a9e" * 4  # what a web chat conversation id looks like
    # Its session as the web chat channel stores it (a user event posted alone would be dated
    # before the session Rasa opens for it, and left out of the session it loads).
    events = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "你好", "input_channel": "webchat",
               "parse_data": {"intent": {"name": "greet", "confidence": 1.0}, "entities": []}}]
    status, body, _ = http(f"{stack.rasa_url}/conversations/{sender}/tracker/events?token="
                           f"{stack.env['RASA_API_TOKEN']}", events)
    assert status == 200, body
    for path, body_sent in (("webhook", {"sender": sender, "message": "我的订单"}),
                            ("updates", {"sender": sender})):
        status, body, _ = http(f"{stack.rasa_url}/webhooks/rest/{path}", body_sent)
        assert status == 403, body
        assert json.loads(body)["error"] == "conversation_of_another_channel"
    assert [e["text"] for e in tracker(stack, sender)["events"] if e["event"] == "user"] == [
        "你好"]


# ---------------------------------------------------------------- finding 10 and fuzzing
BAD_BODIES = [b"{not json", b"", b"[]", b'"text"', b"null", b"42", b'[{"sender": "a"}]',
              b'{"sender": "a", "message": 123}', b'{"sender": "a", "message": ["hi"]}',
              b'{"sender": "a", "message": {"text": "hi"}}', b'{"sender": "a", "message": true}',
              b'{"sender": "a", "message": "hi", "metadata": "x"}',
              b'{"sender": "a", "message": "hi", "metadata": [1, 2]}',
              b'{"sender": ["a"], "message": "hi"}', b'{"sender": "a\\u0000", "message": "x"}',
              b"\xff\xfe\x00garbage"]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_finding10_bad_bodies_get_a_clear_4xx(stack, body: bytes) -> None:
    status, text = webhook(stack, body)
    assert 400 <= status < 500, (status, text)
    answer = json.loads(text)
    assert answer["error"] and answer["message"] and "Traceback" not in text


def test_finding10_a_1mb_message_is_refused_clearly(stack) -> None:
    for message in ("啊" * 400_000, "a" * (1024 * 1024)):
        status, text = webhook(stack, {"sender": "sec-huge", "message": message})
        assert status == 413 and "分几条发送" in json.loads(text)["message"]


HOSTILE = [
    "查订单\x00\x01\x02\x1b[31m红色\x7f", "😂" * 3000, "🔥💯👍" * 500,
    "<script>alert(document.cookie)</script>", "<img src=x onerror=alert(1)>",
    "'; DROP TABLE events; --", "\" OR 1=1 --", "1' UNION SELECT * FROM customers --",
    "{{7*7}}${7*7}", "%s%s%s%n", "../../../../etc/passwd", "\u202e\u200b\ufeff快递",
    "/inform{\"verified_order_id\": \"361204587712340004\"}", "/nlu_fallback", "/",
    "快递" * 20_000,
]


def test_hostile_payloads_get_an_answer_and_nothing_is_lost(stack) -> None:
    # One conversation each: three unusable answers in a row would (rightly) hand one
    # conversation to a human, and a paused conversation answers nothing.
    for index, message in enumerate(HOSTILE):
        sender = f"sec-hostile-{index}"
        status, text = webhook(stack, {"sender": sender, "message": message})
        assert status == 200 and "Traceback" not in text, (message[:40], status, text[:300])
        assert json.loads(text), message[:40]  # a clear answer, never silence
        state = tracker(stack, sender)
        # Control characters become spaces; Rasa strips the ends of every message.
        kept = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", message).strip()
        assert kept in user_texts(state), message[:40]
        # A `/`-message cannot set the ownership slot.
        assert state["slots"].get("verified_order_id") is None


# ---------------------------------------------------------------- findings 5 and 12
def data_url(content: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


def photo_request(stack: Stack, sender: str) -> None:
    assert "订单号" in reply_text(say(stack, sender, "收到的电饭煲外壳摔坏了"))
    assert "后4位" in reply_text(say(stack, sender, CRUSHED))
    assert "照片" in reply_text(say(stack, sender, "9966"))


SSRF_LAST = "sec-ssrf-8"
UNUSABLE = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))[
    "responses"]["utter_photo_link_unusable"][0]["text"]


def test_finding5_internal_urls_are_never_fetched_and_all_refusals_look_alike(stack) -> None:
    before = len(shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"])
    targets = [f"{stack.shop_url}/api/customers/C0001", f"{stack.rasa_url}/version",
               "http://127.0.0.1:1/closed.png", "http://169.254.169.254/latest/meta-data/",
               f"http://localhost:{stack.env['DESK_PORT']}/health", "http://[::1]:22/",
               "http://10.1.2.3/photo.png", "file:///etc/passwd", "http://example.com/a.png"]
    answers: dict = {}
    # Two refusals per conversation: a third unusable answer hands over (repeated failure),
    # and the second already says the photo was asked for before (no third same request).
    for start in range(0, len(targets), 2):
        sender = f"sec-ssrf-{start}"
        photo_request(stack, sender)
        for position, url in enumerate(targets[start:start + 2]):
            text = reply_text(say(stack, sender, "照片发你了", {"attachments": [
                {"type": "image", "url": url}]}))
            assert UNUSABLE in text, (url, text)
            answers.setdefault(position, set()).add(text)
    # An open port and a closed one look the same at the same point of a conversation.
    assert [len(texts) for texts in answers.values()] == [1, 1], answers
    assert len(shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"]) == before


def test_finding12_a_photo_with_a_caption_answers_the_photo_request(stack) -> None:
    sender = SSRF_LAST  # still asked for a photo after one refusal
    answer = reply_text(say(stack, sender, "外壳这里摔裂了,你们看看怎么处理", {"attachments": [
        {"type": "image", "url": data_url(png())}]}))
    assert "补发" in answer and "售后单号" in answer, answer
    resend = [a for a in shop(stack, f"/api/orders/{CRUSHED}/after-sales")["after_sales"]
              if a["kind"] == "resend"]
    assert len(resend) == 1 and resend[0]["evidence"]


# ---------------------------------------------------------------- finding 6
def test_finding6_a_very_long_message_does_not_block_the_handoff(stack) -> None:
    sender = "sec-long-then-human"
    say(stack, sender, "我想问一下:" + "这款外套有哪些颜色和尺码可以选呢。" * 1300)  # ~22,000 chars
    answer = reply_text(say(stack, sender, "转人工"))
    assert "转接人工客服" in answer, answer
    [row] = desk_handoffs(stack, sender)
    packet = desk_handoff(stack, row["id"])
    longest = max(len(line["text"]) for line in packet["transcript"])
    assert longest <= 2000 and any("已截断" in line["text"] for line in packet["transcript"])
    # The full text stays in the conversation itself.
    assert max(len(text or "") for text in user_texts(tracker(stack, sender))) > 20_000


# ---------------------------------------------------------------- finding 8
def test_finding8_a_long_conversation_keeps_bounded_sessions_and_its_state(stack) -> None:
    sender = "sec-long-conversation"
    for _ in range(SESSION_LIMIT - 1):
        assert reply_text(say(stack, sender, "包邮吗"))
    assert "订单号" in reply_text(say(stack, sender, "查一下物流"))
    # The next message starts a new session (the limit); the form goes on in it.
    assert "后4位" in reply_text(say(stack, sender, WANG_SHIPPED))
    for _ in range(SESSION_LIMIT + 2):
        say(stack, sender, "在吗")
    events = tracker(stack, sender)["events"]
    sessions, current = [], 0
    for event in events:
        if event["event"] == "session_started":
            sessions.append(current)
            current = 0
        elif event["event"] == "user":
            current += 1
    sessions.append(current)
    assert max(sessions) <= SESSION_LIMIT and len(sessions) >= 3, sessions
    assert sum(sessions) == 2 * SESSION_LIMIT + 3  # every message kept


# ---------------------------------------------------------------- finding 12 (office hours)
def test_finding12_out_of_hours_one_ticket_text_per_session(stack, tmp_path) -> None:
    stack.stop_service("actions")
    stack.env["ESCALATION_RULES"] = str(rules_with_office_days(tmp_path, all_days=False))
    stack.start(services=("actions",), timeout=600)
    sender = "sec-night"
    first = reply_text(say(stack, sender, "我要找人工客服"))
    assert "非工作时间" in first and "工单" in first, first
    [row] = desk_handoffs(stack, sender)
    updates = desk_handoff(stack, row["id"]).get("updates")
    later = [reply_text(say(stack, sender, text)) for text in
             ("你们太慢了!!!", "气死我了!!!", "怎么还没人管!!!", "转人工", "快递到哪了")]
    assert not any("非工作时间" in text for text in later), later
    assert all(text for text in later)  # every message still gets an answer
    assert len(desk_handoffs(stack, sender)) == 1
    assert desk_handoff(stack, row["id"]).get("updates") == updates  # not rewritten


# ---------------------------------------------------------------- finding 7
def test_finding7_action_server_down_an_honest_answer_and_a_ticket(stack) -> None:
    stack.stop_service("actions")
    sender = f"{PHONE[:2]}9{PHONE[3:]}"  # a phone-like id: the logs must mask it
    answer = reply_text(say(stack, sender, f"快递到哪了,我电话{PHONE},地址{ADDRESS},邮箱{EMAIL}"))
    assert FALLBACK_TEXT in answer, answer
    assert any("快递到哪了" in (text or "") for text in user_texts(tracker(stack, sender)))
    deadline = time.monotonic() + 30
    while not desk_handoffs(stack, sender) and time.monotonic() < deadline:
        time.sleep(0.5)
    [row] = desk_handoffs(stack, sender)
    assert desk_handoff(stack, row["id"])["rule"]["id"] == "action_server_down"
    # The desk is down too: the ticket goes to a local file.
    stack.stop_service("desk")
    answer = reply_text(say(stack, "sec-all-down", "我要退货"))
    assert FALLBACK_TEXT in answer
    offline = Path(stack.env["OFFLINE_TICKETS_FILE"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "sec-all-down" not in \
            (offline.read_text(encoding="utf-8") if offline.exists() else ""):
        time.sleep(0.5)
    tickets = [json.loads(line) for line in offline.read_text(encoding="utf-8").splitlines()]
    assert any(t["conversation_id"] == "sec-all-down" for t in tickets)


# ---------------------------------------------------------------- finding 9
def test_finding9_no_personal_data_in_any_log(stack) -> None:
    say(stack, "sec-log-slash", f'/inform{{"phone": "{PHONE}", "email": "{EMAIL}"}}')
    logs = {path.name: path.read_text(encoding="utf-8", errors="replace")
            for path in Path(stack.log_dir).glob("*.log")}
    leaks = [(name, line[:200]) for name, text in logs.items() for line in text.splitlines()
             if any(raw in line for raw in (PHONE, "13912345678", EMAIL, "文三路100号"))]
    assert leaks == []
    assert "139****5678" in logs["rasa.log"]  # the text reached the log, masked
