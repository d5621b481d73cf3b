"""The REST channel's delivery of what was said between two requests (channels/rest.py)."""

from __future__ import annotations

from collections import deque

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from channels import rest


def _turn(text: str, *answers: str) -> list:
    return [UserUttered(text), ActionExecuted("action_x"),
            *[BotUttered(answer) for answer in answers], ActionExecuted("action_listen")]


HANDOFF = [UserUttered("我要投诉"), ActionExecuted("action_handoff"),
           BotUttered("非常抱歉…我马上请资深客服来处理。"), SlotSet("handoff", True),
           ConversationPaused()]
AGENT = BotUttered("您好，我来帮您查一下", metadata={"source": "desk", "agent_name": "小王"})


def test_the_processor_hands_rest_messages_to_the_channel() -> None:
    assert MessageProcessor._handle_message_with_tracker is rest._handle_rest_message


def test_answers_of_earlier_turns_are_not_sent_again() -> None:
    assert rest.unseen_bot_messages([]) == []
    assert rest.unseen_bot_messages(
        [ActionExecuted("action_session_start"), SessionStarted(),
         ActionExecuted("action_listen")]) == []
    assert rest.unseen_bot_messages(_turn("你好", "您好~") + _turn("在吗", "在的")) == []
    assert rest.unseen_bot_messages(_turn("你好", "您好~") + HANDOFF) == []  # the pause ends it


def test_agent_replies_and_the_hand_back_come_with_the_next_answer() -> None:
    waiting = _turn("你好", "您好~") + HANDOFF + [UserUttered("还在吗?")]
    assert rest.unseen_bot_messages(waiting) == []
    joined = BotUttered("人工客服 小王 已接入,请问有什么可以帮您?", metadata={"source": "desk"})
    photo = BotUttered("这是物流截图", data={"image": "https://shop.example/p.png",
                                            "buttons": []}, metadata={"source": "desk"})
    replied = waiting + [joined, AGENT, photo]
    assert rest.unseen_bot_messages(deque(replied)) == [  # Rasa's tracker keeps a deque
        {"text": "人工客服 小王 已接入,请问有什么可以帮您?"},
        {"text": "您好，我来帮您查一下"},
        {"text": "这是物流截图", "image": "https://shop.example/p.png"}]
    handed_back = replied + [UserUttered("好的谢谢"), AGENT, ConversationResumed(),
                             ActionExecuted("action_ask_rating"),
                             BotUttered("请问您对这次服务满意吗?回复1-5分", data={
                                 "buttons": [{"title": "5分", "payload": "5"}]}),
                             ActionExecuted("action_listen")]
    assert rest.unseen_bot_messages(handed_back) == [
        {"text": "您好，我来帮您查一下"},
        {"text": "请问您对这次服务满意吗?回复1-5分",
         "buttons": [{"title": "5分", "payload": "5"}]}]


def test_the_waiting_notice_counts_the_messages_since_the_handoff() -> None:
    events = _turn("你好", "您好~") + HANDOFF
    assert rest.messages_while_waiting(events) == 0
    events += [UserUttered("还在吗?"), UserUttered("快点")]
    assert rest.messages_while_waiting(events) == 2
    assert "2 条消息" in rest.WAITING_TEXT.format(count=2)


def _said(text: str, channel: str = "rest", customer: str = "") -> UserUttered:
    metadata = {"identity": {"customer_id": customer, "verified": True}} if customer else {}
    return UserUttered(text, input_channel=channel, metadata=metadata)


WANG = {"identity": {"customer_id": "C0001", "verified": True}}


def test_a_conversation_signed_for_a_customer_takes_only_her_signed_messages() -> None:
    anonymous = [_said("在吗"), BotUttered("在的")]
    assert rest.refusal([], {}) is None
    assert rest.refusal(anonymous, {}) is None
    assert rest.refusal(anonymous, WANG) is None  # logging in mid-conversation is fine
    signed = anonymous + [_said("我的订单", customer="C0001"), BotUttered("王先生您好")]
    assert rest.refusal(signed, WANG) is None
    for metadata in ({}, {"identity": {"customer_id": "C0001", "verified": False}},
                     {"identity": {"customer_id": "C0002", "verified": True}}):
        refused = rest.refusal(signed, metadata)
        assert refused is not None and refused.status == 403
        assert refused.code == "identity_required" and "登录" in refused.message


def test_a_conversation_of_another_channel_takes_no_rest_message() -> None:
    for channel in rest.OTHER_CHANNELS:
        refused = rest.refusal([_said("你好", channel)], {})
        assert refused is not None and refused.code == "conversation_of_another_channel"
    assert rest.refusal([_said("你好", None)], {}) is None  # e.g. Rasa's HTTP API


def test_the_other_channels_are_those_of_credentials_yml() -> None:
    import importlib
    from pathlib import Path

    import yaml

    configured = yaml.safe_load((Path(__file__).parents[2] / "credentials.yml").read_text())
    names = set()
    for path in configured:
        module, _, name = path.rpartition(".")
        names.add(getattr(importlib.import_module(module), name).name())
    assert names - {"rest"} == set(rest.OTHER_CHANNELS)


def test_messages_the_client_already_fetched_are_not_sent_again() -> None:
    agent_first = BotUttered("您好", metadata={"source": "desk"}, timestamp=100.0)
    agent_second = BotUttered("查到了", metadata={"source": "desk"}, timestamp=200.0)
    events = [_said("在吗"), agent_first, agent_second]
    assert [m["text"] for m in rest.unseen_bot_messages(events)] == ["您好", "查到了"]
    assert [m["text"] for m in rest.unseen_bot_messages(events, since=100.0)] == ["查到了"]
    assert rest.unseen_bot_messages(events, since=200.0) == []
