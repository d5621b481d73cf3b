"""Builders for Rasa tracker events as the broker publishes them."""

from __future__ import annotations

from typing import Any, Dict, List


class Conversation:
    """Builds Rasa tracker events (as the broker publishes them) for one sender."""

    def __init__(self, sender: str, events: List[Dict[str, Any]]):
        self.sender = sender
        self.events = events
        self.count = 0

    def _add(self, ts: float, event: Dict[str, Any]) -> Conversation:
        self.count += 1
        self.events.append({"sender_id": self.sender, "timestamp": ts, **event})
        return self

    def start(self, ts: float, customer: str | None = None) -> Conversation:
        self._add(ts, {"event": "action", "name": "action_session_start"})
        self._add(ts, {"event": "session_started"})
        if customer:
            self._add(ts, {"event": "slot", "name": "customer_id", "value": customer})
        return self

    def user(self, ts: float, text: str, intent: str, emotion: str = "calm",
             channel: str = "rest") -> Conversation:
        return self._add(ts, {"event": "user", "text": text, "input_channel": channel,
                              "message_id": f"{self.sender}-{self.count}",
                              "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                                             "emotion": {"label": emotion,
                                                         "intensity": 0.5}}})

    def bot(self, ts: float, text: str = "好的", action: str | None = None,
            compliance: str = "pass") -> Conversation:
        meta: Dict[str, Any] = {"compliance": compliance}
        if action:
            meta["utter_action"] = action
        return self._add(ts, {"event": "bot", "text": text, "data": {}, "metadata": meta})

    def agent(self, ts: float, text: str, agent: str = "agent-1") -> Conversation:
        return self._add(ts, {"event": "bot", "text": text, "data": {},
                              "metadata": {"source": "desk", "agent_id": agent,
                                           "agent_name": "小李"}})

    def outcome(self, ts: float, status: str, key: str, reason: str = "task",
                intent: str | None = None) -> Conversation:
        return self._add(ts, {"event": "slot", "name": "outcome",
                              "value": {"status": status, "key": key, "reason": reason,
                                        "operation": reason, "intent": intent}})

    def handoff(self, ts: float, handoff_id: str, rule: str,
                queue: str = "general") -> Conversation:
        self._add(ts, {"event": "slot", "name": "handoff",
                       "value": {"rule": rule, "queue": queue, "priority": 1,
                                 "handoff_id": handoff_id}})
        return self._add(ts, {"event": "pause"})

    def rating(self, ts: float, score: float) -> Conversation:
        return self._add(ts, {"event": "slot", "name": "rating", "value": score})

    def ask_rating(self, ts: float) -> Conversation:
        return self._add(ts, {"event": "action", "name": "action_ask_rating"})
