"""Finding badly handled messages in a tracker store Rasa itself wrote (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from trainer.config import Settings
from trainer.service import Trainer

ROOT = Path(__file__).resolve().parents[2]


def said(text: str, intent: str, confidence: float, ranking: List[tuple] = (),
         entities: List[Dict[str, Any]] = ()) -> UserUttered:
    ranking = list(ranking) or [(intent, confidence)]
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "entities": list(entities),
             "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}
    return UserUttered(text, parse["intent"], list(entities), parse_data=parse,
                       input_channel="rest", message_id=uuid.uuid4().hex)


def bot(name: str, text: str = "好的") -> List[Any]:
    return [ActionExecuted(name), BotUttered(text), ActionExecuted("action_listen")]


CONVERSATIONS = {
    "c-fallback": [
        said("在吗", "greet", 0.99), *bot("action_greet"),
        said("我手机13812345678收不到你们短信咋回事 寄到文三路100号", "nlu_fallback", 0.45,
             [("nlu_fallback", 0.45), ("out_of_scope", 0.38), ("ask_promotion", 0.2)]),
        *bot("action_clarify", "不好意思,我想确认一下,您是想:"),
    ],
    "c-low": [said("阿巴阿巴", "affirm", 0.55, [("affirm", 0.55), ("thank", 0.12)]),
              *bot("utter_ok")],
    "c-core-fallback": [said("这个跟那个比哪个好", "product_question", 0.93),
                        *bot("action_clarify")],
    "c-failure": [
        said("我的快递呢", "track_logistics", 0.9), *bot("order_form"),
        said("我不知道单号", "track_logistics", 0.88), *bot("order_form"),
        said("就是上周买的那个", "track_logistics", 0.86), ActionExecuted("action_escalate"),
        SlotSet("handoff", {"rule": "repeated_failure", "queue": "general", "handoff_id": 7}),
        ConversationPaused(),
        said("人呢", "request_human", 0.4),  # to the human: not the bot's failure
    ],
    "c-human": [
        said("转人工", "request_human", 0.99), ActionExecuted("action_escalate"),
        SlotSet("handoff", {"rule": "asked_for_human", "queue": "general", "handoff_id": 8}),
        ConversationPaused(), ConversationResumed(), ActionExecuted("action_ask_rating"),
        said("5分", "rate_service", 0.99), ActionExecuted("action_record_rating"),
        SlotSet("rating", 5.0),
    ],
    "c-rating": [
        said("我的包裹三天没动了", "track_logistics", 0.97), *bot("order_form"),
        said("谢谢", "thank", 0.99), *bot("utter_thank"),
        ActionExecuted("action_ask_rating"), said("1分", "rate_service", 0.98),
        ActionExecuted("action_record_rating"), SlotSet("rating", 1.0),
    ],
    "c-button": [said('/inform{"order_id":"361204587712340001"}', "inform", 0.3)],
    "c-old-session": [
        said("嗯嗯哼哼哈", "affirm", 0.4), *bot("utter_ok"),
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        said("包邮吗", "faq", 0.99),
    ],
}


def write_store(store: SQLTrackerStore) -> None:
    async def save_all() -> None:
        for sender, events in CONVERSATIONS.items():
            tracker = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen"),
                                                                *events])
            await store.save(tracker)
    asyncio.run(save_all())


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path):
    domain = Domain.load(str(ROOT / "domain.yml"))
    if request.param == "sqlite":
        path = tmp_path / "tracker.sqlite"
        write_store(SQLTrackerStore(domain, dialect="sqlite", db=str(path)))
        yield f"sqlite:///{path}"
        return
    import psycopg2

    name = f"trainer_source_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        store = SQLTrackerStore(domain, dialect="postgresql", host="127.0.0.1", port=5432,
                                username="postgres", db=name)
        write_store(store)
        store.engine.dispose()
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def trainer_for(url: str, tmp_path: Path) -> Trainer:
    return Trainer(Settings.from_env({"TRACKER_STORE_URL": url,
                                      "TRAINER_DB_URL": f"sqlite:///{tmp_path}/trainer.sqlite",
                                      "TRAINER_PROJECT_DIR": str(ROOT),
                                      "TRAINER_CONFIDENCE_THRESHOLD": "0.6"}))


def test_every_kind_of_failure_is_found_and_nothing_else(tracker_url, tmp_path):
    trainer = trainer_for(tracker_url, tmp_path)
    found = {c.text: c.reasons for c in trainer.source.candidates()}
    assert found == {
        "我手机13812345678收不到你们短信咋回事 寄到文三路100号": {"fallback", "clarification"},
        "阿巴阿巴": {"low_confidence"},
        "这个跟那个比哪个好": {"clarification"},
        "我的快递呢": {"handoff_after_failure"},
        "我不知道单号": {"handoff_after_failure"},
        "就是上周买的那个": {"handoff_after_failure"},
        "我的包裹三天没动了": {"negative_rating"},
        "嗯嗯哼哼哈": {"low_confidence"},
    }


def test_review_is_masked_grouped_and_labelled_items_disappear(tracker_url, tmp_path):
    trainer = trainer_for(tracker_url, tmp_path)
    review = trainer.review()
    dumped = json.dumps(review, ensure_ascii=False)
    assert "13812345678" not in dumped and "138****5678" in dumped
    assert "文三路" not in dumped and "寄到***" in dumped  # keywords too
    assert review["messages"] == 8
    assert sum(group["count"] for group in review["groups"]) == 8
    fallback = next(item for group in review["groups"] for item in group["items"]
                    if "短信" in item["text"])
    assert fallback["ranking"][0] == {"intent": "out_of_scope", "confidence": 0.38}
    # The training example keeps a phone-shaped number, but not the customer's.
    assert "13812345678" not in fallback["example"] and "收不到你们短信" in fallback["example"]
    transcript = json.dumps(trainer.conversation("c-fallback"), ensure_ascii=False)
    assert "13812345678" not in transcript and "138****5678" in transcript
    assert trainer.dismiss([fallback["key"]]) == 1
    assert trainer.dismiss([fallback["key"]]) == 0
    assert trainer.review()["messages"] == 7


def test_an_empty_or_missing_store_lists_nothing(tmp_path):
    trainer = trainer_for(f"sqlite:///{tmp_path}/none.sqlite", tmp_path)
    assert trainer.review() == {"groups": [], "messages": 0, "threshold": 0.6,
                                "window_days": 30.0}
    assert trainer.conversation("nobody") == []
