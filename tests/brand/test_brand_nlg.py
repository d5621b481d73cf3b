"""BrandNLG with the real domain and a real tracker: tone and compliance guard on every
templated response, how Rasa loads it from endpoints.yml, and its cost per message."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml
from brand_texts import EMOJI_CHAR, ROOT, TONES
from rasa.core.nlg import NaturalLanguageGenerator, TemplatedNaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from brand.nlg import BrandNLG
from brand.tone import Tone
from compliance import ALL_CATEGORIES, get_checker

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
FALLBACK = get_checker().fallback


def tracker(domain: Domain = DOMAIN) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("brand-test", [], slots=domain.slots)


def generate(nlg: NaturalLanguageGenerator, action: str, domain: Domain = DOMAIN,
             **kwargs: Any) -> Optional[Dict[str, Any]]:
    return asyncio.run(nlg.generate(action, tracker(domain), "rest", **kwargs))


def brand_nlg(name: str, emoji: bool = True, domain: Domain = DOMAIN) -> BrandNLG:
    return BrandNLG(domain=domain, tone=Tone.from_file(name=name, emoji=emoji))


def domain_text(action: str) -> str:
    return DOMAIN.responses[action][0]["text"]


def test_warm_tone_sends_the_domain_as_written() -> None:
    nlg = brand_nlg("热情")
    plain = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    for action, variants in DOMAIN.responses.items():
        if len(variants) != 1:
            continue  # a random variant would not compare
        expected = generate(plain, action, **nlg.shop_facts)  # e.g. the office hours
        if expected.get("text"):
            expected["compliance"] = "pass"  # bot-event metadata for the compliance rate
        assert generate(nlg, action) == expected, action


def test_the_service_hours_faq_says_the_hours_the_handoff_rules_apply(tmp_path, monkeypatch):
    faq = yaml.safe_load((ROOT / "data/nlu/faq.yml").read_text(encoding="utf-8"))["responses"]
    domain = Domain.from_dict({"responses": {"utter_faq/service_hours":
                                             faq["utter_faq/service_hours"]}})
    said = generate(brand_nlg("热情", domain=domain), "utter_faq/service_hours", domain)
    assert "人工客服每天09:00-22:00在线" in said["text"]  # escalation/rules.yml
    rules = (ROOT / "escalation/rules.yml").read_text(encoding="utf-8")
    weekdays = rules.replace("days: [mon, tue, wed, thu, fri, sat, sun]",
                             "days: [mon, tue, wed, thu, fri]").replace('"22:00"', '"18:00"')
    assert weekdays != rules
    (tmp_path / "rules.yml").write_text(weekdays, encoding="utf-8")
    monkeypatch.setenv("ESCALATION_RULES", str(tmp_path / "rules.yml"))
    said = generate(brand_nlg("热情", domain=domain), "utter_faq/service_hours", domain)
    assert "人工客服周一至周五09:00-18:00在线" in said["text"]


def test_the_contact_phone_faq_gives_the_hotline_of_the_rules_file(tmp_path, monkeypatch):
    faq = yaml.safe_load((ROOT / "data/nlu/faq.yml").read_text(encoding="utf-8"))["responses"]
    domain = Domain.from_dict({"responses": {"utter_faq/contact_phone":
                                             faq["utter_faq/contact_phone"]}})
    said = generate(brand_nlg("热情", domain=domain), "utter_faq/contact_phone", domain)
    assert "客服热线是400-820-1234" in said["text"] and "09:00-22:00" in said["text"]
    assert "转人工" in said["text"]  # the chat's own way to a human
    from channels.rest import BUSY_TEXT  # the REST channel's answer when Rasa fails

    assert "客服热线400-820-1234" in BUSY_TEXT
    rules = (ROOT / "escalation/rules.yml").read_text(encoding="utf-8")
    (tmp_path / "rules.yml").write_text(rules.replace("400-820-1234", "0571-8888-6666"),
                                        encoding="utf-8")
    monkeypatch.setenv("ESCALATION_RULES", str(tmp_path / "rules.yml"))
    said = generate(brand_nlg("热情", domain=domain), "utter_faq/contact_phone", domain)
    assert "客服热线是0571-8888-6666" in said["text"]


@pytest.mark.parametrize("name", TONES)
def test_greeting_in_each_tone(name: str) -> None:
    said = generate(brand_nlg(name), "utter_greet")
    expected = {
        "热情": domain_text("utter_greet"),
        "专业": Tone.from_file(name="专业").apply(domain_text("utter_greet")),
        "清新": Tone.from_file(name="清新").apply(domain_text("utter_greet")),
    }[name]
    assert said == {"text": expected, "compliance": "pass"}
    if name == "专业":
        assert said["text"].startswith("您好") and "亲" not in said["text"]
        assert "哦" not in said["text"] and "~" not in said["text"]
    if name == "清新":
        assert said["text"].startswith("你好") and "您" not in said["text"]


@pytest.mark.parametrize("emoji", [True, False], ids=["emoji-on", "emoji-off"])
@pytest.mark.parametrize("name", TONES)
def test_every_domain_response_in_each_tone_is_clean(name: str, emoji: bool) -> None:
    nlg = brand_nlg(name, emoji)
    checker = get_checker()
    for action in DOMAIN.responses:
        said = generate(nlg, action)
        assert said is not None, action
        texts = [said.get("text") or ""] + [b["title"] for b in said.get("buttons", [])]
        for text in texts:
            assert checker.check(text, ALL_CATEGORIES).allowed, (action, text)
            assert text != FALLBACK, action
            if not emoji or name == "专业":
                assert not EMOJI_CHAR.search(text), (action, text)


def test_buttons_keep_payloads_and_titles_in_professional_tone() -> None:
    said = generate(brand_nlg("专业"), "utter_ask_rating")
    original = DOMAIN.responses["utter_ask_rating"][0]
    assert [b["payload"] for b in said["buttons"]] == [b["payload"] for b in original["buttons"]]
    assert [b["title"] for b in said["buttons"]] == [b["title"] for b in original["buttons"]]
    assert "~" not in said["text"] and "吧" not in said["text"]


def test_slots_are_filled_before_the_tone() -> None:
    domain = Domain.from_dict({
        "slots": {"order_id": {"type": "text", "mappings": [{"type": "custom"}]}},
        "responses": {"utter_status": [{"text": "亲,订单{order_id}已发货啦~"}]},
    })
    nlg = brand_nlg("专业", domain=domain)
    events_tracker = DialogueStateTracker.from_dict(
        "brand-slots", [{"event": "slot", "name": "order_id", "value": "361204587712340001"}],
        domain.slots)
    said = asyncio.run(nlg.generate("utter_status", events_tracker, "rest"))
    assert said == {"text": "订单361204587712340001已发货了。", "compliance": "pass"}


def forbidden_domain() -> Domain:
    return Domain.from_dict({"responses": {
        "utter_rewrite": [{"text": "亲,这是全网最好的面霜哦~",
                           "buttons": [{"title": "顶级好物", "payload": "/affirm"}]}],
        "utter_block": [{"text": "这款茶能治疗失眠哦~"}],
    }})


@pytest.mark.parametrize("name", TONES)
def test_forbidden_terms_in_a_response_are_rewritten_or_blocked(name: str, caplog) -> None:
    domain = forbidden_domain()
    nlg = brand_nlg(name, domain=domain)
    with caplog.at_level(logging.INFO, logger="compliance"):
        rewritten = generate(nlg, "utter_rewrite", domain)
        blocked = generate(nlg, "utter_block", domain)
    assert "最好" not in rewritten["text"] and "很受欢迎的面霜" in rewritten["text"]
    assert rewritten["buttons"] == [{"title": "优质好物", "payload": "/affirm"}]
    assert blocked == {"text": FALLBACK, "compliance": "changed"}
    assert rewritten["compliance"] == "changed"
    events = [record.compliance for record in caplog.records if hasattr(record, "compliance")]
    assert {event["action"] for event in events} == {"rewrite", "block"}
    assert "失眠" not in caplog.text  # rule ids and terms only, never the message


def test_guard_checks_the_toned_text(tmp_path: Path) -> None:
    # A tone phrase that introduces a banned term is caught: the guard runs after the tone.
    data = yaml.safe_load((ROOT / "brand" / "tone.yml").read_text(encoding="utf-8"))
    data["tones"]["夸张"] = {"phrases": {"好物": "顶级好物"}}
    domain = Domain.from_dict({"responses": {"utter_pick": [{"text": "这是本店的好物~"}]}})
    nlg = BrandNLG(domain=domain, tone=Tone.from_dict(data, name="夸张"))
    assert generate(nlg, "utter_pick", domain) == {"text": "这是本店的优质好物~",
                                                   "compliance": "changed"}


def test_unknown_response_gives_none() -> None:
    assert generate(brand_nlg("专业"), "utter_does_not_exist") is None


def test_rasa_loads_it_from_endpoints_yml(monkeypatch) -> None:
    for line in (ROOT / "defaults.env").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert endpoints.nlg is not None and endpoints.nlg.type == "brand.nlg.BrandNLG"
    # As Agent does: created before the model is loaded, responses assigned afterwards.
    nlg = NaturalLanguageGenerator.create(endpoints.nlg, None)
    assert isinstance(nlg, BrandNLG) and isinstance(nlg, TemplatedNaturalLanguageGenerator)
    assert nlg.responses == {}
    nlg.responses = DOMAIN.responses
    assert generate(nlg, "utter_greet") == {"text": domain_text("utter_greet"),
                                            "compliance": "pass"}


def test_rasa_creates_it_with_a_domain() -> None:
    nlg = NaturalLanguageGenerator.create(EndpointConfig(type="brand.nlg.BrandNLG"), DOMAIN)
    assert isinstance(nlg, BrandNLG) and nlg.responses == DOMAIN.responses


def test_a_third_same_answer_is_a_loop_unless_an_agent_handed_back_in_between() -> None:
    from rasa.shared.core.events import BotUttered, ConversationResumed, UserUttered

    from brand.nlg import REPEATED

    nlg = brand_nlg("热情")
    again = domain_text("utter_greet")
    asked = [UserUttered("你好"), BotUttered(again)]
    for handed_back, looped in ((False, True), (True, False)):
        events = [*asked, *asked, *([ConversationResumed()] if handed_back else []),
                  UserUttered("你好")]
        history = DialogueStateTracker.from_events("brand-loop", events, slots=DOMAIN.slots)
        sent = asyncio.run(nlg.generate("utter_greet", history, "rest"))["text"]
        assert (sent == REPEATED) is looped


def test_a_variable_may_be_another_response_filled_first_and_toned_once() -> None:
    nlg = brand_nlg("专业")
    head = {"response": "utter_order_head", "order_id": "361204587712340001",
            "items": "蓝牙耳机Pro", "amount": "¥458.00"}
    tracking = {"response": "utter_tracking_not_shipped"}
    sent = generate(nlg, "utter_order_shipped", head=head, tracking=tracking)["text"]
    whole = "订单361204587712340001(蓝牙耳机Pro,实付¥458.00)已发货。包裹还没有发出哦。"
    assert sent == Tone.from_file(name="专业").apply(whole)
    assert "{" not in sent and sent != whole  # the 专业 tone rewrote the joined text


def test_a_list_variable_is_its_parts_one_after_the_other() -> None:
    # actions.common.joined: parts (or the shop's own strings) with separator responses.
    coupon = {"response": "utter_coupon_no_threshold", "amount": "5", "expires": ""}
    threshold = {"response": "utter_coupon_threshold", "threshold": "300", "amount": "30",
                 "expires": {"response": "utter_coupon_expires", "day": "明天"}}
    coupons = [coupon, {"response": "utter_separator_list"}, threshold]
    lines = [{"response": "utter_coupons", "count": 2, "coupons": coupons},
             {"response": "utter_separator_line"}, "商品金额258元。"]
    sent = generate(brand_nlg("热情"), "utter_promotions", lines=lines)["text"]
    assert sent == ("您的账户里有2张可用优惠券:5元无门槛券、满300减30券(明天到期),"
                    "下单时自动抵扣。\n商品金额258元。")
