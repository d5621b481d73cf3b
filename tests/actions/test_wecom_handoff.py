"""A handoff on a WeCom account whose agents are WeCom's own (WECOM_HANDOFF=wecom): no desk
ticket and no desk queue, so it works while the desk is down; the same request from another
channel still goes to the desk (and says so when the desk is down)."""

from __future__ import annotations

import asyncio
import socket

from rasa_sdk import Tracker

import actions.desk as desk_module
from actions.handoff import ActionEscalate


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


def asking_for_a_human(channel: str, handoff: str) -> Tracker:
    metadata = {"wecom": {"open_kfid": "wkA", "msgid": "m1", "handoff": handoff}} \
        if channel == "wecom" else {}
    latest = {"intent": {"name": "request_human"}, "entities": [], "text": "转人工",
              "metadata": metadata}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": "转人工", "input_channel": channel,
               "parse_data": latest, "metadata": metadata}]
    return Tracker("wmCustomer", {}, latest, events, False, None, {}, "action_listen")


def escalate(run_action, monkeypatch, tracker: Tracker) -> tuple:
    monkeypatch.setattr(desk_module, "_client", None)
    try:
        return run_action(ActionEscalate(), tracker)
    finally:
        if desk_module._client is not None:
            asyncio.run(desk_module._client.close())


def test_wecom_agents_take_over_without_the_desk(run_action, monkeypatch):
    monkeypatch.setenv("DESK_URL", f"http://127.0.0.1:{closed_port()}")  # the desk is down
    messages, slots = escalate(run_action, monkeypatch, asking_for_a_human("wecom", "wecom"))
    text = "\n".join(message.get("text") or "" for message in messages)
    assert "转接人工客服" in text
    assert "连接不上" not in text and "前面还有" not in text and "工单" not in text
    assert slots["handoff"]["wecom"] is True
    assert slots["handoff"]["handoff_id"] == "wecom:wmCustomer"
    assert slots["outcome"]["operation"] == "handoff:wecom"
    # The desk mode of the same channel, and the metadata on another channel, use the desk.
    for channel, handoff in (("wecom", "desk"), ("rest", "wecom")):
        messages, slots = escalate(run_action, monkeypatch, asking_for_a_human(channel, handoff))
        assert "连接不上" in "\n".join(message.get("text") or "" for message in messages)
        assert slots["handoff"] is None
