"""End to end over the REST webhook against the real running servers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from scenarios import identity_metadata, load_scenarios, play, post_message, reply_text

SCENARIOS = load_scenarios()
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(stack, scenario):
    assert play(stack.rasa_url, scenario, secret=stack.env["CHANNEL_IDENTITY_SECRET"]) == []


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_tracking_answer_is_the_backends_real_status(stack):
    sender = "e2e-tracking"
    assert "订单号" in reply_text(post_message(stack.rasa_url, sender, "快递到哪了"))
    post_message(stack.rasa_url, sender, "361204587712340001")
    answer = reply_text(post_message(stack.rasa_url, sender, "尾号5678"))
    tracking = get_json(f"{stack.shop_url}/api/orders/361204587712340001/tracking")
    assert tracking["tracking_no"] in answer
    assert tracking["latest_event"]["description"] in answer


def test_urge_is_recorded_in_the_backend(stack):
    wang = identity_metadata("C0001", stack.env["CHANNEL_IDENTITY_SECRET"])
    answer = reply_text(post_message(stack.rasa_url, "demo-wang", "帮我催一下361204587712340002",
                                     metadata=wang))
    assert "跟进单号" in answer
    followups = get_json(f"{stack.shop_url}/api/followups?order_id=361204587712340002")
    followups = followups["followups"] if isinstance(followups, dict) else followups
    assert any(f["type"] == "urge" for f in followups)


def raw_post(url: str, body: bytes) -> tuple:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_bad_input_gets_a_clear_answer(stack):
    webhook = f"{stack.rasa_url}/webhooks/rest/webhook"
    status, body = raw_post(webhook, b"{not json")
    assert 400 <= status < 500 and "Traceback" not in body
    status, body = raw_post(webhook, json.dumps({"sender": "e2e-empty", "message": ""}).encode())
    assert status == 200 and "Traceback" not in body
    huge = "我的快递到底到哪了" * 5000  # 45,000 characters
    status, body = raw_post(webhook, json.dumps({"sender": "e2e-huge", "message": huge}).encode())
    assert status == 200 and json.loads(body), body[:300]
    for index, junk in enumerate(["asdfghjkl;'[]", "？？？", "。。。", "😂😂😂"]):
        replies = post_message(stack.rasa_url, f"e2e-junk-{index}", junk)
        # One clarifying question: no guess (「。。。」 was a rating, 「？？？」 a complaint
        # handed to the complaints queue), no loop cut off by Rasa's circuit breaker.
        assert len(replies) == 1 and "没太理解" in reply_text(replies), (junk, replies)
    assert reply_text(post_message(stack.rasa_url, "e2e-junk-digit", "0"))
    # Junk again and again: the third time a human is offered, not the same question.
    said = [reply_text(post_message(stack.rasa_url, "e2e-junk-many", junk))
            for junk in ["。。。", "😂😂😂", "asdfghjkl"]]
    assert "没太理解" in said[0] and "人工" in said[2], said


def test_conversation_survives_a_rasa_restart(stack):
    sender = "e2e-restart"
    post_message(stack.rasa_url, sender, "查一下物流")
    stack.stop_service("rasa")
    stack.start(services=("rasa",))
    tracker = get_json(f"{stack.rasa_url}/conversations/{sender}/tracker"
                       f"?token={stack.env['RASA_API_TOKEN']}")
    assert "查一下物流" in [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    # The form is still waiting for the order number after the restart.
    assert "后4位" in reply_text(post_message(stack.rasa_url, sender, "361204587712340001"))
