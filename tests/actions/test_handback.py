"""After an agent hands a conversation back, the bot reads the customer's mood from the
messages since then: the delay playbook, the empathic lines and the no-selling rule."""

from __future__ import annotations

from typing import List

import pytest
from action_helpers import make_tracker, run_directly, texts

from actions import playbook
from actions.common import empathy_line, recent_emotions
from actions.handoff import ActionHandleComplaint
from actions.orders import ActionOrderTask
from actions.products import ActionProductQuestion
from brand import empathy

DELAYED = "361204587712340011"  # 李娜 C0002, 中通, delayed (docs/demo_data.md)
ANGRY = {"intent": {"name": "complain"}, "emotion": {"label": "angry", "intensity": 0.9}}
CALM = {"intent": {"name": "inform"}, "emotion": {"label": "calm", "intensity": 0.1}}


def before_the_handback(handed_back: bool = True) -> List[dict]:
    """An angry customer, handed over; they go on writing to the agent, who answers and
    gives the conversation back (the desk's `resume`, then the rating question)."""
    events = [
        {"event": "session_started"},
        {"event": "user", "text": "快递一直不到,你们怎么回事!!!", "parse_data": ANGRY},
        {"event": "action", "name": "action_escalate"},
        {"event": "slot", "name": "handoff",
         "value": {"rule": "angry", "queue": "general", "handoff_id": "7", "callback": False}},
        {"event": "pause"},
        {"event": "user", "text": "到底什么时候能到!!", "parse_data": ANGRY},
        {"event": "bot", "text": "您好,我是客服小王,已经帮您联系快递加急了。",
         "metadata": {"source": "desk"}},
    ]
    if handed_back:
        events += [{"event": "resume"}, {"event": "action", "name": "action_ask_rating"},
                   {"event": "bot", "text": "请问您对这次服务满意吗?"},
                   {"event": "action", "name": "action_listen"}]
    return events


def test_moods_before_the_handback_are_settled() -> None:
    for handed_back, moods in ((False, ["calm", "angry", "angry"]), (True, ["calm"])):
        tracker = make_tracker(sender="demo-li", loop=None)
        tracker.events = [*before_the_handback(handed_back),
                          {"event": "user", "text": "好的谢谢", "parse_data": CALM}]
        assert recent_emotions(tracker) == moods
        mood = "calm" if handed_back else "angry"
        assert empathy_line("delay", tracker) == empathy.line("delay", mood, seed="demo-li")


def test_the_delay_playbook_reads_the_mood_since_the_handback(run_action, monkeypatch,
                                                              tmp_path) -> None:
    monkeypatch.setenv("ACTIONS_DB_URL", f"sqlite:///{tmp_path / 'actions.sqlite'}")
    playbook.ledger.cache_clear()
    tracker = make_tracker({"order_id": DELAYED, "verified_order_id": DELAYED,
                            "order_task": "track"}, sender="demo-li", loop=None)
    tracker.events = [*before_the_handback(),
                      {"event": "user", "text": "再帮我看下物流", "parse_data": CALM}]
    messages, _ = run_action(ActionOrderTask(), tracker)
    said = texts(messages)
    assert empathy.line("delay", "calm", seed="demo-li") in said
    assert "优惠券" not in said  # a calm customer: no apology coupon
    assert playbook.ledger().history("C0002") == []
    playbook.ledger.cache_clear()


@pytest.mark.usefixtures("document_index")
def test_a_calm_customer_after_the_handback_hears_a_suggestion_again(run_action) -> None:
    latest = {"intent": {"name": "product_question"}, "entities": [], "text": "这个涂层耐刮吗",
              "emotion": {"label": "calm", "intensity": 0.1}}
    tracker = make_tracker(sender="guest-handback", latest_message=latest, loop=None)
    tracker.active_loop = {}
    tracker.events = [*before_the_handback(),
                      {"event": "user", "text": "这个涂层耐刮吗", "parse_data": latest,
                       "metadata": {"product_id": "P5001"}}]
    messages, slots = run_action(ActionProductQuestion(), tracker)
    assert "涂层" in texts(messages) and "顺便推荐一下" in texts(messages)
    assert slots["recommended"] is True
    # Without the handback the complaint and the anger are this stretch's: no selling.
    tracker.events = [*before_the_handback(handed_back=False), tracker.events[-1]]
    messages, slots = run_action(ActionProductQuestion(), tracker)
    assert "顺便推荐" not in texts(messages) and "recommended" not in slots


@pytest.mark.parametrize("text, task", [
    ("你们这快递也太慢了吧？？？", "track"), ("付款三天了还不发货 什么破店", "urge"),
    ("收到就是坏的 什么垃圾质量", "quality"), ("你们客服态度太差了", None),
])
def test_a_complaint_the_rules_left_to_the_bot_starts_its_task(run_action, text,
                                                               task) -> None:
    tracker = make_tracker(latest_message={**ANGRY, "text": text, "entities": []}, loop=None)
    tracker.active_loop = {}
    messages, events = run_directly(ActionHandleComplaint(), tracker)
    followup = [e["name"] for e in events if e.get("event") == "followup"]
    if task is None:  # nothing the bot can act on: handed over, nothing said first
        assert followup == ["action_escalate"] and messages == []
        return
    assert followup == ["order_form"]
    assert {"event": "slot", "name": "order_task", "value": task} in \
        [{k: e.get(k) for k in ("event", "name", "value")} for e in events]
    assert texts(messages)  # an apology first (the brand's empathic line)
