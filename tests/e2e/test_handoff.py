"""Escalation end to end: rules fire over REST, packets land in the desk, pause and resume."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Dict, Optional

from scenarios import identity_metadata, post_message, reply_text
from stack import rules_with_office_days

LI_DELAYED = "361204587712340011"  # 李娜's parcel, 中通, delayed


def call(url: str, method: str = "GET", body: Optional[Dict[str, Any]] = None,
         token: Optional[str] = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def desk(stack, path: str, method: str = "GET", body: Optional[Dict[str, Any]] = None) -> Any:
    return call(f"{stack.env['DESK_URL']}/api{path}", method, body, stack.env["DESK_API_TOKEN"])


def handoff_of(stack, sender: str, status: str = "waiting") -> Dict[str, Any]:
    rows = desk(stack, f"/handoffs?status={status}")["handoffs"]
    mine = [row for row in rows if row["conversation_id"] == sender]
    assert len(mine) == 1, rows
    return desk(stack, f"/handoffs/{mine[0]['id']}")


def tracker(stack, sender: str) -> Dict[str, Any]:
    return call(f"{stack.rasa_url}/conversations/{sender}/tracker?token="
                f"{stack.env['RASA_API_TOKEN']}")


def test_three_failed_attempts_hand_over_pause_and_resume(stack) -> None:
    sender = "e2e-handoff-failures"
    say = lambda text: reply_text(post_message(stack.rasa_url, sender, text))  # noqa: E731
    assert "订单号" in say("帮我查下订单")
    assert "格式" in say("123")
    assert "没有查到" in say("999999999999999999")
    answer = say("888888888888888888")
    assert "转接人工客服" in answer and "预计等待" in answer

    packet = handoff_of(stack, sender)
    assert packet["rule"]["id"] == "repeated_failure"
    assert packet["rule"]["reason"] == "3 rejected answers"
    assert packet["queue"] == "general" and packet["priority"] == 2
    customer_lines = [line["text"] for line in packet["transcript"]
                      if line["role"] == "customer"]
    assert customer_lines == ["帮我查下订单", "123", "999999999999999999",
                              "888888888888888888"]
    assert any("没有查到" in line["text"] for line in packet["transcript"]
               if line["role"] == "bot")
    assert packet["slots"]["failed_attempts"] == 3.0
    assert len(packet["emotion"]["history"]) == 4
    assert all(item["label"] in ("calm", "anxious", "angry")
               for item in packet["emotion"]["history"])
    assert packet["bot_paused"] is True

    # A human owns the conversation: the bot answers nothing itself, the customer hears that
    # the message reached the human queue, Rasa keeps every message.
    waiting = post_message(stack.rasa_url, sender, "还在吗?我的订单号找不到了")
    assert [reply["text"] for reply in waiting] == [
        "消息已转给人工客服,客服回复后会在这里显示,请稍候~(转人工后您的 1 条消息都已记下)"]
    assert tracker(stack, sender)["paused"] is True
    packet = handoff_of(stack, sender)
    assert [m["text"] for m in packet["messages_since_handoff"]] == ["还在吗?我的订单号找不到了"]

    # REST cannot push: the agent's words come with the answer to the customer's next message,
    # or when the client asks for updates.
    updates = f"{stack.rasa_url}/webhooks/rest/updates"
    nothing = call(updates, "POST", {"sender": sender})
    assert nothing["messages"] == [] and nothing["waiting_for_agent"] is True
    desk(stack, f"/handoffs/{packet['id']}/claim", "POST", {"agent": "小王"})
    fetched = call(updates, "POST", {"sender": sender})
    assert len(fetched["messages"]) == 1 and "已接入" in fetched["messages"][0]["text"]
    assert fetched["cursor"] == fetched["messages"][0]["timestamp"]
    desk(stack, f"/handoffs/{packet['id']}/messages", "POST",
         {"text": "您好，订单号在「我的订单」里可以找到"})
    newer = call(updates, "POST", {"sender": sender, "since": fetched["cursor"]})
    assert [m["text"] for m in newer["messages"]] == ["您好，订单号在「我的订单」里可以找到"]
    assert newer["cursor"] > fetched["cursor"]
    again = call(updates, "POST", {"sender": sender, "since": newer["cursor"]})
    assert again["messages"] == [] and again["cursor"] == newer["cursor"]
    # A client that fetched them says so: the answer does not repeat them ...
    answer = reply_text(post_message(stack.rasa_url, sender, "好的我找找",
                                     since=fetched["cursor"]))
    assert "已接入" not in answer and "订单号在「我的订单」里可以找到" in answer
    assert "消息已转给人工客服" not in answer
    still_waiting = reply_text(post_message(stack.rasa_url, sender, "找到了"))
    assert "稍候~(转人工后您的 3 条消息" in still_waiting

    resolved = desk(stack, f"/handoffs/{packet['id']}/resolve", "POST",
                    {"agent": "小王", "note": "帮顾客找到了订单"})
    assert resolved["status"] == "resolved"
    state = tracker(stack, sender)
    assert state["paused"] is False
    bot_lines = [e["text"] for e in state["events"] if e["event"] == "bot"]
    assert "满意" in bot_lines[-1]
    # The bot is back: the customer sees the rating question first, and the rating is
    # taken and thanked for.
    replies = [reply["text"] for reply in post_message(stack.rasa_url, sender, "5")]
    assert "满意" in replies[0] and "谢谢" in replies[-1]
    assert tracker(stack, sender)["slots"]["rating"] == 5.0


def coupons_of(stack, customer_id: str) -> list:
    reply = call(f"{stack.shop_url}/api/customers/{customer_id}/coupons")
    return [c for c in reply["coupons"] if c["reason"].startswith("playbook:")]


def test_angry_customer_with_a_delayed_parcel_gets_the_coupon_exactly_once(stack) -> None:
    sender = "demo-li"  # 李娜 (C0002) signed in on the site; she owns the delayed order
    li = identity_metadata("C0002", stack.env["CHANNEL_IDENTITY_SECRET"])
    before = len(coupons_of(stack, "C0002"))
    say = lambda text: reply_text(post_message(stack.rasa_url, sender, text,  # noqa: E731
                                               metadata=li))
    assert "订单" in say("我的快递到底怎么回事???都好几天了还没到!!!")
    answer = say(LI_DELAYED)
    assert "中通" in answer and "5元无门槛优惠券" in answer
    assert len(coupons_of(stack, "C0002")) == before + 1
    again = say(f"再帮我查下物流 {LI_DELAYED}")
    assert "中通" in again and "优惠券" not in again
    assert len(coupons_of(stack, "C0002")) == before + 1


def test_asking_for_a_human_names_queue_and_wait(stack) -> None:
    answer = reply_text(post_message(stack.rasa_url, "e2e-human", "转人工"))
    assert "转接人工客服" in answer and "预计等待" in answer
    packet = handoff_of(stack, "e2e-human")
    assert (packet["rule"]["id"], packet["queue"]) == ("asked_for_human", "general")
    answer = reply_text(post_message(stack.rasa_url, "e2e-wholesale", "公司想采购500件,批发价多少"))
    assert "大客户经理" in answer
    assert handoff_of(stack, "e2e-wholesale")["queue"] == "key_account"


def test_where_is_everyone_after_the_greeting_is_a_request_not_a_complaint(stack) -> None:
    post_message(stack.rasa_url, "e2e-where-is-everyone", "你好")
    answer = reply_text(post_message(stack.rasa_url, "e2e-where-is-everyone", "人呢???"))
    assert "转接人工客服" in answer
    packet = handoff_of(stack, "e2e-where-is-everyone")
    assert (packet["rule"]["id"], packet["queue"]) == ("asked_for_human", "general")


def test_the_phone_number_is_given_without_a_handoff(stack) -> None:
    answer = reply_text(post_message(stack.rasa_url, "e2e-hotline", "你们客服电话多少"))
    assert "400-820-1234" in answer and "转人工" in answer
    assert "转接人工客服" not in answer
    rows = desk(stack, "/handoffs?status=waiting")["handoffs"]
    assert not [row for row in rows if row["conversation_id"] == "e2e-hotline"]


def test_outside_office_hours_a_ticket_and_a_call_back_promise(stack, tmp_path) -> None:
    stack.stop_service("actions")
    stack.env["ESCALATION_RULES"] = str(rules_with_office_days(tmp_path, all_days=False))
    try:
        stack.start(services=("actions",))
        answer = reply_text(post_message(stack.rasa_url, "e2e-night", "我要找人工客服"))
        assert "非工作时间" in answer and "工单" in answer and "联系您" in answer
        ticket = handoff_of(stack, "e2e-night", status="callback")
        assert ticket["office_hours"] is False
        # Not paused: the bot keeps helping while the ticket waits.
        assert "您好" in reply_text(post_message(stack.rasa_url, "e2e-night", "你好"))
    finally:
        stack.stop_service("actions")
        stack.env["ESCALATION_RULES"] = str(rules_with_office_days(tmp_path, all_days=True))
        stack.start(services=("actions",))
