"""Every text an action sends passes the advertising-law guard."""

from __future__ import annotations

import logging

from rasa_sdk.executor import CollectingDispatcher

import actions  # noqa: F401  (installs the guard)


def test_action_texts_are_rewritten_or_blocked(caplog) -> None:
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.INFO, logger="compliance"):
        dispatcher.utter_message(text="这是全网最好的面霜")
        dispatcher.utter_message(text="这款茶能治疗失眠")
        dispatcher.utter_message(text="最晚明天发货,第一时间通知您",
                                 buttons=[{"title": "顶级好物", "payload": "/x"}])
    said = [message["text"] for message in dispatcher.messages]
    assert "最好" not in said[0]
    assert "治疗" not in said[1]
    assert said[2] == "最晚明天发货,第一时间通知您"  # allowed exceptions pass unchanged
    assert dispatcher.messages[2]["buttons"][0]["title"] == "优质好物"
    assert caplog.records and "失眠" not in caplog.text  # events, never the message
