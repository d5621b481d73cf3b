"""The messages the bot handled badly, read from Rasa's SQL tracker store.

Rasa's `SQLTrackerStore` keeps one row per event in the `events` table (sender_id,
type_name, timestamp, data = the event as JSON). Reading that table with SQLAlchemy
(the same URLs Rasa uses: SQLite or PostgreSQL) scans thousands of conversations without
rebuilding a tracker per conversation; the export of one conversation rebuilds Rasa's
own events from the same rows (trainer/stories.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import sqlalchemy as sa

from trainer.examples import LEARNT_EXTRACTORS

# Why a message is listed, in the order the page shows them.
REASONS = {
    "fallback": "没听懂(nlu_fallback)",
    "low_confidence": "置信度低",
    "clarification": "反问澄清",
    "handoff_after_failure": "多次失败后转人工",
    "negative_rating": "差评会话",
}
# Handoff rules that mean the bot failed (escalation/rules.yml); a customer asking for a
# human or a wholesale route is not a failure of understanding.
FAILURE_RULES = {"repeated_failure"}
# Messages before a failure handoff that are listed with it.
MESSAGES_BEFORE_HANDOFF = 3
# In a badly rated session these say nothing about what went wrong.
SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny", "rate_service", "inform"}
NEGATIVE_RATING = 2
EVENT_TYPES = ("user", "bot", "action", "slot", "session_started", "pause", "resume", "restart")


@dataclass
class Candidate:
    """One customer message the bot handled badly (raw text: never shown unmasked)."""

    key: str
    sender_id: str
    event_id: int
    timestamp: float
    text: str
    intent: Optional[str]
    confidence: float
    ranking: List[Tuple[str, float]]
    entities: List[Dict[str, Any]]
    reasons: Set[str] = field(default_factory=set)


def message_key(sender_id: str, data: Dict[str, Any]) -> str:
    """Stable across scans and stores: the conversation plus Rasa's message id."""
    ident = data.get("message_id") or f"{data.get('timestamp')}|{data.get('text')}"
    return hashlib.sha1(f"{sender_id}|{ident}".encode()).hexdigest()[:16]


def engine_for(url: str) -> sa.engine.Engine:
    # Rasa writes "postgresql://"; SQLAlchemy 1.4 needs that spelling too.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return sa.create_engine(url, future=True, pool_pre_ping=True)


_metadata = sa.MetaData()
EVENTS = sa.Table(
    "events", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


class TrackerSource:
    def __init__(self, url: str, confidence_threshold: float = 0.6,
                 window_days: float = 30) -> None:
        self.engine = engine_for(url)
        self.threshold = confidence_threshold
        self.window_days = window_days

    def _has_events(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    def _rows(self, sender_id: Optional[str] = None,
              since: Optional[float] = None) -> Iterator[Tuple[int, str, str, Dict[str, Any]]]:
        if not self._has_events():
            return
        query = sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.data)
        if sender_id is not None:
            query = query.where(EVENTS.c.sender_id == sender_id)
        if since is not None:
            query = query.where(EVENTS.c.timestamp >= since)
        query = query.where(EVENTS.c.type_name.in_(EVENT_TYPES))
        query = query.order_by(EVENTS.c.sender_id, EVENTS.c.id)
        with self.engine.connect() as connection:
            for row in connection.execution_options(stream_results=True).execute(query):
                try:
                    data = json.loads(row.data or "{}")
                except ValueError:
                    continue
                yield row.id, row.sender_id, row.type_name, data

    def candidates(self) -> List[Candidate]:
        since = time.time() - self.window_days * 86400
        found: Dict[str, Candidate] = {}
        sender: Optional[str] = None
        session: List[Candidate] = []
        last_user: Optional[Candidate] = None
        paused = False

        def flag(message: Candidate, reason: str) -> None:
            message.reasons.add(reason)
            found[message.key] = message

        for event_id, sender_id, kind, data in self._rows(since=since):
            if sender_id != sender:
                sender, session, last_user, paused = sender_id, [], None, False
            if kind in ("session_started", "restart"):
                session, last_user = [], None
            elif kind == "pause":
                paused = True
            elif kind == "resume":
                paused = False
            elif kind == "user":
                last_user = None
                text = (data.get("text") or "").strip()
                # Button payloads (/intent{...}) are the bot's own words; messages to a
                # human while the bot is paused were not the bot's to understand.
                if not text or text.startswith("/") or paused:
                    continue
                last_user = self._candidate(event_id, sender_id, data)
                session.append(last_user)
                if last_user.intent == "nlu_fallback":
                    flag(last_user, "fallback")
                elif last_user.confidence < self.threshold:
                    flag(last_user, "low_confidence")
            elif kind == "action":
                if data.get("name") == "action_clarify" and last_user is not None:
                    flag(last_user, "clarification")
            elif kind == "slot":
                value = data.get("value")
                if data.get("name") == "handoff" and isinstance(value, dict) \
                        and value.get("rule") in FAILURE_RULES:
                    for message in session[-MESSAGES_BEFORE_HANDOFF:]:
                        flag(message, "handoff_after_failure")
                elif data.get("name") == "rating" and isinstance(value, int | float) \
                        and value <= NEGATIVE_RATING:
                    for message in session:
                        if message.intent not in SMALL_TALK:
                            flag(message, "negative_rating")
        return sorted(found.values(), key=lambda item: item.timestamp)

    def _candidate(self, event_id: int, sender_id: str, data: Dict[str, Any]) -> Candidate:
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        ranking = [(item.get("name"), float(item.get("confidence") or 0))
                   for item in parse.get("intent_ranking") or []
                   if item.get("name") and item.get("name") != "nlu_fallback"]
        name = intent.get("name")
        if name and intent.get("full_retrieval_intent_name"):
            name = intent["full_retrieval_intent_name"]
        return Candidate(
            key=message_key(sender_id, data), sender_id=sender_id, event_id=event_id,
            timestamp=float(data.get("timestamp") or 0), text=(data.get("text") or "").strip(),
            intent=name, confidence=float(intent.get("confidence") or 0),
            ranking=ranking[:5],
            entities=[entity for entity in parse.get("entities") or []
                      if entity.get("extractor") in {None, *LEARNT_EXTRACTORS}],
        )

    def conversation(self, sender_id: str) -> List[Dict[str, Any]]:
        """All stored events of one conversation as Rasa wrote them (oldest first)."""
        if not self._has_events():
            return []
        query = (sa.select(EVENTS.c.data).where(EVENTS.c.sender_id == sender_id)
                 .order_by(EVENTS.c.id))
        with self.engine.connect() as connection:
            return [json.loads(row.data) for row in connection.execute(query)]

    def transcript(self, sender_id: str) -> List[Dict[str, Any]]:
        """Customer and bot lines with the intents, raw (the caller masks)."""
        lines: List[Dict[str, Any]] = []
        for event in self.conversation(sender_id):
            kind = event.get("event")
            if kind == "user":
                parse = event.get("parse_data") or {}
                intent = parse.get("intent") or {}
                lines.append({"role": "customer", "text": event.get("text") or "",
                              "intent": intent.get("full_retrieval_intent_name")
                              or intent.get("name"),
                              "confidence": intent.get("confidence"),
                              "key": message_key(sender_id, event),
                              "time": event.get("timestamp")})
            elif kind == "bot" and event.get("text"):
                lines.append({"role": "bot", "text": event["text"], "time": event.get("timestamp")})
            elif kind == "session_started":
                lines.append({"role": "session", "text": "", "time": event.get("timestamp")})
        return lines
