"""Rasa's SQL tracker store with each conversation's tracker kept in process.

Rasa 3.6's `SQLTrackerStore` rebuilds the tracker from every stored event of the session
on each retrieval, and its `save` retrieves the tracker a second time to find which events
the event broker has not seen: two full loads (SQL, JSON, event objects, replay) per turn,
about a third of the Rasa server's CPU under load (docs/scale.md).

This store keeps the tracker it last saved or loaded for each conversation and reuses it
when the database still holds exactly what that tracker was built from. The check is one
indexed query, the conversation's event count and highest event id: an event written by
another Rasa instance or worker, or events deleted by the privacy tools, change it, and the
tracker is loaded from the database as before. A tracker that was changed in memory and
not saved (a turn that failed half-way) has more events than it had when it was cached and
is not reused either. A tracker in which a new session began still holds the previous
session's events, which a retrieval leaves out: the store keeps the latest session replayed
as the database would give it instead. Readers and writers get the same object,
as Rasa's lock store serialises the writers of one conversation. What is stored, and what
the event broker receives, is the same as with `SQLTrackerStore`.

Configured in endpoints.yml (`type: components.tracker_store.CachingSQLTrackerStore`,
`cache_size`: conversations kept, least recently used dropped first).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from typing import Any, Optional, Tuple

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from service_common.db import tuned_sqlite

Stamp = Tuple[int, Optional[int]]


class CachingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that reuses the in-process tracker while the database agrees."""

    def __init__(self, *args: Any, cache_size: int = 5000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # SQLite: every turn commits (docs/scale.md).
        engine = tuned_sqlite(self.engine)  # type: ignore[has-type]  # Rasa's, untyped
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)
        self.cache_size = max(int(cache_size), 0)
        self._stamp_query = sa.text(f"SELECT count(id), max(id) FROM "  # noqa: S608
                                    f"{self.SQLEvent.__tablename__} WHERE sender_id = :sender_id")
        # sender id -> (tracker, stamp of the stored events, number of events it had)
        self._cache: OrderedDict[str, Tuple[DialogueStateTracker, Stamp, int]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _stamp(self, session: Any, sender_id: str) -> Stamp:
        # Plain SQL: the statement runs up to three times a turn, and building it with the
        # expression language took four times as long (110 against 26 µs on SQLite).
        count, last = session.execute(self._stamp_query, {"sender_id": sender_id}).one()
        return int(count), last

    def _remember(self, tracker: DialogueStateTracker, stamp: Stamp) -> None:
        if not self.cache_size:
            return
        self._cache[tracker.sender_id] = (tracker, stamp, len(tracker.events))
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        """Drop a conversation from the cache (the next retrieval reads the database)."""
        self._cache.pop(sender_id, None)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session's tracker: the cached one while the stored events match."""
        cached = self._cache.get(sender_id)
        with self.session_scope() as session:
            stamp = self._stamp(session, sender_id)
        if cached is not None:
            tracker, cached_stamp, events = cached
            if cached_stamp == stamp and len(tracker.events) == events:
                self.hits += 1
                self._cache.move_to_end(sender_id)
                return tracker
            self.forget(sender_id)
        self.misses += 1
        if stamp[0] == 0:
            return None  # nothing stored, which is what Rasa's query would find as well
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self._remember(tracker, stamp)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events, stream them to the broker and remember the tracker.

        The new events are the ones after the session's stored count, which is what
        `SQLTrackerStore` computes as well; it only loads the whole tracker once more
        to work them out for the broker. When this is the tracker the cache holds and the
        database still has exactly the events it was built from (the cheap stamp query),
        the stored count is the number of events it had then; for a conversation the
        database has no event of, it is 0; otherwise it is counted."""
        sender_id = tracker.sender_id
        cached = self._cache.get(sender_id)
        self.forget(sender_id)
        with self.session_scope() as session:
            stored: Optional[int] = None
            if cached is None:
                if self._stamp(session, sender_id) == (0, None):
                    stored = 0
            elif cached[0] is tracker and cached[2] <= len(tracker.events):
                if self._stamp(session, sender_id) == cached[1]:
                    stored = cached[2]
            if stored is None:
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            dicts = [event.as_dict() for event in new_events]  # once, for both
            if self.event_broker is not None:
                for data in dicts:  # what SQLTrackerStore._stream_new_events publishes
                    self.event_broker.publish({"sender_id": sender_id, **data})
            rows = [{"sender_id": sender_id,
                     "type_name": event.type_name,
                     "timestamp": data.get("timestamp"),
                     "intent_name": data.get("parse_data", {}).get("intent", {}).get(
                         INTENT_NAME_KEY),
                     "action_name": data.get("name"),
                     "data": json.dumps(data)} for event, data in zip(new_events, dicts,
                                                                      strict=True)]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
            stamp = self._stamp(session, sender_id)
        if any(isinstance(event, SessionStarted) for event in new_events):
            # A new session began in this tracker, which still holds the previous
            # session's events: keep what `retrieve` would load from the database.
            tracker = self._latest_session(tracker)
        self._remember(tracker, stamp)

    def _latest_session(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker Rasa's SQL `retrieve` gives: the events from the latest
        SessionStarted's timestamp on, in stored order, replayed with the domain's slots."""
        start = max(e.timestamp for e in tracker.events if isinstance(e, SessionStarted))
        return DialogueStateTracker.from_events(
            tracker.sender_id, [e for e in tracker.events if e.timestamp >= start],
            self.domain.slots)
