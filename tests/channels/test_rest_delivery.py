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
