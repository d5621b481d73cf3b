"""In-process checks of the pure parts: queue file loading, live messages from a Rasa tracker."""

from __future__ import annotations

import logging
import sys

import pytest
from rasa.shared.core.events import BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from desk.config import DEFAULT_QUEUES_PATH, Queue, load_queues
from desk.logs import MaskingFormatter, mask
from desk.rasa import RasaClient, customer_messages_since
from service_common.config import ConfigError


def test_shipped_queue_file():
    queues = load_queues(DEFAULT_QUEUES_PATH)
    assert {name: q.avg_handling_minutes for name, q in queues.items()} == {
        "general": 3, "senior": 5, "key_account": 10, "finance": 8}
    assert all(isinstance(q, Queue) and q.label for q in queues.values())


def test_queue_errors_name_the_file(tmp_path):
    path = tmp_path / "q.yml"
    path.write_text("queues:\n  general: {avg_handling_minutes: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"q\.yml:2: queues.general.avg_handling_minutes: "
                                          "ensure this value is greater than 0"):
        load_queues(path)
    path.write_text("queues:\n  General: {avg_handling_minutes: 3}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"q\.yml:2: queues.<key>: string does not match"):
        load_queues(path)


def _user(text: str, at: float, intent: str, label: str) -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text,
             "emotion": {"label": label, "intensity": 0.7, "confidence": 0.8}}
    return UserUttered(text, parse["intent"], timestamp=at, parse_data=parse)


def _tracker_json() -> dict:
    """A tracker as Rasa's GET /conversations/{id}/tracker serialises it."""
    tracker = DialogueStateTracker.from_events("c1", [
        _user("我的快递到哪了", 100.0, "track_logistics", "calm"),
        BotUttered("亲，正在派送中", timestamp=101.0),
        _user("转人工", 110.0, "request_human", "anxious"),
        ConversationPaused(timestamp=111.0),
        _user("人呢？？？", 150.0, "complain", "angry"),
        _user("我要投诉", 160.5, "complain", "angry"),
    ])
    return tracker.current_state(EventVerbosity.AFTER_RESTART)


def test_messages_since_handoff_from_a_real_tracker_dump():
    state = _tracker_json()
    assert state["paused"] is True
    transcript = [{"role": "customer", "text": "转人工", "time": 110.0}]
    messages = customer_messages_since(state, since=105.0, known=transcript)
    assert messages == [
        {"text": "人呢？？？", "time": 150.0, "intent": "complain",
         "emotion": {"label": "angry", "intensity": 0.7}},
        {"text": "我要投诉", "time": 160.5, "intent": "complain",
         "emotion": {"label": "angry", "intensity": 0.7}},
    ]
    # A message the bot already put into the packet (a later update) is not repeated.
    known = [*transcript, {"role": "customer", "text": "人呢？？？", "time": 150.0}]
    assert [m["text"] for m in customer_messages_since(state, 105.0, known)] == ["我要投诉"]
    assert customer_messages_since({"events": None}, 0.0, []) == []
    assert customer_messages_since({}, 0.0, []) == []


def test_rasa_urls_quote_the_conversation_and_carry_the_token():
    client = RasaClient("http://127.0.0.1:5005/", token="t0k")
    assert client._url("wx/a b", "/tracker") == \
        "http://127.0.0.1:5005/conversations/wx%2Fa%20b/tracker"
    assert client._params(include_events="NONE") == {"include_events": "NONE", "token": "t0k"}
    assert RasaClient("http://x", token="")._params() == {}


def test_masking_formatter_covers_messages_and_tracebacks():
    assert mask("13812345678") == "138****5678" and mask(None) == "-"
    assert mask("361204587712340001") == "361204587712340001"  # order ids are not phones
    try:
        raise ValueError("bad phone 13912345678")
    except ValueError:
        record = logging.LogRecord("desk", logging.ERROR, __file__, 1, "for %s", ("13800001111",),
                                   exc_info=sys.exc_info())
    line = MaskingFormatter("%(message)s").format(record)
    assert "138****1111" in line and "139****5678" in line
    assert "13800001111" not in line and "13912345678" not in line


def test_openapi_documents_exactly_the_served_routes():
    """desk/openapi.yaml and the service agree on every path and method."""
    import re

    import yaml
    from sqlalchemy.orm import sessionmaker

    from desk.app import OPENAPI_PATH, create_app
    from desk.config import load_queues
    from desk.rasa import RasaClient

    app = create_app(sessionmaker(), load_queues(), RasaClient("http://127.0.0.1:9"),
                     "unit-test-token-0123456789", name="desk_openapi_check")
    served = set()
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        if path.startswith("/assets") or path == "/":
            continue  # the web app's files, not API
        path = re.sub(r"<handoff_id:int>", "{id}", path)
        path = re.sub(r"<(\w+)(:\w+)?>", r"{\1}", path)
        served |= {(path, method.lower()) for method in route.methods if method != "HEAD"}
    spec = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert served == documented


def test_timestamps_are_what_the_openapi_pattern_says():
    """desk/openapi.yaml's `Timestamp` pattern and the desk's parser accept the same strings:
    every real day of 2000-2100 (and no other), with or without fraction and offset."""
    import re
    from datetime import date, timedelta

    import yaml

    from desk.app import OPENAPI_PATH
    from desk.validation import TIMESTAMP_RE, timestamp

    spec = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    pattern = re.compile(spec["components"]["schemas"]["Timestamp"]["pattern"].replace("$", r"\Z"))
    valid = set()
    day = date(2000, 1, 1)
    while day.year <= 2100:
        valid.add(day.isoformat())
        day += timedelta(days=1)
    for year in (1999, 2000, 2001, 2004, 2024, 2099, 2100, 2101):
        for month in range(0, 14):
            for mday in range(0, 33):
                text = f"{year:04d}-{month:02d}-{mday:02d}"
                for value in (f"{text}T09:30:00", f"{text}T23:59:59.5Z",
                              f"{text}T00:00:00.123456-23:59"):
                    expected = text in valid
                    assert bool(pattern.search(value)) == expected, value
                    assert bool(TIMESTAMP_RE.fullmatch(value)) == expected, value
    for value in ("2030-01-02", "2030-01-02 09:00:00", "2030-01-02t09:00:00z",
                  "2030-01-02T09:00:00.1234567Z", "2030-01-02T24:00:00", "2030-01-02T09:00:60",
                  "2030-01-02T09:00:00+24:00", "2030-01-02T09:00:00+0800",
                  "2030-01-02T09:00:00Z\n", " 2030-01-02T09:00:00Z"):
        assert not pattern.search(value) and not TIMESTAMP_RE.fullmatch(value), value
    assert str(timestamp("2030-01-02T09:00:00.5", "t")) == "2030-01-02 01:00:00.500000"
    assert str(timestamp("2100-12-31T23:59:59-12:00", "t")) == "2101-01-01 11:59:59"
