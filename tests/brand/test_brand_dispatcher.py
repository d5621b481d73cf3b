"""The action server's dispatcher (rasa_sdk CollectingDispatcher): tone first, then guard."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from brand_texts import ROOT
from rasa_sdk.executor import CollectingDispatcher

import actions  # noqa: F401  (installs the tone and the guard)
from compliance import get_checker


def test_default_tone_sends_action_texts_as_written(monkeypatch, fresh_tone) -> None:
    for name in ("BRAND_TONE", "BRAND_EMOJI", "BRAND_TONE_FILE"):
        monkeypatch.delenv(name, raising=False)
    dispatcher = CollectingDispatcher()
    text = "已联系中通加急派送(跟进单号11),有新动态会第一时间通知您,给您添麻烦了🙏"
    dispatcher.utter_message(text=text)
    assert dispatcher.messages[0]["text"] == text


def test_professional_tone_then_guard(monkeypatch, fresh_tone, caplog) -> None:
    monkeypatch.setenv("BRAND_TONE", "专业")
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.INFO, logger="compliance"):
        dispatcher.utter_message(text="好的亲~ 这是全网最好的面霜哦",
                                 buttons=[{"title": "顶级好物哦~", "payload": "/affirm"},
                                          {"title": "361204587712340002 K87机械键盘 待发货",
                                           "payload": '/inform{"order_id":"361204587712340002"}'}])
        dispatcher.utter_message(text="这款茶能治疗失眠哦~")
    first, second = dispatcher.messages
    assert first["text"] == "好的。这是全网很受欢迎的面霜"
    assert first["buttons"] == [
        {"title": "优质好物哦", "payload": "/affirm"},  # titles: no particle rules, no "。"
        {"title": "361204587712340002 K87机械键盘 待发货",
         "payload": '/inform{"order_id":"361204587712340002"}'},
    ]
    assert second["text"] == get_checker().fallback
    assert "compliance" in caplog.text and "失眠" not in caplog.text


def test_emoji_switch_off(monkeypatch, fresh_tone) -> None:
    monkeypatch.setenv("BRAND_EMOJI", "off")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text="收到您的评价,谢谢亲的认可❤️ 有需要随时找我们~")
    assert dispatcher.messages[0]["text"] == "收到您的评价,谢谢亲的认可。有需要随时找我们~"


def test_guard_sees_the_toned_text(tmp_path: Path, monkeypatch, fresh_tone) -> None:
    data = yaml.safe_load((ROOT / "brand" / "tone.yml").read_text(encoding="utf-8"))
    data["tones"]["夸张"] = {"phrases": {"好物": "顶级好物"}}
    path = tmp_path / "tone.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BRAND_TONE_FILE", str(path))
    monkeypatch.setenv("BRAND_TONE", "夸张")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text="这是本店的好物~")
    assert dispatcher.messages[0]["text"] == "这是本店的优质好物~"


def test_domain_responses_are_left_to_rasa(monkeypatch, fresh_tone) -> None:
    # response= is rendered (toned and guarded) by brand.nlg.BrandNLG in Rasa, not here.
    monkeypatch.setenv("BRAND_TONE", "专业")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_greet", order_id="361204587712340001")
    message = dispatcher.messages[0]
    assert message["response"] == "utter_greet" and message["text"] is None
    assert message["order_id"] == "361204587712340001"
