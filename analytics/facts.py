"""Rasa tracker events and desk feed events -> masked fact rows (analytics.store.facts).

Rasa's events carry no id, so each gets a stable key: the user message id when there is
one, else a hash of sender id, timestamp, type and the event's JSON. The same event
published twice (a replay, a redelivery after a consumer restart) gets the same key.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from analytics.config import intent_group
from analytics.mask import mask

Fact = Dict[str, Any]

DESK_TYPES = ("handoff_created", "claimed", "transferred", "agent_replied", "note_added",
              "playbook_run", "resolved", "rating")


def event_key(event: Dict[str, Any]) -> str:
    sender = str(event.get("sender_id") or "")
    kind = str(event.get("event") or "")
    if kind == "user" and event.get("message_id"):
        basis = f"user|{sender}|{event['message_id']}|{event.get('timestamp')!r}"
    else:
        body = json.dumps(event, sort_keys=True, ensure_ascii=False, default=str)
        basis = f"{sender}|{event.get('timestamp')!r}|{kind}|" + \
            hashlib.sha1(body.encode("utf-8")).hexdigest()
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()


def _base(event: Dict[str, Any], kind: str, key: str) -> Fact:
    return {"key": key, "conversation_id": str(event.get("sender_id") or ""),
            "ts": float(event.get("timestamp") or 0.0), "kind": kind, "source": "rasa"}


def rasa_facts(event: Dict[str, Any]) -> List[Fact]:
    """The facts one tracker event gives (none for most of them)."""
    kind = event.get("event")
    if not event.get("sender_id") or event.get("timestamp") is None:
        return []
    key = event_key(event)
    if kind == "session_started":
        return [_base(event, "session_start", key)]
    if kind == "user":
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {})
        name = intent.get("name")
        response = ((parse.get("response_selector") or {}).get("faq") or {}).get("response", {})
        if name == "faq" and response.get("intent_response_key"):
            name = response["intent_response_key"]  # faq/shipping_fee
        emotion = parse.get("emotion") or {}
        return [{**_base(event, "customer_msg", key), "text": mask(event.get("text")),
                 "intent": name, "intent_group": intent_group(name),
                 "confidence": intent.get("confidence"), "emotion": emotion.get("label"),
                 "intensity": emotion.get("intensity"), "channel": event.get("input_channel")}]
    if kind == "bot":
        meta = event.get("metadata") or {}
        if meta.get("source") == "desk":
            return [{**_base(event, "agent_msg", key), "text": mask(event.get("text")),
                     "agent_id": str(meta.get("agent_id") or "") or None}]
        facts = [{**_base(event, "bot_msg", key), "text": mask(event.get("text")),
                  "compliance": meta.get("compliance"), "action": meta.get("utter_action")}]
        action = str(meta.get("utter_action") or "")
        if action.startswith("utter_faq/"):
            # An FAQ answer from a domain response closes its topic (no custom action runs).
            topic = "faq/" + action.split("/", 1)[1]
            faq_key = hashlib.sha1((key + "|faq").encode()).hexdigest()
            facts.append({**_base(event, "outcome", faq_key), "status": "resolved",
                          "issue_key": topic, "reason": "faq", "operation": "faq"})
        return facts
    if kind == "slot":
        name, value = event.get("name"), event.get("value")
        if name == "outcome" and isinstance(value, dict) and value.get("status"):
            return [{**_base(event, "outcome", key), "status": str(value["status"]),
                     "issue_key": str(value.get("key") or "")[:120] or None,
                     "reason": str(value.get("reason") or "")[:120],
                     "operation": str(value.get("operation") or "")[:80],
                     "intent": value.get("intent"),
                     "intent_group": intent_group(value.get("intent"))}]
        if name == "handoff" and isinstance(value, dict) and value.get("handoff_id"):
            return [{**_base(event, "handoff", key), "queue": value.get("queue"),
                     "reason": str(value.get("rule") or "")[:120],
                     "handoff_id": str(value["handoff_id"])}]
        if name == "rating" and value is not None:
            try:
                return [{**_base(event, "rating", key), "score": float(value)}]
            except (TypeError, ValueError):
                return []
        if name == "turning_point" and isinstance(value, dict):
            return [{**_base(event, "turning_point", key),
                     "reason": str(value.get("kind") or "")[:120],
                     "emotion": (value.get("labels") or [None])[-1]}]
        if name == "customer_id" and value:
            return [{**_base(event, "customer", key), "customer_id": str(value)[:80]}]
        return []
    if kind == "pause":
        return [_base(event, "paused", key)]
    if kind == "resume":
        return [_base(event, "resumed", key)]
    if kind == "action" and event.get("name") == "action_ask_rating":
        return [_base(event, "rating_asked", key)]
    return []


def _timestamp(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def desk_facts(event: Dict[str, Any]) -> List[Fact]:
    """A desk feed event (GET /api/events: id, kind, handoff_id, conversation_id, queue,
    agent_id, time, timestamp, data), read leniently (type / at / created_at also work)."""
    kind = event.get("kind") or event.get("type") or event.get("event")
    if kind not in DESK_TYPES or event.get("id") is None:
        return []
    data = event.get("data") or event.get("payload") or {}
    ts = _timestamp(event.get("timestamp") or event.get("at") or event.get("created_at")
                    or event.get("time"))
    conversation = event.get("conversation_id") or data.get("conversation_id")
    if ts is None or not conversation:
        return []
    score = event.get("score", data.get("score", data.get("rating")))
    fact: Fact = {
        "key": hashlib.sha1(f"desk|{event['id']}".encode()).hexdigest(),
        "conversation_id": str(conversation), "ts": ts, "kind": f"desk_{kind}",
        "source": "desk",
        "handoff_id": str(event.get("handoff_id") or data.get("handoff_id") or "") or None,
        "queue": event.get("queue") or data.get("queue"),
        "agent_id": str(event.get("agent_id") or data.get("agent_id") or "") or None,
        "reason": str(event.get("reason") or data.get("reason") or data.get("rule")
                      or "")[:120] or None,
        "text": mask(event.get("text") or data.get("text")) or None,
    }
    if score is not None:
        try:
            fact["score"] = float(score)
        except (TypeError, ValueError):
            pass
    return [fact]
