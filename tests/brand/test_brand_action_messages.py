"""An action's messages as Rasa sends them (RemoteAction._utter_responses with BrandNLG):
the response's text and the titles of the buttons the action adds, tone first, then guard.
Rasa appends the action's buttons after the NLG has run; the NLG polishes that same list."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Dict, List

import yaml
from brand_texts import ROOT
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import CollectingDispatcher

from brand.nlg import BrandNLG
from compliance import get_checker

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def sent(dispatcher: CollectingDispatcher) -> List[Dict[str, Any]]:
    """What Rasa sends for the action's messages (received as JSON from the action server),
    with the NLG made now (so it takes the tone the test set)."""
    tracker = DialogueStateTracker.from_events("brand-action", [], slots=DOMAIN.slots)
    events = asyncio.run(RemoteAction._utter_responses(
        json.loads(json.dumps(dispatcher.messages)), CollectingOutputChannel(),
        BrandNLG(domain=DOMAIN), tracker))
    return [{"text": event.text, "buttons": event.data.get("buttons"),
             "custom": event.data.get("custom"), **event.metadata} for event in events]


def shop_says(dispatcher: CollectingDispatcher, words: str, **kwargs: Any) -> None:
    # utter_backend_message is "{problem}": the shop's own words as they are.
    dispatcher.utter_message(response="utter_backend_message", problem=words, **kwargs)


def test_default_tone_sends_action_texts_as_written(monkeypatch, fresh_tone) -> None:
    for name in ("BRAND_TONE", "BRAND_EMOJI", "BRAND_TONE_FILE"):
        monkeypatch.delenv(name, raising=False)
    dispatcher = CollectingDispatcher()
    text = "已联系中通加急派送(跟进单号11),有新动态会第一时间通知您,给您添麻烦了🙏"
    shop_says(dispatcher, text)
    assert sent(dispatcher)[0]["text"] == text


def test_professional_tone_then_guard(monkeypatch, fresh_tone, caplog) -> None:
    monkeypatch.setenv("BRAND_TONE", "专业")
    dispatcher = CollectingDispatcher()
    shop_says(dispatcher, "好的亲~ 这是全网最好的面霜哦",
              buttons=[{"title": "顶级好物哦~", "payload": "/affirm"},
                       {"title": "361204587712340002 K87机械键盘 待发货",
                        "payload": '/inform{"order_id":"361204587712340002"}'}])
    shop_says(dispatcher, "这款茶能治疗失眠哦~")
    with caplog.at_level(logging.INFO, logger="compliance"):
        first, second = sent(dispatcher)
    assert first["text"] == "好的。这是全网很受欢迎的面霜"
    assert first["buttons"] == [
        {"title": "优质好物哦", "payload": "/affirm"},  # titles: no particle rules, no "。"
        {"title": "361204587712340002 K87机械键盘 待发货",
         "payload": '/inform{"order_id":"361204587712340002"}'},
    ]
    assert second["text"] == get_checker().fallback
    assert "compliance" in caplog.text and "失眠" not in caplog.text


def test_response_buttons_come_first_and_both_are_polished(monkeypatch, fresh_tone) -> None:
    monkeypatch.setenv("BRAND_TONE", "专业")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_product_no_info", product="「K87机械键盘」",
                             buttons=[{"title": "顶级好物哦~", "payload": "/x"}])
    titles = [button["title"] for button in sent(dispatcher)[0]["buttons"]]
    assert titles == ["转人工确认", "不用了", "优质好物哦"]


def test_a_button_title_may_be_a_response(monkeypatch, fresh_tone) -> None:
    monkeypatch.delenv("BRAND_TONE", raising=False)
    dispatcher = CollectingDispatcher()
    shop_says(dispatcher, "有货", buttons=[
        {"title": {"response": "utter_in_stock"}, "payload": "/affirm"}])
    assert sent(dispatcher)[0]["buttons"] == [{"title": "现货", "payload": "/affirm"}]


def test_emoji_switch_off(monkeypatch, fresh_tone) -> None:
    monkeypatch.setenv("BRAND_EMOJI", "off")
    dispatcher = CollectingDispatcher()
    shop_says(dispatcher, "收到您的评价,谢谢亲的认可❤️ 有需要随时找我们~")
    assert sent(dispatcher)[0]["text"] == "收到您的评价,谢谢亲的认可。有需要随时找我们~"


def test_guard_sees_the_toned_text(tmp_path: Path, monkeypatch, fresh_tone) -> None:
    data = yaml.safe_load((ROOT / "brand" / "tone.yml").read_text(encoding="utf-8"))
    data["tones"]["夸张"] = {"phrases": {"好物": "顶级好物"}}
    path = tmp_path / "tone.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BRAND_TONE_FILE", str(path))
    monkeypatch.setenv("BRAND_TONE", "夸张")
    dispatcher = CollectingDispatcher()
    shop_says(dispatcher, "这是本店的好物~")
    assert sent(dispatcher)[0]["text"] == "这是本店的优质好物~"


def test_card_texts_are_polished_too(monkeypatch, fresh_tone) -> None:
    monkeypatch.setenv("BRAND_TONE", "专业")
    dispatcher = CollectingDispatcher()
    card = {"kind": "product", "id": "P5002", "title": "顶级好物哦~", "subtitle": "全网最好",
            "amount": "¥99.00", "payload": "/x", "action": {"response": "utter_card_learn_more"}}
    shop_says(dispatcher, "看看这个", json_message={"cards": [card]})
    [shown] = sent(dispatcher)[0]["custom"]["cards"]
    assert shown["title"] == "优质好物哦" and "最好" not in shown["subtitle"]
    assert shown["action"] == "了解一下" and shown["amount"] == "¥99.00"
