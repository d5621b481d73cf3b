"""The simulator's copies: the simulated agent, not the recorded desk message, answers a
handoff, after the simulated queue wait; an unserved handoff gets no agent at all."""

from __future__ import annotations

import random

import pytest

from analytics.simulator import retime

RECORDING = [
    {"event": "action", "name": "action_session_start", "timestamp": 100.0},
    {"event": "session_started", "timestamp": 100.0},
    {"event": "user", "text": "转人工", "timestamp": 101.0, "parse_data": {}},
    {"event": "bot", "text": "好的,正在为您转接人工客服", "timestamp": 101.2},
    {"event": "pause", "timestamp": 101.3},
    # The real desk claimed the recorded conversation two seconds later.
    {"event": "bot", "text": "人工客服 小李 已接入", "timestamp": 103.3,
     "metadata": {"source": "desk", "kind": "agent_joined"}},
    {"event": "resume", "timestamp": 105.0},
    {"event": "bot", "text": "请为本次服务打分", "timestamp": 105.1},
]


def agent_messages(events):
    return [e for e in events if (e.get("metadata") or {}).get("source") == "desk"]


def test_the_simulated_agent_answers_after_the_queue_wait() -> None:
    copy = retime(RECORDING, "sim-1", 1_000.0, random.Random(1), agent_wait=150.0)
    pause = next(e for e in copy if e["event"] == "pause")
    agents = agent_messages(copy)
    assert len(agents) == 1
    assert agents[0]["timestamp"] - pause["timestamp"] == pytest.approx(150.0)
    assert "已接入" not in agents[0]["text"]  # the recorded desk message is not replayed
    resume = next(e for e in copy if e["event"] == "resume")
    assert resume["timestamp"] >= agents[0]["timestamp"]


def test_an_unserved_handoff_has_no_agent() -> None:
    copy = retime(RECORDING, "sim-2", 1_000.0, random.Random(1), agent_wait=None)
    assert agent_messages(copy) == []
    assert copy[-1]["event"] == "pause"
