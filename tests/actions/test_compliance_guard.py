"""Every text an action sends passes the advertising-law guard: the shop's data in a
response and the titles of the buttons an action adds (rendered by Rasa with BrandNLG)."""

from __future__ import annotations

import logging

from action_helpers import delivered
from rasa_sdk.executor import CollectingDispatcher


def test_action_texts_are_rewritten_or_blocked(caplog) -> None:
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.INFO, logger="compliance"):
        # utter_backend_message: the shop's own words, sent as they are.
        dispatcher.utter_message(response="utter_backend_message", problem="这是全网最好的面霜")
        dispatcher.utter_message(response="utter_backend_message", problem="这款茶能治疗失眠")
        dispatcher.utter_message(response="utter_backend_message",
                                 problem="最晚明天发货,第一时间通知您",
                                 buttons=[{"title": "顶级好物", "payload": "/x"}])
        sent = delivered(dispatcher.messages, {})
    said = [message["text"] for message in sent]
    assert "最好" not in said[0]
    assert "治疗" not in said[1]
    assert said[2] == "最晚明天发货,第一时间通知您"  # allowed exceptions pass unchanged
    assert sent[2]["buttons"] == [{"title": "优质好物", "payload": "/x"}]
    assert [message["compliance"] for message in sent] == ["changed", "changed", "pass"]
    assert caplog.records and "失眠" not in caplog.text  # events, never the message
