"""Writes facts into the store, idempotently, and keeps the session table.

The same path serves the broker consumer, the desk feed poller and the traffic
simulator: `Ingestor.rasa(events)` / `Ingestor.desk(events)`.
"""

from __future__ import annotations

import bisect
import logging
from typing import Any, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import store
from analytics.facts import Fact, desk_facts, rasa_facts

logger = logging.getLogger("analytics.ingest")


def session_id_for(conversation_id: str, ts: float) -> str:
    return f"{conversation_id}:{int(round(ts * 1000))}"


class Ingestor:
    def __init__(self, engine: Engine, ignore_prefixes: Tuple[str, ...] = ()):
        self.engine = engine
        self.ignore_prefixes = tuple(p for p in ignore_prefixes if p)
        # conversation id -> sorted [(started_ts, session_id)]
        self._sessions: Dict[str, List[Tuple[float, str]]] = {}

    def rasa(self, events: Iterable[Dict[str, Any]]) -> int:
        """Rasa tracker events (as the broker publishes them); the number of new facts."""
        facts: List[Fact] = []
        for event in events:
            if str(event.get("sender_id") or "").startswith(self.ignore_prefixes or ("\0",)):
                continue
            facts.extend(rasa_facts(event))
        return self.write(facts)

    def desk(self, events: Iterable[Dict[str, Any]]) -> int:
        facts: List[Fact] = []
        for event in events:
            facts.extend(desk_facts(event))
        return self.write(facts)

    def write(self, facts: List[Fact]) -> int:
        if not facts:
            return 0
        facts.sort(key=lambda fact: (fact["ts"], fact["kind"] != "session_start"))
        with self.engine.begin() as connection:
            new_sessions: List[Dict[str, Any]] = []
            updates: Dict[str, Dict[str, Any]] = {}
            for fact in facts:
                conversation = fact["conversation_id"]
                known = self._known(connection, conversation)
                if fact["kind"] == "session_start":
                    session = session_id_for(conversation, fact["ts"])
                    if (fact["ts"], session) not in known:
                        bisect.insort(known, (fact["ts"], session))
                        new_sessions.append({"session_id": session,
                                             "conversation_id": conversation,
                                             "started_ts": fact["ts"]})
                else:
                    found = self._session_at(known, fact["ts"])
                    if found is not None:
                        session = found
                    else:
                        # Events before any session start (an old tracker): an implicit one.
                        session = session_id_for(conversation, fact["ts"])
                        bisect.insort(known, (fact["ts"], session))
                        new_sessions.append({"session_id": session,
                                             "conversation_id": conversation,
                                             "started_ts": fact["ts"]})
                fact["session_id"] = session
                if fact.get("channel") and fact["kind"] == "customer_msg":
                    updates.setdefault(session, {}).setdefault("channel", fact["channel"])
                if fact["kind"] == "customer" and fact.get("customer_id"):
                    updates.setdefault(session, {})["customer_id"] = fact["customer_id"]
            store.insert_ignore(connection, store.sessions, new_sessions, ["session_id"])
            for session, values in updates.items():
                condition = [store.sessions.c.session_id == session]
                if "channel" in values and "customer_id" not in values:
                    condition.append(store.sessions.c.channel.is_(None))
                connection.execute(store.sessions.update().where(*condition).values(**values))
            rows = [{column: fact.get(column) for column in store.FACT_COLUMNS}
                    for fact in facts]
            return store.insert_ignore(connection, store.facts, rows, ["key"])

    def _known(self, connection: sa.engine.Connection,
               conversation: str) -> List[Tuple[float, str]]:
        if conversation not in self._sessions:
            rows = connection.execute(
                sa.select(store.sessions.c.started_ts, store.sessions.c.session_id)
                .where(store.sessions.c.conversation_id == conversation)).all()
            self._sessions[conversation] = sorted((row[0], row[1]) for row in rows)
            if len(self._sessions) > 50_000:  # a long-running consumer: forget old ones
                self._sessions.pop(next(iter(self._sessions)))
        return self._sessions[conversation]

    @staticmethod
    def _session_at(known: List[Tuple[float, str]], ts: float) -> Optional[str]:
        index = bisect.bisect_right(known, (ts + 1e-6, "\uffff")) - 1
        return known[index][1] if index >= 0 else None
