"""The caching SQL tracker store gives what Rasa's SQL tracker store gives, on SQLite and
PostgreSQL, and reloads whenever the database changed behind its back."""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from typing import Any, Callable, Iterator, List

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from components.tracker_store import CachingSQLTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, query_order_status]
slots:
  order_id:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
"""
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, postgres_schema) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.sqlite'}"
        return
    with postgres_schema("tracker_cache_test") as url:
        yield url


def sync(test: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))

    return run


def caching(url: str, **kwargs) -> CachingSQLTrackerStore:
    return CachingSQLTrackerStore(domain=DOMAIN, host=url, **kwargs)


def plain(url: str) -> SQLTrackerStore:
    return SQLTrackerStore(domain=DOMAIN, host=url)


def turn(tracker: DialogueStateTracker, text: str, reply: str) -> None:
    tracker.update(UserUttered(text, {"name": "query_order_status", "confidence": 0.9}))
    tracker.update(SlotSet("order_id", text[-4:]))
    tracker.update(ActionExecuted("utter_reply"))
    tracker.update(BotUttered(reply))
    tracker.update(ActionExecuted("action_listen"))


async def first_turn(store: CachingSQLTrackerStore, sender: str, order: str
                     ) -> DialogueStateTracker:
    """A new conversation with one saved turn about `order`."""
    tracker = await store.get_or_create_tracker(sender)
    turn(tracker, f"订单 {order}", "好的")
    await store.save(tracker)
    return tracker


def dicts(tracker: DialogueStateTracker) -> List[dict]:
    return [event.as_dict() for event in tracker.events]


@sync
async def test_reuses_its_tracker_and_stores_what_sql_stores(db_url: str) -> None:
    store = caching(db_url)
    tracker = await store.get_or_create_tracker("c1")
    turn(tracker, "订单 1234", "查到了")
    await store.save(tracker)

    again = await store.retrieve("c1")
    assert again is tracker  # no reload
    assert store.hits == 1

    turn(again, "订单 5678", "也查到了")
    await store.save(again)
    reference = await plain(db_url).retrieve("c1")
    assert reference is not None
    assert dicts(reference) == dicts(again)
    assert reference.get_slot("order_id") == "5678"


@sync
async def test_another_instance_writing_is_seen(db_url: str) -> None:
    first, second = caching(db_url), caching(db_url)
    tracker = await first_turn(first, "c2", "1111")
    assert await first.retrieve("c2") is tracker

    # Another Rasa worker or instance takes the next turn of the same conversation.
    other = await second.retrieve("c2")
    assert other is not None and other is not tracker
    turn(other, "订单 2222", "好的")
    await second.save(other)

    seen = await first.retrieve("c2")
    assert seen is not tracker
    assert seen.get_slot("order_id") == "2222"
    assert dicts(seen) == dicts(other)


@sync
async def test_deleted_events_are_not_served_from_memory(db_url: str) -> None:
    store = caching(db_url)
    tracker = await first_turn(store, "c3", "3333")
    assert await store.retrieve("c3") is tracker

    # The privacy tools erase a customer's conversation in the database itself.
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'c3'"))
    engine.dispose()
    assert await store.retrieve("c3") is None


@sync
async def test_a_tracker_changed_but_not_saved_is_not_reused(db_url: str) -> None:
    store = caching(db_url)
    tracker = await first_turn(store, "c4", "4444")
    # A turn that failed half-way: events added in memory, never saved.
    turn(tracker, "订单 9999", "不会保存")

    reloaded = await store.retrieve("c4")
    assert reloaded is not tracker
    assert reloaded.get_slot("order_id") == "4444"
    assert store.misses == 2  # the new conversation, then the changed tracker


@sync
async def test_broker_gets_each_new_event_once(db_url: str, tmp_path) -> None:
    broker = SQLEventBroker(db=str(tmp_path / "broker.sqlite"))
    store = CachingSQLTrackerStore(domain=DOMAIN, host=db_url, event_broker=broker)
    tracker = await first_turn(store, "c5", "5555")
    await store.save(tracker)  # nothing new: nothing published
    turn(tracker, "订单 6666", "好的")
    await store.save(tracker)

    with broker.session_scope() as session:
        published = [row.data for row in session.query(broker.SQLBrokerEvent).order_by("id")]
    stored = await plain(db_url).retrieve("c5")
    assert len(published) == len(stored.events) == 11
    assert [json.loads(data)["event"] for data in published] == [
        event["event"] for event in dicts(stored)
    ]


@sync
async def test_latest_session_only_like_the_sql_store(db_url: str) -> None:
    store = caching(db_url)
    tracker = await first_turn(store, "c6", "7777")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)

    hits = store.hits
    mine = await store.retrieve("c6")
    reference = await plain(db_url).retrieve("c6")
    assert dicts(mine) == dicts(reference)
    assert mine is not tracker  # the old session's events are not served
    assert store.hits == hits + 1  # ... nor is the database read again
    assert mine.current_slot_values() == reference.current_slot_values()
    assert [e["event"] for e in dicts(mine)][:1] == ["session_started"]

    turn(mine, "订单 8888", "好的")  # the next turns store their events once
    await store.save(mine)
    assert await store.retrieve("c6") is mine
    turn(mine, "订单 9999", "好的")
    await store.save(mine)
    full = await store.retrieve_full_tracker("c6")
    assert len(full.events) == 9 + 5 + 5
    assert dicts(await plain(db_url).retrieve("c6")) == dicts(mine)


@sync
async def test_least_recently_used_conversation_leaves_first(db_url: str) -> None:
    store = caching(db_url, cache_size=2)
    trackers = {}
    for name in ("a", "b", "c"):
        trackers[name] = await store.get_or_create_tracker(name)
    assert await store.retrieve("c") is trackers["c"]
    assert await store.retrieve("b") is trackers["b"]
    reloaded = await store.retrieve("a")  # dropped when "c" came in
    assert reloaded is not trackers["a"] and dicts(reloaded) == dicts(trackers["a"])
    assert (store.hits, store.misses) == (2, 4)  # three new conversations, then "a"


def test_an_sqlite_tracker_file_is_written_ahead(tmp_path) -> None:
    # One fsync per commit instead of three; the mode is kept in the file, so the analytics
    # consumer and the trainer read it the same way.
    path = tmp_path / "tracker.sqlite"
    caching(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# Rasa's count of the stored events of the latest session (SQLAlchemy wraps the query).
SESSION_COUNT = "SELECT count(*) AS count_1 \nFROM (SELECT events.id"


def statements(store: CachingSQLTrackerStore) -> List[str]:
    """The SQL the store sends from now on."""
    seen: List[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: seen.append(statement))
    return seen


@sync
async def test_save_counts_stored_events_only_when_the_database_changed(db_url: str) -> None:
    first, second = caching(db_url), caching(db_url)
    sql = statements(first)
    tracker = await first_turn(first, "c7", "1111")  # a new conversation: nothing to count
    assert not [s for s in sql if SESSION_COUNT in s] and [s for s in sql if "INSERT" in s]
    sql.clear()
    turn(tracker, "订单 2222", "好的")
    await first.save(tracker)  # the cached tracker, database unchanged: no session count
    assert not [s for s in sql if SESSION_COUNT in s] and [s for s in sql if "INSERT" in s]
    assert dicts(await plain(db_url).retrieve("c7")) == dicts(tracker)

    # Another instance takes a turn; this one then saves its old object without
    # retrieving first: the stamp differs, so the stored events are counted, and
    # nothing is written twice (what Rasa's SQLTrackerStore does too).
    other = await second.retrieve("c7")
    turn(other, "订单 3333", "好的")
    await second.save(other)
    sql.clear()
    turn(tracker, "订单 4444", "好的")
    await first.save(tracker)
    assert [s for s in sql if SESSION_COUNT in s]
    assert dicts(await plain(db_url).retrieve("c7")) == dicts(other)

    # A conversation this instance never saw (the cache holds nothing for it) is counted.
    third = caching(db_url)
    sql = statements(third)
    unknown = await plain(db_url).retrieve("c7")
    turn(unknown, "订单 5555", "好的")
    await third.save(unknown)
    assert [s for s in sql if SESSION_COUNT in s]
    assert dicts(await plain(db_url).retrieve("c7")) == dicts(unknown)
